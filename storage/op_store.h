/*
 * storage/op_store.h - the async store: records with TTL, secondary
 * indexes kept consistent with the records, atomic take-once, batches
 * that stop at a failed check.
 *
 * A record is (namespace, key) -> value bytes (JSON by convention), with
 * an optional TTL and up to OP_STORE_MAX_INDEXES index entries. An index
 * entry (name, value) puts the record's key in the set "name:value" (e.g.
 * ("sub", "alice") for subject -> sessions). Writes, deletes and takes
 * update the record and its index sets in one atomic step (a Lua script
 * on Redis); a record that expires drops out of its index sets lazily,
 * the next time the set is listed. Keys and index values are opaque
 * bytes: callers hash bearer secrets before they become keys.
 *
 * Two backends, same semantics, same contract tests: "memory" (embedded,
 * one process) and "redis" (hiredis async, shared by workers and hosts).
 *
 * Every operation calls cb exactly once, never before it returns, with
 * OP_OK or an error: OP_ENOTFOUND, OP_EEXIST (create-only put on an
 * existing record), OP_EUNAVAIL (backend down: fails fast),
 * OP_ETIMEDOUT (storage.timeout passed), OP_ECANCELED (store closing),
 * OP_EINVAL (bad arguments). The result is borrowed: valid only during
 * the callback, copy what you keep.
 */
#ifndef OP_STORE_H
#define OP_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/base/op.h"

typedef struct op_store op_store_t;

#define OP_STORE_MAX_INDEXES 4
#define OP_STORE_MAX_KEY     512       /* bytes, namespace + key */
#define OP_STORE_MAX_VALUE   (1 << 20) /* bytes */

typedef enum { OP_STORE_MEMORY = 0, OP_STORE_REDIS } op_store_kind_t;

typedef struct op_store_config {
    op_store_kind_t kind;
    /* redis: "127.0.0.1:6379", "[::1]:6379" or "unix:/path/redis.sock".
     * A host name is refused: hiredis would resolve it synchronously. */
    const char *redis_address;
    const char *redis_password; /* NULL: no AUTH */
    int redis_database;         /* SELECT n, 0 by default */
    const char *prefix;         /* prepended to every key, e.g. "op:" */
    uint64_t timeout_ms;        /* per operation */
    uint64_t connect_timeout_ms;
    uint64_t backoff_min_ms; /* reconnect backoff, doubled up to max */
    uint64_t backoff_max_ms;
} op_store_config_t;

typedef struct op_store_index {
    const char *name;  /* e.g. "sub" */
    const char *value; /* e.g. "alice" */
    size_t value_len;
} op_store_index_t;

typedef struct op_store_rec {
    const char *ns; /* namespace, e.g. "sess" */
    const char *key;
    size_t key_len;
    const char *value;
    size_t value_len;
    uint64_t ttl_ms; /* 0: no expiry */
    const op_store_index_t *indexes;
    size_t nindexes;
} op_store_rec_t;

/* Flags for op_store_put. */
#define OP_STORE_NX 0x1 /* create only: OP_EEXIST if the record exists */
#define OP_STORE_XX 0x2 /* replace only: OP_ENOTFOUND if it does not */

typedef struct op_store_res {
    /* get / take: the value */
    const char *value;
    size_t value_len;
    int64_t ttl_ms; /* remaining TTL, -1 when none */
    /* index: the live keys in the set */
    const op_str_t *keys;
    size_t nkeys;
} op_store_res_t;

typedef void (*op_store_cb)(int status, const op_store_res_t *res, void *arg);

/*
 * Open a store. For redis this connects and PINGs (with
 * connect_timeout_ms); cb gets OP_OK with the store usable, or an error
 * with err filled (the store is then freed for you, *out stays NULL).
 * The config strings are copied.
 */
typedef void (*op_store_open_cb)(int status, op_store_t *store, const op_err_t *err, void *arg);
void op_store_open(op_loop_t *loop, const op_store_config_t *cfg, op_store_open_cb cb, void *arg);

/*
 * Close: every operation in flight completes (with its result, or
 * OP_ECANCELED once the drain deadline passes), then cb(arg) runs and
 * the store is freed. New operations after close get OP_ECANCELED.
 */
void op_store_close(op_store_t *store, op_fn_t cb, void *arg);

/* Is the backend reachable right now (memory: always)? */
bool op_store_up(const op_store_t *store);
const char *op_store_kind_name(const op_store_t *store);

/* Write a record (and its index entries, replacing the old ones). */
void op_store_put(op_store_t *store, const op_store_rec_t *rec, unsigned flags, op_store_cb cb,
                  void *arg);

/* Read a record: res->value. */
void op_store_get(op_store_t *store, const char *ns, const char *key, size_t key_len,
                  op_store_cb cb, void *arg);

/* Read and delete in one atomic step: exactly one caller gets OP_OK for a
 * given record (authorisation codes, single-use request URIs). */
