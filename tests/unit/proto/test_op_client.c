/*
 * tests/unit/proto/test_op_client.c - client metadata validation, the canonical
 * JSON round trip, the clients file, the registry and the predicates.
 *
 * Run from the repository root (examples/ and tests/data/ are read with
 * relative paths).
 */
#include "core/proto/op_authz_req.h"
#include "core/proto/op_client.h"
#include "core/config/op_config.h"
#include "tests/unit/op_test.h"

#define ARENA_MAX (8u << 20)

/* Client JSON shorthands: a web client with a secret and a redirect URI. */
#define ID        "\"client_id\":\"c\","
#define SEC       "\"client_secret\":\"s3cret\","
#define RU        "\"redirect_uris\":[\"https://app.example/cb\"]"
#define WEB(rest) "{" ID SEC RU rest "}"

static op_arena_t *arena(void)
{
    op_arena_t *a = op_arena_new(ARENA_MAX);
    OP_CHECK(a != NULL);
    return a;
}

static void parse_ok(op_arena_t *a, const char *json, op_client_t *c)
{
    op_err_t err;
    op_err_clear(&err);
    int rc = op_client_parse(a, json, strlen(json), c, &err);
    if (rc != OP_OK)
        fprintf(stderr, "unexpected error for %s: %s\n", json, err.description);
    OP_CHECK_INT(rc, OP_OK);
}

/* Case i, json, is refused as OP_EINVAL with a description that contains
 * want (printed with the case when it is not); the error is left in *err. */
static void parse_fails(op_arena_t *a, size_t i, const char *json, const char *want, op_err_t *err)
{
    op_client_t c;

    op_err_clear(err);
    int rc = op_client_parse(a, json, strlen(json), &c, err);
    if (rc != OP_EINVAL || strstr(err->description, want) == NULL)
        fprintf(stderr, "case %zu: %s\n  -> %d %s\n", i, json, rc, err->description);
    OP_CHECK_INT(rc, OP_EINVAL);
    OP_CHECK_HAS(err->description, want);
}

/* Serialise, parse back, serialise again: the same text and values. */
static const char *round_trip(op_arena_t *a, const op_client_t *c, op_client_t *back)
{
    const char *j1 = NULL, *j2 = NULL;
    size_t l1 = 0, l2 = 0;
    op_err_t err;
    OP_CHECK_INT(op_client_to_json(c, a, &j1, &l1, &err), OP_OK);
    OP_CHECK_INT(strlen(j1), l1);
    parse_ok(a, j1, back);
    OP_CHECK_INT(op_client_to_json(back, a, &j2, &l2, &err), OP_OK);
    OP_CHECK_STR(j2, j1);
    OP_CHECK_STR(back->client_id, c->client_id);
    OP_CHECK(op_str_eq(back->client_secret, c->client_secret));
    OP_CHECK_INT(back->grant_types, c->grant_types);
    OP_CHECK_INT(back->n_response_types, c->n_response_types);
    for (size_t i = 0; i < c->n_response_types; i++)
        OP_CHECK_INT(back->response_types[i], c->response_types[i]);
    OP_CHECK_INT(back->redirect_uris.n, c->redirect_uris.n);
    for (size_t i = 0; i < c->redirect_uris.n; i++)
        OP_CHECK_STR(back->redirect_uris.items[i], c->redirect_uris.items[i]);
    OP_CHECK_INT(back->token_endpoint_auth_method, c->token_endpoint_auth_method);
    OP_CHECK_INT(back->application_type, c->application_type);
    OP_CHECK(op_str_eq(back->scope, c->scope));
    OP_CHECK_INT(back->subject_type, c->subject_type);
    OP_CHECK(op_str_eq(back->sector_id, c->sector_id));
    OP_CHECK_INT(back->default_acr_values.n, c->default_acr_values.n);
    OP_CHECK_INT(back->require_auth_time, c->require_auth_time);
    OP_CHECK_INT(back->default_max_age, c->default_max_age);
    OP_CHECK_INT(back->n_extra, c->n_extra);
    return j1;
}

/* ---- cases --------------------------------------------------------------- */

static void test_demo_client_valid(void)
{
    op_arena_t *a = arena();
    op_client_t *clients = NULL;
    size_t n = 0;
    op_err_t err;
    op_err_clear(&err);
    int rc = op_client_load_file("examples/clients.json", a, &clients, &n, &err);
    if (rc != OP_OK)
        fprintf(stderr, "%s\n", err.description);
    OP_CHECK_INT(rc, OP_OK);
    OP_CHECK_INT(n, 1);
    const op_client_t *c = &clients[0];
    OP_CHECK_STR(c->client_id, "demo-client");
    OP_CHECK_STR(c->client_secret, "demo-secret");
    OP_CHECK_INT(c->redirect_uris.n, 1);
    OP_CHECK_STR(c->redirect_uris.items[0], "http://127.0.0.1:9999/callback");
    OP_CHECK_INT(c->grant_types, OP_CLIENT_GRANT_AUTHORIZATION_CODE | OP_CLIENT_GRANT_IMPLICIT |
                                     OP_CLIENT_GRANT_REFRESH_TOKEN);
    OP_CHECK_INT(c->n_response_types, 7);
    OP_CHECK_INT(c->response_types[6],
                 OP_CLIENT_RT_CODE | OP_CLIENT_RT_ID_TOKEN | OP_CLIENT_RT_TOKEN);
    OP_CHECK_INT(c->token_endpoint_auth_method, OP_CLIENT_AUTH_CLIENT_SECRET_BASIC);
    OP_CHECK_INT(c->application_type, OP_CLIENT_APP_NATIVE);
    OP_CHECK_STR(c->scope, "openid profile email address phone offline_access");
    OP_CHECK_INT(c->default_max_age, -1);
    OP_CHECK_INT(c->subject_type, OP_CLIENT_SUB_PUBLIC);
    op_client_t back;
    round_trip(a, c, &back);
    op_arena_free(a);
}

/* Defaults are filled in and written out. */
static void test_defaults(void)
{
    op_arena_t *a = arena();
    op_client_t c, back;
    parse_ok(a, WEB(""), &c);
    OP_CHECK_INT(c.grant_types, OP_CLIENT_GRANT_AUTHORIZATION_CODE);
    OP_CHECK_INT(c.n_response_types, 1);
    OP_CHECK_INT(c.response_types[0], OP_CLIENT_RT_CODE);
    OP_CHECK_INT(c.token_endpoint_auth_method, OP_CLIENT_AUTH_CLIENT_SECRET_BASIC);
    OP_CHECK_INT(c.application_type, OP_CLIENT_APP_WEB);
    OP_CHECK(c.client_name == NULL && c.scope == NULL && c.sector_id == NULL);
    OP_CHECK_INT(c.id_token_signed_response_alg, OP_JWS_NONE);
    OP_CHECK_STR(round_trip(a, &c, &back),
                 "{\"client_id\":\"c\",\"client_secret\":\"s3cret\","
                 "\"redirect_uris\":[\"https://app.example/cb\"],"
                 "\"grant_types\":[\"authorization_code\"],\"response_types\":[\"code\"],"
                 "\"token_endpoint_auth_method\":\"client_secret_basic\","
                 "\"application_type\":\"web\",\"subject_type\":\"public\"}");
    /* A refresh-only client: no front channel. */
    parse_ok(a, "{" ID SEC "\"grant_types\":[\"refresh_token\"],\"response_types\":[]}", &c);
    OP_CHECK_INT(c.n_response_types, 0);
    round_trip(a, &c, &back);
    op_arena_free(a);
}

