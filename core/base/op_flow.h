/*
 * core/base/op_flow.h - the flow engine: explicit states, traced transitions.
 *
 * A flow is one request's state machine. Its definition names the states
 * and gives one step function:
 *
 *   static int my_step(op_flow_t *f) {
 *       switch (f->state) {
 *       case S_LOAD: start_store_get(f); return OP_AGAIN;   wait
 *       case S_CHECK: ...; op_flow_set_state(f, S_REPLY); return OP_OK;
 *       case S_REPLY: reply(f); return OP_DONE;
 *       }
 *   }
 *
 * op_flow_run() calls step until it returns OP_AGAIN (wait for a
 * completion) or OP_DONE (finished). A completion callback stores its
 * result in the flow, then calls op_flow_resume(), which schedules run from
 * the loop (never recursing into it) and drops the reference the operation
 * held. Start an async operation with op_flow_hold() so the flow outlives
 * it even when the reply has already gone out.
 *
 * The flow owns its arena; the arena and the flow go when the last
 * reference is dropped (the runner holds one until OP_DONE, every
 * operation in flight holds one).
 */
#ifndef OP_FLOW_H
#define OP_FLOW_H

#include <stdbool.h>

#include "core/base/op_arena.h"
#include "core/base/op_err.h"
#include "core/base/op_loop.h"

typedef struct op_flow op_flow_t;

typedef struct op_flow_def {
    const char *name;
    int nstates;
    const char *const *state_names; /* nstates entries */
    int (*step)(op_flow_t *f);      /* OP_OK (go on), OP_AGAIN, OP_DONE */
    void (*on_free)(op_flow_t *f);  /* optional, before the arena goes */
} op_flow_def_t;

struct op_flow {
    const op_flow_def_t *def;
    int state;
    op_loop_t *loop;
    op_arena_t *arena;
    const char *req_id; /* in the arena; for logs */
    void *ctx;          /* the flow's own data, in the arena */
    op_err_t err;       /* the flow's one error channel: what sent it to its
                           error state, with where it was raised (OP_ERR) */
    int refs;
    bool scheduled;
    bool running;
    bool done;
};

/*
 * New flow in its initial state 0, with a new arena of arena_max bytes.
 * req_id is copied. NULL only when arena_max cannot hold the flow itself
 * (the cap: OP_ETOOBIG to the caller). The caller holds the runner's
 * reference and starts it with op_flow_run() or op_flow_schedule().
 */
op_flow_t *op_flow_new(op_loop_t *loop, const op_flow_def_t *def, size_t arena_max,
                       const char *req_id);

/* Move to state `to` (asserts it is valid) and trace "from -> to". */
void op_flow_set_state(op_flow_t *f, int to);

/* Step until OP_AGAIN or OP_DONE. After OP_DONE the runner's reference is
 * dropped, and a server-side error in f->err (HTTP status 500 and up) is
 * logged with its origin (file, line, function) and the final state.
 * Never call from a completion callback: use op_flow_resume. */
void op_flow_run(op_flow_t *f);

/* Schedule op_flow_run on the loop (once, however often called). */
void op_flow_schedule(op_flow_t *f);

/* Before starting an async operation: the operation's reference. */
void op_flow_hold(op_flow_t *f);

/* In the operation's completion: drop its reference and, if the flow is
 * not finished, schedule the next step. */
void op_flow_resume(op_flow_t *f);

/* Drop a reference without resuming (frees at zero). */
void op_flow_release(op_flow_t *f);

const char *op_flow_state_name(const op_flow_t *f);

#endif
