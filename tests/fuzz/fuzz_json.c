/*
 * tests/fuzz/fuzz_json.c - libFuzzer target for core/base/op_json.c and
 * core/base/op_json_w.c.
 *
 * Each input is parsed with the default limits in a fresh arena. When it
 * parses, the tree is written back (compact or pretty) and the output
 * re-parsed: that must succeed and give the same tree. The re-parse keeps
 * the depth and member limits but not the byte limit, since indentation
 * may make the output longer than the input. Any failure aborts.
 *
 *   make build/fuzz/fuzz_json
 *   build/fuzz/fuzz_json -dict=tests/fuzz/json.dict CORPUS_COPY
 */
#include <stdlib.h>
#include <string.h>

#include "core/base/op.h"
#include "tests/unit/op_test_json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const op_json_limits_t relim = {SIZE_MAX, op_json_default_limits.max_depth,
                                    op_json_default_limits.max_members};
    op_arena_t *a = op_arena_new(4u << 20);
    op_json_t *v = NULL, *v2 = NULL;
    op_json_w_t *w;
    const char *out = NULL;
    size_t len = 0;
    op_err_t err;

    if (a == NULL)
        return 0;
    op_err_clear(&err);
    int rc = op_json_parse(a, (const char *)data, size, NULL, &v, &err);
    if (rc != OP_OK) {
        /* Failures are clean: no tree, a described error of a known kind. */
        if (v != NULL || err.code != rc || err.description[0] == '\0' ||
            (rc != OP_EINVAL && rc != OP_ETOOBIG))
            abort();
        goto cleanup_arena;
    }
    w = op_json_w_new(a, size % 2 == 1);
    if (w == NULL)
        abort();
    op_json_w_value(w, v);
    if (op_json_w_finish(w, &out, &len, &err) != OP_OK || strlen(out) != len)
        abort();
    if (op_json_parse(a, out, len, &relim, &v2, &err) != OP_OK || !op_test_json_equal(v, v2))
        abort();
cleanup_arena:
    op_arena_free(a);
    return 0;
}
