/*
 * storage/op_store.c - the store's front end: argument checks, the key
 * layout, counters, the deferred-work queue, open and close, and dispatch
 * to a backend (op_store_mem.c, op_store_redis.c).
 *
 * Every public operation becomes an op_store_op_t that carries its
 * callback and its keys: one item for a single operation, one per op for
 * a batch, so the backends run both the same way. Bad arguments never
 * reach a backend: the operation is queued with OP_EINVAL and completed
 * from the loop like any other, so each callback runs exactly once and
 * never inside the call that started it. The queue is drained by one
 * zero-delay timer owned by the store, so deferring costs no allocation
 * and nothing is left behind when the store goes.
 */
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "storage/op_store_int.h"

/* Defaults for a config that leaves a limit at 0. */
#define OP_STORE_DEF_TIMEOUT_MS     1000
#define OP_STORE_DEF_CONNECT_MS     1000
#define OP_STORE_DEF_BACKOFF_MIN_MS 100
#define OP_STORE_DEF_BACKOFF_MAX_MS 5000
/* Close waits at most this long (or timeout_ms, if shorter) for the
 * operations in flight before cancelling them. */
#define OP_STORE_DRAIN_MS 1000

/* ---- queue and completion --------------------------------------------- */

static void op_store_schedule_finish(op_store_t *s);

/* When closing and nothing is left in flight, tear down from the loop. */
static void op_store_close_check(op_store_t *s)
{
    if (s->closing && s->stats.in_flight == 0)
        op_store_schedule_finish(s);
}

/* A failure for the stats: an error other than the answers "not found",
 * "exists" and "a check failed". */
static bool op_store_failed(int status)
{
    return status < 0 && status != OP_ENOTFOUND && status != OP_EEXIST && status != OP_ECONFLICT;
}

/*
 * Deliver an operation's outcome to its requester and free the
 * operation. results is borrowed. When the operation as a whole failed,
 * every item reports that status with an empty result (ttl -1), so
 * callers never test for NULL: a single operation's callback gets item 0,
 * a batch's all of them.
 */
void op_store_complete(op_store_op_t *op, int status, const op_store_batch_res_t *results)
{
    op_store_t *s = op->store;
    op_store_batch_res_t failed[OP_STORE_BATCH_MAX];
    bool failure = op_store_failed(status);

    /* A backend that completes inside submit breaks the contract. */
    assert(op->submitted);
    assert(s->stats.in_flight > 0);
    assert(op->nitems <= OP_STORE_BATCH_MAX);
    assert(op->kind == OP_STORE_OP_BATCH || op->nitems == 1);
    if (status != OP_OK) {
        for (size_t i = 0; i < op->nitems; i++)
            failed[i] = (op_store_batch_res_t){.status = status, .res = {.ttl_ms = -1}};
        results = failed;
    }
    for (size_t i = 0; i < op->nitems; i++)
        failure = failure || op_store_failed(results[i].status);
    s->stats.in_flight--;
    if (failure)
        s->stats.failures++;
    if (op->kind == OP_STORE_OP_BATCH)
        op->done.batch_cb(status, results, op->nitems, op->done.arg);
    else
        op->done.cb(results[0].status, &results[0].res, op->done.arg);
    free(op);
    op_store_close_check(s);
}

void op_store_defer(op_store_op_t *op, int status, void (*run)(op_store_op_t *op))
{
    op_store_t *s = op->store;

    op->status = status;
    op->run = run;
    op_list_insert_tail(&s->queue, &op->link);
    if (!op_timer_pending(s->kick))
        op_timer_start(s->kick, 0);
}

/* The open outcome, once known: deliver success here; a failure is
 * delivered by op_store_finish, which also frees the store. Returns true
 * while the requester still waits for open. */
static bool op_store_open_pending(op_store_t *s)
{
    if (s->open_cb == NULL)
        return false;
    if (s->open_status == OP_AGAIN)
        return true;
    if (s->open_status != OP_OK) {
        op_store_schedule_finish(s);
        return true;
    }
    op_store_open_cb cb = s->open_cb;
    s->open_cb = NULL;
    cb(OP_OK, s, NULL, s->open_arg);
    return false;
}

