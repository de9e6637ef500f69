/*
 * tests/unit/test_op_token_endpoint.c - core/op_token_endpoint.c in
 * process: a server on 127.0.0.1:0 with the memory store, a key set and
 * a client registry, driven by the project's own HTTP client. Each case
 * counts the store operations a grant costs (op_store_get_stats): a code
 * is taken once and the new records are written together; a refresh
 * token is read, deleted when it rotates, and its successor written with
 * the rt-used record. Replay of a code and reuse of a rotated-out refresh
 * token revoke what they issued (RFC 6749 §4.1.2, Security BCP
 * §4.14.2); of two requests racing with one rotating token exactly one
 * wins. Every request gets exactly one answer.
 */
#include "core/op_server.h"
#include "core/op_token.h"
#include "tests/unit/op_test.h"

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

static struct env {
    op_server_t srv;
    op_config_t cfg;
    op_arena_t *a;
    op_http_client_t *hc;
    char url[64];
    int pending; /* answers awaited */
    int store_status;
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

static void setup(bool rotate, int max_idle_s)
{
    op_store_config_t sc = {.kind = OP_STORE_MEMORY};
    op_keys_config_t kc = {.enc_key = enc_key, .rsa_bits = 2048};
    static const op_http_route_t routes[] = {
        {OP_HTTP_POST, "/token", 0, op_token_endpoint_handle, &E.srv},
    };
    op_http_config_t hcfg = {
        .address = "127.0.0.1",
        .fd = -1,
        .max_body = 1 << 20,
        .max_headers = 16384,
        .idle_timeout_s = 10,
        .request_timeout_ms = 10000,
        .arena_max = 4 << 20,
    };
    op_http_client_config_t cc = {
        .connect_timeout_ms = 5000, .timeout_ms = 10000, .max_response = 1 << 20};
    op_client_t *clients = NULL;
    size_t n = 0;
    op_err_t err;

    memset(&E, 0, sizeof(E));
    op_err_clear(&err);
    op_log_init(OP_LOG_WARN, 2);
    OP_CHECK_INT(op_keys_global_init(), OP_OK);
    E.a = op_arena_new(8 << 20);
    E.srv.loop = op_loop_new();
    OP_CHECK(E.a != NULL && E.srv.loop != NULL);
    E.cfg.issuer = "https://op.example.com";
    E.cfg.id_token_algs[0] = OP_JWS_RS256;
    E.cfg.n_id_token_algs = 1;
    E.cfg.id_token_lifetime_s = 900;
    E.cfg.authz_code_lifetime_s = 300;
    E.cfg.at_lifetime_s = 600;
    E.cfg.at_jws_alg = OP_JWS_ES256;
    E.cfg.rt_lifetime_s = 86400;
    E.cfg.rt_max_idle_s = max_idle_s;
    E.cfg.rt_rotate = rotate;
    E.cfg.spi_timeout_ms = 1000;
    E.srv.cfg = &E.cfg;
    op_store_open(E.srv.loop, &sc, on_store, NULL);
    OP_CHECK_INT(op_loop_run(E.srv.loop), OP_OK);
    op_keys_open(E.srv.loop, E.srv.store, &kc, on_keys, NULL);
    OP_CHECK_INT(op_loop_run(E.srv.loop), OP_OK);
    OP_CHECK_INT(
        op_clients_parse(E.a, clients_json, strlen(clients_json), "test", &clients, &n, &err),
        OP_OK);
    OP_CHECK_INT(op_client_registry_new(clients, n, E.a, &E.srv.clients, &err), OP_OK);
    E.srv.http = op_http_new(E.srv.loop, &hcfg, routes, OP_NELEMS(routes), &err);
    E.hc = op_http_client_new(E.srv.loop, &cc, &err);
    OP_CHECK(E.srv.http != NULL && E.hc != NULL);
    snprintf(E.url, sizeof(E.url), "http://127.0.0.1:%d/token", op_http_port(E.srv.http));
}

static void on_store_closed(void *arg)
{
    OP_UNUSED(arg);
    E.srv.store = NULL;
    op_loop_stop(E.srv.loop);
}

static void teardown(void)
{
    op_http_client_free(E.hc);
    op_http_free(E.srv.http);
    op_keys_close(E.srv.keys);
    op_store_close(E.srv.store, on_store_closed, NULL);
    OP_CHECK_INT(op_loop_run(E.srv.loop), OP_OK);
    op_loop_free(E.srv.loop);
    op_arena_free(E.a);
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
    if (--E.pending == 0)
        op_loop_stop(E.srv.loop);
}

/* Start a token request from client c1 (Basic); run with wait(). */
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
    op_http_fetch(E.hc, &f, on_answer, r);
}

static void wait_all(void)
{
    OP_CHECK_INT(op_loop_run(E.srv.loop), OP_OK);
    OP_CHECK_INT(E.pending, 0);
}

static const op_json_t *request(const char *form, int http_status)
{
    answer_t r;

    post(form, &r);
    wait_all();
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
    OP_UNUSED(res);
    OP_UNUSED(arg);
    E.store_status = status;
    op_loop_stop(E.srv.loop);
}

