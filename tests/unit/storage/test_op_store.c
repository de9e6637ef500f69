/*
 * tests/unit/storage/test_op_store.c - the store contract (storage/op_store.h),
 * run against both backends: every case exists as mem_<name> and
 * redis_<name>, the latter on a real redis-server of its own.
 *
 * The fixture (tests/unit/op_test_redis.h) checks for every operation
 * that its callback ran exactly once and never before the start call
 * returned. Waits run the loop; there are no wall-clock assertions.
 */
#include "tests/unit/op_test_redis.h"

#define NS "sess"

/* put, get, overwrite, namespaces, empty values, ping, stats. */
static void case_put_get(op_test_store_t *fx)
{
    op_store_stats_t st;

    OP_CHECK(op_store_up(fx->store));
    OP_CHECK_INT(op_test_put(fx, NS, "k1", "v1", 0, NULL, NULL, 0), OP_OK);
    op_test_op_t *o = op_test_get(fx, NS, "k1");
    OP_CHECK_INT(o->status, OP_OK);
    OP_CHECK_STR(o->value, "v1");
    OP_CHECK_INT(o->value_len, 2);
    OP_CHECK_INT(o->ttl_ms, -1);

    OP_CHECK_INT(op_test_put(fx, NS, "k1", "v2", 0, NULL, NULL, 0), OP_OK);
    OP_CHECK_STR(op_test_get(fx, NS, "k1")->value, "v2");
    OP_CHECK_INT(op_test_get_status(fx, NS, "nope"), OP_ENOTFOUND);
    OP_CHECK_INT(op_test_get_status(fx, "other", "k1"), OP_ENOTFOUND);

    OP_CHECK_INT(op_test_put(fx, NS, "empty", "", 0, NULL, NULL, 0), OP_OK);
    o = op_test_get(fx, NS, "empty");
    OP_CHECK_INT(o->status, OP_OK);
    OP_CHECK_INT(o->value_len, 0);

    o = op_test_ping_async(fx);
    op_test_store_wait(fx);
    OP_CHECK_INT(o->status, OP_OK);

    op_store_get_stats(fx->store, &st);
    OP_CHECK_INT(st.ops, 9);
    OP_CHECK_INT(st.in_flight, 0);
    OP_CHECK_INT(st.failures, 0);
    OP_CHECK_INT(st.round_trips, fx->kind == OP_STORE_REDIS ? 9 : 0);
}

/* Create-only and replace-only writes. */
static void case_nx_xx(op_test_store_t *fx)
{
    OP_CHECK_INT(op_test_put(fx, NS, "k", "a", 0, NULL, NULL, OP_STORE_XX), OP_ENOTFOUND);
    OP_CHECK_INT(op_test_get_status(fx, NS, "k"), OP_ENOTFOUND);
    OP_CHECK_INT(op_test_put(fx, NS, "k", "a", 0, NULL, NULL, OP_STORE_NX), OP_OK);
    OP_CHECK_INT(op_test_put(fx, NS, "k", "b", 0, NULL, NULL, OP_STORE_NX), OP_EEXIST);
    OP_CHECK_STR(op_test_get(fx, NS, "k")->value, "a");
    OP_CHECK_INT(op_test_put(fx, NS, "k", "c", 0, NULL, NULL, OP_STORE_XX), OP_OK);
    OP_CHECK_STR(op_test_get(fx, NS, "k")->value, "c");
    OP_CHECK_INT(op_test_put(fx, NS, "k", "d", 0, NULL, NULL, OP_STORE_NX | OP_STORE_XX),
                 OP_EINVAL);
    OP_CHECK_INT(op_test_put(fx, NS, "k", "d", 0, NULL, NULL, 0x4), OP_EINVAL);
    OP_CHECK_STR(op_test_get(fx, NS, "k")->value, "c");

    /* EEXIST and ENOTFOUND are answers, not failures. */
    op_store_stats_t st;
    op_store_get_stats(fx->store, &st);
    OP_CHECK_INT(st.failures, 2);
}

/* Records expire by TTL: get, take, del, index and NX/XX all see it. */
static void case_ttl(op_test_store_t *fx)
{
    OP_CHECK_INT(op_test_put(fx, NS, "t1", "v", 150, NULL, NULL, 0), OP_OK);
    OP_CHECK_INT(op_test_put(fx, NS, "t2", "v", 150, NULL, NULL, 0), OP_OK);
    OP_CHECK_INT(op_test_put(fx, NS, "t3", "v", 150, "sub", "alice", 0), OP_OK);
    OP_CHECK_INT(op_test_put(fx, NS, "t4", "v", 150, NULL, NULL, 0), OP_OK);
    OP_CHECK_INT(op_test_put(fx, NS, "keep", "v", 0, NULL, NULL, 0), OP_OK);
    op_test_op_t *o = op_test_get(fx, NS, "t1");
    OP_CHECK_INT(o->status, OP_OK);
    OP_CHECK(o->ttl_ms >= 0 && o->ttl_ms <= 150);
    OP_TEST_KEYS(op_test_index(fx, NS, "sub", "alice", 0), "t3");

    op_test_store_sleep(fx, 300);
    OP_CHECK_INT(op_test_get_status(fx, NS, "t1"), OP_ENOTFOUND);
    OP_CHECK_INT(op_test_keyed(fx, op_store_take, NS, "t2"), OP_ENOTFOUND);
    OP_CHECK_INT(op_test_keyed(fx, op_store_del, NS, "t3"), OP_ENOTFOUND);
    OP_TEST_NO_KEYS(op_test_index(fx, NS, "sub", "alice", 0));
    OP_CHECK_INT(op_test_put(fx, NS, "t4", "w", 0, NULL, NULL, OP_STORE_XX), OP_ENOTFOUND);
    OP_CHECK_INT(op_test_put(fx, NS, "t1", "w", 0, NULL, NULL, OP_STORE_NX), OP_OK);
    o = op_test_get(fx, NS, "t1");
    OP_CHECK_STR(o->value, "w");
    OP_CHECK_INT(o->ttl_ms, -1);
    OP_CHECK_INT(op_test_get_status(fx, NS, "keep"), OP_OK);

    /* An overwrite without TTL makes the record permanent. */
    OP_CHECK_INT(op_test_put(fx, NS, "t5", "v", 100, NULL, NULL, 0), OP_OK);
    OP_CHECK_INT(op_test_put(fx, NS, "t5", "v", 0, NULL, NULL, 0), OP_OK);
    op_test_store_sleep(fx, 200);
    OP_CHECK_INT(op_test_get_status(fx, NS, "t5"), OP_OK);
}

/* Expired records met before any sweep: every access path treats them
 * as gone. */
static void case_ttl_lazy(op_test_store_t *fx)
{
    OP_CHECK_INT(op_test_put(fx, NS, "a", "v", 1, "sub", "x", 0), OP_OK);
    OP_CHECK_INT(op_test_put(fx, NS, "b", "v", 0, "sub", "x", 0), OP_OK);
    OP_CHECK_INT(op_test_put(fx, NS, "c", "v", 1, NULL, NULL, 0), OP_OK);
    OP_CHECK_INT(op_test_put(fx, NS, "d", "v", 1, NULL, NULL, 0), OP_OK);
    OP_CHECK_INT(op_test_put(fx, NS, "e", "v", 1, NULL, NULL, 0), OP_OK);
    op_test_store_sleep(fx, 20);
    OP_TEST_KEYS(op_test_index(fx, NS, "sub", "x", 0), "b");
    OP_CHECK_INT(op_test_get_status(fx, NS, "a"), OP_ENOTFOUND);
    OP_CHECK_INT(op_test_keyed(fx, op_store_take, NS, "c"), OP_ENOTFOUND);
    OP_CHECK_INT(op_test_put(fx, NS, "d", "w", 0, NULL, NULL, OP_STORE_NX), OP_OK);
    OP_CHECK_INT(op_test_keyed(fx, op_store_del, NS, "e"), OP_ENOTFOUND);
}

