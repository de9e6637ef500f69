/*
 * storage/op_store_int.h - private to storage/: the store object, the
 * operation record the front end hands to a backend, the backend vtable,
 * and the redis connection layer.
 *
 * Division of labour:
 *  - op_store.c checks arguments, builds every key (the key layout lives
 *    there only), counts, queues deferred work and delivers callbacks;
 *  - a backend (op_store_mem.c, op_store_redis.c) executes an operation
 *    (its items, in order, atomically: a single operation is one item, a
 *    batch several) and reports its outcome with op_store_complete(),
 *    always from the loop (a timer, a deferred run, a hiredis reply),
 *    never from inside its submit function;
 *  - op_store_redis_conn.c owns the one hiredis connection.
 *
 * Key layout (bytes, binary-safe; ns and index names never contain ':'):
 *   record     prefix ns ":" key
 *   index set  prefix ns ":idx:" name ":" value
 * A record key may not begin with "idx:", so the two never collide.
 */
#ifndef OP_STORE_INT_H
#define OP_STORE_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/base/op.h"
#include "storage/op_store.h"

/* Namespace and index names: 1..64 visible ASCII bytes other than ':'. */
#define OP_STORE_MAX_NAME 64
/* The config prefix: at most this many visible ASCII bytes. */
#define OP_STORE_MAX_PREFIX 64
/* Longest TTL accepted: 100 years, far from any overflow. */
#define OP_STORE_MAX_TTL_MS (100ull * 365 * 24 * 3600 * 1000)
/* The marker between the namespace and an index set's name. */
#define OP_STORE_IDX     "idx:"
#define OP_STORE_IDX_LEN (sizeof(OP_STORE_IDX) - 1)

typedef enum {
    OP_STORE_OP_PUT = 0,
    OP_STORE_OP_GET,
    OP_STORE_OP_TAKE,
    OP_STORE_OP_DEL,
    OP_STORE_OP_INDEX,
    OP_STORE_OP_PING,
    OP_STORE_OP_BATCH,
    OP_STORE_OP_CHECK, /* only inside a batch */
    OP_STORE_OP_MAX
} op_store_op_kind_t;

/*
 * One record operation of a store operation: a single operation has one
 * item of its own kind, a batch one item (PUT GET TAKE DEL CHECK) per op,
 * in order. Backends execute items; only completion tells the two apart.
 * A CHECK item that fails ends the run: it and every later item report
 * OP_ECONFLICT (storage/op_store.h).
 */
typedef struct op_store_item {
    op_store_op_kind_t kind;
    /* The record key (PUT GET TAKE DEL) or the set key (INDEX), in the
     * operation's key space; the first ns_len bytes are prefix ns ":". */
    op_str_t key;
    size_t ns_len;
    /* PUT (the record's value) and CHECK (the value to compare; ptr NULL:
     * none): borrowed from the caller and valid only until the backend's
     * submit returns; sets are the record's distinct index set keys, in
     * the key space. */
    op_str_t value;
    uint64_t ttl_ms;
    unsigned flags; /* PUT, CHECK: OP_STORE_NX / OP_STORE_XX */
    op_str_t sets[OP_STORE_MAX_INDEXES];
    size_t nsets;
    size_t limit; /* INDEX: 0 for all */
    void *priv;   /* the backend's (memory: the prepared record, the value to compare) */
} op_store_item_t;

/* The requester's callback: cb for a single operation, batch_cb for a
 * batch. */
typedef struct op_store_done {
    op_store_cb cb;
    op_store_batch_cb batch_cb;
    void *arg;
} op_store_done_t;

typedef struct op_store_op op_store_op_t;

/*
 * One operation, from the public call to its callback. Allocated by the
 * front end in one block: the struct, items[nitems], then the key space
 * holding every item's keys; freed by op_store_complete(). An operation
 * refused before the backend has its items zeroed.
 */
struct op_store_op {
    op_list_t link; /* on the front end's run queue */
    op_store_t *store;
    op_store_op_kind_t kind; /* OP_STORE_OP_BATCH, or the one item's */
    op_store_done_t done;
    bool submitted; /* the public start call has returned */
    /* Deferred work: run(op) from the queue, or, when run is NULL,
     * complete with status. */
    void (*run)(op_store_op_t *op);
    int status;
    size_t nitems; /* 1 for a single operation; 0 for a batch of bad size */
    op_store_item_t items[];
};

