#!/usr/bin/env bash
# make profile: where the server's CPU goes on the hot path.
# One worker of build/prof/tessera (the release flags plus frame pointers)
# on the demo configuration and the memory store, loaded in turn with:
#   discovery   GET /.well-known/openid-configuration (wrk -t1 -c16)
#   jwks        GET /jwks.json (wrk -t1 -c16)
#   es256       complete authorisation-code flows (node tests/bench/flow.js,
#               16 concurrent: POST session, PUT authentication, PUT
#               consent, token, UserInfo), ES256 ID and access tokens
#   refresh     refresh_token grants, ES256
#   rs256       the flows with RS256 ID and access tokens
# 1. Server CPU per operation (user + system, from /proc/<pid>/stat), each
#    the median of PROFILE_RUNS runs (default 3) of PROFILE_SECONDS
#    (default 3) after a one-second warm-up.
# 2. For each workload, one more run under `perf record -g --call-graph=fp`
#    of the worker, and the top PROFILE_TOP (default 15) of
#    `perf report --no-children` by shared object and by symbol.
# PROFILE_ONLY="es256 jwks" limits the workloads; PROFILE_PERF=0 skips (2);
# PROFILE_BIN profiles another build of the server (e.g. an older commit).
# Data is kept in $PROFILE_OUT (default build/prof/data) for perf report.
set -eu
cd "$(dirname "$0")/../.."
secs=${PROFILE_SECONDS:-3}
runs=${PROFILE_RUNS:-3}
top=${PROFILE_TOP:-15}
only=${PROFILE_ONLY:-discovery jwks es256 refresh rs256}
out=${PROFILE_OUT:-build/prof/data}
bin=${PROFILE_BIN:-build/prof/tessera}
. tests/bench/lib.sh
bench_setup tessera-profile server_pid perf_pid
mkdir -p "$out"
[ -x "$bin" ] || { echo "$bin is missing: run make profile"; exit 1; }
perf_ok=${PROFILE_PERF:-1}
if [ "$perf_ok" = 1 ] && ! command -v perf >/dev/null; then
    echo "perf is not installed (as root: apt-get install -y linux-perf); CPU figures only"
    perf_ok=0
fi

# prof_start ALG: the worker with ALG for ID and access tokens, on a free
# port, with its own issuer -> $server_pid, $base.
prof_start() {
    node -e 'const [file, alg] = process.argv.slice(1);
        const clients = require(file).map((c) => c.client_id === "demo-client"
            ? { ...c, id_token_signed_response_alg: alg } : c);
        console.log(JSON.stringify(clients));' "$PWD/examples/clients.json" "$1" \
        >"$tmp/clients.json"
    local p=0 issuer=()
    for _ in 1 2; do
        [ -n "$server_pid" ] && { kill "$server_pid"; wait "$server_pid" 2>/dev/null || true; }
        : >"$tmp/server.log"
        env TESSERA_HTTP_PORT="$p" "${issuer[@]}" \
            TESSERA_OP_REG_CLIENTS_FILE="$tmp/clients.json" \
            TESSERA_AUTHZ_STORE_ACCESS_TOKEN_JWS_ALG="$1" \
            "$bin" --config examples/tessera.properties >"$tmp/server.log" 2>&1 &
        server_pid=$!
        p=$(wait_port "$tmp/server.log" 's/.*ready: .* on [0-9.]*:\([0-9]*\) .*/\1/p')
        [ -n "$p" ] || { echo "server did not start:"; cat "$tmp/server.log"; exit 1; }
        issuer=(TESSERA_OP_ISSUER="http://127.0.0.1:$p")
    done
    base="http://127.0.0.1:$p"
}

# load WORKLOAD SECONDS: one run against $base; prints the operations done.
load() {
    case $1 in
        discovery | jwks)
            local path=/jwks.json
            [ "$1" = discovery ] && path=/.well-known/openid-configuration
            wrk -t1 -c16 -d"$2s" "$base$path" | awk '/requests in/ {print $1}'
            ;;
        es256 | rs256)
            node tests/bench/flow.js "$base" "$2" 16 flows | awk '$1 == "flows" {print $3}'
            ;;
        refresh)
            node tests/bench/flow.js "$base" "$2" 16 refresh | awk '$1 == "refresh" {print $3}'
            ;;
    esac
}

# per_op WORKLOAD: server CPU in microseconds per operation of one run.
per_op() {
    local c0 c1 n
    c0=$(cpu "$server_pid")
    n=$(load "$1" "$secs")
    c1=$(cpu "$server_pid")
    [ -n "$n" ] && [ "$n" -gt 0 ] || { echo "no operations ($1)" >&2; tail "$tmp/server.log" >&2; exit 1; }
    awk -v c0="$c0" -v c1="$c1" -v n="$n" 'BEGIN {printf "%.1f\n", (c1 - c0) * 1e6 / n}'
}

median() { sort -n | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}'; }

# report WORKLOAD: perf's top of the recorded run, by DSO and by symbol.
report() {
    local f="$out/$1.perf.data"
    echo "  -- $1: top $top by shared object (self)"
    perf report -i "$f" --no-children --sort dso --stdio -g none 2>/dev/null |
        grep -v '^#' | grep -v '^$' | head -n "$top" | sed 's/^/    /'
    echo "  -- $1: top $top by symbol (self)"
    perf report -i "$f" --no-children --sort dso,sym --stdio -g none 2>/dev/null |
        grep -v '^#' | grep -v '^$' | head -n "$top" | sed 's/^/    /'
}

echo "== server CPU per operation, us (median of $runs runs of ${secs}s; $bin)"
printf '  %-10s %10s   %s\n' workload median runs
for w in $only; do
    alg=ES256
    [ "$w" = rs256 ] && alg=RS256
    prof_start "$alg"
    load "$w" 1 >/dev/null
    vals=()
    for _ in $(seq "$runs"); do vals+=("$(per_op "$w")"); done
    printf '  %-10s %10s   %s\n' "$w" "$(printf '%s\n' "${vals[@]}" | median)" "${vals[*]}"
    if [ "$perf_ok" = 1 ]; then
        perf record -q -g --call-graph=fp -p "$server_pid" -o "$out/$w.perf.data" \
            >"$tmp/perf.log" 2>&1 &
        perf_pid=$!
        sleep 0.3
        load "$w" "$secs" >/dev/null
        kill -INT "$perf_pid"
        wait "$perf_pid" 2>/dev/null || true
        perf_pid=
        [ -s "$out/$w.perf.data" ] || { echo "  perf record failed:"; cat "$tmp/perf.log"; perf_ok=0; }
    fi
done
if [ "$perf_ok" = 1 ]; then
    echo "== perf record -g --call-graph=fp, one run of each (data in $out)"
    for w in $only; do report "$w"; done
fi
