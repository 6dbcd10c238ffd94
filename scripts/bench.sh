#!/usr/bin/env bash
# make bench: the Go benchmarks of every package that has some, then ingest
# over HTTP with `webusage loadgen` against a fresh `webusage serve` (SQLite
# on a temporary directory, loopback), then one table of every figure.
#
# Knobs (environment): BENCHTIME (go test -benchtime, default 1s),
# LOAD_DURATION (each loadgen run, default 20s), LOAD_DEVICES (default 200),
# LOAD_CONCURRENCY (default 16), BENCH_PKGS (space-separated packages instead
# of every one with benchmarks; empty runs none), BENCH_OUT (keep the raw
# outputs in this directory).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/usr/local/go/bin"

BENCHTIME=${BENCHTIME:-1s}
LOAD_DURATION=${LOAD_DURATION:-20s}
LOAD_DEVICES=${LOAD_DEVICES:-200}
LOAD_CONCURRENCY=${LOAD_CONCURRENCY:-16}
out=${BENCH_OUT:-$(mktemp -d)}
mkdir -p "$out"
[ -x bin/webusage ] || go build -o bin/webusage ./cmd/webusage

. scripts/loadserver.sh
trap loadserver_stop EXIT

# 1. Go benchmarks, package by package (only packages that define one).
: >"$out/bench.txt"
if [ -n "${BENCH_PKGS+set}" ]; then
  read -r -a pkgs <<<"$BENCH_PKGS"
else
  mapfile -t pkgs < <(grep -rlE --include='*_test.go' --exclude-dir=node_modules --exclude-dir=.git \
    '^func Benchmark[A-Z0-9_]' . | xargs -r -n1 dirname | sort -u)
fi
bench_failed=()
for pkg in "${pkgs[@]}"; do
  echo "== go test -bench . $pkg" >&2
  if ! go test -run '^$' -bench . -benchmem -benchtime "$BENCHTIME" -timeout 5m "$pkg" | tee -a "$out/bench.txt" >&2; then
    bench_failed+=("$pkg")
  fi
done

# 2. Ingest over HTTP: as fast as the server acknowledges, then at 70% of that
#    rate (open loop) for the latency figures.
echo "== loadgen against a fresh webusage serve ($LOAD_DURATION each)" >&2
loadserver_start "$out"
lg() {
  ./bin/webusage loadgen --url "$LS_URL" --token "$LS_ENROLL" --devices "$LOAD_DEVICES" \
    --concurrency "$LOAD_CONCURRENCY" --duration "$LOAD_DURATION" --forwarded-for --json "$@"
}
hz=$(getconf CLK_TCK)
cpu_rows=()
# load LABEL ARGS...: one loadgen run into $out/loadgen-LABEL.json, noting how
# many cores the server and the generator used on average meanwhile.
load() {
  local label=$1 s0 s1 t0 t1 gen
  shift
  s0=$(awk '{ print $14 + $15 }' "/proc/$LS_PID/stat")
  t0=$(date +%s.%N)
  TIMEFORMAT='%U %S'
  { time lg "$@" >"$out/loadgen-$label.json"; } 2>"$out/time-$label.txt"
  t1=$(date +%s.%N)
  s1=$(awk '{ print $14 + $15 }' "/proc/$LS_PID/stat")
  gen=$(tail -n1 "$out/time-$label.txt")
  cpu_rows+=(-row "$(awk -v s="$((s1 - s0))" -v hz="$hz" -v g="$gen" -v t0="$t0" -v t1="$t1" -v l="$label" -v n="$(nproc)" \
    'BEGIN { split(g, u, " "); printf "cpu|loadgen %s: cores used on average (of %d)|server %.2f · loadgen %.2f", l, n, s / hz / (t1 - t0), (u[1] + u[2]) / (t1 - t0) }')")
}
load max --seed 1
max_rate=$(grep -m1 '^  "events_per_second"' "$out/loadgen-max.json" | tr -dc '0-9.')
rate70=$(awk -v r="$max_rate" 'BEGIN { printf "%d", r * 0.7 }')
if [ "$rate70" -lt 1 ]; then
  echo "bench: the server acknowledged nothing; see $out/server.log" >&2
  exit 1
fi
load 70 --seed 2 --rate "$rate70"
peak_rss=$(loadserver_rss_kib VmHWM)
rss=$(loadserver_rss_kib VmRSS)

# A usage query grouped by application over everything just stored (median of
# 5): over whole UTC days (the store's daily rollups answer it) and over a
# window with ragged edges (the partial days come from the raw events).
usage_ms() {
  for _ in 1 2 3 4 5; do
    curl -fsS -o /dev/null -w '%{time_total}\n' -H "Authorization: Bearer $LS_ADMIN" \
      "$LS_URL/api/v1/usage?group_by=application&from=$1&to=$2"
  done | sort -n | sed -n 3p | awk '{ printf "%.1f", $1 * 1000 }'
}
query_days_ms=$(usage_ms "$(date -u -d '-3 days' +%Y-%m-%dT00:00:00Z)" "$(date -u -d '+1 day' +%Y-%m-%dT00:00:00Z)")
query_edges_ms=$(usage_ms "$(date -u -d '-3 days' +%Y-%m-%dT%H:%M:%SZ)" "$(date -u -d '+1 day' +%Y-%m-%dT%H:%M:%SZ)")
stored=$(awk '/"events_acked"/ { gsub(/[^0-9]/, ""); s += $0 } END { print s }' "$out"/loadgen-max.json "$out"/loadgen-70.json)
db_mib=$(awk -v b="$(loadserver_db_bytes)" 'BEGIN { printf "%.0f", b / 1048576 }')
loadserver_stop

# 3. One table.
echo
echo "machine: $(uname -sm), $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(go version | cut -d' ' -f3)"
echo "date:    $(date -u +%Y-%m-%dT%H:%MZ)"
echo "command: make bench (BENCHTIME=$BENCHTIME LOAD_DURATION=$LOAD_DURATION LOAD_DEVICES=$LOAD_DEVICES LOAD_CONCURRENCY=$LOAD_CONCURRENCY)"
echo
go run ./loadgen/cmd/benchtable -bench "$out/bench.txt" \
  -loadgen "max=$out/loadgen-max.json" -loadgen "70% of max=$out/loadgen-70.json" "${cpu_rows[@]}" \
  -row "server|RSS after both runs (peak)|$((rss / 1024)) MiB ($((peak_rss / 1024)) MiB peak)" \
  -row "server|database on disk after both runs|$db_mib MiB for $stored events" \
  -row "usage query|GET /api/v1/usage?group_by=application, 4 whole days, over $stored events (median of 5, curl)|$query_days_ms ms" \
  -row "usage query|same, window edges mid-day (partial days from raw events)|$query_edges_ms ms"
echo
echo "raw outputs: $out"
if [ ${#bench_failed[@]} -gt 0 ]; then
  echo "benchmarks failed in: ${bench_failed[*]}" >&2
  exit 1
fi