/* Thousands of records in flight at once: the tables grow and shrink, the
 * sets stay exact. */
static void case_many(op_test_store_t *fx)
{
    enum { N = 3000 };
    char key[16];
    op_test_op_t *o[N];

    for (int i = 0; i < N; i++) {
        snprintf(key, sizeof(key), "m%d", i);
        op_test_put_async(fx, NS, key, key, i % 2 ? 60000 : 0, "grp",
                          i % 3 == 0 ? "three" : "other", 0);
    }
    op_test_store_wait(fx);
    OP_CHECK_INT(op_test_index(fx, NS, "grp", "three", 0)->nkeys, N / 3);
    OP_CHECK_INT(op_test_index(fx, NS, "grp", "other", 10)->nkeys, 10);
    for (int i = 0; i < N; i++) {
        snprintf(key, sizeof(key), "m%d", i);
        o[i] = op_test_keyed_async(fx, op_store_get, NS, key, strlen(key));
    }
    op_test_store_wait(fx);
    for (int i = 0; i < N; i++) {
        snprintf(key, sizeof(key), "m%d", i);
        OP_CHECK_INT(o[i]->status, OP_OK);
        OP_CHECK_STR(o[i]->value, key);
    }
    for (int i = 0; i < N; i++) {
        snprintf(key, sizeof(key), "m%d", i);
        o[i] = op_test_keyed_async(fx, i % 2 ? op_store_del : op_store_take, NS, key, strlen(key));
    }
    op_test_store_wait(fx);
    for (int i = 0; i < N; i++)
        OP_CHECK_INT(o[i]->status, OP_OK);
    OP_TEST_NO_KEYS(op_test_index(fx, NS, "grp", "three", 0));
    OP_TEST_NO_KEYS(op_test_index(fx, NS, "grp", "other", 0));
    OP_CHECK_INT(op_test_put(fx, NS, "m1", "again", 0, NULL, NULL, 0), OP_OK);
    OP_CHECK_STR(op_test_get(fx, NS, "m1")->value, "again");
}

/* N concurrent takes of one record: exactly one of them succeeds. */
static void case_take_once(op_test_store_t *fx)
{
    enum { N = 10 };
    op_test_op_t *takes[N];
    int ok = 0;

    OP_CHECK_INT(op_test_put(fx, "code", "c1", "grant", 0, "client", "c", 0), OP_OK);
    for (int i = 0; i < N; i++)
        takes[i] = op_test_keyed_async(fx, op_store_take, "code", "c1", 2);
    op_test_store_wait(fx);
    for (int i = 0; i < N; i++) {
        if (takes[i]->status == OP_OK) {
            ok++;
            OP_CHECK_STR(takes[i]->value, "grant");
            OP_CHECK_INT(takes[i]->ttl_ms, -1);
        } else {
            OP_CHECK_INT(takes[i]->status, OP_ENOTFOUND);
        }
    }
    OP_CHECK_INT(ok, 1);
    OP_CHECK_INT(op_test_get_status(fx, "code", "c1"), OP_ENOTFOUND);
    OP_TEST_NO_KEYS(op_test_index(fx, "code", "client", "c", 0));

    /* take reports the remaining TTL. */
    OP_CHECK_INT(op_test_put(fx, "code", "c2", "g", 60000, NULL, NULL, 0), OP_OK);
    op_test_op_t *o = op_test_keyed_async(fx, op_store_take, "code", "c2", 2);
    op_test_store_wait(fx);
    OP_CHECK_INT(o->status, OP_OK);
    OP_CHECK(o->ttl_ms > 0 && o->ttl_ms <= 60000);
}

/* del removes the record and its index entries. */
static void case_del(op_test_store_t *fx)
{
    OP_CHECK_INT(op_test_put(fx, NS, "d", "v", 0, "sub", "alice", 0), OP_OK);
    OP_CHECK_INT(op_test_keyed(fx, op_store_del, NS, "d"), OP_OK);
    OP_CHECK_INT(op_test_keyed(fx, op_store_del, NS, "d"), OP_ENOTFOUND);
    OP_CHECK_INT(op_test_get_status(fx, NS, "d"), OP_ENOTFOUND);
    OP_TEST_NO_KEYS(op_test_index(fx, NS, "sub", "alice", 0));
}

/* Index sets follow puts, overwrites, deletes, takes and expiry. */
static void case_index(op_test_store_t *fx)
{
    op_store_index_t two[] = {{"sub", "alice", 5}, {"client", "c1", 2}};
    op_store_rec_t a = {NS, "a", 1, "va", 2, 0, two, 2};
    op_test_put_rec(fx, &a, 0);
    op_test_store_wait(fx);
    OP_CHECK_INT(op_test_put(fx, NS, "b", "vb", 0, "sub", "alice", 0), OP_OK);
    OP_CHECK_INT(op_test_put(fx, NS, "c", "vc", 0, "sub", "bob", 0), OP_OK);
    OP_TEST_KEYS(op_test_index(fx, NS, "sub", "alice", 0), "a", "b");
    OP_TEST_KEYS(op_test_index(fx, NS, "sub", "bob", 0), "c");
    OP_TEST_KEYS(op_test_index(fx, NS, "client", "c1", 0), "a");
    OP_TEST_NO_KEYS(op_test_index(fx, NS, "sub", "nobody", 0));
    OP_TEST_NO_KEYS(op_test_index(fx, "other", "sub", "alice", 0));

    /* Overwrite: the old entries go, atomically with the write. */
    OP_CHECK_INT(op_test_put(fx, NS, "a", "va2", 0, "sub", "bob", 0), OP_OK);
    OP_TEST_KEYS(op_test_index(fx, NS, "sub", "alice", 0), "b");
    OP_TEST_KEYS(op_test_index(fx, NS, "sub", "bob", 0), "a", "c");
    OP_TEST_NO_KEYS(op_test_index(fx, NS, "client", "c1", 0));

    OP_CHECK_INT(op_test_keyed(fx, op_store_del, NS, "b"), OP_OK);
    OP_TEST_NO_KEYS(op_test_index(fx, NS, "sub", "alice", 0));
    OP_CHECK_INT(op_test_keyed(fx, op_store_take, NS, "c"), OP_OK);
    OP_TEST_KEYS(op_test_index(fx, NS, "sub", "bob", 0), "a");

    /* Expiry, and limit. */
    OP_CHECK_INT(op_test_put(fx, NS, "d", "vd", 150, "sub", "bob", 0), OP_OK);
    OP_TEST_KEYS(op_test_index(fx, NS, "sub", "bob", 0), "a", "d");
    op_test_op_t *o = op_test_index(fx, NS, "sub", "bob", 1);
    OP_CHECK_INT(o->nkeys, 1);
    OP_CHECK(strcmp(o->keys[0], "a") == 0 || strcmp(o->keys[0], "d") == 0);
    op_test_store_sleep(fx, 300);
    OP_TEST_KEYS(op_test_index(fx, NS, "sub", "bob", 0), "a");

    /* A record that expired and came back without the entry is not
     * listed under it (e2 keeps the set itself alive). */
    OP_CHECK_INT(op_test_put(fx, NS, "e", "v", 100, "sub", "carol", 0), OP_OK);
    OP_CHECK_INT(op_test_put(fx, NS, "e2", "v", 0, "sub", "carol", 0), OP_OK);
    op_test_store_sleep(fx, 250);
    OP_CHECK_INT(op_test_put(fx, NS, "e", "v", 0, NULL, NULL, 0), OP_OK);
    OP_TEST_KEYS(op_test_index(fx, NS, "sub", "carol", 0), "e2");
    OP_CHECK_INT(op_test_put(fx, NS, "e", "v", 0, "sub", "carol", 0), OP_OK);
    OP_TEST_KEYS(op_test_index(fx, NS, "sub", "carol", 0), "e", "e2");

    /* The same entry twice in one record: one membership. */
    op_store_index_t dup[] = {{"sub", "dave", 4}, {"sub", "dave", 4}};
    op_store_rec_t f = {NS, "f", 1, "v", 1, 0, dup, 2};
    op_test_put_rec(fx, &f, 0);
    op_test_store_wait(fx);
    OP_TEST_KEYS(op_test_index(fx, NS, "sub", "dave", 0), "f");
    OP_CHECK_INT(op_test_keyed(fx, op_store_del, NS, "f"), OP_OK);
    OP_TEST_NO_KEYS(op_test_index(fx, NS, "sub", "dave", 0));

    /* A failed NX put leaves the indexes alone. */
    OP_CHECK_INT(op_test_put(fx, NS, "a", "x", 0, "sub", "eve", OP_STORE_NX), OP_EEXIST);
    OP_TEST_NO_KEYS(op_test_index(fx, NS, "sub", "eve", 0));
    OP_TEST_KEYS(op_test_index(fx, NS, "sub", "bob", 0), "a");
}

