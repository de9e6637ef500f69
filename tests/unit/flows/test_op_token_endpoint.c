/*
 * tests/unit/flows/test_op_token_endpoint.c - core/flows/op_token_endpoint.c in
 * process, on the flow tests' server (tests/unit/op_test_server.h): the
 * memory or a redis store, a key set and a client registry, driven by the
 * project's own HTTP client.
 * Each case counts the store operations a grant costs
 * (op_store_get_stats): a code is taken (and marked used) in one batch
 * and the new records are written together; a refresh token is read,
 * deleted (and marked used) when it rotates, and its successor written.
 * Replay of a code and reuse of a refresh token revoke their family (RFC
 * 6749 §4.1.2, §10.5; Security BCP §4.14.2), also while the first
 * exchange is still running. Every request gets exactly one answer.
 *
 * To hold an exchange in flight deterministically, the "hold" set-ups
 * load the test claims source in its fetch mode: it asks the server's
 * own /hook route for the claims, and the test answers the held fetches
 * when it chooses (op_test_server_release_hooks). Waits run the loop
 * until a condition holds; nothing sleeps.
 */
#include "core/flows/op_flows.h"
#include "core/proto/op_token.h"
#include "tests/unit/op_test_server.h"

static const char clients_json[] = "[{\"client_id\":\"c1\",\"client_secret\":\"secret-1\","
                                   "\"redirect_uris\":[\"https://rp.example.com/cb\"],"
                                   "\"grant_types\":[\"authorization_code\",\"refresh_token\"]},"
                                   " {\"client_id\":\"c2\",\"client_secret\":\"secret-2\","
                                   "\"redirect_uris\":[\"https://rp.example.com/cb\"],"
                                   "\"grant_types\":[\"authorization_code\",\"refresh_token\"]}]";

/* How a case wants its server. */
typedef struct opts {
    op_store_kind_t kind;
    bool rotate;
    int max_idle_s;
    bool hold;                   /* claims from the held /hook route */
    uint64_t request_timeout_ms; /* 0: 10 s */
} opts_t;

static bool hold; /* the case's set-up holds claims fetches */

/* ---- set-up --------------------------------------------------------------- */

static void setup_with(opts_t o)
{
    const op_test_server_opts_t so = {o.kind, clients_json, o.hold ? "fetch" : NULL,
                                      o.request_timeout_ms};
    const op_http_route_t routes[] = {
        {OP_HTTP_POST, "/token", 0, op_token_endpoint.routes[0].handler, &OP_TS.srv},
    };

    op_test_server_open(&so, routes, OP_NELEMS(routes));
    OP_TS.cfg.rt_max_idle_s = o.max_idle_s;
    OP_TS.cfg.rt_rotate = o.rotate;
    hold = o.hold;
}

static void setup(bool rotate, int max_idle_s)
{
    setup_with((opts_t){.kind = OP_STORE_MEMORY, .rotate = rotate, .max_idle_s = max_idle_s});
}

/* ---- requests ----------------------------------------------------------------- */

static const op_test_reply_t *watched[2];

static bool watched_answered(void)
{
    return watched[0]->calls > 0 || watched[1]->calls > 0;
}

/* Run until a or b has its answer. */
static void wait_either(const op_test_reply_t *a, const op_test_reply_t *b)
{
    watched[0] = a;
    watched[1] = b;
    op_test_server_run_until(watched_answered);
}

/* A token request from client c1 (Basic). */
static op_http_fetch_t token_req(const char *form)
{
    return op_test_server_form("/token", "Basic YzE6c2VjcmV0LTE=", form);
}

/* Start a token request; run with op_test_server_wait_all(). */
static void post(const char *form, op_test_reply_t *r)
{
    const op_http_fetch_t f = token_req(form);

    op_test_server_fetch(&f, r);
}

/* A request run to its answer, which must have this status; its claims
 * fetch, if held, released. */
static const op_json_t *request(const char *form, int http_status)
{
    const op_http_fetch_t f = token_req(form);

    return op_test_server_call(&f, http_status);
}

/* The answer r must be: one, with this status and OAuth error (NULL:
 * none). */
static void answered(const op_test_reply_t *r, int http_status, const char *error)
{
    OP_CHECK_INT(r->calls, 1);
    OP_CHECK_INT(r->status, OP_OK);
    OP_CHECK_INT(r->http_status, http_status);
    if (error != NULL)
        OP_CHECK_STR(op_json_get_str(r->body, "error"), error);
}

