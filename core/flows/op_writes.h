/*
 * core/flows/op_writes.h - the store writes of one API call, sent as one batch
 * (core-internal).
 *
 * A flow adds the puts and deletes it decides on as it goes, then flushes
 * them once: one store round trip (storage/op_store.h op_store_batch),
 * atomic against other requests. The flow waits in a state of its own
 * until the batch completes; the completion records the first failure in
 * w->status and resumes the flow.
 */
#ifndef OP_WRITES_H
#define OP_WRITES_H

#include "core/base/op.h"
#include "storage/op_store.h"

typedef struct op_writes {
    op_store_batch_op_t ops[OP_STORE_BATCH_MAX];
    size_t n;
    int status; /* OP_OK, or the first failure (a full batch, a bug: OP_ERROR) */
    bool busy;  /* a batch is out */
    op_flow_t *flow;
} op_writes_t;

/* Add a put / a delete. Everything the record points to (key, value,
 * the index array and its strings) must stay valid until op_writes_flush:
 * the store copies it then. Keep it in the flow's arena. */
void op_writes_put(op_writes_t *w, const op_store_rec_t *rec, unsigned flags);
void op_writes_del(op_writes_t *w, const char *ns, const char *key);

/* Add a check (storage/op_store.h OP_STORE_BATCH_CHECK): the writes added
 * after it apply only if (ns, key) is absent (OP_STORE_NX) or present
 * (OP_STORE_XX), holding exactly value[0..len) when value is not NULL.
 * When it fails, w->status is OP_ECONFLICT and none of them applied.
 * Same lifetime rule for key and value. */
void op_writes_check(op_writes_t *w, const char *ns, const char *key, unsigned flags,
                     const char *value, size_t len);

/*
 * Send the batch for flow f (which it holds until the completion). Returns
 * true when a batch went out: the flow waits (OP_AGAIN) and is resumed;
 * false when there was nothing to send.
 */
bool op_writes_flush(op_writes_t *w, op_store_t *store, op_flow_t *f);

#endif
