/*
 * tests/unit/proto/test_op_authz_req.c - the authorisation request model:
 * parsing and validation (core/proto/op_authz_req.c), the claims parameter,
 * scope -> claims and the consent prompt objects (core/proto/op_authz_claims.c).
 *
 * Tables, one row per rule, each with the section it checks.
 */
#include "core/proto/op_authz_req.h"
#include "tests/unit/op_test.h"

#define ARENA_MAX (8u << 20)

/* The registered clients the lookup knows. */
static const char CLIENTS[] =
    "["
    /* Confidential, every response type, no registered scope. */
    "{\"client_id\":\"web\",\"client_secret\":\"s3cret\","
    "\"redirect_uris\":[\"https://app.example/cb\",\"https://app.example/cb2?tenant=a%20b\"],"
    "\"grant_types\":[\"authorization_code\",\"implicit\"],"
    "\"response_types\":[\"code\",\"id_token\",\"token\",\"id_token token\",\"code id_token\","
    "\"code token\",\"code id_token token\",\"none\"]},"
    /* Confidential, code only, a registered scope. */
    "{\"client_id\":\"scoped\",\"client_secret\":\"s3cret\","
    "\"redirect_uris\":[\"https://scoped.example/cb\"],\"scope\":\"openid profile email\"},"
    /* Public (RFC 8252 native app). */
    "{\"client_id\":\"pub\",\"token_endpoint_auth_method\":\"none\",\"application_type\":"
    "\"native\",\"redirect_uris\":[\"http://127.0.0.1:9999/cb\"]},"
    /* Confidential, PKCE S256 forced by registration. */
    "{\"client_id\":\"s256\",\"client_secret\":\"s3cret\",\"code_challenge_method\":\"S256\","
    "\"redirect_uris\":[\"https://s256.example/cb\"]}"
    "]";

#define WEB    "client_id=web&redirect_uri=https%3A%2F%2Fapp.example%2Fcb"
#define SCOPED "client_id=scoped&redirect_uri=https%3A%2F%2Fscoped.example%2Fcb"
#define PUB    "client_id=pub&redirect_uri=http%3A%2F%2F127.0.0.1%3A9999%2Fcb"
#define S256C  "client_id=s256&redirect_uri=https%3A%2F%2Fs256.example%2Fcb"
#define NONCE  "&nonce=n-0S6_WzA2Mj"
#define OIDC   WEB "&scope=openid" NONCE
#define CODE   OIDC "&response_type=code"
/* Without a scope, for rows that set their own. */
#define CODE_NS WEB NONCE "&response_type=code"
/* 43 characters: the RFC 7636 Appendix B challenge. */
#define CC "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"

static op_arena_t *arena;
static op_client_t *clients;
static size_t n_clients;
static op_authz_req_t req;
static op_authz_error_t error;

static const op_client_t *find_client(void *arg, const char *client_id)
{
    OP_CHECK(arg == &n_clients);
    for (size_t i = 0; i < n_clients; i++) {
        if (strcmp(clients[i].client_id, client_id) == 0)
            return &clients[i];
    }
    return NULL;
}

static void setup(void)
{
    op_err_t err;

    arena = op_arena_new(ARENA_MAX);
    OP_CHECK(arena != NULL);
    OP_CHECK_INT(
        op_client_parse_all(arena, CLIENTS, strlen(CLIENTS), "test", &clients, &n_clients, &err),
        OP_OK);
}

static void teardown(void)
{
    op_arena_free(arena);
    arena = NULL;
}

static int parse_with(const char *query, const op_authz_policy_t *policy)
{
    const op_authz_clients_t lookup = {find_client, &n_clients};
    return op_authz_req_parse(arena, query, strlen(query), &lookup, policy, &req, &error);
}

static int parse(const char *query)
{
    return parse_with(query, NULL);
}

static void parse_ok(const char *query)
{
    int rc = parse(query);
    if (rc != OP_OK)
        fprintf(stderr, "query %s: %s: %s\n", query, error.err.oauth_error, error.err.description);
    OP_CHECK_INT(rc, OP_OK);
}

/* One rejected request: its OAuth error and whether it may be redirected. */
typedef struct err_row {
    const char *query;
    const char *error;
    bool redirectable;
} err_row_t;

static void check_errors(const err_row_t *rows, size_t n, const op_authz_policy_t *policy)
{
    for (size_t i = 0; i < n; i++) {
        int rc = parse_with(rows[i].query, policy);
        if (rc == OP_OK || !op_str_eq(error.err.oauth_error, rows[i].error) ||
            error.redirectable != rows[i].redirectable) {
            fprintf(stderr, "row %zu (%s): rc %d, %s (%s), redirectable %d\n", i, rows[i].query, rc,
                    error.err.oauth_error ? error.err.oauth_error : "-", error.err.description,
                    error.redirectable);
            exit(1);
        }
        OP_CHECK(rc == OP_EINVAL || rc == OP_ETOOBIG);
        OP_CHECK_INT(error.err.code, rc);
        OP_CHECK(error.err.description[0] != '\0');
        /* A redirectable error knows where and how to go back. */
        if (rows[i].redirectable)
            OP_CHECK(req.client != NULL && req.redirect_uri != NULL);
    }
}

/* ---- valid requests ------------------------------------------------------ */

static void test_response_types(void)
{
    static const struct {
        const char *rt;
        unsigned bits;
        op_authz_mode_t mode;
    } rows[] = {
        /* RFC 6749 §4.1.1; default mode query (Multiple Response Types §2.1) */
        {"code", OP_CLIENT_RT_CODE, OP_AUTHZ_MODE_QUERY},
        /* RFC 6749 §4.2.1; fragment (Multiple Response Types §2.1) */
        {"token", OP_CLIENT_RT_TOKEN, OP_AUTHZ_MODE_FRAGMENT},
        /* OIDC Core §3.2.2.1 implicit flow; fragment (Multiple Response Types §3) */
        {"id_token", OP_CLIENT_RT_ID_TOKEN, OP_AUTHZ_MODE_FRAGMENT},
        {"id_token%20token", OP_CLIENT_RT_ID_TOKEN | OP_CLIENT_RT_TOKEN, OP_AUTHZ_MODE_FRAGMENT},
        /* OIDC Core §3.3.2.1 hybrid flow; fragment (Multiple Response Types §3) */
        {"code%20id_token", OP_CLIENT_RT_CODE | OP_CLIENT_RT_ID_TOKEN, OP_AUTHZ_MODE_FRAGMENT},
        {"code%20token", OP_CLIENT_RT_CODE | OP_CLIENT_RT_TOKEN, OP_AUTHZ_MODE_FRAGMENT},
        {"code+id_token+token", OP_CLIENT_RT_CODE | OP_CLIENT_RT_ID_TOKEN | OP_CLIENT_RT_TOKEN,
         OP_AUTHZ_MODE_FRAGMENT},
        /* Order does not matter (RFC 6749 §3.1.1, Multiple Response Types §3) */
        {"token%20id_token%20code", OP_CLIENT_RT_CODE | OP_CLIENT_RT_ID_TOKEN | OP_CLIENT_RT_TOKEN,
         OP_AUTHZ_MODE_FRAGMENT},
        {"id_token%20code", OP_CLIENT_RT_CODE | OP_CLIENT_RT_ID_TOKEN, OP_AUTHZ_MODE_FRAGMENT},
        /* Multiple Response Types §4: none, default mode query */
        {"none", OP_CLIENT_RT_NONE, OP_AUTHZ_MODE_QUERY},
    };
    setup();
    for (size_t i = 0; i < OP_NELEMS(rows); i++) {
        char q[512];
        snprintf(q, sizeof(q), "%s&response_type=%s", OIDC, rows[i].rt);
        parse_ok(q);
        OP_CHECK_INT(req.response_type, rows[i].bits);
        OP_CHECK_INT(req.response_mode, rows[i].mode);
        OP_CHECK(req.response_type_str != NULL);
        OP_CHECK_STR(req.client_id, "web");
        OP_CHECK_STR(req.client->client_id, "web");
        OP_CHECK_STR(req.redirect_uri, "https://app.example/cb");
    }
    teardown();
}

