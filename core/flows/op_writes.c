/*
 * core/flows/op_writes.c - one batch of store writes per API call.
 */
#include <string.h>

#include "core/flows/op_writes.h"

static op_store_batch_op_t *op_writes_slot(op_writes_t *w)
{
    if (w->n == OP_NELEMS(w->ops)) {
        if (w->status == OP_OK)
            w->status = OP_ERROR; /* a bug: a flow never needs this many */
        return NULL;
    }
    op_store_batch_op_t *op = &w->ops[w->n++];
    memset(op, 0, sizeof(*op));
    return op;
}

void op_writes_put(op_writes_t *w, const op_store_rec_t *rec, unsigned flags)
{
    op_store_batch_op_t *op = op_writes_slot(w);
    if (op == NULL)
        return;
    op->kind = OP_STORE_BATCH_PUT;
    op->rec = *rec;
    op->flags = flags;
}

/* A new op of kind on record (ns, key); NULL when the batch is full. */
static op_store_batch_op_t *op_writes_keyed(op_writes_t *w, op_store_batch_kind_t kind,
                                            const char *ns, const char *key)
{
    op_store_batch_op_t *op = op_writes_slot(w);
    if (op == NULL)
        return NULL;
    op->kind = kind;
    op->rec.ns = ns;
    op->rec.key = key;
    op->rec.key_len = strlen(key);
    return op;
}

void op_writes_del(op_writes_t *w, const char *ns, const char *key)
{
    op_writes_keyed(w, OP_STORE_BATCH_DEL, ns, key);
}

void op_writes_check(op_writes_t *w, const char *ns, const char *key, unsigned flags,
                     const char *value, size_t len)
{
    op_store_batch_op_t *op = op_writes_keyed(w, OP_STORE_BATCH_CHECK, ns, key);
    if (op == NULL)
        return;
    op->flags = flags;
    op->rec.value = value;
    op->rec.value_len = len;
}

static void op_writes_done(int status, const op_store_batch_res_t *results, size_t n, void *arg)
{
    op_writes_t *w = arg;
    for (size_t i = 0; status == OP_OK && i < n; i++) {
        if (results[i].status != OP_OK && results[i].status != OP_ENOTFOUND)
            status = results[i].status;
    }
    if (w->status == OP_OK)
        w->status = status;
    w->n = 0;
    w->busy = false;
    op_flow_resume(w->flow);
}

bool op_writes_flush(op_writes_t *w, op_store_t *store, op_flow_t *f)
{
    if (w->n == 0)
        return false;
    w->flow = f;
    w->busy = true;
    op_flow_hold(f);
    op_store_batch(store, w->ops, w->n, op_writes_done, w);
    return true;
}