/* Every member set, plus unknown ones: the round trip keeps them all. */
static void test_round_trip_full(void)
{
    op_arena_t *a = arena();
    op_client_t c, back;
    parse_ok(a,
             "{\"client_id\":\"full\",\"client_name\":\"Full \\u00e9\",\"software_id\":\"sw-1\","
             "\"redirect_uris\":[\"https://app.example/cb\",\"https://app.example/cb2?x=1\"],"
             "\"response_types\":[\"id_token code\",\"code\"],"
             "\"grant_types\":[\"refresh_token\",\"implicit\",\"authorization_code\"],"
             "\"token_endpoint_auth_method\":\"client_secret_post\",\"client_secret\":\"s\","
             "\"id_token_signed_response_alg\":\"ES256\","
             "\"userinfo_signed_response_alg\":\"EdDSA\",\"subject_type\":\"pairwise\","
             "\"contacts\":[\"ops@app.example\"],\"logo_uri\":\"https://app.example/logo.png\","
             "\"client_uri\":\"https://app.example\",\"policy_uri\":\"http://app.example/p\","
             "\"tos_uri\":\"https://app.example/tos\",\"default_max_age\":3600,"
             "\"require_auth_time\":true,\"default_acr_values\":[\"urn:acr:1\",\"urn:acr:2\"],"
             "\"require_pushed_authorization_requests\":false,\"code_challenge_method\":\"S256\","
             "\"scope\":\"openid email\",\"client_name#fr\":\"Complet\","
             "\"x_nested\":{\"a\":[1,2.5,null,\"z\"]}}",
             &c);
    OP_CHECK_INT(c.grant_types, OP_CLIENT_GRANT_AUTHORIZATION_CODE | OP_CLIENT_GRANT_IMPLICIT |
                                    OP_CLIENT_GRANT_REFRESH_TOKEN);
    OP_CHECK_INT(c.response_types[0], OP_CLIENT_RT_CODE | OP_CLIENT_RT_ID_TOKEN);
    OP_CHECK_INT(c.id_token_signed_response_alg, OP_JWS_ES256);
    OP_CHECK_INT(c.userinfo_signed_response_alg, OP_JWS_EDDSA);
    OP_CHECK_INT(c.subject_type, OP_CLIENT_SUB_PAIRWISE);
    OP_CHECK_INT(c.default_max_age, 3600);
    OP_CHECK(c.require_auth_time);
    OP_CHECK_STR(c.sector_id, "app.example");
    OP_CHECK_INT(c.default_acr_values.n, 2);
    OP_CHECK_STR(c.code_challenge_method, "S256");
    OP_CHECK_INT(c.n_extra, 3);
    OP_CHECK_STR(c.extra_names[0], "software_id");
    OP_CHECK_STR(c.extra_names[1], "client_name#fr");
    OP_CHECK_STR(c.extra_names[2], "x_nested");
    const char *json = round_trip(a, &c, &back);
    OP_CHECK_HAS(json, "\"response_types\":[\"code id_token\",\"code\"]");
    OP_CHECK_HAS(json, "\"grant_types\":[\"authorization_code\",\"implicit\",\"refresh_token\"]");
    OP_CHECK_HAS(json, "\"software_id\":\"sw-1\",\"client_name#fr\":\"Complet\","
                       "\"x_nested\":{\"a\":[1,2.5,null,\"z\"]}}");
    OP_CHECK_STR(back.client_name, c.client_name);
    OP_CHECK_STR(back.tos_uri, "https://app.example/tos");
    OP_CHECK_INT(back.subject_type, OP_CLIENT_SUB_PAIRWISE);
    OP_CHECK(back.require_auth_time);
    OP_CHECK_STR(back.sector_id, "app.example");
    op_arena_free(a);
}

