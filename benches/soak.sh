#!/usr/bin/env bash
# Soak: does a server with the layer and the admin port on stay flat in memory over
# millions of requests at full rate?
#
# Starts `bench_server --layer inflight --admin 127.0.0.1:0` (release), sends it REQUESTS
# requests with wrk as fast as it answers, and samples the server's RSS (VmRSS in
# /proc/PID/status) once a second into a CSV: seconds, requests ended so far (from the
# admin port's /recent: every family's `finished` plus `dropped`), rss_kib. At the end it
# prints the first, warm-up, largest and last RSS, and says RSS stayed flat when the last
# sample is at most 1.1x the first one after the warm-up (a tenth of the requests). Then,
# as a sanity check of what the admin port keeps, the sizes of /recent and of
# /traces/{id} for a trace that /recent shows.
#
#   bash benches/soak.sh                       # 10M requests
#   REQUESTS=1000000 bash benches/soak.sh      # a short run
#   REQUESTS=1000000 CSV=rss.csv THREADS=2 CONNECTIONS=64 bash benches/soak.sh
#
# Needs wrk (apt-get install wrk) and curl; jq for the requests column and the trace.
set -euo pipefail
cd "$(dirname "$0")/.."

REQUESTS=${REQUESTS:-10000000}
CONNECTIONS=${CONNECTIONS:-32}
THREADS=${THREADS:-1}
WRK_THREADS=${WRK_THREADS:-1}
PORT=${PORT:-18083}
WARMUP_REQUESTS=${WARMUP_REQUESTS:-$((REQUESTS / 10))}
FLAT_RATIO=${FLAT_RATIO:-1.1}

for tool in wrk curl; do
  if ! command -v "$tool" >/dev/null; then
    echo "soak.sh: $tool is missing (apt-get install -y wrk curl)" >&2
    exit 2
  fi
done
HAVE_JQ=0
command -v jq >/dev/null && HAVE_JQ=1

cargo build --release --example bench_server >&2
WORK=$(mktemp -d)
# A copy: another checkout sharing the target directory may rebuild it meanwhile.
cp "${CARGO_TARGET_DIR:-target}/release/examples/bench_server" "$WORK/bench_server"
CSV=${CSV:-$(mktemp --suffix=.csv /tmp/soak-rss.XXXXXX)}

SERVER_PID= WRK_PID=
cleanup() {
  for pid in $WRK_PID $SERVER_PID; do
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  rm -rf "$WORK"
}
trap cleanup EXIT

"$WORK/bench_server" --listen "127.0.0.1:$PORT" --threads "$THREADS" --layer inflight \
  --admin 127.0.0.1:0 2>"$WORK/server.err" &
