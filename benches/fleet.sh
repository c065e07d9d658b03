#!/usr/bin/env bash
# How many admin ports one `inflight top` keeps fresh at a 1 s refresh, and the CPU it
# uses doing so. Starts examples/fleet.rs with N admin ports on 127.0.0.1 (10 requests
# in flight each, found through a file service-discovery file), then for SECONDS seconds:
#   1. `inflight top --batch`: each refresh says how many endpoints answered and how long
#      the slowest took; the script reports the worst refresh and the CLI's CPU;
#   2. `inflight top` with its screen, in a 200x50 tmux terminal: the CLI's CPU.
# CPU is utime+stime from /proc/PID/stat over the run, after a 3 s warm-up.
#
#   benches/fleet.sh [N [SECONDS]]      e.g. benches/fleet.sh 200 30
set -euo pipefail

ports=${1:-200}
seconds=${2:-30}
cd "$(dirname "$0")/.."
cargo build --release --quiet --example fleet -p inflight
cargo build --release --quiet -p inflight-cli
inflight=target/release/inflight
work=$(mktemp -d)
fleet_pid=
cleanup() {
  [ -n "$fleet_pid" ] && kill "$fleet_pid" 2>/dev/null || true
  tmux -S "$work/tmux" kill-server 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

target/release/examples/fleet --ports "$ports" --requests 10 --sd "$work/fleet.json" \
  > "$work/fleet.out" &
fleet_pid=$!
for _ in $(seq 100); do [ -s "$work/fleet.out" ] && break; sleep 0.1; done
cat "$work/fleet.out"

# utime+stime of PID, in clock ticks.
ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
hz=$(getconf CLK_TCK)
# CPU of PID over $seconds after a warm-up, in % of one core.
cpu() {
  sleep 3
  local before after
  before=$(ticks "$1")
  sleep "$seconds"
  after=$(ticks "$1")
  awk -v t=$((after - before)) -v hz="$hz" -v s="$seconds" \
    'BEGIN { printf "%.1f%% of one core (%.2f s CPU in %d s)", 100 * t / hz / s, t / hz, s }'
}

"$inflight" top --batch --refresh 1s --file-sd "$work/fleet.json" > "$work/batch.txt" &
batch_pid=$!
batch_cpu=$(cpu "$batch_pid")
kill "$batch_pid"
wait "$batch_pid" 2>/dev/null || true
echo "top --batch over $ports endpoints, 1 s refresh: $batch_cpu"
awk -v n="$ports" '
  /^refresh / {
    refreshes++
    answered = $5
    if (min == "" || answered < min) min = answered
    slowest = $8; sub(/s\),?$/, "", slowest)
    if (slowest + 0 > worst) worst = slowest + 0
  }
  END {
    printf "  %d refreshes; fewest endpoints answered in one: %d of %d; slowest answer: %.2fs\n",
      refreshes, min, n, worst
  }' "$work/batch.txt"

tmux -S "$work/tmux" -f /dev/null new-session -d -s fleet -x 200 -y 50 \
  "$inflight top --refresh 1s --file-sd $work/fleet.json"
screen_pid=$(tmux -S "$work/tmux" list-panes -t fleet -F '#{pane_pid}')
screen_cpu=$(cpu "$screen_pid")
echo "top (screen, 200x50) over $ports endpoints, 1 s refresh: $screen_cpu"
tmux -S "$work/tmux" capture-pane -p -t fleet | head -1
