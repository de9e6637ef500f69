/*
 * core/base/op_json_int.h - private to core/base/op_json.c (the reader),
 * the only file that includes yajl (the writer, core/base/op_json_w.c,
 * writes its output itself); no other file includes this header.
 *
 * The reader hands yajl an allocator over an arena (op_json_ya_t, implemented in
 * core/base/op_json.c): blocks come from the arena, or from malloc once the
 * arena is full, in which case failed is set and op_json_ya_release frees
 * them. The caller must check failed after every yajl call and fail the
 * operation with OP_ETOOBIG (the arena's cap).
 */
#ifndef OP_JSON_INT_H
#define OP_JSON_INT_H

#include <stdbool.h>
#include <stddef.h>

#include <yajl/yajl_common.h>

#include "core/base/op_arena.h"

/* In front of every block handed to yajl: its usable size (realloc must
 * know how much to copy) and, for malloc fallback blocks, the chain that
 * op_json_ya_release frees. The union keeps the payload aligned. */
typedef union op_json_yblk {
    struct {
        size_t size;
        union op_json_yblk *next; /* fallback chain; NULL in the arena */
        bool heap;
    } h;
    max_align_t align;
} op_json_yblk_t;

/* The ctx of yajl_alloc_funcs. failed: the arena refused at least once. */
typedef struct op_json_ya {
    op_arena_t *arena;
    op_json_yblk_t *heap;
    bool failed;
    yajl_alloc_funcs funcs;
} op_json_ya_t;

/* Point ya->funcs at the arena a (borrowed: it must outlive every yajl
 * handle made with ya->funcs). ya itself is the caller's. */
void op_json_ya_init(op_json_ya_t *ya, op_arena_t *a);

/* Free the malloc fallback blocks of the op_json_ya_t p; an
 * op_arena_cleanup_add callback, also called directly. Idempotent. */
void op_json_ya_release(void *p);

#endif
