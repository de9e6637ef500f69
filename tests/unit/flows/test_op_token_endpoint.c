/*
 * tests/unit/flows/test_op_token_endpoint.c - core/flows/op_token_endpoint.c in
 * process: a server on 127.0.0.1:0 with the memory or a redis store, a
 * key set and a client registry, driven by the project's own HTTP client.
 * Each case counts the store operations a grant costs
 * (op_store_get_stats): a code is taken (and marked used) in one batch
 * and the new records are written together; a refresh token is read,
 * deleted (and marked used) when it rotates, and its successor written.
 * Replay of a code and reuse of a refresh token revoke their family (RFC
 * 6749 §4.1.2, §10.5; Security BCP §4.14.2), also while the first
 * exchange is still running. Every request gets exactly one answer.
 *
 * To hold an exchange in flight deterministically, the "hold" set-ups
 * load the test claims source (tests/unit/plugins/fake_claims.c) in its
 * fetch mode: it asks this server's own /hook route for the claims, and
 * the test answers the held fetches when it chooses (release_hooks).
 * Waits run the loop until a condition holds; nothing sleeps.
 */
#include "core/flows/op_flows.h"
#include "core/proto/op_token.h"
#include "tests/unit/op_test_redis.h"

#define FAKE_SO   "build/asan/tests/plugins/fake_claims.so"
#define MAX_HOOKS 8

static const char clients_json[] = "[{\"client_id\":\"c1\",\"client_secret\":\"secret-1\","
                                   "\"redirect_uris\":[\"https://rp.example.com/cb\"],"
                                   "\"grant_types\":[\"authorization_code\",\"refresh_token\"]},"
                                   " {\"client_id\":\"c2\",\"client_secret\":\"secret-2\","
                                   "\"redirect_uris\":[\"https://rp.example.com/cb\"],"
                                   "\"grant_types\":[\"authorization_code\",\"refresh_token\"]}]";

static const uint8_t enc_key[32] = {7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7,
                                    7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7};

typedef struct answer {
    int calls;
    int status;      /* of the fetch */
    int http_status; /* of the answer */
    const op_json_t *body;
} answer_t;

/* How a case wants its server. */
typedef struct opts {
    op_store_kind_t kind;
    bool rotate;
    int max_idle_s;
    bool hold;                   /* claims from the held /hook route */
    uint64_t request_timeout_ms; /* 0: 10 s */
} opts_t;

static struct env {
    opts_t o;
    op_server_t srv;
    op_config_t cfg;
    op_arena_t *a;
    op_http_client_t *hc;
    op_test_redis_t redis;
    op_timer_t *tick;  /* ends each turn of run_until */
    op_timer_t *guard; /* fails a wait that never ends */
    char url[64];
    char hook_url[64];
    int pending; /* answers awaited */
    int store_status;
    op_http_req_t *hooks[MAX_HOOKS]; /* held claims fetches */
    int nhooks;
} E;

/* ---- set-up --------------------------------------------------------------- */

static void on_store(int status, op_store_t *store, const op_err_t *err, void *arg)
{
    OP_UNUSED(err);
    OP_UNUSED(arg);
    OP_CHECK_INT(status, OP_OK);
    E.srv.store = store;
    op_loop_stop(E.srv.loop);
}

static void on_keys(int status, op_keys_t *keys, const op_err_t *err, void *arg)
{
    OP_UNUSED(err);
    OP_UNUSED(arg);
    OP_CHECK_INT(status, OP_OK);
    E.srv.keys = keys;
    op_loop_stop(E.srv.loop);
}

/* The claims source's fetch: held until release_hooks answers it (past
 * the request deadline of the set-ups that shorten it). */
static void on_hook(op_http_req_t *req, void *arg)
{
    OP_UNUSED(arg);
    OP_CHECK(E.nhooks < MAX_HOOKS);
    OP_CHECK(op_http_req_commit(req));
    op_http_req_hold(req);
    E.hooks[E.nhooks++] = req;
    op_loop_stop(E.srv.loop);
}

/* Answer every held claims fetch. */
static void release_hooks(void)
{
    static const char claims[] = "{\"fake_claim\":\"held\"}";

    for (int i = 0; i < E.nhooks; i++) {
        op_http_reply_json(E.hooks[i], 200, claims, sizeof(claims) - 1, 0);
        op_http_req_release(E.hooks[i]);
    }
    E.nhooks = 0;
}