static void put(const op_store_rec_t *rec)
{
    op_store_put(E.srv.store, rec, 0, on_store_op, NULL);
    OP_CHECK_INT(op_loop_run(E.srv.loop), OP_OK);
    OP_CHECK_INT(E.store_status, OP_OK);
}

/* Status of a get of (ns, sha256hex(token)). */
static int lookup(const char *ns, const char *token)
{
    char key[65];

    op_sha256_hex(token, strlen(token), key);
    op_store_get(E.srv.store, ns, key, 64, on_store_op, NULL);
    OP_CHECK_INT(op_loop_run(E.srv.loop), OP_OK);
    return E.store_status;
}

/* A stored code for alice at c1, as the authorisation session API makes
 * it; the form that redeems it. */
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

static const char *refresh_form(const char *rt)
{
    return op_arena_printf(E.a, "grant_type=refresh_token&refresh_token=%s", rt);
}

/* ---- cases --------------------------------------------------------------------- */

/* RFC 6749 §4.1.3 / §5.1: one take, then the refresh token and the
 * code-used record (and an identifier access token) written together in
 * one batch: two store operations either way. */
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

    form = code_form(OP_AT_IDENTIFIER);
    before = ops();
    b = request(form, 200);
    OP_CHECK_INT(ops() - before, 2);
    OP_CHECK_INT(lookup(OP_TOKEN_NS_AT, op_json_get_str(b, "access_token")), OP_OK);
    teardown();
}

/* RFC 6749 §4.1.2: "If an authorization code is used more than once, the
 * authorization server MUST deny the request and SHOULD revoke (when
 * possible) all tokens previously issued based on that authorization
 * code." */
static void test_code_replay(void)
{
    setup(true, 0);
    const char *form = code_form(OP_AT_IDENTIFIER);
    const op_json_t *b = request(form, 200);
    const char *at = op_json_get_str(b, "access_token");
    const char *rt = op_json_get_str(b, "refresh_token");
    /* The refresh token rotated once: its successor is of the family. */
    const char *rt2 = op_json_get_str(request(refresh_form(rt), 200), "refresh_token");

    b = request(form, 400);
    OP_CHECK_STR(op_json_get_str(b, "error"), "invalid_grant");
    OP_CHECK_INT(lookup(OP_TOKEN_NS_AT, at), OP_ENOTFOUND);
    OP_CHECK_INT(lookup(OP_TOKEN_NS_RT, rt2), OP_ENOTFOUND);
    /* Another unknown code: no record to revoke, two lookups. */
    uint64_t before = ops();
    b = request("grant_type=authorization_code&code=nope&redirect_uri=x", 400);
    OP_CHECK_STR(op_json_get_str(b, "error"), "invalid_grant");
    OP_CHECK_INT(ops() - before, 2);
    teardown();
}

/* Rotation (Security BCP §4.14.2): read, single-use delete, then the
 * successor and the rt-used record together in one batch. */
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
    b = request(refresh_form(rt1), 400);
    OP_CHECK_STR(op_json_get_str(b, "error"), "invalid_grant");
    OP_CHECK_INT(lookup(OP_TOKEN_NS_RT, rt2), OP_ENOTFOUND);
    b = request(refresh_form(rt2), 400);
    OP_CHECK_STR(op_json_get_str(b, "error"), "invalid_grant");
    teardown();
}

/* Two requests race with one rotating token: exactly one wins (the
 * delete is the single-use guard), the other is refused as a reuse. */
static void test_refresh_race(void)
{
    setup(true, 0);
    const op_json_t *b = request(code_form(OP_AT_SELF_CONTAINED), 200);
    const char *form = refresh_form(op_json_get_str(b, "refresh_token"));
    answer_t r1, r2;

    post(form, &r1);
    post(form, &r2);
    wait_all();
    OP_CHECK_INT(r1.calls, 1);
    OP_CHECK_INT(r2.calls, 1);
    OP_CHECK_INT(r1.http_status + r2.http_status, 600);
    const op_json_t *lost = r1.http_status == 200 ? r2.body : r1.body;
    OP_CHECK_STR(op_json_get_str(lost, "error"), "invalid_grant");
    OP_CHECK_STR(op_json_get_str(request(form, 400), "error"), "invalid_grant");
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
        if (!op_streq(op_json_get_str(b, "error"), "invalid_grant")) {
            fprintf(stderr, "row %zu (%s): %s\n", i, wrong[i], op_json_get_str(b, "error"));
            exit(1);
        }
    }
    request(code_form(OP_AT_SELF_CONTAINED), 200);
    teardown();
}

static const op_test_case_t cases[] = {
    {"code_round_trips", test_code_round_trips},       {"code_replay", test_code_replay},
    {"refresh_rotation", test_refresh_rotation},       {"refresh_race", test_refresh_race},
    {"refresh_no_rotation", test_refresh_no_rotation}, {"refused_early", test_refused_early},
    {"redirect_uri_exact", test_redirect_uri_exact},
};

OP_TEST_MAIN(cases)
