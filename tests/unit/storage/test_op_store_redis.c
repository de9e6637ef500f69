/*
 * tests/unit/storage/test_op_store_redis.c - what only the redis backend has:
 * addresses, AUTH and SELECT, the key layout and set TTLs as redis sees
 * them (single and batched writes, and a batch that redis fails midway),
 * and outages - refused and silent servers, a killed server that
 * comes back, a stopped server (commands time out), closing while down.
 * Every case runs a redis-server of its own (tests/unit/op_test_redis.h);
 * the fixture checks that every callback ran exactly once, never
 * synchronously, and LSan that nothing leaked.
 */
#include "tests/unit/op_test_redis.h"

#define NS "sess"

/* A fixture for redis without a server (open is expected to fail). */
static void init_no_server(op_test_store_t *fx, const char *address)
{
    op_test_store_init(fx, OP_STORE_MEMORY, NULL);
    fx->kind = fx->cfg.kind = OP_STORE_REDIS;
    fx->cfg.redis_address = address;
}

static bool is_up(op_test_store_t *fx)
{
    return op_store_up(fx->store);
}

static bool is_down(op_test_store_t *fx)
{
    return !op_store_up(fx->store);
}

/* A command behind the store's back, on database db. */
static const char *redis_cmd(op_test_store_t *fx, int db, char *out, size_t size, const char *a,
                             const char *b, const char *c)
{
    const char *argv[] = {a, b, c};
    OP_CHECK(op_test_redis_cmd(&fx->redis, db, out, size, c ? 3 : 2, argv));
    return out;
}

static long long redis_int(op_test_store_t *fx, const char *cmd, const char *key)
{
    char out[64];
    redis_cmd(fx, 0, out, sizeof(out), cmd, key, NULL);
    OP_CHECK(out[0] == ':');
    return strtoll(out + 1, NULL, 10);
}

/* ---- open ---------------------------------------------------------------- */

static void test_open_refused(void)
{
    op_test_store_t fx;
    char addr[64], want[128];
    int port = op_test_redis_free_port();

    snprintf(addr, sizeof(addr), "127.0.0.1:%d", port);
    init_no_server(&fx, addr);
    OP_CHECK_INT(op_test_store_open(&fx), OP_EUNAVAIL);
    OP_CHECK(fx.store == NULL);
    snprintf(want, sizeof(want),
             "storage.redis.address %s: connection "
             "refused",
             addr);
    OP_CHECK_STR(fx.open_err.description, want);
    OP_CHECK_STR(fx.open_err.oauth_error, "temporarily_unavailable");
    op_test_store_teardown(&fx);
}

static void test_open_bad_address(void)
{
    static const char *const bad[] = {"localhost:6379",
                                      "redis.example.com:6379",
                                      "127.0.0.1",
                                      "127.0.0.1:",
                                      "127.0.0.1:0",
                                      "127.0.0.1:65536",
                                      "127.0.0.1:+1",
                                      "127.0.0.1: 1",
                                      "[::1]",
                                      "[::1]6379",
                                      "[::1:6379",
                                      "::1:6379",
                                      "unix:",
                                      "unix:relative.sock",
                                      "",
                                      NULL};
    for (size_t i = 0; bad[i] != NULL; i++) {
        op_test_store_t fx;
        init_no_server(&fx, bad[i]);
        OP_CHECK_INT(op_test_store_open(&fx), OP_EINVAL);
        OP_CHECK(strstr(fx.open_err.description, "storage.redis.address") != NULL);
        op_test_store_teardown(&fx);
    }
    op_test_store_t fx;
    init_no_server(&fx, "localhost:6379");
    OP_CHECK_INT(op_test_store_open(&fx), OP_EINVAL);
    OP_CHECK(strstr(fx.open_err.description, "host names are refused") != NULL);
    op_test_store_teardown(&fx);

    init_no_server(&fx, NULL);
    OP_CHECK_INT(op_test_store_open(&fx), OP_EINVAL);
    op_test_store_teardown(&fx);

    init_no_server(&fx, "127.0.0.1:6379");
    fx.cfg.redis_database = -1;
    OP_CHECK_INT(op_test_store_open(&fx), OP_EINVAL);
    op_test_store_teardown(&fx);
}

/* A server that accepts the connection but never answers: open fails at
 * connect_timeout_ms. */
