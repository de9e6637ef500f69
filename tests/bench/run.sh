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
#      token with RS256, a refresh one of each), with the worker's own CPU
#      time per operation (the Node driver shares the 2 cores); and the store
#      round trips per flow, counted by Redis itself
# BENCH_SECONDS sets each wrk run (default 5).
set -eu
cd "$(dirname "$0")/../.."
secs=${BENCH_SECONDS:-5}
. tests/bench/lib.sh
bench_setup tessera-bench server_pid redis_pid

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

# Discovery and the ID token name the issuer: give the worker its own.
start_server
start_server TESSERA_OP_ISSUER="http://127.0.0.1:$port" TESSERA_HTTP_PORT="$port"
rss=$(rss "$server_pid")
echo "== HTTP, one worker, memory store (wrk -t1 -c32 -d${secs}s)"
printf '  RSS after start: %d KiB\n' "$rss"
for path in /jwks.json /.well-known/openid-configuration; do
    wrk -t1 -c32 -d"${secs}s" --latency "http://127.0.0.1:$port$path" >"$tmp/wrk"
    rps=$(awk '/^Requests\/sec/ {print $2}' "$tmp/wrk")
    p99=$(awk '$1 == "99%" {print $2}' "$tmp/wrk")
    printf '  GET %-36s %10.0f req/s  p99 %-8s  %.2f req per ES256 signature\n' \
        "$path" "$rps" "$p99" "$(awk "BEGIN {print $rps / $ceil_ec}")"
done

# measure <label> <flows|refresh>: rate against the running worker, and
# the worker's own CPU time per operation. On a 2-core machine the driver
# (Node, on the other core) limits the rate, so operations per server CPU
# second is what one core of the server sustains.
measure() {
    local c0 c1 rate n
    c0=$(cpu "$server_pid")
    node tests/bench/flow.js "http://127.0.0.1:$port" "$secs" 16 "$2" >"$tmp/flow" \
        || { echo "flow driver failed"; cat "$tmp/flow"; tail -20 "$tmp/server.log"; exit 1; }
    c1=$(cpu "$server_pid")
    rate=$(awk -v k="$2" '$1 == k {print $2}' "$tmp/flow")
    n=$(awk -v k="$2" '$1 == k {print $3}' "$tmp/flow")
    printf '  %-7s %-8s %7d/s (%.2f per RS256 signature)   server CPU %.3f ms each: %6.0f per CPU second (%.2f)\n' \
        "$1" "$2" "$rate" "$(awk "BEGIN {print $rate / $ceil_rsa}")" \
        "$(awk "BEGIN {print ($c1 - $c0) * 1000 / $n}")" \
        "$(awk "BEGIN {print $n / ($c1 - $c0)}")" "$(awk "BEGIN {print $n / ($c1 - $c0) / $ceil_rsa}")"
}
flows() {
    measure "$1" flows
    measure "$1" refresh
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
# Commands the server sends: every store operation or batch is one EVAL
# (or PING). commandstats also counts the commands the scripts run inside
# Redis, which are not round trips, so only these are added up.
sent() {
    redis-cli -p "$redis_port" info commandstats |
        awk -F'[:=,]' '/^cmdstat_(eval|evalsha|ping):/ {n += $3} END {print n+0}'
}
before=$(sent)
node tests/bench/flow.js "http://127.0.0.1:$port" 2 4 flows >"$tmp/count"
after=$(sent)
n=$(awk '$1 == "flows" {print $3}' "$tmp/count")
printf '  store round trips per flow: %.1f (%.1f per API call of the 5)\n' \
    "$(awk "BEGIN {print ($after - $before) / $n}")" \
    "$(awk "BEGIN {print ($after - $before) / $n / 5}")"
