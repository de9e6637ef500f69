# Helpers of tests/bench/run.sh and tests/bench/compare.sh (sourced).

# bench_setup NAME VAR...: a scratch directory $tmp, and an exit trap that
# stops the processes whose pids the variables VAR... hold (the ones set)
# and removes $tmp. The variables start empty.
bench_setup() {
    tmp=$(mktemp -d "/tmp/$1.XXXXXX")
    shift
    bench_pid_vars=("$@")
    for v in "$@"; do printf -v "$v" ''; done
    trap bench_cleanup EXIT
}

bench_cleanup() {
    for v in "${bench_pid_vars[@]}"; do
        [ -z "${!v}" ] || kill "${!v}" 2>/dev/null || true
    done
    rm -rf "$tmp"
}

# wait_port LOG SED_SCRIPT: the port that SED_SCRIPT (sed -n) prints from
# LOG once the program writing it is ready, waiting 10 s at most; empty if
# it never came.
wait_port() {
    local p=
    for _ in $(seq 200); do
        p=$(sed -n "$2" "$1")
        [ -n "$p" ] && break
        sleep 0.05
    done
    echo "$p"
}

# start_server [ENV=VALUE...]: one release worker of the demo configuration
# on a free port -> $server_pid, $port (stops the one started before).
# BENCH_SERVER_BIN runs another build instead (e.g. an older commit's).
start_server() {
    [ -n "$server_pid" ] && { kill "$server_pid"; wait "$server_pid" 2>/dev/null; }
    : >"$tmp/server.log"
    env TESSERA_HTTP_PORT=0 "$@" "${BENCH_SERVER_BIN:-build/release/tessera}" --config examples/tessera.properties \
        >"$tmp/server.log" 2>&1 &
    server_pid=$!
    port=$(wait_port "$tmp/server.log" 's/.*ready: .* on [0-9.]*:\([0-9]*\) .*/\1/p')
    [ -n "$port" ] || { echo "server did not start:"; cat "$tmp/server.log"; exit 1; }
}

# cpu PID: CPU seconds the process has used so far (user + system).
cpu() { awk -v hz="$(getconf CLK_TCK)" '{print ($14 + $15) / hz}' "/proc/$1/stat"; }

# rss PID [VmRSS|VmHWM]: the process's resident set (or its peak), in KiB.
rss() { awk -v k="${2:-VmRSS}:" '$1 == k {print $2}' "/proc/$1/status"; }
