/*
 * tests/unit/flows/test_op_authz_session.c - the authorisation session API
 * (core/flows/op_authz_*.c).
 *
 * The decisions and the issuing on a context built by hand (no HTTP, no
 * store; what a call would write is read from its batch, as->writes), and
 * the key of the long-lived authorisation (core/proto/op_grant.c):
 *   grant_key          length-prefixed, bounded, never cut short
 *   login_page_ids     sub, acr, amr, sub_sid: printable ASCII, bounded
 *   authentication_checked  the authentication PUT: bounds, auth_time
 *   max_age_same_second  max_age=0 asks for a new authentication
 *   hint_only_id_tokens  id_token_hint takes ID tokens, not other JWTs
 *   covered_keeps_consent  a covered request leaves the stored consent
 *
 * In process, a server with the API and /token (see "in process" below):
 *   whole_flow_in_process     POST -> auth -> consent -> code, redeemed
 *   late_claims_source        a claims source answering late, in time
 *   claims_source_never_answers  the deadline: 503, nothing written
 *   store_down_mid_put        the store dies mid-PUT: 503, session kept
 *   deadline_before_writes    an SSO POST past its deadline writes nothing
 *   mint_failure_writes_nothing  a response that cannot be minted: no code
 */
#include "core/flows/op_authz_session.h"
#include "core/flows/op_flows.h"
#include "keys/op_keys_int.h"
#include "tests/unit/op_test_server.h"

#define NOW 1800000000
#define ISS "https://op.example.com"

static const char CLIENTS[] = "[{\"client_id\":\"web\",\"client_secret\":\"s3cret\","
                              "\"redirect_uris\":[\"https://app.example/cb\"],"
                              "\"grant_types\":[\"authorization_code\",\"implicit\"],"
                              "\"response_types\":[\"code\",\"id_token\",\"code id_token\"]},"
                              "{\"client_id\":\"other\",\"client_secret\":\"s3cret\","
                              "\"redirect_uris\":[\"https://other.example/cb\"]}]";

#define WEB "client_id=web&redirect_uri=https%3A%2F%2Fapp.example%2Fcb&response_type=code"

static const char *const state_names[1] = {"test"};
static const op_flow_def_t flow_def = {"authz-session-test", 1, state_names, NULL, NULL};

static struct env {
    op_arena_t *a;
    op_config_t cfg;
    op_server_t srv;
    op_keys_set_t *keys;
    op_client_t *clients;
    size_t n_clients;
    op_flow_t *flow;
    op_authz_session_t as;
} E;

static const op_client_t *find_client(void *arg, const char *client_id)
{
    OP_UNUSED(arg);
    for (size_t i = 0; i < E.n_clients; i++) {
        if (strcmp(E.clients[i].client_id, client_id) == 0)
            return &E.clients[i];
    }
    return NULL;
}

static void setup(void)
{
    op_err_t err;

    memset(&E, 0, sizeof(E));
    op_err_clear(&err);
    op_log_init(OP_LOG_WARN, 2);
    E.a = op_arena_new(8 << 20);
    OP_CHECK(E.a != NULL);
    OP_CHECK_INT(op_keys_global_init(), OP_OK);
    OP_CHECK_INT(op_keys_gen_set(2048, NOW - 100, &E.keys, &err), OP_OK);
    OP_CHECK_INT(
        op_client_parse_all(E.a, CLIENTS, strlen(CLIENTS), "test", &E.clients, &E.n_clients, &err),
        OP_OK);
    E.cfg.issuer = ISS;
    E.cfg.id_token_algs[0] = OP_JWS_RS256;
    E.cfg.n_id_token_algs = 1;
    E.cfg.id_token_lifetime_s = 900;
    E.cfg.authz_code_lifetime_s = 300;
    E.cfg.at_lifetime_s = 600;
    E.cfg.at_encoding = OP_AT_SELF_CONTAINED;
    E.cfg.at_jws_alg = OP_JWS_PS256;
    E.cfg.rt_lifetime_s = 86400;
    E.cfg.authz_session_lifetime_s = 900;
    E.cfg.session_max_life_min = 600;
    E.cfg.session_auth_life_min = -1;
    E.cfg.session_max_idle_min = 60;
    E.srv.cfg = &E.cfg;
}

static void teardown(void)
{
    if (E.flow != NULL)
        op_flow_release(E.flow);
    op_keys_set_release(E.keys);
    op_arena_free(E.a);
}

/* A fresh call on request query, in state PARSE, with alice's session
 * (authenticated at auth_time, no auth_life limit). */
static op_authz_session_t *call(const char *query, int64_t auth_time)
{
    const op_authz_clients_t lookup = {find_client, NULL};
    op_authz_session_t *as = &E.as;

    if (E.flow != NULL)
        op_flow_release(E.flow);
    memset(as, 0, sizeof(*as));
    E.flow = op_flow_new(NULL, &flow_def, 4 << 20, "t");
    OP_CHECK(E.flow != NULL);
    as->srv = &E.srv;
    as->flow = E.flow;
    as->keys = E.keys;
    as->sid = "sid";
    as->created = op_loop_epoch();
    op_authz_error_t aerr;
    if (op_authz_req_parse(E.flow->arena, query, strlen(query), &lookup, NULL, &as->areq, &aerr) !=
        OP_OK)
        fprintf(stderr, "%s: %s\n", query, aerr.err.description);
    OP_CHECK(as->areq.client != NULL && aerr.err.code == OP_OK);
    OP_CHECK_INT(op_sub_session_new(E.flow->arena, &E.cfg, "alice", auth_time, &as->sub), OP_OK);
    as->sub.auth_life = -1;
    as->have_sub = true;
    return as;
}

