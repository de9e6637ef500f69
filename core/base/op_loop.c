/*
 * core/base/op_loop.c - the event loop (libevent), deferred calls and
 * libevent's own log lines. See core/base/op_loop.h.
 */
#include <assert.h>
#include <stdlib.h>
#include <time.h>

#include <event2/event.h>
#include <event2/event_struct.h>

#include "core/base/op.h"
#include "core/base/op_loop_int.h"

typedef struct op_loop_sig {
    op_list_t link;
    struct event *ev;
    op_fn_t fn;
    void *arg;
} op_loop_sig_t;

struct op_loop {
    struct event_base *base;
    struct event *defer_ev; /* activated while the queue is non-empty */
    op_list_t queue;        /* of op_loop_node_t, to run on the next pass */
    op_list_t signals;      /* of op_loop_sig_t */
};

/* ---- libevent's log ------------------------------------------------- */

/* At most this many libevent lines per window; the rest are counted. */
#define OP_LOOP_LOG_BURST     10
#define OP_LOOP_LOG_WINDOW_MS 1000u

/* libevent logs process-wide, so its limiter is process-wide too. */
static struct {
    uint64_t window_start_ms;
    unsigned lines;      /* written in this window */
    unsigned suppressed; /* dropped since the last summary */
} op_loop_log;

/* Say how many lines were dropped, once a window has passed or the loop
 * goes away. */
static void op_loop_log_summary(void)
{
    if (op_loop_log.suppressed > 0)
        op_log_warn(NULL, "libevent: %u more lines suppressed", op_loop_log.suppressed);
    op_loop_log.suppressed = 0;
}

/*
 * libevent's log callback. Its messages can carry peer data (a header
 * that failed to parse, an accept error per connection), so they go
 * through our logger (which masks controls and secrets) and at most
 * OP_LOOP_LOG_BURST of them per second: a flood of "Error from accept()"
 * or of bad requests cannot fill the disk. It must not call libevent.
 */
static void op_loop_on_libevent_log(int severity, const char *msg)
{
    op_log_level_t level = severity == EVENT_LOG_ERR    ? OP_LOG_ERROR
                           : severity == EVENT_LOG_WARN ? OP_LOG_WARN
                           : severity == EVENT_LOG_MSG  ? OP_LOG_INFO
                                                        : OP_LOG_DEBUG;
    uint64_t now = op_loop_now_ms();

    if (!op_log_enabled(level))
        return;
    if (now - op_loop_log.window_start_ms >= OP_LOOP_LOG_WINDOW_MS) {
        op_loop_log_summary();
        op_loop_log.window_start_ms = now;
        op_loop_log.lines = 0;
    }
    if (op_loop_log.lines >= OP_LOOP_LOG_BURST) {
        op_loop_log.suppressed++;
        return;
    }
    op_loop_log.lines++;
    op_log(level, NULL, "libevent: %s", msg != NULL ? msg : "");
}

/* ---- the loop ------------------------------------------------------------ */

/* Run the calls queued before this pass started (the queue is detached
 * first); later ones wait for the next pass, so a callback that defers
 * again cannot starve the loop. */
static void op_loop_run_deferred(evutil_socket_t fd, short what, void *arg)
{
    OP_UNUSED(fd);
    OP_UNUSED(what);
    op_loop_t *loop = arg;
    op_list_t batch, *first;
    op_list_init(&batch);
    op_list_move_tail(&batch, &loop->queue);
    while ((first = op_list_first(&batch)) != NULL) {
        op_loop_node_t *n = OP_LIST_ENTRY(first, op_loop_node_t, link);
        op_fn_t fn = n->fn;
        void *fn_arg = n->arg;
        op_list_remove(first);
        if (n->heap)
            free(n);
        fn(fn_arg);
    }
}