/*
 * The kick timer: deliver the open outcome, then run what was queued
 * before this pass (later additions wait for the next pass, so a callback
 * that queues again cannot starve the loop), then see whether a close can
 * finish.
 */
static void op_store_on_kick(void *arg)
{
    op_store_t *s = arg;

    if (op_store_open_pending(s))
        return;
    op_list_t batch, *first;
    op_list_init(&batch);
    op_list_move_tail(&batch, &s->queue);
    while ((first = op_list_first(&batch)) != NULL) {
        op_store_op_t *op = OP_LIST_ENTRY(first, op_store_op_t, link);
        op_list_remove(first);
        if (op->run != NULL)
            op->run(op);
        else
            op_store_complete(op, op->status, NULL);
    }
    op_store_close_check(s);
}

/* Close's drain deadline: whatever is still in flight is cancelled. */
static void op_store_on_drain(void *arg)
{
    op_store_t *s = arg;

    op_log_warn(NULL,
                "storage: close: cancelling %llu operation(s) still "
                "in flight",
                (unsigned long long)s->stats.in_flight);
    s->backend->cancel_all(s->be);
}

static void op_store_free(op_store_t *s)
{
    if (s->be != NULL)
        s->backend->free(s->be);
    op_timer_free(s->kick);
    op_timer_free(s->drain);
    free(s->prefix);
    free(s);
}

/*
 * The end of a store, from a deferred call (never inside a backend or
 * timer callback of the store itself): free everything, then tell the
 * requester - open's callback when open failed, else close's.
 */
static void op_store_finish(void *arg)
{
    op_store_t *s = arg;
    op_store_open_cb open_cb = s->open_cb;
    void *open_arg = s->open_arg;
    int status = s->open_status;
    op_err_t err = s->open_err;
    op_fn_t close_cb = s->close_cb;
    void *close_arg = s->close_arg;

    s->finish_scheduled = false;
    if (s->stats.in_flight > 0)
        return; /* refused after close: the last completion comes back here */
    assert(op_list_empty(&s->queue));
    op_store_free(s);
    if (open_cb != NULL)
        open_cb(status, NULL, &err, open_arg);
    else if (close_cb != NULL)
        close_cb(close_arg);
}

static void op_store_schedule_finish(op_store_t *s)
{
    if (s->finish_scheduled)
        return;
    op_loop_defer(s->loop, op_store_finish, s);
    s->finish_scheduled = true;
}

/* ---- operations --------------------------------------------------------- */

const char *op_store_op_name(op_store_op_kind_t kind)
{
    static const char *const names[OP_STORE_OP_MAX] = {"put",   "get",  "take",  "del",
                                                       "index", "ping", "batch", "check"};
    return kind < OP_STORE_OP_MAX ? names[kind] : "?";
}

/* New operation with nitems items and key_space bytes of keys, counted as
 * started and in flight. Never NULL. */
static op_store_op_t *op_store_op_new(op_store_t *s, op_store_op_kind_t kind, size_t nitems,
                                      size_t key_space, const op_store_done_t *done)
{
    size_t head = sizeof(op_store_op_t) + nitems * sizeof(op_store_item_t);
    op_store_op_t *op = op_calloc(1, head + key_space);

    op->store = s;
    op->kind = kind;
    op->done = *done;
    op->nitems = nitems;
    s->stats.in_flight++;
    return op;
}

/* Where an operation's key space begins: right after its items. */
static char *op_store_op_keys(op_store_op_t *op)
{
    return (char *)(op->items + op->nitems);
}

/* End an operation that never reaches the backend with status. */
static void op_store_reject(op_store_t *s, op_store_op_kind_t kind, size_t nitems, int status,
                            const op_store_done_t *done)
{
    op_store_op_t *op = op_store_op_new(s, kind, nitems, 0, done);

    op->submitted = true;
    op_store_defer(op, status, NULL);
}

/*
 * The start of every public operation: count it, then refuse it (from the
 * loop) when the store is closing (OP_ECANCELED) or the arguments are bad
 * (why, OP_EINVAL); a refused operation reports nitems results. Returns
 * true when the operation may go on.
 */
