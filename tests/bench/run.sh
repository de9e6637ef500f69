#!/usr/bin/env bash
# make bench: figures as ratios to this machine's own signing ceiling.
#   1. `openssl speed` signatures/s for rsa2048, ecdsap256, ed25519
#   2. the same algorithms through keys/ (a whole compact JWS each), and
#      the ratio to (1); PS256 is compared with the rsa2048 figure
#   3. GET throughput and p99 latency of /jwks.json and discovery with wrk
#      against one release worker on the memory store, and its RSS after
#      start; throughput is also given per ES256 signature of (1)
#   4. complete authorisation-code flows per second (POST session, PUT
#      authentication, PUT consent, token, UserInfo) and refresh_token
#      grants per second, on the memory store and on Redis, as a ratio to
#      the RS256 ceiling of (1) (a flow signs an ID token and a JWT access
#      token with RS256, a refresh one of each); and the store round trips
#      per flow, counted by Redis itself
# BENCH_SECONDS sets each wrk run (default 5).
set -eu
cd "$(dirname "$0")/../.."
secs=${BENCH_SECONDS:-5}
tmp=$(mktemp -d /tmp/tessera-bench.XXXXXX)
server_pid=
redis_pid=
cleanup() {
    [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null
    [ -n "$redis_pid" ] && kill "$redis_pid" 2>/dev/null
    rm -rf "$tmp"
}
trap cleanup EXIT

echo "== signing ceiling: openssl speed ($(openssl version | cut -d' ' -f1-2))"
openssl speed -seconds 2 rsa2048 ecdsap256 ed25519 >"$tmp/speed" 2>/dev/null
ceil_rsa=$(awk '/^rsa 2048 bits/ {print $6}' "$tmp/speed")
ceil_ec=$(awk '/256 bits ecdsa \(nistp256\)/ {print $7}' "$tmp/speed")
ceil_ed=$(awk '/253 bits EdDSA \(Ed25519\)/ {print $7}' "$tmp/speed")
printf '  %-8s %10.0f sign/s\n' rsa2048 "$ceil_rsa" ecdsap256 "$ceil_ec" ed25519 "$ceil_ed"

echo "== keys/: compact JWS per second, and ratio to the ceiling"
build/release/tests/bench_sign >"$tmp/sign"
while read -r _ alg rate; do
    case $alg in
        RS256|PS256) ceil=$ceil_rsa ;;
        ES256) ceil=$ceil_ec ;;
        EdDSA) ceil=$ceil_ed ;;
        *) continue ;;
    esac
    printf '  %-6s %10d JWS/s   ratio %.2f\n' "$alg" "$rate" "$(awk "BEGIN {print $rate / $ceil}")"
done <"$tmp/sign"

# start_server [ENV=VALUE...]: one release worker on a free port -> $port
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
# Discovery and the ID token name the issuer: give the worker its own.
start_server
start_server TESSERA_OP_ISSUER="http://127.0.0.1:$port" TESSERA_HTTP_PORT="$port"
rss=$(awk '/VmRSS/ {print $2}' "/proc/$server_pid/status")
echo "== HTTP, one worker, memory store (wrk -t1 -c32 -d${secs}s)"
printf '  RSS after start: %d KiB\n' "$rss"
for path in /jwks.json /.well-known/openid-configuration; do
    wrk -t1 -c32 -d"${secs}s" --latency "http://127.0.0.1:$port$path" >"$tmp/wrk"
    rps=$(awk '/^Requests\/sec/ {print $2}' "$tmp/wrk")
    p99=$(awk '$1 == "99%" {print $2}' "$tmp/wrk")
    printf '  GET %-36s %10.0f req/s  p99 %-8s  %.2f req per ES256 signature\n' \
        "$path" "$rps" "$p99" "$(awk "BEGIN {print $rps / $ceil_ec}")"
done

# flows <label>: flows/s and refresh/s against the running worker.
flows() {
    node tests/bench/flow.js "http://127.0.0.1:$port" "$secs" 16 >"$tmp/flow" \
        || { echo "flow driver failed"; cat "$tmp/flow"; tail -20 "$tmp/server.log"; exit 1; }
    local f r
    f=$(awk '$1 == "flows" {print $2}' "$tmp/flow")
    r=$(awk '$1 == "refresh" {print $2}' "$tmp/flow")
    printf '  %-7s %8d flows/s  (%.2f per RS256 signature)   %8d refresh_token grants/s  (%.2f)\n' \
        "$1" "$f" "$(awk "BEGIN {print $f / $ceil_rsa}")" "$r" "$(awk "BEGIN {print $r / $ceil_rsa}")"
}
echo "== complete authorisation-code flows, one worker, 16 concurrent (node tests/bench/flow.js)"
flows memory
redis_port=$((port + 1))
redis-server --port "$redis_port" --bind 127.0.0.1 --save '' --appendonly no --dir "$tmp" \
    >"$tmp/redis.log" 2>&1 &
redis_pid=$!
for _ in $(seq 100); do redis-cli -p "$redis_port" ping >/dev/null 2>&1 && break; sleep 0.05; done
start_server TESSERA_OP_ISSUER="http://127.0.0.1:$port" TESSERA_HTTP_PORT="$port" \
    TESSERA_STORAGE_TYPE=redis TESSERA_STORAGE_REDIS_ADDRESS="127.0.0.1:$redis_port"
flows redis
# Commands the server sends (each store operation is one EVAL; the
# commands a script runs inside Redis are not round trips).
sent() {
    redis-cli -p "$redis_port" info commandstats |
        awk -F'[:=,]' '/^cmdstat_(eval|evalsha|ping|get|set|del|auth|select):/ {n += $3} END {print n+0}'
}
before=$(sent)
node tests/bench/flow.js "http://127.0.0.1:$port" 2 4 flows >"$tmp/count"
after=$(sent)
n=$(awk '$1 == "flows" {print $3}' "$tmp/count")
printf '  store round trips per flow: %.1f (%.1f per API call of the 5)\n' \
    "$(awk "BEGIN {print ($after - $before) / $n}")" \
    "$(awk "BEGIN {print ($after - $before) / $n / 5}")"