static const op_json_t *json(const char *text)
{
    op_json_t *v = NULL;
    op_err_t err;

    op_err_clear(&err);
    OP_CHECK_INT(op_json_parse(E.a, text, strlen(text), NULL, &v, &err), OP_OK);
    return v;
}

/* The number of puts in the call's batch into namespace ns. */
static int puts_into(const op_authz_session_t *as, const char *ns)
{
    int n = 0;

    for (size_t i = 0; i < as->writes.n; i++)
        n += as->writes.ops[i].kind == OP_STORE_BATCH_PUT &&
             strcmp(as->writes.ops[i].rec.ns, ns) == 0;
    return n;
}

/* ---- the long-lived authorisation's key --------------------------------- */

/* An exact-size heap copy, so ASan sees any read past its end. */
static char *exact(const char *s, size_t len)
{
    char *p = malloc(len + 1);

    OP_CHECK(p != NULL);
    memcpy(p, s, len);
    p[len] = '\0';
    return p;
}

static void test_grant_key(void)
{
    char k1[65], k2[65], want[65];
    char long_sub[OP_GRANT_SUB_MAX + 2];

    /* sha256hex of the length-prefixed pair */
    OP_CHECK_INT(op_grant_key("alice", "web", k1), OP_OK);
    op_keys_crypto_sha256_hex("5:alice3:web", 12, want);
    OP_CHECK_STR(k1, want);
    /* no two pairs share an input: separators in the values do not help */
    OP_CHECK_INT(op_grant_key("a\nb", "c", k1), OP_OK);
    OP_CHECK_INT(op_grant_key("a", "b\nc", k2), OP_OK);
    OP_CHECK(strcmp(k1, k2) != 0);
    OP_CHECK_INT(op_grant_key("ab", "c", k1), OP_OK);
    OP_CHECK_INT(op_grant_key("a", "bc", k2), OP_OK);
    OP_CHECK(strcmp(k1, k2) != 0);
    OP_CHECK_INT(op_grant_key("1:a1:b", "c", k1), OP_OK);
    OP_CHECK_INT(op_grant_key("1:a", "1:bc", k2), OP_OK);
    OP_CHECK(strcmp(k1, k2) != 0);
    /* OIDC Core §2: 255 characters at most; longer is refused, not cut */
    memset(long_sub, 's', sizeof(long_sub) - 1);
    long_sub[OP_GRANT_SUB_MAX] = '\0';
    OP_CHECK_INT(op_grant_key(long_sub, "web", k1), OP_OK);
    long_sub[OP_GRANT_SUB_MAX] = 's';
    long_sub[OP_GRANT_SUB_MAX + 1] = '\0';
    OP_CHECK_INT(op_grant_key(long_sub, "web", k1), OP_EINVAL);
    OP_CHECK_STR(k1, "");
    /* a long subject next to a short client_id reads neither past its end */
    char *sub = malloc(4000);
    OP_CHECK(sub != NULL);
    memset(sub, 'x', 3999);
    sub[3999] = '\0';
    char *cid = exact("web", 3);
    OP_CHECK_INT(op_grant_key(sub, cid, k1), OP_EINVAL);
    free(sub);
    free(cid);
    /* the client_id bound, and empty values */
    char *long_cid = malloc(OP_CLIENT_ID_MAX + 2);
    OP_CHECK(long_cid != NULL);
    memset(long_cid, 'c', OP_CLIENT_ID_MAX + 1);
    long_cid[OP_CLIENT_ID_MAX + 1] = '\0';
    OP_CHECK_INT(op_grant_key("alice", long_cid, k1), OP_EINVAL);
    long_cid[OP_CLIENT_ID_MAX] = '\0';
    OP_CHECK_INT(op_grant_key("alice", long_cid, k1), OP_OK);
    free(long_cid);
    OP_CHECK_INT(op_grant_key("", "web", k1), OP_EINVAL);
    OP_CHECK_INT(op_grant_key("alice", "", k1), OP_EINVAL);
}

/* OIDC Core §2: sub is at most 255 ASCII characters; what the login page
 * reports reaches keys, logs and tokens only when printable and bounded. */
