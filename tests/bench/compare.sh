#!/usr/bin/env bash
# make bench-compare: Tessera side by side with oidc-provider (the peer,
# tests/bench/compare/server.js: configured like the demo), both started
# here on free loopback ports and loaded with the same workloads by the C
# load driver (build/release/tests/bench_load, tests/bench/load.c):
#   discovery, jwks      GET the provider metadata, the JWK set
#   flow                 complete authorisation-code flows with PKCE (each
#                        server's own front channel: Tessera's authorisation
#                        session API, the peer's interaction routes; then
#                        token and UserInfo)
#   refresh              refresh_token grants, rotating the token
#   client_credentials   named and skipped with the driver's note until
#                        Tessera has the grant
# with ES256 ID tokens, then flow and refresh again with RS256 ID tokens
# (both servers restarted). Each workload runs at each concurrency, in
# rounds that alternate the servers (Tessera, peer, Tessera, peer, ...);
# each run warms up for 0.5 s, then measures for BENCH_SECONDS. The report
# (tests/bench/compare-report.mjs) takes the median of the rounds of each
# figure: operations/s, p50/p99 latency, server CPU per operation (from
# /proc/<pid>/stat over the measured window, every thread of the process)
# and the driver's own CPU per operation, and the ratio Tessera / peer;
# then RSS of each server at idle (after start) and its peak (VmHWM) after
# all the runs. It prints the tables and writes build/bench/compare.md
# (the same tables) and build/bench/compare.svg (throughput against
# concurrency, one panel per workload); build/bench/compare-runs.txt keeps
# every run's line.
# Tessera runs one release worker on the memory store; the peer is one Node
# process with its in-memory adapter. The driver and each server share the
# 2 cores.
#   BENCH_SECONDS      measured seconds of each run (default 1)
#   BENCH_ROUNDS       rounds per workload and concurrency (default 3)
#   BENCH_CONCURRENCY  the concurrencies (default "1 4 16 64")
#   BENCH_SERVER_BIN   the server binary (default build/release/tessera)
set -eu
cd "$(dirname "$0")/../.."
secs=${BENCH_SECONDS:-1}
rounds=${BENCH_ROUNDS:-3}
concurrency=${BENCH_CONCURRENCY:-1 4 16 64}
warmup=0.5
load=build/release/tests/bench_load
out=build/bench
. tests/bench/lib.sh

[[ $secs =~ ^[0-9]+(\.[0-9]+)?$ ]] || { echo "BENCH_SECONDS: a number of seconds"; exit 1; }
[[ $rounds =~ ^[1-9][0-9]*$ ]] || { echo "BENCH_ROUNDS: a positive integer"; exit 1; }
[[ $concurrency =~ ^[1-9][0-9]*( +[1-9][0-9]*)*$ ]] ||
    { echo "BENCH_CONCURRENCY: positive integers separated by spaces"; exit 1; }
[ -x "$load" ] || { echo "$load missing (make bench-compare builds it)"; exit 1; }
[ -d tests/bench/compare/node_modules ] ||
    { echo "run npm ci in tests/bench/compare first (make bench-compare does)"; exit 1; }
bench_setup tessera-bench-compare server_pid peer_pid
mkdir -p "$out"
runs=$out/compare-runs.txt
peer_version=$(cd tests/bench/compare && node -p 'require("oidc-provider/package.json").version')
{
    echo "title Tessera (release, one worker, memory store) vs oidc-provider $peer_version" \
        "(node $(node --version), in-memory adapter)"
    echo "setup rounds=$rounds seconds=$secs warmup=$warmup concurrency=${concurrency// /,}" \
        "cpus=$(nproc)"
} >"$runs"

# start_peer [ENV=VALUE...]: oidc-provider on a free port -> $peer_pid,
# $peer (stops the one started before).
start_peer() {
    [ -n "$peer_pid" ] && { kill "$peer_pid"; wait "$peer_pid" 2>/dev/null || true; }
    env "$@" node tests/bench/compare/server.js >"$tmp/peer.log" 2>&1 &
    peer_pid=$!
    local p
    p=$(wait_port "$tmp/peer.log" 's/^ready on 127\.0\.0\.1:\([0-9]*\)$/\1/p')
    [ -n "$p" ] || { echo "oidc-provider did not start:"; cat "$tmp/peer.log"; exit 1; }
    peer="http://127.0.0.1:$p"
}