static bool op_store_admit(op_store_t *s, op_store_op_kind_t kind, size_t nitems, const char *why,
                           const op_store_done_t *done)
{
    assert(s != NULL && (done->cb != NULL || done->batch_cb != NULL));
    s->stats.ops++;
    if (s->closing) {
        op_store_reject(s, kind, nitems, OP_ECANCELED, done);
        return false;
    }
    if (why != NULL) {
        op_log_debug(NULL, "storage: %s refused: %s", op_store_op_name(kind), why);
        op_store_reject(s, kind, nitems, OP_EINVAL, done);
        return false;
    }
    return true;
}

static void op_store_submit(op_store_t *s, op_store_op_t *op)
{
    s->backend->submit(s->be, op);
    op->submitted = true;
    for (size_t i = 0; i < op->nitems; i++)
        op->items[i].value = (op_str_t){NULL, 0}; /* the caller's buffers, gone now */
}

/* ---- arguments and keys ----------------------------------------------- */

/* A namespace or index name: 1..OP_STORE_MAX_NAME visible ASCII bytes
 * other than ':' (the separator of the key layout). */
static bool op_store_name_ok(const char *s, size_t *len)
{
    if (s == NULL)
        return false;
    size_t n = strnlen(s, OP_STORE_MAX_NAME + 1);
    if (n == 0 || n > OP_STORE_MAX_NAME)
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c <= 0x20 || c >= 0x7f || c == ':')
            return false;
    }
    *len = n;
    return true;
}

/* Bytes (ptr, len): ptr may be NULL only when len is 0. */
static bool op_store_bytes_ok(const char *p, size_t len)
{
    return p != NULL || len == 0;
}

/* Check (ns, key); sets *ns_len. Returns why it is refused, or NULL. */
static const char *op_store_check_key(const char *ns, const char *key, size_t key_len,
                                      size_t *ns_len)
{
    if (!op_store_name_ok(ns, ns_len))
        return "bad namespace";
    if (key == NULL || key_len == 0)
        return "empty key";
    if (key_len > OP_STORE_MAX_KEY - *ns_len)
        return "namespace + key over OP_STORE_MAX_KEY bytes";
    if (key_len >= OP_STORE_IDX_LEN && memcmp(key, OP_STORE_IDX, OP_STORE_IDX_LEN) == 0)
        return "key begins with \"" OP_STORE_IDX "\"";
    return NULL;
}

/* Check an index entry (name, value); sets *name_len. */
static const char *op_store_check_index(const char *name, const char *value, size_t value_len,
                                        size_t *name_len)
{
    if (!op_store_name_ok(name, name_len))
        return "bad index name";
    if (!op_store_bytes_ok(value, value_len))
        return "index value NULL";
    if (value_len > OP_STORE_MAX_KEY - *name_len)
        return "index name + value over OP_STORE_MAX_KEY bytes";
    return NULL;
}

static char *op_store_cat(char *p, const void *src, size_t n)
{
    if (n > 0)
        memcpy(p, src, n);
    return p + n;
}

/* Write prefix ns ":" at p; returns the end. */
static char *op_store_put_ns(const op_store_t *s, char *p, const char *ns, size_t ns_len)
{
    p = op_store_cat(p, s->prefix, s->prefix_len);
    p = op_store_cat(p, ns, ns_len);
    return op_store_cat(p, ":", 1);
}

/* Length of the set key prefix ns ":idx:" name ":" value. */
static size_t op_store_set_key_len(const op_store_t *s, size_t ns_len, size_t name_len,
                                   size_t value_len)
{
    return s->prefix_len + ns_len + 1 + OP_STORE_IDX_LEN + name_len + 1 + value_len;
}

/* Write the set key at p: prefix ns ":idx:" name ":" value. */
static op_str_t op_store_set_key(const op_store_t *s, char *p, const char *ns, size_t ns_len,
                                 const char *name, size_t name_len, const char *value,
                                 size_t value_len)
{
    char *q = op_store_put_ns(s, p, ns, ns_len);
    q = op_store_cat(q, OP_STORE_IDX, OP_STORE_IDX_LEN);
    q = op_store_cat(q, name, name_len);
    q = op_store_cat(q, ":", 1);
    q = op_store_cat(q, value, value_len);
    return (op_str_t){p, (size_t)(q - p)};
}

/* Key space of a record's key, prefix ns ":" key. */
static size_t op_store_key_space(const op_store_t *s, size_t ns_len, size_t key_len)
{
    return s->prefix_len + ns_len + 1 + key_len;
}