static void test_response_modes(void)
{
    static const struct {
        const char *rt, *rm;
        op_authz_mode_t mode;
    } rows[] = {
        /* Multiple Response Types §2.1: an explicit response_mode */
        {"code", "query", OP_AUTHZ_MODE_QUERY},
        {"code", "fragment", OP_AUTHZ_MODE_FRAGMENT},
        {"none", "fragment", OP_AUTHZ_MODE_FRAGMENT},
        {"id_token", "fragment", OP_AUTHZ_MODE_FRAGMENT},
        /* Form Post Response Mode §2 */
        {"code", "form_post", OP_AUTHZ_MODE_FORM_POST},
        {"id_token", "form_post", OP_AUTHZ_MODE_FORM_POST},
        {"code%20id_token%20token", "form_post", OP_AUTHZ_MODE_FORM_POST},
        /* RFC 6749 §3.1: an empty value counts as absent -> default */
        {"code%20token", "", OP_AUTHZ_MODE_FRAGMENT},
    };
    setup();
    for (size_t i = 0; i < OP_NELEMS(rows); i++) {
        char q[512];
        snprintf(q, sizeof(q), "%s&response_type=%s&response_mode=%s", OIDC, rows[i].rt,
                 rows[i].rm);
        parse_ok(q);
        OP_CHECK_INT(req.response_mode, rows[i].mode);
    }
    OP_CHECK_STR(op_authz_req_mode_name(OP_AUTHZ_MODE_QUERY), "query");
    OP_CHECK_STR(op_authz_req_mode_name(OP_AUTHZ_MODE_FRAGMENT), "fragment");
    OP_CHECK_STR(op_authz_req_mode_name(OP_AUTHZ_MODE_FORM_POST), "form_post");
    teardown();
}

/* Every parameter of OIDC Core §3.1.2.1 is kept. */
static void test_all_parameters(void)
{
    static const char q[] =
        WEB "&response_type=code&scope=openid+profile+email+profile&state=af0i%26jsl+J%C3%A9"
            "&nonce=n-0S6&display=popup&prompt=login+consent&max_age=3600"
            "&ui_locales=fr-CA+fr+en&claims_locales=de+en&id_token_hint=eyJ.a.b"
            "&login_hint=alice%40example.com&acr_values=urn%3Aacr%3A1+2"
            "&claims=%7B%22id_token%22%3A%7B%22acr%22%3Anull%7D%7D"
            "&code_challenge=" CC "&code_challenge_method=S256&unknown=kept";
    setup();
    parse_ok(q);
    OP_CHECK_STR(req.query, q);
    OP_CHECK_INT(req.query_len, strlen(q));
    OP_CHECK_STR(req.response_type_str, "code");
    /* RFC 6749 §3.3: order kept, the repeat dropped */
    OP_CHECK_INT(req.scope.n, 3);
    OP_CHECK_STR(req.scope.items[0], "openid");
    OP_CHECK_STR(req.scope.items[1], "profile");
    OP_CHECK_STR(req.scope.items[2], "email");
    OP_CHECK(op_authz_req_has_scope(&req, "email"));
    OP_CHECK(!op_authz_req_has_scope(&req, "phone"));
    OP_CHECK(!op_authz_req_has_scope(&req, "open"));
    OP_CHECK_STR(req.state, "af0i&jsl J\xc3\xa9");
    OP_CHECK_STR(req.nonce, "n-0S6");
    OP_CHECK_STR(req.display, "popup");
    OP_CHECK_INT(req.prompt, OP_AUTHZ_PROMPT_LOGIN | OP_AUTHZ_PROMPT_CONSENT);
    OP_CHECK_INT(req.max_age, 3600);
    OP_CHECK_INT(req.ui_locales.n, 3);
    OP_CHECK_STR(req.ui_locales.items[0], "fr-CA");
    OP_CHECK_STR(req.ui_locales.items[2], "en");
    OP_CHECK_INT(req.claims_locales.n, 2);
    OP_CHECK_STR(req.claims_locales.items[0], "de");
    OP_CHECK_STR(req.id_token_hint, "eyJ.a.b");
    OP_CHECK_STR(req.login_hint, "alice@example.com");
    OP_CHECK_INT(req.acr_values.n, 2);
    OP_CHECK_STR(req.acr_values.items[0], "urn:acr:1");
    OP_CHECK_INT(req.claims.n_id_token, 1);
    OP_CHECK_STR(req.claims.id_token[0].name, "acr");
    OP_CHECK_STR(req.code_challenge, CC);
    OP_CHECK_STR(req.code_challenge_method, "S256");
    /* RFC 6749 §3.1: unknown parameters are ignored, but kept for the caller */
    OP_CHECK_STR(op_params_get(&req.params, "unknown"), "kept");
    teardown();
}