/* Keys, values and index values are bytes: spaces, NULs, CR LF, 0xff. */
static void case_binary(op_test_store_t *fx)
{
    static const char key[] = "a b\0c\r\n\xff z";
    static const char key2[] = "a b\0d\r\n\xff z";
    static const char val[] = "x\0y \0\r\n\x01";
    static const char ival[] = "al ice\0\x01";
    op_store_index_t ix = {"sub", ival, sizeof(ival) - 1};
    op_store_rec_t rec = {NS, key, sizeof(key) - 1, val, sizeof(val) - 1, 0, &ix, 1};
    op_store_rec_t rec2 = {NS, key2, sizeof(key2) - 1, "other", 5, 0, NULL, 0};

    op_test_op_t *o = op_test_put_rec(fx, &rec, 0);
    op_test_put_rec(fx, &rec2, 0);
    op_test_store_wait(fx);
    OP_CHECK_INT(o->status, OP_OK);

    o = op_test_keyed_async(fx, op_store_get, NS, key, sizeof(key) - 1);
    op_test_store_wait(fx);
    OP_CHECK_INT(o->status, OP_OK);
    OP_CHECK_INT(o->value_len, sizeof(val) - 1);
    OP_CHECK(memcmp(o->value, val, sizeof(val) - 1) == 0);

    o = op_test_index_async(fx, NS, "sub", ival, sizeof(ival) - 1, 0);
    op_test_store_wait(fx);
    OP_CHECK_INT(o->nkeys, 1);
    OP_CHECK_INT(o->key_lens[0], sizeof(key) - 1);
    OP_CHECK(memcmp(o->keys[0], key, sizeof(key) - 1) == 0);
    /* The index value is compared in full, past the NUL. */
    o = op_test_index_async(fx, NS, "sub", ival, 6, 0);
    op_test_store_wait(fx);
    OP_TEST_NO_KEYS(o);

    o = op_test_keyed_async(fx, op_store_take, NS, key, sizeof(key) - 1);
    op_test_store_wait(fx);
    OP_CHECK_INT(o->status, OP_OK);
    OP_CHECK(memcmp(o->value, val, sizeof(val) - 1) == 0);
    o = op_test_keyed_async(fx, op_store_get, NS, key2, sizeof(key2) - 1);
    op_test_store_wait(fx);
    OP_CHECK_STR(o->value, "other");
    o = op_test_keyed_async(fx, op_store_del, NS, key, sizeof(key) - 1);
    op_test_store_wait(fx);
    OP_CHECK_INT(o->status, OP_ENOTFOUND);

    /* "idx" alone is an ordinary key; "idx:..." is reserved. */
    OP_CHECK_INT(op_test_put(fx, NS, "idx", "v", 0, NULL, NULL, 0), OP_OK);
    OP_CHECK_INT(op_test_put(fx, NS, "idx:sub:alice", "v", 0, NULL, NULL, 0), OP_EINVAL);
}

/* The largest key and value pass, one byte more does not. */
static void case_limits(op_test_store_t *fx)
{
    size_t klen = OP_STORE_MAX_KEY - strlen(NS);
    char *key = malloc(OP_STORE_MAX_KEY + 2);
    char *val = malloc(OP_STORE_MAX_VALUE + 1);
    OP_CHECK(key != NULL && val != NULL);
    memset(key, 'k', OP_STORE_MAX_KEY + 2);
    for (size_t i = 0; i <= OP_STORE_MAX_VALUE; i++)
        val[i] = (char)(i * 7 + i / 251);

    op_store_index_t ix = {"sub", key, OP_STORE_MAX_KEY - 3};
    op_store_rec_t rec = {NS, key, klen, val, OP_STORE_MAX_VALUE, 0, &ix, 1};
    op_test_op_t *o = op_test_put_rec(fx, &rec, 0);
    op_test_store_wait(fx);
    OP_CHECK_INT(o->status, OP_OK);
    o = op_test_keyed_async(fx, op_store_get, NS, key, klen);
    op_test_store_wait(fx);
    OP_CHECK_INT(o->status, OP_OK);
    OP_CHECK_INT(o->value_len, OP_STORE_MAX_VALUE);
    OP_CHECK(memcmp(o->value, val, OP_STORE_MAX_VALUE) == 0);
    o = op_test_index_async(fx, NS, "sub", key, OP_STORE_MAX_KEY - 3, 0);
    op_test_store_wait(fx);
    OP_CHECK_INT(o->nkeys, 1);
    OP_CHECK_INT(o->key_lens[0], klen);
    o = op_test_keyed_async(fx, op_store_take, NS, key, klen);
    op_test_store_wait(fx);
    OP_CHECK_INT(o->status, OP_OK);
    OP_CHECK(memcmp(o->value, val, OP_STORE_MAX_VALUE) == 0);

    /* One byte over each limit. */
    rec.value_len = OP_STORE_MAX_VALUE + 1;
    o = op_test_put_rec(fx, &rec, 0);
    op_test_store_wait(fx);
    OP_CHECK_INT(o->status, OP_EINVAL);
    rec.value_len = 1;
    rec.key_len = klen + 1;
    o = op_test_put_rec(fx, &rec, 0);
    op_test_store_wait(fx);
    OP_CHECK_INT(o->status, OP_EINVAL);
    rec.key_len = klen;
    ix.value_len = OP_STORE_MAX_KEY - 2;
    o = op_test_put_rec(fx, &rec, 0);
    op_test_store_wait(fx);
    OP_CHECK_INT(o->status, OP_EINVAL);
    o = op_test_keyed_async(fx, op_store_get, NS, key, klen + 1);
    op_test_store_wait(fx);
    OP_CHECK_INT(o->status, OP_EINVAL);
    o = op_test_index_async(fx, NS, "sub", key, OP_STORE_MAX_KEY - 2, 0);
    op_test_store_wait(fx);
    OP_CHECK_INT(o->status, OP_EINVAL);
    free(key);
    free(val);
}