/* Each rule, with a message naming the client and the field. */
static void test_validation_rules(void)
{
    static const struct {
        const char *json;
        const char *want;
    } cases[] = {
        /* client_id */
        {"{" SEC RU "}", "client: client_id: required"},
        {"{\"client_id\":7}", "client: client_id: must be a string"},
        {"{\"client_id\":\"\"}", "client: client_id: must be 1 to 128 printable ASCII "
                                 "characters without spaces"},
        {"{\"client_id\":\"a b\"}", "client: client_id: must be 1 to 128"},
        {"{\"client_id\":\"\\u00e9\"}", "client: client_id: must be 1 to 128"},
        {"{\"client_id\":\"\\t\"}", "client: client_id: must be 1 to 128"},
        {"[]", "client: must be a JSON object"},
        /* types */
        {"{" ID SEC "\"redirect_uris\":\"https://a.example/cb\"}",
         "client \"c\": redirect_uris: must be an array of strings"},
        {"{" ID SEC "\"contacts\":[1]," RU "}", "client \"c\": contacts[0]: must be a string"},
        {WEB(",\"require_auth_time\":\"yes\""),
         "client \"c\": require_auth_time: must be true or false"},
        {WEB(",\"default_max_age\":1.5"), "client \"c\": default_max_age: must be an integer"},
        {WEB(",\"default_max_age\":\"10\""), "client \"c\": default_max_age: must be an integer"},
        {WEB(",\"default_max_age\":-1"),
         "client \"c\": default_max_age: must be 0 to 2147483647 seconds"},
        {WEB(",\"default_max_age\":2147483648"), "client \"c\": default_max_age: must be 0 to"},
        {WEB(",\"client_name\":null"), "client \"c\": client_name: must be a string"},
        /* redirect URIs */
        {"{" ID SEC "\"redirect_uris\":[\"https://a.example/cb\",\"https://a.example/cb#x\"]}",
         "client \"c\": redirect_uris[1]: must not have a fragment"},
        {"{" ID SEC "\"redirect_uris\":[\"/cb\"]}",
         "client \"c\": redirect_uris[0]: must be an absolute URI"},
        {"{" ID SEC "\"redirect_uris\":[\"https://u:p@a.example/cb\"]}",
         "client \"c\": redirect_uris[0]: must not contain user info"},
        {"{" ID SEC "\"redirect_uris\":[\"https://a.example/cb?state=1\"]}",
         "client \"c\": redirect_uris[0]: must not have a \"state\" query parameter"},
        {"{" ID SEC "\"redirect_uris\":[\"https://a.example/cb?a=1&code\"]}",
         "redirect_uris[0]: must not have a \"code\" query parameter"},
        {"{" ID SEC "\"redirect_uris\":[\"https://a.example/cb?response=x\"]}",
         "redirect_uris[0]: must not have a \"response\" query parameter"},
        {"{" ID SEC "\"redirect_uris\":[\"http://a.example/cb\"]}",
         "client \"c\": redirect_uris[0]: web clients must use https (http only with a "
         "loopback host)"},
        {"{" ID SEC "\"redirect_uris\":[\"com.example.app:/cb\"]}",
         "redirect_uris[0]: web clients must use https"},
        {"{" ID SEC "\"redirect_uris\":[\"https:/cb\"]}", "redirect_uris[0]: must have a host"},
        {"{" ID SEC "\"grant_types\":[\"authorization_code\",\"implicit\"],"
         "\"redirect_uris\":[\"http://127.0.0.1/cb\"]}",
         "client \"c\": redirect_uris[0]: web clients using the implicit grant must use https "
         "and not localhost"},
        {"{" ID SEC "\"grant_types\":[\"implicit\"],\"response_types\":[\"id_token\"],"
         "\"redirect_uris\":[\"https://localhost/cb\"]}",
         "redirect_uris[0]: web clients using the implicit grant must use https and not localhost"},
        {"{" ID SEC "\"application_type\":\"native\",\"redirect_uris\":[\"http://localhost/cb\"]}",
         "client \"c\": redirect_uris[0]: native clients may use http only with a loopback "
         "IP (127.0.0.1 or [::1]), not localhost"},
        {"{" ID SEC "\"application_type\":\"native\",\"redirect_uris\":[\"http://a.example/\"]}",
         "redirect_uris[0]: native clients may use http only with a loopback IP"},
        {"{" ID SEC "\"application_type\":\"native\",\"redirect_uris\":[\"myapp:/cb\"]}",
         "client \"c\": redirect_uris[0]: a custom scheme must be reverse-DNS style"},
        /* grant and response types */
        {WEB(",\"grant_types\":[\"authorization_code\",\"foo\"]"),
         "client \"c\": grant_types[1]: unknown grant type \"foo\""},
        {WEB(",\"grant_types\":[\"authorization_code\",\"authorization_code\"]"),
         "client \"c\": grant_types[1]: repeated"},
        {WEB(",\"grant_types\":[]"), "client \"c\": grant_types: must not be empty"},
        {WEB(",\"response_types\":[\"code  id_token\"]"),
         "client \"c\": response_types[0]: unknown response type \"code  id_token\""},
        {WEB(",\"response_types\":[\"code none\"]"), "response_types[0]: unknown response type"},
        {WEB(",\"response_types\":[\"code\",\"device\"]"),
         "response_types[1]: unknown response type \"device\""},
        {WEB(",\"grant_types\":[\"authorization_code\",\"implicit\"],"
             "\"response_types\":[\"code id_token\",\"id_token code\"]"),
         "client \"c\": response_types[1]: repeated"},
        {WEB(",\"grant_types\":[\"implicit\"],\"response_types\":[\"code\"]"),
         "client \"c\": response_types[0]: \"code\" needs the authorization_code grant type"},
        {WEB(",\"response_types\":[\"code\",\"code token\"]"),
         "client \"c\": response_types[1]: \"code token\" needs the implicit grant type"},
        {WEB(",\"grant_types\":[\"refresh_token\"]"),
         "client \"c\": response_types: the default [\"code\"] needs the authorization_code "
         "grant type"},
        {"{" ID SEC "\"grant_types\":[\"authorization_code\"]}",
         "client \"c\": redirect_uris: at least one is required for the authorization_code "
         "and implicit grants"},
        {"{" ID SEC "\"grant_types\":[\"implicit\"],\"response_types\":[\"token\"],"
         "\"redirect_uris\":[]}",
         "client \"c\": redirect_uris: at least one is required"},
        /* client authentication */
        {WEB(",\"token_endpoint_auth_method\":\"secret\""),
         "client \"c\": token_endpoint_auth_method: unknown value \"secret\" (use "
         "client_secret_basic, client_secret_post"},
        {"{" ID RU "}", "client \"c\": client_secret: required for client_secret_basic"},
        {"{" ID RU ",\"token_endpoint_auth_method\":\"client_secret_post\"}",
         "client \"c\": client_secret: required for client_secret_post"},
        {"{" ID "\"client_secret\":\"\"," RU "}", "client \"c\": client_secret: must not be empty"},
        {WEB(",\"token_endpoint_auth_method\":\"none\""),
         "client \"c\": client_secret: must not be set for a public client"},
        /* other members */
        {WEB(",\"logo_uri\":\"ftp://a.example/l.png\""),
         "client \"c\": logo_uri: must be an absolute http(s) URL"},
        {WEB(",\"client_uri\":\"/home\""), "client \"c\": client_uri: must be an absolute"},
        {WEB(",\"policy_uri\":\"https://a.example:0/\""), "client \"c\": policy_uri: must be"},
        {WEB(",\"tos_uri\":\"mailto:x@a.example\""), "client \"c\": tos_uri: must be"},
        {WEB(",\"application_type\":\"desktop\""),
         "client \"c\": application_type: unknown value \"desktop\" (use web, native)"},
        {WEB(",\"subject_type\":\"secret\""),
         "client \"c\": subject_type: unknown value \"secret\" (use public, pairwise)"},
        {WEB(",\"id_token_signed_response_alg\":\"none\""),
         "client \"c\": id_token_signed_response_alg: unsupported algorithm \"none\""},
        {WEB(",\"userinfo_signed_response_alg\":\"HS256\""),
         "client \"c\": userinfo_signed_response_alg: unsupported algorithm \"HS256\""},
        {WEB(",\"code_challenge_method\":\"plain\""),
         "client \"c\": code_challenge_method: must be S256 (plain is not supported)"},
        {WEB(",\"scope\":\"openid  email\""),
         "client \"c\": scope: must be scope tokens separated by single spaces"},
        {WEB(",\"scope\":\"openid\\\"\""), "client \"c\": scope: must be scope tokens"},
        {WEB(",\"scope\":\"\""), "client \"c\": scope: must be scope tokens"},
    };
    op_arena_t *a = arena();
    for (size_t i = 0; i < OP_NELEMS(cases); i++) {
        op_err_t err;

        parse_fails(a, i, cases[i].json, cases[i].want, &err);
        /* The message starts with the client. */
        OP_CHECK(strncmp(err.description, "client", 6) == 0);
        OP_CHECK(strstr(err.description, "s3cret") == NULL);
    }
    op_arena_free(a);
}