/* Absent and empty parameters (RFC 6749 §3.1: an empty value is omitted). */
static void test_absent_parameters(void)
{
    setup();
    parse_ok(WEB "&response_type=code&state=&nonce=&display=&prompt=&max_age=&scope=");
    OP_CHECK(req.state == NULL && req.nonce == NULL && req.display == NULL);
    OP_CHECK(req.login_hint == NULL && req.id_token_hint == NULL);
    OP_CHECK(req.code_challenge == NULL && req.code_challenge_method == NULL);
    OP_CHECK(req.claims.json == NULL && req.claims.n_userinfo == 0);
    OP_CHECK_INT(req.prompt, 0);
    OP_CHECK_INT(req.max_age, -1);
    /* RFC 6749 §3.3: a plain OAuth request may omit the scope */
    OP_CHECK_INT(req.scope.n, 0);
    OP_CHECK_INT(req.ui_locales.n + req.claims_locales.n + req.acr_values.n, 0);
    /* max_age=0 is a value (OIDC Core §3.1.2.1) */
    parse_ok(CODE "&max_age=0");
    OP_CHECK_INT(req.max_age, 0);
    /* OIDC Core §3.3.2.1: nonce optional for "code token" */
    parse_ok(WEB "&scope=openid&response_type=code+token");
    OP_CHECK(req.nonce == NULL);
    /* A registered redirect_uri with its own query (RFC 6749 §3.1.2) */
    parse_ok("client_id=web&response_type=code"
             "&redirect_uri=https%3A%2F%2Fapp.example%2Fcb2%3Ftenant%3Da%2520b");
    OP_CHECK_STR(req.redirect_uri, "https://app.example/cb2?tenant=a%20b");
    /* A client with a registered scope, asking for part of it */
    parse_ok(SCOPED "&response_type=code&scope=email+openid");
    OP_CHECK_INT(req.scope.n, 2);
    teardown();
}

/* ---- errors -------------------------------------------------------------- */

static void test_errors_not_redirectable(void)
{
    static const err_row_t rows[] = {
        /* RFC 6749 §4.1.2.1: missing client_id -> never redirect */
        {"", "invalid_request", false},
        {"response_type=code&redirect_uri=https%3A%2F%2Fapp.example%2Fcb", "invalid_request",
         false},
        {"client_id=&response_type=code", "invalid_request", false},
        /* RFC 6749 §3.1, §4.1.2.1: a malformed query where the client_id
         * or the redirect_uri is in doubt */
        {WEB "&client_id=web&response_type=code", "invalid_request", false},
        {WEB "&redirect_uri=https%3A%2F%2Fapp.example%2Fcb&response_type=code", "invalid_request",
         false},
        {WEB "&redirect_uri=https%3A%2F%2Fevil.example%2F&scope=a&scope=b", "invalid_request",
         false},
        {"client_id=we%zz&redirect_uri=https%3A%2F%2Fapp.example%2Fcb&scope=a&scope=b",
         "invalid_request", false},
        {"client_id=web&redirect_uri=https%3A%2F%2Fapp.example%2Fcb%00&scope=a&scope=b",
         "invalid_request", false},
        {"client_id=web&redirect_uri=https%3A%2F%2Fapp.example%2Fcb%ZZ&state=1&state=2",
         "invalid_request", false},
        /* ... or unknown, or not registered */
        {"client_id=nobody&redirect_uri=https%3A%2F%2Fapp.example%2Fcb&scope=a&scope=b",
         "invalid_client", false},
        {"client_id=web&redirect_uri=https%3A%2F%2Fevil.example%2F&state=%zz", "invalid_request",
         false},
        /* RFC 6749 §4.1.2.1: invalid client_id */
        {"client_id=nobody&redirect_uri=https%3A%2F%2Fapp.example%2Fcb&response_type=code",
         "invalid_client", false},
        {"client_id=WEB&redirect_uri=https%3A%2F%2Fapp.example%2Fcb&response_type=code",
         "invalid_client", false},
        /* OIDC Core §3.1.2.1: redirect_uri is required */
        {"client_id=web&response_type=code&scope=openid", "invalid_request", false},
        {"client_id=web&redirect_uri=&response_type=code", "invalid_request", false},
        /* RFC 6749 §3.1.2.3, OIDC Core §3.1.2.1: exact string match */
        {"client_id=web&redirect_uri=https%3A%2F%2Fapp.example%2Fcb%2F&response_type=code",
         "invalid_request", false},
        {"client_id=web&redirect_uri=https%3A%2F%2FAPP.example%2Fcb&response_type=code",
         "invalid_request", false},
        {"client_id=web&redirect_uri=https%3A%2F%2Fapp.example%3A443%2Fcb&response_type=code",
         "invalid_request", false},
        {"client_id=web&redirect_uri=https%3A%2F%2Fapp.example%2Fcb%3Fx%3D1&response_type=code",
         "invalid_request", false},
        {"client_id=web&redirect_uri=https%3A%2F%2Fapp.example%2Fcb%23f&response_type=code",
         "invalid_request", false},
        {"client_id=web&redirect_uri=https%3A%2F%2Fapp.example%2Fcb2&response_type=code",
         "invalid_request", false},
        /* another client's redirect_uri */
        {"client_id=web&redirect_uri=https%3A%2F%2Fscoped.example%2Fcb&response_type=code",
         "invalid_request", false},
        /* not a URI at all */
        {"client_id=web&redirect_uri=app.example%2Fcb&response_type=code", "invalid_request",
         false},
        /* reference §2.1: code, state or response in the redirect_uri's query */
        {"client_id=web&redirect_uri=https%3A%2F%2Fapp.example%2Fcb%3Fcode%3Dx&response_type=code",
         "invalid_request", false},
        {"client_id=web&redirect_uri=https%3A%2F%2Fapp.example%2Fcb%3Fa%3D1%26state%3Dx",
         "invalid_request", false},
        {"client_id=web&redirect_uri=https%3A%2F%2Fapp.example%2Fcb%3Fresponse", "invalid_request",
         false},
        {"client_id=web&redirect_uri=https%3A%2F%2Fapp.example%2Fcb%3Fc%256Fde%3Dx",
         "invalid_request", false},
        /* the redirect_uri is checked before anything else is */
        {"client_id=web&redirect_uri=https%3A%2F%2Fevil.example%2F&response_type=bogus",
         "invalid_request", false},
    };
    setup();
    check_errors(rows, OP_NELEMS(rows), NULL);
    /* the message names the rule, without echoing the input */
    OP_CHECK_INT(parse("client_id=web&redirect_uri=https%3A%2F%2Fevil.example%2F"), OP_EINVAL);
    OP_CHECK(strstr(error.err.description, "not registered") != NULL);
    OP_CHECK(strstr(error.err.description, "evil") == NULL);
    teardown();
}