/* Key space of a put: the record key and its set keys. */
static size_t op_store_put_space(const op_store_t *s, const op_store_rec_t *rec, size_t ns_len,
                                 const size_t name_lens[])
{
    size_t len = op_store_key_space(s, ns_len, rec->key_len);
    for (size_t i = 0; i < rec->nindexes; i++)
        len += op_store_set_key_len(s, ns_len, name_lens[i], rec->indexes[i].value_len);
    return len;
}

/* Make it a record item of kind: write its key, prefix ns ":" key, at p.
 * Returns the end of what was written. */
static char *op_store_item_key(const op_store_t *s, op_store_item_t *it, op_store_op_kind_t kind,
                               char *p, const char *ns, size_t ns_len, const char *key,
                               size_t key_len)
{
    char *end = op_store_put_ns(s, p, ns, ns_len);
    it->kind = kind;
    it->ns_len = (size_t)(end - p);
    end = op_store_cat(end, key, key_len);
    it->key = (op_str_t){p, (size_t)(end - p)};
    return end;
}

/* Check a record for put; sets the lengths. Returns why, or NULL. */
static const char *op_store_check_put(const op_store_rec_t *rec, unsigned flags, size_t *ns_len,
                                      size_t name_lens[])
{
    if (rec == NULL)
        return "no record";
    if ((flags & ~(unsigned)(OP_STORE_NX | OP_STORE_XX)) != 0 ||
        flags == (OP_STORE_NX | OP_STORE_XX))
        return "bad flags";
    const char *why = op_store_check_key(rec->ns, rec->key, rec->key_len, ns_len);
    if (why != NULL)
        return why;
    if (!op_store_bytes_ok(rec->value, rec->value_len))
        return "value NULL";
    if (rec->value_len > OP_STORE_MAX_VALUE)
        return "value over OP_STORE_MAX_VALUE bytes";
    if (rec->ttl_ms > OP_STORE_MAX_TTL_MS)
        return "TTL over 100 years";
    if (rec->nindexes > OP_STORE_MAX_INDEXES)
        return "too many indexes";
    if (rec->nindexes > 0 && rec->indexes == NULL)
        return "indexes NULL";
    for (size_t i = 0; i < rec->nindexes; i++) {
        const op_store_index_t *ix = &rec->indexes[i];
        why = op_store_check_index(ix->name, ix->value, ix->value_len, &name_lens[i]);
        if (why != NULL)
            return why;
    }
    return NULL;
}

/* Is set key k already among the item's sets? */
static bool op_store_has_set(const op_store_item_t *it, op_str_t k)
{
    for (size_t i = 0; i < it->nsets; i++) {
        if (it->sets[i].len == k.len && memcmp(it->sets[i].ptr, k.ptr, k.len) == 0)
            return true;
    }
    return false;
}

/*
 * Make it a put of rec (checked; lengths from op_store_check_put): its key
 * and distinct set keys at p, the caller's value borrowed. Returns the end
 * of what was written.
 */
static char *op_store_item_put(const op_store_t *s, op_store_item_t *it, char *p,
                               const op_store_rec_t *rec, unsigned flags, size_t ns_len,
                               const size_t name_lens[])
{
    char *end =
        op_store_item_key(s, it, OP_STORE_OP_PUT, p, rec->ns, ns_len, rec->key, rec->key_len);
    for (size_t i = 0; i < rec->nindexes; i++) {
        const op_store_index_t *ix = &rec->indexes[i];
        op_str_t k = op_store_set_key(s, end, rec->ns, ns_len, ix->name, name_lens[i], ix->value,
                                      ix->value_len);
        if (op_store_has_set(it, k))
            continue; /* the same entry twice: one membership */
        it->sets[it->nsets++] = k;
        end += k.len;
    }
    it->value = (op_str_t){rec->value, rec->value_len};
    it->ttl_ms = rec->ttl_ms;
    it->flags = flags;
    return end;
}

/*
 * A keyed operation (GET TAKE DEL): check, build prefix ns ":" key, hand
 * to the backend.
 */