static void test_login_page_ids(void)
{
    static const struct {
        const char *json;
        bool ok;
    } rows[] = {
        {"\"alice\"", true},
        {"\"248289761001\"", true},
        {"\"urn:example:user 1\"", true}, /* a space is ASCII */
        {"\"\"", false},
        {"\"al\\nice\"", false}, /* control bytes */
        {"\"\\u007f\"", false},
        {"\"caf\\u00e9\"", false}, /* not ASCII */
        {"42", false},             /* not a string */
        {"null", false},
        {"[\"alice\"]", false},
    };
    char big[300];

    setup();
    for (size_t i = 0; i < OP_NELEMS(rows); i++) {
        if (op_authz_session_issue_id_ok(json(rows[i].json), OP_GRANT_SUB_MAX) != rows[i].ok)
            fprintf(stderr, "row %zu: %s\n", i, rows[i].json);
        OP_CHECK(op_authz_session_issue_id_ok(json(rows[i].json), OP_GRANT_SUB_MAX) == rows[i].ok);
    }
    big[0] = '"';
    memset(big + 1, 'a', OP_GRANT_SUB_MAX);
    snprintf(big + 1 + OP_GRANT_SUB_MAX, sizeof(big) - 1 - OP_GRANT_SUB_MAX, "\"");
    OP_CHECK(op_authz_session_issue_id_ok(json(big), OP_GRANT_SUB_MAX));
    snprintf(big + 1 + OP_GRANT_SUB_MAX, sizeof(big) - 1 - OP_GRANT_SUB_MAX, "a\"");
    OP_CHECK(!op_authz_session_issue_id_ok(json(big), OP_GRANT_SUB_MAX));
    OP_CHECK(!op_authz_session_issue_id_ok(NULL, OP_GRANT_SUB_MAX));
    teardown();
}

/* The authentication PUT of body on a fresh call on query: its status. */
static int authenticate(const char *query, const char *body)
{
    op_authz_session_t *as = call(query, 0);

    as->have_sub = false;
    as->submit = true;
    as->body = json(body);
    return op_authz_session_issue_authenticated(as);
}

/* What the authentication reports is bounded (reference §2.1, RFC 8176
 * amr values), and its auth_time answers the request (OIDC Core
 * §3.1.2.1): within max_age, made after the request for prompt=login and
 * max_age=0. */
static void test_authentication_checked(void)
{
    char body[512];

    setup();
    int64_t now = op_loop_epoch();
    OP_CHECK_INT(
        authenticate(WEB, "{\"sub\":\"alice\",\"acr\":\"urn:acr:1\",\"amr\":[\"pwd\",\"otp\"]}"),
        OP_OK);
    OP_CHECK_STR(E.as.sub.sub, "alice");
    OP_CHECK_INT(E.as.sub.amr.n, 2);
    OP_CHECK_INT(authenticate(WEB, "{\"sub\":\"alice\",\"amr\":null}"), OP_OK);
    OP_CHECK_INT(authenticate(WEB, "{\"sub\":\"alice\",\"acr\":\"a\\tb\"}"), OP_EINVAL);
    OP_CHECK_HAS(E.flow->err.description, "acr");
    OP_CHECK_INT(authenticate(WEB, "{\"sub\":\"alice\",\"amr\":\"pwd\"}"), OP_EINVAL);
    OP_CHECK_HAS(E.flow->err.description, "amr");
    OP_CHECK_INT(authenticate(WEB, "{\"sub\":\"alice\",\"amr\":[\"a\",\"b\",\"c\",\"d\",\"e\","
                                   "\"f\",\"g\",\"h\",\"i\",\"j\",\"k\",\"l\",\"m\",\"n\",\"o\","
                                   "\"p\",\"q\"]}"),
                 OP_EINVAL);
    OP_CHECK_INT(authenticate(WEB, "{\"sub\":\"al\\u0001ice\"}"), OP_EINVAL);
    /* auth_time against the request */
    static const struct {
        const char *extra;
        int64_t age;
        int rc;
    } rows[] = {
        {"", 100000, OP_OK},         {"&max_age=60", 10, OP_OK},   {"&max_age=60", 100, OP_EINVAL},
        {"&max_age=0", 0, OP_OK},    {"&max_age=0", 5, OP_EINVAL}, {"&prompt=login", 5, OP_EINVAL},
        {"&prompt=login", 0, OP_OK},
    };
    for (size_t i = 0; i < OP_NELEMS(rows); i++) {
        char q[128];
        snprintf(q, sizeof(q), "%s%s", WEB, rows[i].extra);
        snprintf(body, sizeof(body), "{\"sub\":\"alice\",\"auth_time\":%lld}",
                 (long long)(now - rows[i].age));
        int rc = authenticate(q, body);
        if (rc != rows[i].rc)
            fprintf(stderr, "row %zu: %d %s\n", i, rc, E.flow->err.description);
        OP_CHECK_INT(rc, rows[i].rc);
        if (rc != OP_OK)
            OP_CHECK_HAS(E.flow->err.description, "auth_time");
    }
    teardown();
}

/* ---- re-authentication ---------------------------------------------------- */

/* OIDC Core §3.1.2.1, errata 2: max_age=0 is prompt=login, so a session
 * authenticated this very second still signs in again; max_age=N takes
 * one at most N seconds old. (The rule itself, with the clock injected:
 * test_op_authz_req max_age.) */
static void test_max_age_same_second(void)
{
    setup();
    int64_t now = op_loop_epoch();
    OP_CHECK(op_authz_session_decide_needs_auth(call(WEB "&scope=openid&max_age=0", now)));
    OP_CHECK(op_authz_session_decide_needs_auth(call(WEB "&scope=openid&max_age=0", now + 5)));
    OP_CHECK(!op_authz_session_decide_needs_auth(call(WEB "&scope=openid&max_age=3600", now)));
    OP_CHECK(
        op_authz_session_decide_needs_auth(call(WEB "&scope=openid&max_age=3600", now - 3700)));
    OP_CHECK(!op_authz_session_decide_needs_auth(call(WEB "&scope=openid", now - 3700)));
    OP_CHECK(op_authz_session_decide_needs_auth(call(WEB "&scope=openid&prompt=login", now)));
    teardown();
}