/*
 * A backend. open returns OP_OK (ready now), OP_AGAIN (it will call
 * op_store_opened() later, from the loop) or an error with err filled;
 * it sets store->be. submit takes an operation that passed every check
 * and must end it exactly once with op_store_complete(), later (or hand
 * it to op_store_defer()). cancel_all ends everything in flight with
 * OP_ECANCELED (close's drain deadline). free runs from the loop, never
 * inside a backend callback, when nothing is in flight.
 */
typedef struct op_store_backend {
    const char *name;
    int (*open)(op_store_t *s, const op_store_config_t *cfg, op_err_t *err);
    void (*submit)(void *be, op_store_op_t *op);
    bool (*up)(const void *be);
    void (*cancel_all)(void *be);
    void (*free)(void *be);
} op_store_backend_t;

extern const op_store_backend_t op_store_mem_backend;
extern const op_store_backend_t op_store_redis_backend;

struct op_store {
    op_loop_t *loop;
    const op_store_backend_t *backend;
    void *be;
    char *prefix;
    size_t prefix_len;
    uint64_t timeout_ms;
    op_store_stats_t stats;
    /* Deferred work: a FIFO drained by the kick timer (zero delay). */
    op_list_t queue; /* of op_store_op_t, to run on the next kick */
    op_timer_t *kick;
    /* open */
    op_store_open_cb open_cb;
    void *open_arg;
    int open_status; /* OP_AGAIN while connecting */
    op_err_t open_err;
    /* close */
    bool closing;
    bool finish_scheduled;
    op_timer_t *drain;
    op_fn_t close_cb;
    void *close_arg;
};

/*
 * Backend side of an operation: deliver the outcome and free the
 * operation. Only from the loop. status is the operation's: OP_OK when it
 * ran, with results[i] the outcome of items[i] (borrowed; a single
 * operation's callback gets results[0]), or an error for the whole
 * operation, results then ignored (may be NULL).
 */
void op_store_complete(op_store_op_t *op, int status, const op_store_batch_res_t *results);

/* Queue op: from the loop, run(op) if run is not NULL, else complete it
 * with status. FIFO with every other deferred operation. */
void op_store_defer(op_store_op_t *op, int status, void (*run)(op_store_op_t *op));

/* Backend side of an asynchronous open: OP_OK, or an error with err. */
void op_store_opened(op_store_t *s, int status, const op_err_t *err);

/* "put", "get", ... for logs. */
const char *op_store_op_name(op_store_op_kind_t kind);

/* ---- the redis connection (op_store_redis_conn.c) --------------------- */

struct redisReply;
typedef struct op_store_redis_conn op_store_redis_conn_t;

/* A command's outcome: OP_OK with the reply (borrowed, freed when the
 * callback returns), or OP_ETIMEDOUT / OP_EUNAVAIL / OP_ECANCELED with
 * reply NULL. Runs exactly once, from the loop. */
typedef void (*op_store_redis_conn_cb)(int status, struct redisReply *reply, void *arg);
/* The first connection's outcome (op_store_redis_conn_start). */
typedef void (*op_store_redis_conn_ready_cb)(int status, const op_err_t *err, void *arg);

/* Check the address and copy the config; no I/O. stats is the store's,
 * where reconnects are counted. */
int op_store_redis_conn_new(op_loop_t *loop, const op_store_config_t *cfg, op_store_stats_t *stats,
                            op_store_redis_conn_t **out, op_err_t *err);

/* Connect, AUTH, SELECT, PING within connect_timeout_ms; ready(arg) is
 * called once with the outcome (possibly before this returns: the caller
 * defers). After a success the connection keeps itself up. */
void op_store_redis_conn_start(op_store_redis_conn_t *c, op_store_redis_conn_ready_cb ready,
                               void *arg);

/* Send a command (argv is copied). OP_OK: cb runs exactly once, later.
 * OP_EUNAVAIL (not connected, or hiredis refused): cb is never called. */
int op_store_redis_conn_send(op_store_redis_conn_t *c, int argc, const char **argv,
                             const size_t *lens, op_store_redis_conn_cb cb, void *arg);

bool op_store_redis_conn_up(const op_store_redis_conn_t *c);

/* End every command in flight with OP_ECANCELED and stay down for good.
 * From the loop, never inside a hiredis callback. */
void op_store_redis_conn_cancel_all(op_store_redis_conn_t *c);

/* Free (cancelling what is left). From the loop, never inside a hiredis
 * callback. NULL is a no-op. */
void op_store_redis_conn_free(op_store_redis_conn_t *c);

#endif