/* Hostile arguments: OP_EINVAL, from the loop, exactly once, and never a
 * backend round trip. */
static void case_einval(op_test_store_t *fx)
{
    op_store_stats_t before, after;
    char longname[OP_STORE_MAX_KEY + 2];
    op_store_index_t ix5[5] = {
        {"a", "1", 1}, {"b", "1", 1}, {"c", "1", 1}, {"d", "1", 1}, {"e", "1", 1}};
    op_store_index_t bad_name = {"s:b", "x", 1};
    op_store_index_t null_value = {"sub", NULL, 3};
    const op_store_rec_t recs[] = {
        {NULL, "k", 1, "v", 1, 0, NULL, 0},        {"", "k", 1, "v", 1, 0, NULL, 0},
        {"a:b", "k", 1, "v", 1, 0, NULL, 0},       {"a b", "k", 1, "v", 1, 0, NULL, 0},
        {longname, "k", 1, "v", 1, 0, NULL, 0},    {NS, NULL, 1, "v", 1, 0, NULL, 0},
        {NS, "k", 0, "v", 1, 0, NULL, 0},          {NS, "k", 1, NULL, 1, 0, NULL, 0},
        {NS, "k", 1, "v", 1, UINT64_MAX, NULL, 0}, {NS, "k", 1, "v", 1, 0, ix5, 5},
        {NS, "k", 1, "v", 1, 0, NULL, 1},          {NS, "k", 1, "v", 1, 0, &bad_name, 1},
        {NS, "k", 1, "v", 1, 0, &null_value, 1},
    };
    size_t n = OP_NELEMS(recs);

    memset(longname, 'n', sizeof(longname) - 1);
    longname[sizeof(longname) - 1] = '\0';
    op_store_get_stats(fx->store, &before);
    for (size_t i = 0; i < n; i++)
        op_test_put_rec(fx, &recs[i], 0);
    op_test_put_rec(fx, NULL, 0);
    op_test_keyed_async(fx, op_store_get, NS, NULL, 0);
    op_test_keyed_async(fx, op_store_take, "x:y", "k", 1);
    op_test_keyed_async(fx, op_store_del, NS, "", 0);
    op_test_index_async(fx, NS, NULL, "v", 1, 0);
    op_test_index_async(fx, NS, "", "v", 1, 0);
    op_test_index_async(fx, NS, "sub", NULL, 1, 0);
    op_test_index_async(fx, NULL, "sub", "v", 1, 0);
    size_t total = n + 8;
    OP_CHECK_INT(fx->waiting, total); /* nothing ran inside the calls */
    op_test_store_wait(fx);
    for (size_t i = 0; i < total; i++)
        OP_CHECK_INT(fx->ops[fx->nops - total + i]->status, OP_EINVAL);
    op_store_get_stats(fx->store, &after);
    OP_CHECK_INT(after.ops - before.ops, total);
    OP_CHECK_INT(after.failures - before.failures, total);
    OP_CHECK_INT(after.round_trips, before.round_trips);
    OP_CHECK_INT(after.in_flight, 0);
    OP_CHECK_INT(op_test_get_status(fx, NS, "k"), OP_ENOTFOUND);
}

/* One store operation is one backend round trip (redis), none for the
 * memory backend. */
static void case_round_trips(op_test_store_t *fx)
{
    op_store_stats_t before, after;
    op_store_index_t ix[] = {{"sub", "s", 1}, {"client", "c", 1}, {"sid", "x", 1}, {"acr", "1", 1}};
    op_store_rec_t rec = {NS, "rt", 2, "v", 1, 60000, ix, 4};

    op_store_get_stats(fx->store, &before);
    op_test_put_rec(fx, &rec, 0);
    op_test_store_wait(fx);
    op_test_put_rec(fx, &rec, 0); /* overwrite with 4 indexes */
    op_test_store_wait(fx);
    OP_CHECK_INT(op_test_get_status(fx, NS, "rt"), OP_OK);
    OP_CHECK_INT(op_test_index(fx, NS, "acr", "1", 0)->nkeys, 1);
    OP_CHECK_INT(op_test_keyed(fx, op_store_take, NS, "rt"), OP_OK);
    OP_CHECK_INT(op_test_keyed(fx, op_store_del, NS, "rt"), OP_ENOTFOUND);
    op_test_ping_async(fx);
    op_test_store_wait(fx);
    op_store_get_stats(fx->store, &after);
    OP_CHECK_INT(after.ops - before.ops, 7);
    OP_CHECK_INT(after.round_trips - before.round_trips, fx->kind == OP_STORE_REDIS ? 7 : 0);
    OP_CHECK_INT(after.in_flight, 0);
    OP_CHECK_INT(after.reconnects, 0);
}

/* Callbacks may start operations; they complete later, in order. */
static void on_get_then_put(int status, const op_store_res_t *res, void *arg)
{
    op_test_op_t *o = arg;
    op_test_store_on_op(status, res, arg);
    op_test_put_async(o->fx, NS, "chained", "c", 0, "sub", "z", 0);
}

static void case_reentrant(op_test_store_t *fx)
{
    op_test_op_t *o = op_test_op_new(fx);
    op_store_get(fx->store, NS, "missing", 7, on_get_then_put, o);
    o->returned = true;
    op_test_store_wait(fx); /* the get */
    op_test_store_wait(fx); /* the put it started */
    OP_CHECK_INT(o->status, OP_ENOTFOUND);
    OP_CHECK_INT(fx->ops[1]->status, OP_OK);
    OP_TEST_KEYS(op_test_index(fx, NS, "sub", "z", 0), "chained");
}

/* Close with operations in flight: each ends once (with its result or
 * OP_ECANCELED), operations after close get OP_ECANCELED, and the close
 * callback runs last. */
static void case_close_in_flight(op_test_store_t *fx)
{
    enum { N = 20 };
    char key[16];

    for (int i = 0; i < N; i++) {
        snprintf(key, sizeof(key), "k%d", i);
        if (i % 2 == 0)
            op_test_put_async(fx, NS, key, "v", 0, "sub", "a", 0);
        else
            op_test_keyed_async(fx, op_store_get, NS, key, strlen(key));
    }
    op_test_store_close_async(fx);
    OP_CHECK(!op_store_up(fx->store));
    op_test_op_t *late = op_test_keyed_async(fx, op_store_get, NS, "k0", 2);
    op_test_op_t *late2 = op_test_ping_async(fx);
    op_test_store_wait(fx);
    OP_CHECK_INT(fx->close_calls, 1);
    OP_CHECK(fx->store == NULL);
    for (int i = 0; i < N; i++) {
        int st = fx->ops[i]->status;
        OP_CHECK(st == OP_OK || st == OP_ENOTFOUND || st == OP_ECANCELED);
    }
    OP_CHECK_INT(late->status, OP_ECANCELED);
    OP_CHECK_INT(late2->status, OP_ECANCELED);
}