/* ---- id_token_hint ---------------------------------------------------------- */

/* A JWS of the server's keys with typ over payload. */
static char *signed_jwt(const char *typ, const char *payload)
{
    char *out = NULL;
    op_err_t err;

    op_err_clear(&err);
    OP_CHECK_INT(
        op_keys_jws_sign(E.keys, OP_JWS_RS256, typ, payload, strlen(payload), E.a, &out, &err),
        OP_OK);
    return out;
}

static const char *hint(const char *client_id, const char *jwt)
{
    return op_authz_session_decide_hint_subject(E.keys, ISS, client_id, jwt, E.a);
}

/* OIDC Core §3.1.2.1: id_token_hint is an ID token the server issued
 * (expired or not); the other JWTs it signs with the same keys (RFC 9068
 * access tokens, signed UserInfo responses, signed metadata) are not. */
static void test_hint_only_id_tokens(void)
{
    op_grant_t g;
    op_token_authn_t au = {.auth_time = NOW - 60};
    op_token_ctx_t ctx = {&E.cfg, NULL, NOW};
    op_token_minted_t at;
    char *idt = NULL, *old = NULL;
    op_err_t err;

    setup();
    ctx.keys = E.keys;
    op_err_clear(&err);
    op_grant_defaults(&g, &E.cfg);
    g.sub = "alice";
    g.cid = "web";
    op_token_id_req_t r = {.client = &E.clients[0], .grant = &g, .authn = &au, .nonce = "n"};
    OP_CHECK_INT(op_token_id_mint(&ctx, &r, E.a, &idt, &err), OP_OK);
    OP_CHECK_STR(hint("web", idt), "alice");
    /* its expiry does not matter */
    ctx.now = 1000;
    OP_CHECK_INT(op_token_id_mint(&ctx, &r, E.a, &old, &err), OP_OK);
    OP_CHECK_STR(hint("web", old), "alice");
    /* issued to another client */
    OP_CHECK(hint("other", idt) == NULL);
    /* RFC 9068 access token for the same subject and client */
    ctx.now = NOW;
    OP_CHECK_INT(op_token_at_mint(&ctx, &g, NULL, NULL, NULL, E.a, &at, &err), OP_OK);
    OP_CHECK(hint("web", at.token) == NULL);
    /* an ID token's claims under the access token's type, and the
     * access token's claims under the ID token's */
    static const char id_claims[] = "{\"iss\":\"" ISS "\",\"sub\":\"alice\",\"aud\":[\"web\"],"
                                    "\"exp\":1800000900,\"iat\":1800000000}";
    OP_CHECK_STR(hint("web", signed_jwt("JWT", id_claims)), "alice");
    OP_CHECK(hint("web", signed_jwt("at+jwt", id_claims)) == NULL);
    OP_CHECK(hint("web", signed_jwt(NULL, id_claims)) == NULL);
    OP_CHECK(hint("web", signed_jwt("JWT", "{\"iss\":\"" ISS "\",\"sub\":\"alice\",\"aud\":\"web\","
                                           "\"exp\":1800000900,\"iat\":1800000000,"
                                           "\"client_id\":\"web\",\"scope\":\"openid\"}")) == NULL);
    /* a signed UserInfo response (OIDC Core §5.3.2): iss, aud, no exp / iat */
    OP_CHECK(hint("web", signed_jwt("JWT", "{\"sub\":\"alice\",\"iss\":\"" ISS
                                           "\",\"aud\":\"web\",\"email\":\"a@example.com\"}")) ==
             NULL);
    /* the signed metadata (RFC 8414 §2.1): no sub, no exp */
    OP_CHECK(hint("web", signed_jwt("JWT", "{\"issuer\":\"" ISS "\",\"iss\":\"" ISS
                                           "\",\"iat\":1800000000}")) == NULL);
    /* another issuer; a string aud is fine */
    OP_CHECK(hint("web", signed_jwt("JWT", "{\"iss\":\"https://evil.example\",\"sub\":\"alice\","
                                           "\"aud\":\"web\",\"exp\":1,\"iat\":1}")) == NULL);
    OP_CHECK_STR(hint("web", signed_jwt("JWT", "{\"iss\":\"" ISS "\",\"sub\":\"alice\","
                                               "\"aud\":\"web\",\"exp\":1,\"iat\":1}")),
                 "alice");
    /* not a JWS of ours at all */
    OP_CHECK(hint("web", "eyJ.a.b") == NULL);
    teardown();
}

/* ---- consent -------------------------------------------------------------- */