/* The test claims source's properties (plugin.fake.*). */
static const char *plugin_prop(void *arg, const char *key)
{
    OP_UNUSED(arg);
    if (strcmp(key, "plugin.fake.mode") == 0)
        return "fetch";
    if (strcmp(key, "plugin.fake.url") == 0)
        return E.hook_url;
    return NULL;
}

static void on_tick(void *arg)
{
    OP_UNUSED(arg);
    op_loop_stop(E.srv.loop);
}

static void on_guard(void *arg)
{
    OP_UNUSED(arg);
    OP_CHECK(!"a wait on the loop did not end");
}

static void setup_with(opts_t o)
{
    static const char *const plugins[] = {FAKE_SO};
    op_store_config_t sc = {.kind = o.kind, .timeout_ms = 5000};
    op_keys_config_t kc = {.enc_key = enc_key, .rsa_bits = 2048};
    const op_http_route_t routes[] = {
        {OP_HTTP_POST, "/token", 0, op_token_endpoint.routes[0].handler, &E.srv},
        {OP_HTTP_POST, "/hook", 0, on_hook, NULL},
    };
    op_http_config_t hcfg = {
        .address = "127.0.0.1",
        .fd = -1,
        .max_body = 1 << 20,
        .max_headers = 16384,
        .idle_timeout_s = 10,
        .request_timeout_ms = o.request_timeout_ms > 0 ? o.request_timeout_ms : 10000,
        .arena_max = 4 << 20,
    };
    op_http_client_config_t cc = {
        .connect_timeout_ms = 5000, .timeout_ms = 20000, .max_response = 1 << 20};
    op_client_t *clients = NULL;
    size_t n = 0;
    op_err_t err;

    memset(&E, 0, sizeof(E));
    E.o = o;
    op_err_clear(&err);
    op_log_init(OP_LOG_WARN, 2);
    OP_CHECK_INT(op_keys_global_init(), OP_OK);
    E.a = op_arena_new(8 << 20);
    E.srv.loop = op_loop_new();
    OP_CHECK(E.a != NULL && E.srv.loop != NULL);
    E.tick = op_timer_new(E.srv.loop, on_tick, NULL);
    E.guard = op_timer_new(E.srv.loop, on_guard, NULL);
    E.cfg.issuer = "https://op.example.com";
    E.cfg.id_token_algs[0] = OP_JWS_RS256;
    E.cfg.n_id_token_algs = 1;
    E.cfg.id_token_lifetime_s = 900;
    E.cfg.authz_code_lifetime_s = 300;
    E.cfg.at_lifetime_s = 600;
    E.cfg.at_jws_alg = OP_JWS_ES256;
    E.cfg.rt_lifetime_s = 86400;
    E.cfg.rt_max_idle_s = o.max_idle_s;
    E.cfg.rt_rotate = o.rotate;
    E.cfg.spi_timeout_ms = 30000; /* a held fetch is released long before */
    E.srv.cfg = &E.cfg;
    if (o.kind == OP_STORE_REDIS) {
        op_test_redis_start(&E.redis);
        sc.redis_address = E.redis.addr;
    }
    op_store_open(E.srv.loop, &sc, on_store, NULL);
    OP_CHECK_INT(op_loop_run(E.srv.loop), OP_OK);
    op_keys_open(E.srv.loop, E.srv.store, &kc, on_keys, NULL);
    OP_CHECK_INT(op_loop_run(E.srv.loop), OP_OK);
    OP_CHECK_INT(
        op_client_parse_all(E.a, clients_json, strlen(clients_json), "test", &clients, &n, &err),
        OP_OK);
    OP_CHECK_INT(op_client_registry_new(clients, n, E.a, &E.srv.clients, &err), OP_OK);
    E.srv.http = op_http_new(E.srv.loop, &hcfg, routes, OP_NELEMS(routes), &err);
    E.hc = op_http_client_new(E.srv.loop, &cc, &err);
    OP_CHECK(E.srv.http != NULL && E.hc != NULL);
    snprintf(E.url, sizeof(E.url), "http://127.0.0.1:%d/token", op_http_port(E.srv.http));
    snprintf(E.hook_url, sizeof(E.hook_url), "http://127.0.0.1:%d/hook", op_http_port(E.srv.http));
    if (o.hold) {
        op_spi_settings_t s = {plugins, 1, plugin_prop, NULL};
        OP_CHECK_INT(op_spi_loader_open(E.srv.loop, E.hc, &s, NULL, &E.srv.spi, &err), OP_OK);
    }
}

