/* Unit tests: core/base/op_loop.c, op_timer.c, op_call.c - defer, timers, exactly-once calls,
 * libevent's log. */
#include <errno.h>
#include <sys/socket.h>

#include <event2/event.h>
#include <event2/event_struct.h>

#include "core/base/op.h"
#include "tests/unit/op_test.h"

static int order[8];
static int norder;
static void push_order(void *arg)
{
    order[norder++] = (int)(intptr_t)arg;
}

static void test_defer_runs_later_in_order(void)
{
    op_loop_t *loop = op_loop_new();
    op_loop_defer(loop, push_order, (void *)1);
    op_loop_defer(loop, push_order, (void *)2);
    OP_CHECK_INT(norder, 0); /* never synchronous */
    op_loop_run(loop);
    OP_CHECK_INT(norder, 2);
    OP_CHECK_INT(order[0], 1);
    OP_CHECK_INT(order[1], 2);
    op_loop_free(loop);
}

static op_loop_t *g_loop;
static int redefers;
static void defer_again(void *arg)
{
    OP_UNUSED(arg);
    if (++redefers < 100)
        op_loop_defer(g_loop, defer_again, NULL);
}

static void test_defer_from_callback(void)
{
    g_loop = op_loop_new();
    op_loop_defer(g_loop, defer_again, NULL);
    op_loop_run(g_loop);
    OP_CHECK_INT(redefers, 100);
    op_loop_free(g_loop);
}

static int fired;
static void count_fire(void *arg)
{
    OP_UNUSED(arg);
    fired++;
}

static void test_timer_start_stop_rearm(void)
{
    op_loop_t *loop = op_loop_new();
    op_timer_t *t = op_timer_new(loop, count_fire, NULL);
    op_timer_t *never = op_timer_new(loop, count_fire, NULL);
    op_timer_start(never, 5);
    op_timer_stop(never);
    op_timer_stop(never);
    OP_CHECK(!op_timer_pending(never));
    op_timer_start(t, 1000);
    op_timer_start(t, 1); /* re-arm replaces */
    OP_CHECK(op_timer_pending(t));
    op_loop_run(loop);
    OP_CHECK_INT(fired, 1);
    op_timer_free(t);
    op_timer_free(never);
    op_loop_free(loop);
}

/* ---- op_call ---------------------------------------------------------- */

static int calls;
static int last_status;
static void *last_result;
static bool returned;
static void on_call(int status, void *result, void *arg)
{
    OP_UNUSED(arg);
    OP_CHECK(returned); /* never before the start call returned */
    calls++;
    last_status = status;
    last_result = result;
}

static int freed;
static void free_result(void *p)
{
    freed++;
    free(p);
}

static void test_call_completes_once_deferred(void)
{
    op_loop_t *loop = op_loop_new();
    returned = false;
    op_call_t *c = op_call_new(loop, 0, on_call, NULL);
    op_call_complete(c, OP_OK, (void *)"r", NULL); /* inside the "start" */
    returned = true;
    OP_CHECK_INT(calls, 0);
    op_loop_run(loop);
    OP_CHECK_INT(calls, 1);
    OP_CHECK_INT(last_status, OP_OK);
    OP_CHECK_STR((const char *)last_result, "r");
    op_loop_free(loop);
}

static op_call_t *late_call;
static void complete_late(void *arg)
{
    OP_UNUSED(arg);
    op_call_complete(late_call, OP_OK, strdup("late"), free_result);
}

static void test_call_deadline_then_late_completion(void)
{
    op_loop_t *loop = op_loop_new();
    returned = true;
    late_call = op_call_new(loop, 5, on_call, NULL);
    op_timer_t *t = op_timer_new(loop, complete_late, NULL);
    op_timer_start(t, 50);
    op_loop_run(loop);
    OP_CHECK_INT(calls, 1);
    OP_CHECK_INT(last_status, OP_ETIMEDOUT);
    OP_CHECK(last_result == NULL);
    OP_CHECK_INT(freed, 1); /* the late result was dropped and freed */
    op_timer_free(t);
    op_loop_free(loop);
}

