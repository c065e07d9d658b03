#!/usr/bin/env bash
# Makes the README's screenshot of `inflight top`'s call tree across services,
# docs/top-tree.png (or the path given): `demo --chain` (edge -> api -> store, three
# processes), `inflight top` over their three admin ports in a 120x30 tmux pane, the pane
# captured with its colors, turned into HTML (scripts/ansi_to_html.py) and photographed by
# headless Chromium. Installs tmux, chromium and the DejaVu fonts from Debian when missing.
#
#   bash scripts/screenshot-tree.sh [OUTPUT.png]
#
# The chain uses 127.0.0.1:3000-3002 and 127.0.0.1:9084-9086 like the README; set
# INFLIGHT_SCREENSHOT_PORTS="3010 9094" to start elsewhere. Takes about 40 seconds: the
# requests are left to age into the red.
set -euo pipefail
cd "$(dirname "$0")/.."
output=$(realpath -m "${1:-docs/top-tree.png}")
read -r api admin <<<"${INFLIGHT_SCREENSHOT_PORTS:-3000 9084}"
columns=120
rows=30

name=screenshot-tree
# shellcheck source=scripts/screenshot-common.sh
source scripts/screenshot-common.sh
screenshot_setup

"$demo" --chain --listen "127.0.0.1:$api" --admin "127.0.0.1:$admin" --upstream-delay 45s \
  --stuck-after off >"$work/chain.log" 2>&1 &
pids+=($!)
endpoints="127.0.0.1:$admin,127.0.0.1:$((admin + 1)),127.0.0.1:$((admin + 2))"
for _ in $(seq 300); do
  grep -q '^watch them' "$work/chain.log" && break
  sleep 0.1
done
grep -q '^watch them' "$work/chain.log" || {
  echo "screenshot-tree: demo --chain did not start:" >&2
  cat "$work/chain.log" >&2
  exit 1
}

tmux -S "$socket" -f /dev/null new-session -d -s top -x "$columns" -y "$rows" \
  "$inflight" top --endpoints "$endpoints"
tmux -S "$socket" set-option -t top status off

# The traffic passes 30 s, when top shows its age in red.
sleep 33
"$inflight" --endpoints "$endpoints" upstreams || true
screenshot_take "$output"
