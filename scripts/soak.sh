#!/usr/bin/env bash
# make soak (not in CI): steady load on a fresh `webusage serve` for
# SOAK_DURATION (default 10m), sampling the server every SOAK_INTERVAL
# seconds (default 5) into docs/soak.csv — RSS, goroutines (from /metrics),
# open files (/proc/PID/fd) and database size — then plotting it into
# docs/soak.svg with the project's own plotter.
#
# Other knobs: SOAK_RATE (events/s, default 5000), SOAK_DEVICES (default 500),
# SOAK_OUT (keep the server log and loadgen output there).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/usr/local/go/bin"

DURATION=${SOAK_DURATION:-10m}
INTERVAL=${SOAK_INTERVAL:-5}
RATE=${SOAK_RATE:-5000}
DEVICES=${SOAK_DEVICES:-500}
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
  --duration "$DURATION" --forwarded-for >"$out/loadgen.txt" 2>&1 &
lg_pid=$!

echo "soak: $RATE events/s from $DEVICES devices for $DURATION, sampling every ${INTERVAL}s into $csv" >&2
echo "elapsed_s,rss_mib,goroutines,open_files,db_mib" >"$csv"
start=$(date +%s)
while kill -0 "$lg_pid" 2>/dev/null; do
  now=$(date +%s)
  rss=$(loadserver_rss_kib VmRSS)
  gor=$(curl -fsS "$LS_URL/metrics" | awk '$1 == "go_goroutines" { print $2 }')
  fds=$(find "/proc/$LS_PID/fd" -mindepth 1 -maxdepth 1 | wc -l)
  db=$(loadserver_db_bytes)
  awk -v t=$((now - start)) -v r="$rss" -v g="${gor:-0}" -v f="$fds" -v d="$db" \
    'BEGIN { printf "%d,%.1f,%d,%d,%.1f\n", t, r / 1024, g, f, d / 1048576 }' >>"$csv"
  sleep "$INTERVAL"
done
wait "$lg_pid"
lg_pid=
loadserver_stop

cat "$out/loadgen.txt"
go run ./loadgen/cmd/plot -in "$csv" -out "$svg" \
  -title "webusage serve under $RATE events/s for $DURATION ($(nproc) CPUs, $(date -u +%Y-%m-%d))"
echo "soak: wrote $csv and $svg" >&2