void op_store_take(op_store_t *store, const char *ns, const char *key, size_t key_len,
                   op_store_cb cb, void *arg);

/* Delete a record and its index entries. OP_ENOTFOUND if absent. */
void op_store_del(op_store_t *store, const char *ns, const char *key, size_t key_len,
                  op_store_cb cb, void *arg);

/* Keys of the live records of namespace ns in index (name, value):
 * res->keys / res->nkeys, at most `limit` (0: all). */
void op_store_index(op_store_t *store, const char *ns, const char *name, const char *value,
                    size_t value_len, size_t limit, op_store_cb cb, void *arg);

/* Round trip to the backend (healthcheck). */
void op_store_ping(op_store_t *store, op_store_cb cb, void *arg);

/*
 * Batches: several record operations in ONE backend round trip, so an API
 * call can do all its reads or all its writes at once.
 *
 * The ops run in order and atomically with respect to every other client
 * (one Lua script on redis; one pass of the loop in memory): a later op
 * sees the earlier ones' writes, and no other operation runs in between.
 * A batch is NOT all-or-nothing: each op behaves exactly as the single
 * operation would (NX / XX, not found, TTLs, index sets) and reports its
 * own outcome; a failed NX put in the middle does not undo or stop the
 * others.
 *
 * A check (OP_STORE_BATCH_CHECK) is the one op that stops a batch: it
 * reads record rec.ns / rec.key and lets the rest of the batch run only
 * if a condition holds:
 *   flags OP_STORE_NX  the record is absent;
 *   flags OP_STORE_XX  the record exists and, when rec.value is not NULL,
 *                      holds exactly rec.value_len bytes rec.value
 *                      (compare-and-set: check the value read, then write).
 * A check that holds reports OP_OK. One that fails reports OP_ECONFLICT,
 * and so does every op after it, none of which runs; the ops before it
 * have applied. So "take the code and write its used marker" or "store
 * these tokens unless their family was revoked" is one atomic batch.
 *
 * cb's status is OP_OK when the batch ran (whatever each op says), or the
 * batch's error: OP_EINVAL (ops NULL, n == 0, n > OP_STORE_BATCH_MAX, or
 * any op invalid by the single-op rules, including flags on anything but
 * a put or a check, a check with other flags than exactly NX or XX, a
 * value on an NX check: then nothing runs), OP_EUNAVAIL, OP_ETIMEDOUT,
 * OP_ECANCELED, or (redis) OP_ERROR / OP_EPROTO when redis refused the
 * script or answered nonsense. After a redis error in the middle of the
 * script (only a key of a foreign type written behind the store's back can
 * cause one), the ops before it may have applied: redis does not roll a
 * script back. results is never NULL: it holds n entries (0 when n itself
 * was invalid); on an error each entry carries that error.
 *
 * Stats: a batch is one operation (ops +1, in_flight, failures) and, on
 * redis, one round trip (round_trips +1); the memory backend has none.
 */
typedef enum {
    OP_STORE_BATCH_GET = 0,
    OP_STORE_BATCH_PUT,
    OP_STORE_BATCH_DEL,
    OP_STORE_BATCH_TAKE,
    OP_STORE_BATCH_CHECK
} op_store_batch_kind_t;

typedef struct op_store_batch_op {
    op_store_batch_kind_t kind;
    /* PUT: the whole record; GET/DEL/TAKE: rec.ns, rec.key, rec.key_len;
     * CHECK: those and rec.value / rec.value_len (NULL: no compare) */
    op_store_rec_t rec;
    unsigned flags; /* PUT: OP_STORE_NX / OP_STORE_XX / 0; CHECK: NX or XX; 0 for the others */
} op_store_batch_op_t;

#define OP_STORE_BATCH_MAX 16

/* results[i]: status (OP_OK, OP_ENOTFOUND, OP_EEXIST, OP_ECONFLICT after a
 * failed check) and, for GET and TAKE, value/ttl; borrowed for the callback. */
typedef struct op_store_batch_res {
    int status;
    op_store_res_t res;
} op_store_batch_res_t;

typedef void (*op_store_batch_cb)(int status, const op_store_batch_res_t *results, size_t n,
                                  void *arg);

/* Run ops[0..n) as one batch. ops and everything they point to are
 * borrowed for the call only (values are copied or sent before it
 * returns). */
void op_store_batch(op_store_t *store, const op_store_batch_op_t *ops, size_t n,
                    op_store_batch_cb cb, void *arg);

/* Counters for monitoring and tests. */
typedef struct op_store_stats {
    uint64_t ops;         /* operations started (a batch is one) */
    uint64_t round_trips; /* backend round trips (redis commands) */
    uint64_t failures;    /* operations that ended with an error other
                             than ENOTFOUND / EEXIST / ECONFLICT */
    uint64_t reconnects;
    uint64_t in_flight;
} op_store_stats_t;
void op_store_get_stats(const op_store_t *store, op_store_stats_t *out);

#endif
