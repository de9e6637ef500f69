/*
 * core/base/op_call.h - the exactly-once completion handle.
 *
 * op_call_t is the exactly-once completion handle every async operation
 * uses. The operation side completes it with op_call_complete() (exactly
 * once, at any time, even after the requester gave up); the requester's
 * callback runs exactly once, always from the loop (never inside the call
 * that started the operation), with one of:
 *   - the operation's status and result,
 *   - OP_ETIMEDOUT when the deadline passes first,
 *   - OP_ECANCELED after op_call_cancel().
 * A late completion is dropped safely. The handle is freed when both sides
 * are done with it.
 */
#ifndef OP_CALL_H
#define OP_CALL_H

#include <stdbool.h>
#include <stdint.h>

#include "core/base/op_loop.h"

typedef struct op_call op_call_t;

/* status: OP_OK or an error; result: the operation's result, borrowed,
 * valid only during the callback (NULL on timeout / cancel). */
typedef void (*op_call_cb)(int status, void *result, void *arg);

/*
 * New call. deadline_ms == 0 means no deadline. Never NULL. The caller
 * hands the call to the operation, which must eventually call
 * op_call_complete exactly once.
 */
op_call_t *op_call_new(op_loop_t *loop, uint64_t deadline_ms, op_call_cb cb, void *arg);

/*
 * Operation side: deliver status and result. result must stay valid until
 * the callback has run; pass a destructor to free it afterwards (it also
 * runs when the result is dropped because the call already ended).
 * Consumes the operation's reference: the call must not be used after.
 */
void op_call_complete(op_call_t *call, int status, void *result, void (*result_free)(void *));

/* Requester side: end now with OP_ECANCELED (deferred). No-op when the
 * callback already ran or is scheduled. */
void op_call_cancel(op_call_t *call);

/* True once the requester's outcome is fixed (completed, timed out or
 * cancelled): an operation may use it to skip useless work. */
bool op_call_ended(const op_call_t *call);

#endif
