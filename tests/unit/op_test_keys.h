/*
 * tests/unit/op_test_keys.h - the fixture of the key store tests
 * (test_op_keys.c, test_op_keys_refresh.c): a loop with one or two memory
 * stores, op_keys_open with its callback counted (exactly once, never
 * before op_keys_open returns), the stored record read and written behind
 * the key store's back, and polling the loop until a condition holds.
 */
#ifndef OP_TEST_KEYS_H
#define OP_TEST_KEYS_H

#include "keys/op_keys_int.h"
#include "tests/unit/op_test.h"

#define MAX_POLLS 4000 /* x 5 ms: a bound, not a timing assertion */

static const uint8_t key1[32] = {1,  2,  3,  4,  5,  6,  7,  8,  9,  10, 11, 12, 13, 14, 15, 16,
                                 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32};
static const uint8_t key2[32] = {9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9,
                                 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9};

/* One op_keys_open and what its callback saw. */
typedef struct opener {
    int calls;
    bool returned; /* op_keys_open has returned */
    bool early;    /* the callback ran before that */
    int status;
    op_keys_t *keys;
    char desc[OP_ERR_DESC_MAX];
} opener_t;

typedef struct env {
    op_loop_t *loop;
    op_store_t *store[2];
    int store_calls;
    /* store_get results */
    int get_status;
    char *value;
    size_t value_len;
    int put_status;
    bool closed;
} env_t;

static inline void on_store_open(int status, op_store_t *store, const op_err_t *err, void *arg)
{
    env_t *e = arg;

    OP_UNUSED(err);
    OP_CHECK_INT(status, OP_OK);
    e->store[e->store[0] == NULL ? 0 : 1] = store;
    e->store_calls++;
}

/* A loop and one or two empty memory stores. */
static inline void env_init(env_t *e, int nstores)
{
    op_store_config_t cfg;

    memset(e, 0, sizeof(*e));
    memset(&cfg, 0, sizeof(cfg));
    OP_CHECK_INT(op_keys_global_init(), OP_OK);
    e->loop = op_loop_new();
    OP_CHECK(e->loop != NULL);
    cfg.kind = OP_STORE_MEMORY;
    for (int i = 0; i < nstores; i++)
        op_store_open(e->loop, &cfg, on_store_open, e);
    OP_CHECK_INT(op_loop_run(e->loop), OP_OK);
    OP_CHECK_INT(e->store_calls, nstores);
}

static inline void on_store_closed(void *arg)
{
    OP_UNUSED(arg);
}

static inline void env_free(env_t *e)
{
    for (int i = 0; i < 2; i++)
        if (e->store[i] != NULL)
            op_store_close(e->store[i], on_store_closed, NULL);
    OP_CHECK_INT(op_loop_run(e->loop), OP_OK);
    op_loop_free(e->loop);
    free(e->value);
}

static inline void on_open(int status, op_keys_t *keys, const op_err_t *err, void *arg)
{
    opener_t *o = arg;

    o->calls++;
    o->early = !o->returned;
    o->status = status;
    o->keys = keys;
    OP_CHECK(err != NULL);
    OP_CHECK((status == OP_OK) == (keys != NULL));
    OP_CHECK((status == OP_OK) == (err->code == OP_OK));
    snprintf(o->desc, sizeof(o->desc), "%s", err->description);
}

static inline void start_open(env_t *e, int store, const uint8_t *enc, uint64_t refresh_ms,
                              opener_t *o)
{
    op_keys_config_t cfg = {.enc_key = enc, .refresh_ms = refresh_ms, .rsa_bits = 2048};

    memset(o, 0, sizeof(*o));
    op_keys_open(e->loop, e->store[store], &cfg, on_open, o);
    OP_CHECK_INT(o->calls, 0);
    o->returned = true;
}

/* Open and run until the callback (no refresh timer keeps the loop busy). */
static inline void open_keys(env_t *e, int store, const uint8_t *enc, opener_t *o)
{
    start_open(e, store, enc, 0, o);
    OP_CHECK_INT(op_loop_run(e->loop), OP_OK);
    OP_CHECK_INT(o->calls, 1);
    OP_CHECK(!o->early);
}

static inline void on_get(int status, const op_store_res_t *res, void *arg)
{
    env_t *e = arg;

    e->get_status = status;
    free(e->value);
    e->value = NULL;
    if (status == OP_OK) {
        e->value = malloc(res->value_len + 1);
        OP_CHECK(e->value != NULL);
        memcpy(e->value, res->value, res->value_len);
        e->value[res->value_len] = '\0';
        e->value_len = res->value_len;
    }
    op_loop_stop(e->loop); /* a refresh timer may keep the loop busy */
}

/* The stored record of a store, into e->value. */
static inline void read_record(env_t *e, int store)
{
    op_store_get(e->store[store], OP_KEYS_NS, OP_KEYS_REC_KEY, 2, on_get, e);
    OP_CHECK_INT(op_loop_run(e->loop), OP_OK);
    OP_CHECK_INT(e->get_status, OP_OK);
}

static inline void on_put(int status, const op_store_res_t *res, void *arg)
{
    env_t *e = arg;

    OP_UNUSED(res);
    e->put_status = status;
    op_loop_stop(e->loop);
}