/* URIs that must be accepted. */
static void test_good_redirects(void)
{
    static const char *const ok[] = {
        WEB(""),
        "{" ID SEC "\"redirect_uris\":[\"http://127.0.0.1:8080/cb\",\"http://localhost/cb\","
        "\"http://[::1]/cb\",\"https://a.example/cb?codex=1&states=2\"]}",
        "{" ID SEC "\"application_type\":\"native\",\"redirect_uris\":[\"com.example.app:/cb\","
        "\"http://127.0.0.1:51004/cb\",\"http://[::1]/cb\",\"https://app.example/cb\"],"
        "\"grant_types\":[\"authorization_code\",\"implicit\"],"
        "\"response_types\":[\"code\",\"code id_token token\"]}",
        "{" ID "\"token_endpoint_auth_method\":\"none\"," RU "}",
        "{" ID SEC RU ",\"token_endpoint_auth_method\":\"client_secret_post\"}",
        "{" ID SEC "\"grant_types\":[\"implicit\"],\"response_types\":[\"id_token token\","
        "\"none\"],\"redirect_uris\":[\"https://a.example/cb\"]}",
    };
    op_arena_t *a = arena();
    for (size_t i = 0; i < OP_NELEMS(ok); i++) {
        op_client_t c, back;
        parse_ok(a, ok[i], &c);
        round_trip(a, &c, &back);
    }
    op_arena_free(a);
}

static void test_response_type_and_grant_parse(void)
{
    unsigned rt = 0;
    OP_CHECK(op_client_response_type_parse("id_token code", 13, &rt));
    OP_CHECK_INT(rt, OP_CLIENT_RT_CODE | OP_CLIENT_RT_ID_TOKEN);
    OP_CHECK(op_client_response_type_parse("token id_token code", 19, &rt));
    OP_CHECK_INT(rt, OP_CLIENT_RT_CODE | OP_CLIENT_RT_ID_TOKEN | OP_CLIENT_RT_TOKEN);
    OP_CHECK(op_client_response_type_parse("none", 4, &rt));
    OP_CHECK_INT(rt, OP_CLIENT_RT_NONE);
    OP_CHECK(!op_client_response_type_parse("", 0, &rt));
    OP_CHECK(!op_client_response_type_parse(" code", 5, &rt));
    OP_CHECK(!op_client_response_type_parse("code ", 5, &rt));
    OP_CHECK(!op_client_response_type_parse("code code", 9, &rt));
    OP_CHECK(!op_client_response_type_parse("none code", 9, &rt));
    OP_CHECK(!op_client_response_type_parse("Code", 4, &rt));
    OP_CHECK_INT(op_client_grant_parse("refresh_token", 13), OP_CLIENT_GRANT_REFRESH_TOKEN);
    OP_CHECK_INT(op_client_grant_parse("urn:openid:params:grant-type:ciba", 33),
                 OP_CLIENT_GRANT_CIBA);
    OP_CHECK_INT(op_client_grant_parse("refresh_tokens", 14), 0);
    OP_CHECK_INT(op_client_grant_parse("", 0), 0);
}

static void test_clients_file_rules(void)
{
    static const struct {
        const char *text;
        const char *want;
    } cases[] = {
        {"[" WEB("") "," WEB("") "]",
         "f.json: client \"c\": client_id: repeated (also clients[0])"},
        {"{" ID SEC RU "}", "f.json: must be a JSON array of client objects"},
        {"[" WEB("") ",3]", "f.json: clients[1]: must be a JSON object"},
        {"[{" SEC RU "}]", "f.json: clients[0]: client_id: required"},
        {"[" WEB(",\"tos_uri\":\"x\"") "]", "f.json: client \"c\": tos_uri: must be"},
        {"[" WEB("") ",]", "f.json: "},
        {"[{\"client_id\":\"a\",\"client_id\":\"b\"}]", "f.json: "},
        {"[/* comment */]", "f.json: "},
    };
    op_arena_t *a = arena();
    for (size_t i = 0; i < OP_NELEMS(cases); i++) {
        op_client_t *cl = NULL;
        size_t n = 7;
        op_err_t err;
        op_err_clear(&err);
        int rc =
            op_client_parse_all(a, cases[i].text, strlen(cases[i].text), "f.json", &cl, &n, &err);
        if (rc >= 0 || strstr(err.description, cases[i].want) == NULL)
            fprintf(stderr, "case %zu -> %d %s\n", i, rc, err.description);
        OP_CHECK(rc < 0);
        OP_CHECK(cl == NULL && n == 0);
        OP_CHECK(strncmp(err.description, cases[i].want, strlen(cases[i].want)) == 0);
    }
    /* An empty array is a valid file with no client. */
    op_client_t *cl = NULL;
    size_t n = 7;
    op_err_t err;
    OP_CHECK_INT(op_client_parse_all(a, "[]", 2, "f.json", &cl, &n, &err), OP_OK);
    OP_CHECK_INT(n, 0);
    op_arena_free(a);
}

/* Nesting and size limits of the clients file. */
static void test_clients_file_limits(void)
{
    op_arena_t *a = arena();
    char deep[256];
    size_t o = (size_t)snprintf(deep, sizeof(deep), "[{" ID SEC RU ",\"x\":");
    for (int i = 0; i < 15; i++)
        deep[o++] = '[';
    for (int i = 0; i < 15; i++)
        deep[o++] = ']';
    deep[o++] = '}';
    deep[o++] = ']';
    deep[o] = '\0';
    op_client_t *cl = NULL;
    size_t n = 0;
    op_err_t err;
    op_err_clear(&err);
    OP_CHECK(op_client_parse_all(a, deep, o, "deep.json", &cl, &n, &err) < 0);
    OP_CHECK_HAS(err.description, "deep.json: ");
    size_t big_len = OP_CLIENT_FILE_MAX + 16;
    char *big = malloc(big_len + 1);
    OP_CHECK(big != NULL);
    memset(big, ' ', big_len);
    memcpy(big, "[]", 2);
    big[big_len] = '\0';
    OP_CHECK(op_client_parse_all(a, big, big_len, "big.json", &cl, &n, &err) < 0);
    free(big);
    op_arena_free(a);
}

static void test_clients_load_file_errors(void)
{
    op_arena_t *a = arena();
    op_client_t *cl = NULL;
    size_t n = 0;
    op_err_t err;
    op_err_clear(&err);
    OP_CHECK_INT(op_client_load_file("tests/data/clients/missing.json", a, &cl, &n, &err),
                 OP_EINVAL);
    OP_CHECK_HAS(err.description, "tests/data/clients/missing.json: cannot open:");
    OP_CHECK_INT(op_client_load_file("tests/data/clients/duplicate.json", a, &cl, &n, &err),
                 OP_EINVAL);
    OP_CHECK_STR(err.description, "tests/data/clients/duplicate.json: client \"app-1\": "
                                  "client_id: repeated (also clients[0])");
    OP_CHECK(cl == NULL && n == 0);
    op_arena_free(a);
}

