#!/usr/bin/env bash
# make bench-compare: Tessera side by side with oidc-provider (the peer,
# tests/bench/compare/server.js: configured like the demo), both started
# here on free loopback ports and loaded in turn with the same workloads:
#   1. GET discovery and the JWKS with wrk (-t1 -c32 --latency):
#      requests/s, p50/p99 latency and the server's own CPU time per
#      request (from /proc/<pid>/stat)
#   2. complete authorisation-code flows (each server's own front channel:
#      Tessera's authorisation session API, the peer's interaction routes;
#      then token and UserInfo) and refresh_token grants, 16 concurrent,
#      with ES256 and then RS256 ID tokens (node tests/bench/flow.js, which
#      shares the 2 cores: server CPU per operation is the sturdier figure).
#      Tessera's access tokens are JWTs (RS256), the peer's are opaque; both
#      rotate refresh tokens
#   3. after each part, RSS of each server at idle (after its start) and
#      after the load, and its peak (VmHWM)
# Each part follows a one-second warm-up of each server (the peer's JIT).
# Each figure is also given as the ratio Tessera / peer (above 1 is more
# requests per second, or more latency, CPU or memory, for Tessera).
# Tessera runs one release worker on the memory store; the peer is one Node
# process with its in-memory adapter. wrk and each server share the 2 cores.
# BENCH_SECONDS sets each run (default 5).
set -eu
cd "$(dirname "$0")/../.."
secs=${BENCH_SECONDS:-5}
. tests/bench/lib.sh
bench_setup tessera-bench-compare server_pid peer_pid

[ -d tests/bench/compare/node_modules ] ||
    { echo "run npm ci in tests/bench/compare first (make bench-compare does)"; exit 1; }
peer_version=$(cd tests/bench/compare && node -p 'require("oidc-provider/package.json").version')

# start_peer [ENV=VALUE...]: oidc-provider on a free port -> $peer_pid,
# $peer and its idle RSS (stops the one started before).
start_peer() {
    [ -n "$peer_pid" ] && { kill "$peer_pid"; wait "$peer_pid" 2>/dev/null; }
    env "$@" node tests/bench/compare/server.js >"$tmp/peer.log" 2>&1 &
    peer_pid=$!
    local p
    p=$(wait_port "$tmp/peer.log" 's/^ready on 127\.0\.0\.1:\([0-9]*\)$/\1/p')
    [ -n "$p" ] || { echo "oidc-provider did not start:"; cat "$tmp/peer.log"; exit 1; }
    peer="http://127.0.0.1:$p"
    idle_p=$(rss "$peer_pid")
}

# start_both [ENV=VALUE...]: Tessera (the environment added) and the peer,
# each on its own free port -> $tessera, $peer, and their idle RSS.
start_both() {
    # Discovery and the ID token name the issuer: give the worker its own.
    start_server "$@"
    start_server TESSERA_OP_ISSUER="http://127.0.0.1:$port" TESSERA_HTTP_PORT="$port" "$@"
    tessera="http://127.0.0.1:$port"
    idle_t=$(rss "$server_pid")
}

# ms LATENCY: a wrk latency (us, ms or s) in milliseconds.
ms() { awk -v v="$1" 'BEGIN {
    u = v; sub(/^[0-9.]+/, "", u); n = v + 0
    print (u == "us") ? n / 1000 : (u == "s") ? n * 1000 : n }'; }

# wrk_row NAME PID URL: one wrk run; appends "NAME req/s p50 p99 CPU" (ms,
# and µs of server CPU per request) to $tmp/rows.
wrk_row() {
    local c0 c1
    c0=$(cpu "$2")
    wrk -t1 -c32 -d"${secs}s" --latency "$3" >"$tmp/wrk"
    c1=$(cpu "$2")
    awk -v name="$1" -v c0="$c0" -v c1="$c1" \
        -v p50="$(ms "$(awk '$1 == "50%" {print $2}' "$tmp/wrk")")" \
        -v p99="$(ms "$(awk '$1 == "99%" {print $2}' "$tmp/wrk")")" \
        '/requests in/ {n = $1} /^Requests\/sec/ {rps = $2}
         END {printf "%s %s %s %s %s\n", name, rps, p50, p99, (c1 - c0) * 1e6 / n}' \
        "$tmp/wrk" >>"$tmp/rows"
}

