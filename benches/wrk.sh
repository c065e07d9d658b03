#!/usr/bin/env bash
# End to end: how much throughput does each layer cost a real hyper server?
#
# Each measurement runs two bench_servers AT THE SAME TIME, the bare one and a variant,
# both pinned to one core so they compete for it on equal terms, each loaded by its own
# wrk pinned to the other core. Whatever slows one server down (other jobs, frequency
# changes) slows both, so the ratio of their throughputs holds up on a noisy machine where
# absolute numbers do not. Every round measures every variant once, in an order rotated
# each round, so all variants are measured in the same sitting; rounds alternate which
# server gets which port and which wrk starts first.
#
#   bash benches/wrk.sh                               # every variant and the control
#   VARIANTS="inflight+admin" bash benches/wrk.sh     # one variant, and the control
#   VARIANTS="inflight trace" CONTROL=0 bash benches/wrk.sh
#   ROUNDS=9 DURATION=10 CONNECTIONS=32 bash benches/wrk.sh
#
# VARIANTS are bench_server --layer values (none, inflight, tower-http-inflight, trace),
# each optionally with +admin: the layer with the admin port on (an AdminServer on the
# same table, a Prometheus recorder installed), as a service following the README runs it.
# `none` is the control, bare vs bare; CONTROL=1 (the default) adds it when VARIANTS lacks
# it, CONTROL=0 leaves it out. LAYER=X (the older single-variant form) means VARIANTS=X.
#
# For each variant the end gives the median of the per-round ratios variant/bare, their
# p25-p75 and range, the loss (1 - median, with p25-p75), and the loss against the
# control's median (1 - median / control). During the rounds of a variant with the admin
# port, the admin thread's CPU (the thread named inflight-admin; schedstat, else utime +
# stime) is read before wrk starts and after it ends, and given as % of one core and as
# ns per request the server served (wrk's count). Then the targets: inflight+admin loses
# <= 1 % against the control, and <= 0.6x what TraceLayer loses; verdicts only when the
# control itself is within 1 % of 1.
#
# Needs wrk (apt-get install wrk) and taskset (util-linux), and two CPUs.
set -euo pipefail
cd "$(dirname "$0")/.."

VARIANTS=${VARIANTS:-${LAYER:-inflight+admin inflight tower-http-inflight trace none}}
ROUNDS=${ROUNDS:-5}
DURATION=${DURATION:-10}
CONNECTIONS=${CONNECTIONS:-32}
SERVER_CPU=${SERVER_CPU:-0}
CLIENT_CPU=${CLIENT_CPU:-1}
PORT_A=${PORT_A:-18081}
PORT_B=${PORT_B:-18082}
CONTROL=${CONTROL:-1}
# Targets of the variant with the admin port on.
ADMIN_VARIANT=inflight+admin
TRACE_VARIANT=trace
TARGET_LOSS=1
TARGET_TRACE_RATIO=0.6
ADMIN_THREAD=inflight-admin

read -r -a VARIANT_LIST <<<"$VARIANTS"
if [[ "$CONTROL" == 1 ]]; then
  [[ " ${VARIANT_LIST[*]} " == *" none "* ]] || VARIANT_LIST+=(none)
else
  kept=()
  for v in "${VARIANT_LIST[@]}"; do
    [[ "$v" == none ]] || kept+=("$v")
  done
  VARIANT_LIST=("${kept[@]}")