/* ---- metadata honoured or refused ---------------------------------------- */

/* RFC 7591 §2 and OIDC Registration §2: metadata the server does not
 * implement is refused at load with a clear error, never kept as an
 * unknown member and ignored. */
static void test_refused_metadata(void)
{
    static const char *const members[] = {
        "\"sector_identifier_uri\":\"https://app.example/sector.json\"",
        "\"jwks\":{\"keys\":[]}",
        "\"jwks_uri\":\"https://app.example/jwks\"",
        "\"software_statement\":\"a.b.c\"",
        "\"request_uris\":[\"https://app.example/r\"]",
        "\"request_object_signing_alg\":\"RS256\"",
        "\"require_signed_request_object\":true",
        "\"token_endpoint_auth_signing_alg\":\"RS256\"",
        "\"id_token_encrypted_response_alg\":\"RSA-OAEP-256\"",
        "\"id_token_encrypted_response_enc\":\"A256GCM\"",
        "\"userinfo_encrypted_response_alg\":\"RSA-OAEP-256\"",
        "\"userinfo_encrypted_response_enc\":\"A256GCM\"",
        "\"authorization_signed_response_alg\":\"RS256\"",
        "\"introspection_signed_response_alg\":\"RS256\"",
        "\"tls_client_auth_subject_dn\":\"CN=app\"",
        "\"tls_client_certificate_bound_access_tokens\":true",
        "\"dpop_bound_access_tokens\":true",
        "\"post_logout_redirect_uris\":[\"https://app.example/bye\"]",
        "\"backchannel_logout_uri\":\"https://app.example/bc\"",
        "\"frontchannel_logout_uri\":\"https://app.example/fc\"",
        "\"backchannel_logout_session_required\":false",
        "\"backchannel_token_delivery_mode\":\"poll\"",
    };
    op_arena_t *a = arena();
    for (size_t i = 0; i < OP_NELEMS(members); i++) {
        const char *json = op_arena_printf(a, "{" ID SEC RU ",%s}", members[i]);
        const char *name =
            op_arena_printf(a, "client \"c\": %.*s: not supported: ",
                            (int)(strchr(members[i] + 1, '"') - members[i] - 1), members[i] + 1);
        op_err_t err;

        parse_fails(a, i, json, name, &err);
    }
    static const struct {
        const char *json;
        const char *want;
    } cases[] = {
        /* Grant types the token endpoint does not serve. */
        {WEB(",\"grant_types\":[\"authorization_code\",\"client_credentials\"]"),
         "client \"c\": grant_types[1]: \"client_credentials\" is not supported"},
        {WEB(",\"grant_types\":[\"password\"]"), "grant_types[0]: \"password\" is not supported"},
        {WEB(",\"grant_types\":[\"urn:ietf:params:oauth:grant-type:jwt-bearer\"]"),
         "is not supported"},
        {WEB(",\"grant_types\":[\"urn:openid:params:grant-type:ciba\"]"), "is not supported"},
        /* Client authentication methods the token endpoint does not
         * implement. */
        {WEB(",\"token_endpoint_auth_method\":\"private_key_jwt\""),
         "client \"c\": token_endpoint_auth_method: \"private_key_jwt\" is not supported "
         "(client_secret_basic, client_secret_post and none are)"},
        {WEB(",\"token_endpoint_auth_method\":\"client_secret_jwt\""),
         "\"client_secret_jwt\" is not supported"},
        {WEB(",\"token_endpoint_auth_method\":\"tls_client_auth\""),
         "\"tls_client_auth\" is not supported"},
        {WEB(",\"token_endpoint_auth_method\":\"self_signed_tls_client_auth\""),
         "\"self_signed_tls_client_auth\" is not supported"},
        /* RFC 9126 §6: PAR is not implemented. */
        {WEB(",\"require_pushed_authorization_requests\":true"),
         "client \"c\": require_pushed_authorization_requests: not supported until pushed "
         "authorisation requests (RFC 9126) are implemented"},
        /* OIDC Core §8.1: the sector identifier is the redirect URIs' host. */
        {"{" ID SEC "\"subject_type\":\"pairwise\",\"redirect_uris\":[\"https://a.example/cb\","
         "\"https://b.example/cb\"]}",
         "client \"c\": redirect_uris[1]: a pairwise client's redirect URIs must share one host"},
        {"{" ID SEC "\"subject_type\":\"pairwise\",\"application_type\":\"native\","
         "\"redirect_uris\":[\"com.example.app:/cb\"]}",
         "client \"c\": redirect_uris[0]: pairwise needs a host in every redirect URI"},
        {"{" ID SEC "\"subject_type\":\"pairwise\",\"grant_types\":[\"refresh_token\"],"
         "\"response_types\":[]}",
         "client \"c\": subject_type: pairwise needs redirect_uris"},
    };
    for (size_t i = 0; i < OP_NELEMS(cases); i++) {
        op_err_t err;

        parse_fails(a, i, cases[i].json, cases[i].want, &err);
    }
    /* require_pushed_authorization_requests false asks nothing. */
    op_client_t c;
    parse_ok(a, WEB(",\"require_pushed_authorization_requests\":false"), &c);
    op_arena_free(a);
}

/* The server configuration with the pairwise key set or not, and algs
 * (NULL, or a TESSERA_OP_ID_TOKEN_JWS_ALGS=... variable). */
static op_config_t *config(bool pairwise, char *algs)
{
    static char key[] = "TESSERA_OP_SUBJECT_PAIRWISE_KEY="
                        "{\"kty\":\"oct\",\"k\":\"Pw8Yc2FsdC1mb3ItcGFpcndpc2Utc3ViamVjdHMtMDE\"}";
    char *env[3] = {NULL, NULL, NULL};
    size_t k = 0;
    if (pairwise)
        env[k++] = key;
    if (algs != NULL)
        env[k++] = algs;
    op_config_t *cfg = NULL;
    op_err_t err;
    op_err_clear(&err);
    int rc = op_config_load("examples/tessera.properties", env, &cfg, &err);
    if (rc != OP_OK)
        fprintf(stderr, "%s\n", err.description);
    OP_CHECK_INT(rc, OP_OK);
    return cfg;
}

/* OIDC Core §8.1: sub = a keyed hash of (sector identifier, local
 * subject): the same for clients of one sector, different across
 * sectors and subjects, not the local subject; public clients get the
 * local subject (§8). */