/* The long-lived authorisation alice gave web. */
static void stored(op_authz_session_t *as)
{
    op_err_t err;

    op_err_clear(&err);
    OP_CHECK_INT(op_grant_read(E.flow->arena,
                               json("{\"sub\":\"alice\",\"cid\":\"web\","
                                    "\"scp\":[\"openid\",\"email\",\"profile\",\"offline_access\"],"
                                    "\"clm\":[\"email\",\"email_verified\",\"name\"],"
                                    "\"atc\":[\"email\"],\"ll\":true}"),
                               &E.cfg, &as->stored, &err),
                 OP_OK);
    as->have_stored = true;
}

/*
 * OIDC Core §3.1.2.1 (consent): a request the stored authorisation
 * covers gets what it asked for and leaves the stored consent as it was,
 * so a narrower request (prompt=none, openid alone) cannot shrink it; a
 * new long-lived consent replaces it.
 */
static void test_covered_keeps_consent(void)
{
    setup();
    int64_t now = op_loop_epoch();
    op_authz_session_t *as = call(WEB "&scope=openid&prompt=none&state=s", now);
    stored(as);
    OP_CHECK(op_authz_session_decide_covered(as));
    op_authz_session_issue_from_stored(as);
    OP_CHECK_INT(as->grant.scp.n, 1);
    OP_CHECK_STR(as->grant.scp.items[0], "openid");
    OP_CHECK_INT(as->grant.clm.n + as->grant.idc.n + as->grant.atc.n, 0);
    OP_CHECK(as->grant.long_lived);
    OP_CHECK_INT(op_authz_session_issue_mint(as), OP_OK);
    OP_CHECK(as->answer != NULL);
    OP_CHECK_HAS(as->answer, "code=");
    OP_CHECK_INT(puts_into(as, OP_TOKEN_NS_CODE), 1);
    OP_CHECK_INT(puts_into(as, OP_AS_NS_AUTHZ), 0);
    OP_CHECK_INT(as->stored.scp.n, 4);

    /* the full request is still covered, and gets its claims back */
    as = call(WEB "&scope=openid+email+offline_access&prompt=none", now);
    stored(as);
    OP_CHECK(op_authz_session_decide_covered(as));
    op_authz_session_issue_from_stored(as);
    OP_CHECK_INT(as->grant.scp.n, 3);
    OP_CHECK(op_strs_has(&as->grant.clm, "email") && op_strs_has(&as->grant.atc, "email"));
    OP_CHECK_INT(op_authz_session_issue_mint(as), OP_OK);
    OP_CHECK_INT(puts_into(as, OP_AS_NS_AUTHZ), 0);

    /* a consent given now, long-lived: the record is written */
    as = call(WEB "&scope=openid+email&state=s", now);
    stored(as);
    as->body = json("{\"scope\":[\"*\"],\"claims\":[\"*\"],\"long_lived\":true}");
    OP_CHECK_INT(op_authz_session_issue_consented(as), OP_OK);
    OP_CHECK_INT(op_authz_session_issue_mint(as), OP_OK);
    OP_CHECK_INT(puts_into(as, OP_AS_NS_AUTHZ), 1);
    /* ... and a transient one is not */
    as = call(WEB "&scope=openid+email&state=s", now);
    as->body = json("{\"scope\":[\"*\"],\"claims\":[\"*\"],\"long_lived\":false}");
    OP_CHECK_INT(op_authz_session_issue_consented(as), OP_OK);
    OP_CHECK_INT(op_authz_session_issue_mint(as), OP_OK);
    OP_CHECK_INT(puts_into(as, OP_AS_NS_AUTHZ), 0);
    teardown();
}

/* ---- in process: a server, the API and the token endpoint ---------------------- */

/*
 * The API and /token on an in-process server (tests/unit/op_test_server.h),
 * with the memory or a redis store. The test claims source answers in
 * "fetch" mode through the held /hook route (released when the case
 * chooses), or in "never" mode not at all.
 */
#define API_TOKEN "api-token-for-the-login-page"
#define RURI      "https%3A%2F%2Fapp.example%2Fcb"
/* RFC 7636 appendix B */
#define VERIFIER  "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
#define CHALLENGE "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"

static uint8_t api_hash[1][OP_CONFIG_TOKEN_HASH_BYTES];

static void srv_setup(op_store_kind_t kind, const char *plugin_mode, uint64_t request_timeout_ms)
{
    static const char clients_json[] = "[{\"client_id\":\"web\",\"client_secret\":\"s3cret\","
                                       "\"redirect_uris\":[\"https://app.example/cb\"],"
                                       "\"grant_types\":[\"authorization_code\",\"implicit\"],"
                                       "\"response_types\":[\"code\",\"code id_token\"]}]";
    const op_test_server_opts_t o = {kind, clients_json, plugin_mode, request_timeout_ms};
    const op_http_route_t routes[] = {
        {OP_HTTP_GET | OP_HTTP_POST | OP_HTTP_PUT | OP_HTTP_DELETE, "/authz-sessions/rest/v3",
         OP_ROUTE_PREFIX | OP_ROUTE_SECRET, op_authz_session_endpoint.routes[0].handler,
         &OP_TS.srv},
        {OP_HTTP_POST, "/token", 0, op_token_endpoint.routes[0].handler, &OP_TS.srv},
    };

    op_test_server_open(&o, routes, OP_NELEMS(routes));
    OP_TS.cfg.authz_session_lifetime_s = 900;
    OP_TS.cfg.session_max_life_min = 600;
    OP_TS.cfg.session_auth_life_min = -1;
    OP_TS.cfg.session_max_idle_min = 60;
    OP_TS.cfg.session_quota = 5;
    op_keys_crypto_sha256(API_TOKEN, strlen(API_TOKEN), api_hash[0]);
    OP_TS.cfg.api_tokens = api_hash;
    OP_TS.cfg.n_api_tokens = 1;
}

