/*
 * core/flows/op_sub_quota.c - the per-subject session quota
 * (sessionStore.quotaPerSubject; reference §2.6, onQuotaExhaustion =
 * CLOSE_OLD_SESSION).
 *
 * After a new subject session is written, a small background task lists
 * the subject's sessions (index sub), and when there are more than the
 * quota reads them and closes the oldest ones, never the new one. It does
 * not hold up the API call that created the session: the quota is a
 * bound on what a subject accumulates, not part of the answer. The task
 * owns its arena and ends when its last store operation completes (also
 * when the store is closing: its operations then end with OP_ECANCELED).
 */
#include <stdlib.h>
#include <string.h>

#include "core/flows/op_authz_session.h"

#define OP_SUB_QUOTA_ARENA    (256 * 1024)
#define OP_SUB_QUOTA_MAX_LIST 64

typedef struct op_sub_quota op_sub_quota_t;

typedef struct op_sub_quota_entry {
    op_sub_quota_t *q;
    const char *key;
    int64_t created; /* ms; -1: gone or unreadable */
} op_sub_quota_entry_t;

struct op_sub_quota {
    op_server_t *srv;
    op_arena_t *arena;
    char keep[65];
    op_sub_quota_entry_t *entries;
    size_t n;
    size_t pending;
};

static void op_sub_quota_done(op_sub_quota_t *q)
{
    op_arena_free(q->arena);
    free(q);
}

static int op_sub_quota_cmp(const void *a, const void *b)
{
    const op_sub_quota_entry_t *x = a, *y = b;
    return (x->created > y->created) - (x->created < y->created);
}

static void op_sub_quota_on_del(int status, const op_store_res_t *res, void *arg)
{
    OP_UNUSED(status);
    OP_UNUSED(res);
    op_sub_quota_t *q = arg;
    if (--q->pending == 0)
        op_sub_quota_done(q);
}

/* All sessions read: close the oldest beyond the quota. */
static void op_sub_quota_close_oldest(op_sub_quota_t *q)
{
    size_t quota = (size_t)q->srv->cfg->session_quota;
    size_t live = 0;
    for (size_t i = 0; i < q->n; i++)
        live += q->entries[i].created >= 0;
    if (live <= quota) {
        op_sub_quota_done(q);
        return;
    }
    qsort(q->entries, q->n, sizeof(*q->entries), op_sub_quota_cmp);
    size_t excess = live - quota;
    for (size_t i = 0; i < q->n && excess > 0; i++) {
        const op_sub_quota_entry_t *e = &q->entries[i];
        if (e->created < 0 || strcmp(e->key, q->keep) == 0)
            continue;
        excess--;
        q->pending++;
        op_store_del(q->srv->store, OP_AS_NS_SUB, e->key, strlen(e->key), op_sub_quota_on_del, q);
    }
    if (q->pending == 0)
        op_sub_quota_done(q);
}

static void op_sub_quota_on_get(int status, const op_store_res_t *res, void *arg)
{
    op_sub_quota_entry_t *e = arg;
    op_sub_quota_t *q = e->q;
    op_sub_session_t s;
    op_err_t err;
    e->created = -1;
    if (status == OP_OK &&
        op_sub_session_read(q->arena, res->value, res->value_len, &s, &err) == OP_OK)
        e->created = s.creation_ms;
    if (--q->pending == 0)
        op_sub_quota_close_oldest(q);
}

static void op_sub_quota_on_list(int status, const op_store_res_t *res, void *arg)
{
    op_sub_quota_t *q = arg;
    if (status != OP_OK || res->nkeys <= (size_t)q->srv->cfg->session_quota) {
        op_sub_quota_done(q);
        return;
    }
    q->n = res->nkeys;
    q->entries = op_arena_calloc(q->arena, q->n, sizeof(*q->entries));
    if (q->entries == NULL) {
        op_sub_quota_done(q);
        return;
    }
    for (size_t i = 0; i < q->n; i++) {
        q->entries[i].q = q;
        q->entries[i].key = op_arena_strndup(q->arena, res->keys[i].ptr, res->keys[i].len);
    }
    q->pending = q->n;
    for (size_t i = 0; i < q->n; i++) {
        const op_sub_quota_entry_t *e = &q->entries[i];
        op_store_get(q->srv->store, OP_AS_NS_SUB, e->key != NULL ? e->key : "",
                     e->key != NULL ? strlen(e->key) : 0, op_sub_quota_on_get, &q->entries[i]);
    }
}

void op_sub_quota_enforce(op_server_t *srv, const char *sub, const char *keep_key)
{
    op_sub_quota_t *q = calloc(1, sizeof(*q));
    if (q == NULL || (q->arena = op_arena_new(OP_SUB_QUOTA_ARENA)) == NULL) {
        free(q);
        return; /* the quota is best effort under memory pressure */
    }
    q->srv = srv;
    memcpy(q->keep, keep_key, sizeof(q->keep) - 1);
    op_store_index(srv->store, OP_AS_NS_SUB, "sub", sub, strlen(sub), OP_SUB_QUOTA_MAX_LIST,
                   op_sub_quota_on_list, q);
}
