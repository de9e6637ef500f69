/*
 * core/base/op_strs.c - a set of strings in an arena, kept in the order
 * they were added. See core/base/op_strs.h.
 */
#include <string.h>

#include "core/base/op.h"

bool op_strs_has(const op_strs_t *l, const char *s)
{
    for (size_t i = 0; i < l->n; i++) {
        if (strcmp(l->items[i], s) == 0)
            return true;
    }
    return false;
}

int op_strs_add(op_arena_t *a, op_strs_t *l, const char *s)
{
    if (op_strs_has(l, s))
        return OP_OK;
    const char **items =
        op_arena_realloc(a, l->items, l->n * sizeof(*items), (l->n + 1) * sizeof(*items));
    char *copy = op_arena_strdup(a, s);
    if (items == NULL || copy == NULL)
        return OP_ETOOBIG;
    items[l->n++] = copy;
    l->items = items;
    return OP_OK;
}

int op_strs_from_json(op_arena_t *a, const op_json_t *arr, op_strs_t *out)
{
    out->items = NULL;
    out->n = 0;
    if (arr == NULL || arr->type == OP_JSON_NULL)
        return OP_OK;
    if (arr->type != OP_JSON_ARRAY)
        return OP_EINVAL;
    for (size_t i = 0; i < arr->u.arr.n; i++) {
        const op_json_t *v = arr->u.arr.items[i];
        if (v->type != OP_JSON_STRING)
            return OP_EINVAL;
        int rc = op_strs_add(a, out, v->u.str.s);
        if (rc != OP_OK)
            return rc;
    }
    return OP_OK;
}

void op_strs_write(op_json_w_t *w, const op_strs_t *l)
{
    op_json_w_arr_open(w);
    for (size_t i = 0; i < l->n; i++)
        op_json_w_str(w, l->items[i]);
    op_json_w_arr_close(w);
}