/* An API call (path after /authz-sessions/rest/v3, body may be NULL). */
static op_http_fetch_t api(op_http_method_t m, const char *path, const char *body)
{
    static const op_http_header_t auth[] = {{"Authorization", "Bearer " API_TOKEN}};

    return (op_http_fetch_t){
        .method = m,
        .url = op_arena_printf(OP_TS.a, "%s/authz-sessions/rest/v3%s", OP_TS.base, path),
        .headers = auth,
        .nheaders = 1,
        .body = body,
        .body_len = body != NULL ? strlen(body) : 0,
        .content_type = body != NULL ? "application/json" : NULL,
    };
}

static void api_start(op_http_method_t m, const char *path, const char *body, op_test_reply_t *r)
{
    const op_http_fetch_t f = api(m, path, body);
    op_test_server_fetch(&f, r);
}

static const op_json_t *call_api(op_http_method_t m, const char *path, const char *body,
                                 int http_status)
{
    const op_http_fetch_t f = api(m, path, body);
    return op_test_server_call(&f, http_status);
}

/* The stored record (ns, sha256hex(id)), NULL when there is none. */
static const char *stored_record(const char *ns, const char *id)
{
    char key[65];

    op_keys_crypto_sha256_hex(id, strlen(id), key);
    return op_test_server_get(ns, key);
}

/* Parameter name of the response's redirect URI (query or fragment). */
static const char *uri_param(const op_json_t *resp, const char *name)
{
    const char *uri = op_json_get_str(op_json_get(resp, "parameters"), "uri");
    op_params_t p;
    op_err_t err;

    OP_CHECK(uri != NULL);
    const char *q = uri + strcspn(uri, "?#");
    OP_CHECK(*q != '\0');
    op_err_clear(&err);
    OP_CHECK_INT(op_params_parse(OP_TS.a, q + 1, strlen(q + 1), NULL, &p, &err), OP_OK);
    return op_params_get(&p, name);
}

/* The claims of a JWS, as text. */
static const char *jwt_payload(const char *jwt)
{
    const char *dot = strchr(jwt, '.');
    OP_CHECK(dot != NULL);
    size_t n = strcspn(dot + 1, ".");
    uint8_t *out = op_arena_alloc(OP_TS.a, n + 1);
    size_t len = 0;

    OP_CHECK(out != NULL && op_b64url_decode(dot + 1, n, out, &len));
    out[len] = '\0';
    return (const char *)out;
}

/* A new session on query, authenticated as alice: its path at the
 * consent stage. */
static const char *to_consent(const char *query)
{
    const op_json_t *b =
        call_api(OP_HTTP_POST, "", op_arena_printf(OP_TS.a, "{\"query\":\"%s\"}", query), 200);
    OP_CHECK_STR(op_json_get_str(b, "type"), "auth");
    const char *path = op_arena_printf(OP_TS.a, "/%s", op_json_get_str(b, "sid"));
    b = call_api(OP_HTTP_PUT, path, "{\"sub\":\"alice\",\"acr\":\"urn:acr:pwd\"}", 200);
    OP_CHECK_STR(op_json_get_str(b, "type"), "consent");
    return path;
}

/* The session record of path ("/<sid>"), NULL when there is none. */
static const char *session_record(const char *path)
{
    return stored_record(OP_AS_NS, path + 1);
}

/* Redeem code at /token (RFC 6749 §4.1.3, RFC 7636 §4.5). */
static const op_json_t *redeem(const char *code, int http_status)
{
    static const op_http_header_t auth[] = {{"Authorization", "Basic d2ViOnMzY3JldA=="}};
    const char *form = op_arena_printf(
        OP_TS.a, "grant_type=authorization_code&code=%s&redirect_uri=%s&code_verifier=%s", code,
        RURI, VERIFIER);
    const op_http_fetch_t f = {
        .method = OP_HTTP_POST,
        .url = op_arena_printf(OP_TS.a, "%s/token", OP_TS.base),
        .headers = auth,
        .nheaders = 1,
        .body = form,
        .body_len = strlen(form),
        .content_type = "application/x-www-form-urlencoded",
    };

    return op_test_server_call(&f, http_status);
}

#define CODE_QUERY                                                                                 \
    "client_id=web&redirect_uri=" RURI "&response_type=code&scope=openid&state=st-1"               \
    "&nonce=n-1&code_challenge=" CHALLENGE "&code_challenge_method=S256"
#define HYBRID_QUERY                                                                               \
    "client_id=web&redirect_uri=" RURI "&response_type=code+id_token&scope=openid&state=st-2"      \
    "&nonce=n-2"
/* ... asking for the claim in the ID token (OIDC Core §5.5) */
#define CLAIM_QUERY   HYBRID_QUERY "&claims=%7B%22id_token%22%3A%7B%22fake_claim%22%3Anull%7D%7D"
#define CONSENT_CLAIM "{\"scope\":[\"*\"],\"claims\":[\"id_token:fake_claim\"]}"