static void setup(bool rotate, int max_idle_s)
{
    setup_with((opts_t){.kind = OP_STORE_MEMORY, .rotate = rotate, .max_idle_s = max_idle_s});
}

static void on_store_closed(void *arg)
{
    OP_UNUSED(arg);
    E.srv.store = NULL;
    op_loop_stop(E.srv.loop);
}

static void teardown(void)
{
    OP_CHECK_INT(E.nhooks, 0);
    op_spi_loader_close(E.srv.spi);
    op_http_client_free(E.hc);
    op_http_free(E.srv.http);
    op_keys_close(E.srv.keys);
    op_store_close(E.srv.store, on_store_closed, NULL);
    OP_CHECK_INT(op_loop_run(E.srv.loop), OP_OK);
    op_timer_free(E.tick);
    op_timer_free(E.guard);
    op_loop_free(E.srv.loop);
    op_arena_free(E.a);
    op_test_redis_cleanup();
}

/* ---- waiting ---------------------------------------------------------------- */

/* Run the loop until pred() holds: every completion of interest stops
 * the loop, and so does a 10 ms tick, so pred is looked at often; at
 * most 20 s. */
static void run_until(bool (*pred)(void))
{
    op_timer_start(E.guard, 20000);
    while (!pred()) {
        op_timer_start(E.tick, 10);
        OP_CHECK_INT(op_loop_run(E.srv.loop), OP_OK);
    }
    op_timer_stop(E.tick);
    op_timer_stop(E.guard);
}

static bool no_answer_pending(void)
{
    return E.pending == 0;
}

static bool hook_held(void)
{
    return E.nhooks > 0;
}

static bool no_answer_pending_or_held(void)
{
    return E.pending == 0 || E.nhooks > 0;
}

static const answer_t *watched[2];

static bool watched_answered(void)
{
    return watched[0]->calls > 0 || (watched[1] != NULL && watched[1]->calls > 0);
}

/* Run until a or b (may be NULL) has its answer. */
static void wait_answer(const answer_t *a, const answer_t *b)
{
    watched[0] = a;
    watched[1] = b;
    run_until(watched_answered);
}

static void wait_all(void)
{
    run_until(no_answer_pending);
}

/* ---- requests ----------------------------------------------------------------- */

static void on_answer(int status, const op_http_response_t *resp, const op_err_t *err, void *arg)
{
    answer_t *r = arg;
    op_json_t *v = NULL;
    op_err_t e;

    OP_UNUSED(err);
    r->calls++;
    r->status = status;
    if (status == OP_OK) {
        r->http_status = resp->status;
        op_err_clear(&e);
        OP_CHECK_INT(op_json_parse(E.a, resp->body, resp->body_len, NULL, &v, &e), OP_OK);
        r->body = v;
    }
    E.pending--;
    op_loop_stop(E.srv.loop);
}

/* Start a token request from client c1 (Basic); run with wait_all(). */
static void post(const char *form, answer_t *r)
{
    static const op_http_header_t auth[] = {{"Authorization", "Basic YzE6c2VjcmV0LTE="}};
    op_http_fetch_t f = {
        .method = OP_HTTP_POST,
        .url = E.url,
        .headers = auth,
        .nheaders = 1,
        .body = form,
        .body_len = strlen(form),
        .content_type = "application/x-www-form-urlencoded",
    };

    memset(r, 0, sizeof(*r));
    E.pending++;
    op_http_client_fetch(E.hc, &f, on_answer, r);
}

/* The answer r must be: one, with this status and OAuth error (NULL:
 * none). */
static void answered(const answer_t *r, int http_status, const char *error)
{
    OP_CHECK_INT(r->calls, 1);
    OP_CHECK_INT(r->status, OP_OK);
    OP_CHECK_INT(r->http_status, http_status);
    if (error != NULL)
        OP_CHECK_STR(op_json_get_str(r->body, "error"), error);
}

/* A request run to its answer; its claims fetch, if held, released. */
static const op_json_t *request(const char *form, int http_status)
{
    answer_t r;

    post(form, &r);
    while (E.pending > 0) {
        run_until(no_answer_pending_or_held);
        release_hooks();
    }
    OP_CHECK_INT(r.calls, 1);
    OP_CHECK_INT(r.status, OP_OK);
    OP_CHECK_INT(r.http_status, http_status);
    return r.body;
}

static uint64_t ops(void)
{
    op_store_stats_t st;

    op_store_get_stats(E.srv.store, &st);
    return st.ops;
}

