/*
 * tests/unit/server/test_op_server_api.c - the bearer token check of the integration
 * APIs (core/server/op_server_api.c, RFC 6750), in process: a server on
 * 127.0.0.1:0 whose routes answer 200 when op_server_api_token_ok accepts the
 * request and op_server_api_unauthorized otherwise, driven by the
 * project's own HTTP client.
 *
 * RFC 6750 §2.1: "Authorization: Bearer <b64token>", the scheme in any
 * case (RFC 9110 §11.1); §2.3 the query only where allowed; §2: one way
 * per request; §3.1: no error code without credentials, invalid_request
 * (400) for a malformed request, invalid_token (401) for a token that is
 * not one of the configured ones, whichever of them it is.
 */
#include "core/server/op_server.h"
#include "tests/unit/op_test.h"

#define TOKEN_1 "api-token-1"
#define TOKEN_3 "api-token-3"

static struct env {
    op_loop_t *loop;
    op_http_t *http;
    op_http_client_t *hc;
    op_arena_t *a;
    uint8_t hashes[3][32];
    int port;
} E;

/* 200 when the request passes with nhashes of the configured digests. */
static void answer(op_http_req_t *req, size_t nhashes, bool allow_query)
{
    if (op_server_api_token_ok(req, (const uint8_t(*)[32])E.hashes, nhashes, allow_query))
        op_http_reply_json(req, 200, "{\"ok\":true}", 11, OP_REPLY_NO_STORE);
    else
        op_server_api_unauthorized(req);
}

/* /strict: the header only; /query: ?access_token= too; /none: no token. */
static void h_strict(op_http_req_t *req, void *ctx)
{
    OP_UNUSED(ctx);
    answer(req, 3, false);
}

static void h_query(op_http_req_t *req, void *ctx)
{
    OP_UNUSED(ctx);
    answer(req, 3, true);
}

static void h_none(op_http_req_t *req, void *ctx)
{
    OP_UNUSED(ctx);
    answer(req, 0, true);
}

static void setup(void)
{
    static const op_http_route_t routes[] = {
        {OP_HTTP_GET, "/strict", 0, h_strict, NULL},
        {OP_HTTP_GET, "/query", 0, h_query, NULL},
        {OP_HTTP_GET, "/none", 0, h_none, NULL},
    };
    static const char *const tokens[] = {TOKEN_1, "api-token-2", TOKEN_3};
    op_http_config_t hcfg = {
        .address = "127.0.0.1",
        .fd = -1,
        .max_body = 1 << 16,
        .max_headers = 16384,
        .idle_timeout_s = 10,
        .request_timeout_ms = 10000,
        .arena_max = 1 << 20,
    };
    op_http_client_config_t cc = {
        .connect_timeout_ms = 5000, .timeout_ms = 10000, .max_response = 1 << 16};
    op_err_t err;

    memset(&E, 0, sizeof(E));
    op_err_clear(&err);
    op_log_init(OP_LOG_WARN, 2);
    for (size_t i = 0; i < OP_NELEMS(tokens); i++)
        op_keys_crypto_sha256(tokens[i], strlen(tokens[i]), E.hashes[i]);
    E.loop = op_loop_new();
    E.a = op_arena_new(1 << 20);
    OP_CHECK(E.loop != NULL && E.a != NULL);
    E.http = op_http_new(E.loop, &hcfg, routes, OP_NELEMS(routes), &err);
    E.hc = op_http_client_new(E.loop, &cc, &err);
    OP_CHECK(E.http != NULL && E.hc != NULL);
    E.port = op_http_port(E.http);
}

static void teardown(void)
{
    op_http_client_free(E.hc);
    op_http_free(E.http);
    op_loop_free(E.loop);
    op_arena_free(E.a);
}

typedef struct reply {
    int calls;
    int status;
    int http_status;
    char *body;
} reply_t;

static void on_reply(int status, const op_http_response_t *resp, const op_err_t *err, void *arg)
{
    reply_t *r = arg;

    OP_UNUSED(err);
    r->calls++;
    r->status = status;
    if (status == OP_OK) {
        r->http_status = resp->status;
        r->body = op_arena_strdup(E.a, resp->body);
    }
    op_loop_stop(E.loop);
}

/* GET target with up to two Authorization values (NULL: fewer); the
 * status and body of the answer. */
static reply_t get(const char *target, const char *auth, const char *auth2)
{
    op_http_header_t headers[2] = {{"Authorization", auth}, {"Authorization", auth2}};
    char *url = op_arena_printf(E.a, "http://127.0.0.1:%d%s", E.port, target);
    op_http_fetch_t f = {
        .method = OP_HTTP_GET,
        .url = url,
        .headers = headers,
        .nheaders = auth == NULL    ? 0
                    : auth2 == NULL ? 1
                                    : 2,
    };
    reply_t r;

    memset(&r, 0, sizeof(r));
    op_http_client_fetch(E.hc, &f, on_reply, &r);
    OP_CHECK_INT(op_loop_run(E.loop), OP_OK);
    OP_CHECK_INT(r.calls, 1);
    OP_CHECK_INT(r.status, OP_OK);
    return r;
}

/* One request and the answer it must get: 200, 401 with or without
 * invalid_token, or 400 invalid_request. */