static void test_errors_redirectable(void)
{
    static const err_row_t rows[] = {
        /* RFC 6749 §4.1.2.1: missing response_type -> invalid_request */
        {OIDC, "invalid_request", true},
        {OIDC "&response_type=", "invalid_request", true},
        /* RFC 6749 §4.1.2.1: unknown response_type -> unsupported_response_type */
        {OIDC "&response_type=bogus", "unsupported_response_type", true},
        {OIDC "&response_type=Code", "unsupported_response_type", true},
        {OIDC "&response_type=code+code", "unsupported_response_type", true},
        {OIDC "&response_type=code++id_token", "unsupported_response_type", true},
        {OIDC "&response_type=+code", "unsupported_response_type", true},
        {OIDC "&response_type=none+code", "unsupported_response_type", true},
        /* OIDC Core §3, Multiple Response Types §3: not registered by the client */
        {SCOPED "&scope=openid&nonce=n&response_type=id_token", "unsupported_response_type", true},
        {SCOPED "&scope=openid&nonce=n&response_type=code+id_token", "unsupported_response_type",
         true},
        /* Multiple Response Types §2.1: unknown response_mode */
        {CODE "&response_mode=jwt", "invalid_request", true},
        {CODE "&response_mode=query.jwt", "invalid_request", true},
        {CODE "&response_mode=FORM_POST", "invalid_request", true},
        /* Multiple Response Types §2.1, §3: no query encoding for tokens */
        {OIDC "&response_type=id_token&response_mode=query", "invalid_request", true},
        {OIDC "&response_type=token&response_mode=query", "invalid_request", true},
        {OIDC "&response_type=code+id_token&response_mode=query", "invalid_request", true},
        /* OIDC Core §6.1, §6.2: request objects not supported */
        {CODE "&request=eyJhbGciOiJub25lIn0.e30.", "request_not_supported", true},
        {CODE "&request_uri=https%3A%2F%2Fapp.example%2Freq", "request_uri_not_supported", true},
        /* OIDC Core §3.1.2.1: openid required with id_token */
        {WEB "&nonce=n&response_type=id_token", "invalid_request", true},
        {WEB "&nonce=n&scope=profile&response_type=code+id_token", "invalid_request", true},
        /* RFC 6749 §3.3: malformed scope */
        {CODE_NS "&scope=openid++profile", "invalid_scope", true},
        {CODE_NS "&scope=openid+", "invalid_scope", true},
        {CODE_NS "&scope=%22openid%22", "invalid_scope", true},
        {CODE_NS "&scope=open%5Cid", "invalid_scope", true},
        {CODE_NS "&scope=caf%C3%A9", "invalid_scope", true},
        /* RFC 6749 §3.3: values the client did not register */
        {SCOPED "&response_type=code&scope=openid+phone", "invalid_scope", true},
        {SCOPED "&response_type=code&scope=profil", "invalid_scope", true},
        /* OIDC Core §3.2.2.1, §3.3.2.11: nonce required when an ID token is returned */
        {WEB "&scope=openid&response_type=id_token", "invalid_request", true},
        {WEB "&scope=openid&response_type=id_token+token", "invalid_request", true},
        {WEB "&scope=openid&response_type=code+id_token", "invalid_request", true},
        {WEB "&scope=openid&response_type=code+id_token+token&nonce=", "invalid_request", true},
        /* OIDC Core §3.1.2.1: max_age a non-negative integer */
        {CODE "&max_age=-1", "invalid_request", true},
        {CODE "&max_age=%2B5", "invalid_request", true},
        {CODE "&max_age=1.5", "invalid_request", true},
        {CODE "&max_age=+5", "invalid_request", true},
        {CODE "&max_age=abc", "invalid_request", true},
        {CODE "&max_age=99999999999", "invalid_request", true},
        /* OIDC Core §3.1.2.1: display values */
        {CODE "&display=mobile", "invalid_request", true},
        {CODE "&display=Page", "invalid_request", true},
        /* OIDC Core §5.5: malformed claims (more shapes in test_claims_rejected) */
        {CODE "&claims=%7B", "invalid_request", true},
        {CODE "&claims=%5B%5D", "invalid_request", true},
        /* OIDC Core §3.1.2.1: space-separated lists */
        {CODE "&ui_locales=fr++en", "invalid_request", true},
        {CODE "&claims_locales=+de", "invalid_request", true},
        {CODE "&acr_values=a+", "invalid_request", true},
    };
    setup();
    check_errors(rows, OP_NELEMS(rows), NULL);

    /* RFC 6749 §4.1.2.1: state goes back with the error, in the mode the
     * client will read (the type's default when the mode is refused) */
    OP_CHECK_INT(parse(OIDC "&response_type=id_token&response_mode=query&state=xyz"), OP_EINVAL);
    OP_CHECK(error.redirectable);
    OP_CHECK_STR(req.state, "xyz");
    OP_CHECK_INT(req.response_mode, OP_AUTHZ_MODE_FRAGMENT);
    OP_CHECK_STR(req.redirect_uri, "https://app.example/cb");
    OP_CHECK_INT(parse(OIDC "&response_type=bogus&response_mode=form_post&state=s"), OP_EINVAL);
    OP_CHECK_INT(req.response_mode, OP_AUTHZ_MODE_FORM_POST);
    OP_CHECK_STR(req.state, "s");
    OP_CHECK_INT(parse(OIDC "&response_type=code&response_mode=bogus"), OP_EINVAL);
    OP_CHECK_INT(req.response_mode, OP_AUTHZ_MODE_QUERY);
    OP_CHECK(req.state == NULL);
    /* error codes and descriptions fit RFC 6749 §4.1.2.1's character set */
    OP_CHECK(strchr(error.err.description, '"') == NULL);
    teardown();
}

/*
 * RFC 6749 §4.1.2.1: a query the strict parser refuses (RFC 6749 §3.1: a
 * repeated parameter; bad encoding, NUL, invalid UTF-8, an over-long
 * value) is an invalid_request for the client once its client_id and
 * redirect_uri are known good, in the mode it asked for; a state in doubt
 * is not echoed.
 */
