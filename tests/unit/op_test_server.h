/*
 * tests/unit/op_test_server.h - an in-process server for the flow tests:
 * a real op_http server on 127.0.0.1:0 serving the routes a test gives,
 * on the memory or a redis store (tests/unit/op_test_redis.h), with a key
 * set, a client registry and, optionally, the test claims source
 * (tests/unit/plugins/fake_claims.c), driven by the project's own HTTP
 * client.
 *
 * The claims source in its "fetch" mode asks this server's /hook route,
 * which holds each fetch until the test answers it
 * (op_test_server_release_hooks): an operation held in flight
 * deterministically. Waits run the loop until a condition holds (a 10 ms
 * tick looks again, a 20 s guard fails a wait that never ends); nothing
 * sleeps. One server per test process at a time: the fixture is the
 * global OP_TS.
 */
#ifndef OP_TEST_SERVER_H
#define OP_TEST_SERVER_H

#include "core/proto/op_client.h"
#include "core/server/op_server.h"
#include "tests/unit/op_test_redis.h"

#define OP_TEST_SERVER_FAKE_SO   "build/asan/tests/plugins/fake_claims.so"
#define OP_TEST_SERVER_MAX_HOOKS 8

/* How a case wants its server. */
typedef struct op_test_server_opts {
    op_store_kind_t kind;
    const char *clients_json;    /* the client registry */
    const char *plugin_mode;     /* plugin.fake.mode; NULL: no claims source */
    uint64_t request_timeout_ms; /* 0: 10 s */
} op_test_server_opts_t;

/* One request's answer. */
typedef struct op_test_reply {
    int calls;
    int status;      /* of the fetch */
    int http_status; /* of the answer */
    const op_json_t *body;
} op_test_reply_t;

static struct op_test_server {
    op_test_server_opts_t o;
    op_server_t srv;
    op_config_t cfg; /* defaults set by op_test_server_open; a case may change it */
    op_arena_t *a;
    op_http_client_t *hc;
    op_test_redis_t redis;
    op_timer_t *tick, *guard;
    char base[64]; /* http://127.0.0.1:port */
    char hook_url[96];
    int store_status;
    op_http_req_t *hooks[OP_TEST_SERVER_MAX_HOOKS];
    int nhooks;
    int pending; /* requests started, not answered yet */
    const op_test_reply_t *waited;
} OP_TS;

static inline void op_test_server_on_store(int status, op_store_t *store, const op_err_t *err,
                                           void *arg)
{
    OP_UNUSED(err);
    OP_UNUSED(arg);
    OP_CHECK_INT(status, OP_OK);
    OP_TS.srv.store = store;
    op_loop_stop(OP_TS.srv.loop);
}

static inline void op_test_server_on_keys(int status, op_keys_t *keys, const op_err_t *err,
                                          void *arg)
{
    OP_UNUSED(err);
    OP_UNUSED(arg);
    OP_CHECK_INT(status, OP_OK);
    OP_TS.srv.keys = keys;
    op_loop_stop(OP_TS.srv.loop);
}

/* The claims source's fetch, held until op_test_server_release_hooks. */
static inline void op_test_server_on_hook(op_http_req_t *req, void *arg)
{
    OP_UNUSED(arg);
    OP_CHECK(OP_TS.nhooks < OP_TEST_SERVER_MAX_HOOKS);
    OP_CHECK(op_http_req_commit(req));
    op_http_req_hold(req);
    OP_TS.hooks[OP_TS.nhooks++] = req;
    op_loop_stop(OP_TS.srv.loop);
}

/* Answer every held claims fetch with {"fake_claim": "held"}. */
static inline void op_test_server_release_hooks(void)
{
    static const char claims[] = "{\"fake_claim\":\"held\"}";

    for (int i = 0; i < OP_TS.nhooks; i++) {
        op_http_reply_json(OP_TS.hooks[i], 200, claims, sizeof(claims) - 1, 0);
        op_http_req_release(OP_TS.hooks[i]);
    }
    OP_TS.nhooks = 0;
}

