#!/usr/bin/env bash
# End to end: how much throughput does the layer cost a real hyper server?
#
# Runs two bench_servers AT THE SAME TIME, both pinned to one core so they compete for
# it on equal terms, each loaded by its own wrk pinned to the other core. Whatever slows
# one server down (other jobs, frequency changes) slows both, so the ratio of their
# throughputs holds up on a noisy machine where absolute numbers do not. Rounds alternate
# which server gets which port and which wrk starts first.
#
#   bash benches/wrk.sh                    # none vs inflight+admin, then none vs none (control)
#   LAYER=inflight bash benches/wrk.sh     # the layer alone, no admin port
#   LAYER=trace bash benches/wrk.sh        # or tower-http-inflight
#   ROUNDS=9 DURATION=10 CONNECTIONS=32 bash benches/wrk.sh
#
# LAYER is one of bench_server's --layer values, or inflight+admin: the layer with the
# admin port on (an AdminServer on the same table, a Prometheus recorder installed), as a
# service following the README runs it. The end gives the loss, 1 - median(LAYER/none),
# beside the same against the control's median, and says whether the target (<= 1 %) is
# met only when the control itself is within 1 % of 1.
#
# Needs wrk (apt-get install wrk) and taskset (util-linux), and two CPUs.
set -euo pipefail
cd "$(dirname "$0")/.."

LAYER=${LAYER:-inflight+admin}
ROUNDS=${ROUNDS:-5}
DURATION=${DURATION:-10}
CONNECTIONS=${CONNECTIONS:-32}
SERVER_CPU=${SERVER_CPU:-0}
CLIENT_CPU=${CLIENT_CPU:-1}
PORT_A=${PORT_A:-18081}
PORT_B=${PORT_B:-18082}
CONTROL=${CONTROL:-1}

for tool in wrk taskset; do
  if ! command -v "$tool" >/dev/null; then
    echo "wrk.sh: $tool is missing (apt-get install -y wrk util-linux)" >&2
    exit 2
  fi
done

cargo build --release --example bench_server >&2
SERVER=target/release/examples/bench_server

PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do
    kill "$pid" 2>/dev/null || true
  done
  wait 2>/dev/null || true
}
trap cleanup EXIT

start_server() { # layer port
  local flags=(--layer "$1")
  if [[ "$1" == *+admin ]]; then
    # The admin thread shares the server's cpu, as it would in production.
    flags=(--layer "${1%+admin}" --admin 127.0.0.1:0)
  fi
  taskset -c "$SERVER_CPU" "$SERVER" --listen "127.0.0.1:$2" --threads 1 "${flags[@]}" \
    2>/dev/null &
  PIDS+=($!)
  for _ in $(seq 1 100); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$2") 2>/dev/null; then
      return 0
    fi
    sleep 0.05
  done
  echo "wrk.sh: bench_server --layer $1 did not start on port $2" >&2
  exit 1
}

stop_servers() {
  cleanup
  PIDS=()
}

# "busy total" jiffies of one cpu, from /proc/stat.
cpu_ticks() {
  awk -v cpu="cpu$1" '$1 == cpu { busy = $2 + $3 + $4 + $7 + $8; print busy, busy + $5 + $6 }' /proc/stat
}

# Percent busy between two cpu_ticks readings.
busy_percent() {
  awk -v a="$1" -v b="$2" 'BEGIN { split(a, x, " "); split(b, y, " ");
    printf "%.0f%%", 100 * (y[1] - x[1]) / (y[2] - x[2]) }'
}

# Requests per second from wrk's output.
rps() {
  awk '/^Requests\/sec:/ { print $2 }' "$1"
}

# Median, quartiles and range of numbers, one per line: "median p25 p75 min max".
spread() {
  sort -g | awk '{ v[NR] = $1 }
    function q(p,   i, f) { i = 1 + (NR - 1) * p; f = int(i); return v[f] + (i - f) * (v[f + 1] - v[f]) }
    END { printf "%.4f %.4f %.4f %.4f %.4f\n", q(0.5), q(0.25), q(0.75), v[1], v[NR] }'
}