static void test_open_timeout(void)
{
    op_test_store_t fx;
    char addr[64];
    struct sockaddr_in sa = {.sin_family = AF_INET};
    socklen_t len = sizeof(sa);
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    OP_CHECK(fd >= 0);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    OP_CHECK(bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0);
    OP_CHECK(listen(fd, 16) == 0);
    OP_CHECK(getsockname(fd, (struct sockaddr *)&sa, &len) == 0);
    snprintf(addr, sizeof(addr), "127.0.0.1:%d", ntohs(sa.sin_port));
    init_no_server(&fx, addr);
    fx.cfg.connect_timeout_ms = 200;
    OP_CHECK_INT(op_test_store_open(&fx), OP_ETIMEDOUT);
    OP_CHECK(strstr(fx.open_err.description, "connect timeout") != NULL);
    op_test_store_teardown(&fx);
    close(fd);
}

static void test_unix_socket(void)
{
    op_test_store_t fx;

    op_test_store_init(&fx, OP_STORE_REDIS, NULL);
    fx.cfg.redis_address = fx.redis.unix_addr;
    OP_CHECK_INT(op_test_store_open(&fx), OP_OK);
    OP_CHECK_INT(op_test_put(&fx, NS, "k", "v", 0, NULL, NULL, 0), OP_OK);
    OP_CHECK_STR(op_test_get(&fx, NS, "k")->value, "v");
    op_test_store_teardown(&fx);

    init_no_server(&fx, "unix:/nonexistent/redis.sock");
    OP_CHECK_INT(op_test_store_open(&fx), OP_EUNAVAIL);
    op_test_store_teardown(&fx);
}

/* AUTH and SELECT are sent before the first command. */
static void test_auth(void)
{
    op_test_store_t fx;

    op_test_store_init(&fx, OP_STORE_REDIS, "s3cret pw");
    OP_CHECK_INT(op_test_store_open(&fx), OP_OK);
    OP_CHECK_INT(op_test_put(&fx, NS, "k", "v", 0, NULL, NULL, 0), OP_OK);
    OP_CHECK_STR(op_test_get(&fx, NS, "k")->value, "v");
    op_store_close(fx.store, NULL, NULL); /* a NULL close callback is fine */
    fx.store = NULL;

    fx.cfg.redis_password = "wrong";
    OP_CHECK_INT(op_test_store_open(&fx), OP_EDENIED);
    OP_CHECK(strstr(fx.open_err.description, "AUTH refused") != NULL);
    OP_CHECK(strstr(fx.open_err.description, "wrong") == NULL);

    fx.cfg.redis_password = NULL;
    OP_CHECK_INT(op_test_store_open(&fx), OP_EPROTO);
    OP_CHECK(strstr(fx.open_err.description, "NOAUTH") != NULL);
    op_test_store_teardown(&fx);
}

static void test_select(void)
{
    op_test_store_t fx;
    char out[64];

    op_test_store_init(&fx, OP_STORE_REDIS, NULL);
    fx.cfg.redis_database = 3;
    OP_CHECK_INT(op_test_store_open(&fx), OP_OK);
    OP_CHECK_INT(op_test_put(&fx, NS, "k", "v", 0, NULL, NULL, 0), OP_OK);
    OP_CHECK_STR(redis_cmd(&fx, 3, out, sizeof(out), "EXISTS", "t:sess:k", NULL), ":1");
    OP_CHECK_STR(redis_cmd(&fx, 0, out, sizeof(out), "EXISTS", "t:sess:k", NULL), ":0");
    op_test_store_close_async(&fx);
    op_test_store_wait(&fx);

    fx.cfg.redis_database = 99;
    OP_CHECK_INT(op_test_store_open(&fx), OP_EPROTO);
    OP_CHECK(strstr(fx.open_err.description, "SELECT refused") != NULL);
    op_test_store_teardown(&fx);
}

/* ---- layout ---------------------------------------------------------------- */

/* Keys as redis sees them: prefix ns ":" key (a hash), prefix ns ":idx:"
 * name ":" value (a set) whose TTL covers its longest-lived member;
 * overwrite and take leave no stale membership behind. */