/* Whether (ns, sha256hex(token)) is stored. */
static bool stored(const char *ns, const char *token)
{
    char key[65];

    op_keys_crypto_sha256_hex(token, strlen(token), key);
    return op_test_server_get(ns, key) != NULL;
}

/* The family a used marker (code-used or rt-used of token) names. */
static const char *family_of(const char *ns, const char *token)
{
    char key[65];
    const char *value;
    op_token_used_t used;
    op_err_t err;

    op_keys_crypto_sha256_hex(token, strlen(token), key);
    value = op_test_server_get(ns, key);
    OP_CHECK(value != NULL);
    op_err_clear(&err);
    OP_CHECK_INT(op_token_used_read(OP_TS.a, value, strlen(value), &used, &err), OP_OK);
    return used.fam;
}

static void on_index(int status, const op_store_res_t *res, void *arg)
{
    size_t *n = arg;

    OP_TS.store_status = status;
    *n = res->nkeys;
    op_loop_stop(OP_TS.srv.loop);
}

/* How many records of namespace ns family fam has in the store. */
static size_t family_size(const char *ns, const char *fam)
{
    size_t n = 0;

    op_store_index(OP_TS.srv.store, ns, "fam", fam, strlen(fam), 0, on_index, &n);
    OP_CHECK_INT(op_loop_run(OP_TS.srv.loop), OP_OK);
    OP_CHECK_INT(OP_TS.store_status, OP_OK);
    return n;
}

/* Family fam is revoked: its record exists, none of its tokens is
 * stored. */
static void family_revoked(const char *fam)
{
    OP_CHECK(op_test_server_get(OP_TOKEN_NS_REVOKED, fam) != NULL);
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

    op_grant_defaults(&c.grant, &OP_TS.cfg);
    c.grant.sub = "alice";
    c.grant.cid = "c1";
    c.grant.at_encoding = enc;
    OP_CHECK_INT(op_token_scope_parse(OP_TS.a, "openid email", &c.grant.scp), OP_OK);
    if (hold)
        OP_CHECK_INT(op_strs_add(OP_TS.a, &c.grant.idc, "fake_claim"), OP_OK);
    c.authn.auth_time = op_loop_epoch() - 10;
    c.authn.sid = "sid-1";
    op_err_clear(&err);
    OP_CHECK_INT(op_token_code_mint(&OP_TS.cfg, op_loop_epoch(), &c, OP_TS.a, &m, &err), OP_OK);
    op_test_server_put(&m.rec);
    return op_arena_printf(OP_TS.a,
                           "grant_type=authorization_code&code=%s&redirect_uri=https%%3A%%2F%%2F"
                           "rp.example.com%%2Fcb",
                           m.token);
}

/* The code of a form made by code_form. */
static const char *code_of(const char *form)
{
    const char *p = strstr(form, "code=") + 5;
    return op_arena_strndup(OP_TS.a, p, strcspn(p, "&"));
}

static const char *refresh_form(const char *rt)
{
    return op_arena_printf(OP_TS.a, "grant_type=refresh_token&refresh_token=%s", rt);
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
    uint64_t before = op_test_server_ops();
    const op_json_t *b = request(form, 200);
    OP_CHECK_INT(op_test_server_ops() - before, 2);
    OP_CHECK_STR(op_json_get_str(b, "token_type"), "Bearer");
    OP_CHECK_STR(op_json_get_str(b, "scope"), "openid email");
    int64_t expires_in = 0;
    OP_CHECK(op_json_get_int(b, "expires_in", &expires_in) && expires_in == 600);
    OP_CHECK(strchr(op_json_get_str(b, "access_token"), '.') != NULL);
    OP_CHECK(op_json_get_str(b, "refresh_token") != NULL);
    OP_CHECK(op_json_get_str(b, "id_token") != NULL);
    OP_CHECK(stored(OP_TOKEN_NS_RT, op_json_get_str(b, "refresh_token")));
    const char *fam = family_of(OP_TOKEN_NS_CODE_USED, code_of(form));
    OP_CHECK_INT(family_size(OP_TOKEN_NS_RT, fam), 1);

    form = code_form(OP_AT_IDENTIFIER);
    before = op_test_server_ops();
    b = request(form, 200);
    OP_CHECK_INT(op_test_server_ops() - before, 2);
    OP_CHECK(stored(OP_TOKEN_NS_AT, op_json_get_str(b, "access_token")));
    OP_CHECK_INT(family_size(OP_TOKEN_NS_AT, family_of(OP_TOKEN_NS_CODE_USED, code_of(form))), 1);
    op_test_server_close();
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
    OP_CHECK(!stored(OP_TOKEN_NS_AT, at));
    OP_CHECK(!stored(OP_TOKEN_NS_AT, at2));
    OP_CHECK(!stored(OP_TOKEN_NS_RT, rt2));
    family_revoked(family_of(OP_TOKEN_NS_CODE_USED, code_of(form)));
    /* Another unknown code: nothing to revoke, one batch. */
    uint64_t before = op_test_server_ops();
    b = request("grant_type=authorization_code&code=nope&redirect_uri=x", 400);
    OP_CHECK_STR(op_json_get_str(b, "error"), "invalid_grant");
    OP_CHECK_INT(op_test_server_ops() - before, 1);
    OP_CHECK(op_test_server_get(OP_TOKEN_NS_CODE_USED, "nope") == NULL);
    op_test_server_close();
}

