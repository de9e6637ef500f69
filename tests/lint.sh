#!/usr/bin/env bash
# make lint: banned functions, C++ comments, long lines, and the tree formatted
# as .clang-format says (clang-format -i applies it).
set -u
cd "$(dirname "$0")/.."
rc=0
src=$(git ls-files '*.c' '*.h')
banned='\b(strcpy|strcat|sprintf|vsprintf|strtok|atoi|atol|sscanf|gets)\s*\('
if grep -nE "$banned" $src; then echo "lint: banned functions above"; rc=1; fi
if grep -nE '^\s*//|[;{}]\s*//' $src; then echo "lint: use /* */ comments"; rc=1; fi
if awk 'length > 100 {print FILENAME ":" FNR ": line over 100 columns"; bad=1} END {exit bad}' $src; then :; else rc=1; fi
if command -v clang-format >/dev/null; then
    n=$(clang-format --dry-run $src 2>&1 | grep -c 'warning:' || true)
    if [ "$n" != 0 ]; then
        echo "lint: clang-format would change $n places (clang-format -i to apply)"
        rc=1
    fi
fi
[ $rc = 0 ] && echo "lint: ok"
exit $rc
