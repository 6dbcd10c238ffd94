# Sourced by bench.sh and soak.sh: start a throwaway `webusage serve` on a
# temporary data directory and a free loopback port, define one application,
# and stop the server again. Needs bin/webusage and curl.
#
# After loadserver_start DIR: LS_URL, LS_PID, LS_DATA, LS_ADMIN, LS_ENROLL are set.

LS_ADMIN="bench-admin-$RANDOM$RANDOM$RANDOM"
LS_ENROLL="bench-enroll-$RANDOM$RANDOM$RANDOM"

# loadserver_free_port prints a loopback TCP port nothing listens on.
loadserver_free_port() {
  local p
  for _ in $(seq 50); do
    p=$((20000 + RANDOM % 40000))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
      echo "$p"
      return 0
    fi
  done
  echo "loadserver: no free port found" >&2
  return 1
}

# loadserver_start DIR: start the server with its data under DIR/data and its
# log in DIR/server.log, wait for /healthz, then create the applications.
loadserver_start() {
  local dir=$1 port
  port=$(loadserver_free_port)
  LS_DATA="$dir/data"
  LS_URL="http://127.0.0.1:$port"
  if [ -n "$(ls -A "$LS_DATA" 2>/dev/null)" ]; then
    echo "loadserver: $LS_DATA is not empty; give an empty output directory" >&2
    return 1
  fi
  mkdir -p "$LS_DATA"
  WEBUSAGE_ADMIN_TOKEN="$LS_ADMIN" WEBUSAGE_ENROLLMENT_TOKEN="$LS_ENROLL" \
    ./bin/webusage serve --addr "127.0.0.1:$port" --data "$LS_DATA" --trusted-proxies 127.0.0.1/32 \
    >"$dir/server.log" 2>&1 &
  LS_PID=$!
  for _ in $(seq 300); do
    if curl -fsS -o /dev/null "$LS_URL/healthz" 2>/dev/null; then
      loadserver_apps
      return 0
    fi
    if ! kill -0 "$LS_PID" 2>/dev/null; then
      echo "loadserver: the server exited; its log:" >&2
      cat "$dir/server.log" >&2
      return 1
    fi
    sleep 0.1
  done
  echo "loadserver: the server did not become healthy in 30 s" >&2
  return 1
}

# loadserver_apps defines the applications the generated traffic targets.
loadserver_apps() {
  local body
  for body in \
    '{"name":"CRM","patterns":["crm.example.com/*","*.crm.example.com/*"],"collect_urls":false}' \
    '{"name":"Wiki","patterns":["*.wiki.example.com/docs/*"],"collect_urls":true}' \
    '{"name":"Tickets","patterns":["tickets.example.com/*"],"collect_urls":false}'; do
    curl -fsS -o /dev/null -X POST -H "Authorization: Bearer $LS_ADMIN" -H 'Content-Type: application/json' \
      -d "$body" "$LS_URL/api/v1/applications"
  done
}

# loadserver_rss_kib FIELD prints VmRSS or VmHWM (peak) of the server in KiB.
loadserver_rss_kib() {
  awk -v f="$1:" '$1 == f { print $2 }' "/proc/$LS_PID/status"
}

# loadserver_db_bytes prints the total size of the files under the data directory.
loadserver_db_bytes() {
  find "$LS_DATA" -type f -printf '%s\n' | awk '{ s += $1 } END { print s + 0 }'
}

# loadserver_stop sends SIGTERM and waits for the server to drain and exit.
loadserver_stop() {
  if [ -n "${LS_PID:-}" ] && kill -0 "$LS_PID" 2>/dev/null; then
    kill -TERM "$LS_PID"
    wait "$LS_PID" || echo "loadserver: the server exited with status $?" >&2
  fi
  LS_PID=
}