/* Close from inside an operation's callback. */
static void on_get_then_close(int status, const op_store_res_t *res, void *arg)
{
    op_test_op_t *o = arg;
    op_test_store_on_op(status, res, arg);
    op_test_store_close_async(o->fx);
}

static void case_close_in_callback(op_test_store_t *fx)
{
    op_test_op_t *o = op_test_op_new(fx);
    op_test_op_t *other = op_test_keyed_async(fx, op_store_get, NS, "b", 1);
    op_store_get(fx->store, NS, "a", 1, on_get_then_close, o);
    o->returned = true;
    op_test_op_t *third = op_test_keyed_async(fx, op_store_get, NS, "c", 1);
    op_test_store_wait(fx);
    op_test_store_wait(fx); /* the close */
    OP_CHECK_INT(fx->close_calls, 1);
    OP_CHECK_INT(o->status, OP_ENOTFOUND);
    OP_CHECK_INT(other->status, OP_ENOTFOUND);
    OP_CHECK(third->status == OP_ENOTFOUND || third->status == OP_ECANCELED);
}

/* ---- batches ------------------------------------------------------------ */

#define BPUT(key, value) op_test_bput(NS, key, value, 0, NULL, 0)
#define BKEY(kind, key)  op_test_bkey(OP_STORE_BATCH_##kind, NS, key)
#define BATCH(fx, ...)                                                                             \
    batch_of(fx, (const op_store_batch_op_t[]){__VA_ARGS__},                                       \
             OP_NELEMS(((const op_store_batch_op_t[]){__VA_ARGS__})))

static op_test_op_t *batch_of(op_test_store_t *fx, const op_store_batch_op_t *ops, size_t n)
{
    op_test_op_t *o = op_test_batch(fx, ops, n);
    OP_CHECK_INT(o->status, OP_OK);
    OP_CHECK_INT(o->nres, n);
    return o;
}

/* The ops run in order and each sees the earlier ones' writes; a value
 * read early stays valid for the callback although a later op of the
 * same batch replaces or removes it; the caller's buffers are borrowed for
 * the call only. */
static void case_batch_order(op_test_store_t *fx)
{
    op_test_op_t *o =
        BATCH(fx, BPUT("a", "1"), BPUT("b", "2"), BKEY(DEL, "a"), BKEY(GET, "b"), BKEY(GET, "a"));
    OP_TEST_RES(o, 0, OP_OK, NULL);
    OP_TEST_RES(o, 1, OP_OK, NULL);
    OP_TEST_RES(o, 2, OP_OK, NULL);
    OP_TEST_RES(o, 3, OP_OK, "2");
    OP_CHECK_INT(o->res[3].ttl_ms, -1);
    OP_TEST_RES(o, 4, OP_ENOTFOUND, NULL);
    OP_CHECK_INT(o->res[4].ttl_ms, -1);
    OP_CHECK_INT(op_test_get_status(fx, NS, "a"), OP_ENOTFOUND);
    OP_CHECK_STR(op_test_get(fx, NS, "b")->value, "2");

    o = BATCH(fx, BPUT("c", "v1"), BKEY(GET, "c"), BPUT("c", "v2"), BKEY(GET, "c"), BKEY(TAKE, "c"),
              BKEY(GET, "c"), BKEY(DEL, "c"), BKEY(TAKE, "c"), BPUT("c", "v3"));
    OP_TEST_RES(o, 0, OP_OK, NULL);
    OP_TEST_RES(o, 1, OP_OK, "v1");
    OP_TEST_RES(o, 2, OP_OK, NULL);
    OP_TEST_RES(o, 3, OP_OK, "v2");
    OP_TEST_RES(o, 4, OP_OK, "v2");
    OP_TEST_RES(o, 5, OP_ENOTFOUND, NULL);
    OP_TEST_RES(o, 6, OP_ENOTFOUND, NULL);
    OP_TEST_RES(o, 7, OP_ENOTFOUND, NULL);
    OP_TEST_RES(o, 8, OP_OK, NULL);
    OP_CHECK_STR(op_test_get(fx, NS, "c")->value, "v3");

    /* Borrowed for the call: scribbled over before the batch runs. */
    char key[] = "heap", value[] = "payload", ns[] = NS;
    op_store_batch_op_t ops[] = {op_test_bput(ns, key, value, 60000, NULL, 0),
                                 op_test_bkey(OP_STORE_BATCH_GET, ns, key)};
    o = op_test_batch_async(fx, ops, 2);
    memset(key, 'x', strlen(key));
    memset(value, 'x', strlen(value));
    memset(ns, 'x', strlen(ns));
    memset(ops, 0, sizeof(ops));
    op_test_store_wait(fx);
    OP_CHECK_INT(o->status, OP_OK);
    OP_TEST_RES(o, 1, OP_OK, "payload");
    OP_CHECK(o->res[1].ttl_ms > 0 && o->res[1].ttl_ms <= 60000);
    OP_CHECK_STR(op_test_get(fx, NS, "heap")->value, "payload");
}

/* Not all-or-nothing: an NX conflict or an XX miss in the middle is that
 * op's answer only; the others still apply, and the batch is OP_OK. */
static void case_batch_partial(op_test_store_t *fx)
{
    op_store_stats_t before, after;

    OP_CHECK_INT(op_test_put(fx, NS, "x", "old", 0, NULL, NULL, 0), OP_OK);
    op_store_get_stats(fx->store, &before);
    op_test_op_t *o =
        BATCH(fx, BPUT("a", "1"), op_test_bput(NS, "x", "new", 0, NULL, OP_STORE_NX),
              op_test_bput(NS, "y", "new", 0, NULL, OP_STORE_XX), BPUT("b", "2"), BKEY(GET, "x"),
              BKEY(GET, "y"), op_test_bput(NS, "x", "newer", 0, NULL, OP_STORE_XX),
              op_test_bput(NS, "z", "first", 0, NULL, OP_STORE_NX));
    OP_TEST_RES(o, 0, OP_OK, NULL);
    OP_TEST_RES(o, 1, OP_EEXIST, NULL);
    OP_TEST_RES(o, 2, OP_ENOTFOUND, NULL);
    OP_TEST_RES(o, 3, OP_OK, NULL);
    OP_TEST_RES(o, 4, OP_OK, "old");
    OP_TEST_RES(o, 5, OP_ENOTFOUND, NULL);
    OP_TEST_RES(o, 6, OP_OK, NULL);
    OP_TEST_RES(o, 7, OP_OK, NULL);
    op_store_get_stats(fx->store, &after);
    OP_CHECK_INT(after.failures, before.failures); /* answers, not failures */
    OP_CHECK_STR(op_test_get(fx, NS, "a")->value, "1");
    OP_CHECK_STR(op_test_get(fx, NS, "b")->value, "2");
    OP_CHECK_STR(op_test_get(fx, NS, "x")->value, "newer");
    OP_CHECK_STR(op_test_get(fx, NS, "z")->value, "first");
    OP_CHECK_INT(op_test_get_status(fx, NS, "y"), OP_ENOTFOUND);
}

/* Index sets after batched puts, overwrites, dels and takes are exactly
 * what the same single operations leave; TTLs as well. */