static void op_store_keyed(op_store_t *s, op_store_op_kind_t kind, const char *ns, const char *key,
                           size_t key_len, op_store_cb cb, void *arg)
{
    const op_store_done_t done = {.cb = cb, .arg = arg};
    size_t ns_len = 0;
    const char *why = op_store_check_key(ns, key, key_len, &ns_len);

    if (!op_store_admit(s, kind, 1, why, &done))
        return;
    op_store_op_t *op = op_store_op_new(s, kind, 1, op_store_key_space(s, ns_len, key_len), &done);
    op_store_item_key(s, &op->items[0], kind, op_store_op_keys(op), ns, ns_len, key, key_len);
    op_store_submit(s, op);
}

void op_store_put(op_store_t *s, const op_store_rec_t *rec, unsigned flags, op_store_cb cb,
                  void *arg)
{
    const op_store_done_t done = {.cb = cb, .arg = arg};
    size_t ns_len = 0, name_lens[OP_STORE_MAX_INDEXES] = {0};
    const char *why = op_store_check_put(rec, flags, &ns_len, name_lens);

    if (!op_store_admit(s, OP_STORE_OP_PUT, 1, why, &done))
        return;
    size_t space = op_store_put_space(s, rec, ns_len, name_lens);
    op_store_op_t *op = op_store_op_new(s, OP_STORE_OP_PUT, 1, space, &done);
    op_store_item_put(s, &op->items[0], op_store_op_keys(op), rec, flags, ns_len, name_lens);
    op_store_submit(s, op);
}

void op_store_get(op_store_t *store, const char *ns, const char *key, size_t key_len,
                  op_store_cb cb, void *arg)
{
    op_store_keyed(store, OP_STORE_OP_GET, ns, key, key_len, cb, arg);
}

void op_store_take(op_store_t *store, const char *ns, const char *key, size_t key_len,
                   op_store_cb cb, void *arg)
{
    op_store_keyed(store, OP_STORE_OP_TAKE, ns, key, key_len, cb, arg);
}

void op_store_del(op_store_t *store, const char *ns, const char *key, size_t key_len,
                  op_store_cb cb, void *arg)
{
    op_store_keyed(store, OP_STORE_OP_DEL, ns, key, key_len, cb, arg);
}

/* The item kind of a batch op kind; OP_STORE_OP_MAX for a bad one. */
static op_store_op_kind_t op_store_batch_kind(op_store_batch_kind_t kind)
{
    switch (kind) {
    case OP_STORE_BATCH_GET:
        return OP_STORE_OP_GET;
    case OP_STORE_BATCH_PUT:
        return OP_STORE_OP_PUT;
    case OP_STORE_BATCH_DEL:
        return OP_STORE_OP_DEL;
    case OP_STORE_BATCH_TAKE:
        return OP_STORE_OP_TAKE;
    case OP_STORE_BATCH_CHECK:
        return OP_STORE_OP_CHECK;
    }
    return OP_STORE_OP_MAX;
}

/* A check: exactly one of NX and XX; a value to compare only with XX,
 * bounded like a put's. Returns why it is refused, or NULL. */
static const char *op_store_check_check(const op_store_rec_t *rec, unsigned flags)
{
    if (flags != OP_STORE_NX && flags != OP_STORE_XX)
        return "a check needs exactly one of NX and XX";
    if (rec->value != NULL && flags == OP_STORE_NX)
        return "a value to compare on an NX check";
    if (!op_store_bytes_ok(rec->value, rec->value_len))
        return "value NULL";
    if (rec->value_len > OP_STORE_MAX_VALUE)
        return "value over OP_STORE_MAX_VALUE bytes";
    return NULL;
}

/* Check one op of a batch by the rules of its single operation, and that
 * only a put or a check has flags; sets the lengths. Returns why, or
 * NULL. */
static const char *op_store_check_batch_op(const op_store_batch_op_t *bop, size_t *ns_len,
                                           size_t name_lens[])
{
    op_store_op_kind_t kind = op_store_batch_kind(bop->kind);
    const char *why;

    if (kind == OP_STORE_OP_MAX)
        return "bad op kind";
    if (kind == OP_STORE_OP_PUT)
        return op_store_check_put(&bop->rec, bop->flags, ns_len, name_lens);
    if (kind == OP_STORE_OP_CHECK && (why = op_store_check_check(&bop->rec, bop->flags)) != NULL)
        return why;
    if (kind != OP_STORE_OP_CHECK && bop->flags != 0)
        return "flags on an op other than put or check";
    return op_store_check_key(bop->rec.ns, bop->rec.key, bop->rec.key_len, ns_len);
}

