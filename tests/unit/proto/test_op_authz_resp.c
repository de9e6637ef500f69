/*
 * tests/unit/proto/test_op_authz_resp.c - the final authorisation response
 * (core/proto/op_authz_resp.c): redirect URIs for query and fragment, form_post
 * fields, error responses, and the "response" message members.
 */
#include "core/proto/op_authz_resp.h"
#include "tests/unit/op_test.h"

#define ISS "https://op.example"

static op_arena_t *arena;

static void setup(void)
{
    arena = op_arena_new(1u << 20);
    OP_CHECK(arena != NULL);
}

static void teardown(void)
{
    op_arena_free(arena);
    arena = NULL;
}

/* A request as the parser leaves it, for what the builder reads. */
static op_authz_req_t request(const char *redirect_uri, op_authz_mode_t mode, const char *state)
{
    op_authz_req_t r;

    memset(&r, 0, sizeof(r));
    r.redirect_uri = redirect_uri;
    r.response_mode = mode;
    r.state = state;
    return r;
}

/* The members op_authz_resp_write adds, inside an object of our own. */
static const char *written(const op_authz_resp_t *resp)
{
    op_json_w_t *w = op_json_w_new(arena, false);
    const char *out = NULL;

    OP_CHECK(w != NULL);
    op_json_w_obj_open(w);
    op_authz_resp_write(resp, w);
    op_json_w_kstr(w, "sub_sid", "caller-added");
    op_json_w_obj_close(w);
    OP_CHECK_INT(op_json_w_finish(w, &out, NULL, NULL), OP_OK);
    return out;
}

static void test_redirects(void)
{
    static const op_authz_param_t code[] = {{"code", "SplxlOBeZQQYbYS6WxSbIA"}};
    static const op_authz_param_t implicit[] = {{"access_token", "2YotnFZFEjr1zCsicMWpAA"},
                                                {"token_type", "Bearer"},
                                                {"expires_in", "3600"},
                                                {"id_token", "eyJ.eyJ.sig"}};
    static const struct {
        const char *redirect_uri;
        op_authz_mode_t mode;
        const char *state;
        const op_authz_param_t *params;
        size_t n;
        const char *uri;
    } rows[] = {
        /* RFC 6749 §4.1.2 + RFC 9207 §2: code, state, iss in the query */
        {"https://client.example/cb", OP_AUTHZ_MODE_QUERY, "xyz", code, 1,
         "https://client.example/cb?code=SplxlOBeZQQYbYS6WxSbIA&state=xyz"
         "&iss=https%3A%2F%2Fop.example"},
        /* RFC 6749 §3.1.2: the registered query is kept, ours appended */
        {"https://client.example/cb?tenant=a%20b", OP_AUTHZ_MODE_QUERY, "xyz", code, 1,
         "https://client.example/cb?tenant=a%20b&code=SplxlOBeZQQYbYS6WxSbIA&state=xyz"
         "&iss=https%3A%2F%2Fop.example"},
        {"https://client.example/cb?", OP_AUTHZ_MODE_QUERY, NULL, code, 1,
         "https://client.example/cb?code=SplxlOBeZQQYbYS6WxSbIA&iss=https%3A%2F%2Fop.example"},
        {"https://client.example/cb?a=1&", OP_AUTHZ_MODE_QUERY, NULL, code, 1,
         "https://client.example/cb?a=1&code=SplxlOBeZQQYbYS6WxSbIA"
         "&iss=https%3A%2F%2Fop.example"},
        /* RFC 6749 §4.1.2: no state in the request, none in the response */
        {"http://127.0.0.1:9999/callback", OP_AUTHZ_MODE_QUERY, NULL, code, 1,
         "http://127.0.0.1:9999/callback?code=SplxlOBeZQQYbYS6WxSbIA"
         "&iss=https%3A%2F%2Fop.example"},
        /* RFC 6749 §4.2.2, OIDC Core §3.2.2.5: fragment, in the given order */
        {"https://client.example/cb", OP_AUTHZ_MODE_FRAGMENT, "af0ifjsldkj", implicit, 4,
         "https://client.example/cb#access_token=2YotnFZFEjr1zCsicMWpAA&token_type=Bearer"
         "&expires_in=3600&id_token=eyJ.eyJ.sig&state=af0ifjsldkj&iss=https%3A%2F%2Fop.example"},
        /* Multiple Response Types §2.1: the query stays, the fragment follows */
        {"https://client.example/cb?tenant=1", OP_AUTHZ_MODE_FRAGMENT, NULL, code, 1,
         "https://client.example/cb?tenant=1#code=SplxlOBeZQQYbYS6WxSbIA"
         "&iss=https%3A%2F%2Fop.example"},
        /* RFC 3986 §2.1: state with characters that need escaping */
        {"https://client.example/cb", OP_AUTHZ_MODE_QUERY, "a b&c=d/\xc3\xa9#+%?", code, 1,
         "https://client.example/cb?code=SplxlOBeZQQYbYS6WxSbIA"
         "&state=a%20b%26c%3Dd%2F%C3%A9%23%2B%25%3F&iss=https%3A%2F%2Fop.example"},
        /* Multiple Response Types §4: none, only state and iss */
        {"https://client.example/cb", OP_AUTHZ_MODE_QUERY, "s", NULL, 0,
         "https://client.example/cb?state=s&iss=https%3A%2F%2Fop.example"},
    };
    setup();
    for (size_t i = 0; i < OP_NELEMS(rows); i++) {
        op_authz_req_t r = request(rows[i].redirect_uri, rows[i].mode, rows[i].state);
        op_authz_resp_t resp;
        op_err_t err;

        OP_CHECK_INT(op_authz_resp_build(arena, &r, ISS, rows[i].params, rows[i].n, &resp, &err),
                     OP_OK);
        OP_CHECK_INT(resp.mode, rows[i].mode);
        OP_CHECK_STR(resp.uri, rows[i].uri);
        OP_CHECK(resp.form == NULL && resp.n_form == 0);
    }
    teardown();
}

