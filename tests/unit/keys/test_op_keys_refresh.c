/*
 * tests/unit/keys/test_op_keys_refresh.c - how keys/op_keys.c's workers follow
 * the stored record: refresh to a new stored version (a retained old set
 * stays valid) and to another set of the same version, failed refreshes
 * keep the set, a lost record stored again or another worker's set
 * adopted, so that workers converge on the stored set (RFC 7517 §5, OIDC
 * Core §10.1: every worker signs with keys the store publishes), close
 * during a refresh.
 */
#include "tests/unit/op_test_keys.h"
#include "tests/unit/op_test_redis.h"

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
    OP_CHECK_INT(op_keys_jws_sign(old, OP_JWS_ES256, NULL, "{}", 2, ar, &jws, &err), OP_OK);
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
    OP_CHECK_INT(op_keys_jws_verify_set(old, jws, strlen(jws), ~0u, ar, &out, &err), OP_OK);
    OP_CHECK_INT(op_keys_jws_sign(old, OP_JWS_EDDSA, NULL, "{}", 2, ar, &jws, &err), OP_OK);
    OP_CHECK_INT(op_keys_jws_verify_set(old, jws, strlen(jws), ~0u, ar, &out, &err), OP_OK);
    OP_CHECK_INT(op_keys_jws_verify_set(cur, jws, strlen(jws), ~0u, ar, &out, &err), OP_EDENIED);
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
    open_polled(&e, 0, key1, 10, &a);
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

typedef struct pair {
    op_keys_t *a, *b;
} pair_t;

static bool same_sets(void *arg)
{
    pair_t *p = arg;
    char *ka = kids(p->a), *kb = kids(p->b);
    bool same = strcmp(ka, kb) == 0;

    free(ka);
    free(kb);
    return same;
}

/*
 * Two sets that both say "version 1": a worker started while the record
 * was lost generates its own, and a running worker must notice that the
 * stored set is another one (by its content, not by a counter) and adopt
 * it, so that every worker signs with the keys the store publishes
 * (RFC 7517 §5, OIDC Core §10.1).
 */
static void test_refresh_other_set_same_version(void)
{
    env_t e;
    opener_t a, b;
    char *akids, *bkids, *rec;
    watch_t w;

    env_init(&e, 2);
    open_keys(&e, 1, key1, &b);
    bkids = kids(b.keys);
    read_record(&e, 1);
    rec = strdup(e.value);
    open_polled(&e, 0, key1, 10, &a);
    OP_CHECK_INT(a.keys->current->version, b.keys->current->version);
    start_write(&e, 0, rec);
    w = (watch_t){.keys = a.keys, .kid = op_keys_set_kid(b.keys->current, OP_JWS_ES256)};
    poll_until(&e, es_kid_is, &w);
    akids = kids(a.keys);
    OP_CHECK_STR(akids, bkids);
    free(akids);
    free(bkids);
    free(rec);
    op_keys_close(a.keys);
    op_keys_close(b.keys);
    env_free(&e);
}

/*
 * The record is lost while a worker runs: its next refresh stores its set
 * again (create-only), byte for byte, so a worker that starts later loads
 * that set instead of generating another.
 */
static void test_refresh_restores_lost_record(void)
{
    env_t e;
    opener_t a, b;
    char *rec;
    watch_t w;

    env_init(&e, 1);
    open_polled(&e, 0, key1, 10, &a);
    read_record(&e, 0);
    rec = strdup(e.value);
    start_delete(&e, 0);
    w = (watch_t){.keys = a.keys, .refreshes = a.keys->refreshes + 3};
    poll_until(&e, refreshed, &w);
    OP_CHECK_INT(e.put_status, OP_OK);
    read_record(&e, 0);
    OP_CHECK_STR(e.value, rec);
    open_polled(&e, 0, key1, 0, &b);
    check_same_kids(a.keys, b.keys);
    free(rec);
    op_keys_close(a.keys);
    op_keys_close(b.keys);
    env_free(&e);
}

/*
 * The record is lost, and a second worker starts while the first runs:
 * whichever stores first (the restore or the new set), both end on one
 * set, and it is the stored one.
 */
static void test_lost_record_workers_converge(void)
{
    env_t e;
    opener_t a, b;
    pair_t p;

    env_init(&e, 1);
    open_polled(&e, 0, key1, 10, &a);
    start_delete(&e, 0);
    open_polled(&e, 0, key1, 10, &b);
    p = (pair_t){a.keys, b.keys};
    poll_until(&e, same_sets, &p);
    check_record_names_current(&e, 0, a.keys);
    op_keys_close(a.keys);
    op_keys_close(b.keys);
    env_free(&e);
}

static bool round_done(void *arg)
{
    op_keys_t *keys = arg;

    return keys->refreshes == 1 && !keys->refreshing;
}

/*
 * The record is lost, a worker's create-only write of its set loses to
 * another worker's, and it adopts the stored set. Deterministic: the
 * memory store runs operations in the order they were started, so the
 * other set is written after the round's read (which finds nothing) and
 * before the round's write.
 */
static void test_restore_loses_to_stored_set(void)
{
    env_t e;
    opener_t a, b;
    char *rec;

    env_init(&e, 2);
    open_keys(&e, 1, key1, &b);
    read_record(&e, 1);
    rec = strdup(e.value);
    open_keys(&e, 0, key1, &a); /* no timer: the test starts the round */
    start_delete(&e, 0);
    OP_CHECK_INT(op_loop_run(e.loop), OP_OK);
    OP_CHECK_INT(e.put_status, OP_OK);
    op_keys_refresh(a.keys);
    start_write(&e, 0, rec);
    poll_until(&e, round_done, a.keys);
    OP_CHECK(!a.keys->warned);
    check_same_kids(a.keys, b.keys);
    read_record(&e, 0);
    OP_CHECK_STR(e.value, rec);
    free(rec);
    op_keys_close(a.keys);
    op_keys_close(b.keys);
    env_free(&e);
}

static bool is_refreshing(void *arg)
{
    op_keys_t *keys = arg;

    return keys->refreshing;
}

/* The redis store of the test below is connected. */
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
    open_polled(&e, 0, key1, 1, &a);
    op_test_redis_pause(&r);
    poll_until(&e, is_refreshing, a.keys);
    op_keys_close(a.keys);
    op_test_redis_resume(&r);
    env_free(&e); /* runs the loop to the end: the read completes */
    op_test_redis_kill(&r, SIGKILL);
}

static const op_test_case_t cases[] = {
    {"refresh_new_version", test_refresh_new_version},
    {"refresh_failure_keeps_set", test_refresh_failure_keeps_set},
    {"refresh_other_set_same_version", test_refresh_other_set_same_version},
    {"refresh_restores_lost_record", test_refresh_restores_lost_record},
    {"lost_record_workers_converge", test_lost_record_workers_converge},
    {"restore_loses_to_stored_set", test_restore_loses_to_stored_set},
    {"close_while_refreshing", test_close_while_refreshing},
};

OP_TEST_MAIN(cases)