# One set of rounds: base layer vs other layer; prints one line per round and the median;
# leaves the ratios in RATIOS.
RATIOS=()
compare() { # base other
  local base=$1 other=$2 ratios=()
  echo "== $base vs $other: $ROUNDS rounds of ${DURATION}s, $CONNECTIONS connections each," \
    "servers on cpu $SERVER_CPU, wrk on cpu $CLIENT_CPU"
  for round in $(seq 1 "$ROUNDS"); do
    local base_port=$PORT_A other_port=$PORT_B
    if (( round % 2 == 0 )); then
      base_port=$PORT_B other_port=$PORT_A
    fi
    start_server "$base" "$base_port"
    start_server "$other" "$other_port"
    local out_base out_other
    out_base=$(mktemp) out_other=$(mktemp)
    local server_before client_before
    server_before=$(cpu_ticks "$SERVER_CPU")
    client_before=$(cpu_ticks "$CLIENT_CPU")
    # Alternate which wrk starts first too.
    if (( round % 2 == 1 )); then
      taskset -c "$CLIENT_CPU" wrk -t1 -c"$CONNECTIONS" -d"${DURATION}s" \
        "http://127.0.0.1:$base_port/hello" >"$out_base" &
      local first=$!
      taskset -c "$CLIENT_CPU" wrk -t1 -c"$CONNECTIONS" -d"${DURATION}s" \
        "http://127.0.0.1:$other_port/hello" >"$out_other" &
      local second=$!
    else
      taskset -c "$CLIENT_CPU" wrk -t1 -c"$CONNECTIONS" -d"${DURATION}s" \
        "http://127.0.0.1:$other_port/hello" >"$out_other" &
      local first=$!
      taskset -c "$CLIENT_CPU" wrk -t1 -c"$CONNECTIONS" -d"${DURATION}s" \
        "http://127.0.0.1:$base_port/hello" >"$out_base" &
      local second=$!
    fi
    wait "$first" "$second"
    local busy
    busy="cpu busy: servers $(busy_percent "$server_before" "$(cpu_ticks "$SERVER_CPU")"),"
    busy+=" wrk $(busy_percent "$client_before" "$(cpu_ticks "$CLIENT_CPU")")"
    stop_servers
    local a b ratio
    a=$(rps "$out_base")
    b=$(rps "$out_other")
    rm -f "$out_base" "$out_other"
    ratio=$(awk -v a="$a" -v b="$b" 'BEGIN { printf "%.4f", b / a }')
    ratios+=("$ratio")
    printf 'round %d: %-16s %8.0f req/s  %-16s %8.0f req/s  ratio %s  (%s)\n' \
      "$round" "$base:$base_port" "$a" "$other:$other_port" "$b" "$ratio" "$busy"
  done
  local median p25 p75 min max
  read -r median p25 p75 min max < <(printf '%s\n' "${ratios[@]}" | spread)
  echo "median ratio $other/$base: $median  (p25-p75 $p25-$p75, rounds $min-$max;" \
    "loss $(awk -v m="$median" 'BEGIN { printf "%.2f%%", (1 - m) * 100 }'))"
  RATIOS=("${ratios[@]}")
}

echo "wrk.sh: $(nproc) cpus, load average $(cut -d' ' -f1-3 /proc/loadavg)"
compare none "$LAYER"
MEASURED=("${RATIOS[@]}")
if [[ "$CONTROL" == 1 ]]; then
  compare none none
  read -r measured _ < <(printf '%s\n' "${MEASURED[@]}" | spread)
  read -r control _ < <(printf '%s\n' "${RATIOS[@]}" | spread)
  awk -v layer="$LAYER" -v m="$measured" -v c="$control" 'BEGIN {
    loss = (1 - m) * 100; relative = (1 - m / c) * 100; off = (c - 1) * 100
    printf "== %s: loss %.2f%% (median %.4f); against the control median %.4f: %.2f%%\n",
      layer, loss, m, c, relative
    if (off > 1 || off < -1)
      printf "   the control is off by %.2f%%: this run can tell neither way whether the loss is <= 1%%\n", off
    else
      printf "   target loss <= 1%%: %s\n", (loss <= 1 && relative <= 1) ? "met" : "not met"
  }'
fi