/* The escaped parameters read back to the same values (RFC 3986 §2.1). */
static void test_round_trip(void)
{
    static const char state[] = "\xe2\x9c\x93 <script>\"'&=;%00";
    op_authz_req_t r = request("https://client.example/cb", OP_AUTHZ_MODE_QUERY, state);
    op_authz_param_t p[] = {{"code", "a+b/c=="}};
    op_authz_resp_t resp;
    op_params_t back;
    op_err_t err;

    setup();
    OP_CHECK_INT(op_authz_resp_build(arena, &r, "https://op.example/tenant?x", p, 1, &resp, &err),
                 OP_OK);
    const char *q = strchr(resp.uri, '?') + 1;
    OP_CHECK_INT(op_params_parse(arena, q, strlen(q), NULL, &back, &err), OP_OK);
    OP_CHECK_INT(back.n, 3);
    OP_CHECK_STR(op_params_get(&back, "code"), "a+b/c==");
    OP_CHECK_STR(op_params_get(&back, "state"), state);
    OP_CHECK_STR(op_params_get(&back, "iss"), "https://op.example/tenant?x");
    teardown();
}

/* Form Post Response Mode §2: the target and ordered fields. */
static void test_form_post(void)
{
    static const op_authz_param_t p[] = {{"code", "SplxlOBeZQQYbYS6WxSbIA"},
                                         {"id_token", "eyJ.eyJ.sig"}};
    op_authz_req_t r =
        request("https://client.example/cb?x=1", OP_AUTHZ_MODE_FORM_POST, "a\"b</script>");
    op_authz_resp_t resp;
    op_err_t err;

    setup();
    OP_CHECK_INT(op_authz_resp_build(arena, &r, ISS, p, 2, &resp, &err), OP_OK);
    OP_CHECK_INT(resp.mode, OP_AUTHZ_MODE_FORM_POST);
    OP_CHECK_STR(resp.uri, "https://client.example/cb?x=1");
    OP_CHECK_INT(resp.n_form, 4);
    OP_CHECK_STR(resp.form[0].name, "code");
    OP_CHECK_STR(resp.form[1].name, "id_token");
    OP_CHECK_STR(resp.form[2].name, "state");
    OP_CHECK_STR(resp.form[2].value, "a\"b</script>");
    OP_CHECK_STR(resp.form[3].name, "iss");
    OP_CHECK_STR(resp.form[3].value, ISS);
    /* reference §2.1: the "response" message; values as is (JSON-escaped) */
    OP_CHECK_STR(written(&resp), "{\"type\":\"response\",\"mode\":\"form_post\",\"parameters\":{"
                                 "\"uri\":\"https://client.example/cb?x=1\",\"form\":{"
                                 "\"code\":\"SplxlOBeZQQYbYS6WxSbIA\",\"id_token\":\"eyJ.eyJ.sig\","
                                 "\"state\":\"a\\\"b</script>\",\"iss\":\"https://op.example\"}},"
                                 "\"sub_sid\":\"caller-added\"}");
    teardown();
}