/*
 * RFC 6749 §4.1.2 and §10.5 while the first exchange still runs (its
 * claims fetch held): the replay finds the used marker the take wrote,
 * and revokes the family; the first exchange then stores nothing and
 * answers invalid_grant, so no token of the replayed code survives.
 */
static void code_replay_in_flight(op_store_kind_t kind)
{
    op_test_reply_t first, replay;

    setup_with((opts_t){.kind = kind, .rotate = true, .hold = true});
    const char *form = code_form(OP_AT_IDENTIFIER);
    post(form, &first);
    op_test_server_run_until(op_test_server_hook_held);
    const char *fam = family_of(OP_TOKEN_NS_CODE_USED, code_of(form));
    post(form, &replay);
    op_test_server_wait(&replay, 400);
    answered(&replay, 400, "invalid_grant");
    OP_CHECK_INT(first.calls, 0);
    OP_CHECK(op_test_server_get(OP_TOKEN_NS_REVOKED, fam) != NULL);
    op_test_server_release_hooks();
    op_test_server_wait_all();
    answered(&first, 400, "invalid_grant");
    family_revoked(fam);
    op_test_server_close();
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
    uint64_t before = op_test_server_ops();
    b = request(refresh_form(rt1), 200);
    OP_CHECK_INT(op_test_server_ops() - before, 3);
    const char *rt2 = op_json_get_str(b, "refresh_token");
    OP_CHECK(rt2 != NULL && strcmp(rt1, rt2) != 0);
    OP_CHECK(op_json_get_str(b, "id_token") != NULL);
    OP_CHECK(!stored(OP_TOKEN_NS_RT, rt1));
    OP_CHECK(stored(OP_TOKEN_NS_RT_USED, rt1));
    OP_CHECK(stored(OP_TOKEN_NS_RT, rt2));

    /* The rotated-out token again: refused, and the family goes. */
    const char *fam = family_of(OP_TOKEN_NS_RT_USED, rt1);
    b = request(refresh_form(rt1), 400);
    OP_CHECK_STR(op_json_get_str(b, "error"), "invalid_grant");
    OP_CHECK(!stored(OP_TOKEN_NS_RT, rt2));
    family_revoked(fam);
    b = request(refresh_form(rt2), 400);
    OP_CHECK_STR(op_json_get_str(b, "error"), "invalid_grant");
    op_test_server_close();
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
    op_test_reply_t r[2];

    post(form, &r[0]);
    post(form, &r[1]);
    op_test_server_wait_all();
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
    op_test_server_close();
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
    op_test_reply_t first, reuse;

    setup_with((opts_t){.kind = kind, .rotate = true, .hold = true});
    const char *rt =
        op_json_get_str(request(code_form(OP_AT_SELF_CONTAINED), 200), "refresh_token");
    post(refresh_form(rt), &first);
    op_test_server_run_until(op_test_server_hook_held);
    OP_CHECK(!stored(OP_TOKEN_NS_RT, rt));
    const char *fam = family_of(OP_TOKEN_NS_RT_USED, rt);
    post(refresh_form(rt), &reuse);
    op_test_server_wait(&reuse, 400);
    answered(&reuse, 400, "invalid_grant");
    OP_CHECK_INT(first.calls, 0);
    op_test_server_release_hooks();
    op_test_server_wait_all();
    answered(&first, 400, "invalid_grant");
    family_revoked(fam);
    op_test_server_close();
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

    op_store_get_stats(OP_TS.srv.store, &st);
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
    op_test_reply_t r1, r2;

    setup_with((opts_t){.kind = OP_STORE_REDIS, .rotate = true, .hold = true});
    const char *rt =
        op_json_get_str(request(code_form(OP_AT_SELF_CONTAINED), 200), "refresh_token");
    op_test_redis_pause(&OP_TS.redis);
    post(refresh_form(rt), &r1);
    post(refresh_form(rt), &r2);
    op_test_server_run_until(two_in_flight); /* both reads sent, neither answered */
    op_test_redis_resume(&OP_TS.redis);
    wait_either(&r1, &r2);
    op_test_server_run_until(op_test_server_hook_held); /* the winner, in its claims fetch */
    OP_CHECK_INT(OP_TS.nhooks, 1);
    answered(r1.calls == 1 ? &r1 : &r2, 400, "invalid_grant");
    op_test_server_release_hooks();
    op_test_server_wait_all();
    answered(&r1, 400, "invalid_grant");
    answered(&r2, 400, "invalid_grant");
    family_revoked(family_of(OP_TOKEN_NS_RT_USED, rt));
    op_test_server_close();
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
            uint64_t before = op_test_server_ops();
            const op_json_t *b = request(refresh_form(rt), 200);
            OP_CHECK_INT(op_test_server_ops() - before, idle > 0 ? 2 : 1);
            OP_CHECK(op_json_get_str(b, "refresh_token") == NULL);
            OP_CHECK(op_json_get_str(b, "access_token") != NULL);
        }
        OP_CHECK(stored(OP_TOKEN_NS_RT, rt));
        op_test_server_close();
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
    op_test_reply_t r;

    setup_with(
        (opts_t){.kind = OP_STORE_MEMORY, .rotate = true, .hold = true, .request_timeout_ms = 200});
    post(code_form(OP_AT_SELF_CONTAINED), &r);
    op_test_server_run_until(op_test_server_hook_held);
    uint64_t until = op_loop_now_ms() + 600;
    while (op_loop_now_ms() < until && r.calls == 0) {
        op_timer_start(OP_TS.tick, 10);
        OP_CHECK_INT(op_loop_run(OP_TS.srv.loop), OP_OK);
    }
    OP_CHECK_INT(r.calls, 0); /* three deadlines later, still no 503 */
    op_test_server_release_hooks();
    op_test_server_wait_all();
    answered(&r, 200, NULL);
    OP_CHECK(stored(OP_TOKEN_NS_RT, op_json_get_str(r.body, "refresh_token")));
    op_test_server_close();
}

