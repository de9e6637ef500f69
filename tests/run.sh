#!/usr/bin/env bash
# Runs every test suite and closes with one line "N passed, N failed". It exits
# 0 only when every suite exited 0, ran exactly the number of tests that
# tests/expected-counts lists for it, and every one of them passed.
#   unit         C unit tests (ASan + UBSan builds in build/asan/tests): each
#                binary must exit 0, close with "N passed, 0 failed" and leave
#                no sanitizer report
#   fuzz         short libFuzzer runs of each target in build/fuzz, from its
#                corpus; crashing inputs are kept in build/fuzz-artifacts/
#   integration  each file of tests/integration/test under Node's test runner
#                against the real server and a real redis-server: exit 0, and
#                no failed, cancelled, skipped or todo test (a failing hook
#                fails the file and cancels the tests it guards)
#
# Usage: tests/run.sh [--update-counts] [unit] [fuzz] [integration]
#   Parts named run alone (default: all three). --update-counts writes the
#   counts of the suites that ran into tests/expected-counts (when nothing
#   else failed); review the diff before committing it.
# Environment: FUZZ_SECONDS (each fuzz run, default 20), TEST_TIMEOUT_MS (each
# integration test and hook, default 120000), FILE_TIMEOUT (each integration
# file, s, default 300), RUN_TIMEOUT (the whole run, s, default 1800: every
# step gets at most what is left of it, so a late step fails as timed out).
# Logs of the last run: build/test-logs/.
set -u
cd "$(dirname "$0")/.."

update=false
parts=()
for arg in "$@"; do
    case $arg in
    --update-counts) update=true ;;
    unit | fuzz | integration) parts+=("$arg") ;;
    *) echo "usage: tests/run.sh [--update-counts] [unit] [fuzz] [integration]" >&2; exit 2 ;;
    esac