/*
 * A batch: every op is checked before anything is built, so a bad one
 * refuses the whole batch; then one operation carries an item per op, in
 * order, to the backend.
 */
void op_store_batch(op_store_t *s, const op_store_batch_op_t *ops, size_t n, op_store_batch_cb cb,
                    void *arg)
{
    const op_store_done_t done = {.batch_cb = cb, .arg = arg};
    size_t ns_lens[OP_STORE_BATCH_MAX] = {0};
    size_t name_lens[OP_STORE_BATCH_MAX][OP_STORE_MAX_INDEXES] = {{0}};
    size_t space = 0;
    const char *why = NULL;

    if (n == 0 || n > OP_STORE_BATCH_MAX)
        why = "batch of 0 or over OP_STORE_BATCH_MAX ops";
    else if (ops == NULL)
        why = "ops NULL";
    for (size_t i = 0; why == NULL && i < n; i++) {
        why = op_store_check_batch_op(&ops[i], &ns_lens[i], name_lens[i]);
        if (why == NULL)
            space += ops[i].kind == OP_STORE_BATCH_PUT
                         ? op_store_put_space(s, &ops[i].rec, ns_lens[i], name_lens[i])
                         : op_store_key_space(s, ns_lens[i], ops[i].rec.key_len);
    }
    if (!op_store_admit(s, OP_STORE_OP_BATCH, n <= OP_STORE_BATCH_MAX ? n : 0, why, &done))
        return;
    op_store_op_t *op = op_store_op_new(s, OP_STORE_OP_BATCH, n, space, &done);
    char *end = op_store_op_keys(op);
    for (size_t i = 0; i < n; i++) {
        const op_store_rec_t *rec = &ops[i].rec;
        op_store_item_t *it = &op->items[i];
        if (ops[i].kind == OP_STORE_BATCH_PUT) {
            end = op_store_item_put(s, it, end, rec, ops[i].flags, ns_lens[i], name_lens[i]);
            continue;
        }
        end = op_store_item_key(s, it, op_store_batch_kind(ops[i].kind), end, rec->ns, ns_lens[i],
                                rec->key, rec->key_len);
        if (ops[i].kind == OP_STORE_BATCH_CHECK) {
            it->flags = ops[i].flags;
            it->value = (op_str_t){rec->value, rec->value_len};
        }
    }
    op_store_submit(s, op);
}

void op_store_index(op_store_t *s, const char *ns, const char *name, const char *value,
                    size_t value_len, size_t limit, op_store_cb cb, void *arg)
{
    const op_store_done_t done = {.cb = cb, .arg = arg};
    size_t ns_len = 0, name_len = 0;
    const char *why = "bad namespace";

    if (op_store_name_ok(ns, &ns_len))
        why = op_store_check_index(name, value, value_len, &name_len);
    if (!op_store_admit(s, OP_STORE_OP_INDEX, 1, why, &done))
        return;
    size_t len = op_store_set_key_len(s, ns_len, name_len, value_len);
    op_store_op_t *op = op_store_op_new(s, OP_STORE_OP_INDEX, 1, len, &done);
    op_store_item_t *it = &op->items[0];
    it->kind = OP_STORE_OP_INDEX;
    it->key =
        op_store_set_key(s, op_store_op_keys(op), ns, ns_len, name, name_len, value, value_len);
    it->ns_len = s->prefix_len + ns_len + 1;
    it->limit = limit;
    op_store_submit(s, op);
}

void op_store_ping(op_store_t *s, op_store_cb cb, void *arg)
{
    const op_store_done_t done = {.cb = cb, .arg = arg};

    if (!op_store_admit(s, OP_STORE_OP_PING, 1, NULL, &done))
        return;
    op_store_op_t *op = op_store_op_new(s, OP_STORE_OP_PING, 1, 0, &done);
    op->items[0].kind = OP_STORE_OP_PING;
    op_store_submit(s, op);
}

/* ---- open, close, state ------------------------------------------------- */

/*
 * Fill in the defaults of a config (0 = default) into *out: the backends
 * read limits from there only.
 */