static void on_store_op(int status, const op_store_res_t *res, void *arg)
{
    char **value = arg;

    E.store_status = status;
    if (value != NULL)
        *value = status == OP_OK ? op_arena_strndup(E.a, res->value, res->value_len) : NULL;
    op_loop_stop(E.srv.loop);
}

static void put(const op_store_rec_t *rec)
{
    op_store_put(E.srv.store, rec, 0, on_store_op, NULL);
    OP_CHECK_INT(op_loop_run(E.srv.loop), OP_OK);
    OP_CHECK_INT(E.store_status, OP_OK);
}

/* Status of a get of (ns, key); the value into *value (may be NULL). */
static int get_key(const char *ns, const char *key, char **value)
{
    op_store_get(E.srv.store, ns, key, strlen(key), on_store_op, value);
    OP_CHECK_INT(op_loop_run(E.srv.loop), OP_OK);
    return E.store_status;
}

/* Status of a get of (ns, sha256hex(token)). */
static int lookup(const char *ns, const char *token)
{
    char key[65];

    op_keys_crypto_sha256_hex(token, strlen(token), key);
    return get_key(ns, key, NULL);
}

/* The family a used marker (code-used or rt-used of token) names. */
static const char *family_of(const char *ns, const char *token)
{
    char key[65], *value = NULL;
    op_token_used_t used;
    op_err_t err;

    op_keys_crypto_sha256_hex(token, strlen(token), key);
    OP_CHECK_INT(get_key(ns, key, &value), OP_OK);
    op_err_clear(&err);
    OP_CHECK_INT(op_token_used_read(E.a, value, strlen(value), &used, &err), OP_OK);
    return used.fam;
}

static void on_index(int status, const op_store_res_t *res, void *arg)
{
    size_t *n = arg;

    E.store_status = status;
    *n = res->nkeys;
    op_loop_stop(E.srv.loop);
}

/* How many records of namespace ns family fam has in the store. */
static size_t family_size(const char *ns, const char *fam)
{
    size_t n = 0;

    op_store_index(E.srv.store, ns, "fam", fam, strlen(fam), 0, on_index, &n);
    OP_CHECK_INT(op_loop_run(E.srv.loop), OP_OK);
    OP_CHECK_INT(E.store_status, OP_OK);
    return n;
}

/* Family fam is revoked: its record exists, none of its tokens is
 * stored. */
static void family_revoked(const char *fam)
{
    OP_CHECK_INT(get_key(OP_TOKEN_NS_REVOKED, fam, NULL), OP_OK);
    OP_CHECK_INT(family_size(OP_TOKEN_NS_RT, fam), 0);
    OP_CHECK_INT(family_size(OP_TOKEN_NS_AT, fam), 0);
}

/* A stored code for alice at c1, as the authorisation session API makes
 * it; the form that redeems it. With a held claims source the ID token
 * asks for its claim, so the exchange waits in its claims fetch. */
static const char *code_form(op_at_encoding_t enc)
{
    op_token_code_t c = {.ruri = "https://rp.example.com/cb", .nonce = "n-1"};
    op_token_minted_t m;
    op_err_t err;

    op_grant_defaults(&c.grant, &E.cfg);
    c.grant.sub = "alice";
    c.grant.cid = "c1";
    c.grant.at_encoding = enc;
    OP_CHECK_INT(op_token_scope_parse(E.a, "openid email", &c.grant.scp), OP_OK);
    if (E.o.hold)
        OP_CHECK_INT(op_strs_add(E.a, &c.grant.idc, "fake_claim"), OP_OK);
    c.authn.auth_time = op_loop_epoch() - 10;
    c.authn.sid = "sid-1";
    op_err_clear(&err);
    OP_CHECK_INT(op_token_code_mint(&E.cfg, op_loop_epoch(), &c, E.a, &m, &err), OP_OK);
    put(&m.rec);
    return op_arena_printf(E.a,
                           "grant_type=authorization_code&code=%s&redirect_uri=https%%3A%%2F%%2F"
                           "rp.example.com%%2Fcb",
                           m.token);
}

/* The code of a form made by code_form. */
static const char *code_of(const char *form)
{
    const char *p = strstr(form, "code=") + 5;
    return op_arena_strndup(E.a, p, strcspn(p, "&"));
}

static const char *refresh_form(const char *rt)
{
    return op_arena_printf(E.a, "grant_type=refresh_token&refresh_token=%s", rt);
}

/* ---- cases --------------------------------------------------------------------- */

