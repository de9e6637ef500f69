/*
 * tests/unit/test_op_keys.c - keys/op_keys.c on the memory store: first
 * open generates and stores, later opens load the same kids, wrong
 * encryption key and tampered records fail clearly, the create-only race
 * between two opens, refresh to a new stored version (a retained old set
 * stays valid), failed refreshes keep the set, store errors, bad config,
 * close during a refresh. Every open callback is counted: exactly once,
 * never before op_keys_open returns.
 */
#include "keys/op_keys_int.h"
#include "tests/unit/op_test.h"
#include "tests/unit/op_test_redis.h"

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

static void on_store_open(int status, op_store_t *store, const op_err_t *err, void *arg)
{
    env_t *e = arg;

    OP_UNUSED(err);
    OP_CHECK_INT(status, OP_OK);
    e->store[e->store[0] == NULL ? 0 : 1] = store;
    e->store_calls++;
}

/* A loop and one or two empty memory stores. */
static void env_init(env_t *e, int nstores)
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

static void on_store_closed(void *arg)
{
    OP_UNUSED(arg);
}

static void env_free(env_t *e)
{
    for (int i = 0; i < 2; i++)
        if (e->store[i] != NULL)
            op_store_close(e->store[i], on_store_closed, NULL);
    OP_CHECK_INT(op_loop_run(e->loop), OP_OK);
    op_loop_free(e->loop);
    free(e->value);
}

static void on_open(int status, op_keys_t *keys, const op_err_t *err, void *arg)
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

static void start_open(env_t *e, int store, const uint8_t *enc, uint64_t refresh_ms, opener_t *o)
{
    op_keys_config_t cfg = {.enc_key = enc, .refresh_ms = refresh_ms, .rsa_bits = 2048};

    memset(o, 0, sizeof(*o));
    op_keys_open(e->loop, e->store[store], &cfg, on_open, o);
    OP_CHECK_INT(o->calls, 0);
    o->returned = true;
}

/* Open and run until the callback (no refresh timer keeps the loop busy). */
static void open_keys(env_t *e, int store, const uint8_t *enc, opener_t *o)
{
    start_open(e, store, enc, 0, o);
    OP_CHECK_INT(op_loop_run(e->loop), OP_OK);
    OP_CHECK_INT(o->calls, 1);
    OP_CHECK(!o->early);
}

static void on_get(int status, const op_store_res_t *res, void *arg)
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
static void read_record(env_t *e, int store)
{
    op_store_get(e->store[store], OP_KEYS_NS, OP_KEYS_REC_KEY, 2, on_get, e);
    OP_CHECK_INT(op_loop_run(e->loop), OP_OK);
    OP_CHECK_INT(e->get_status, OP_OK);
}

static void on_put(int status, const op_store_res_t *res, void *arg)
{
    env_t *e = arg;

    OP_UNUSED(res);
    e->put_status = status;
    op_loop_stop(e->loop);
}

/* Overwrite the record; with a refresh timer running, the caller polls. */
static void start_write(env_t *e, int store, const char *value)
{
    op_store_rec_t rec = {.ns = OP_KEYS_NS,
                          .key = OP_KEYS_REC_KEY,
                          .key_len = 2,
                          .value = value,
                          .value_len = strlen(value)};

    e->put_status = 1;
    op_store_put(e->store[store], &rec, 0, on_put, e);
}

static void write_record(env_t *e, int store, const char *value)
{
    start_write(e, store, value);
    OP_CHECK_INT(op_loop_run(e->loop), OP_OK);
    OP_CHECK_INT(e->put_status, OP_OK);
}

/* The kid of every alg, joined: "rs|ps|es|ed". */
static char *kids(op_keys_t *keys)
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

static void on_poll(void *arg)
{
    poll_t *p = arg;

    if (p->cond(p->arg) || ++p->n > MAX_POLLS) {
        p->done = true;
        op_loop_stop(p->e->loop);
        return;
    }
    op_timer_start(p->t, p->every_ms);
}

static void poll_until(env_t *e, bool (*cond)(void *), void *arg)
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

/* ---- cases -------------------------------------------------------------- */