static void op_store_defaults(const op_store_config_t *cfg, op_store_config_t *out)
{
    *out = *cfg;
    if (out->timeout_ms == 0)
        out->timeout_ms = OP_STORE_DEF_TIMEOUT_MS;
    if (out->connect_timeout_ms == 0)
        out->connect_timeout_ms = OP_STORE_DEF_CONNECT_MS;
    if (out->backoff_min_ms == 0)
        out->backoff_min_ms = OP_STORE_DEF_BACKOFF_MIN_MS;
    if (out->backoff_max_ms == 0)
        out->backoff_max_ms = OP_STORE_DEF_BACKOFF_MAX_MS;
    if (out->backoff_max_ms < out->backoff_min_ms)
        out->backoff_max_ms = out->backoff_min_ms;
}

/* Check and copy the front end's part of the config (defaults filled). */
static int op_store_configure(op_store_t *s, const op_store_config_t *cfg, op_err_t *err)
{
    if (cfg->kind == OP_STORE_MEMORY)
        s->backend = &op_store_mem_backend;
    else if (cfg->kind == OP_STORE_REDIS)
        s->backend = &op_store_redis_backend;
    else
        return OP_ERR(err, OP_EINVAL, "storage: unknown backend %d", (int)cfg->kind);
    const char *prefix = cfg->prefix != NULL ? cfg->prefix : "";
    size_t n = strnlen(prefix, OP_STORE_MAX_PREFIX + 1);
    if (n > OP_STORE_MAX_PREFIX)
        return OP_ERR(err, OP_EINVAL, "storage.prefix: over %d bytes", OP_STORE_MAX_PREFIX);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)prefix[i];
        if (c <= 0x20 || c >= 0x7f)
            return OP_ERR(err, OP_EINVAL, "storage.prefix: only visible ASCII is allowed");
    }
    s->prefix = op_strndup(prefix, n);
    s->prefix_len = n;
    s->timeout_ms = cfg->timeout_ms;
    return OP_OK;
}

void op_store_open(op_loop_t *loop, const op_store_config_t *cfg, op_store_open_cb cb, void *arg)
{
    op_err_t err;
    op_store_t *s = op_calloc(1, sizeof(*s));

    assert(loop != NULL && cb != NULL);
    s->loop = loop;
    op_list_init(&s->queue);
    s->kick = op_timer_new(loop, op_store_on_kick, s);
    s->drain = op_timer_new(loop, op_store_on_drain, s);
    s->open_cb = cb;
    s->open_arg = arg;
    s->open_status = OP_AGAIN; /* a backend may report before returning */
    op_err_clear(&err);
    op_store_config_t full = {0};
    int rc;
    if (cfg == NULL) {
        rc = OP_ERR(&err, OP_EINVAL, "storage: no configuration");
    } else {
        op_store_defaults(cfg, &full);
        rc = op_store_configure(s, &full, &err);
    }
    if (rc == OP_OK)
        rc = s->backend->open(s, &full, &err);
    if (rc != OP_AGAIN)
        op_store_opened(s, rc, &err);
}

void op_store_opened(op_store_t *s, int status, const op_err_t *err)
{
    s->open_status = status;
    if (status != OP_OK) {
        if (err != NULL && err->code != OP_OK)
            s->open_err = *err;
        else
            OP_ERR(&s->open_err, status, "storage: open failed: %s", op_err_status_name(status));
    }
    op_timer_start(s->kick, 0);
}

void op_store_close(op_store_t *s, op_fn_t cb, void *arg)
{
    assert(s != NULL);
    if (s->closing) {
        op_log_error(NULL, "storage: op_store_close called twice (ignored)");
        return;
    }
    s->closing = true;
    s->close_cb = cb;
    s->close_arg = arg;
    if (s->stats.in_flight > 0) {
        uint64_t ms = s->timeout_ms < OP_STORE_DRAIN_MS ? s->timeout_ms : OP_STORE_DRAIN_MS;
        op_timer_start(s->drain, ms);
    }
    op_store_close_check(s);
}

bool op_store_up(const op_store_t *s)
{
    return !s->closing && s->backend->up(s->be);
}

const char *op_store_kind_name(const op_store_t *s)
{
    return s->backend->name;
}

void op_store_get_stats(const op_store_t *s, op_store_stats_t *out)
{
    *out = s->stats;
}