/* RFC 6749 §4.1.3 / §5.1: one batch takes the code and marks it used,
 * then the refresh token, the code-used marker (and an identifier access
 * token) are written together in one batch: two store operations either
 * way. The tokens are of the family the marker names. */
static void test_code_round_trips(void)
{
    setup(true, 0);
    const char *form = code_form(OP_AT_SELF_CONTAINED);
    uint64_t before = ops();
    const op_json_t *b = request(form, 200);
    OP_CHECK_INT(ops() - before, 2);
    OP_CHECK_STR(op_json_get_str(b, "token_type"), "Bearer");
    OP_CHECK_STR(op_json_get_str(b, "scope"), "openid email");
    int64_t expires_in = 0;
    OP_CHECK(op_json_get_int(b, "expires_in", &expires_in) && expires_in == 600);
    OP_CHECK(strchr(op_json_get_str(b, "access_token"), '.') != NULL);
    OP_CHECK(op_json_get_str(b, "refresh_token") != NULL);
    OP_CHECK(op_json_get_str(b, "id_token") != NULL);
    OP_CHECK_INT(lookup(OP_TOKEN_NS_RT, op_json_get_str(b, "refresh_token")), OP_OK);
    const char *fam = family_of(OP_TOKEN_NS_CODE_USED, code_of(form));
    OP_CHECK_INT(family_size(OP_TOKEN_NS_RT, fam), 1);

    form = code_form(OP_AT_IDENTIFIER);
    before = ops();
    b = request(form, 200);
    OP_CHECK_INT(ops() - before, 2);
    OP_CHECK_INT(lookup(OP_TOKEN_NS_AT, op_json_get_str(b, "access_token")), OP_OK);
    OP_CHECK_INT(family_size(OP_TOKEN_NS_AT, family_of(OP_TOKEN_NS_CODE_USED, code_of(form))), 1);
    teardown();
}

/* RFC 6749 §4.1.2: "If an authorization code is used more than once, the
 * authorization server MUST deny the request and SHOULD revoke (when
 * possible) all tokens previously issued based on that authorization
 * code." - the access token, the refresh token and every token refreshed
 * from it (§10.5). */
static void test_code_replay(void)
{
    setup(true, 0);
    const char *form = code_form(OP_AT_IDENTIFIER);
    const op_json_t *b = request(form, 200);
    const char *at = op_json_get_str(b, "access_token");
    const char *rt = op_json_get_str(b, "refresh_token");
    /* The refresh token rotated once: its successors are of the family. */
    b = request(refresh_form(rt), 200);
    const char *at2 = op_json_get_str(b, "access_token");
    const char *rt2 = op_json_get_str(b, "refresh_token");

    b = request(form, 400);
    OP_CHECK_STR(op_json_get_str(b, "error"), "invalid_grant");
    OP_CHECK_INT(lookup(OP_TOKEN_NS_AT, at), OP_ENOTFOUND);
    OP_CHECK_INT(lookup(OP_TOKEN_NS_AT, at2), OP_ENOTFOUND);
    OP_CHECK_INT(lookup(OP_TOKEN_NS_RT, rt2), OP_ENOTFOUND);
    family_revoked(family_of(OP_TOKEN_NS_CODE_USED, code_of(form)));
    /* Another unknown code: nothing to revoke, one batch. */
    uint64_t before = ops();
    b = request("grant_type=authorization_code&code=nope&redirect_uri=x", 400);
    OP_CHECK_STR(op_json_get_str(b, "error"), "invalid_grant");
    OP_CHECK_INT(ops() - before, 1);
    OP_CHECK_INT(get_key(OP_TOKEN_NS_CODE_USED, "nope", NULL), OP_ENOTFOUND);
    teardown();
}

/*
 * RFC 6749 §4.1.2 and §10.5 while the first exchange still runs (its
 * claims fetch held): the replay finds the used marker the take wrote,
 * and revokes the family; the first exchange then stores nothing and
 * answers invalid_grant, so no token of the replayed code survives.
 */
static void code_replay_in_flight(op_store_kind_t kind)
{
    answer_t first, replay;

    setup_with((opts_t){.kind = kind, .rotate = true, .hold = true});
    const char *form = code_form(OP_AT_IDENTIFIER);
    post(form, &first);
    run_until(hook_held);
    const char *fam = family_of(OP_TOKEN_NS_CODE_USED, code_of(form));
    post(form, &replay);
    wait_answer(&replay, NULL);
    answered(&replay, 400, "invalid_grant");
    OP_CHECK_INT(first.calls, 0);
    OP_CHECK_INT(get_key(OP_TOKEN_NS_REVOKED, fam, NULL), OP_OK);
    release_hooks();
    wait_all();
    answered(&first, 400, "invalid_grant");
    family_revoked(fam);
    teardown();
}

