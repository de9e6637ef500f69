/*
 * tests/unit/op_test_json.h - JSON tree comparison shared by the unit test
 * of the JSON reader and writer (test_op_json.c) and its fuzz target
 * (tests/fuzz/fuzz_json.c), both of which check that a tree written out
 * and parsed again comes back the same.
 */
#ifndef OP_TEST_JSON_H
#define OP_TEST_JSON_H

#include <stdbool.h>
#include <string.h>

#include "core/base/op.h"

/* Deep structural equality of two trees (keys in document order). Numbers
 * compare by their text (and their int64 value when they have one). */
static bool op_test_json_equal(const op_json_t *x, const op_json_t *y)
{
    if (x == NULL || y == NULL || x->type != y->type)
        return false;
    switch (x->type) {
    case OP_JSON_NUMBER:
        return strcmp(x->u.num.raw, y->u.num.raw) == 0 && x->u.num.is_int == y->u.num.is_int &&
               (!x->u.num.is_int || x->u.num.i == y->u.num.i);
    case OP_JSON_STRING:
        return x->u.str.len == y->u.str.len && memcmp(x->u.str.s, y->u.str.s, x->u.str.len) == 0;
    case OP_JSON_ARRAY:
        if (x->u.arr.n != y->u.arr.n)
            return false;
        for (size_t i = 0; i < x->u.arr.n; i++) {
            if (!op_test_json_equal(x->u.arr.items[i], y->u.arr.items[i]))
                return false;
        }
        return true;
    case OP_JSON_OBJECT:
        if (x->u.obj.n != y->u.obj.n)
            return false;
        for (size_t i = 0; i < x->u.obj.n; i++) {
            if (x->u.obj.key_lens[i] != y->u.obj.key_lens[i] ||
                strcmp(x->u.obj.keys[i], y->u.obj.keys[i]) != 0 ||
                !op_test_json_equal(x->u.obj.vals[i], y->u.obj.vals[i]))
                return false;
        }
        return true;
    default:
        return true;
    }
}

#endif