static void test_generate_and_store(void)
{
    env_t e;
    opener_t o;
    op_keys_set_t *set;

    env_init(&e, 1);
    open_keys(&e, 0, key1, &o);
    OP_CHECK_INT(o.status, OP_OK);
    set = op_keys_current(o.keys);
    OP_CHECK_INT(set->nkeys, 3);
    OP_CHECK_INT(set->version, 1);
    OP_CHECK(op_keys_set_jwks(set, NULL) != NULL);
    read_record(&e, 0);
    /* The record names every kid, holds sealed private parts only. */
    for (size_t i = 0; i < set->nkeys; i++)
        OP_CHECK(strstr(e.value, set->keys[i]->pub.kid) != NULL);
    OP_CHECK(strncmp(e.value, "{\"version\":1,", 13) == 0);
    OP_CHECK(strstr(e.value, "\"enc\":\"") != NULL);
    OP_CHECK(strstr(e.value, "\"nonce\":\"") != NULL);
    OP_CHECK(strstr(e.value, "\"alg\":\"RS256\"") != NULL);
    OP_CHECK(strstr(e.value, "\"d\"") == NULL);
    OP_CHECK(strstr(e.value, "\"p\"") == NULL);
    op_keys_set_release(set);
    op_keys_close(o.keys);
    env_free(&e);
}

static void test_reload_same_kids(void)
{
    env_t e;
    opener_t a, b;
    char *ka, *kb, *rec;

    env_init(&e, 1);
    open_keys(&e, 0, key1, &a);
    read_record(&e, 0);
    rec = strdup(e.value);
    ka = kids(a.keys);
    op_keys_close(a.keys);
    open_keys(&e, 0, key1, &b);
    OP_CHECK_INT(b.status, OP_OK);
    kb = kids(b.keys);
    OP_CHECK_STR(kb, ka);
    /* Nothing new was generated or written. */
    read_record(&e, 0);
    OP_CHECK_STR(e.value, rec);
    /* A token of the first instance verifies with the second. */
    op_keys_set_t *set = op_keys_current(b.keys);
    OP_CHECK(op_keys_set_kid(set, OP_JWS_ES256) != NULL);
    op_keys_set_release(set);
    free(ka);
    free(kb);
    free(rec);
    op_keys_close(b.keys);
    env_free(&e);
}

static void test_wrong_enc_key(void)
{
    env_t e;
    opener_t a, b;

    env_init(&e, 1);
    open_keys(&e, 0, key1, &a);
    op_keys_close(a.keys);
    open_keys(&e, 0, key2, &b);
    OP_CHECK_INT(b.status, OP_EDENIED);
    OP_CHECK(b.keys == NULL);
    OP_CHECK(strstr(b.desc, "keyStore.encJWK does not decrypt the stored key set (kid ") != NULL);
    env_free(&e);
}

/* Open a store holding value; expect failure with code and text. */
static void expect_open_fails(env_t *e, const char *value, int code, const char *text)
{
    opener_t o;

    write_record(e, 0, value);
    open_keys(e, 0, key1, &o);
    if (o.status != code || strstr(o.desc, text) == NULL)
        fprintf(stderr, "open: %d \"%s\", expected %d \"%s\"\n", o.status, o.desc, code, text);
    OP_CHECK_INT(o.status, code);
    OP_CHECK(strstr(o.desc, text) != NULL);
}

/* A copy of s with the first `from` replaced by `to`. */
static char *replace(const char *s, const char *from, const char *to)
{
    const char *at = strstr(s, from);
    size_t n = strlen(s) + strlen(to) + 1;
    char *out = malloc(n);

    OP_CHECK(at != NULL && out != NULL);
    snprintf(out, n, "%.*s%s%s", (int)(at - s), s, to, at + strlen(from));
    return out;
}