static void test_layout(void)
{
    op_test_store_t fx;
    char out[64];
    const char *set = "t:sess:idx:sub:alice";

    op_test_store_setup(&fx, OP_STORE_REDIS);
    OP_CHECK_INT(op_test_put(&fx, NS, "k1", "v1", 10000, "sub", "alice", 0), OP_OK);
    OP_CHECK_STR(redis_cmd(&fx, 0, out, sizeof(out), "TYPE", "t:sess:k1", NULL), "+hash");
    OP_CHECK_STR(redis_cmd(&fx, 0, out, sizeof(out), "TYPE", set, NULL), "+set");
    /* The set first: read later, the record can only have less left. */
    long long set_ttl = redis_int(&fx, "PTTL", set);
    long long ttl = redis_int(&fx, "PTTL", "t:sess:k1");
    OP_CHECK(ttl > 5000 && ttl <= 10000);
    OP_CHECK(set_ttl >= ttl);

    OP_CHECK_INT(op_test_put(&fx, NS, "k2", "v2", 20000, "sub", "alice", 0), OP_OK);
    OP_CHECK(redis_int(&fx, "PTTL", set) > 10000);
    OP_CHECK_INT(op_test_put(&fx, NS, "k3", "v3", 1000, "sub", "alice", 0), OP_OK);
    OP_CHECK(redis_int(&fx, "PTTL", set) > 10000); /* never shortened */
    OP_CHECK_INT(op_test_put(&fx, NS, "k4", "v4", 0, "sub", "alice", 0), OP_OK);
    OP_CHECK_INT(redis_int(&fx, "PTTL", set), -1);
    OP_CHECK_INT(redis_int(&fx, "SCARD", set), 4);

    OP_CHECK_INT(op_test_put(&fx, NS, "k1", "v1b", 0, "sub", "bob", 0), OP_OK);
    OP_CHECK_STR(redis_cmd(&fx, 0, out, sizeof(out), "SISMEMBER", set, "k1"), ":0");
    OP_CHECK_STR(redis_cmd(&fx, 0, out, sizeof(out), "SISMEMBER", "t:sess:idx:sub:bob", "k1"),
                 ":1");
    OP_CHECK_STR(redis_cmd(&fx, 0, out, sizeof(out), "HGET", "t:sess:k1", "v"), "v1b");
    OP_CHECK_INT(redis_int(&fx, "PTTL", "t:sess:k1"), -1);

    OP_CHECK_INT(op_test_keyed(&fx, op_store_take, NS, "k2"), OP_OK);
    OP_CHECK_STR(redis_cmd(&fx, 0, out, sizeof(out), "SISMEMBER", set, "k2"), ":0");
    OP_CHECK_INT(redis_int(&fx, "EXISTS", "t:sess:k2"), 0);
    OP_CHECK_INT(op_test_keyed(&fx, op_store_del, NS, "k4"), OP_OK);
    OP_CHECK_INT(redis_int(&fx, "SCARD", set), 1); /* k3 */
    OP_CHECK_INT(op_test_keyed(&fx, op_store_del, NS, "k3"), OP_OK);
    OP_CHECK_INT(redis_int(&fx, "EXISTS", set), 0); /* empty: gone */

    /* A set whose members expire expires too. */
    OP_CHECK_INT(op_test_put(&fx, NS, "k5", "v", 100, "sub", "zed", 0), OP_OK);
    op_test_store_sleep(&fx, 250);
    OP_CHECK_INT(redis_int(&fx, "EXISTS", "t:sess:idx:sub:zed"), 0);

    /* A record of the wrong type is an error, not a crash. */
    redis_cmd(&fx, 0, out, sizeof(out), "SET", "t:sess:str", "x");
    OP_CHECK_INT(op_test_get_status(&fx, NS, "str"), OP_ERROR);
    op_test_store_teardown(&fx);
}

/* A batched put lays records and sets out exactly as a single put does;
 * a key of a foreign type in the middle fails the whole batch with
 * OP_ERROR, and redis keeps what the ops before it wrote (no rollback). */
static void test_batch_layout(void)
{
    op_test_store_t fx;
    char out[64];
    const char *set = "t:sess:idx:sub:alice";
    op_store_index_t alice = {"sub", "alice", 5};

    op_test_store_setup(&fx, OP_STORE_REDIS);
    op_store_batch_op_t ops[] = {op_test_bput(NS, "k1", "v1", 10000, &alice, 0),
                                 op_test_bput(NS, "k2", "v2", 0, NULL, 0)};
    op_test_op_t *o = op_test_batch(&fx, ops, 2);
    OP_CHECK_INT(o->status, OP_OK);
    OP_CHECK_STR(redis_cmd(&fx, 0, out, sizeof(out), "TYPE", "t:sess:k1", NULL), "+hash");
    OP_CHECK_STR(redis_cmd(&fx, 0, out, sizeof(out), "HGET", "t:sess:k1", "v"), "v1");
    OP_CHECK_STR(redis_cmd(&fx, 0, out, sizeof(out), "HGET", "t:sess:k1", "i:sub:alice"), "1");
    OP_CHECK_STR(redis_cmd(&fx, 0, out, sizeof(out), "SISMEMBER", set, "k1"), ":1");
    long long set_ttl = redis_int(&fx, "PTTL", set);
    long long ttl = redis_int(&fx, "PTTL", "t:sess:k1");
    OP_CHECK(ttl > 5000 && ttl <= 10000);
    OP_CHECK(set_ttl >= ttl);
    OP_CHECK_INT(redis_int(&fx, "PTTL", "t:sess:k2"), -1);
    OP_CHECK_INT(redis_int(&fx, "HLEN", "t:sess:k2"), 1);

    redis_cmd(&fx, 0, out, sizeof(out), "SET", "t:sess:str", "x");
    op_store_batch_op_t bad[] = {op_test_bput(NS, "a", "1", 0, NULL, 0),
                                 op_test_bkey(OP_STORE_BATCH_GET, NS, "str"),
                                 op_test_bput(NS, "b", "2", 0, NULL, 0)};
    o = op_test_batch(&fx, bad, 3);
    OP_CHECK_INT(o->status, OP_ERROR);
    OP_CHECK_INT(o->nres, 3);
    for (size_t i = 0; i < 3; i++)
        OP_TEST_RES(o, i, OP_ERROR, NULL);
    OP_CHECK_STR(op_test_get(&fx, NS, "a")->value, "1");
    OP_CHECK_INT(op_test_get_status(&fx, NS, "b"), OP_ENOTFOUND);
    op_test_store_teardown(&fx);
}