# start_both ALG: Tessera and the peer, each on its own free port, with ALG
# ID tokens for the demo client (and ALG JWT access tokens at Tessera)
# -> $tessera, $peer and their idle RSS
# (memory ALG ... in $runs after the load).
start_both() {
    node -e 'const [file, alg] = process.argv.slice(1);
        const clients = require(file).map((c) => c.client_id === "demo-client"
            ? { ...c, id_token_signed_response_alg: alg } : c);
        console.log(JSON.stringify(clients));' "$PWD/examples/clients.json" "$1" \
        >"$tmp/clients.json"
    # Discovery and the ID token name the issuer: give the worker its own.
    # Its JWT access tokens are signed with ALG too.
    start_server TESSERA_OP_REG_CLIENTS_FILE="$tmp/clients.json"
    start_server TESSERA_OP_ISSUER="http://127.0.0.1:$port" TESSERA_HTTP_PORT="$port" \
        TESSERA_OP_REG_CLIENTS_FILE="$tmp/clients.json" \
        TESSERA_AUTHZ_STORE_ACCESS_TOKEN_JWS_ALG="$1"
    tessera="http://127.0.0.1:$port"
    start_peer ID_TOKEN_ALG="$1"
    idle_t=$(rss "$server_pid")
    idle_p=$(rss "$peer_pid")
}

# memory ALG: the servers' idle RSS, now and peak (KiB) -> $runs.
memory() {
    echo "memory alg=$1 server=tessera idle=$idle_t now=$(rss "$server_pid")" \
        "peak=$(rss "$server_pid" VmHWM)" >>"$runs"
    echo "memory alg=$1 server=oidc-provider idle=$idle_p now=$(rss "$peer_pid")" \
        "peak=$(rss "$peer_pid" VmHWM)" >>"$runs"
}

# drive CASE SERVER PID URL WORKLOAD CONCURRENCY ROUND: one run of the
# driver; its line goes to $runs, prefixed with the case and the round.
# Returns 1 (and says so) when the driver skipped the workload.
drive() {
    local line
    line=$("$load" -s "$2" -c "$6" -d "$secs" -w "$warmup" -p "$3" "$5" "$4" 2>"$tmp/load.err") ||
        { echo "bench_load failed ($2 $5, $6 workers):"; cat "$tmp/load.err"
          tail -5 "$tmp/server.log" "$tmp/peer.log"; exit 1; }
    echo "case=$1 round=$7 $line" >>"$runs"
    [[ $line != *" skipped="* ]] || { echo " skipped"; return 1; }
}

# workloads ALG WORKLOAD...: each workload at each concurrency, the rounds
# alternating the servers (A B A B ...), printing the concurrencies done;
# a skipped workload stops at its first run.
workloads() {
    local alg=$1 w c r
    shift
    for w in "$@"; do
        printf '    %-20s' "$w"
        for c in $concurrency; do
            for r in $(seq "$rounds"); do
                drive "$w-$alg" tessera "$server_pid" "$tessera" "$w" "$c" "$r" || continue 3
                drive "$w-$alg" oidc-provider "$peer_pid" "$peer" "$w" "$c" "$r"
            done
            printf ' %s' "$c"
        done
        echo
    done
}

es256="discovery jwks flow refresh client_credentials"
rs256="flow refresh"
runtime=$(awk -v s="$secs" -v w="$warmup" -v r="$rounds" -v n="$(wc -w <<<"$concurrency")" \
    -v k="$(wc -w <<<"$es256 $rs256")" 'BEGIN {printf "%.0f", (k - 1) * n * r * 2 * (s + w + 0.1)}')
echo "== bench-compare: $rounds rounds of $secs s at concurrency ${concurrency// /,}" \
    "(about $((runtime / 60 + 1)) min)"
start_both ES256
echo "  ES256 ID tokens"
workloads ES256 $es256
memory ES256
start_both RS256
echo "  RS256 ID tokens"
workloads RS256 $rs256
memory RS256
node tests/bench/compare-report.mjs "$runs" "$out/compare.md" "$out/compare.svg"