static void test_errors_malformed_redirected(void)
{
    static const struct {
        const char *query;
        const char *state; /* echoed, or NULL */
        op_authz_mode_t mode;
        const char *says;
    } rows[] = {
        {CODE "&scope=openid&state=s1", "s1", OP_AUTHZ_MODE_QUERY, "'scope' repeated"},
        {"scope=a&" CODE "&state=s1", "s1", OP_AUTHZ_MODE_QUERY, "'scope' repeated"},
        {CODE "&x=1&x=2&state=s1", "s1", OP_AUTHZ_MODE_QUERY, "'x' repeated"},
        {CODE "&state=1&state=2", NULL, OP_AUTHZ_MODE_QUERY, "'state' repeated"},
        {CODE "&state=%zz", NULL, OP_AUTHZ_MODE_QUERY, "percent-encoding"},
        {CODE "&state=a%00b", NULL, OP_AUTHZ_MODE_QUERY, "NUL"},
        {CODE "&state=%C3%28", NULL, OP_AUTHZ_MODE_QUERY, "UTF-8"},
        {CODE "&prompt=%zz&state=s2", "s2", OP_AUTHZ_MODE_QUERY, "'prompt'"},
        {CODE "&st%zzate=x&state=s2", "s2", OP_AUTHZ_MODE_QUERY, "percent-encoding"},
        {CODE "&response_mode=form_post&scope=x&state=s3", "s3", OP_AUTHZ_MODE_FORM_POST,
         "repeated"},
        {OIDC "&response_type=id_token&scope=x&state=s3", "s3", OP_AUTHZ_MODE_FRAGMENT, "repeated"},
        /* a repeated response_type: the mode is the default of none */
        {CODE "&response_type=id_token&state=s4", "s4", OP_AUTHZ_MODE_QUERY,
         "'response_type' repeated"},
        {CODE "&response_mode=fragment&response_mode=query&state=s4", "s4", OP_AUTHZ_MODE_QUERY,
         "'response_mode' repeated"},
    };

    setup();
    for (size_t i = 0; i < OP_NELEMS(rows); i++) {
        int rc = parse(rows[i].query);
        if (rc != OP_EINVAL || !error.redirectable)
            fprintf(stderr, "row %zu (%s): rc %d, redirectable %d, %s\n", i, rows[i].query, rc,
                    error.redirectable, error.err.description);
        OP_CHECK_INT(rc, OP_EINVAL);
        OP_CHECK(error.redirectable);
        OP_CHECK_STR(error.err.oauth_error, "invalid_request");
        OP_CHECK_HAS(error.err.description, rows[i].says);
        OP_CHECK_STR(req.redirect_uri, "https://app.example/cb");
        OP_CHECK(req.client != NULL && strcmp(req.client->client_id, "web") == 0);
        if (rows[i].state != NULL)
            OP_CHECK_STR(req.state, rows[i].state);
        else
            OP_CHECK(req.state == NULL);
        OP_CHECK_INT(req.response_mode, rows[i].mode);
    }
    teardown();
}

/*
 * OIDC Core §3.1.2.1 max_age, with the clock in the test's hands: more
 * than max_age seconds since the authentication asks for a new one;
 * max_age=0 asks for one even within the same second (errata 2: the same
 * as prompt=login), which only an authentication made for the request
 * answers.
 */
static void test_max_age(void)
{
    static const int64_t now = 1800000000;
    static const struct {
        const char *extra;
        int64_t age; /* now - auth_time */
        bool for_it; /* made for this request */
        bool ok;
    } rows[] = {
        {"", 0, false, true},
        {"", 100000000, false, true},
        {"&max_age=0", 0, false, false}, /* the same second */
        {"&max_age=0", 1, false, false},
        {"&max_age=0", 0, true, true},
        {"&max_age=0", 1, true, true},
        {"&max_age=60", 60, false, true},
        {"&max_age=60", 61, false, false},
        {"&max_age=60", 0, true, true},
        {"&max_age=60", 61, true, false}, /* reported, but too old */
        {"&prompt=login", 0, false, false},
        {"&prompt=login", 0, true, true},
        {"&prompt=login&max_age=3600", 3601, true, false},
    };
    char q[256];

    setup();
    for (size_t i = 0; i < OP_NELEMS(rows); i++) {
        snprintf(q, sizeof(q), "%s%s", CODE, rows[i].extra);
        parse_ok(q);
        bool ok = op_authz_req_auth_ok(&req, now - rows[i].age, rows[i].for_it, now);
        if (ok != rows[i].ok)
            fprintf(stderr, "row %zu (%s, age %lld, for_it %d): %d\n", i, rows[i].extra,
                    (long long)rows[i].age, rows[i].for_it, ok);
        OP_CHECK(ok == rows[i].ok);
    }
    teardown();
}

/* prompt (OIDC Core §3.1.2.1; create: Initiating User Registration §4). */
static void test_prompt(void)
{
    static const struct {
        const char *prompt;
        unsigned bits;
    } ok[] = {
        {"none", OP_AUTHZ_PROMPT_NONE},
        {"login", OP_AUTHZ_PROMPT_LOGIN},
        {"consent", OP_AUTHZ_PROMPT_CONSENT},
        {"select_account", OP_AUTHZ_PROMPT_SELECT_ACCOUNT},
        {"create", OP_AUTHZ_PROMPT_CREATE},
        {"login+consent", OP_AUTHZ_PROMPT_LOGIN | OP_AUTHZ_PROMPT_CONSENT},
        {"consent+select_account+login",
         OP_AUTHZ_PROMPT_LOGIN | OP_AUTHZ_PROMPT_CONSENT | OP_AUTHZ_PROMPT_SELECT_ACCOUNT},
        {"login+login", OP_AUTHZ_PROMPT_LOGIN},
    };
    static const err_row_t bad[] = {
        /* OIDC Core §3.1.2.1: unknown value */
        {CODE "&prompt=bogus", "invalid_request", true},
        {CODE "&prompt=Login", "invalid_request", true},
        /* OIDC Core §3.1.2.1: none with any other value is an error */
        {CODE "&prompt=none+login", "invalid_request", true},
        {CODE "&prompt=consent+none", "invalid_request", true},
        /* reference §2.1: create with other values is rejected */
        {CODE "&prompt=create+login", "invalid_request", true},
        {CODE "&prompt=select_account+create", "invalid_request", true},
        /* malformed list */
        {CODE "&prompt=login++consent", "invalid_request", true},
    };
    setup();
    for (size_t i = 0; i < OP_NELEMS(ok); i++) {
        char q[512];
        snprintf(q, sizeof(q), "%s&prompt=%s", CODE, ok[i].prompt);
        parse_ok(q);
        OP_CHECK_INT(req.prompt, ok[i].bits);
    }
    check_errors(bad, OP_NELEMS(bad), NULL);
    teardown();
}

