# Helpers of tests/bench/run.sh and tests/bench/compare.sh (sourced; both
# set $tmp, a scratch directory, and clean up $server_pid on exit).

# start_server [ENV=VALUE...]: one release worker of the demo configuration
# on a free port -> $server_pid, $port (stops the one started before).
start_server() {
    [ -n "$server_pid" ] && { kill "$server_pid"; wait "$server_pid" 2>/dev/null; }
    : >"$tmp/server.log"
    env TESSERA_HTTP_PORT=0 "$@" build/release/tessera --config examples/tessera.properties \
        >"$tmp/server.log" 2>&1 &
    server_pid=$!
    port=
    for _ in $(seq 200); do
        port=$(sed -n 's/.*ready: .* on [0-9.]*:\([0-9]*\) .*/\1/p' "$tmp/server.log")
        [ -n "$port" ] && break
        sleep 0.05
    done
    [ -n "$port" ] || { echo "server did not start:"; cat "$tmp/server.log"; exit 1; }
}

# cpu PID: CPU seconds the process has used so far (user + system).
cpu() { awk -v hz="$(getconf CLK_TCK)" '{print ($14 + $15) / hz}' "/proc/$1/stat"; }

# rss PID [VmRSS|VmHWM]: the process's resident set (or its peak), in KiB.
rss() { awk -v k="${2:-VmRSS}:" '$1 == k {print $2}' "/proc/$1/status"; }
