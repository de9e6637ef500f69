#!/usr/bin/env bash
# Runs every test suite and closes with one line "N passed, N failed".
#   1. C unit tests (ASan + UBSan builds in build/asan/tests)
#   2. short libFuzzer runs of each target in build/fuzz, from its corpus
#   3. integration tests (Node's test runner) against the real server and a
#      real redis-server, with openid-client and jose from the lockfile
# FUZZ_SECONDS sets the length of each fuzz run (default 20).
set -u
cd "$(dirname "$0")/.."
passed=0
failed=0
failures=()
log_dir=$(mktemp -d /tmp/tessera-tests.XXXXXX)
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

count() { # $1 = "N passed, N failed" line, $2 = suite name
    local p f
    p=$(sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed.*/\1/p' <<<"$1")
    f=$(sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed.*/\2/p' <<<"$1")
    passed=$((passed + ${p:-0}))
    failed=$((failed + ${f:-0}))
    if [ "${f:-0}" != 0 ] || [ -z "$p" ]; then
        failures+=("$2")
        [ -z "$p" ] && failed=$((failed + 1))
    fi
}

echo "== unit tests"
for t in build/asan/tests/test_*; do
    [ -x "$t" ] || continue
    name=$(basename "$t")
    out=$("$t" 2>"$log_dir/$name.err")
    grep -v '^ok ' <<<"$out" | grep -v 'passed, ' || true
    last=$(tail -n 1 <<<"$out")
    echo "$name: $last"
    count "$last" "$name"
    if grep -q '^FAIL' <<<"$out"; then sed 's/^/    /' "$log_dir/$name.err" | tail -n 40; fi
done

echo "== fuzz (${FUZZ_SECONDS:-20} s each)"
for f in build/fuzz/fuzz_*; do
    [ -x "$f" ] || continue
    name=$(basename "$f")
    corpus=$(mktemp -d "$log_dir/$name.corpus.XXXX")
    cp -r "tests/fuzz/corpus/${name#fuzz_}/." "$corpus/" 2>/dev/null || true
    dict=()
    [ -f "tests/fuzz/${name#fuzz_}.dict" ] && dict=(-dict="tests/fuzz/${name#fuzz_}.dict")
    if "$f" -max_total_time="${FUZZ_SECONDS:-20}" -rss_limit_mb=2048 -print_final_stats=1 \
        "${dict[@]}" "$corpus" \
        >"$log_dir/$name.log" 2>&1; then
        echo "$name: ok ($(grep -o 'stat::number_of_executed_units: [0-9]*' "$log_dir/$name.log" \
            | awk '{print $2}') runs)"
        count "1 passed, 0 failed" "$name"
    else
        echo "$name: FAILED"; tail -n 30 "$log_dir/$name.log" | sed 's/^/    /'
        count "0 passed, 1 failed" "$name"
    fi
done

echo "== integration tests"
if [ -d tests/integration ]; then
    (cd tests/integration && { [ -d node_modules ] || npm ci --no-audit --no-fund >/dev/null; }) \
        || { echo "npm ci failed"; failed=$((failed + 1)); failures+=("npm ci"); }
    out=$(cd tests/integration && node --test --test-concurrency=1 --test-reporter=tap \
          test/*.test.js 2>&1)
    grep -E '^(not ok|# )' <<<"$out" | grep -vE '^# (Subtest|tests|suites|cancelled|skipped|todo|duration_ms)' || true
    if grep -q '^not ok' <<<"$out"; then
        sed 's/^/    /' <<<"$out" | grep -A30 -E 'not ok' | head -n 120
    fi
    p=$(sed -n 's/^# pass \([0-9]*\)/\1/p' <<<"$out" | tail -n 1)
    f=$(sed -n 's/^# fail \([0-9]*\)/\1/p' <<<"$out" | tail -n 1)
    count "${p:-0} passed, ${f:-1} failed" "integration"
fi

rm -rf "$log_dir"
[ ${#failures[@]} -gt 0 ] && echo "failing suites: ${failures[*]}"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
