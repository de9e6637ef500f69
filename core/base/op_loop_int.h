/*
 * core/base/op_loop_int.h - what the loop shares with op_call.c: the node
 * of its deferred-call queue, which an op_call_t embeds so that delivering
 * a completion never allocates.
 */
#ifndef OP_LOOP_INT_H
#define OP_LOOP_INT_H

#include <stdbool.h>

#include "core/base/op_list.h"
#include "core/base/op_loop.h"

/* A deferred call. Nodes are either allocated by op_loop_defer (freed after
 * running) or embedded in an op_call_t (never freed by the loop). */
typedef struct op_loop_node {
    op_list_t link;
    op_fn_t fn;
    void *arg;
    bool heap;
} op_loop_node_t;

/* Queue n to run on the loop's next pass. n stays the caller's until it ran
 * (or, for heap nodes, until the loop freed it). */
void op_loop_enqueue(op_loop_t *loop, op_loop_node_t *n);

#endif