/* ---- outages ------------------------------------------------------------- */

/* Kill the server: commands in flight and new ones fail fast with
 * OP_EUNAVAIL; the store reconnects by itself once it is back. */
static void test_kill_restart(void)
{
    op_test_store_t fx;
    op_store_stats_t st;

    op_test_store_setup(&fx, OP_STORE_REDIS);
    OP_CHECK_INT(op_test_put(&fx, NS, "k", "v", 0, NULL, NULL, 0), OP_OK);
    op_test_op_t *inflight = op_test_keyed_async(&fx, op_store_get, NS, "k", 1);
    op_test_redis_kill(&fx.redis, SIGKILL);
    op_test_store_wait(&fx);
    OP_CHECK_INT(inflight->status, OP_EUNAVAIL);
    op_test_store_until(&fx, is_down);
    OP_CHECK_INT(op_test_get_status(&fx, NS, "k"), OP_EUNAVAIL);
    OP_CHECK_INT(op_test_put(&fx, NS, "k", "v", 0, NULL, NULL, 0), OP_EUNAVAIL);
    op_store_get_stats(fx.store, &st);
    OP_CHECK_INT(st.failures, 3);
    OP_CHECK_INT(st.reconnects, 0);

    op_test_redis_start(&fx.redis);
    op_test_store_until(&fx, is_up);
    OP_CHECK_INT(op_test_get_status(&fx, NS, "k"), OP_ENOTFOUND); /* new */
    OP_CHECK_INT(op_test_put(&fx, NS, "k", "v2", 0, NULL, NULL, 0), OP_OK);
    OP_CHECK_STR(op_test_get(&fx, NS, "k")->value, "v2");
    op_store_get_stats(fx.store, &st);
    OP_CHECK_INT(st.reconnects, 1);
    OP_CHECK_INT(st.in_flight, 0);

    /* And once more. */
    op_test_redis_kill(&fx.redis, SIGTERM);
    op_test_store_until(&fx, is_down);
    op_test_redis_start(&fx.redis);
    op_test_store_until(&fx, is_up);
    OP_CHECK_INT(op_test_get_status(&fx, NS, "k"), OP_ENOTFOUND);
    op_store_get_stats(fx.store, &st);
    OP_CHECK_INT(st.reconnects, 2);
    op_test_store_teardown(&fx);
}

/* Batches while redis is down: the one in flight and the next ones fail
 * with OP_EUNAVAIL (every op too), fast and without a round trip; once
 * redis is back, batches work again. */