/*
 * The other side of the same rule: a request whose deadline answered 503
 * before its single-use take consumes nothing. The refresh token read is
 * held in a paused redis-server past the deadline; once it completes, the
 * token is not rotated and still works.
 */
static void test_deadline_before_take(void)
{
    op_test_reply_t r;

    setup_with((opts_t){.kind = OP_STORE_REDIS, .rotate = true, .request_timeout_ms = 200});
    const char *rt =
        op_json_get_str(request(code_form(OP_AT_SELF_CONTAINED), 200), "refresh_token");
    op_test_redis_pause(&OP_TS.redis);
    post(refresh_form(rt), &r);
    op_test_server_wait_all();
    answered(&r, 503, "temporarily_unavailable");
    op_test_redis_resume(&OP_TS.redis);
    /* The late read completes; then the flow stops before the take. */
    OP_CHECK(stored(OP_TOKEN_NS_RT, rt));
    OP_CHECK(!stored(OP_TOKEN_NS_RT_USED, rt));
    OP_CHECK(op_json_get_str(request(refresh_form(rt), 200), "refresh_token") != NULL);
    op_test_server_close();
}

/* Refused before any store operation: the body cap (reference §1.1),
 * the form, the grant type, the client. */
static void test_refused_early(void)
{
    setup(true, 0);
    char *big = op_arena_alloc(OP_TS.a, 39 + 50000 + 1);
    memcpy(big, "grant_type=refresh_token&refresh_token=", 39);
    memset(big + 39, 'a', 50000);
    big[50039] = '\0';
    uint64_t before = op_test_server_ops();
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
    OP_CHECK_INT(op_test_server_ops(), before);
    op_test_server_close();
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
        const op_json_t *b = request(op_arena_printf(OP_TS.a, "%.*s%s", n, form, wrong[i]), 400);
        if (!op_str_eq(op_json_get_str(b, "error"), "invalid_grant")) {
            fprintf(stderr, "row %zu (%s): %s\n", i, wrong[i], op_json_get_str(b, "error"));
            exit(1);
        }
    }
    request(code_form(OP_AT_SELF_CONTAINED), 200);
    op_test_server_close();
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