/* reference §2.1: query and fragment carry only "uri". */
static void test_write_redirect(void)
{
    static const op_authz_param_t p[] = {{"code", "c"}};
    op_authz_req_t r = request("https://client.example/cb", OP_AUTHZ_MODE_FRAGMENT, NULL);
    op_authz_resp_t resp;
    op_err_t err;

    setup();
    OP_CHECK_INT(op_authz_resp_build(arena, &r, ISS, p, 1, &resp, &err), OP_OK);
    OP_CHECK_STR(written(&resp), "{\"type\":\"response\",\"mode\":\"fragment\",\"parameters\":{"
                                 "\"uri\":\"https://client.example/cb#code=c"
                                 "&iss=https%3A%2F%2Fop.example\"},\"sub_sid\":\"caller-added\"}");
    r.response_mode = OP_AUTHZ_MODE_QUERY;
    OP_CHECK_INT(op_authz_resp_build(arena, &r, ISS, p, 1, &resp, &err), OP_OK);
    OP_CHECK(strncmp(written(&resp), "{\"type\":\"response\",\"mode\":\"query\",", 34) == 0);
    teardown();
}

/* RFC 6749 §4.1.2.1 / §4.2.2.1: error, error_description, state; RFC 9207 §2: iss. */
static void test_errors(void)
{
    op_authz_req_t r = request("https://client.example/cb", OP_AUTHZ_MODE_QUERY, "xyz");
    op_authz_resp_t resp;
    op_err_t err;

    setup();
    OP_CHECK_INT(op_authz_resp_error(arena, &r, ISS, "access_denied", "The user said \"no\"\\\n",
                                     &resp, &err),
                 OP_OK);
    /* §4.1.2.1: error_description without '"', '\' or control characters */
    OP_CHECK_STR(resp.uri, "https://client.example/cb?error=access_denied"
                           "&error_description=The%20user%20said%20%27no%27%27%3F"
                           "&state=xyz&iss=https%3A%2F%2Fop.example");
    /* no description */
    OP_CHECK_INT(op_authz_resp_error(arena, &r, ISS, "login_required", NULL, &resp, &err), OP_OK);
    OP_CHECK_STR(resp.uri, "https://client.example/cb?error=login_required&state=xyz"
                           "&iss=https%3A%2F%2Fop.example");
    OP_CHECK_INT(op_authz_resp_error(arena, &r, ISS, "login_required", "", &resp, &err), OP_OK);
    OP_CHECK(strstr(resp.uri, "error_description") == NULL);
    /* fragment for a response type returning tokens (OIDC Core §3.2.2.6) */
    r.response_mode = OP_AUTHZ_MODE_FRAGMENT;
    r.state = NULL;
    OP_CHECK_INT(op_authz_resp_error(arena, &r, ISS, "consent_required", "x", &resp, &err), OP_OK);
    OP_CHECK_STR(resp.uri, "https://client.example/cb#error=consent_required"
                           "&error_description=x&iss=https%3A%2F%2Fop.example");
    /* form_post */
    r.response_mode = OP_AUTHZ_MODE_FORM_POST;
    r.state = "s";
    OP_CHECK_INT(op_authz_resp_error(arena, &r, ISS, "interaction_required", "d", &resp, &err),
                 OP_OK);
    OP_CHECK_INT(resp.n_form, 4);
    OP_CHECK_STR(resp.form[0].name, "error");
    OP_CHECK_STR(resp.form[1].name, "error_description");
    OP_CHECK_STR(resp.form[2].name, "state");
    OP_CHECK_STR(resp.form[3].name, "iss");
    /* §4.1.2.1: the error code's character set */
    OP_CHECK_INT(op_authz_resp_error(arena, &r, ISS, "bad\"code", NULL, &resp, &err), OP_EINVAL);
    OP_CHECK_INT(op_authz_resp_error(arena, &r, ISS, "bad\ncode", NULL, &resp, &err), OP_EINVAL);
    OP_CHECK_INT(op_authz_resp_error(arena, &r, ISS, "", NULL, &resp, &err), OP_EINVAL);
    OP_CHECK_INT(op_authz_resp_error(arena, &r, ISS, NULL, NULL, &resp, &err), OP_EINVAL);
    teardown();
}