static inline const char *op_test_server_plugin_prop(void *arg, const char *key)
{
    OP_UNUSED(arg);
    if (strcmp(key, "plugin.fake.mode") == 0)
        return OP_TS.o.plugin_mode;
    if (strcmp(key, "plugin.fake.url") == 0)
        return OP_TS.hook_url;
    return NULL;
}

static inline void op_test_server_on_tick(void *arg)
{
    OP_UNUSED(arg);
    op_loop_stop(OP_TS.srv.loop);
}

static inline void op_test_server_on_guard(void *arg)
{
    OP_UNUSED(arg);
    OP_CHECK(!"a wait on the loop did not end");
}

/*
 * Start the server with routes[0..n) (their handler argument should be
 * &OP_TS.srv) and /hook. The config gets working defaults (issuer
 * https://op.example.com, RS256 ID tokens, ES256 JWT access tokens, the
 * usual lifetimes, a 30 s claims deadline).
 */
static inline void op_test_server_open(const op_test_server_opts_t *o,
                                       const op_http_route_t *routes, size_t n)
{
    static const char *const plugins[] = {OP_TEST_SERVER_FAKE_SO};
    static const uint8_t enc_key[32] = {7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7,
                                        7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7};
    op_store_config_t sc = {.kind = o->kind, .timeout_ms = 5000};
    op_keys_config_t kc = {.enc_key = enc_key, .rsa_bits = 2048};
    op_http_route_t all[8];
    op_http_config_t hcfg = {
        .address = "127.0.0.1",
        .fd = -1,
        .max_body = 1 << 20,
        .max_headers = 16384,
        .idle_timeout_s = 10,
        .request_timeout_ms = o->request_timeout_ms > 0 ? o->request_timeout_ms : 10000,
        .arena_max = 4 << 20,
    };
    op_http_client_config_t cc = {
        .connect_timeout_ms = 5000, .timeout_ms = 20000, .max_response = 1 << 20};
    op_client_t *clients = NULL;
    size_t nclients = 0;
    op_err_t err;

    OP_CHECK(n < OP_NELEMS(all));
    memset(&OP_TS, 0, sizeof(OP_TS));
    OP_TS.o = *o;
    op_err_clear(&err);
    op_log_init(OP_LOG_WARN, 2);
    OP_CHECK_INT(op_keys_global_init(), OP_OK);
    OP_TS.a = op_arena_new(8 << 20);
    OP_TS.srv.loop = op_loop_new();
    OP_CHECK(OP_TS.a != NULL && OP_TS.srv.loop != NULL);
    OP_TS.tick = op_timer_new(OP_TS.srv.loop, op_test_server_on_tick, NULL);
    OP_TS.guard = op_timer_new(OP_TS.srv.loop, op_test_server_on_guard, NULL);
    OP_TS.cfg.issuer = "https://op.example.com";
    OP_TS.cfg.id_token_algs[0] = OP_JWS_RS256;
    OP_TS.cfg.n_id_token_algs = 1;
    OP_TS.cfg.id_token_lifetime_s = 900;
    OP_TS.cfg.authz_code_lifetime_s = 300;
    OP_TS.cfg.at_lifetime_s = 600;
    OP_TS.cfg.at_jws_alg = OP_JWS_ES256;
    OP_TS.cfg.rt_lifetime_s = 86400;
    OP_TS.cfg.spi_timeout_ms = 30000; /* a held fetch is released long before */
    OP_TS.srv.cfg = &OP_TS.cfg;
    if (o->kind == OP_STORE_REDIS) {
        op_test_redis_start(&OP_TS.redis);
        sc.redis_address = OP_TS.redis.addr;
    }
    op_store_open(OP_TS.srv.loop, &sc, op_test_server_on_store, NULL);
    OP_CHECK_INT(op_loop_run(OP_TS.srv.loop), OP_OK);
    op_keys_open(OP_TS.srv.loop, OP_TS.srv.store, &kc, op_test_server_on_keys, NULL);
    OP_CHECK_INT(op_loop_run(OP_TS.srv.loop), OP_OK);
    OP_CHECK_INT(op_client_parse_all(OP_TS.a, o->clients_json, strlen(o->clients_json), "test",
                                     &clients, &nclients, &err),
                 OP_OK);
    OP_CHECK_INT(op_client_registry_new(clients, nclients, OP_TS.a, &OP_TS.srv.clients, &err),
                 OP_OK);
    memcpy(all, routes, n * sizeof(*routes));
    all[n] = (op_http_route_t){OP_HTTP_POST, "/hook", 0, op_test_server_on_hook, NULL};
    OP_TS.srv.http = op_http_new(OP_TS.srv.loop, &hcfg, all, n + 1, &err);
    OP_TS.hc = op_http_client_new(OP_TS.srv.loop, &cc, &err);
    OP_CHECK(OP_TS.srv.http != NULL && OP_TS.hc != NULL);
    snprintf(OP_TS.base, sizeof(OP_TS.base), "http://127.0.0.1:%d", op_http_port(OP_TS.srv.http));
    snprintf(OP_TS.hook_url, sizeof(OP_TS.hook_url), "%s/hook", OP_TS.base);
    if (o->plugin_mode != NULL) {
        op_spi_settings_t s = {plugins, 1, op_test_server_plugin_prop, NULL};
        OP_CHECK_INT(op_spi_loader_open(OP_TS.srv.loop, OP_TS.hc, &s, NULL, &OP_TS.srv.spi, &err),
                     OP_OK);
    }
}