static void test_code_replay_in_flight(void)
{
    code_replay_in_flight(OP_STORE_MEMORY);
}

static void test_code_replay_in_flight_redis(void)
{
    code_replay_in_flight(OP_STORE_REDIS);
}

/* Rotation (Security BCP §4.14.2): read, then one batch deletes the token
 * and writes its rt-used marker, then the successor is written: three
 * store operations. */
static void test_refresh_rotation(void)
{
    setup(true, 0);
    const op_json_t *b = request(code_form(OP_AT_SELF_CONTAINED), 200);
    const char *rt1 = op_json_get_str(b, "refresh_token");
    uint64_t before = ops();
    b = request(refresh_form(rt1), 200);
    OP_CHECK_INT(ops() - before, 3);
    const char *rt2 = op_json_get_str(b, "refresh_token");
    OP_CHECK(rt2 != NULL && strcmp(rt1, rt2) != 0);
    OP_CHECK(op_json_get_str(b, "id_token") != NULL);
    OP_CHECK_INT(lookup(OP_TOKEN_NS_RT, rt1), OP_ENOTFOUND);
    OP_CHECK_INT(lookup(OP_TOKEN_NS_RT_USED, rt1), OP_OK);
    OP_CHECK_INT(lookup(OP_TOKEN_NS_RT, rt2), OP_OK);

    /* The rotated-out token again: refused, and the family goes. */
    const char *fam = family_of(OP_TOKEN_NS_RT_USED, rt1);
    b = request(refresh_form(rt1), 400);
    OP_CHECK_STR(op_json_get_str(b, "error"), "invalid_grant");
    OP_CHECK_INT(lookup(OP_TOKEN_NS_RT, rt2), OP_ENOTFOUND);
    family_revoked(fam);
    b = request(refresh_form(rt2), 400);
    OP_CHECK_STR(op_json_get_str(b, "error"), "invalid_grant");
    teardown();
}

/* Two requests race with one rotating token: at most one gets tokens
 * (the take is the single-use guard), the other is refused as a reuse and
 * revokes the family, so whatever the winner got dies with it (Security
 * BCP §4.14.2). */
static void test_refresh_race(void)
{
    setup(true, 0);
    const op_json_t *b = request(code_form(OP_AT_SELF_CONTAINED), 200);
    const char *rt = op_json_get_str(b, "refresh_token");
    const char *form = refresh_form(rt);
    answer_t r[2];

    post(form, &r[0]);
    post(form, &r[1]);
    wait_all();
    OP_CHECK(r[0].http_status == 400 || r[1].http_status == 400);
    for (size_t i = 0; i < 2; i++) {
        OP_CHECK_INT(r[i].calls, 1);
        if (r[i].http_status == 200)
            request(refresh_form(op_json_get_str(r[i].body, "refresh_token")), 400);
        else
            answered(&r[i], 400, "invalid_grant");
    }
    family_revoked(family_of(OP_TOKEN_NS_RT_USED, rt));
    OP_CHECK_STR(op_json_get_str(request(form, 400), "error"), "invalid_grant");
    teardown();
}

/*
 * Security BCP §4.14.2, a reuse while the first exchange still runs
 * (held in its claims fetch after it took the token): the reuse finds the
 * rt-used marker the take wrote and revokes the family; the first
 * exchange's final batch then finds the family revoked, stores no
 * successor and answers invalid_grant.
 */
static void refresh_reuse_in_flight(op_store_kind_t kind)
{
    answer_t first, reuse;

    setup_with((opts_t){.kind = kind, .rotate = true, .hold = true});
    const char *rt =
        op_json_get_str(request(code_form(OP_AT_SELF_CONTAINED), 200), "refresh_token");
    post(refresh_form(rt), &first);
    run_until(hook_held);
    OP_CHECK_INT(lookup(OP_TOKEN_NS_RT, rt), OP_ENOTFOUND);
    const char *fam = family_of(OP_TOKEN_NS_RT_USED, rt);
    post(refresh_form(rt), &reuse);
    wait_answer(&reuse, NULL);
    answered(&reuse, 400, "invalid_grant");
    OP_CHECK_INT(first.calls, 0);
    release_hooks();
    wait_all();
    answered(&first, 400, "invalid_grant");
    family_revoked(fam);
    teardown();
}