static void test_batch_down(void)
{
    op_test_store_t fx;
    op_store_stats_t before, after;
    op_store_batch_op_t ops[] = {op_test_bput(NS, "k", "v", 0, NULL, 0),
                                 op_test_bkey(OP_STORE_BATCH_GET, NS, "k")};

    op_test_store_setup(&fx, OP_STORE_REDIS);
    OP_CHECK_INT(op_test_batch(&fx, ops, 2)->status, OP_OK);
    op_test_op_t *inflight = op_test_batch_async(&fx, ops, 2);
    op_test_redis_kill(&fx.redis, SIGKILL);
    op_test_store_wait(&fx);
    OP_CHECK_INT(inflight->status, OP_EUNAVAIL);
    OP_CHECK_INT(inflight->nres, 2);
    OP_TEST_RES(inflight, 0, OP_EUNAVAIL, NULL);
    OP_TEST_RES(inflight, 1, OP_EUNAVAIL, NULL);
    op_test_store_until(&fx, is_down);

    op_store_get_stats(fx.store, &before);
    op_test_op_t *o = op_test_batch_async(&fx, ops, 2);
    OP_CHECK_INT(fx.waiting, 1); /* not inside the call */
    op_test_store_wait(&fx);
    OP_CHECK_INT(o->status, OP_EUNAVAIL);
    OP_TEST_RES(o, 0, OP_EUNAVAIL, NULL);
    OP_TEST_RES(o, 1, OP_EUNAVAIL, NULL);
    op_store_get_stats(fx.store, &after);
    OP_CHECK_INT(after.round_trips, before.round_trips);
    OP_CHECK_INT(after.failures - before.failures, 1);

    op_test_redis_start(&fx.redis);
    op_test_store_until(&fx, is_up);
    o = op_test_batch(&fx, ops, 2);
    OP_CHECK_INT(o->status, OP_OK);
    OP_TEST_RES(o, 1, OP_OK, "v");
    op_test_store_teardown(&fx);
}

/* A server that stops answering: the commands in flight time out
 * together, the connection is dropped, new commands fail fast, and the
 * store recovers when the server does. */
static void test_stopped_server(void)
{
    op_test_store_t fx;
    op_test_op_t *o[3];
    op_store_stats_t st;

    op_test_store_init(&fx, OP_STORE_REDIS, NULL);
    fx.cfg.timeout_ms = 300;
    fx.cfg.connect_timeout_ms = 200;
    OP_CHECK_INT(op_test_store_open(&fx), OP_OK);
    OP_CHECK_INT(op_test_put(&fx, NS, "k", "v", 0, NULL, NULL, 0), OP_OK);
    op_test_redis_pause(&fx.redis);
    for (int i = 0; i < 3; i++)
        o[i] = op_test_keyed_async(&fx, op_store_get, NS, "k", 1);
    op_test_store_wait(&fx);
    for (int i = 0; i < 3; i++)
        OP_CHECK_INT(o[i]->status, OP_ETIMEDOUT);
    OP_CHECK(!op_store_up(fx.store));
    OP_CHECK_INT(op_test_get_status(&fx, NS, "k"), OP_EUNAVAIL);
    /* Reconnect attempts meet a silent server and time out too. */
    op_test_store_sleep(&fx, 500);
    OP_CHECK(!op_store_up(fx.store));

    op_test_redis_resume(&fx.redis);
    op_test_store_until(&fx, is_up);
    OP_CHECK_STR(op_test_get(&fx, NS, "k")->value, "v");
    op_store_get_stats(fx.store, &st);
    OP_CHECK_INT(st.reconnects, 1);
    OP_CHECK_INT(st.failures, 4);
    op_test_store_teardown(&fx);
}

/* Close while a command waits on a stopped server: cancelled at the
 * drain deadline, then the close callback. */
static void test_close_drain(void)
{
    op_test_store_t fx;

    op_test_store_init(&fx, OP_STORE_REDIS, NULL);
    fx.cfg.timeout_ms = 30000;
    OP_CHECK_INT(op_test_store_open(&fx), OP_OK);
    op_test_redis_pause(&fx.redis);
    op_test_op_t *o = op_test_keyed_async(&fx, op_store_get, NS, "k", 1);
    op_test_store_close_async(&fx);
    op_test_store_wait(&fx);
    OP_CHECK_INT(o->status, OP_ECANCELED);
    OP_CHECK_INT(fx.close_calls, 1);
    op_test_store_teardown(&fx);
}

/* Close while down, with a reconnect pending. */
static void test_close_while_down(void)
{
    op_test_store_t fx;

    op_test_store_setup(&fx, OP_STORE_REDIS);
    op_test_redis_kill(&fx.redis, SIGKILL);
    op_test_store_until(&fx, is_down);
    op_test_store_sleep(&fx, 50); /* a failed reconnect or two */
    op_test_store_teardown(&fx);
}

static const op_test_case_t cases[] = {
    {"open_refused", test_open_refused},
    {"open_bad_address", test_open_bad_address},
    {"open_timeout", test_open_timeout},
    {"unix_socket", test_unix_socket},
    {"auth", test_auth},
    {"select", test_select},
    {"layout", test_layout},
    {"batch_layout", test_batch_layout},
    {"kill_restart", test_kill_restart},
    {"batch_down", test_batch_down},
    {"stopped_server", test_stopped_server},
    {"close_drain", test_close_drain},
    {"close_while_down", test_close_while_down},
};

OP_TEST_MAIN(cases)
