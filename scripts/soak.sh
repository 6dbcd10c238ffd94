#!/usr/bin/env bash
# make soak (not in CI): steady load on a fresh `webusage serve` for
# SOAK_DURATION (default 10m), sampling the server every SOAK_INTERVAL
# seconds (default 5) into docs/soak.csv — RSS, goroutines (from /metrics),
# open files (/proc/PID/fd), database size, and from the server's metrics the
# events accepted per second and the mean group-commit time over the last
# interval — then plotting it into docs/soak.svg with the project's plotter.
#
# Other knobs: SOAK_RATE (events/s, default 5000), SOAK_DEVICES (default 500),
# SOAK_CONCURRENCY (requests in flight, default 32), SOAK_OUT (keep the
# server log and loadgen output there).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/usr/local/go/bin"

DURATION=${SOAK_DURATION:-10m}
INTERVAL=${SOAK_INTERVAL:-5}
RATE=${SOAK_RATE:-5000}
DEVICES=${SOAK_DEVICES:-500}
CONCURRENCY=${SOAK_CONCURRENCY:-32}
out=${SOAK_OUT:-$(mktemp -d)}
csv=docs/soak.csv
svg=docs/soak.svg
mkdir -p "$out" docs
[ -x bin/webusage ] || go build -o bin/webusage ./cmd/webusage

. scripts/loadserver.sh
lg_pid=
cleanup() {
  [ -n "$lg_pid" ] && kill "$lg_pid" 2>/dev/null
  loadserver_stop
}
trap cleanup EXIT

loadserver_start "$out"
./bin/webusage loadgen --url "$LS_URL" --token "$LS_ENROLL" --devices "$DEVICES" --rate "$RATE" \
  --concurrency "$CONCURRENCY" \
  --duration "$DURATION" --forwarded-for >"$out/loadgen.txt" 2>&1 &
lg_pid=$!

echo "soak: $RATE events/s from $DEVICES devices for $DURATION, sampling every ${INTERVAL}s into $csv" >&2
echo "elapsed_s,rss_mib,goroutines,open_files,db_mib,accepted_events_per_s,mean_commit_ms" >"$csv"
start=$(date +%s.%N)
prev="0 0 0 0" # time, accepted events, commit seconds sum, commits
while kill -0 "$lg_pid" 2>/dev/null; do
  now=$(date +%s.%N)
  rss=$(loadserver_rss_kib VmRSS)
  metrics=$(curl -fsS "$LS_URL/metrics" | awk '
    $1 == "go_goroutines" { g = $2 }
    $1 == "webusage_ingest_accepted_events_total" { a = $2 }
    $1 == "webusage_commit_duration_seconds_sum" { s = $2 }
    $1 == "webusage_commit_duration_seconds_count" { c = $2 }
    END { printf "%d %.0f %.6f %.0f", g, a, s, c }')
  fds=$(find "/proc/$LS_PID/fd" -mindepth 1 -maxdepth 1 | wc -l)
  db=$(loadserver_db_bytes)
  awk -v t="$now" -v t0="$start" -v r="$rss" -v m="$metrics" -v p="$prev" -v f="$fds" -v d="$db" 'BEGIN {
    split(m, x, " "); split(p, y, " ")
    rate = y[1] > 0 ? (x[2] - y[2]) / (t - y[1]) : 0
    commit = x[4] > y[4] ? (x[3] - y[3]) / (x[4] - y[4]) * 1000 : 0
    printf "%d,%.1f,%d,%d,%.1f,%.0f,%.1f\n", t - t0, r / 1024, x[1], f, d / 1048576, rate, commit
  }' >>"$csv"
  prev="$now $(cut -d' ' -f2- <<<"$metrics")"
  sleep "$INTERVAL"
done
wait "$lg_pid"
lg_pid=
loadserver_stop

cat "$out/loadgen.txt"
go run ./loadgen/cmd/plot -in "$csv" -out "$svg" \
  -title "webusage serve under $RATE events/s for $DURATION ($(nproc) CPUs, $(date -u +%Y-%m-%d))"
echo "soak: wrote $csv and $svg" >&2
