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
# Lists are core/base/op_list.h's; the plugins have only spi/op_spi.h and keep their own.
if grep -nE '(->|\.)prev\b' $(grep -vE '^(core/base/op_list\.h|tests/unit/base/test_op_list\.c|examples/plugins/)' <<<"$src"); then
    echo "lint: a hand-written list above (use core/base/op_list.h)"
    rc=1
fi
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
# Names (docs/architecture.md): what a .c file exports starts with the file's
# name, and each exported function's prototype is in the header of its file,
# of its file group (op_config.h for op_config_props.c) or in the module's
# *_int.h. Exports are found in the sources: a top-level definition that is
# not static (a function whose "{" opens its own line, or a variable with an
# initialiser). Exceptions: main, and op_spi_entry, the plugin ABI's entry
# point that every plugin defines. In spi/, op_spi_host.h is the header of
# the server side (op_spi.h is the plugin ABI and declares no function).
exports() { # FILE... -> "file name kind" per exported definition
    awk '
    FNR == 1 { pend = "" }
    /^\{/ { if (pend != "") print FILENAME, pend, "fn"; pend = ""; next }
    /^[ \t]/ { if ($0 ~ /;[ \t]*$/) pend = ""; next }
    /^(static|typedef|extern|struct|enum|union|#)/ || /^[}\/*]/ || /^$/ { pend = ""; next }
    /^[A-Za-z_]/ {
        line = $0; pend = ""
        if (match(line, /^[^(=]*[^A-Za-z0-9_(=]([A-Za-z_][A-Za-z0-9_]*)(\[[^]]*\])* = /)) {
            v = substr(line, 1, RLENGTH); sub(/(\[[^]]*\])* = $/, "", v)
            sub(/.*[^A-Za-z0-9_]/, "", v); print FILENAME, v, "var"; next
        }
        if (match(line, /[A-Za-z_][A-Za-z0-9_]*\(/) && line !~ /;[ \t]*$/)
            pend = substr(line, RSTART, RLENGTH - 1)
    }' "$@"
}
named_src=$(git ls-files 'core/*.c' 'http/*.c' 'spi/*.c' 'storage/*.c' 'keys/*.c' 'examples/*.c')
while read -r file name kind; do
    case $name in main | op_spi_entry) continue ;; esac
    base=$(basename "$file" .c)
    if [ "${name#"$base"}" = "$name" ] || { [ "$name" != "$base" ] && [ "${name:${#base}:1}" != _ ]; }; then
        echo "$file: exports $name: not named after the file ($base*)"
        rc=1
        continue
    fi
    [ "$kind" = fn ] || continue
    dir=$(dirname "$file") found=""
    for h in "$dir"/*.h; do
        hb=$(basename "$h" .h)
        case $h in
        *_int.h | spi/op_spi_host.h) ;;
        *) case $base in "$hb" | "$hb"_*) ;; *) continue ;; esac ;;
        esac
        if grep -qP "\b$name\s*\(" "$h"; then found=1 && break; fi
    done
    if [ -z "$found" ]; then
        echo "$file: $name: no prototype in $dir/$base.h, its group's header or a *_int.h"
        rc=1
    fi
done < <(exports $named_src)
# Flows (docs/architecture.md "Async contract", the flow dialect): a flow's
# state changes in its steps only. The steps of a file are the function each
# of its flow definitions (op_flow_def_t) names as its step, and every
# function that a case of that function's switch returns (case S: / return
# op_x_y(f);). Each op_flow_set_state call and each assignment to a state
# member in core/flows/*.c and in the example login page's flow
# (examples/login-page/*.c, the same runtime) must be in a step of its own
# file: not in a helper, a completion or a macro.
flow_steps() { # FILE... -> "file:line: what" per state change outside a step
    awk '
    FNR == 1 { fn = ""; pend = ""; prev = ""; indef = 0 }
    indef || /op_flow_def_t [A-Za-z_][A-Za-z0-9_]* = [{]/ {
        indef = 1; init = init " " $0
        if ($0 ~ /[}];/) {
            indef = 0; sub(/^[^{]*[{]/, "", init); sub(/[}].*/, "", init)
            if (match(init, /\.step = [A-Za-z_][A-Za-z0-9_]*/))
                step = substr(init, RSTART + 8, RLENGTH - 8)
            else { split(init, v, ","); step = v[4] }
            gsub(/[ \t]/, "", step); isdef[FILENAME SUBSEP step] = 1; init = ""
        }
    }
    /^[A-Za-z_]/ && !/;[ \t]*$/ && match($0, /[A-Za-z_][A-Za-z0-9_]*\(/) {
        pend = substr($0, RSTART, RLENGTH - 1)
    }
    /^[{]/ { fn = pend; pend = "" }
    /^[}]/ { fn = "" }
    /^[ \t]*(\/\*|\*)/ { next }
    fn != "" && prev ~ /^[ \t]*(case .*|default):/ &&
        match($0, /^[ \t]*return [A-Za-z_][A-Za-z0-9_]*\(/) {
        s = substr($0, RSTART, RLENGTH - 1); sub(/^[ \t]*return /, "", s)
        cases[FILENAME SUBSEP fn] = cases[FILENAME SUBSEP fn] " " s " "
    }
    /op_flow_set_state\(|(->|\.)state[ \t]*=[^=]/ {
        nuse++; ufile[nuse] = FILENAME; uline[nuse] = FNR; ufn[nuse] = fn
    }
    NF { prev = $0 }
    END {
        for (k in isdef) {
            split(k, p, SUBSEP); isstep[k] = 1; n = split(cases[k], c, " ")
            for (i = 1; i <= n; i++) isstep[p[1] SUBSEP c[i]] = 1
        }
        for (i = 1; i <= nuse; i++) {
            if (ufn[i] == "")
                print ufile[i] ":" uline[i] ": a state change outside a function (a macro?)"
            else if (!((ufile[i] SUBSEP ufn[i]) in isstep))
                print ufile[i] ":" uline[i] ": a state change in " ufn[i] ", not a step"
        }
    }' "$@"
}
bad_steps=$(flow_steps $(git ls-files 'core/flows/*.c' 'examples/login-page/*.c'))
if [ -n "$bad_steps" ]; then
    echo "$bad_steps"
    echo "lint: only a flow's steps change its state (docs/architecture.md)"
    rc=1
fi
if command -v clang-format >/dev/null; then
    n=$(clang-format --dry-run $src 2>&1 | grep -c 'warning:' || true)
    if [ "$n" != 0 ]; then
        echo "lint: clang-format would change $n places (clang-format -i to apply)"
        rc=1
    fi
fi
[ $rc = 0 ] && echo "lint: ok"
exit $rc