/* PKCE, RFC 7636. */
static void test_pkce(void)
{
    static const op_authz_policy_t plain = {true};
    static const err_row_t bad[] = {
        /* §4.3: the method defaults to plain, refused unless allowed */
        {CODE "&code_challenge=" CC, "invalid_request", true},
        {CODE "&code_challenge=" CC "&code_challenge_method=plain", "invalid_request", true},
        /* §4.3: only S256 and plain exist; names are case-sensitive */
        {CODE "&code_challenge=" CC "&code_challenge_method=S512", "invalid_request", true},
        {CODE "&code_challenge=" CC "&code_challenge_method=s256", "invalid_request", true},
        /* §4.2: 43..128 characters of [A-Za-z0-9-._~] */
        {CODE "&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-c&code_challenge_method="
              "S256",
         "invalid_request", true},
        {CODE "&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw%2BcM"
              "&code_challenge_method=S256",
         "invalid_request", true},
        {CODE "&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw%3DcM"
              "&code_challenge_method=S256",
         "invalid_request", true},
        {CODE "&code_challenge=" CC CC CC "&code_challenge_method=S256", "invalid_request", true},
        /* a method without a challenge */
        {CODE "&code_challenge_method=S256", "invalid_request", true},
        /* public clients must use PKCE (RFC 8252 §8.1, RFC 9700 §2.1.1) */
        {PUB "&response_type=code", "invalid_request", true},
        {PUB "&response_type=code&scope=openid", "invalid_request", true},
        /* code_challenge_method S256 registered: required, and S256 only */
        {S256C "&response_type=code", "invalid_request", true},
        {S256C "&response_type=code&code_challenge=" CC "&code_challenge_method=plain",
         "invalid_request", true},
        {S256C "&response_type=code&code_challenge=" CC, "invalid_request", true},
    };
    /* 128 characters is the upper bound (§4.2) */
    static const char max_cc[] = CC CC "0123456789abcdefghijklmnopqrstuvwxyzAB.~_-";
    char q[512];

    setup();
    OP_CHECK_INT(strlen(max_cc), 128);
    parse_ok(CODE "&code_challenge=" CC "&code_challenge_method=S256");
    OP_CHECK_STR(req.code_challenge, CC);
    OP_CHECK_STR(req.code_challenge_method, "S256");
    snprintf(q, sizeof(q), "%s&code_challenge=%s&code_challenge_method=S256", CODE, max_cc);
    parse_ok(q);
    parse_ok(PUB "&response_type=code&code_challenge=" CC "&code_challenge_method=S256");
    parse_ok(S256C "&response_type=code&code_challenge=" CC "&code_challenge_method=S256");
    /* a confidential client may go without PKCE */
    parse_ok(CODE);
    OP_CHECK(req.code_challenge == NULL);
    check_errors(bad, OP_NELEMS(bad), NULL);

    /* plain when the policy allows it (§4.2: plain; §4.3 default) */
    OP_CHECK_INT(parse_with(CODE "&code_challenge=" CC, &plain), OP_OK);
    OP_CHECK_STR(req.code_challenge_method, "plain");
    OP_CHECK_INT(parse_with(CODE "&code_challenge=" CC "&code_challenge_method=plain", &plain),
                 OP_OK);
    OP_CHECK_STR(req.code_challenge_method, "plain");
    /* ... but never for a client registered with S256 */
    OP_CHECK_INT(parse_with(S256C "&response_type=code&code_challenge=" CC
                                  "&code_challenge_method=plain",
                            &plain),
                 OP_EINVAL);
    teardown();
}

/* ---- the claims parameter (OIDC Core §5.5) ------------------------------ */

static int claims(const char *json, op_authz_claims_t *c, op_err_t *err)
{
    op_err_clear(err);
    return op_authz_claims_parse(arena, json, strlen(json), c, err);
}

static void test_claims_shapes(void)
{
    /* OIDC Core §5.5's example request */
    static const char example[] =
        "{\"userinfo\":{\"given_name\":{\"essential\":true},\"nickname\":null,"
        "\"email\":{\"essential\":true},\"email_verified\":{\"essential\":true},"
        "\"picture\":null,\"http://example.info/claims/groups\":null},"
        "\"id_token\":{\"auth_time\":{\"essential\":true},"
        "\"acr\":{\"values\":[\"urn:mace:incommon:iap:silver\"]}}}";
    op_authz_claims_t c;
    op_err_t err;

    setup();
    OP_CHECK_INT(claims(example, &c, &err), OP_OK);
    OP_CHECK_INT(c.n_userinfo, 6);
    OP_CHECK_INT(c.n_id_token, 2);
    OP_CHECK_STR(c.userinfo[0].name, "given_name");
    OP_CHECK(c.userinfo[0].essential);
    OP_CHECK_STR(c.userinfo[1].name, "nickname");
    OP_CHECK(!c.userinfo[1].essential && c.userinfo[1].value == NULL);
    OP_CHECK_STR(c.userinfo[5].name, "http://example.info/claims/groups");
    OP_CHECK_STR(c.id_token[1].name, "acr");
    OP_CHECK(!c.id_token[1].essential);
    OP_CHECK(op_json_is(c.id_token[1].values, OP_JSON_ARRAY));
    OP_CHECK_INT(c.id_token[1].values->u.arr.n, 1);
    OP_CHECK(op_json_is(c.json, OP_JSON_OBJECT));

    /* §5.5.1: "value"; essential false; §5.2 language tags kept as sent */
    OP_CHECK_INT(claims("{\"id_token\":{\"sub\":{\"value\":\"248289761001\",\"essential\":false},"
                        "\"name#de\":null}}",
                        &c, &err),
                 OP_OK);
    OP_CHECK_INT(c.n_userinfo, 0);
    OP_CHECK_STR(c.id_token[0].name, "sub");
    OP_CHECK(!c.id_token[0].essential);
    OP_CHECK_STR(c.id_token[0].value->u.str.s, "248289761001");
    OP_CHECK_STR(c.id_token[1].name, "name#de");
    /* §5.5.1: members not understood are ignored; §5.5: so are other top-level members */
    OP_CHECK_INT(
        claims("{\"userinfo\":{\"x\":{\"purpose\":\"why\",\"ext\":[1]}},\"other\":5}", &c, &err),
        OP_OK);
    OP_CHECK_INT(c.n_userinfo, 1);
    OP_CHECK_INT(claims("{}", &c, &err), OP_OK);
    OP_CHECK_INT(c.n_userinfo + c.n_id_token, 0);
    OP_CHECK_INT(claims("{\"userinfo\":{}}", &c, &err), OP_OK);
    /* a structured value at the depth limit (4) */
    OP_CHECK_INT(claims("{\"userinfo\":{\"address\":{\"value\":{\"country\":\"DE\"}}}}", &c, &err),
                 OP_OK);

    /* through the request parser: the claims are kept with the request */
    parse_ok(CODE
             "&claims=%7B%22userinfo%22%3A%7B%22email%22%3A%7B%22essential%22%3Atrue%7D%7D%7D");
    OP_CHECK_INT(req.claims.n_userinfo, 1);
    OP_CHECK(req.claims.userinfo[0].essential);
    teardown();
}