op_loop_t *op_loop_new(void)
{
    op_loop_t *loop = op_calloc(1, sizeof(*loop));
    /* libevent allocates through the out-of-memory policy (op_mem.h).
     * Process-wide; blocks it got before from malloc are still free()d
     * right, so setting it again for a later loop is harmless. */
    event_set_mem_functions(op_malloc, op_realloc, free);
    op_list_init(&loop->queue);
    op_list_init(&loop->signals);
    event_set_log_callback(op_loop_on_libevent_log);
    /* With the epoll changelist, the changes a loop pass makes to one fd
     * (evhttp turns reading off and writing on for every answer, and back)
     * go to the kernel as one epoll_ctl at the end of the pass, or none.
     * Its caveat (fds shared by dup) does not apply: we never dup. */
    struct event_config *ec = event_config_new();
    if (ec == NULL)
        goto out_free_loop;
    event_config_set_flag(ec, EVENT_BASE_FLAG_EPOLL_USE_CHANGELIST);
    loop->base = event_base_new_with_config(ec);
    event_config_free(ec);
    if (loop->base == NULL)
        goto out_free_loop;
    loop->defer_ev = event_new(loop->base, -1, 0, op_loop_run_deferred, loop);
    if (loop->defer_ev == NULL)
        goto out_free_base;
    return loop;
out_free_base:
    event_base_free(loop->base);
out_free_loop:
    free(loop);
    return NULL;
}

void op_loop_free(op_loop_t *loop)
{
    if (loop == NULL)
        return;
    op_list_t *pos, *tmp;
    OP_LIST_FOREACH_SAFE (pos, tmp, &loop->queue) {
        op_loop_node_t *n = OP_LIST_ENTRY(pos, op_loop_node_t, link);
        op_list_remove(pos);
        if (n->heap)
            free(n);
    }
    OP_LIST_FOREACH_SAFE (pos, tmp, &loop->signals) {
        op_loop_sig_t *sig = OP_LIST_ENTRY(pos, op_loop_sig_t, link);
        event_free(sig->ev);
        free(sig);
    }
    event_free(loop->defer_ev);
    event_base_free(loop->base);
    free(loop);
    op_loop_log_summary();
}

void *op_loop_base(op_loop_t *loop)
{
    return loop->base;
}

/*
 * event_base_dispatch, one pass at a time, so that the log's lines of a
 * pass go out with one write (op_log.h) before the loop waits again:
 * libevent 2.1 has no hook before it sleeps. EVLOOP_ONCE waits, runs the
 * active callbacks and what they activate in turn, and returns once a
 * pass ran some and none is left active; within one call it waits again
 * only after a pass that ran none of ours (libevent's internal events
 * alone, or nothing). Each call clears the break and exit flags on entry,
 * so they are read after it returns: the loop stops on op_loop_stop
 * (loopbreak), on loopexit, when no event is left (1) or on an error
 * (-1), exactly when dispatch would.
 */
int op_loop_run(op_loop_t *loop)
{
    int rc;

    op_log_batch_begin();
    do {
        rc = event_base_loop(loop->base, EVLOOP_ONCE);
        op_log_flush();
    } while (rc == 0 && !event_base_got_break(loop->base) && !event_base_got_exit(loop->base));
    op_log_batch_end();
    return rc < 0 ? OP_ERROR : OP_OK;
}

void op_loop_stop(op_loop_t *loop)
{
    event_base_loopbreak(loop->base);
}

static void op_loop_on_signal(evutil_socket_t fd, short what, void *arg)
{
    OP_UNUSED(fd);
    OP_UNUSED(what);
    op_loop_sig_t *sig = arg;
    sig->fn(sig->arg);
}

int op_loop_signal(op_loop_t *loop, int signo, op_fn_t fn, void *arg)
{
    op_loop_sig_t *sig = op_calloc(1, sizeof(*sig));
    sig->fn = fn;
    sig->arg = arg;
    sig->ev = evsignal_new(loop->base, signo, op_loop_on_signal, sig);
    if (sig->ev == NULL || evsignal_add(sig->ev, NULL) != 0) {
        if (sig->ev != NULL)
            event_free(sig->ev);
        free(sig);
        return OP_ERROR;
    }
    op_list_insert_tail(&loop->signals, &sig->link);
    return OP_OK;
}

uint64_t op_loop_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

int64_t op_loop_epoch(void)
{
    return (int64_t)time(NULL);
}

void op_loop_enqueue(op_loop_t *loop, op_loop_node_t *n)
{
    op_list_insert_tail(&loop->queue, &n->link);
    event_active(loop->defer_ev, 0, 0);
}

void op_loop_defer(op_loop_t *loop, op_fn_t fn, void *arg)
{
    op_loop_node_t *n = op_malloc(sizeof(*n));
    n->fn = fn;
    n->arg = arg;
    n->heap = true;
    op_loop_enqueue(loop, n);
}
