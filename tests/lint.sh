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
# The layers (docs/architecture.md): what each folder may include.
#   core/base     only core/base            core/config  no proto, flows, server, http, spi
#   core/proto    no flows, server, http    core/server  no flows
#   http, spi, storage, keys: of core/, only core/base
#   spi/op_spi.h  nothing of the project (the plugin ABI stands alone)
layer_rule() { # FILE -> an ERE that its project includes must not match
    case $1 in
    core/base/*) echo '^(?!core/base/)' ;;
    core/config/*) echo '^(core/(proto|flows|server)|http|spi)/' ;;
    core/proto/*) echo '^(core/(flows|server)|http)/' ;;
    core/server/*) echo '^core/flows/' ;;
    spi/op_spi.h) echo '.' ;;
    http/* | spi/* | storage/* | keys/*) echo '^core/(?!base/)' ;;
    esac
}
for f in $src; do
    rule=$(layer_rule "$f")
    [ -n "$rule" ] || continue
    if grep -oP '^#\s*include\s+"\K[^"]+' "$f" | grep -qP "$rule"; then
        grep -nP '^#\s*include\s+"' "$f" | sed "s|^|$f:|" |
            while IFS= read -r line; do
                inc=$(sed -n 's/.*"\(.*\)".*/\1/p' <<<"$line")
                grep -qP "$rule" <<<"$inc" && echo "$line: include across the layers"
            done
        rc=1
    fi
done
if command -v clang-format >/dev/null; then
    n=$(clang-format --dry-run $src 2>&1 | grep -c 'warning:' || true)
    if [ "$n" != 0 ]; then
        echo "lint: clang-format would change $n places (clang-format -i to apply)"
        rc=1
    fi
fi
[ $rc = 0 ] && echo "lint: ok"
exit $rc