static void case_batch_index(op_test_store_t *fx)
{
    op_store_index_t alice = {"sub", "alice", 5}, bob = {"sub", "bob", 3};
    op_store_index_t two[] = {{"sub", "alice", 5}, {"client", "c1", 2}};
    op_store_index_t dup[] = {{"sub", "dave", 4}, {"sub", "dave", 4}};
    op_store_batch_op_t s1 = op_test_bput(NS, "s1", "v", 60000, NULL, 0);
    op_store_batch_op_t s5 = op_test_bput(NS, "s5", "v", 0, NULL, 0);
    s1.rec.indexes = two;
    s1.rec.nindexes = 2;
    s5.rec.indexes = dup;
    s5.rec.nindexes = 2;

    op_test_op_t *o = BATCH(fx, s1, op_test_bput(NS, "s2", "v", 0, &alice, 0),
                            op_test_bput(NS, "s3", "v", 150, &bob, 0), BKEY(GET, "s1"), s5);
    for (size_t i = 0; i < 5; i++)
        OP_CHECK_INT(o->res[i].status, OP_OK);
    OP_CHECK(o->res[3].ttl_ms > 0 && o->res[3].ttl_ms <= 60000);
    OP_TEST_KEYS(op_test_index(fx, NS, "sub", "alice", 0), "s1", "s2");
    OP_TEST_KEYS(op_test_index(fx, NS, "client", "c1", 0), "s1");
    OP_TEST_KEYS(op_test_index(fx, NS, "sub", "bob", 0), "s3");
    OP_TEST_KEYS(op_test_index(fx, NS, "sub", "dave", 0), "s5");

    /* Overwrite moves s1 to bob (and out of client c1); take and del
     * leave their sets; a failed NX put touches no set. */
    o = BATCH(fx, op_test_bput(NS, "s1", "v2", 0, &bob, 0), BKEY(TAKE, "s2"), BKEY(DEL, "s5"),
              op_test_bput(NS, "s3", "v", 0, &alice, OP_STORE_NX), BKEY(GET, "s1"));
    OP_TEST_RES(o, 0, OP_OK, NULL);
    OP_TEST_RES(o, 1, OP_OK, "v");
    OP_TEST_RES(o, 2, OP_OK, NULL);
    OP_TEST_RES(o, 3, OP_EEXIST, NULL);
    OP_TEST_RES(o, 4, OP_OK, "v2");
    OP_CHECK_INT(o->res[4].ttl_ms, -1);
    OP_TEST_NO_KEYS(op_test_index(fx, NS, "sub", "alice", 0));
    OP_TEST_NO_KEYS(op_test_index(fx, NS, "client", "c1", 0));
    OP_TEST_NO_KEYS(op_test_index(fx, NS, "sub", "dave", 0));
    OP_TEST_KEYS(op_test_index(fx, NS, "sub", "bob", 0), "s1", "s3");

    /* s3 expires out of its set as a single put's record would. */
    op_test_store_sleep(fx, 300);
    OP_TEST_KEYS(op_test_index(fx, NS, "sub", "bob", 0), "s1");
    o = BATCH(fx, BKEY(DEL, "s1"), BKEY(GET, "s3"));
    OP_TEST_RES(o, 0, OP_OK, NULL);
    OP_TEST_RES(o, 1, OP_ENOTFOUND, NULL);
    OP_TEST_NO_KEYS(op_test_index(fx, NS, "sub", "bob", 0));
}

/* A take inside batches racing single takes of the same record: exactly
 * one of them all gets it. */
static void case_batch_take_once(op_test_store_t *fx)
{
    enum { N = 12 };
    op_test_op_t *o[N];
    op_store_batch_op_t ops[] = {op_test_bkey(OP_STORE_BATCH_GET, "code", "other"),
                                 op_test_bkey(OP_STORE_BATCH_TAKE, "code", "c1")};
    op_store_index_t ix = {"client", "c", 1};
    int ok = 0;

    OP_CHECK_INT(op_test_put(fx, "code", "c1", "grant", 0, "client", "c", 0), OP_OK);
    for (int i = 0; i < N; i++)
        o[i] = i % 2 ? op_test_batch_async(fx, ops, 2)
                     : op_test_keyed_async(fx, op_store_take, "code", "c1", 2);
    op_test_store_wait(fx);
    for (int i = 0; i < N; i++) {
        const char *value = i % 2 ? o[i]->res[1].value : o[i]->value;
        int status = i % 2 ? o[i]->res[1].status : o[i]->status;
        OP_CHECK_INT(o[i]->status, i % 2 ? OP_OK : status);
        if (i % 2)
            OP_TEST_RES(o[i], 0, OP_ENOTFOUND, NULL);
        if (status == OP_OK) {
            ok++;
            OP_CHECK_STR(value, "grant");
        } else {
            OP_CHECK_INT(status, OP_ENOTFOUND);
        }
    }
    OP_CHECK_INT(ok, 1);
    OP_TEST_NO_KEYS(op_test_index(fx, "code", "client", "c", 0));

    /* And with the batch first in line. */
    op_store_batch_op_t put = op_test_bput("code", "c2", "g2", 0, &ix, 0);
    OP_CHECK_INT(batch_of(fx, &put, 1)->res[0].status, OP_OK);
    ops[1].rec.key = "c2";
    op_test_op_t *b = op_test_batch_async(fx, ops, 2);
    op_test_op_t *t = op_test_keyed_async(fx, op_store_take, "code", "c2", 2);
    op_test_store_wait(fx);
    OP_TEST_RES(b, 1, OP_OK, "g2");
    OP_CHECK_INT(t->status, OP_ENOTFOUND);
}

/* A check op (value NULL: presence only; value_len bytes otherwise). */
static op_store_batch_op_t bcheck(const char *key, unsigned flags, const char *value,
                                  size_t value_len)
{
    op_store_batch_op_t op = op_test_bkey(OP_STORE_BATCH_CHECK, NS, key);
    op.flags = flags;
    op.rec.value = value;
    op.rec.value_len = value_len;
    return op;
}

#define CHECK_NX(key)    bcheck(key, OP_STORE_NX, NULL, 0)
#define CHECK_XX(key)    bcheck(key, OP_STORE_XX, NULL, 0)
#define CHECK_EQ(key, v) bcheck(key, OP_STORE_XX, v, strlen(v))

/* A check lets the rest of the batch run only while its condition holds:
 * NX absent, XX present, XX with a value present with exactly that value
 * (binary: a NUL inside counts, an empty value is a value). When it fails,
 * it and every op after it report OP_ECONFLICT and none of them runs; the
 * ops before it applied. A failed check is an answer, not a failure. */