static inline void op_test_server_on_store_closed(void *arg)
{
    OP_UNUSED(arg);
    OP_TS.srv.store = NULL;
    op_loop_stop(OP_TS.srv.loop);
}

/* Stop everything; no fetch may still be held. */
static inline void op_test_server_close(void)
{
    OP_CHECK_INT(OP_TS.nhooks, 0);
    op_spi_loader_close(OP_TS.srv.spi);
    op_http_client_free(OP_TS.hc);
    op_http_free(OP_TS.srv.http);
    op_keys_close(OP_TS.srv.keys);
    op_store_close(OP_TS.srv.store, op_test_server_on_store_closed, NULL);
    OP_CHECK_INT(op_loop_run(OP_TS.srv.loop), OP_OK);
    op_timer_free(OP_TS.tick);
    op_timer_free(OP_TS.guard);
    op_loop_free(OP_TS.srv.loop);
    op_arena_free(OP_TS.a);
    op_test_redis_cleanup();
}

/* Run the loop until pred() holds; at most 20 s. */
static inline void op_test_server_run_until(bool (*pred)(void))
{
    op_timer_start(OP_TS.guard, 20000);
    while (!pred()) {
        op_timer_start(OP_TS.tick, 10);
        OP_CHECK_INT(op_loop_run(OP_TS.srv.loop), OP_OK);
    }
    op_timer_stop(OP_TS.tick);
    op_timer_stop(OP_TS.guard);
}

static inline bool op_test_server_hook_held(void)
{
    return OP_TS.nhooks > 0;
}

static inline bool op_test_server_store_up(void)
{
    return op_store_up(OP_TS.srv.store);
}

static inline void op_test_server_on_reply(int status, const op_http_response_t *resp,
                                           const op_err_t *err, void *arg)
{
    op_test_reply_t *r = arg;
    op_json_t *v = NULL;
    op_err_t e;

    OP_UNUSED(err);
    r->calls++;
    r->status = status;
    if (status == OP_OK) {
        r->http_status = resp->status;
        op_err_clear(&e);
        if (resp->body_len > 0)
            OP_CHECK_INT(op_json_parse(OP_TS.a, resp->body, resp->body_len, NULL, &v, &e), OP_OK);
        r->body = v;
    }
    OP_TS.pending--;
    op_loop_stop(OP_TS.srv.loop);
}

/* Start request f (its strings copied by the client); r gets the answer. */
static inline void op_test_server_fetch(const op_http_fetch_t *f, op_test_reply_t *r)
{
    memset(r, 0, sizeof(*r));
    OP_TS.pending++;
    op_http_client_fetch(OP_TS.hc, f, op_test_server_on_reply, r);
}

