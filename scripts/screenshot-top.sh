#!/usr/bin/env bash
# Makes the README's screenshot of `inflight top`, docs/top.png (or the path given):
# two demo services side by side, `inflight top` over both in a 120x30 tmux pane, the pane
# captured with its colors, turned into HTML (scripts/ansi_to_html.py) and photographed by
# headless Chromium. Installs tmux, chromium and the DejaVu fonts from Debian when missing.
#
#   bash scripts/screenshot-top.sh [OUTPUT.png]
#
# The demos use 127.0.0.1:3000/9084 and 127.0.0.1:3001/9085 like the README; set
# INFLIGHT_SCREENSHOT_PORTS="3011 9094 3012 9095" to use others. Takes about 40 seconds:
# the second demo's requests are left to age into the red.
set -euo pipefail
cd "$(dirname "$0")/.."
output=$(realpath -m "${1:-docs/top.png}")
read -r api1 admin1 api2 admin2 <<<"${INFLIGHT_SCREENSHOT_PORTS:-3000 9084 3001 9085}"
columns=120
rows=30

name=screenshot-top
# shellcheck source=scripts/screenshot-common.sh
source scripts/screenshot-common.sh
screenshot_setup

# "api" answers within 5 s, so its requests come and go through every status; "worker"
# is stuck behind an upstream that takes 45 s.
"$demo" --listen "127.0.0.1:$api1" --admin "127.0.0.1:$admin1" --upstream-delay 5s \
  --stuck-after off >"$work/api.log" 2>&1 &
pids+=($!)
"$demo" --listen "127.0.0.1:$api2" --admin "127.0.0.1:$admin2" --upstream-delay 45s \
  --stuck-after off >"$work/worker.log" 2>&1 &
pids+=($!)
for admin in "$admin1" "$admin2"; do
  for _ in $(seq 100); do
    curl -fs "http://127.0.0.1:$admin/healthz" >/dev/null 2>&1 && break
    sleep 0.1
  done
  curl -fs "http://127.0.0.1:$admin/healthz" >/dev/null || {
    echo "screenshot-top: the demo on admin port $admin did not start:" >&2
    cat "$work"/*.log >&2
    exit 1
  }
done
# A slow download on "api".
curl -s "http://127.0.0.1:$api1/stream?chunks=600&interval_ms=100" >/dev/null &
pids+=($!)

tmux -S "$socket" -f /dev/null new-session -d -s top -x "$columns" -y "$rows" \
  "$inflight" top --endpoints "127.0.0.1:$admin1,127.0.0.1:$admin2"
tmux -S "$socket" set-option -t top status off

# The worker's traffic passes 30 s, when top shows its age in red; a request of our own
# started later is still yellow.
sleep 12
curl -s "http://127.0.0.1:$api2/fetch/4242" >/dev/null &
pids+=($!)
sleep 21
sleep 1.5
screenshot_take "$output"