/*
 * The whole path in process (reference §2.1; OIDC Core §3.1.2): POST the
 * request -> "auth"; PUT the authentication -> "consent"; PUT the consent
 * -> the response (RFC 6749 §4.1.2: code and state; RFC 9207: iss). The
 * session ends with it; the code is stored once and redeemed at /token
 * with its PKCE verifier (RFC 7636 §4.6), which consumes it.
 */
static void test_whole_flow_in_process(void)
{
    srv_setup(OP_STORE_MEMORY, NULL, 0);
    const char *path = to_consent(CODE_QUERY);
    OP_CHECK_HAS(session_record(path), "\"stage\":\"consent\"");
    const op_json_t *b = call_api(OP_HTTP_PUT, path, "{\"scope\":[\"*\"],\"claims\":[\"*\"]}", 200);
    OP_CHECK_STR(op_json_get_str(b, "type"), "response");
    OP_CHECK_STR(op_json_get_str(b, "mode"), "query");
    OP_CHECK(op_json_get_str(b, "sub_sid") != NULL);
    OP_CHECK_STR(uri_param(b, "state"), "st-1");
    OP_CHECK_STR(uri_param(b, "iss"), ISS);
    const char *code = uri_param(b, "code");
    OP_CHECK(code != NULL);
    OP_CHECK(session_record(path) == NULL);
    call_api(OP_HTTP_GET, path, NULL, 404);
    const char *rec = stored_record(OP_TOKEN_NS_CODE, code);
    OP_CHECK(rec != NULL);
    OP_CHECK_HAS(rec, "alice");

    b = redeem(code, 200);
    OP_CHECK_STR(op_json_get_str(b, "token_type"), "Bearer");
    OP_CHECK(op_json_get_str(b, "access_token") != NULL);
    const char *idt = jwt_payload(op_json_get_str(b, "id_token"));
    OP_CHECK_HAS(idt, "\"sub\":\"alice\"");
    OP_CHECK_HAS(idt, "\"nonce\":\"n-1\"");
    OP_CHECK_HAS(idt, "\"acr\":\"urn:acr:pwd\"");
    OP_CHECK(stored_record(OP_TOKEN_NS_CODE, code) == NULL);
    redeem(code, 400);
    op_test_server_close();
}

/*
 * A claims source that answers late, but before the deadline: the
 * consent PUT waits in its claims fetch (nothing answered, the session
 * untouched), then answers with the claims in the front-channel ID token
 * (OIDC Core §3.3.2.11, hybrid flow).
 */
static void test_late_claims_source(void)
{
    op_test_reply_t r;

    srv_setup(OP_STORE_MEMORY, "fetch", 0);
    const char *path = to_consent(HYBRID_QUERY);
    const char *before = session_record(path);
    api_start(OP_HTTP_PUT, path, CONSENT_CLAIM, &r);
    op_test_server_run_until(op_test_server_hook_held);
    OP_CHECK_INT(r.calls, 0);
    OP_CHECK_STR(session_record(path), before);
    op_test_server_release_hooks();
    const op_json_t *b = op_test_server_wait(&r, 200);
    OP_CHECK_STR(op_json_get_str(b, "type"), "response");
    OP_CHECK_STR(op_json_get_str(b, "mode"), "fragment");
    OP_CHECK(uri_param(b, "code") != NULL);
    const char *idt = jwt_payload(uri_param(b, "id_token"));
    OP_CHECK_HAS(idt, "\"fake_claim\":\"held\"");
    OP_CHECK_HAS(idt, "\"nonce\":\"n-2\"");
    OP_CHECK(session_record(path) == NULL);
    op_test_server_close();
}

/*
 * A claims source that never answers: the request deadline answers 503
 * temporarily_unavailable (RFC 6749 §4.1.2.1's code, from the API), and
 * the flow, when the call finally ends (the source closed), writes
 * nothing: the session stays at its consent stage, byte for byte, for the
 * page to try again. (ASan's leak check covers the flow's memory.)
 */
static void test_claims_source_never_answers(void)
{
    srv_setup(OP_STORE_MEMORY, "never", 300);
    const char *path = to_consent(HYBRID_QUERY);
    const char *before = session_record(path);
    const op_json_t *b = call_api(OP_HTTP_PUT, path, CONSENT_CLAIM, 503);
    OP_CHECK_STR(op_json_get_str(b, "error"), "temporarily_unavailable");
    OP_CHECK_STR(session_record(path), before);
    uint64_t ops = op_test_server_ops();
    op_spi_loader_close(OP_TS.srv.spi); /* the held call ends (OP_ECANCELED): so does the flow */
    OP_TS.srv.spi = NULL;
    b = call_api(OP_HTTP_GET, path, NULL, 200);
    OP_CHECK_STR(op_json_get_str(b, "stage"), "consent");
    OP_CHECK_STR(session_record(path), before);
    OP_CHECK_INT(op_test_server_ops() - ops, 2); /* the GET's read and ours: no write */
    op_test_server_close();
}

