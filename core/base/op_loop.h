/*
 * core/base/op_loop.h - the event loop and the async plumbing.
 *
 * op_loop_t owns the process's single libevent event_base; core/ code uses
 * only this interface (defer, timers, calls), so protocol logic never sees
 * libevent. Modules that bind a library to the loop (http/, storage/) get
 * the base with op_loop_base().
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
#ifndef OP_LOOP_H
#define OP_LOOP_H

#include <stdbool.h>
#include <stdint.h>

typedef struct op_loop op_loop_t;
typedef struct op_timer op_timer_t;
typedef struct op_call op_call_t;

typedef void (*op_fn_t)(void *arg);

/* New loop with its own event_base. NULL on failure. libevent's own log
 * lines (process-wide) then go to op_log as "libevent: ...", at most 10
 * a second; the count of the rest follows in a later line, at the latest
 * from op_loop_free. */
op_loop_t *op_loop_new(void);
void op_loop_free(op_loop_t *loop);

/* The struct event_base * behind the loop, for http/ and storage/. */
void *op_loop_base(op_loop_t *loop);

/* Run until op_loop_stop() or nothing is left. Returns OP_OK or OP_ERROR. */
int op_loop_run(op_loop_t *loop);
void op_loop_stop(op_loop_t *loop);

/* Call fn(arg) from the loop each time signal signo arrives (libevent's
 * signal handling: the handler itself does nothing unsafe). Returns OP_OK
 * or OP_ERROR. The watcher lives until op_loop_free. */
int op_loop_signal(op_loop_t *loop, int signo, op_fn_t fn, void *arg);

/* Milliseconds of a monotonic clock, and seconds since the epoch. */
uint64_t op_loop_now_ms(void);
int64_t op_loop_epoch(void);

/* Run fn(arg) from the loop on its next iteration. Returns OP_OK or
 * OP_ENOMEM (fn is then not called). */
int op_loop_defer(op_loop_t *loop, op_fn_t fn, void *arg);

/* A reusable timer. op_timer_start re-arms; op_timer_stop is idempotent. */
op_timer_t *op_timer_new(op_loop_t *loop, op_fn_t fn, void *arg);
void op_timer_start(op_timer_t *t, uint64_t ms);
void op_timer_stop(op_timer_t *t);
bool op_timer_pending(const op_timer_t *t);
void op_timer_free(op_timer_t *t);

/* ---- exactly-once completion --------------------------------------- */

/* status: OP_OK or an error; result: the operation's result, borrowed,
 * valid only during the callback (NULL on timeout / cancel). */
typedef void (*op_call_cb)(int status, void *result, void *arg);

/*
 * New call. deadline_ms == 0 means no deadline. NULL on OOM. The caller
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