static void case_batch_check(op_test_store_t *fx)
{
    op_store_stats_t before, after;
    op_store_rec_t bin = {NS, "bin", 3, "a\0b", 3, 0, NULL, 0};

    OP_CHECK_INT(op_test_put(fx, NS, "k", "v1", 0, NULL, NULL, 0), OP_OK);
    op_store_get_stats(fx->store, &before);
    op_test_op_t *o = BATCH(fx, CHECK_NX("gone"), CHECK_XX("k"), CHECK_EQ("k", "v1"),
                            BPUT("a", "1"), BKEY(TAKE, "k"));
    for (size_t i = 0; i < 4; i++)
        OP_TEST_RES(o, i, OP_OK, NULL);
    OP_TEST_RES(o, 4, OP_OK, "v1");

    /* k is gone: the check fails, b (before it) applied, nothing after. */
    o = BATCH(fx, BPUT("b", "2"), CHECK_XX("k"), BPUT("c", "3"), BKEY(DEL, "a"), BKEY(GET, "b"));
    OP_TEST_RES(o, 0, OP_OK, NULL);
    for (size_t i = 1; i < 5; i++) {
        OP_TEST_RES(o, i, OP_ECONFLICT, NULL);
        OP_CHECK_INT(o->res[i].ttl_ms, -1);
    }
    OP_CHECK_STR(op_test_get(fx, NS, "b")->value, "2");
    OP_CHECK_STR(op_test_get(fx, NS, "a")->value, "1");
    OP_CHECK_INT(op_test_get_status(fx, NS, "c"), OP_ENOTFOUND);

    /* NX on a record that exists; a failed check as the last op. */
    o = BATCH(fx, BKEY(GET, "a"), CHECK_NX("a"), BPUT("a", "x"));
    OP_TEST_RES(o, 0, OP_OK, "1");
    OP_TEST_RES(o, 1, OP_ECONFLICT, NULL);
    OP_TEST_RES(o, 2, OP_ECONFLICT, NULL);
    o = BATCH(fx, BPUT("d", "4"), CHECK_NX("d"));
    OP_TEST_RES(o, 0, OP_OK, NULL);
    OP_TEST_RES(o, 1, OP_ECONFLICT, NULL);
    OP_CHECK_STR(op_test_get(fx, NS, "a")->value, "1");

    /* Compare-and-set: another value (same length, a prefix, longer)
     * fails; the value read succeeds. */
    OP_CHECK_INT(op_test_put(fx, NS, "k", "v2", 0, NULL, NULL, 0), OP_OK);
    const char *const wrong[] = {"v1", "v", "v22", ""};
    for (size_t i = 0; i < OP_NELEMS(wrong); i++) {
        o = BATCH(fx, CHECK_EQ("k", wrong[i]), BPUT("k", "v3"));
        OP_TEST_RES(o, 0, OP_ECONFLICT, NULL);
        OP_TEST_RES(o, 1, OP_ECONFLICT, NULL);
    }
    OP_CHECK_STR(op_test_get(fx, NS, "k")->value, "v2");
    o = BATCH(fx, CHECK_EQ("k", "v2"), BPUT("k", "v3"));
    OP_TEST_RES(o, 1, OP_OK, NULL);
    OP_CHECK_STR(op_test_get(fx, NS, "k")->value, "v3");
    OP_CHECK_INT(op_test_put(fx, NS, "e", "", 0, NULL, NULL, 0), OP_OK);
    OP_TEST_RES(BATCH(fx, CHECK_EQ("e", "")), 0, OP_OK, NULL);
    OP_TEST_RES(BATCH(fx, CHECK_EQ("nope", "")), 0, OP_ECONFLICT, NULL);
    op_test_op_t *p = op_test_put_rec(fx, &bin, 0);
    op_test_store_wait(fx);
    OP_CHECK_INT(p->status, OP_OK);
    OP_TEST_RES(BATCH(fx, bcheck("bin", OP_STORE_XX, "a\0b", 3)), 0, OP_OK, NULL);
    OP_TEST_RES(BATCH(fx, bcheck("bin", OP_STORE_XX, "a\0c", 3)), 0, OP_ECONFLICT, NULL);
    OP_TEST_RES(BATCH(fx, bcheck("bin", OP_STORE_XX, "a", 1)), 0, OP_ECONFLICT, NULL);

    /* An expired record is absent. */
    OP_CHECK_INT(op_test_put(fx, NS, "t", "v", 100, NULL, NULL, 0), OP_OK);
    OP_TEST_RES(BATCH(fx, CHECK_XX("t")), 0, OP_OK, NULL);
    op_test_store_sleep(fx, 300);
    OP_TEST_RES(BATCH(fx, CHECK_NX("t")), 0, OP_OK, NULL);
    OP_TEST_RES(BATCH(fx, CHECK_XX("t")), 0, OP_ECONFLICT, NULL);

    op_store_get_stats(fx->store, &after);
    OP_CHECK_INT(after.failures, before.failures);
    OP_CHECK_INT(after.in_flight, 0);
}

/* Compare-and-set races: of N batches that each check the value they read
 * and replace it, exactly one applies; the rest apply nothing. */
static void case_batch_check_race(op_test_store_t *fx)
{
    enum { N = 10 };
    op_test_op_t *o[N];
    op_store_batch_op_t ops[N][2];
    char values[N][16];
    int won = -1;

    OP_CHECK_INT(op_test_put(fx, NS, "s", "v0", 0, NULL, NULL, 0), OP_OK);
    for (int i = 0; i < N; i++) {
        snprintf(values[i], sizeof(values[i]), "w%d", i);
        ops[i][0] = CHECK_EQ("s", "v0");
        ops[i][1] = BPUT("s", values[i]);
        o[i] = op_test_batch_async(fx, ops[i], 2);
    }
    op_test_store_wait(fx);
    for (int i = 0; i < N; i++) {
        OP_CHECK_INT(o[i]->status, OP_OK);
        if (o[i]->res[0].status == OP_OK) {
            OP_CHECK_INT(won, -1);
            won = i;
            OP_TEST_RES(o[i], 1, OP_OK, NULL);
        } else {
            OP_TEST_RES(o[i], 0, OP_ECONFLICT, NULL);
            OP_TEST_RES(o[i], 1, OP_ECONFLICT, NULL);
        }
    }
    OP_CHECK(won >= 0);
    OP_CHECK_STR(op_test_get(fx, NS, "s")->value, values[won]);
}

/* A batch is one operation and one round trip (redis; none in memory),
 * up to OP_STORE_BATCH_MAX puts with OP_STORE_MAX_INDEXES entries each. */
static void case_batch_round_trips(op_test_store_t *fx)
{
    op_store_stats_t before, after;
    op_store_index_t ix[] = {{"sub", "s", 1}, {"client", "c", 1}, {"sid", "x", 1}, {"acr", "1", 1}};
    op_store_batch_op_t ops[OP_STORE_BATCH_MAX];
    char keys[OP_STORE_BATCH_MAX][8];

    for (size_t i = 0; i < OP_STORE_BATCH_MAX; i++) {
        snprintf(keys[i], sizeof(keys[i]), "r%zu", i);
        ops[i] = op_test_bput(NS, keys[i], keys[i], 60000, NULL, 0);
        ops[i].rec.indexes = ix;
        ops[i].rec.nindexes = OP_NELEMS(ix);
    }
    op_store_get_stats(fx->store, &before);
    op_test_op_t *o = batch_of(fx, ops, OP_STORE_BATCH_MAX);
    for (size_t i = 0; i < OP_STORE_BATCH_MAX; i++) {
        OP_TEST_RES(o, i, OP_OK, NULL);
        ops[i] = op_test_bkey(i % 2 ? OP_STORE_BATCH_GET : OP_STORE_BATCH_TAKE, NS, keys[i]);
    }
    o = batch_of(fx, ops, OP_STORE_BATCH_MAX);
    for (size_t i = 0; i < OP_STORE_BATCH_MAX; i++)
        OP_TEST_RES(o, i, OP_OK, keys[i]);
    op_store_get_stats(fx->store, &after);
    OP_CHECK_INT(after.ops - before.ops, 2);
    OP_CHECK_INT(after.round_trips - before.round_trips, fx->kind == OP_STORE_REDIS ? 2 : 0);
    OP_CHECK_INT(after.failures, before.failures);
    OP_CHECK_INT(after.in_flight, 0);
    OP_CHECK_INT(op_test_index(fx, NS, "acr", "1", 0)->nkeys, OP_STORE_BATCH_MAX / 2);
}

