/*
 * core/flows/op_sub_quota.c - the per-subject session quota
 * (sessionStore.quotaPerSubject; reference §2.6, onQuotaExhaustion =
 * CLOSE_OLD_SESSION).
 *
 * After a new subject session is written, a small background flow lists
 * the subject's sessions (index sub), and when there are more than the
 * quota reads them and closes the oldest ones, never the new one:
 *
 *   LIST -> LISTED -> READ (every get back) -> CLOSED (every delete back)
 *
 * It does not hold up the API call that created the session: the quota
 * is a bound on what a subject accumulates, not part of the answer. The
 * flow owns its arena and ends when its last store operation completes
 * (also when the store is closing: its operations then end with
 * OP_ECANCELED). Its completions only keep their result and resume it.
 */
#include <stdlib.h>
#include <string.h>

#include "core/flows/op_authz_session.h"
#include "core/flows/op_sub_quota.h"

#define OP_SUB_QUOTA_ARENA    (256 * 1024)
#define OP_SUB_QUOTA_MAX_LIST 64

typedef enum {
    SQ_LIST,   /* list the subject's sessions */
    SQ_LISTED, /* ... listed: over the quota? read them */
    SQ_READ,   /* ... read: close the oldest */
    SQ_CLOSED, /* ... closed */
    SQ_MAX
} op_sub_quota_state_t;

static const char *const op_sub_quota_states[SQ_MAX] = {"list", "listed", "read", "closed"};

typedef struct op_sub_quota op_sub_quota_t;

typedef struct op_sub_quota_entry {
    op_flow_t *f;
    const char *key;
    int64_t created; /* ms; -1: gone or unreadable */
} op_sub_quota_entry_t;

struct op_sub_quota {
    op_server_t *srv;
    const char *sub;
    char keep[65];
    int list_st; /* the listing: its status and keys */
    op_sub_quota_entry_t *entries;
    size_t n;
    size_t pending; /* gets or deletes still out */
};

static int op_sub_quota_cmp(const void *a, const void *b)
{
    const op_sub_quota_entry_t *x = a, *y = b;
    return (x->created > y->created) - (x->created < y->created);
}

/* Keep the listed keys (copied). */
static void op_sub_quota_on_list(int status, const op_store_res_t *res, void *arg)
{
    op_flow_t *f = arg;
    op_sub_quota_t *q = f->ctx;

    q->list_st = status;
    if (status == OP_OK && res->nkeys > 0) {
        q->entries = op_arena_calloc(f->arena, res->nkeys, sizeof(*q->entries));
        q->n = q->entries != NULL ? res->nkeys : 0;
        for (size_t i = 0; i < q->n; i++) {
            q->entries[i].f = f;
            q->entries[i].key = op_arena_strndup(f->arena, res->keys[i].ptr, res->keys[i].len);
        }
    }
    op_flow_resume(f);
}

/* Keep a session's creation time (-1 when gone or unreadable). */
static void op_sub_quota_on_get(int status, const op_store_res_t *res, void *arg)
{
    op_sub_quota_entry_t *e = arg;
    op_sub_quota_t *q = e->f->ctx;
    op_sub_session_t s;
    op_err_t err;

    e->created = -1;
    if (status == OP_OK &&
        op_sub_session_read(e->f->arena, res->value, res->value_len, &s, &err) == OP_OK)
        e->created = s.creation_ms;
    q->pending--;
    op_flow_resume(e->f);
}

static void op_sub_quota_on_del(int status, const op_store_res_t *res, void *arg)
{
    op_flow_t *f = arg;
    op_sub_quota_t *q = f->ctx;

    OP_UNUSED(status);
    OP_UNUSED(res);
    q->pending--;
    op_flow_resume(f);
}

static int op_sub_quota_list(op_flow_t *f)
{
    op_sub_quota_t *q = f->ctx;

    op_flow_set_state(f, SQ_LISTED);
    op_flow_hold(f);
    op_store_index(q->srv->store, OP_AS_NS_SUB, "sub", q->sub, strlen(q->sub),
                   OP_SUB_QUOTA_MAX_LIST, op_sub_quota_on_list, f);
    return OP_AGAIN;
}

/* Over the quota: read every listed session. */
static int op_sub_quota_listed(op_flow_t *f)
{
    op_sub_quota_t *q = f->ctx;

    if (q->list_st != OP_OK || q->n <= (size_t)q->srv->cfg->session_quota)
        return OP_DONE;
    op_flow_set_state(f, SQ_READ);
    q->pending = q->n;
    for (size_t i = 0; i < q->n; i++) {
        const char *key = q->entries[i].key != NULL ? q->entries[i].key : "";
        op_flow_hold(f);
        op_store_get(q->srv->store, OP_AS_NS_SUB, key, strlen(key), op_sub_quota_on_get,
                     &q->entries[i]);
    }
    return OP_AGAIN;
}

/* Every session read: close the oldest beyond the quota. */
static int op_sub_quota_read(op_flow_t *f)
{
    op_sub_quota_t *q = f->ctx;
    size_t quota = (size_t)q->srv->cfg->session_quota;
    size_t live = 0;

    if (q->pending > 0)
        return OP_AGAIN;
    for (size_t i = 0; i < q->n; i++)
        live += q->entries[i].created >= 0;
    if (live <= quota)
        return OP_DONE;
    op_flow_set_state(f, SQ_CLOSED);
    qsort(q->entries, q->n, sizeof(*q->entries), op_sub_quota_cmp);
    size_t excess = live - quota;
    for (size_t i = 0; i < q->n && excess > 0; i++) {
        const op_sub_quota_entry_t *e = &q->entries[i];
        if (e->created < 0 || strcmp(e->key, q->keep) == 0)
            continue;
        excess--;
        q->pending++;
        op_flow_hold(f);
        op_store_del(q->srv->store, OP_AS_NS_SUB, e->key, strlen(e->key), op_sub_quota_on_del, f);
    }
    return OP_OK;
}

static int op_sub_quota_step(op_flow_t *f)
{
    op_sub_quota_t *q = f->ctx;

    switch ((op_sub_quota_state_t)f->state) {
    case SQ_LIST:
        return op_sub_quota_list(f);
    case SQ_LISTED:
        return op_sub_quota_listed(f);
    case SQ_READ:
        return op_sub_quota_read(f);
    case SQ_CLOSED:
        return q->pending > 0 ? OP_AGAIN : OP_DONE;
    case SQ_MAX:
        break;
    }
    return OP_DONE;
}

static const op_flow_def_t op_sub_quota_flow = {
    "sub-quota", SQ_MAX, op_sub_quota_states, op_sub_quota_step, NULL,
};

void op_sub_quota_enforce(op_server_t *srv, const char *sub, const char *keep_key)
{
    /* never NULL: OP_SUB_QUOTA_ARENA holds the flow and its state */
    op_flow_t *f = op_flow_new(srv->loop, &op_sub_quota_flow, OP_SUB_QUOTA_ARENA, NULL);
    op_sub_quota_t *q = op_arena_calloc(f->arena, 1, sizeof(*q));

    if (q == NULL || (q->sub = op_arena_strdup(f->arena, sub)) == NULL) {
        op_log_error(NULL, "sub quota: the subject does not fit the arena: not enforced");
        op_flow_release(f);
        return;
    }
    q->srv = srv;
    memcpy(q->keep, keep_key, sizeof(q->keep) - 1);
    f->ctx = q;
    op_flow_run(f);
}