done
[ ${#parts[@]} -eq 0 ] && parts=(unit fuzz integration)

FUZZ_SECONDS=${FUZZ_SECONDS:-20}
FILE_TIMEOUT=${FILE_TIMEOUT:-300}
deadline=$((SECONDS + ${RUN_TIMEOUT:-1800}))
COUNTS=tests/expected-counts
SANITIZER_REPORT='ERROR: (Address|Leak)Sanitizer|runtime error:|SUMMARY: [A-Za-z]*Sanitizer'
log_dir=build/test-logs
rm -rf "$log_dir"
mkdir -p "$log_dir"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

passed=0
failed=0
failures=() # suites that failed, for the closing lines
declare -A expected=() ran=()
if [ -f "$COUNTS" ]; then
    while read -r name n _; do
        case $name in '' | '#'*) continue ;; esac
        expected[$name]=$n
    done <"$COUNTS"
fi

# bounded S CMD...: CMD with at most S seconds, or what is left of the run
# (status 124 when it ran out), in a process group of its own: whatever it
# leaves running (a server of a test file that was stopped) is killed when
# it returns, and Ctrl-C ends the group.
step=""
bounded() {
    local s=$1 left=$((deadline - SECONDS)) rc
    shift
    [ "$left" -lt "$s" ] && s=$left
    [ "$s" -lt 1 ] && s=1
    setsid timeout -k 10 "$s" "$@" &
    step=$!
    wait "$step"
    rc=$?
    kill -KILL -- "-$step" 2>/dev/null
    step=""
    return "$rc"
}
exec 3>&1 # the run's output, for the trap (it may run inside a step's redirection)
trap '[ -n "$step" ] && kill -TERM -- "-$step" 2>/dev/null; echo "tests/run.sh: interrupted" >&3
      exit 130' INT TERM

# suite_fail NAME REASON [NFAILED]: NAME failed; the closing line counts
# NFAILED failures for it (at least one).
suite_fail() {
    local n=${3:-1}
    echo "$1: FAILED: $2"
    failures+=("$1")
    [ "$n" -gt 0 ] || n=1
    failed=$((failed + n))
}

# check_count NAME N: NAME ran N tests; compare with tests/expected-counts
# (with --update-counts a difference is only reported: the file is
# rewritten at the end if nothing else failed).
check_count() {
    ran[$1]=$2
    local want=${expected[$1]:-} why
    [ "$want" = "$2" ] && return 0
    if [ -z "$want" ]; then
        why="not in $COUNTS (ran $2 tests; tests/run.sh --update-counts adds it)"
    else
        why="expected $want tests, ran $2 (tests/run.sh --update-counts if intended)"
    fi
    if $update; then
        echo "$1: $2 tests, was ${want:-not listed}"
        return 0
    fi
    suite_fail "$1" "$why"
    return 1
}

# tap_count FILE NAME: the number after "# NAME" in Node's closing summary.
tap_count() {
    sed -n "s/^# $2 \([0-9][0-9]*\)\$/\1/p" "$1" | tail -n 1
}

run_unit() {
    echo "== unit tests"
    mkdir -p "$log_dir/unit"
    local src name bin out err rc summary p f
    for src in tests/unit/*/test_*.c; do
        name=${src#tests/unit/}
        name=${name%.c}
        bin=build/asan/tests/$name
        out=$log_dir/unit/${name//\//.}.out
        err=$log_dir/unit/${name//\//.}.err
        if [ ! -x "$bin" ]; then
            suite_fail "unit/$name" "$bin is not built"
            continue
        fi
        bounded 900 "$bin" >"$out" 2>"$err"
        rc=$?
        grep '^FAIL' "$out"
        summary=$(tail -n 1 "$out")
        p=$(sed -n 's/^\([0-9][0-9]*\) passed, \([0-9][0-9]*\) failed$/\1/p' <<<"$summary")
        f=$(sed -n 's/^\([0-9][0-9]*\) passed, \([0-9][0-9]*\) failed$/\2/p' <<<"$summary")
        passed=$((passed + ${p:-0}))
        local why=""
        if [ -z "$p" ]; then
            why="no closing \"N passed, N failed\" line (died early?)"
        elif [ "$f" != 0 ]; then
            why="$f failed"
        fi
        if [ "$rc" = 124 ]; then
            why="${why:+$why; }timed out"
        elif [ "$rc" != 0 ]; then
            why="${why:+$why; }exit status $rc"
        fi
        if grep -qE "$SANITIZER_REPORT" "$err"; then
            why="${why:+$why; }sanitizer report"
        fi
        if [ -n "$why" ]; then
            suite_fail "unit/$name" "$why" "${f:-1}"
            sed 's/^/    /' "$err" | tail -n 40
            continue
        fi
        check_count "unit/$name" "$((p + f))" && echo "unit/$name: $summary"
    done
}

run_fuzz() {
    echo "== fuzz ($FUZZ_SECONDS s each)"
    mkdir -p "$log_dir/fuzz" build/fuzz-artifacts
    local src name bin corpus dict
    for src in tests/fuzz/fuzz_*.c; do
        name=$(basename "$src" .c)
        bin=build/fuzz/$name
        if [ ! -x "$bin" ]; then
            suite_fail "fuzz/$name" "$bin is not built"
            continue
        fi
        # New inputs go to a scratch copy of the corpus, never into tests/.
        corpus=$log_dir/fuzz/$name.corpus
        mkdir -p "$corpus"
        cp -r "tests/fuzz/corpus/${name#fuzz_}/." "$corpus/" 2>/dev/null || true
        dict=()
        [ -f "tests/fuzz/${name#fuzz_}.dict" ] && dict=(-dict="tests/fuzz/${name#fuzz_}.dict")
        if bounded $((FUZZ_SECONDS + 120)) "$bin" -max_total_time="$FUZZ_SECONDS" \
            -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
            -artifact_prefix="build/fuzz-artifacts/$name-" "${dict[@]}" "$corpus" \
            >"$log_dir/fuzz/$name.log" 2>&1; then
            echo "fuzz/$name: ok ($(grep -o 'stat::number_of_executed_units: [0-9]*' \
                "$log_dir/fuzz/$name.log" | awk '{print $2}') runs)"
            passed=$((passed + 1))
        else
            local input
            input=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log_dir/fuzz/$name.log")
            suite_fail "fuzz/$name" "${input:+the input is in $input; }log $log_dir/fuzz/$name.log"
            tail -n 30 "$log_dir/fuzz/$name.log" | sed 's/^/    /'
        fi
    done
}

run_integration() {
    echo "== integration tests"
    mkdir -p "$log_dir/integration"
    if [ ! -d tests/integration/node_modules ]; then
        (cd tests/integration && npm ci --no-audit --no-fund >/dev/null) || {
            suite_fail "npm ci" "tests/integration/node_modules could not be installed"
            return
        }
    fi
    local file name tap rc tests pass fail cancelled skipped todo hooks bad why
    for file in tests/integration/test/*.test.js; do
        name=integration/$(basename "$file")
        tap=$log_dir/$name.tap
        if grep -qE "from 'node:test'|require\('node:test'\)" "$file"; then
            suite_fail "$name" "imports node:test; take test, describe, before, after from \
'../lib/test.js' (a deadline on every test and hook)"
            continue
        fi
        bounded $((FILE_TIMEOUT + 60)) env -C tests/integration node --test --test-reporter=tap \
            --test-timeout=$((FILE_TIMEOUT * 1000)) "test/${file##*/}" >"$tap" 2>&1
        rc=$?
        tests=$(tap_count "$tap" tests)
        pass=$(tap_count "$tap" pass)
        fail=$(tap_count "$tap" fail)
        cancelled=$(tap_count "$tap" cancelled)
        skipped=$(tap_count "$tap" skipped)
        todo=$(tap_count "$tap" todo)
        hooks=$(grep -c "failureType: 'hookFailed'" "$tap")
        passed=$((passed + ${pass:-0}))
        bad=$((${fail:-0} + ${cancelled:-0} + ${skipped:-0} + ${todo:-0} + hooks))
        why=""
        [ -z "$tests" ] && why="no closing summary"
        [ "${fail:-0}" != 0 ] && why="${why:+$why; }$fail failed"
        [ "${cancelled:-0}" != 0 ] && why="${why:+$why; }$cancelled cancelled"
        [ "${skipped:-0}" != 0 ] && why="${why:+$why; }$skipped skipped"
        [ "${todo:-0}" != 0 ] && why="${why:+$why; }$todo todo"
        [ "$hooks" != 0 ] && why="${why:+$why; }$hooks hooks failed"
        if [ "$rc" = 124 ]; then
            why="${why:+$why; }timed out"
        elif [ "$rc" != 0 ]; then
            why="${why:+$why; }exit status $rc"
        fi
        if [ -n "$why" ]; then
            suite_fail "$name" "$why" "$bad"
            # Each "not ok" with its details, without the stack; skipped, todo.
            awk '/^ *ok .* # (SKIP|TODO)/ { print }
                 /^ *not ok/ { p = 1; s = 0 } p && /^ *stack: \|-$/ { s = 1; next }
                 p && /^ *\.\.\.$/ { print; p = 0; next } p && !s' "$tap" |
                sed 's/^/    /' | head -n 150
            continue
        fi
        check_count "$name" "$tests" && echo "$name: $pass passed"
    done
}

