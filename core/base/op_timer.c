/*
 * core/base/op_timer.c - reusable timers on the loop's event_base. See
 * core/base/op_timer.h.
 */
#include <stdlib.h>

#include <event2/event.h>
#include <event2/event_struct.h>

#include "core/base/op.h"

struct op_timer {
    struct event ev;
    op_fn_t fn;
    void *arg;
};

static void op_timer_fire(evutil_socket_t fd, short what, void *arg)
{
    OP_UNUSED(fd);
    OP_UNUSED(what);
    op_timer_t *t = arg;
    t->fn(t->arg);
}

op_timer_t *op_timer_new(op_loop_t *loop, op_fn_t fn, void *arg)
{
    op_timer_t *t = op_calloc(1, sizeof(*t));
    t->fn = fn;
    t->arg = arg;
    /* evtimer_assign only fills the struct: it cannot fail here. */
    evtimer_assign(&t->ev, op_loop_base(loop), op_timer_fire, t);
    return t;
}

void op_timer_start(op_timer_t *t, uint64_t ms)
{
    struct timeval tv = {(time_t)(ms / 1000), (suseconds_t)(ms % 1000) * 1000};
    evtimer_add(&t->ev, &tv);
}

void op_timer_stop(op_timer_t *t)
{
    evtimer_del(&t->ev);
}

bool op_timer_pending(const op_timer_t *t)
{
    return evtimer_pending(&t->ev, NULL) != 0;
}

void op_timer_free(op_timer_t *t)
{
    if (t == NULL)
        return;
    evtimer_del(&t->ev);
    free(t);
}