/*
 * The store goes down while a consent PUT is in flight (held in its
 * claims fetch, after it read the session): its writes fail, the answer
 * is 503 temporarily_unavailable, and the session is as it was - the
 * store brought back from a snapshot taken before the PUT could write
 * holds the same record, and the consent then succeeds.
 */
static void test_store_down_mid_put(void)
{
    static const char *save[] = {"SAVE"};
    char out[128];
    op_test_reply_t r;

    srv_setup(OP_STORE_REDIS, "fetch", 0);
    const char *path = to_consent(HYBRID_QUERY);
    const char *before = session_record(path);
    api_start(OP_HTTP_PUT, path, CONSENT_CLAIM, &r);
    op_test_server_run_until(op_test_server_hook_held);
    OP_CHECK(op_test_redis_cmd(&OP_TS.redis, 0, out, sizeof(out), 1, save));
    op_test_redis_kill(&OP_TS.redis, SIGKILL);
    op_test_server_release_hooks();
    const op_json_t *b = op_test_server_wait(&r, 503);
    OP_CHECK_STR(op_json_get_str(b, "error"), "temporarily_unavailable");
    op_test_redis_start(&OP_TS.redis);
    op_test_server_run_until(op_test_server_store_up);
    OP_CHECK_STR(session_record(path), before);
    b = call_api(OP_HTTP_PUT, path, CONSENT_CLAIM, 200);
    OP_CHECK_STR(op_json_get_str(b, "type"), "response");
    OP_CHECK(session_record(path) == NULL);
    op_test_server_close();
}

/*
 * A POST answered by SSO and a covered consent (OIDC Core §3.1.2.1: no
 * interaction) that outlives its deadline in the claims fetch: the
 * deadline answers 503, and when the fetch ends the flow stores nothing -
 * no code (RFC 6749 §4.1.2: the code is for the client that receives
 * it), no subject session update - since nobody received the response.
 */
static void test_deadline_before_writes(void)
{
    op_test_reply_t r, barrier;

    srv_setup(OP_STORE_MEMORY, "fetch", 300);
    const char *path = to_consent(CLAIM_QUERY);
    const op_json_t *b = call_api(OP_HTTP_PUT, path,
                                  "{\"scope\":[\"*\"],\"claims\":[\"id_token:fake_claim\"],"
                                  "\"long_lived\":true}",
                                  200);
    const char *sub_sid = op_json_get_str(b, "sub_sid");
    OP_CHECK(sub_sid != NULL);
    const char *sub_before = stored_record(OP_AS_NS_SUB, sub_sid);
    OP_CHECK(sub_before != NULL);

    api_start(
        OP_HTTP_POST, "",
        op_arena_printf(OP_TS.a, "{\"query\":\"%s\",\"sub_sid\":\"%s\"}", CLAIM_QUERY, sub_sid),
        &r);
    OP_TS.waited = &r;
    op_test_server_run_until(op_test_server_held_or_answered);
    b = op_test_server_wait(&r, 503);
    OP_CHECK_STR(op_json_get_str(b, "error"), "temporarily_unavailable");
    uint64_t ops = op_test_server_ops();
    op_test_server_release_hooks(); /* the flow goes on to mint and write */
    api_start(OP_HTTP_GET, "/unknown.sid", NULL, &barrier);
    op_test_server_wait(&barrier, 404);
    OP_CHECK_INT(op_test_server_ops() - ops, 1); /* the GET's read: no batch */
    OP_CHECK_STR(stored_record(OP_AS_NS_SUB, sub_sid), sub_before);
    op_test_server_close();
}

/*
 * The response cannot be minted (no ID token signing algorithm: a 500
 * whose origin the flow logs): nothing of it is stored - not the code
 * minted before the ID token failed - and the session stays at its
 * consent stage.
 */
static void test_mint_failure_writes_nothing(void)
{
    srv_setup(OP_STORE_MEMORY, NULL, 0);
    const char *path = to_consent(HYBRID_QUERY);
    const char *before = session_record(path);
    uint64_t ops = op_test_server_ops();
    OP_TS.cfg.n_id_token_algs = 0;
    const op_json_t *b = call_api(OP_HTTP_PUT, path, "{\"scope\":[\"*\"],\"claims\":[\"*\"]}", 500);
    OP_CHECK_STR(op_json_get_str(b, "error"), "server_error");
    OP_CHECK_INT(op_test_server_ops() - ops, 1); /* the PUT's read: no batch */
    OP_CHECK_STR(session_record(path), before);
    op_test_server_close();
}

static const op_test_case_t cases[] = {
    {"grant_key", test_grant_key},
    {"login_page_ids", test_login_page_ids},
    {"authentication_checked", test_authentication_checked},
    {"max_age_same_second", test_max_age_same_second},
    {"hint_only_id_tokens", test_hint_only_id_tokens},
    {"covered_keeps_consent", test_covered_keeps_consent},
    {"whole_flow_in_process", test_whole_flow_in_process},
    {"late_claims_source", test_late_claims_source},
    {"claims_source_never_answers", test_claims_source_never_answers},
    {"store_down_mid_put", test_store_down_mid_put},
    {"deadline_before_writes", test_deadline_before_writes},
    {"mint_failure_writes_nothing", test_mint_failure_writes_nothing},
};

OP_TEST_MAIN(cases)