static const op_client_t *the_client;

static const op_client_t *find_client(void *arg, const char *client_id)
{
    OP_UNUSED(arg);
    return strcmp(client_id, the_client->client_id) == 0 ? the_client : NULL;
}

/* A redirectable parse error goes back as the parser resolved it. */
static void test_from_parse_error(void)
{
    static const char clients_json[] =
        "[{\"client_id\":\"web\",\"client_secret\":\"s\",\"redirect_uris\":"
        "[\"https://client.example/cb\"],\"grant_types\":[\"authorization_code\",\"implicit\"],"
        "\"response_types\":[\"code\",\"id_token\"]}]";
    /* OIDC Core §3.2.2.1: no nonce -> invalid_request, in the fragment
     * (the default mode of id_token, Multiple Response Types §3) */
    static const char q[] = "client_id=web&redirect_uri=https%3A%2F%2Fclient.example%2Fcb"
                            "&response_type=id_token&scope=openid&state=st%20ate";
    const op_authz_clients_t lookup = {find_client, NULL};
    op_client_t *c;
    size_t n;
    op_authz_req_t r;
    op_authz_error_t e;
    op_authz_resp_t resp;
    op_err_t err;

    setup();
    OP_CHECK_INT(op_client_parse_all(arena, clients_json, strlen(clients_json), "t", &c, &n, &err),
                 OP_OK);
    the_client = c;
    OP_CHECK_INT(op_authz_req_parse(arena, q, strlen(q), &lookup, NULL, &r, &e), OP_EINVAL);
    OP_CHECK(e.redirectable);
    OP_CHECK_INT(
        op_authz_resp_error(arena, &r, ISS, e.err.oauth_error, e.err.description, &resp, &err),
        OP_OK);
    OP_CHECK_STR(resp.uri, "https://client.example/cb#error=invalid_request"
                           "&error_description=missing%20nonce%2C%20required%20for%20a%20"
                           "response_type%20with%20id_token&state=st%20ate"
                           "&iss=https%3A%2F%2Fop.example");
    teardown();
}