SERVER_PID=$!
ADMIN=
for _ in $(seq 1 100); do
  ADMIN=$(sed -n 's|^bench_server: admin port on \(http://[^ ]*\).*|\1|p' "$WORK/server.err")
  if [[ -n "$ADMIN" ]] && (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; then
    break
  fi
  sleep 0.05
done
if [[ -z "$ADMIN" ]]; then
  echo "soak.sh: bench_server did not start:" >&2
  cat "$WORK/server.err" >&2
  exit 1
fi

# Each wrk thread stops after its share of the requests and leaves a file saying so; wrk
# itself runs until its duration or a SIGINT, sent once every thread has stopped.
mkdir "$WORK/done"
cat >"$WORK/count.lua" <<'EOF'
local limit = tonumber(os.getenv("SOAK_PER_THREAD"))
local done = 0
function response(status, headers, body)
  done = done + 1
  if done == limit then
    wrk.thread:stop()
    local name = tostring(wrk.thread):gsub("%W", "")
    io.open(os.getenv("SOAK_DONE_DIR") .. "/" .. name, "w"):close()
  end
end
EOF

rss_kib() {
  awk '/^VmRSS:/ { print $2 }' "/proc/$SERVER_PID/status"
}
# Requests ended so far, as the admin port counts them, or nothing.
ended() {
  ((HAVE_JQ)) || return 0
  curl -s --max-time 2 "$ADMIN/recent" | jq '([.families[].finished] | add // 0) + .dropped' \
    2>/dev/null || true
}

echo "soak.sh: $REQUESTS requests, $CONNECTIONS connections, server $THREADS worker" \
  "thread(s), pid $SERVER_PID, admin $ADMIN; load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "seconds,requests,rss_kib" >"$CSV"
started=$(date +%s%N)
sample() {
  local now
  now=$(date +%s%N)
  printf '%.1f,%s,%s\n' "$(awk -v n="$((now - started))" 'BEGIN { print n / 1e9 }')" \
    "$(ended)" "$(rss_kib)" >>"$CSV"
}
sample
SOAK_DONE_DIR=$WORK/done SOAK_PER_THREAD=$(( (REQUESTS + WRK_THREADS - 1) / WRK_THREADS )) \
  wrk -t"$WRK_THREADS" -c"$CONNECTIONS" -d24h -s "$WORK/count.lua" \
  "http://127.0.0.1:$PORT/hello" >"$WORK/wrk.out" &
WRK_PID=$!
next=$(( $(date +%s) + 1 ))
while kill -0 "$WRK_PID" 2>/dev/null; do
  # Once a second, on the second.
  while (( $(date +%s) < next )) && kill -0 "$WRK_PID" 2>/dev/null; do
    if (( $(find "$WORK/done" -type f | wc -l) >= WRK_THREADS )); then
      kill -INT "$WRK_PID" 2>/dev/null || true
    fi
    sleep 0.05
  done
  next=$((next + 1))
  sample
  if (( $(date +%s) % 10 == 0 )); then
    tail -n1 "$CSV" | awk -F, '{ printf "  %6.0fs  %10s requests  %8d KiB\n", $1, $2, $3 }'
  fi
done
wait "$WRK_PID"
WRK_PID=
# Let the admin thread take in the last requests, then the last sample.
sleep 1
sample

grep -E 'requests in|Requests/sec|Non-2xx|Socket errors' "$WORK/wrk.out" | sed 's/^/wrk: /'
awk -F, -v warm="$WARMUP_REQUESTS" -v flat="$FLAT_RATIO" 'NR > 1 {
    n++; t[n] = $1; r[n] = $2; rss[n] = $3
    if (rss[n] > max) { max = rss[n]; max_at = $1 }
    if (warm_rss == "" && r[n] != "" && r[n] + 0 >= warm) { warm_rss = rss[n]; warm_at = $1 }
  }
  END {
    if (warm_rss == "") {
      # No request counts: the first sample after a tenth of the run.
      for (i = 1; i <= n; i++) if (t[i] >= t[n] / 10) { warm_rss = rss[i]; warm_at = t[i]; break }
    }
    printf "RSS: first %.1f MiB, after the warm-up (%s requests, %.0fs) %.1f MiB, max %.1f MiB (%.0fs), last %.1f MiB (%.0fs)\n",
      rss[1] / 1024, warm, warm_at, warm_rss / 1024, max / 1024, max_at, rss[n] / 1024, t[n]
    printf "RSS %s: last / after the warm-up = %.3f (flat when <= %s)\n",
      (rss[n] <= warm_rss * flat) ? "stayed flat" : "grew", rss[n] / warm_rss, flat
  }' "$CSV"

# What the admin port keeps, after all of it.
recent_bytes=$(curl -s --max-time 10 "$ADMIN/recent" | wc -c)
echo "admin: /recent $recent_bytes bytes"
if ((HAVE_JQ)); then
  curl -s --max-time 10 "$ADMIN/recent" |
    jq -r '"admin: /recent: \(.families | length) families, \([.families[].finished] | add // 0) finished, \(.dropped) dropped"'
  trace=$(curl -s --max-time 10 "$ADMIN/recent" |
    jq -r '[.families[].buckets[].samples[].request.trace_id] | map(select(. != "")) | .[0] // empty')
  if [[ -n "$trace" ]]; then
    code_bytes=$(curl -s --max-time 10 -o "$WORK/trace.json" -w '%{http_code}' "$ADMIN/traces/$trace")
    echo "admin: /traces/$trace: status $code_bytes, $(wc -c <"$WORK/trace.json") bytes"
  else
    echo "admin: /recent shows no trace id to look up in /traces"
  fi
fi
echo "samples: $CSV"