static void test_tampered_record(void)
{
    env_t e;
    opener_t o;
    char *rec, *bad, *at;

    env_init(&e, 1);
    open_keys(&e, 0, key1, &o);
    op_keys_close(o.keys);
    read_record(&e, 0);
    rec = strdup(e.value);

    /* One ciphertext character changed. */
    bad = strdup(rec);
    at = strstr(bad, "\"enc\":\"") + 20;
    *at = *at == 'A' ? 'B' : 'A';
    expect_open_fails(&e, bad, OP_EDENIED, "keyStore.encJWK does not decrypt");
    free(bad);
    /* A ciphertext moved to another kid (the kid is the associated data). */
    bad = replace(rec, "\"kid\":\"", "\"kid\":\"X");
    expect_open_fails(&e, bad, OP_EDENIED, "keyStore.encJWK does not decrypt");
    free(bad);
    /* Not JSON, no version, no keys, a key without its ciphertext. */
    expect_open_fails(&e, "not json", OP_EINVAL, "stored key set is corrupt");
    expect_open_fails(&e, "{\"version\":1,\"version\":2}", OP_EINVAL, "corrupt");
    bad = replace(rec, "\"version\":1", "\"versio\":1");
    expect_open_fails(&e, bad, OP_EINVAL, "corrupt: no version");
    free(bad);
    expect_open_fails(&e, "{\"version\":1,\"created\":1,\"keys\":[]}", OP_EINVAL, "corrupt");
    bad = replace(rec, "\"enc\":", "\"Enc\":");
    expect_open_fails(&e, bad, OP_EINVAL, "corrupt");
    free(bad);
    bad = replace(rec, "\"alg\":\"RS256\"", "\"alg\":\"ES256\"");
    expect_open_fails(&e, bad, OP_EINVAL, "does not match");
    free(bad);
    bad = replace(rec, "\"nonce\":\"", "\"nonce\":\"AAAA");
    expect_open_fails(&e, bad, OP_EINVAL, "bad nonce");
    free(bad);
    /* The genuine record still opens. */
    write_record(&e, 0, rec);
    open_keys(&e, 0, key1, &o);
    OP_CHECK_INT(o.status, OP_OK);
    op_keys_close(o.keys);
    free(rec);
    env_free(&e);
}

static void test_nx_race(void)
{
    env_t e;
    opener_t a, b;
    char *ka, *kb;
    op_keys_set_t *set;

    env_init(&e, 1);
    start_open(&e, 0, key1, 0, &a);
    start_open(&e, 0, key1, 0, &b);
    OP_CHECK_INT(op_loop_run(e.loop), OP_OK);
    OP_CHECK_INT(a.calls, 1);
    OP_CHECK_INT(b.calls, 1);
    OP_CHECK(!a.early && !b.early);
    OP_CHECK_INT(a.status, OP_OK);
    OP_CHECK_INT(b.status, OP_OK);
    ka = kids(a.keys);
    kb = kids(b.keys);
    OP_CHECK_STR(ka, kb);
    /* And they are the stored ones. */
    read_record(&e, 0);
    set = op_keys_current(a.keys);
    for (size_t i = 0; i < set->nkeys; i++)
        OP_CHECK(strstr(e.value, set->keys[i]->pub.kid) != NULL);
    op_keys_set_release(set);
    free(ka);
    free(kb);
    op_keys_close(a.keys);
    op_keys_close(b.keys);
    env_free(&e);
}

typedef struct watch {
    op_keys_t *keys;
    const char *kid; /* ES256 kid to wait for */
    uint64_t refreshes;
} watch_t;

static bool es_kid_is(void *arg)
{
    watch_t *w = arg;
    op_keys_set_t *set = op_keys_current(w->keys);
    bool same = op_streq(op_keys_set_kid(set, OP_JWS_ES256), w->kid);

    op_keys_set_release(set);
    return same;
}

static bool refreshed(void *arg)
{
    watch_t *w = arg;

    return w->keys->refreshes >= w->refreshes;
}

static bool opened(void *arg)
{
    return ((opener_t *)arg)->calls > 0;
}

