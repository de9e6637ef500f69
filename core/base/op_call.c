/*
 * core/base/op_call.c - the exactly-once completion handle. See
 * core/base/op_call.h.
 */
#include <assert.h>
#include <stdlib.h>

#include "core/base/op.h"
#include "core/base/op_loop_int.h"

struct op_call {
    op_loop_t *loop;
    int refs;   /* requester + operation */
    bool ended; /* the requester's outcome is fixed */
    int status;
    void *result;
    void (*result_free)(void *);
    op_call_cb cb;
    void *arg;
    op_timer_t *deadline;
    op_loop_node_t deliver;
};

static void op_call_unref(op_call_t *call)
{
    assert(call->refs > 0);
    if (--call->refs > 0)
        return;
    op_timer_free(call->deadline);
    free(call);
}

static void op_call_deliver(void *arg)
{
    op_call_t *call = arg;
    call->cb(call->status, call->result, call->arg);
    if (call->result_free != NULL)
        call->result_free(call->result);
    op_call_unref(call);
}

/* Fix the requester's outcome and schedule its callback. */
static void op_call_end(op_call_t *call, int status, void *result, void (*result_free)(void *))
{
    call->ended = true;
    call->status = status;
    call->result = result;
    call->result_free = result_free;
    if (call->deadline != NULL)
        op_timer_stop(call->deadline);
    call->deliver.fn = op_call_deliver;
    call->deliver.arg = call;
    call->deliver.heap = false;
    op_loop_enqueue(call->loop, &call->deliver);
}

static void op_call_on_deadline(void *arg)
{
    op_call_t *call = arg;
    if (!call->ended)
        op_call_end(call, OP_ETIMEDOUT, NULL, NULL);
}

op_call_t *op_call_new(op_loop_t *loop, uint64_t deadline_ms, op_call_cb cb, void *arg)
{
    op_call_t *call = op_calloc(1, sizeof(*call));
    call->loop = loop;
    call->refs = 2;
    call->cb = cb;
    call->arg = arg;
    if (deadline_ms > 0) {
        call->deadline = op_timer_new(loop, op_call_on_deadline, call);
        op_timer_start(call->deadline, deadline_ms);
    }
    return call;
}

void op_call_complete(op_call_t *call, int status, void *result, void (*result_free)(void *))
{
    if (!call->ended)
        op_call_end(call, status, result, result_free);
    else if (result_free != NULL)
        result_free(result); /* late: nobody will read it */
    op_call_unref(call);
}

void op_call_cancel(op_call_t *call)
{
    if (!call->ended)
        op_call_end(call, OP_ECANCELED, NULL, NULL);
}

bool op_call_ended(const op_call_t *call)
{
    return call->ended;
}