/* Programming errors are refused, never half-built. */
static void test_refused(void)
{
    static const op_authz_param_t with_state[] = {{"code", "c"}, {"state", "s"}};
    static const op_authz_param_t with_iss[] = {{"iss", "https://evil.example"}};
    static const op_authz_param_t repeated[] = {{"code", "a"}, {"code", "b"}};
    static const op_authz_param_t no_value[] = {{"code", NULL}};
    static const op_authz_param_t no_name[] = {{"", "v"}};
    op_authz_req_t r = request("https://client.example/cb", OP_AUTHZ_MODE_QUERY, "s");
    op_authz_req_t frag = request("https://client.example/cb#f", OP_AUTHZ_MODE_QUERY, NULL);
    op_authz_req_t none = request(NULL, OP_AUTHZ_MODE_QUERY, NULL);
    op_authz_resp_t resp;
    op_err_t err;

    setup();
    /* RFC 9207 §2 / RFC 6749 §4.1.2: iss and state come from the server */
    OP_CHECK_INT(op_authz_resp_build(arena, &r, ISS, with_state, 2, &resp, &err), OP_EINVAL);
    OP_CHECK_INT(op_authz_resp_build(arena, &r, ISS, with_iss, 1, &resp, &err), OP_EINVAL);
    OP_CHECK_INT(op_authz_resp_build(arena, &r, ISS, repeated, 2, &resp, &err), OP_EINVAL);
    OP_CHECK_INT(op_authz_resp_build(arena, &r, ISS, no_value, 1, &resp, &err), OP_EINVAL);
    OP_CHECK_INT(op_authz_resp_build(arena, &r, ISS, no_name, 1, &resp, &err), OP_EINVAL);
    /* RFC 6749 §3.1.2: a redirection URI has no fragment */
    OP_CHECK_INT(op_authz_resp_build(arena, &frag, ISS, NULL, 0, &resp, &err), OP_EINVAL);
    OP_CHECK_INT(op_authz_resp_build(arena, &none, ISS, NULL, 0, &resp, &err), OP_EINVAL);
    OP_CHECK_INT(op_authz_resp_build(arena, &r, NULL, NULL, 0, &resp, &err), OP_EINVAL);
    OP_CHECK_INT(op_authz_resp_build(arena, &r, "", NULL, 0, &resp, &err), OP_EINVAL);
    OP_CHECK(resp.uri == NULL);
    teardown();
}

/* An arena too small for the response: OP_ETOOBIG (the cap, never
 * OP_ENOMEM: core/base/op_mem.h), at every allocation. */
static void test_arena_cap(void)
{
    static const op_authz_param_t p[] = {{"code", "SplxlOBeZQQYbYS6WxSbIA"}};
    op_authz_req_t r = request("https://client.example/cb", OP_AUTHZ_MODE_QUERY, "state");
    bool ok = false;

    for (size_t cap = 0; cap < 4096 && !ok; cap += 8) {
        op_arena_t *a = op_arena_new(cap);
        op_authz_resp_t resp;
        op_err_t err;

        OP_CHECK(a != NULL);
        int rc = op_authz_resp_error(a, &r, ISS, "access_denied", "no", &resp, &err);
        OP_CHECK(rc == OP_OK || rc == OP_ETOOBIG);
        if (rc == OP_OK)
            rc = op_authz_resp_build(a, &r, ISS, p, 1, &resp, &err);
        OP_CHECK(rc == OP_OK || rc == OP_ETOOBIG);
        OP_CHECK(rc == OP_OK || strstr(err.description, "too large for the arena") != NULL);
        ok = rc == OP_OK;
        op_arena_free(a);
    }
    OP_CHECK(ok);
}

static const op_test_case_t cases[] = {
    {"redirects", test_redirects}, {"round_trip", test_round_trip},
    {"form_post", test_form_post}, {"write_redirect", test_write_redirect},
    {"errors", test_errors},       {"from_parse_error", test_from_parse_error},
    {"refused", test_refused},     {"arena_cap", test_arena_cap},
};

OP_TEST_MAIN(cases)