typedef struct row {
    const char *target;
    const char *auth;
    const char *auth2;
    int status;
    const char *error; /* NULL: none in the body */
} row_t;

static void check_rows(const row_t *rows, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        reply_t r = get(rows[i].target, rows[i].auth, rows[i].auth2);
        bool has_error = strstr(r.body, "\"error\"") != NULL;
        bool want_error = rows[i].error != NULL;
        if (r.http_status != rows[i].status || has_error != want_error ||
            (want_error && strstr(r.body, rows[i].error) == NULL)) {
            fprintf(stderr, "row %zu (%s, %s): %d %s\n", i, rows[i].target,
                    rows[i].auth ? rows[i].auth : "-", r.http_status, r.body);
            exit(1);
        }
    }
}

/* RFC 6750 §2.1: each configured token passes, the last one too (every
 * digest is compared); the scheme in any case, with more than one space. */
static void test_accepted(void)
{
    static const row_t rows[] = {
        {"/strict", "Bearer " TOKEN_1, NULL, 200, NULL},
        {"/strict", "Bearer api-token-2", NULL, 200, NULL},
        {"/strict", "Bearer " TOKEN_3, NULL, 200, NULL},
        {"/strict", "bearer " TOKEN_1, NULL, 200, NULL},
        {"/strict", "BEARER " TOKEN_1, NULL, 200, NULL},
        {"/strict", "Bearer   " TOKEN_1, NULL, 200, NULL},
        {"/query", "Bearer " TOKEN_1, NULL, 200, NULL},
    };
    setup();
    check_rows(rows, OP_NELEMS(rows));
    teardown();
}

/* RFC 6750 §3.1: a token that is not ours, however close: invalid_token. */
static void test_wrong_token(void)
{
    static const row_t rows[] = {
        {"/strict", "Bearer api-token-4", NULL, 401, "invalid_token"},
        {"/strict", "Bearer api-token-", NULL, 401, "invalid_token"},
        {"/strict", "Bearer api-token-11", NULL, 401, "invalid_token"},
        {"/strict", "Bearer API-TOKEN-1", NULL, 401, "invalid_token"},
        {"/strict", "Bearer api-token-1=", NULL, 401, "invalid_token"},
        /* the configured digest itself is not the token */
        {"/strict", "Bearer 0000000000000000000000000000000000000000000000000000000000000000", NULL,
         401, "invalid_token"},
        /* no token is configured: nothing passes */
        {"/none", "Bearer " TOKEN_1, NULL, 401, "invalid_token"},
        {"/none?access_token=" TOKEN_1, NULL, NULL, 401, "invalid_token"},
    };
    setup();
    check_rows(rows, OP_NELEMS(rows));
    teardown();
}

/* RFC 6750 §3.1: without credentials, or with another scheme's, the
 * answer carries no error code. */
static void test_no_credentials(void)
{
    static const row_t rows[] = {
        {"/strict", NULL, NULL, 401, NULL},
        {"/strict", "Basic YXBpLXRva2VuLTE6", NULL, 401, NULL},
        {"/strict", "Token " TOKEN_1, NULL, 401, NULL},
        {"/strict", "Bearer" TOKEN_1, NULL, 401, NULL},
        {"/query", NULL, NULL, 401, NULL},
    };
    setup();
    check_rows(rows, OP_NELEMS(rows));
    teardown();
}

/* RFC 6750 §2.1, §3.1: a malformed or repeated bearer header is
 * invalid_request, even when it carries a good token. */
static void test_malformed(void)
{
    static const row_t rows[] = {
        {"/strict", "Bearer", NULL, 400, "invalid_request"},
        {"/strict", "Bearer ", NULL, 400, "invalid_request"},
        {"/strict", "Bearer api token", NULL, 400, "invalid_request"},
        {"/strict", "Bearer " TOKEN_1 ",", NULL, 400, "invalid_request"},
        {"/strict", "Bearer \"" TOKEN_1 "\"", NULL, 400, "invalid_request"},
        {"/strict", "Bearer " TOKEN_1, "Bearer " TOKEN_1, 400, "invalid_request"},
        {"/strict", "Bearer " TOKEN_1, "Bearer api-token-4", 400, "invalid_request"},
    };
    setup();
    check_rows(rows, OP_NELEMS(rows));
    teardown();
}

/* RFC 6750 §2.3: the query only where the API allows it; §2: not both. */
static void test_query(void)
{
    static const row_t rows[] = {
        {"/query?access_token=" TOKEN_1, NULL, NULL, 200, NULL},
        {"/query?access_token=api-token-4", NULL, NULL, 401, "invalid_token"},
        {"/strict?access_token=" TOKEN_1, NULL, NULL, 401, "invalid_token"},
        {"/query?access_token=" TOKEN_1, "Bearer " TOKEN_1, NULL, 400, "invalid_request"},
    };
    setup();
    check_rows(rows, OP_NELEMS(rows));
    teardown();
}

static const op_test_case_t cases[] = {
    {"accepted", test_accepted},
    {"wrong_token", test_wrong_token},
    {"no_credentials", test_no_credentials},
    {"malformed", test_malformed},
    {"query", test_query},
};

OP_TEST_MAIN(cases)