static void test_pairwise_sub(void)
{
    op_arena_t *a = arena();
    op_config_t *cfg = config(true, NULL);
    op_client_t *cl = NULL;
    size_t n = 0;
    op_err_t err;
    op_err_clear(&err);
    OP_CHECK_INT(op_client_load_file("tests/data/clients/pairwise.json", a, &cl, &n, &err), OP_OK);
    OP_CHECK_INT(n, 2);
    OP_CHECK_STR(cl[0].sector_id, "rp.example"); /* hosts compare without case */
    OP_CHECK_INT(op_client_check_config(cl, n, cfg, &err), OP_OK);
    op_client_t other, pub;
    parse_ok(a,
             "{" ID SEC "\"subject_type\":\"pairwise\",\"redirect_uris\":[\"https://other.example/"
             "cb\"]}",
             &other);
    parse_ok(a, WEB(""), &pub);
    const char *s1 = op_client_sub(&cl[0], cfg, "alice", a);
    const char *s2 = op_client_sub(&cl[1], cfg, "alice", a);
    const char *s3 = op_client_sub(&other, cfg, "alice", a);
    const char *s4 = op_client_sub(&cl[0], cfg, "bob", a);
    OP_CHECK(s1 != NULL && s2 != NULL && s3 != NULL && s4 != NULL);
    OP_CHECK_INT(strlen(s1), 43); /* base64url of 32 bytes */
    OP_CHECK_STR(s1, s2);
    OP_CHECK(strcmp(s1, s3) != 0 && strcmp(s1, s4) != 0 && strcmp(s1, "alice") != 0);
    OP_CHECK_STR(op_client_sub(&cl[0], cfg, "alice", a), s1); /* stable */
    OP_CHECK_STR(op_client_sub(&pub, cfg, "alice", a), "alice");
    /* Length prefixes: moving bytes between sector and subject changes it. */
    op_client_t shift = other;
    shift.sector_id = "other.exampl";
    OP_CHECK(strcmp(op_client_sub(&shift, cfg, "ealice", a), s3) != 0);
    /* Another key, other identifiers. */
    op_config_t *nokey = config(false, NULL);
    OP_CHECK(op_client_sub(&cl[0], nokey, "alice", a) == NULL);
    op_config_release(nokey);
    op_config_release(cfg);
    op_arena_free(a);
}

/* Clients against the configuration: a pairwise client needs
 * op.subject.pairwiseKey; signing algorithms must be among those
 * discovery advertises (OIDC Discovery §3, OIDC Registration §2). */
static void test_check_config(void)
{
    op_arena_t *a = arena();
    static char rs256[] = "TESSERA_OP_ID_TOKEN_JWS_ALGS=RS256";
    op_config_t *nokey = config(false, rs256);
    op_client_t c[2];
    op_err_t err;
    op_err_clear(&err);
    parse_ok(a, WEB(""), &c[0]);
    parse_ok(a, WEB(",\"subject_type\":\"pairwise\""), &c[1]);
    OP_CHECK_INT(op_client_check_config(c, 1, nokey, &err), OP_OK);
    OP_CHECK_INT(op_client_check_config(c, 2, nokey, &err), OP_EINVAL);
    OP_CHECK_STR(err.description, "client \"c\": subject_type: pairwise needs "
                                  "op.subject.pairwiseKey (OIDC Core §8.1)");
    parse_ok(a, WEB(",\"id_token_signed_response_alg\":\"ES256\""), &c[1]);
    OP_CHECK_INT(op_client_check_config(c, 2, nokey, &err), OP_EINVAL);
    OP_CHECK_STR(err.description, "client \"c\": id_token_signed_response_alg: ES256 is not "
                                  "among op.idToken.jwsAlgs");
    parse_ok(a, WEB(",\"userinfo_signed_response_alg\":\"EdDSA\""), &c[1]);
    OP_CHECK_INT(op_client_check_config(c, 2, nokey, &err), OP_EINVAL);
    OP_CHECK_HAS(err.description, "userinfo_signed_response_alg: EdDSA is not among");
    parse_ok(a, WEB(",\"userinfo_signed_response_alg\":\"RS256\""), &c[1]);
    OP_CHECK_INT(op_client_check_config(c, 2, nokey, &err), OP_OK);
    op_config_release(nokey);
    /* One key, one purpose: the key store's key is refused as the
     * pairwise key. */
    static char same[] = "TESSERA_OP_SUBJECT_PAIRWISE_KEY="
                         "{\"kty\":\"oct\",\"k\":\"iQu5CCf-M7DUFBf2yynYqsuxZxl9-9Ai-4peGR9NqUY\"}";
    char *env[] = {same, NULL};
    op_config_t *bad = NULL;
    OP_CHECK_INT(op_config_load("examples/tessera.properties", env, &bad, &err), OP_EINVAL);
    OP_CHECK_HAS(err.description, "op.subject.pairwiseKey: must not be the key of keyStore.encJWK");
    OP_CHECK(strstr(err.description, "iQu5") == NULL);
    op_arena_free(a);
}

/* RFC 8252 §7.3: a native client's loopback IP redirect URI matches at
 * any port; path and query still exactly. §8.3: "localhost" is no IP
 * literal, so it matches exactly only. Web clients, https and custom
 * schemes: exact string comparison (RFC 6749 §3.1.2.3, OIDC Core
 * §3.1.2.1). */