static void test_call_result_freed_after_callback(void)
{
    op_loop_t *loop = op_loop_new();
    returned = true;
    op_call_t *c = op_call_new(loop, 1000, on_call, NULL);
    op_call_complete(c, OP_ENOTFOUND, strdup("x"), free_result);
    op_loop_run(loop);
    OP_CHECK_INT(calls, 1);
    OP_CHECK_INT(last_status, OP_ENOTFOUND);
    OP_CHECK_INT(freed, 1);
    op_loop_free(loop);
}

static void test_call_cancel(void)
{
    op_loop_t *loop = op_loop_new();
    returned = true;
    op_call_t *c = op_call_new(loop, 1000, on_call, NULL);
    op_call_cancel(c);
    op_call_cancel(c); /* idempotent */
    OP_CHECK(op_call_ended(c));
    op_call_complete(c, OP_OK, strdup("y"), free_result);
    op_loop_run(loop);
    OP_CHECK_INT(calls, 1);
    OP_CHECK_INT(last_status, OP_ECANCELED);
    OP_CHECK_INT(freed, 1);
    op_loop_free(loop);
}

static void test_clock(void)
{
    uint64_t a = op_loop_now_ms(), b = op_loop_now_ms();
    OP_CHECK(b >= a);
    OP_CHECK(op_loop_epoch() > 1700000000);
}

/* libevent's own lines go through op_log (controls masked, our format),
 * at most 10 a second, and the rest are counted: at the descriptor limit
 * its "Error from accept()" per loop pass cannot flood the log. */
static void test_libevent_log_routed_and_limited(void)
{
    char path[] = "/tmp/test_op_loop_log_XXXXXX";
    char buf[16384];
    int fd = mkstemp(path), lines = 0, ours = 0;
    struct event ev;

    OP_CHECK(fd >= 0);
    unlink(path);
    op_log_init(OP_LOG_INFO, fd);
    op_loop_t *loop = op_loop_new();
    OP_CHECK(loop != NULL);
    memset(&ev, 0, sizeof(ev));
    for (int i = 0; i < 25; i++)
        OP_CHECK_INT(event_del(&ev), -1); /* libevent warns: no event_base */
    op_loop_free(loop);
    ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
    OP_CHECK(n > 0);
    buf[n] = '\0';
    for (char *p = buf; (p = strchr(p, '\n')) != NULL; p++)
        lines++;
    for (char *p = buf; (p = strstr(p, "WARN  [-] libevent: event_del_: event has no")) != NULL;
         p++)
        ours++;
    OP_CHECK_INT(ours, 10);
    OP_CHECK_HAS(buf, "WARN  [-] libevent: 15 more lines suppressed\n");
    OP_CHECK_INT(lines, 11);
    close(fd);
}

/* ---- the log's batches ------------------------------------------------------ */

/* The log goes to a socket that keeps write bounds: one recv, one write. */
static struct {
    int fds[2];
    op_loop_t *loop;
    op_timer_t *timer;
    int passes;
} lb;

/* The next write that reached the socket, or NULL when none waits. */
static char *log_packet(void)
{
    static char buf[OP_LOG_BUF_SIZE + 1];
    ssize_t k = recv(lb.fds[0], buf, sizeof(buf) - 1, MSG_DONTWAIT);

    if (k < 0) {
        OP_CHECK(errno == EAGAIN || errno == EWOULDBLOCK);
        return NULL;
    }
    buf[k] = '\0';
    return buf;
}

/* Lines a, b, c, in that order, in one write and the only one. */
static void log_check_write(const char *a, const char *b, const char *c)
{
    char *p = log_packet();
    OP_CHECK(p != NULL);
    if (p == NULL)
        return;
    char *x = strstr(p, a), *y = strstr(p, b), *z = strstr(p, c);
    OP_CHECK(x != NULL && y > x && z > y && z[strlen(c)] == '\0');
    OP_CHECK(log_packet() == NULL);
}

/* Pass 2 (the timer): pass 1's lines arrived together after it ended;
 * this pass's ERROR goes out at once with the INFO line before it. */
static void log_pass_two(void *arg)
{
    OP_UNUSED(arg);
    lb.passes++;
    log_check_write("[p-1] a\n", "[p-1] http: GET /a 200 0.1ms\n", "[p-1] c\n");
    op_log_info("p-2", "d");
    op_log_info("p-2", "e");
    OP_CHECK(log_packet() == NULL);
    op_log_error("p-2", "f");
    log_check_write("[p-2] d\n", "[p-2] e\n", "ERROR [p-2] f\n");
    op_log_info("p-2", "g"); /* written when the loop ends */
}