static void test_refresh_reuse_in_flight(void)
{
    refresh_reuse_in_flight(OP_STORE_MEMORY);
}

static void test_refresh_reuse_in_flight_redis(void)
{
    refresh_reuse_in_flight(OP_STORE_REDIS);
}

static bool two_in_flight(void)
{
    op_store_stats_t st;

    op_store_get_stats(E.srv.store, &st);
    return st.in_flight >= 2;
}

/*
 * Security BCP §4.14.2, the other interleaving: both requests read the
 * token before either takes it (their reads held in a paused
 * redis-server). The first take wins and is held in its claims fetch;
 * the second take finds the token gone - a reuse while the first exchange
 * runs - and revokes the family, so the first stores no successor.
 */
static void test_refresh_reuse_read_before_take(void)
{
    answer_t r1, r2;

    setup_with((opts_t){.kind = OP_STORE_REDIS, .rotate = true, .hold = true});
    const char *rt =
        op_json_get_str(request(code_form(OP_AT_SELF_CONTAINED), 200), "refresh_token");
    op_test_redis_pause(&E.redis);
    post(refresh_form(rt), &r1);
    post(refresh_form(rt), &r2);
    run_until(two_in_flight); /* both reads sent, neither answered */
    op_test_redis_resume(&E.redis);
    wait_answer(&r1, &r2);
    run_until(hook_held); /* the winner, in its claims fetch */
    OP_CHECK_INT(E.nhooks, 1);
    answered(r1.calls == 1 ? &r1 : &r2, 400, "invalid_grant");
    release_hooks();
    wait_all();
    answered(&r1, 400, "invalid_grant");
    answered(&r2, 400, "invalid_grant");
    family_revoked(family_of(OP_TOKEN_NS_RT_USED, rt));
    teardown();
}

/* Without rotation the token stays: one read, plus the write that starts
 * its idle time again when there is a max idle time. */
static void test_refresh_no_rotation(void)
{
    for (int idle = 0; idle <= 3600; idle += 3600) {
        setup(false, idle);
        const char *rt =
            op_json_get_str(request(code_form(OP_AT_SELF_CONTAINED), 200), "refresh_token");
        for (int i = 0; i < 2; i++) {
            uint64_t before = ops();
            const op_json_t *b = request(refresh_form(rt), 200);
            OP_CHECK_INT(ops() - before, idle > 0 ? 2 : 1);
            OP_CHECK(op_json_get_str(b, "refresh_token") == NULL);
            OP_CHECK(op_json_get_str(b, "access_token") != NULL);
        }
        OP_CHECK_INT(lookup(OP_TOKEN_NS_RT, rt), OP_OK);
        teardown();
    }
}

/*
 * A code taken is a decision (RFC 6749 §4.1.2: single use): the request
 * deadline (here 200 ms) no longer answers 503 for it while the exchange
 * waits for its claims; the exchange finishes, answers 200 with tokens
 * that are stored and valid - never tokens stored for nobody and a retry
 * refused (§5.2 invalid_grant).
 */
static void test_deadline_after_take(void)
{
    answer_t r;

    setup_with(
        (opts_t){.kind = OP_STORE_MEMORY, .rotate = true, .hold = true, .request_timeout_ms = 200});
    post(code_form(OP_AT_SELF_CONTAINED), &r);
    run_until(hook_held);
    uint64_t until = op_loop_now_ms() + 600;
    while (op_loop_now_ms() < until && r.calls == 0) {
        op_timer_start(E.tick, 10);
        OP_CHECK_INT(op_loop_run(E.srv.loop), OP_OK);
    }
    OP_CHECK_INT(r.calls, 0); /* three deadlines later, still no 503 */
    release_hooks();
    wait_all();
    answered(&r, 200, NULL);
    OP_CHECK_INT(lookup(OP_TOKEN_NS_RT, op_json_get_str(r.body, "refresh_token")), OP_OK);
    teardown();
}

/*
 * The other side of the same rule: a request whose deadline answered 503
 * before its single-use take consumes nothing. The refresh token read is
 * held in a paused redis-server past the deadline; once it completes, the
 * token is not rotated and still works.
 */