/* A POST of form (application/x-www-form-urlencoded) to path, with this
 * Authorization header (NULL: none). form and authorization must live
 * until the fetch starts. */
static inline op_http_fetch_t op_test_server_form(const char *path, const char *authorization,
                                                  const char *form)
{
    op_http_header_t *auth = op_arena_alloc(OP_TS.a, sizeof(*auth));

    *auth = (op_http_header_t){"Authorization", authorization};
    return (op_http_fetch_t){
        .method = OP_HTTP_POST,
        .url = op_arena_printf(OP_TS.a, "%s%s", OP_TS.base, path),
        .headers = auth,
        .nheaders = authorization != NULL,
        .body = form,
        .body_len = strlen(form),
        .content_type = "application/x-www-form-urlencoded",
    };
}

static inline bool op_test_server_none_pending(void)
{
    return OP_TS.pending == 0;
}

/* Run until every request started has its answer (held claims fetches
 * stay held). */
static inline void op_test_server_wait_all(void)
{
    op_test_server_run_until(op_test_server_none_pending);
}

static inline bool op_test_server_answered(void)
{
    return OP_TS.waited->calls > 0;
}

static inline bool op_test_server_held_or_answered(void)
{
    return OP_TS.nhooks > 0 || OP_TS.waited->calls > 0;
}

/* Wait for r's one answer, which must have this HTTP status. */
static inline const op_json_t *op_test_server_wait(const op_test_reply_t *r, int http_status)
{
    OP_TS.waited = r;
    op_test_server_run_until(op_test_server_answered);
    OP_CHECK_INT(r->calls, 1);
    OP_CHECK_INT(r->status, OP_OK);
    if (r->http_status != http_status)
        fprintf(stderr, "answer %d: %s\n", r->http_status,
                r->body != NULL ? op_json_get_str(r->body, "error_description") : "-");
    OP_CHECK_INT(r->http_status, http_status);
    return r->body;
}

/* Request f run to its answer, every claims fetch it holds released. */
static inline const op_json_t *op_test_server_call(const op_http_fetch_t *f, int http_status)
{
    static op_test_reply_t r;

    op_test_server_fetch(f, &r);
    while (r.calls == 0) {
        OP_TS.waited = &r;
        op_test_server_run_until(op_test_server_held_or_answered);
        op_test_server_release_hooks();
    }
    return op_test_server_wait(&r, http_status);
}

/* Store operations started so far (a batch is one). */
static inline uint64_t op_test_server_ops(void)
{
    op_store_stats_t st;

    op_store_get_stats(OP_TS.srv.store, &st);
    return st.ops;
}

static inline void op_test_server_on_get(int status, const op_store_res_t *res, void *arg)
{
    char **value = arg;

    OP_TS.store_status = status;
    *value = status == OP_OK ? op_arena_strndup(OP_TS.a, res->value, res->value_len) : NULL;
    op_loop_stop(OP_TS.srv.loop);
}

static inline void op_test_server_on_put(int status, const op_store_res_t *res, void *arg)
{
    OP_UNUSED(res);
    OP_UNUSED(arg);
    OP_TS.store_status = status;
    op_loop_stop(OP_TS.srv.loop);
}

/* Write rec to the store. */
static inline void op_test_server_put(const op_store_rec_t *rec)
{
    op_store_put(OP_TS.srv.store, rec, 0, op_test_server_on_put, NULL);
    OP_CHECK_INT(op_loop_run(OP_TS.srv.loop), OP_OK);
    OP_CHECK_INT(OP_TS.store_status, OP_OK);
}

/* The stored record (ns, key), NULL when there is none. */
static inline const char *op_test_server_get(const char *ns, const char *key)
{
    char *value = NULL;

    op_store_get(OP_TS.srv.store, ns, key, strlen(key), op_test_server_on_get, &value);
    OP_CHECK_INT(op_loop_run(OP_TS.srv.loop), OP_OK);
    OP_CHECK(OP_TS.store_status == OP_OK || OP_TS.store_status == OP_ENOTFOUND);
    return value;
}

#endif