static void test_redirect_match(void)
{
    op_arena_t *a = arena();
    op_client_t native, web;
    parse_ok(a,
             "{" ID SEC "\"application_type\":\"native\",\"redirect_uris\":["
             "\"http://127.0.0.1/cb\",\"http://[::1]:8080/cb?x=1\",\"com.example.app:/cb\","
             "\"https://app.example/cb\"]}",
             &native);
    parse_ok(a, "{" ID SEC "\"redirect_uris\":[\"http://127.0.0.1/cb\",\"http://localhost/cb\"]}",
             &web);
    static const char *const native_ok[] = {
        "http://127.0.0.1/cb",       "http://127.0.0.1:51004/cb", "http://127.0.0.1:1/cb",
        "http://127.0.0.1:65535/cb", "http://[::1]:8080/cb?x=1",  "http://[::1]/cb?x=1",
        "http://[::1]:49152/cb?x=1", "com.example.app:/cb",       "https://app.example/cb",
    };
    static const char *const native_bad[] = {
        "http://127.0.0.1:51004/cb/",    /* path */
        "http://127.0.0.1:51004/CB",     /* path, case */
        "http://127.0.0.1:51004/cb?x=1", /* query */
        "http://[::1]:49152/cb",         /* query missing */
        "http://[::1]:49152/cb?x=2",     /* query */
        "http://127.0.0.2:51004/cb",     /* another host */
        "http://[::1]:51004/cb",         /* another host (and query) */
        "http://localhost:51004/cb",     /* not an IP literal (§8.3) */
        "https://127.0.0.1:51004/cb",    /* https: exact */
        "https://app.example:8443/cb",   /* https: exact */
        "http://u@127.0.0.1:51004/cb",   /* user info */
        "http://127.0.0.1:51004/cb#f",   /* fragment */
        "http://127.0.0.1:0/cb",         /* no such port */
        "http://127.0.0.1:/cb",          /* empty port */
        "http://127.0.0.1:99999/cb",     /* no such port */
        "http://127.0.0.1:51004",        /* no path */
        "http://127.0.0.1:51004cb",      /* malformed */
        "HTTP://127.0.0.1:51004/cb",     /* scheme, as written */
        "com.example.app:/cb2",          /* custom scheme: exact */
        "",
    };
    for (size_t i = 0; i < OP_NELEMS(native_ok); i++) {
        if (!op_client_redirect_match(&native, native_ok[i], strlen(native_ok[i])))
            fprintf(stderr, "no match: %s\n", native_ok[i]);
        OP_CHECK(op_client_redirect_match(&native, native_ok[i], strlen(native_ok[i])));
    }
    for (size_t i = 0; i < OP_NELEMS(native_bad); i++) {
        if (op_client_redirect_match(&native, native_bad[i], strlen(native_bad[i])))
            fprintf(stderr, "matched: %s\n", native_bad[i]);
        OP_CHECK(!op_client_redirect_match(&native, native_bad[i], strlen(native_bad[i])));
    }
    /* A NUL inside the bytes never matches. */
    OP_CHECK(!op_client_redirect_match(&native, "http://127.0.0.1/cb\0x", 21));
    /* Web clients: exact, also for loopback and localhost. */
    OP_CHECK(op_client_redirect_match(&web, "http://127.0.0.1/cb", 19));
    OP_CHECK(op_client_redirect_match(&web, "http://localhost/cb", 19));
    OP_CHECK(!op_client_redirect_match(&web, "http://127.0.0.1:8080/cb", 24));
    OP_CHECK(!op_client_redirect_match(&web, "http://localhost:8080/cb", 24));
    op_arena_free(a);
}

/* The client behind a request lookup: the one arg points to. */
static const op_client_t *one_client(void *arg, const char *client_id)
{
    const op_client_t *c = arg;
    return strcmp(c->client_id, client_id) == 0 ? c : NULL;
}

/* OIDC Registration §2: default_max_age and default_acr_values stand in
 * for a request without max_age / acr_values, which override them. */
static void test_registration_defaults(void)
{
    op_arena_t *a = arena();
    op_client_t c;
    parse_ok(a, WEB(",\"default_max_age\":60,\"default_acr_values\":[\"urn:acr:gold\"]"), &c);
    op_authz_clients_t clients = {one_client, &c};
    static const struct {
        const char *query;
        int64_t max_age;
        const char *acr;
    } cases[] = {
        {"", 60, "urn:acr:gold"},
        {"&max_age=0", 0, "urn:acr:gold"},
        {"&max_age=3600&acr_values=urn:acr:silver", 3600, "urn:acr:silver"},
    };
    for (size_t i = 0; i < OP_NELEMS(cases); i++) {
        const char *q =
            op_arena_printf(a,
                            "response_type=code&client_id=c&redirect_uri=https%%3A%%2F%%2F"
                            "app.example%%2Fcb&scope=openid%s",
                            cases[i].query);
        op_authz_req_t r;
        op_authz_error_t e;
        OP_CHECK_INT(op_authz_req_parse(a, q, strlen(q), &clients, NULL, &r, &e), OP_OK);
        OP_CHECK_INT(r.max_age, cases[i].max_age);
        OP_CHECK_INT(r.acr_values.n, 1);
        OP_CHECK_STR(r.acr_values.items[0], cases[i].acr);
    }
    /* Without defaults, nothing is made up. */
    op_client_t plain;
    parse_ok(a, WEB(""), &plain);
    clients.arg = &plain;
    const char *q = "response_type=code&client_id=c&redirect_uri=https%3A%2F%2Fapp.example%2Fcb";
    op_authz_req_t r;
    op_authz_error_t e;
    OP_CHECK_INT(op_authz_req_parse(a, q, strlen(q), &clients, NULL, &r, &e), OP_OK);
    OP_CHECK_INT(r.max_age, -1);
    OP_CHECK_INT(r.acr_values.n, 0);
    op_arena_free(a);
}

/* n clients whose only member is a client_id "client-<i>", in a. */
static op_client_t *numbered_clients(op_arena_t *a, size_t n)
{
    op_client_t *cl = op_arena_calloc(a, n + 1, sizeof(*cl));
    OP_CHECK(cl != NULL);
    for (size_t i = 0; i < n; i++) {
        cl[i].client_id = op_arena_printf(a, "client-%zu", i);
        OP_CHECK(cl[i].client_id != NULL);
    }
    return cl;
}

/* Every registered client is found, as the same object; anything else is
 * not (client_id is compared exactly: RFC 6749 §2.2 makes it a string). */
static void test_registry_find(void)
{
    op_arena_t *a = arena();
    op_client_t *cl = NULL;
    size_t n = 0;
    op_err_t err;
    op_err_clear(&err);
    static const char text[] =
        "[" WEB("") ",{\"client_id\":\"Demo\",\"client_secret\":\"s\"," RU
                    "},{\"client_id\":\"c.2\",\"client_secret\":\"s\"," RU "}]";
    OP_CHECK_INT(op_client_parse_all(a, text, strlen(text), "t.json", &cl, &n, &err), OP_OK);
    op_client_registry_t *r = NULL;
    OP_CHECK_INT(op_client_registry_new(cl, n, a, &r, &err), OP_OK);
    OP_CHECK(r != NULL);
    OP_CHECK(op_client_registry_find(r, "c") == &cl[0]);
    OP_CHECK(op_client_registry_find(r, "Demo") == &cl[1]);
    OP_CHECK(op_client_registry_find(r, "c.2") == &cl[2]);
    static const char *const unknown[] = {"demo", "DEMO", "Dem", "Demo ", " c", "c.", "", "c.22"};
    for (size_t i = 0; i < OP_NELEMS(unknown); i++)
        OP_CHECK(op_client_registry_find(r, unknown[i]) == NULL);
    OP_CHECK(op_client_registry_find(r, NULL) == NULL);
    OP_CHECK(op_client_registry_find(NULL, "c") == NULL);
    /* A hostile client_id: longer than any registered one. */
    char longer[4096];
    memset(longer, 'c', sizeof(longer) - 1);
    longer[sizeof(longer) - 1] = '\0';
    OP_CHECK(op_client_registry_find(r, longer) == NULL);
    /* An empty registry. */
    OP_CHECK_INT(op_client_registry_new(NULL, 0, a, &r, &err), OP_OK);
    OP_CHECK(op_client_registry_find(r, "c") == NULL);
    op_arena_free(a);
}

/* Many clients: all found, none confused, and the table stays within
 * four pointers per client (at most half full, at most twice too big). */