static void test_refresh_new_version(void)
{
    env_t e;
    opener_t a, b;
    op_keys_set_t *old, *cur;
    op_arena_t *ar = op_arena_new(1 << 20);
    char *akids, *bkids, *rec, *jws;
    op_jws_t out;
    op_err_t err;
    watch_t w;

    env_init(&e, 2);
    /* B: another key set, in another store; its record as version 2. */
    open_keys(&e, 1, key1, &b);
    bkids = kids(b.keys);
    read_record(&e, 1);
    rec = replace(e.value, "\"version\":1,", "\"version\":2,");
    /* A refreshes every 20 ms and keeps its first set retained. */
    start_open(&e, 0, key1, 20, &a);
    poll_until(&e, opened, &a);
    OP_CHECK_INT(a.calls, 1);
    OP_CHECK(!a.early);
    OP_CHECK_INT(a.status, OP_OK);
    old = op_keys_current(a.keys);
    op_err_clear(&err);
    OP_CHECK_INT(op_jws_sign(old, OP_JWS_ES256, NULL, "{}", 2, ar, &jws, &err), OP_OK);
    /* The stored record changes version: A picks it up. */
    start_write(&e, 0, rec);
    w = (watch_t){.keys = a.keys, .kid = op_keys_set_kid(b.keys->current, OP_JWS_ES256)};
    poll_until(&e, es_kid_is, &w);
    OP_CHECK_INT(e.put_status, OP_OK);
    akids = kids(a.keys);
    OP_CHECK_STR(akids, bkids);
    cur = op_keys_current(a.keys);
    OP_CHECK_INT(cur->version, 2);
    OP_CHECK(cur != old);
    /* The retained old set still verifies and signs; the new one does not
     * know its keys. */
    OP_CHECK_INT(op_jws_verify_set(old, jws, strlen(jws), ~0u, ar, &out, &err), OP_OK);
    OP_CHECK_INT(op_jws_sign(old, OP_JWS_EDDSA, NULL, "{}", 2, ar, &jws, &err), OP_OK);
    OP_CHECK_INT(op_jws_verify_set(old, jws, strlen(jws), ~0u, ar, &out, &err), OP_OK);
    OP_CHECK_INT(op_jws_verify_set(cur, jws, strlen(jws), ~0u, ar, &out, &err), OP_EDENIED);
    op_keys_set_release(old);
    /* Further refreshes of the same version keep the same set. */
    w.refreshes = a.keys->refreshes + 2;
    poll_until(&e, refreshed, &w);
    OP_CHECK(a.keys->current == cur);
    op_keys_set_release(cur);
    free(akids);
    free(bkids);
    free(rec);
    op_arena_free(ar);
    op_keys_close(a.keys);
    op_keys_close(b.keys);
    env_free(&e);
}

static void test_refresh_failure_keeps_set(void)
{
    env_t e;
    opener_t a;
    char *k0, *k1, *rec;
    watch_t w;

    env_init(&e, 1);
    start_open(&e, 0, key1, 10, &a);
    poll_until(&e, opened, &a);
    OP_CHECK_INT(a.status, OP_OK);
    k0 = kids(a.keys);
    read_record(&e, 0);
    rec = strdup(e.value);
    /* A corrupt record: the set stays, the failure is noted once. */
    start_write(&e, 0, "{\"version\":7}");
    w = (watch_t){.keys = a.keys, .refreshes = a.keys->refreshes + 3};
    poll_until(&e, refreshed, &w);
    OP_CHECK(a.keys->warned);
    k1 = kids(a.keys);
    OP_CHECK_STR(k1, k0);
    free(k1);
    /* Back to a good record: the warning clears, the set is the same. */
    start_write(&e, 0, rec);
    w.refreshes = a.keys->refreshes + 3;
    poll_until(&e, refreshed, &w);
    OP_CHECK(!a.keys->warned);
    k1 = kids(a.keys);
    OP_CHECK_STR(k1, k0);
    free(k1);
    free(k0);
    free(rec);
    op_keys_close(a.keys);
    env_free(&e);
}

/*
 * The store fails under open: it is closed right after open started, so
 * the read completes (not found) and the create-only write of the new set
 * is refused with OP_ECANCELED. Open reports it through its callback.
 */
