/*
 * core/base/op_flow.c - the flow engine. See core/base/op_flow.h.
 */
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "core/base/op.h"

op_flow_t *op_flow_new(op_loop_t *loop, const op_flow_def_t *def, size_t arena_max,
                       const char *req_id)
{
    op_arena_t *a = op_arena_new(arena_max);
    op_flow_t *f = op_arena_calloc(a, 1, sizeof(*f));
    if (f == NULL)
        goto out_free_arena;
    f->req_id = op_arena_strdup(a, req_id != NULL ? req_id : "-");
    if (f->req_id == NULL)
        goto out_free_arena;
    f->def = def;
    f->loop = loop;
    f->arena = a;
    f->refs = 1;
    return f;
out_free_arena:
    op_arena_free(a);
    return NULL;
}

const char *op_flow_state_name(const op_flow_t *f)
{
    return f->def->state_names[f->state];
}

void op_flow_set_state(op_flow_t *f, int to)
{
    assert(to >= 0 && to < f->def->nstates);
    op_log_debug(f->req_id, "flow %s: %s -> %s", f->def->name, f->def->state_names[f->state],
                 f->def->state_names[to]);
    f->state = to;
}

void op_flow_release(op_flow_t *f)
{
    assert(f->refs > 0);
    if (--f->refs > 0)
        return;
    if (f->def->on_free != NULL)
        f->def->on_free(f);
    op_arena_free(f->arena);
}

/*
 * A flow that ends on a server-side error (an answer of 500 and up: the
 * store down, a deadline, a bug) logs it with where it was
 * raised (OP_ERR keeps the file, line and function) and the state it
 * ended in: the answer itself shows the caller only the description.
 * Every flow gets this here, whatever its error state does.
 */
static void op_flow_log_failure(const op_flow_t *f)
{
    const op_err_t *e = &f->err;

    if (e->code == OP_OK || e->http_status < 500)
        return;
    op_log_error(f->req_id, "flow %s: %d %s in state %s: %s (at %s:%d, %s)", f->def->name,
                 e->http_status, op_err_status_name(e->code), op_flow_state_name(f), e->description,
                 e->file != NULL ? e->file : "?", e->line, e->func != NULL ? e->func : "?");
}

void op_flow_run(op_flow_t *f)
{
    assert(!f->running && !f->done);
    f->running = true;
    for (;;) {
        int rc = f->def->step(f);
        if (rc == OP_OK)
            continue;
        assert(rc == OP_AGAIN || rc == OP_DONE);
        f->running = false;
        if (rc == OP_DONE) {
            f->done = true;
            op_flow_log_failure(f);
            op_flow_release(f); /* the runner's reference */
        }
        return;
    }
}

static void op_flow_run_scheduled(void *arg)
{
    op_flow_t *f = arg;
    f->scheduled = false;
    if (!f->done)
        op_flow_run(f);
    op_flow_release(f); /* the schedule's reference */
}

void op_flow_schedule(op_flow_t *f)
{
    if (f->scheduled || f->done)
        return;
    f->refs++;
    f->scheduled = true;
    op_loop_defer(f->loop, op_flow_run_scheduled, f);
}

void op_flow_hold(op_flow_t *f)
{
    f->refs++;
}

void op_flow_resume(op_flow_t *f)
{
    op_flow_schedule(f);
    op_flow_release(f);
}