fi
if (( ${#VARIANT_LIST[@]} == 0 )); then
  echo "wrk.sh: no variant to measure (VARIANTS=$VARIANTS CONTROL=$CONTROL)" >&2
  exit 2
fi

for tool in wrk taskset; do
  if ! command -v "$tool" >/dev/null; then
    echo "wrk.sh: $tool is missing (apt-get install -y wrk util-linux)" >&2
    exit 2
  fi
done

cargo build --release --example bench_server >&2
WORK=$(mktemp -d)
# A copy: another checkout sharing the target directory may rebuild it meanwhile.
cp "${CARGO_TARGET_DIR:-target}/release/examples/bench_server" "$WORK/bench_server"
SERVER=$WORK/bench_server

PIDS=()
stop_servers() {
  for pid in "${PIDS[@]}"; do
    kill "$pid" 2>/dev/null || true
  done
  for pid in "${PIDS[@]}"; do
    wait "$pid" 2>/dev/null || true
  done
  PIDS=()
}
trap 'stop_servers; rm -rf "$WORK"' EXIT

# Starts a server; leaves its pid in STARTED.
STARTED=
start_server() { # variant port
  local flags=(--layer "$1")
  if [[ "$1" == *+admin ]]; then
    # The admin thread shares the server's cpu, as it would in production.
    flags=(--layer "${1%+admin}" --admin 127.0.0.1:0)
  fi
  # taskset execs the server: $! is the server's pid.
  taskset -c "$SERVER_CPU" "$SERVER" --listen "127.0.0.1:$2" --threads 1 "${flags[@]}" \
    2>/dev/null &
  STARTED=$!
  PIDS+=("$STARTED")
  for _ in $(seq 1 100); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$2") 2>/dev/null; then
      return 0
    fi
    sleep 0.05
  done
  echo "wrk.sh: bench_server --layer $1 did not start on port $2" >&2
  exit 1
}

# The id of the thread of process $1 named $ADMIN_THREAD, or nothing.
admin_tid() {
  local comm
  for comm in /proc/"$1"/task/*/comm; do
    if [[ "$(cat "$comm" 2>/dev/null)" == "$ADMIN_THREAD" ]]; then
      basename "$(dirname "$comm")"
      return 0
    fi
  done
}

CLOCK_TICK=$(getconf CLK_TCK)
# CPU time of thread $2 of process $1 in ns: schedstat's first field, else utime + stime.
thread_cpu_ns() {
  local schedstat
  if read -r schedstat _ <"/proc/$1/task/$2/schedstat" 2>/dev/null; then
    echo "$schedstat"
    return 0
  fi
  # Fields after the ")" that ends comm: utime and stime are the 12th and 13th.
  sed 's/.*) //' "/proc/$1/task/$2/stat" |
    awk -v tick="$CLOCK_TICK" '{ printf "%.0f\n", ($12 + $13) * 1e9 / tick }'
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

# Requests per second, and requests, from wrk's output.
rps() {
  awk '/^Requests\/sec:/ { print $2 }' "$1"
}
requests() {
  awk '/ requests in / { print $1 }' "$1"
}

# Median, quartiles and range of numbers, one per line: "median p25 p75 min max".
spread() {
  sort -g | awk '{ v[NR] = $1 }
    function q(p,   i, f) { i = 1 + (NR - 1) * p; f = int(i); return v[f] + (i - f) * (v[f + 1] - v[f]) }
    END { printf "%.4f %.4f %.4f %.4f %.4f\n", q(0.5), q(0.25), q(0.75), v[1], v[NR] }'
}

# Per variant, space-separated: ratios, and the admin thread's % of a core and ns/request.
declare -A RATIOS=() ADMIN_PERCENT=() ADMIN_NS=()

# One measurement: the bare server against $1, in round $2.
pair() { # variant round
  local other=$1 round=$2 base=none
  local base_port=$PORT_A other_port=$PORT_B
  if (( round % 2 == 0 )); then
    base_port=$PORT_B other_port=$PORT_A
  fi
  start_server "$base" "$base_port"
  start_server "$other" "$other_port"
  local other_pid=$STARTED tid=
  if [[ "$other" == *+admin ]]; then
    for _ in $(seq 1 40); do
      tid=$(admin_tid "$other_pid")
      [[ -n "$tid" ]] && break
      sleep 0.05
    done
  fi
  local out_base out_other
  out_base=$WORK/base.out out_other=$WORK/other.out
  local server_before client_before cpu_before= time_before
  server_before=$(cpu_ticks "$SERVER_CPU")
  client_before=$(cpu_ticks "$CLIENT_CPU")
  if [[ -n "$tid" ]]; then
    cpu_before=$(thread_cpu_ns "$other_pid" "$tid")
  fi
  time_before=$(date +%s%N)
  # Alternate which wrk starts first too.
  local first second
  if (( round % 2 == 1 )); then
    taskset -c "$CLIENT_CPU" wrk -t1 -c"$CONNECTIONS" -d"${DURATION}s" \
      "http://127.0.0.1:$base_port/hello" >"$out_base" &
    first=$!
    taskset -c "$CLIENT_CPU" wrk -t1 -c"$CONNECTIONS" -d"${DURATION}s" \
      "http://127.0.0.1:$other_port/hello" >"$out_other" &
    second=$!
  else
    taskset -c "$CLIENT_CPU" wrk -t1 -c"$CONNECTIONS" -d"${DURATION}s" \
      "http://127.0.0.1:$other_port/hello" >"$out_other" &
    first=$!
    taskset -c "$CLIENT_CPU" wrk -t1 -c"$CONNECTIONS" -d"${DURATION}s" \
      "http://127.0.0.1:$base_port/hello" >"$out_base" &
    second=$!
  fi
  wait "$first" "$second"
  local busy
  busy="cpu busy: servers $(busy_percent "$server_before" "$(cpu_ticks "$SERVER_CPU")"),"
  busy+=" wrk $(busy_percent "$client_before" "$(cpu_ticks "$CLIENT_CPU")")"
  local admin=
  if [[ -n "$tid" ]]; then
    # Let the admin thread take in the last requests that ended.
    sleep 0.2
    local cpu_after time_after served
    cpu_after=$(thread_cpu_ns "$other_pid" "$tid")
    time_after=$(date +%s%N)
    served=$(requests "$out_other")
    local percent ns
    read -r percent ns < <(awk -v c="$((cpu_after - cpu_before))" \
      -v t="$((time_after - time_before))" -v n="$served" \
      'BEGIN { printf "%.3f %.1f\n", 100 * c / t, c / (n > 0 ? n : 1) }')
    ADMIN_PERCENT[$other]+="$percent "
    ADMIN_NS[$other]+="$ns "
    admin=$(printf '; admin thread %.2f%% of a core, %.0f ns/req' "$percent" "$ns")
  elif [[ "$other" == *+admin ]]; then
    admin="; admin thread: no thread named $ADMIN_THREAD"
  fi
  stop_servers
  local a b ratio
  a=$(rps "$out_base")
  b=$(rps "$out_other")
  ratio=$(awk -v a="$a" -v b="$b" 'BEGIN { printf "%.4f", b / a }')
  RATIOS[$other]+="$ratio "
  printf 'round %d: %-26s %8.0f req/s  %-26s %8.0f req/s  ratio %s  (%s%s)\n' \
    "$round" "$base:$base_port" "$a" "$other:$other_port" "$b" "$ratio" "$busy" "$admin"
}

echo "wrk.sh: $(nproc) cpus, load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "== none vs each of ${VARIANT_LIST[*]}: $ROUNDS rounds of ${DURATION}s per variant," \
  "$CONNECTIONS connections each, servers on cpu $SERVER_CPU, wrk on cpu $CLIENT_CPU" \
  "(about $(( ROUNDS * ${#VARIANT_LIST[@]} * (DURATION + 1) ))s)"
count=${#VARIANT_LIST[@]}
for round in $(seq 1 "$ROUNDS"); do
  for k in $(seq 0 $((count - 1))); do
    pair "${VARIANT_LIST[$(( (round - 1 + k) % count ))]}" "$round"
  done
done

# The control's median, when it was measured.
control=
if [[ -n "${RATIOS[none]:-}" ]]; then
  read -r control _ < <(printf '%s\n' ${RATIOS[none]} | spread)
fi

echo
echo "== load average $(cut -d' ' -f1-3 /proc/loadavg); ratio = variant/none req/s," \
  "loss = 1 - median ratio"
printf '%-22s %8s %15s %15s %8s %15s %14s\n' variant median "p25-p75" rounds loss \
  "loss p25-p75" "vs control"
declare -A LOSS=()
for v in "${VARIANT_LIST[@]}"; do
  read -r median p25 p75 min max < <(printf '%s\n' ${RATIOS[$v]} | spread)
  relative=-
  if [[ -n "$control" ]]; then
    relative=$(awk -v m="$median" -v c="$control" 'BEGIN { printf "%.2f%%", (1 - m / c) * 100 }')
  fi
  LOSS[$v]=$(awk -v m="$median" -v c="${control:-1}" 'BEGIN { printf "%.6f", (1 - m / c) * 100 }')
  label=$v
  [[ "$v" == none ]] && label="none (control)"
  awk -v label="$label" -v m="$median" -v p25="$p25" -v p75="$p75" -v min="$min" \
    -v max="$max" -v relative="$relative" 'BEGIN {
    printf "%-22s %8.4f %15s %15s %7.2f%% %15s %14s\n", label, m, p25 "-" p75, min "-" max,
      (1 - m) * 100, sprintf("%.2f%%-%.2f%%", (1 - p75) * 100, (1 - p25) * 100), relative }'
done

for v in "${VARIANT_LIST[@]}"; do
  [[ -n "${ADMIN_NS[$v]:-}" ]] || continue
  read -r pm pp25 pp75 _ < <(printf '%s\n' ${ADMIN_PERCENT[$v]} | spread)
  read -r nm np25 np75 _ < <(printf '%s\n' ${ADMIN_NS[$v]} | spread)
  awk -v v="$v" -v pm="$pm" -v pp25="$pp25" -v pp75="$pp75" -v nm="$nm" -v np25="$np25" \
    -v np75="$np75" 'BEGIN {
    printf "%s: admin thread %.2f%% of one core (p25-p75 %.2f-%.2f), %.0f ns CPU per request served (p25-p75 %.0f-%.0f)\n",
      v, pm, pp25, pp75, nm, np25, np75 }'
done

if [[ -n "${LOSS[$ADMIN_VARIANT]:-}" ]]; then
  echo
  against="against the control"
  [[ -n "$control" ]] || against="without a control (1 - median)"
  off_ok=1
  if [[ -n "$control" ]]; then
    off_ok=$(awk -v c="$control" 'BEGIN { off = (c - 1) * 100; print (off <= 1 && off >= -1) ? 1 : 0 }')
  fi
  verdict() { # met
    if [[ -z "$control" ]]; then
      echo "no verdict without the control"
    elif [[ "$off_ok" != 1 ]]; then
      echo "the control is off by more than 1%: this run can tell neither way"
    elif [[ "$1" == 1 ]]; then
      echo met
    else
      echo "not met"
    fi
  }
  echo "targets, $against:"
  met=$(awk -v l="${LOSS[$ADMIN_VARIANT]}" -v t="$TARGET_LOSS" 'BEGIN { print (l <= t) ? 1 : 0 }')
  printf '  %-48s %10s %10s  %s\n' "$ADMIN_VARIANT loss" \
    "$(printf '%.2f%%' "${LOSS[$ADMIN_VARIANT]}")" "<= ${TARGET_LOSS}%" "$(verdict "$met")"
  if [[ -n "${LOSS[$TRACE_VARIANT]:-}" ]]; then
    read -r ratio met < <(awk -v a="${LOSS[$ADMIN_VARIANT]}" -v t="${LOSS[$TRACE_VARIANT]}" \
      -v limit="$TARGET_TRACE_RATIO" 'BEGIN {
      if (t <= 0) print "- 0"; else printf "%.2fx %d\n", a / t, (a / t <= limit) ? 1 : 0 }')
    if [[ "$ratio" == - ]]; then
      printf '  %-48s %10s %10s  %s\n' "$ADMIN_VARIANT loss / $TRACE_VARIANT loss" - \
        "<= ${TARGET_TRACE_RATIO}x" "not measured: $TRACE_VARIANT lost nothing"
    else
      printf '  %-48s %10s %10s  %s\n' "$ADMIN_VARIANT loss / $TRACE_VARIANT loss" "$ratio" \
        "<= ${TARGET_TRACE_RATIO}x" "$(verdict "$met")"
    fi
  fi
fi