static void test_registry_many(void)
{
    enum { N = 5000 };
    op_arena_t *a = arena();
    op_client_t *cl = numbered_clients(a, N);
    size_t before = op_arena_used(a);
    op_client_registry_t *r = NULL;
    op_err_t err;
    OP_CHECK_INT(op_client_registry_new(cl, N, a, &r, &err), OP_OK);
    OP_CHECK(op_arena_used(a) - before <= 4 * N * sizeof(void *) + 256);
    char id[32];
    for (size_t i = 0; i < N; i++) {
        snprintf(id, sizeof(id), "client-%zu", i);
        OP_CHECK(op_client_registry_find(r, id) == &cl[i]);
    }
    snprintf(id, sizeof(id), "client-%d", N);
    OP_CHECK(op_client_registry_find(r, id) == NULL);
    op_arena_free(a);
}

/* A repeated or missing client_id is refused with the indexes; so is an
 * arena too small for the table. */
static void test_registry_errors(void)
{
    op_arena_t *a = arena();
    op_client_t *cl = numbered_clients(a, 4);
    op_client_registry_t *r = NULL;
    op_err_t err;
    op_err_clear(&err);
    cl[3].client_id = "client-1";
    OP_CHECK_INT(op_client_registry_new(cl, 4, a, &r, &err), OP_EINVAL);
    OP_CHECK_STR(err.description, "client \"client-1\": client_id: repeated (also clients[1])");
    OP_CHECK(r == NULL);
    cl[3].client_id = NULL;
    OP_CHECK_INT(op_client_registry_new(cl, 4, a, &r, &err), OP_EINVAL);
    OP_CHECK_STR(err.description, "clients[3]: client_id: must be 1 to 128 bytes");
    cl[3].client_id = "";
    OP_CHECK_INT(op_client_registry_new(cl, 4, a, &r, &err), OP_EINVAL);
    char *longer = op_arena_alloc(a, OP_CLIENT_ID_MAX + 2);
    OP_CHECK(longer != NULL);
    memset(longer, 'x', OP_CLIENT_ID_MAX + 1);
    longer[OP_CLIENT_ID_MAX + 1] = '\0';
    cl[3].client_id = longer;
    OP_CHECK_INT(op_client_registry_new(cl, 4, a, &r, &err), OP_EINVAL);
    longer[OP_CLIENT_ID_MAX] = '\0';
    OP_CHECK_INT(op_client_registry_new(cl, 4, a, &r, &err), OP_OK);
    OP_CHECK(op_client_registry_find(r, longer) == &cl[3]);
    op_arena_t *tiny = op_arena_new(64);
    OP_CHECK(tiny != NULL);
    /* over the arena's cap: too big, not out of memory (core/base/op_mem.h) */
    OP_CHECK_INT(op_client_registry_new(cl, 4, tiny, &r, &err), OP_ETOOBIG);
    OP_CHECK(r == NULL);
    op_arena_free(tiny);
    op_arena_free(a);
}

/* Grant types, response types (RFC 7591 §2) and public clients
 * (RFC 6749 §2.1: token_endpoint_auth_method "none"). */
static void test_predicates(void)
{
    op_arena_t *a = arena();
    op_client_t web, pub, hybrid, m2m;
    parse_ok(a, WEB(""), &web);
    parse_ok(a, "{" ID "\"token_endpoint_auth_method\":\"none\"," RU "}", &pub);
    parse_ok(a,
             "{" ID SEC RU ",\"grant_types\":[\"authorization_code\",\"implicit\","
             "\"refresh_token\"],\"response_types\":[\"id_token code\",\"token\"]}",
             &hybrid);
    parse_ok(a, "{" ID SEC "\"grant_types\":[\"refresh_token\"],\"response_types\":[]}", &m2m);
    OP_CHECK(op_client_has_grant(&web, OP_CLIENT_GRANT_AUTHORIZATION_CODE));
    OP_CHECK(!op_client_has_grant(&web, OP_CLIENT_GRANT_REFRESH_TOKEN));
    OP_CHECK(!op_client_has_grant(&web, 0));
    OP_CHECK(op_client_has_grant(&hybrid, OP_CLIENT_GRANT_AUTHORIZATION_CODE |
                                              OP_CLIENT_GRANT_REFRESH_TOKEN));
    OP_CHECK(!op_client_has_grant(&hybrid, OP_CLIENT_GRANT_AUTHORIZATION_CODE |
                                               OP_CLIENT_GRANT_CLIENT_CREDENTIALS));
    OP_CHECK(op_client_has_grant(&m2m, OP_CLIENT_GRANT_REFRESH_TOKEN));
    OP_CHECK(op_client_has_response_type(&web, OP_CLIENT_RT_CODE));
    OP_CHECK(!op_client_has_response_type(&web, OP_CLIENT_RT_CODE | OP_CLIENT_RT_ID_TOKEN));
    OP_CHECK(op_client_has_response_type(&hybrid, OP_CLIENT_RT_CODE | OP_CLIENT_RT_ID_TOKEN));
    OP_CHECK(op_client_has_response_type(&hybrid, OP_CLIENT_RT_TOKEN));
    OP_CHECK(!op_client_has_response_type(&hybrid, OP_CLIENT_RT_CODE));
    OP_CHECK(!op_client_has_response_type(&hybrid, OP_CLIENT_RT_ID_TOKEN));
    OP_CHECK(!op_client_has_response_type(&m2m, OP_CLIENT_RT_CODE));
    OP_CHECK(!op_client_has_response_type(&m2m, 0));
    OP_CHECK(op_client_is_public(&pub));
    OP_CHECK(!op_client_is_public(&web));
    OP_CHECK(!op_client_is_public(&m2m));
    op_arena_free(a);
}

static const op_test_case_t cases[] = {
    {"demo_client_valid", test_demo_client_valid},
    {"defaults", test_defaults},
    {"round_trip_full", test_round_trip_full},
    {"validation_rules", test_validation_rules},
    {"good_redirects", test_good_redirects},
    {"response_type_and_grant_parse", test_response_type_and_grant_parse},
    {"clients_file_rules", test_clients_file_rules},
    {"clients_file_limits", test_clients_file_limits},
    {"clients_load_file_errors", test_clients_load_file_errors},
    {"registry_find", test_registry_find},
    {"registry_many", test_registry_many},
    {"registry_errors", test_registry_errors},
    {"predicates", test_predicates},
    {"refused_metadata_rfc7591_s2", test_refused_metadata},
    {"pairwise_sub_oidc_core_s8_1", test_pairwise_sub},
    {"check_config_oidc_discovery_s3", test_check_config},
    {"redirect_match_rfc8252_s7_3", test_redirect_match},
    {"registration_defaults_oidc_reg_s2", test_registration_defaults},
};

OP_TEST_MAIN(cases)