static void test_deadline_before_take(void)
{
    answer_t r;

    setup_with((opts_t){.kind = OP_STORE_REDIS, .rotate = true, .request_timeout_ms = 200});
    const char *rt =
        op_json_get_str(request(code_form(OP_AT_SELF_CONTAINED), 200), "refresh_token");
    op_test_redis_pause(&E.redis);
    post(refresh_form(rt), &r);
    wait_all();
    answered(&r, 503, "temporarily_unavailable");
    op_test_redis_resume(&E.redis);
    /* The late read completes; then the flow stops before the take. */
    OP_CHECK_INT(lookup(OP_TOKEN_NS_RT, rt), OP_OK);
    OP_CHECK_INT(lookup(OP_TOKEN_NS_RT_USED, rt), OP_ENOTFOUND);
    OP_CHECK(op_json_get_str(request(refresh_form(rt), 200), "refresh_token") != NULL);
    teardown();
}

/* Refused before any store operation: the body cap (reference §1.1),
 * the form, the grant type, the client. */
static void test_refused_early(void)
{
    setup(true, 0);
    char *big = op_arena_alloc(E.a, 39 + 50000 + 1);
    memcpy(big, "grant_type=refresh_token&refresh_token=", 39);
    memset(big + 39, 'a', 50000);
    big[50039] = '\0';
    uint64_t before = ops();
    OP_CHECK_STR(op_json_get_str(request(big, 400), "error"), "invalid_request");
    OP_CHECK_STR(op_json_get_str(request("grant_type=password", 400), "error"),
                 "unsupported_grant_type");
    OP_CHECK_STR(op_json_get_str(request("grant_type=refresh_token", 400), "error"),
                 "invalid_request");
    OP_CHECK_STR(op_json_get_str(request("grant_type=x&grant_type=y", 400), "error"),
                 "invalid_request");
    OP_CHECK_STR(
        op_json_get_str(request("client_id=c2&grant_type=refresh_token&refresh_token=x", 400),
                        "error"),
        "invalid_request");
    OP_CHECK_INT(ops(), before);
    teardown();
}

/* RFC 6749 §4.1.3: the redirect_uri of the exchange must be present and
 * identical to the one the code was issued for; near misses and an
 * absent or empty one are invalid_grant (each attempt takes its code). */
static void test_redirect_uri_exact(void)
{
    static const char *const wrong[] = {
        "&redirect_uri=https%3A%2F%2Frp.example.com%2Fcb%2F",
        "&redirect_uri=https%3A%2F%2FRP.example.com%2Fcb",
        "&redirect_uri=https%3A%2F%2Frp.example.com%3A443%2Fcb",
        "&redirect_uri=https%3A%2F%2Frp.example.com%2Fcb%3Fx%3D1",
        "&redirect_uri=https%3A%2F%2Frp.example.com%2Fc",
        "&redirect_uri=https%3A%2F%2Frp.example.com%2Fcbx",
        "&redirect_uri=http%3A%2F%2Frp.example.com%2Fcb",
        "&redirect_uri=",
        "",
    };

    setup(true, 0);
    for (size_t i = 0; i < OP_NELEMS(wrong); i++) {
        const char *form = code_form(OP_AT_SELF_CONTAINED);
        int n = (int)(strstr(form, "&redirect_uri=") - form);
        const op_json_t *b = request(op_arena_printf(E.a, "%.*s%s", n, form, wrong[i]), 400);
        if (!op_str_eq(op_json_get_str(b, "error"), "invalid_grant")) {
            fprintf(stderr, "row %zu (%s): %s\n", i, wrong[i], op_json_get_str(b, "error"));
            exit(1);
        }
    }
    request(code_form(OP_AT_SELF_CONTAINED), 200);
    teardown();
}

static const op_test_case_t cases[] = {
    {"code_round_trips", test_code_round_trips},
    {"code_replay", test_code_replay},
    {"code_replay_in_flight", test_code_replay_in_flight},
    {"code_replay_in_flight_redis", test_code_replay_in_flight_redis},
    {"refresh_rotation", test_refresh_rotation},
    {"refresh_race", test_refresh_race},
    {"refresh_reuse_in_flight", test_refresh_reuse_in_flight},
    {"refresh_reuse_in_flight_redis", test_refresh_reuse_in_flight_redis},
    {"refresh_reuse_read_before_take", test_refresh_reuse_read_before_take},
    {"refresh_no_rotation", test_refresh_no_rotation},
    {"deadline_after_take", test_deadline_after_take},
    {"deadline_before_take", test_deadline_before_take},
    {"refused_early", test_refused_early},
    {"redirect_uri_exact", test_redirect_uri_exact},
};

OP_TEST_MAIN(cases)