/* Bad batches: OP_EINVAL from the loop, exactly once, no round trip, and
 * none of their ops applied (a good op before a bad one included). */
static void case_batch_einval(op_test_store_t *fx)
{
    op_store_stats_t before, after;
    op_store_batch_op_t ops[OP_STORE_BATCH_MAX + 1];
    char *longkey = malloc(OP_STORE_MAX_KEY + 1);
    OP_CHECK(longkey != NULL);
    memset(longkey, 'k', OP_STORE_MAX_KEY);
    longkey[OP_STORE_MAX_KEY - strlen(NS) + 1] = '\0'; /* one byte over */

    for (size_t i = 0; i < OP_NELEMS(ops); i++)
        ops[i] = BKEY(GET, "k");
    ops[0] = BPUT("k", "v");
    op_store_batch_op_t bad[] = {
        BKEY(GET, longkey),
        op_test_bput(NS, longkey, "v", 0, NULL, 0),
        op_test_bkey((op_store_batch_kind_t)7, NS, "k"),
        op_test_bput(NS, "k", "v", 0, NULL, OP_STORE_NX | OP_STORE_XX),
        op_test_bput(NS, "idx:k", "v", 0, NULL, 0),
        op_test_bput(NS, "k", "v", UINT64_MAX, NULL, 0),
        op_test_bkey(OP_STORE_BATCH_TAKE, "a:b", "k"),
        op_test_bkey(OP_STORE_BATCH_DEL, NULL, "k"),
        BKEY(GET, ""),
        bcheck("k", 0, NULL, 0),
        bcheck("k", OP_STORE_NX | OP_STORE_XX, NULL, 0),
        bcheck("k", OP_STORE_NX, "v", 1),
        bcheck("k", OP_STORE_XX, NULL, 1),
        bcheck("idx:k", OP_STORE_XX, NULL, 0),
    };
    bad[8].rec.key = NULL;
    op_store_batch_op_t get_nx = BKEY(GET, "k"), put_null = BPUT("k", "v");
    get_nx.flags = OP_STORE_NX;
    put_null.rec.value = NULL;

    op_store_get_stats(fx->store, &before);
    size_t first = fx->nops;
    op_test_batch_async(fx, ops, 0);
    op_test_batch_async(fx, ops, OP_STORE_BATCH_MAX + 1);
    op_test_batch_async(fx, NULL, 1);
    for (size_t i = 0; i < OP_NELEMS(bad); i++) {
        ops[1] = bad[i];
        op_test_batch_async(fx, ops, 3);
    }
    ops[1] = get_nx;
    op_test_batch_async(fx, ops, 2);
    ops[1] = put_null;
    op_test_batch_async(fx, ops, 2);
    size_t total = fx->nops - first;
    OP_CHECK_INT(fx->waiting, total); /* nothing ran inside the calls */
    op_test_store_wait(fx);
    for (size_t i = 0; i < total; i++) {
        op_test_op_t *o = fx->ops[first + i];
        size_t n = i == 0 || i == 1 ? 0 : i == 2 ? 1 : i < 3 + OP_NELEMS(bad) ? 3 : 2;
        OP_CHECK_INT(o->status, OP_EINVAL);
        OP_CHECK_INT(o->nres, n);
        for (size_t k = 0; k < n; k++) {
            OP_TEST_RES(o, k, OP_EINVAL, NULL);
            OP_CHECK_INT(o->res[k].ttl_ms, -1);
        }
    }
    op_store_get_stats(fx->store, &after);
    OP_CHECK_INT(after.ops - before.ops, total);
    OP_CHECK_INT(after.failures - before.failures, total);
    OP_CHECK_INT(after.round_trips, before.round_trips);
    OP_CHECK_INT(after.in_flight, 0);
    OP_CHECK_INT(op_test_get_status(fx, NS, "k"), OP_ENOTFOUND);
    free(longkey);
}

/* A batch in flight when the store closes ends once (ran or cancelled);
 * one started after close gets OP_ECANCELED for itself and every op. */
static void case_batch_close(op_test_store_t *fx)
{
    op_store_batch_op_t ops[] = {BPUT("a", "1"), BKEY(GET, "a"), BKEY(DEL, "a")};

    op_test_op_t *inflight = op_test_batch_async(fx, ops, 3);
    op_test_store_close_async(fx);
    op_test_op_t *late = op_test_batch_async(fx, ops, 3);
    op_test_store_wait(fx);
    OP_CHECK_INT(fx->close_calls, 1);
    OP_CHECK(inflight->status == OP_OK || inflight->status == OP_ECANCELED);
    OP_CHECK_INT(inflight->nres, 3);
    if (inflight->status == OP_OK)
        OP_TEST_RES(inflight, 1, OP_OK, "1");
    OP_CHECK_INT(late->status, OP_ECANCELED);
    OP_CHECK_INT(late->nres, 3);
    for (size_t i = 0; i < 3; i++)
        OP_TEST_RES(late, i, OP_ECANCELED, NULL);
}

/* ---- the table: every case against both backends ---------------------- */

#define CASE(name)                                                                                 \
    static void mem_##name(void)                                                                   \
    {                                                                                              \
        op_test_store_t fx;                                                                        \
        op_test_store_setup(&fx, OP_STORE_MEMORY);                                                 \
        case_##name(&fx);                                                                          \
        op_test_store_teardown(&fx);                                                               \
    }                                                                                              \
    static void redis_##name(void)                                                                 \
    {                                                                                              \
        op_test_store_t fx;                                                                        \
        op_test_store_setup(&fx, OP_STORE_REDIS);                                                  \
        case_##name(&fx);                                                                          \
        op_test_store_teardown(&fx);                                                               \
    }

CASE(put_get)
CASE(nx_xx)
CASE(ttl)
CASE(ttl_lazy)
CASE(many)
CASE(take_once)
CASE(del)
CASE(index)
CASE(binary)
CASE(limits)
CASE(einval)
CASE(round_trips)
CASE(reentrant)
CASE(close_in_flight)
CASE(close_in_callback)
CASE(batch_order)
CASE(batch_partial)
CASE(batch_index)
CASE(batch_take_once)
CASE(batch_check)
CASE(batch_check_race)
CASE(batch_round_trips)
CASE(batch_einval)
CASE(batch_close)

#define ENTRY(name)                                                                                \
    {"mem_" #name, mem_##name},                                                                    \
    {                                                                                              \
        "redis_" #name, redis_##name                                                               \
    }

static const op_test_case_t cases[] = {
    ENTRY(put_get),
    ENTRY(nx_xx),
    ENTRY(ttl),
    ENTRY(ttl_lazy),
    ENTRY(many),
    ENTRY(take_once),
    ENTRY(del),
    ENTRY(index),
    ENTRY(binary),
    ENTRY(limits),
    ENTRY(einval),
    ENTRY(round_trips),
    ENTRY(reentrant),
    ENTRY(close_in_flight),
    ENTRY(close_in_callback),
    ENTRY(batch_order),
    ENTRY(batch_partial),
    ENTRY(batch_index),
    ENTRY(batch_take_once),
    ENTRY(batch_check),
    ENTRY(batch_check_race),
    ENTRY(batch_round_trips),
    ENTRY(batch_einval),
    ENTRY(batch_close),
};

OP_TEST_MAIN(cases)