/* Overwrite the record; with a refresh timer running, the caller polls. */
static inline void start_write(env_t *e, int store, const char *value)
{
    op_store_rec_t rec = {.ns = OP_KEYS_NS,
                          .key = OP_KEYS_REC_KEY,
                          .key_len = 2,
                          .value = value,
                          .value_len = strlen(value)};

    e->put_status = 1;
    op_store_put(e->store[store], &rec, 0, on_put, e);
}

static inline void write_record(env_t *e, int store, const char *value)
{
    start_write(e, store, value);
    OP_CHECK_INT(op_loop_run(e->loop), OP_OK);
    OP_CHECK_INT(e->put_status, OP_OK);
}

/* Delete the record; with a refresh timer running, the caller polls. */
static inline void start_delete(env_t *e, int store)
{
    e->put_status = 1;
    op_store_del(e->store[store], OP_KEYS_NS, OP_KEYS_REC_KEY, 2, on_put, e);
}

/* The kid of every alg, joined: "rs|ps|es|ed". */
static inline char *kids(op_keys_t *keys)
{
    op_keys_set_t *set = op_keys_current(keys);
    char *s = malloc(256);

    OP_CHECK(set != NULL && s != NULL);
    snprintf(s, 256, "%s|%s|%s|%s", op_keys_set_kid(set, OP_JWS_RS256),
             op_keys_set_kid(set, OP_JWS_PS256), op_keys_set_kid(set, OP_JWS_ES256),
             op_keys_set_kid(set, OP_JWS_EDDSA));
    op_keys_set_release(set);
    return s;
}

/* ---- poll: run the loop until a condition holds ------------------------- */

typedef struct poll {
    env_t *e;
    bool (*cond)(void *arg);
    void *arg;
    int n;
    bool done;
    uint64_t every_ms;
    op_timer_t *t;
} poll_t;

static inline void on_poll(void *arg)
{
    poll_t *p = arg;

    if (p->cond(p->arg) || ++p->n > MAX_POLLS) {
        p->done = true;
        op_loop_stop(p->e->loop);
        return;
    }
    op_timer_start(p->t, p->every_ms);
}

static inline void poll_until(env_t *e, bool (*cond)(void *), void *arg)
{
    poll_t p = {.e = e, .cond = cond, .arg = arg, .every_ms = 5};

    p.t = op_timer_new(e->loop, on_poll, &p);
    OP_CHECK(p.t != NULL);
    op_timer_start(p.t, 0);
    while (!p.done) /* other callbacks may stop the loop too */
        OP_CHECK_INT(op_loop_run(e->loop), OP_OK);
    op_timer_free(p.t);
    OP_CHECK(cond(arg));
}

/* A copy of s with the first `from` replaced by `to`. */
static inline char *replace(const char *s, const char *from, const char *to)
{
    const char *at = strstr(s, from);
    size_t n = strlen(s) + strlen(to) + 1;
    char *out = malloc(n);

    OP_CHECK(at != NULL && out != NULL);
    snprintf(out, n, "%.*s%s%s", (int)(at - s), s, to, at + strlen(from));
    return out;
}

/* ---- conditions to poll for --------------------------------------------- */

typedef struct watch {
    op_keys_t *keys;
    const char *kid; /* ES256 kid to wait for */
    uint64_t refreshes;
} watch_t;

static inline bool es_kid_is(void *arg)
{
    watch_t *w = arg;
    op_keys_set_t *set = op_keys_current(w->keys);
    bool same = op_str_eq(op_keys_set_kid(set, OP_JWS_ES256), w->kid);

    op_keys_set_release(set);
    return same;
}

static inline bool refreshed(void *arg)
{
    watch_t *w = arg;

    return w->keys->refreshes >= w->refreshes;
}

static inline bool opened(void *arg)
{
    return ((opener_t *)arg)->calls > 0;
}

/* Open with a refresh timer of refresh_ms, poll until the callback has run
 * (the timer keeps the loop busy) and check that the open succeeded. */
static inline void open_polled(env_t *e, int store, const uint8_t *enc, uint64_t refresh_ms,
                               opener_t *o)
{
    start_open(e, store, enc, refresh_ms, o);
    poll_until(e, opened, o);
    OP_CHECK_INT(o->status, OP_OK);
}

/* The stored record of a store names every kid of the given set. */
static inline void check_record_names(env_t *e, int store, const op_keys_set_t *set)
{
    read_record(e, store);
    for (size_t i = 0; i < set->nkeys; i++)
        OP_CHECK(strstr(e->value, set->keys[i]->pub.kid) != NULL);
}

/* The stored record of a store names every kid of a key store's current
 * set. */
static inline void check_record_names_current(env_t *e, int store, op_keys_t *keys)
{
    op_keys_set_t *set = op_keys_current(keys);

    check_record_names(e, store, set);
    op_keys_set_release(set);
}

/* Two key stores sign with the same kids. */
static inline void check_same_kids(op_keys_t *a, op_keys_t *b)
{
    char *ka = kids(a), *kb = kids(b);

    OP_CHECK_STR(ka, kb);
    free(ka);
    free(kb);
}

#endif
