/*
 * core/base/op_loop.h - the event loop and the async plumbing.
 *
 * op_loop_t owns the process's single libevent event_base; core/ code uses
 * only this interface (deferred calls here, timers in op_timer.h, the
 * exactly-once handle in op_call.h), so protocol logic never sees libevent. Modules that bind a
 * library to the loop (http/, storage/) get the base with op_loop_base().
 */
#ifndef OP_LOOP_H
#define OP_LOOP_H

#include <stdbool.h>
#include <stdint.h>

typedef struct op_loop op_loop_t;

typedef void (*op_fn_t)(void *arg);

/* New loop with its own event_base. NULL on failure. libevent's own log
 * lines (process-wide) then go to op_log as "libevent: ...", at most 10
 * a second; the count of the rest follows in a later line, at the latest
 * from op_loop_free. */
op_loop_t *op_loop_new(void);
void op_loop_free(op_loop_t *loop);

/* The struct event_base * behind the loop, for http/ and storage/. */
void *op_loop_base(op_loop_t *loop);

/* Run until op_loop_stop() or nothing is left. Returns OP_OK or OP_ERROR.
 * The log lines of each pass of the loop are written together at its end
 * (core/base/op_log.h, "Batching"). */
int op_loop_run(op_loop_t *loop);
void op_loop_stop(op_loop_t *loop);

/* Call fn(arg) from the loop each time signal signo arrives (libevent's
 * signal handling: the handler itself does nothing unsafe). Returns OP_OK
 * or OP_ERROR. The watcher lives until op_loop_free. */
int op_loop_signal(op_loop_t *loop, int signo, op_fn_t fn, void *arg);

/* Milliseconds of a monotonic clock, and seconds since the epoch. */
uint64_t op_loop_now_ms(void);
int64_t op_loop_epoch(void);

/* Run fn(arg) from the loop on its next iteration. Does not fail (the
 * allocation aborts on failure, core/base/op_mem.h). */
void op_loop_defer(op_loop_t *loop, op_fn_t fn, void *arg);

#endif