/* Pass 1: three lines from two callbacks of the same pass, none written
 * while the pass runs. */
static void log_pass_one_b(void *arg)
{
    OP_UNUSED(arg);
    op_log_warn("p-1", "c");
    OP_CHECK(log_packet() == NULL);
    op_timer_start(lb.timer, 1);
}

static void log_pass_one(void *arg)
{
    OP_UNUSED(arg);
    lb.passes++;
    op_log_info("p-1", "a");
    op_log_access("p-1", "GET", "/a", 200, 100);
    OP_CHECK(log_packet() == NULL);
    op_loop_defer(lb.loop, log_pass_one_b, NULL);
}

/* Inside a running loop a pass's lines are written with one write at its
 * end; an ERROR line at once after those before it; outside the loop each
 * line at once. */
static void test_loop_log_one_write_per_pass(void)
{
    OP_CHECK(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, lb.fds) == 0);
    op_log_init(OP_LOG_INFO, lb.fds[1]);
    lb.loop = op_loop_new();
    lb.timer = op_timer_new(lb.loop, log_pass_two, NULL);
    op_log_info("p-0", "before");
    OP_CHECK_HAS(log_packet(), "[p-0] before\n");
    op_loop_defer(lb.loop, log_pass_one, NULL);
    OP_CHECK_INT(op_loop_run(lb.loop), OP_OK);
    OP_CHECK_INT(lb.passes, 2);
    char *p = log_packet();
    OP_CHECK(p != NULL && strstr(p, "[p-2] g\n") != NULL);
    op_log_info("p-3", "after");
    OP_CHECK_HAS(log_packet(), "[p-3] after\n");
    op_timer_free(lb.timer);
    op_loop_free(lb.loop);
    OP_CHECK(log_packet() == NULL);
    close(lb.fds[0]);
    close(lb.fds[1]);
    op_log_init(OP_LOG_INFO, 2);
}

/* op_loop_run stops as event_base_dispatch did: on op_loop_stop (a timer
 * still pending), on libevent's loopexit, and when nothing is left; a stop
 * asked for before the run does not carry over. */
static int stop_fired;
static void stop_now(void *arg)
{
    stop_fired++;
    op_loop_stop(arg);
}

static void exit_now(void *arg)
{
    stop_fired++;
    event_base_loopexit(op_loop_base(arg), NULL);
}

static void test_loop_run_stops_as_before(void)
{
    op_loop_t *loop = op_loop_new();
    op_timer_t *later = op_timer_new(loop, count_fire, NULL);

    fired = 0;
    op_timer_start(later, 20);
    op_loop_defer(loop, stop_now, loop);
    OP_CHECK_INT(op_loop_run(loop), OP_OK);
    OP_CHECK_INT(stop_fired, 1);
    OP_CHECK_INT(fired, 0);
    OP_CHECK(op_timer_pending(later));
    op_loop_defer(loop, exit_now, loop);
    OP_CHECK_INT(op_loop_run(loop), OP_OK);
    OP_CHECK_INT(stop_fired, 2);
    OP_CHECK_INT(fired, 0);
    op_loop_stop(loop);                     /* outside the run: forgotten */
    OP_CHECK_INT(op_loop_run(loop), OP_OK); /* runs the timer, then nothing is left */
    OP_CHECK_INT(fired, 1);
    OP_CHECK(!op_timer_pending(later));
    op_timer_free(later);
    op_loop_free(loop);
}

static const op_test_case_t cases[] = {
    {"defer_runs_later_in_order", test_defer_runs_later_in_order},
    {"defer_from_callback", test_defer_from_callback},
    {"timer_start_stop_rearm", test_timer_start_stop_rearm},
    {"call_completes_once_deferred", test_call_completes_once_deferred},
    {"call_deadline_then_late_completion", test_call_deadline_then_late_completion},
    {"call_result_freed_after_callback", test_call_result_freed_after_callback},
    {"call_cancel", test_call_cancel},
    {"clock", test_clock},
    {"libevent_log_routed_and_limited", test_libevent_log_routed_and_limited},
    {"loop_log_one_write_per_pass", test_loop_log_one_write_per_pass},
    {"loop_run_stops_as_before", test_loop_run_stops_as_before},
};
OP_TEST_MAIN(cases)