static void test_store_error(void)
{
    env_t e;
    opener_t o;

    env_init(&e, 1);
    start_open(&e, 0, key1, 0, &o);
    op_store_close(e.store[0], on_store_closed, NULL);
    e.store[0] = NULL;
    OP_CHECK_INT(op_loop_run(e.loop), OP_OK);
    OP_CHECK_INT(o.calls, 1);
    OP_CHECK(!o.early);
    OP_CHECK_INT(o.status, OP_ECANCELED);
    OP_CHECK(strstr(o.desc, "cannot store the new key set") != NULL);
    env_free(&e);
}

static void test_bad_config(void)
{
    env_t e;
    opener_t o;
    op_keys_config_t cfg = {.enc_key = key1, .rsa_bits = 1024};

    env_init(&e, 1);
    memset(&o, 0, sizeof(o));
    op_keys_open(e.loop, e.store[0], NULL, on_open, &o);
    o.returned = true;
    OP_CHECK_INT(op_loop_run(e.loop), OP_OK);
    OP_CHECK_INT(o.calls, 1);
    OP_CHECK(!o.early);
    OP_CHECK_INT(o.status, OP_EINVAL);
    OP_CHECK(strstr(o.desc, "keyStore.encJWK") != NULL);
    memset(&o, 0, sizeof(o));
    op_keys_open(e.loop, e.store[0], &cfg, on_open, &o);
    o.returned = true;
    OP_CHECK_INT(op_loop_run(e.loop), OP_OK);
    OP_CHECK_INT(o.calls, 1);
    OP_CHECK(!o.early);
    OP_CHECK_INT(o.status, OP_EINVAL);
    OP_CHECK(strstr(o.desc, "RSA key size 1024") != NULL);
    memset(&o, 0, sizeof(o));
    op_keys_open(e.loop, NULL, &cfg, on_open, &o);
    o.returned = true;
    OP_CHECK_INT(op_loop_run(e.loop), OP_OK);
    OP_CHECK_INT(o.calls, 1);
    OP_CHECK(!o.early);
    OP_CHECK_INT(o.status, OP_EINVAL);
    OP_CHECK(strstr(o.desc, "no store") != NULL);
    env_free(&e);
}

static bool is_refreshing(void *arg)
{
    op_keys_t *keys = arg;

    return keys->refreshing;
}

/* Close while a refresh read is in flight: freed when it returns. */
static bool store_opened(void *arg)
{
    const env_t *e = arg;

    return e->store_calls == 1;
}

/*
 * Close while a refresh read is in flight: the key store is freed when the
 * read completes. The read is held in flight by a paused redis-server (a
 * memory store answers on the next loop turn, too short to catch).
 */
static void test_close_while_refreshing(void)
{
    static op_test_redis_t r;
    env_t e;
    opener_t a;
    op_store_config_t cfg = {.kind = OP_STORE_REDIS, .timeout_ms = 5000};

    op_test_redis_start(&r);
    cfg.redis_address = r.addr;
    memset(&e, 0, sizeof(e));
    OP_CHECK_INT(op_keys_global_init(), OP_OK);
    e.loop = op_loop_new();
    op_store_open(e.loop, &cfg, on_store_open, &e);
    poll_until(&e, store_opened, &e); /* a connection keeps the loop running */
    start_open(&e, 0, key1, 1, &a);
    poll_until(&e, opened, &a);
    OP_CHECK_INT(a.status, OP_OK);
    op_test_redis_pause(&r);
    poll_until(&e, is_refreshing, a.keys);
    op_keys_close(a.keys);
    op_test_redis_resume(&r);
    env_free(&e); /* runs the loop to the end: the read completes */
    op_test_redis_kill(&r, SIGKILL);
}

static const op_test_case_t cases[] = {
    {"generate_and_store", test_generate_and_store},
    {"reload_same_kids", test_reload_same_kids},
    {"wrong_enc_key", test_wrong_enc_key},
    {"tampered_record", test_tampered_record},
    {"nx_race", test_nx_race},
    {"refresh_new_version", test_refresh_new_version},
    {"refresh_failure_keeps_set", test_refresh_failure_keeps_set},
    {"store_error", test_store_error},
    {"bad_config", test_bad_config},
    {"close_while_refreshing", test_close_while_refreshing},
};

OP_TEST_MAIN(cases)