# table TITLE UNIT: prints $tmp/rows (Tessera's row, then the peer's) and
# the ratio of each figure, then empties it.
table() {
    echo "  $1"
    printf '    %-16s %10s %9s %9s %13s\n' "" "$2/s" "p50 ms" "p99 ms" "CPU us/$2"
    awk '{printf "    %-16s %10.0f %9.3f %9.3f %13.1f\n", $1, $2, $3, $4, $5
          for (i = 2; i <= 5; i++) v[NR, i] = $i}
         END {printf "    %-16s", "tessera/peer"
              split("10.2 9.2 9.2 13.2", w, " ")
              for (i = 2; i <= 5; i++)
                  printf " %" w[i - 1] "f", v[2, i] ? v[1, i] / v[2, i] : 0
              print ""}' "$tmp/rows"
    : >"$tmp/rows"
}

# memory: the RSS table of the running servers.
memory() {
    local now_t now_p peak_t peak_p
    now_t=$(rss "$server_pid")
    now_p=$(rss "$peer_pid")
    peak_t=$(rss "$server_pid" VmHWM)
    peak_p=$(rss "$peer_pid" VmHWM)
    printf '  memory, KiB       %10s %10s %10s\n' idle "after load" peak
    printf '    %-16s %10d %10d %10d\n' tessera "$idle_t" "$now_t" "$peak_t" \
        oidc-provider "$idle_p" "$now_p" "$peak_p"
    printf '    %-16s %10.2f %10.2f %10.2f\n' tessera/peer \
        "$(awk "BEGIN {print $idle_t / $idle_p}")" \
        "$(awk "BEGIN {print $now_t / $now_p}")" "$(awk "BEGIN {print $peak_t / $peak_p}")"
}

echo "== Tessera (release, one worker, memory store) vs oidc-provider $peer_version" \
    "(node $(node --version), in-memory adapter)"
start_both
start_peer
echo "== GET with wrk -t1 -c32 -d${secs}s --latency, each after a 1 s warm-up"
: >"$tmp/rows"
for pair in "/.well-known/openid-configuration /.well-known/openid-configuration" \
    "/jwks.json /jwks"; do
    read -r path peer_path <<<"$pair"
    wrk -t1 -c32 -d1s "$tessera$path" >/dev/null
    wrk -t1 -c32 -d1s "$peer$peer_path" >/dev/null
    wrk_row tessera "$server_pid" "$tessera$path"
    wrk_row oidc-provider "$peer_pid" "$peer$peer_path"
    table "GET $path (peer: $peer_path)" req
done
memory

# flow_row NAME PID ISSUER flows|refresh [ENV=VALUE...]: one run of the
# flow driver; appends "NAME ops/s p50 p99 CPU" (ms, and µs of server CPU
# per operation) to $tmp/rows.
flow_row() {
    local c0 c1
    c0=$(cpu "$2")
    env "${@:5}" node tests/bench/flow.js "$3" "$secs" 16 "$4" >"$tmp/flow" ||
        { echo "flow driver failed ($1)"; cat "$tmp"/{flow,server.log,peer.log}; exit 1; }
    c1=$(cpu "$2")
    awk -v name="$1" -v k="$4" -v c0="$c0" -v c1="$c1" \
        '$1 == k {printf "%s %s %s %s %s\n", name, $2, $4, $5, (c1 - c0) * 1e6 / $3}' \
        "$tmp/flow" >>"$tmp/rows"
}

for alg in ES256 RS256; do
    node -e 'const [file, alg] = process.argv.slice(1);
        const clients = require(file).map((c) => c.client_id === "demo-client"
            ? { ...c, id_token_signed_response_alg: alg } : c);
        console.log(JSON.stringify(clients));' "$PWD/examples/clients.json" "$alg" \
        >"$tmp/clients.json"
    start_both TESSERA_OP_REG_CLIENTS_FILE="$tmp/clients.json"
    start_peer ID_TOKEN_ALG="$alg"
    echo "== $alg ID tokens: flows and refresh grants, 16 concurrent, ${secs}s each" \
        "(node driver), after a 1 s warm-up of each"
    node tests/bench/flow.js "$tessera" 1 16 flows >/dev/null
    FLOW_SERVER=oidc-provider node tests/bench/flow.js "$peer" 1 16 flows >/dev/null
    for kind in flows refresh; do
        flow_row tessera "$server_pid" "$tessera" "$kind"
        flow_row oidc-provider "$peer_pid" "$peer" "$kind" FLOW_SERVER=oidc-provider
        unit=flow
        [ "$kind" = refresh ] && unit=grant
        table "$kind" "$unit"
    done
    memory
done