for part in "${parts[@]}"; do "run_$part"; done

# A suite listed but not found (deleted, renamed, not built) ran no test.
declare -A prefix=([unit]=unit/ [fuzz]=fuzz/ [integration]=integration/)
for name in "${!expected[@]}"; do
    for part in "${parts[@]}"; do
        if [[ $name == "${prefix[$part]}"* ]] && [ -z "${ran[$name]:-}" ] &&
            [[ " ${failures[*]} " != *" $name "* ]]; then
            if $update; then
                echo "$name: no such suite, dropped from $COUNTS"
            else
                suite_fail "$name" "expected ${expected[$name]} tests, ran 0 (no such suite)"
            fi
        fi
    done
done

if $update && [ ${#failures[@]} -eq 0 ]; then
    # The parts that ran replace their lines; the others keep theirs.
    declare -A next=()
    for name in "${!expected[@]}"; do
        for part in "${parts[@]}"; do [[ $name == "${prefix[$part]}"* ]] && continue 2; done
        next[$name]=${expected[$name]}
    done
    for name in "${!ran[@]}"; do next[$name]=${ran[$name]}; done
    {
        echo "# The number of tests each suite runs (unit: cases of a binary; integration:"
        echo "# tests of a file), checked by tests/run.sh so that a dropped test fails."
        echo "# Regenerate after adding or removing tests: tests/run.sh --update-counts"
        echo "# [unit] [integration]; then check that git diff shows only intended changes."
        for name in "${!next[@]}"; do echo "$name ${next[$name]}"; done | LC_ALL=C sort
    } >"$COUNTS"
    echo "updated $COUNTS (git diff $COUNTS)"
elif $update; then
    echo "$COUNTS not updated: fix the failures first"
fi

[ ${#failures[@]} -gt 0 ] && echo "failing suites: ${failures[*]}"
echo "$passed passed, $failed failed"
[ ${#failures[@]} -eq 0 ] && [ "$failed" -eq 0 ]
