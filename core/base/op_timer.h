/*
 * core/base/op_timer.h - reusable timers on the loop.
 */
#ifndef OP_TIMER_H
#define OP_TIMER_H

#include <stdbool.h>
#include <stdint.h>

#include "core/base/op_loop.h"

typedef struct op_timer op_timer_t;

/* A reusable timer. op_timer_start re-arms; op_timer_stop is idempotent.
 * op_timer_new never returns NULL. */
op_timer_t *op_timer_new(op_loop_t *loop, op_fn_t fn, void *arg);
void op_timer_start(op_timer_t *t, uint64_t ms);
void op_timer_stop(op_timer_t *t);
bool op_timer_pending(const op_timer_t *t);
void op_timer_free(op_timer_t *t);

#endif