static void test_claims_rejected(void)
{
    static const struct {
        const char *json;
        int rc;
    } rows[] = {
        /* §5.5: a JSON object */
        {"", OP_EINVAL},
        {"[]", OP_EINVAL},
        {"\"userinfo\"", OP_EINVAL},
        {"{\"userinfo\":{}", OP_EINVAL},
        {"{\"userinfo\":{}} x", OP_EINVAL},
        /* §5.5: userinfo and id_token are objects */
        {"{\"userinfo\":[]}", OP_EINVAL},
        {"{\"id_token\":\"name\"}", OP_EINVAL},
        {"{\"id_token\":null}", OP_EINVAL},
        /* §5.5.1: each claim is null or an object */
        {"{\"id_token\":{\"name\":1}}", OP_EINVAL},
        {"{\"id_token\":{\"name\":true}}", OP_EINVAL},
        {"{\"id_token\":{\"name\":[]}}", OP_EINVAL},
        /* §5.5.1: essential a boolean, values an array */
        {"{\"id_token\":{\"name\":{\"essential\":\"true\"}}}", OP_EINVAL},
        {"{\"id_token\":{\"name\":{\"essential\":1}}}", OP_EINVAL},
        {"{\"id_token\":{\"acr\":{\"values\":\"a\"}}}", OP_EINVAL},
        /* an empty claim name */
        {"{\"userinfo\":{\"\":null}}", OP_EINVAL},
        /* repeated names (strict JSON reader) */
        {"{\"userinfo\":{\"a\":null,\"a\":null}}", OP_EINVAL},
        /* bounded: depth 4 */
        {"{\"userinfo\":{\"address\":{\"value\":{\"country\":[\"DE\"]}}}}", OP_ETOOBIG},
        /* reference §2.1: placement is the login page's directive, never the client's */
        {"{\"userinfo\":{\"access_token:email\":null}}", OP_EINVAL},
        {"{\"userinfo\":{\"access_token:uip:email\":null}}", OP_EINVAL},
        {"{\"userinfo\":{\"id_token:email\":null}}", OP_EINVAL},
        {"{\"id_token\":{\"name\":null,\"id_token:phone_number#de\":null}}", OP_EINVAL},
        {"{\"id_token\":{\"verified:name\":{\"essential\":true}}}", OP_EINVAL},
    };
    op_authz_claims_t c;
    op_err_t err;
    char big[OP_AUTHZ_CLAIMS_MAX_BYTES + 64];
    size_t n;

    setup();
    for (size_t i = 0; i < OP_NELEMS(rows); i++) {
        int rc = claims(rows[i].json, &c, &err);
        if (rc != rows[i].rc)
            fprintf(stderr, "row %zu (%s): %d %s\n", i, rows[i].json, rc, err.description);
        OP_CHECK_INT(rc, rows[i].rc);
        OP_CHECK_STR(err.oauth_error, "invalid_request");
        OP_CHECK(strncmp(err.description, "claims: ", 8) == 0);
        OP_CHECK(c.json == NULL && c.n_userinfo == 0 && c.n_id_token == 0);
    }
    /* bounded: 64 claims (userinfo and id_token together) */
    n = (size_t)snprintf(big, sizeof(big), "{\"userinfo\":{");
    for (int i = 0; i < 40; i++)
        n += (size_t)snprintf(big + n, sizeof(big) - n, "%s\"u%d\":null", i ? "," : "", i);
    n += (size_t)snprintf(big + n, sizeof(big) - n, "},\"id_token\":{");
    for (int i = 0; i < 24; i++)
        n += (size_t)snprintf(big + n, sizeof(big) - n, "%s\"i%d\":null", i ? "," : "", i);
    snprintf(big + n, sizeof(big) - n, "}}");
    OP_CHECK_INT(claims(big, &c, &err), OP_OK);
    OP_CHECK_INT(c.n_userinfo + c.n_id_token, 64);
    snprintf(big + n, sizeof(big) - n, ",\"i24\":null}}");
    OP_CHECK_INT(claims(big, &c, &err), OP_ETOOBIG);
    /* bounded: 8 KiB */
    memset(big, ' ', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    memcpy(big, "{}", 2);
    OP_CHECK_INT(claims(big, &c, &err), OP_ETOOBIG);
    OP_CHECK(strncmp(err.description, "claims: ", 8) == 0);

    /* a directive in a request is redirected as invalid_request, a URI
     * name with colons is not one */
    OP_CHECK_INT(parse(CODE "&claims=%7B%22userinfo%22%3A%7B%22access_token%3Aemail%22%3Anull%7D"
                            "%7D"),
                 OP_EINVAL);
    OP_CHECK(error.redirectable);
    OP_CHECK_HAS(error.err.description, "access_token:");
    OP_CHECK_INT(claims("{\"userinfo\":{\"urn:example:access_token:x\":null}}", &c, &err), OP_OK);

    /* §5.5: userinfo claims need a response type issuing an access token */
    OP_CHECK_INT(parse(OIDC "&response_type=id_token&claims=%7B%22userinfo%22%3A%7B%7D%7D"),
                 OP_EINVAL);
    OP_CHECK(error.redirectable);
    OP_CHECK_STR(error.err.oauth_error, "invalid_request");
    parse_ok(OIDC "&response_type=id_token&claims=%7B%22id_token%22%3A%7B%22email%22%3Anull%7D%7D");
    parse_ok(OIDC "&response_type=id_token+token&claims=%7B%22userinfo%22%3A%7B%7D%7D");
    teardown();
}

/* ---- scope -> claims and the consent prompt (reference §2.1) ----------- */

static void test_claims_of_scope(void)
{
    static const struct {
        const char *scope;
        size_t n;
        const char *first, *last;
    } rows[] = {
        /* OIDC Core §5.4 */
        {"profile", 14, "name", "updated_at"},
        {"email", 2, "email", "email_verified"},
        {"address", 1, "address", "address"},
        {"phone", 2, "phone_number", "phone_number_verified"},
    };
    size_t n = 99;

    for (size_t i = 0; i < OP_NELEMS(rows); i++) {
        const char *const *c = op_authz_claims_of_scope(rows[i].scope, &n);
        OP_CHECK_INT(n, rows[i].n);
        OP_CHECK_STR(c[0], rows[i].first);
        OP_CHECK_STR(c[n - 1], rows[i].last);
    }
    OP_CHECK(op_authz_claims_of_scope("openid", &n) == NULL && n == 0);
    OP_CHECK(op_authz_claims_of_scope("Profile", &n) == NULL && n == 0);
    OP_CHECK(op_authz_claims_of_scope(NULL, &n) == NULL && n == 0);
}

/* Run a prompt writer and return its JSON text. */
static const char *prompt_json(bool claims_prompt, const char *const *consented, size_t n)
{
    op_json_w_t *w = op_json_w_new(arena, false);
    const char *out = NULL;

    OP_CHECK(w != NULL);
    if (claims_prompt)
        op_authz_claims_prompt(&req, consented, n, w);
    else
        op_authz_req_scope_prompt(&req, consented, n, w);
    OP_CHECK_INT(op_json_w_finish(w, &out, NULL, NULL), OP_OK);
    return out;
}

static void test_consent_prompt(void)
{
    /* claims: email essential, name#de (tag stripped, merges with name),
     * sub (left out), a custom claim, auth_time for the ID token */
    static const char q[] =
        CODE_NS "&scope=openid+profile+email"
                "&claims=%7B%22userinfo%22%3A%7B%22email%22%3A%7B%22essential%22%3Atrue%7D%2C"
                "%22name%23de%22%3Anull%2C%22sub%22%3Anull%2C"
                "%22custom%22%3A%7B%22essential%22%3Atrue%7D%7D%2C"
                "%22id_token%22%3A%7B%22auth_time%22%3A%7B%22essential%22%3Atrue%7D%7D%7D";
    static const char *const consented[] = {"name#fr", "email_verified", "auth_time", "openid",
                                            "email"};

    setup();
    parse_ok(q);
    /* reference §2.1 consent prompt: claims.new / claims.consented */
    OP_CHECK_STR(prompt_json(true, consented, 3),
                 "{\"new\":{\"essential\":[\"email\",\"custom\"],\"voluntary\":[\"family_name\","
                 "\"given_name\",\"middle_name\",\"nickname\",\"preferred_username\",\"profile\","
                 "\"picture\",\"website\",\"gender\",\"birthdate\",\"zoneinfo\",\"locale\","
                 "\"updated_at\"]},\"consented\":{\"essential\":[\"auth_time\"],"
                 "\"voluntary\":[\"name\",\"email_verified\"]}}");
    /* nothing consented yet */
    OP_CHECK(strstr(prompt_json(true, NULL, 0), "\"consented\":{\"essential\":[],"
                                                "\"voluntary\":[]}") != NULL);
    /* reference §2.1 consent prompt: scope.new / scope.consented, in order */
    OP_CHECK_STR(prompt_json(false, consented + 3, 2),
                 "{\"new\":[\"profile\"],\"consented\":[\"openid\",\"email\"]}");
    OP_CHECK_STR(prompt_json(false, NULL, 0),
                 "{\"new\":[\"openid\",\"profile\",\"email\"],\"consented\":[]}");

    /* OIDC Core §5.4: scope claims only for OpenID requests */
    parse_ok(WEB "&response_type=code&scope=profile+email");
    OP_CHECK_STR(prompt_json(true, NULL, 0), "{\"new\":{\"essential\":[],\"voluntary\":[]},"
                                             "\"consented\":{\"essential\":[],\"voluntary\":[]}}");
    /* the claims parameter can make a scope claim essential (§5.5.1) */
    parse_ok(CODE_NS "&scope=openid+phone&claims=%7B%22id_token%22%3A%7B%22phone_number%22%3A%7B"
                     "%22essential%22%3Atrue%7D%7D%7D");
    OP_CHECK_STR(prompt_json(true, NULL, 0),
                 "{\"new\":{\"essential\":[\"phone_number\"],\"voluntary\":"
                 "[\"phone_number_verified\"]},\"consented\":{\"essential\":[],\"voluntary\":[]}}");
    teardown();
}

/* ---- hostile input -------------------------------------------------------- */

static void test_hostile(void)
{
    char *q = malloc(70000);
    size_t n;

    setup();
    OP_CHECK(q != NULL);
    /* RFC 6749 §3.1 bounds: too many parameters */
    n = (size_t)snprintf(q, 70000, "%s", CODE);
    for (int i = 0; i < 80; i++)
        n += (size_t)snprintf(q + n, 70000 - n, "&p%d=1", i);
    OP_CHECK_INT(parse(q), OP_ETOOBIG);
    OP_CHECK(!error.redirectable);
    /* a value over the parser's limit: redirected, without that state
     * (RFC 6749 §4.1.2.1) */
    n = (size_t)snprintf(q, 70000, "%s&state=", CODE);
    memset(q + n, 'a', 20000);
    q[n + 20000] = '\0';
    OP_CHECK_INT(parse(q), OP_ETOOBIG);
    OP_CHECK(error.redirectable && req.state == NULL);
    /* more scope values than OP_AUTHZ_LIST_MAX */
    n = (size_t)snprintf(q, 70000, "%s&scope=openid", WEB "&response_type=code");
    for (int i = 0; i < OP_AUTHZ_LIST_MAX; i++)
        n += (size_t)snprintf(q + n, 70000 - n, "+s%d", i);
    OP_CHECK_INT(parse(q), OP_EINVAL);
    OP_CHECK_STR(error.err.oauth_error, "invalid_scope");
    /* a NULL query with a length, and no client lookup at all */
    OP_CHECK_INT(op_authz_req_parse(arena, NULL, 3, NULL, NULL, &req, &error), OP_EINVAL);
    OP_CHECK_INT(op_authz_req_parse(arena, CODE, strlen(CODE), NULL, NULL, &req, &error),
                 OP_EINVAL);
    OP_CHECK_STR(error.err.oauth_error, "invalid_client");
    free(q);
    teardown();
}

/* An arena too small for the request (RFC 6749 §4.1.2.1): OP_ETOOBIG,
 * invalid_request, never OP_ENOMEM (the cap is the only allocation failure,
 * core/base/op_mem.h); redirected only once the client and its
 * redirect_uri are known good. */
static void test_arena_cap(void)
{
    static const char q[] = CODE_NS "&scope=openid+profile&claims=%7B%22userinfo%22%3A%7B%7D%7D";
    const op_authz_clients_t lookup = {find_client, &n_clients};
    bool ok = false;

    setup();
    for (size_t cap = 64; cap < 65536 && !ok; cap += 64) {
        op_arena_t *small = op_arena_new(cap);
        OP_CHECK(small != NULL);
        int rc = op_authz_req_parse(small, q, strlen(q), &lookup, NULL, &req, &error);
        if (rc != OP_OK && rc != OP_ETOOBIG)
            fprintf(stderr, "cap %zu: %d %s\n", cap, rc, error.err.description);
        OP_CHECK(rc == OP_OK || rc == OP_ETOOBIG);
        if (rc == OP_ETOOBIG) {
            OP_CHECK_STR(error.err.oauth_error, "invalid_request");
            OP_CHECK(!error.redirectable || (req.client != NULL && req.redirect_uri != NULL));
        }
        ok = rc == OP_OK;
        op_arena_free(small);
    }
    OP_CHECK(ok);
    teardown();
}

static const op_test_case_t cases[] = {
    {"response_types", test_response_types},
    {"response_modes", test_response_modes},
    {"all_parameters", test_all_parameters},
    {"absent_parameters", test_absent_parameters},
    {"errors_not_redirectable", test_errors_not_redirectable},
    {"errors_redirectable", test_errors_redirectable},
    {"errors_malformed_redirected", test_errors_malformed_redirected},
    {"max_age", test_max_age},
    {"prompt", test_prompt},
    {"pkce", test_pkce},
    {"claims_shapes", test_claims_shapes},
    {"claims_rejected", test_claims_rejected},
    {"claims_of_scope", test_claims_of_scope},
    {"consent_prompt", test_consent_prompt},
    {"hostile", test_hostile},
    {"arena_cap", test_arena_cap},
};

OP_TEST_MAIN(cases)
