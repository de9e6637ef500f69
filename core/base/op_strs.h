/*
 * core/base/op_strs.h - a set of strings in an arena (scope values, claim
 * names, audiences), in the order they were added.
 */
#ifndef OP_STRS_H
#define OP_STRS_H

#include <stdbool.h>
#include <stddef.h>

#include "core/base/op_arena.h"
#include "core/base/op_json.h"

/* A list of strings in an arena. */
typedef struct op_strs {
    const char **items;
    size_t n;
} op_strs_t;

/* Is s in the list? */
bool op_strs_has(const op_strs_t *l, const char *s);
/* Append s (copied) unless present. OP_ETOOBIG over the arena's cap. */
int op_strs_add(op_arena_t *a, op_strs_t *l, const char *s);
/* Read a JSON array of strings (NULL or absent -> empty). */
int op_strs_from_json(op_arena_t *a, const op_json_t *arr, op_strs_t *out);
void op_strs_write(op_json_w_t *w, const op_strs_t *l);

#endif
