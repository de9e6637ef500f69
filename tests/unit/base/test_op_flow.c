/* Unit tests: core/base/op_flow.c - states, waits, references. */
#include <unistd.h>

#include "core/base/op.h"
#include "tests/unit/op_test.h"

enum { S_START, S_WAIT, S_REPLY, S_MAX };
static const char *const names[S_MAX] = {"start", "wait", "reply"};

typedef struct {
    int steps;
    int replies;
    op_timer_t *timer;
} ctx_t;

static int freed;

static void on_op_done(void *arg)
{
    op_flow_t *f = arg;
    op_flow_set_state(f, S_REPLY);
    op_flow_resume(f);
}

static int step(op_flow_t *f)
{
    ctx_t *c = f->ctx;
    c->steps++;
    switch (f->state) {
    case S_START:
        op_flow_set_state(f, S_WAIT);
        return OP_OK;
    case S_WAIT:
        op_flow_hold(f); /* the timer's reference */
        op_timer_start(c->timer, 1);
        return OP_AGAIN;
    case S_REPLY:
        c->replies++;
        return OP_DONE;
    }
    return OP_DONE;
}

static void on_free(op_flow_t *f)
{
    ctx_t *c = f->ctx;
    OP_CHECK_INT(c->replies, 1);
    OP_CHECK_INT(c->steps, 3);
    op_timer_free(c->timer);
    freed++;
}

static const op_flow_def_t def = {"test", S_MAX, names, step, on_free};

static void test_flow_waits_and_finishes_once(void)
{
    op_loop_t *loop = op_loop_new();
    op_flow_t *f = op_flow_new(loop, &def, 4096, "r-test");
    ctx_t *c = op_arena_calloc(f->arena, 1, sizeof(*c));
    c->timer = op_timer_new(loop, on_op_done, f);
    f->ctx = c;
    op_flow_run(f);
    OP_CHECK_INT(f->state, S_WAIT);
    OP_CHECK_STR(op_flow_state_name(f), "wait");
    op_loop_run(loop);
    OP_CHECK_INT(freed, 1);
    op_loop_free(loop);
}

static void test_schedule_is_idempotent(void)
{
    op_loop_t *loop = op_loop_new();
    op_flow_t *f = op_flow_new(loop, &def, 4096, NULL);
    ctx_t *c = op_arena_calloc(f->arena, 1, sizeof(*c));
    c->timer = op_timer_new(loop, on_op_done, f);
    f->ctx = c;
    op_flow_schedule(f);
    op_flow_schedule(f); /* the creator's reference is the runner's */
    op_loop_run(loop);
    OP_CHECK_INT(freed, 1);
    op_loop_free(loop);
}

/* A flow that fails with status code (err_line: where it raised it). */
static int err_code, err_line;

static int fail_step(op_flow_t *f)
{
    err_line = __LINE__ + 1;
    OP_ERR(&f->err, err_code, "the backend said no");
    return OP_DONE;
}

static const op_flow_def_t fail_def = {"failing", 1, names, fail_step, NULL};

/* What running a flow that fails with code logs, read back from a pipe. */
static char *failure_log(int code, char *buf, size_t size)
{
    int fds[2];
    OP_CHECK(pipe(fds) == 0);
    op_log_init(OP_LOG_WARN, fds[1]);
    err_code = code;
    op_flow_t *f = op_flow_new(NULL, &fail_def, 4096, "r-fail");
    OP_CHECK(f != NULL);
    op_flow_run(f);
    op_log_init(OP_LOG_WARN, 2);
    close(fds[1]);
    ssize_t n = read(fds[0], buf, size - 1);
    close(fds[0]);
    buf[n > 0 ? n : 0] = '\0';
    return buf;
}

/* A server-side error (5xx) is logged when the flow ends, with where it
 * was raised; a caller's error (4xx) is only answered. */
static void test_failure_logged_with_origin(void)
{
    char buf[4096], where[64];

    failure_log(OP_EUNAVAIL, buf, sizeof(buf));
    snprintf(where, sizeof(where), "test_op_flow.c:%d, fail_step", err_line);
    OP_CHECK_HAS(buf, "r-fail");
    OP_CHECK_HAS(buf, "flow failing: 503 OP_EUNAVAIL in state start: the backend said no");
    OP_CHECK_HAS(buf, where);
    OP_CHECK_STR(failure_log(OP_EINVAL, buf, sizeof(buf)), "");
}

static const op_test_case_t cases[] = {
    {"flow_waits_and_finishes_once", test_flow_waits_and_finishes_once},
    {"schedule_is_idempotent", test_schedule_is_idempotent},
    {"failure_logged_with_origin", test_failure_logged_with_origin},
};
OP_TEST_MAIN(cases)
