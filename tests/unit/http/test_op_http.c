/*
 * Unit tests: http/op_http.c, op_http_req.c, op_http_reply.c - an
 * in-process server on 127.0.0.1:0 and raw HTTP/1.1 clients (bufferevents
 * on the same loop), so every byte sent and received is under the test's
 * control. Each request's arena gets a cleanup that counts frees, so the
 * tests check that every request is freed exactly once.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "http/op_http.h"
#include "keys/op_keys.h"
#include "tests/unit/op_test_http.h"

static op_loop_t *loop;
static op_http_t *srv;

/* ---- handlers ----------------------------------------------------------- */

static int calls;           /* handler invocations */
static int frees;           /* request arenas freed */
static op_http_req_t *kept; /* a request a test answers later */

static void count_free(void *p)
{
    OP_UNUSED(p);
    frees++;
}

static void track(op_http_req_t *req)
{
    calls++;
    OP_CHECK_INT(op_arena_cleanup_add(op_http_req_arena(req), count_free, NULL), OP_OK);
}

static void h_hello(op_http_req_t *req, void *ctx)
{
    static const char body[] = "{\"hello\":\"world\"}";
    OP_UNUSED(ctx);
    track(req);
    op_http_reply_json(req, 200, body, sizeof(body) - 1, OP_REPLY_NO_STORE);
}

static void h_put(op_http_req_t *req, void *ctx)
{
    OP_UNUSED(ctx);
    track(req);
    op_http_reply(req, 200, "text/plain; charset=utf-8", "put", 3, 0);
}

/* Echo what the request API gives as JSON. */
static void h_whoami(op_http_req_t *req, void *ctx)
{
    op_json_w_t *w = op_json_w_new(op_http_req_arena(req), false);
    const char *out;
    size_t len;
    OP_UNUSED(ctx);
    track(req);
    op_json_w_obj_open(w);
    op_json_w_kstr(w, "method", op_http_req_method_name(req));
    op_json_w_kstr(w, "path", op_http_req_path(req));
    op_json_w_kstr(w, "sub", op_http_req_subpath(req));
    op_json_w_kstr(w, "id", op_http_req_id(req));
    op_json_w_kstr(w, "peer", op_http_req_peer(req));
    if (op_params_get(op_http_req_query(req), "q") != NULL)
        op_json_w_kstr(w, "q", op_params_get(op_http_req_query(req), "q"));
    if (op_http_req_bearer(req) != NULL)
        op_json_w_kstr(w, "bearer", op_http_req_bearer(req));
    if (op_http_req_cookie(req, "sid") != NULL)
        op_json_w_kstr(w, "sid", op_http_req_cookie(req, "sid"));
    if (op_http_req_header(req, "x-test") != NULL)
        op_json_w_kstr(w, "xtest", op_http_req_header(req, "x-test"));
    op_json_w_obj_close(w);
    OP_CHECK_INT(op_json_w_finish(w, &out, &len, NULL), OP_OK);
    op_http_reply_json(req, 200, out, len, 0);
}

static void h_form(op_http_req_t *req, void *ctx)
{
    const op_params_t *form, *again;
    op_err_t err;
    OP_UNUSED(ctx);
    track(req);
    op_err_clear(&err);
    if (op_http_req_form(req, &form, &err) != OP_OK) {
        op_http_reply_error(req, &err);
        return;
    }
    OP_CHECK_INT(op_http_req_form(req, &again, &err), OP_OK);
    OP_CHECK(again == form); /* parsed once */
    const char *x = op_params_get(form, "x");
    op_http_reply(req, 200, "text/plain", x != NULL ? x : "", x != NULL ? strlen(x) : 0, 0);
}

static void h_json(op_http_req_t *req, void *ctx)
{
    const op_json_t *v;
    size_t len;
    op_err_t err;
    OP_UNUSED(ctx);
    track(req);
    op_err_clear(&err);
    const char *body = op_http_req_body(req, &len);
    OP_CHECK(body != NULL && body[len] == '\0');
    if (op_http_req_json(req, &v, &err) != OP_OK) {
        op_http_reply_error(req, &err);
        return;
    }
    const char *x = op_json_get_str(v, "x");
    op_http_reply(req, 200, "text/plain", x != NULL ? x : "", x != NULL ? strlen(x) : 0, 0);
}

/* Never replies by itself: the test answers `kept` later. */
static op_fn_t never_hook;
static void h_never(op_http_req_t *req, void *ctx)
{
    OP_UNUSED(ctx);
    track(req);
    OP_CHECK(!op_http_req_replied(req));
    OP_CHECK_INT(op_http_in_flight(srv), 1);
    kept = req;
    if (never_hook != NULL)
        op_loop_defer(op_http_req_loop(req), never_hook, NULL);
}

static op_timer_t *later_timer;
static void later_fire(void *arg)
{
    op_http_req_t *req = arg;
    static const char body[] = "{\"later\":true}";
    OP_CHECK(!op_http_req_replied(req));
    op_http_reply_json(req, 200, body, sizeof(body) - 1, 0);
    OP_CHECK(op_http_req_replied(req));
    op_http_req_release(req);
}

/* Replies 20 ms later from a timer, holding the request meanwhile. */
static void h_later(op_http_req_t *req, void *ctx)
{
    OP_UNUSED(ctx);
    track(req);
    op_http_req_hold(req);
    later_timer = op_timer_new(op_http_req_loop(req), later_fire, req);
    OP_CHECK(later_timer != NULL);
    op_timer_start(later_timer, 20);
}

static int inject_rc[8];
static void h_inject(op_http_req_t *req, void *ctx)
{
    OP_UNUSED(ctx);
    track(req);
    inject_rc[0] = op_http_reply_header(req, "X-Bad", "a\r\nSet-Cookie: evil=1");
    inject_rc[1] = op_http_reply_header(req, "X-Bad", "a\nb");
    inject_rc[2] = op_http_reply_header(req, "X-Bad\r\nSet-Cookie", "evil=1");
    inject_rc[3] = op_http_reply_header(req, "Bad Name", "x");
    inject_rc[4] = op_http_reply_header(req, "X-Good", "fine, \"quoted\"\tvalue");
    inject_rc[5] = op_http_reply_header(req, "X-Bad", "a\x01");
    inject_rc[6] = op_http_reply_header(req, "content-length", "0");
    inject_rc[7] = op_http_reply_header(req, "Transfer-Encoding", "chunked");
    op_http_reply_redirect(req, "https://rp.example/cb?code=x\r\nSet-Cookie: evil=1");
}

static void h_redirect(op_http_req_t *req, void *ctx)
{
    OP_UNUSED(ctx);
    track(req);
    op_http_reply_redirect(req, "https://rp.example/cb?state=a%20b");
}

static void h_deny(op_http_req_t *req, void *ctx)
{
    op_err_t err;
    OP_UNUSED(ctx);
    track(req);
    OP_ERR_OAUTH(&err, OP_EDENIED, "invalid_token", 401, "the \"token\" expired");
    op_http_reply_error(req, &err);
}

static void h_bugs(op_http_req_t *req, void *ctx)
{
    OP_UNUSED(ctx);
    track(req);
    op_http_reply(req, 42, "text/plain", "x", 1, 0);  /* bad status: 500 */
    op_http_reply(req, 200, "text/plain", "y", 1, 0); /* second reply: ignored */
}

static void h_unset_error(op_http_req_t *req, void *ctx)
{
    op_err_t err;
    OP_UNUSED(ctx);
    track(req);
    op_err_clear(&err);
    op_http_reply_error(req, &err);
}

/* The client vanishes while the handler waits; the reply comes later,
 * and the loop runs a little longer so evhttp sees the dead socket. */
static op_test_http_client_t *gone_client;
static op_timer_t *gone_stop;
static void gone_fire(void *arg)
{
    op_http_req_t *req = arg;
    op_http_reply_json(req, 200, "{}", 2, 0);
    op_http_req_release(req);
    OP_CHECK_INT(frees, 1);
    op_timer_start(gone_stop, 50);
}

static void h_gone(op_http_req_t *req, void *ctx)
{
    OP_UNUSED(ctx);
    track(req);
    bufferevent_free(gone_client->bev); /* the client disconnects */
    gone_client->bev = NULL;
    evbuffer_free(gone_client->acc);
    gone_client->acc = NULL;
    op_test_http.open--;
    op_http_req_hold(req);
    later_timer = op_timer_new(op_http_req_loop(req), gone_fire, req);
    OP_CHECK(later_timer != NULL);
    op_timer_start(later_timer, 20);
}

static const op_http_route_t routes[] = {
    {OP_HTTP_GET, "/hello", OP_ROUTE_CORS, h_hello, NULL},
    {OP_HTTP_GET, "/split", 0, h_hello, NULL},
    {OP_HTTP_PUT, "/split", 0, h_put, NULL},
    {OP_HTTP_GET | OP_HTTP_POST, "/whoami", 0, h_whoami, NULL},
    {OP_HTTP_GET, "/api", OP_ROUTE_PREFIX, h_whoami, NULL},
    {OP_HTTP_GET, "/sess", OP_ROUTE_PREFIX | OP_ROUTE_SECRET, h_whoami, NULL},
    {OP_HTTP_POST, "/form", 0, h_form, NULL},
    {OP_HTTP_POST | OP_HTTP_PATCH, "/json", 0, h_json, NULL},
    {OP_HTTP_GET, "/never", 0, h_never, NULL},
    {OP_HTTP_GET, "/later", 0, h_later, NULL},
    {OP_HTTP_GET, "/inject", 0, h_inject, NULL},
    {OP_HTTP_GET, "/redirect", 0, h_redirect, NULL},
    {OP_HTTP_GET, "/deny", 0, h_deny, NULL},
    {OP_HTTP_GET, "/bugs", 0, h_bugs, NULL},
    {OP_HTTP_GET, "/unset", 0, h_unset_error, NULL},
    {OP_HTTP_GET, "/gone", 0, h_gone, NULL},
};

/* ---- fixture ------------------------------------------------------------ */

static op_http_config_t test_config(void)
{
    op_http_config_t cfg = {
        .address = "127.0.0.1",
        .port = 0,
        .fd = -1,
        .max_body = 4096,
        .max_headers = 4096,
        .idle_timeout_s = 5,
        .request_timeout_ms = 5000,
        .arena_max = 1 << 20,
        .cors_origins = "https://app.example https://other.example",
    };
    return cfg;
}

static void start_with(const op_http_config_t *cfg)
{
    srv = op_test_http_start(cfg, routes, OP_NELEMS(routes));
    loop = op_test_http.loop;
    OP_CHECK(op_http_port(srv) > 0);
}

static void start(void)
{
    op_http_config_t cfg = test_config();
    start_with(&cfg);
}

static void run(void)
{
    OP_CHECK_INT(op_loop_run(loop), OP_OK);
}

static void stop(void)
{
    OP_CHECK_INT(op_http_in_flight(srv), 0);
    op_http_free(srv);
    op_timer_free(later_timer);
    op_loop_free(loop);
    OP_CHECK_INT(frees, calls);
}

/* ---- cases ---------------------------------------------------------------- */

static void test_get_json_no_store(void)
{
    start();
    op_test_http_client_t *c = op_test_http_req("GET", "/hello", NULL, NULL);
    run();
    OP_CHECK_INT(c->status, 200);
    op_test_http_check_common(c, "application/json");
    OP_CHECK_STR(op_test_http_header(c, "Cache-Control"), "no-store");
    OP_CHECK_STR(op_test_http_header(c, "Pragma"), "no-cache");
    /* RFC 9110 §6.6.1: an origin server with a clock sends Date, as an
     * IMF-fixdate (§5.6.7), the time the answer was made. */
    const char *date = op_test_http_header(c, "Date");
    struct tm tm = {0};
    const char *end = date != NULL ? strptime(date, "%a, %d %b %Y %H:%M:%S GMT", &tm) : NULL;
    OP_CHECK(end != NULL && *end == '\0' && strlen(date) == 29);
    OP_CHECK(end != NULL && llabs((long long)(timegm(&tm) - time(NULL))) <= 2);
    OP_CHECK_STR(c->body, "{\"hello\":\"world\"}");
    OP_CHECK_INT(calls, 1);
    op_test_http_free(c);
    stop();
}

static void test_not_found(void)
{
    start();
    op_test_http_client_t *a = op_test_http_req("GET", "/nope", NULL, NULL);
    op_test_http_client_t *b =
        op_test_http_req("GET", "/hello/extra", NULL, NULL); /* no prefix flag */
    op_test_http_client_t *d = op_test_http_req("GET", "/apix", NULL, NULL);
    run();
    op_test_http_check_error(a, 404, "not_found");
    op_test_http_check_error(b, 404, "not_found");
    op_test_http_check_error(d, 404, "not_found");
    OP_CHECK_INT(calls, 0);
    op_test_http_free(a);
    op_test_http_free(b);
    op_test_http_free(d);
    stop();
}

static void test_method_not_allowed(void)
{
    start();
    op_test_http_client_t *a = op_test_http_req("DELETE", "/hello", NULL, NULL);
    op_test_http_client_t *b = op_test_http_req("POST", "/split", NULL, "x");
    op_test_http_client_t *d = op_test_http_req("PUT", "/split", NULL, "x");
    run();
    op_test_http_check_error(a, 405, "invalid_request");
    OP_CHECK_STR(op_test_http_header(a, "Allow"), "GET, HEAD, OPTIONS");
    op_test_http_check_error(b, 405, "invalid_request");
    OP_CHECK_STR(op_test_http_header(b, "Allow"), "GET, HEAD, PUT, OPTIONS");
    /* the second route of the same path takes PUT */
    OP_CHECK_INT(d->status, 200);
    OP_CHECK_STR(d->body, "put");
    OP_CHECK_STR(op_test_http_header(d, "Content-Type"), "text/plain; charset=utf-8");
    OP_CHECK_INT(calls, 1);
    op_test_http_free(a);
    op_test_http_free(b);
    op_test_http_free(d);
    stop();
}

static void test_head_follows_get(void)
{
    start();
    op_test_http_client_t *c = op_test_http_req("HEAD", "/hello", NULL, NULL);
    run();
    OP_CHECK_INT(c->status, 200);
    op_test_http_check_common(c, "application/json");
    OP_CHECK_STR(op_test_http_header(c, "Content-Length"), "17");
    OP_CHECK_INT(c->body_len, 0);
    OP_CHECK_INT(calls, 1);
    op_test_http_free(c);
    stop();
}

static void test_options_cors_preflight(void)
{
    start();
    const char *pre = "Origin: https://app.example\r\n"
                      "Access-Control-Request-Method: GET\r\n";
    op_test_http_client_t *a = op_test_http_req("OPTIONS", "/hello", pre, NULL);
    op_test_http_client_t *b =
        op_test_http_req("OPTIONS", "/hello", "Origin: https://evil.example\r\n", NULL);
    op_test_http_client_t *d =
        op_test_http_req("OPTIONS", "/whoami", "Origin: https://app.example\r\n", NULL);
    op_test_http_client_t *e =
        op_test_http_req("GET", "/hello", "Origin: https://other.example\r\n", NULL);
    op_test_http_client_t *f =
        op_test_http_req("GET", "/hello", "Origin: https://evil.example\r\n", NULL);
    run();
    OP_CHECK_INT(a->status, 204);
    OP_CHECK_STR(op_test_http_header(a, "Access-Control-Allow-Origin"), "https://app.example");
    OP_CHECK_STR(op_test_http_header(a, "Access-Control-Allow-Methods"), "GET, HEAD, OPTIONS");
    OP_CHECK_STR(op_test_http_header(a, "Access-Control-Allow-Headers"),
                 "Authorization, Content-Type, DPoP");
    OP_CHECK_STR(op_test_http_header(a, "Access-Control-Max-Age"), "600");
    OP_CHECK_STR(op_test_http_header(a, "Vary"), "Origin");
    OP_CHECK_STR(op_test_http_header(a, "Allow"), "GET, HEAD, OPTIONS");
    OP_CHECK(op_test_http_header(a, "Content-Type") == NULL);
    OP_CHECK_INT(a->body_len, 0);
    /* an origin not on the list gets no CORS grant */
    OP_CHECK_INT(b->status, 204);
    OP_CHECK(op_test_http_header(b, "Access-Control-Allow-Origin") == NULL);
    OP_CHECK(op_test_http_header(b, "Access-Control-Allow-Methods") == NULL);
    /* not a CORS route: a plain 204 with Allow */
    OP_CHECK_INT(d->status, 204);
    OP_CHECK_STR(op_test_http_header(d, "Allow"), "GET, HEAD, POST, OPTIONS");
    OP_CHECK(op_test_http_header(d, "Access-Control-Allow-Origin") == NULL);
    /* normal answers on a CORS route */
    OP_CHECK_INT(e->status, 200);
    OP_CHECK_STR(op_test_http_header(e, "Access-Control-Allow-Origin"), "https://other.example");
    OP_CHECK_STR(op_test_http_header(e, "Vary"), "Origin");
    OP_CHECK_INT(f->status, 200);
    OP_CHECK(op_test_http_header(f, "Access-Control-Allow-Origin") == NULL);
    OP_CHECK_STR(op_test_http_header(f, "Vary"), "Origin");
    OP_CHECK_INT(calls, 2);
    op_test_http_free(a);
    op_test_http_free(b);
    op_test_http_free(d);
    op_test_http_free(e);
    op_test_http_free(f);
    stop();
}

static void test_cors_any_origin(void)
{
    op_http_config_t cfg = test_config();
    cfg.cors_origins = "*";
    start_with(&cfg);
    op_test_http_client_t *a =
        op_test_http_req("GET", "/hello", "Origin: https://anyone.example\r\n", NULL);
    op_test_http_client_t *b =
        op_test_http_req("OPTIONS", "/hello", "Origin: https://anyone.example\r\n", NULL);
    run();
    OP_CHECK_STR(op_test_http_header(a, "Access-Control-Allow-Origin"), "*");
    OP_CHECK(op_test_http_header(a, "Vary") == NULL);
    OP_CHECK_STR(op_test_http_header(b, "Access-Control-Allow-Origin"), "*");
    OP_CHECK_STR(op_test_http_header(b, "Access-Control-Allow-Methods"), "GET, HEAD, OPTIONS");
    op_test_http_free(a);
    op_test_http_free(b);
    stop();
}

/* Over max_body: libevent reads the body (lingering close) and answers
 * 413 before any handler runs. At the limit the body is taken. */
static void test_body_too_large(void)
{
    op_http_config_t cfg = test_config();
    char big[200];
    cfg.max_body = 100;
    start_with(&cfg);
    memset(big, 'a', sizeof(big));
    memcpy(big, "x=", 2);
    big[101] = '\0';
    op_test_http_client_t *a = op_test_http_req(
        "POST", "/form", "Content-Type: application/x-www-form-urlencoded\r\n", big);
    big[101] = 'a';
    big[100] = '\0';
    op_test_http_client_t *b = op_test_http_req(
        "POST", "/form", "Content-Type: application/x-www-form-urlencoded\r\n", big);
    run();
    OP_CHECK_INT(a->status, 413);
    OP_CHECK_INT(b->status, 200);
    OP_CHECK_INT(b->body_len, 98);
    OP_CHECK_INT(calls, 1);
    op_test_http_free(a);
    op_test_http_free(b);
    stop();
}

/* A header block over max_headers gets our 431 (JSON); over twice the
 * limit libevent itself answers 400 before the callback (2.1.12). */
static void test_headers_too_large(void)
{
    op_http_config_t cfg = test_config();
    char hdr[4000];
    cfg.max_headers = 1024;
    start_with(&cfg);
    memcpy(hdr, "X-Big: ", 7);
    memset(hdr + 7, 'a', 1200);
    memcpy(hdr + 1207, "\r\n", 3);
    op_test_http_client_t *a = op_test_http_req("GET", "/hello", hdr, NULL);
    memset(hdr + 7, 'a', 2500);
    memcpy(hdr + 2507, "\r\n", 3);
    op_test_http_client_t *b = op_test_http_req("GET", "/hello", hdr, NULL);
    op_test_http_client_t *d = op_test_http_req("GET", "/hello", "X-Small: 1\r\n", NULL);
    run();
    op_test_http_check_error(a, 431, "invalid_request");
    OP_CHECK_INT(b->status, 400);
    OP_CHECK_INT(d->status, 200);
    OP_CHECK_INT(calls, 1);
    op_test_http_free(a);
    op_test_http_free(b);
    op_test_http_free(d);
    stop();
}

/* Headers within max_headers that do not fit the request's arena: the
 * arena's cap is too large input, 431 (RFC 6585 §5) with OP_ETOOBIG, not
 * a 503 out-of-memory answer (core/base/op_mem.h). */
static void test_headers_past_the_arena(void)
{
    static const char head[] = "GET /hello HTTP/1.1\r\nHost: test\r\nConnection: close\r\n"
                               "X-Big: ";
    op_http_config_t cfg = test_config();
    static char req[sizeof(head) + 20000 + 4];
    size_t n = sizeof(head) - 1;

    cfg.max_headers = 32768;
    cfg.arena_max = 16384;
    start_with(&cfg);
    memcpy(req, head, n);
    memset(req + n, 'a', 20000);
    memcpy(req + n + 20000, "\r\n\r\n", 4);
    op_test_http_client_t *a = op_test_http_raw(req, n + 20004);
    run();
    op_test_http_check_error(a, 431, "invalid_request");
    OP_CHECK(strstr(a->raw, "arena") != NULL);
    OP_CHECK_INT(calls, 0);
    op_test_http_free(a);
    stop();
}

static void test_bad_query_and_path(void)
{
    start();
    op_test_http_client_t *c[7];
    c[6] = op_test_http_req("OPTIONS", "*", NULL, NULL);
    c[0] = op_test_http_req("GET", "/whoami?q=1&q=2", NULL, NULL);
    c[1] = op_test_http_req("GET", "/whoami?q=%zz", NULL, NULL);
    c[2] = op_test_http_req("GET", "/who%00ami", NULL, NULL);
    c[3] = op_test_http_req("GET", "/who%zzami", NULL, NULL);
    c[4] = op_test_http_req("GET", "/who%FFami", NULL, NULL);
    c[5] = op_test_http_req("GET", "/whoami?q=%00", NULL, NULL);
    run();
    for (size_t i = 0; i < OP_NELEMS(c); i++) {
        op_test_http_check_error(c[i], 400, "invalid_request");
        op_test_http_free(c[i]);
    }
    OP_CHECK_INT(calls, 0);
    stop();
}

static void test_request_api(void)
{
    start();
    const char *h = "Authorization: bearer  abc.DEF-_~+/==\r\n"
                    "Cookie: theme=dark; sid=s1; sid=s2\r\n"
                    "X-Test: yes\r\n";
    op_test_http_client_t *a = op_test_http_req("GET", "/whoami?q=a+b%2Bc&x=", h, NULL);
    op_test_http_client_t *b =
        op_test_http_req("GET", "/api/v1/items%2F7", "Authorization: Bearer a b\r\n", NULL);
    op_test_http_client_t *d =
        op_test_http_req("GET", "/api", "Authorization: Basic YTpi\r\nCookie: bad\r\n", NULL);
    op_test_http_client_t *e = op_test_http_req(
        "GET", "/whoami", "Authorization: Bearer x\r\nAuthorization: Bearer y\r\n", NULL);
    op_test_http_client_t *f =
        op_test_http_req("GET", "/wh%6Fami", "Authorization: Bearer\r\n", NULL);
    op_test_http_client_t *g =
        op_test_http_req("POST", "http://test/whoami?q=absolute", NULL, "ignored");
    run();
    OP_CHECK_INT(a->status, 200);
    OP_CHECK_STR(op_test_http_json_str(a, "method"), "GET");
    OP_CHECK_STR(op_test_http_json_str(a, "path"), "/whoami");
    OP_CHECK_STR(op_test_http_json_str(a, "q"), "a b+c");
    OP_CHECK_STR(op_test_http_json_str(a, "bearer"), "abc.DEF-_~+/==");
    OP_CHECK_STR(op_test_http_json_str(a, "sid"), "s1");
    OP_CHECK_STR(op_test_http_json_str(a, "xtest"), "yes");
    OP_CHECK_STR(op_test_http_json_str(a, "peer"), "127.0.0.1");
    const char *id = op_test_http_json_str(a, "id");
    OP_CHECK(strlen(id) == 10 && memcmp(id, "r-", 2) == 0 &&
             strspn(id + 2, "0123456789abcdef") == 8);
    OP_CHECK_STR(op_test_http_json_str(b, "sub"), "v1/items/7");
    OP_CHECK(op_test_http_json_str(b, "bearer") == NULL);
    OP_CHECK_STR(op_test_http_json_str(d, "sub"), "");
    OP_CHECK(op_test_http_json_str(d, "bearer") == NULL);
    OP_CHECK(op_test_http_json_str(d, "sid") == NULL);
    /* two Authorization headers: refused before any handler (RFC 9110 §5.3) */
    op_test_http_check_error(e, 400, "invalid_request");
    OP_CHECK_STR(op_test_http_header(e, "Connection"), "close");
    OP_CHECK_STR(op_test_http_json_str(f, "path"), "/whoami");
    OP_CHECK(op_test_http_json_str(f, "bearer") == NULL);
    OP_CHECK_STR(op_test_http_json_str(g, "method"), "POST");
    OP_CHECK_STR(op_test_http_json_str(g, "path"), "/whoami");
    OP_CHECK_STR(op_test_http_json_str(g, "q"), "absolute");
    OP_CHECK_INT(calls, 5);
    op_test_http_free(a);
    op_test_http_free(b);
    op_test_http_free(d);
    op_test_http_free(e);
    op_test_http_free(f);
    op_test_http_free(g);
    stop();
}

static void test_form_and_json_bodies(void)
{
    start();
    op_test_http_client_t *c[7];
    const char *form = "Content-Type: Application/X-WWW-Form-Urlencoded; charset=UTF-8\r\n";
    c[0] = op_test_http_req("POST", "/form", form, "x=hello+world&y=1");
    c[1] = op_test_http_req("POST", "/form", "Content-Type: text/plain\r\n", "x=1");
    c[2] = op_test_http_req("POST", "/form", form, "x=1&x=2");
    c[3] = op_test_http_req("POST", "/json", "Content-Type: application/json\r\n", "{\"x\":\"j\"}");
    c[4] =
        op_test_http_req("PATCH", "/json", "Content-Type: application/jsonp\r\n", "{\"x\":\"j\"}");
    c[5] = op_test_http_req("POST", "/json", "Content-Type: application/json\r\n",
                            "{\"x\":\"j\",\"x\":1}");
    c[6] = op_test_http_req("POST", "/form", NULL, "x=1");
    run();
    OP_CHECK_INT(c[0]->status, 200);
    OP_CHECK_STR(c[0]->body, "hello world");
    op_test_http_check_error(c[1], 400, "invalid_request");
    op_test_http_check_error(c[2], 400, "invalid_request");
    OP_CHECK_INT(c[3]->status, 200);
    OP_CHECK_STR(c[3]->body, "j");
    op_test_http_check_error(c[4], 400, "invalid_request");
    op_test_http_check_error(c[5], 400, "invalid_request");
    op_test_http_check_error(c[6], 400, "invalid_request");
    for (size_t i = 0; i < OP_NELEMS(c); i++)
        op_test_http_free(c[i]);
    OP_CHECK_INT(calls, 7);
    stop();
}

/* The deadline answers 503; the handler's late reply is dropped safely
 * and frees the request. */
static op_test_http_client_t *late_client;
static void late_reply_after_503(void)
{
    OP_CHECK(late_client->done);
    OP_CHECK(kept != NULL && op_http_req_replied(kept));
    OP_CHECK_INT(op_http_in_flight(srv), 0);
    OP_CHECK_INT(frees, 0); /* still waiting for the handler */
    OP_CHECK_INT(op_http_reply_header(kept, "X-Late", "1"), OP_OK); /* dropped */
    op_http_reply_json(kept, 200, "{}", 2, 0);
    OP_CHECK_INT(frees, 1);
    kept = NULL;
    op_loop_stop(loop);
}

static void test_deadline_503_then_late_reply(void)
{
    op_http_config_t cfg = test_config();
    cfg.request_timeout_ms = 30;
    start_with(&cfg);
    op_test_http.on_all_done = late_reply_after_503;
    late_client = op_test_http_req("GET", "/never", NULL, NULL);
    run();
    op_test_http_check_error(late_client, 503, "temporarily_unavailable");
    OP_CHECK(op_test_http_header(late_client, "X-Late") == NULL);
    OP_CHECK_INT(calls, 1);
    op_test_http_free(late_client);
    stop();
}

static void test_reply_from_timer(void)
{
    start();
    op_test_http_client_t *c = op_test_http_req("GET", "/later", NULL, NULL);
    run();
    OP_CHECK_INT(c->status, 200);
    OP_CHECK_STR(c->body, "{\"later\":true}");
    OP_CHECK(op_test_http_header(c, "Cache-Control") == NULL);
    OP_CHECK_INT(calls, 1);
    OP_CHECK_INT(frees, 1);
    op_test_http_free(c);
    stop();
}

static void test_header_injection_refused(void)
{
    start();
    op_test_http_client_t *a = op_test_http_req("GET", "/inject", NULL, NULL);
    op_test_http_client_t *b = op_test_http_req("GET", "/redirect", NULL, NULL);
    run();
    for (size_t i = 0; i < OP_NELEMS(inject_rc); i++)
        OP_CHECK_INT(inject_rc[i], i == 4 ? OP_OK : OP_EINVAL);
    /* the bad Location became a 500; nothing injected went out */
    op_test_http_check_error(a, 500, "server_error");
    OP_CHECK(strstr(a->raw, "evil") == NULL);
    OP_CHECK(op_test_http_header(a, "Location") == NULL);
    OP_CHECK_STR(op_test_http_header(a, "X-Good"), "fine, \"quoted\"\tvalue");
    OP_CHECK_INT(b->status, 302);
    OP_CHECK_STR(op_test_http_header(b, "Location"), "https://rp.example/cb?state=a%20b");
    OP_CHECK_STR(op_test_http_header(b, "Cache-Control"), "no-store");
    op_test_http_free(a);
    op_test_http_free(b);
    stop();
}

static void test_error_replies(void)
{
    start();
    op_test_http_client_t *a = op_test_http_req("GET", "/deny", NULL, NULL);
    op_test_http_client_t *b = op_test_http_req("GET", "/bugs", NULL, NULL);
    op_test_http_client_t *d = op_test_http_req("GET", "/unset", NULL, NULL);
    run();
    op_test_http_check_error(a, 401, "invalid_token");
    OP_CHECK_STR(op_test_http_header(a, "WWW-Authenticate"),
                 "Bearer error=\"invalid_token\", error_description=\"the 'token' expired\"");
    OP_CHECK_STR(op_test_http_json_str(a, "error_description"), "the 'token' expired");
    OP_CHECK_INT(b->status, 500);
    OP_CHECK_STR(op_test_http_json_str(b, "error"), "server_error");
    OP_CHECK_INT(d->status, 500);
    OP_CHECK_STR(op_test_http_json_str(d, "error"), "server_error");
    OP_CHECK(op_test_http_header(d, "WWW-Authenticate") == NULL);
    op_test_http_free(a);
    op_test_http_free(b);
    op_test_http_free(d);
    stop();
}

/* The client disconnects before the reply: the request is still answered
 * (into the void) and freed; LSan checks nothing leaks. */
static void stop_loop(void *arg)
{
    OP_UNUSED(arg);
    op_loop_stop(loop);
}

static void test_client_gone_before_reply(void)
{
    start();
    gone_client = op_test_http_req("GET", "/gone", NULL, NULL);
    gone_stop = op_timer_new(loop, stop_loop, NULL);
    OP_CHECK(gone_stop != NULL);
    run();
    OP_CHECK_INT(calls, 1);
    OP_CHECK_INT(frees, 1);
    OP_CHECK(!gone_client->done);
    free(gone_client);
    op_timer_free(gone_stop);
    stop();
}

/* op_http_free with a request in flight (from the loop, right after the
 * handler): best-effort 503, then the handler's late reply only frees its
 * own request. */
static void free_server(void *arg)
{
    OP_UNUSED(arg);
    OP_CHECK_INT(op_http_in_flight(srv), 1);
    op_http_free(srv);
    srv = NULL;
}

static void reply_after_free(void)
{
    OP_CHECK(kept != NULL && op_http_req_replied(kept));
    OP_CHECK_INT(frees, 0);
    op_http_reply_json(kept, 200, "{}", 2, 0);
    OP_CHECK_INT(frees, 1);
    op_loop_stop(loop);
}

static void test_free_with_request_in_flight(void)
{
    start();
    op_test_http.on_all_done = reply_after_free;
    never_hook = free_server;
    op_test_http_client_t *c = op_test_http_req("GET", "/never", NULL, NULL);
    run();
    OP_CHECK(c->done);
    OP_CHECK_INT(calls, 1);
    op_test_http_free(c);
    op_loop_free(loop);
}

static void test_stop_accepting(void)
{
    start();
    op_http_stop_accepting(srv);
    op_http_stop_accepting(srv); /* idempotent */
    op_test_http_client_t *c = op_test_http_req("GET", "/hello", NULL, NULL);
    run();
    OP_CHECK(c->failed);
    OP_CHECK_INT(calls, 0);
    op_test_http_free(c);
    stop();
}

/* cfg->fd: accept on a socket bound by the caller. */
static void test_accept_on_given_fd(void)
{
    op_http_config_t cfg = test_config();
    struct sockaddr_in sin;
    socklen_t sl = sizeof(sin);
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    memset(&sin, 0, sizeof(sin));
    sin.sin_family = AF_INET;
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    OP_CHECK(fd >= 0);
    OP_CHECK(bind(fd, (struct sockaddr *)&sin, sizeof(sin)) == 0);
    OP_CHECK(listen(fd, 16) == 0);
    OP_CHECK(getsockname(fd, (struct sockaddr *)&sin, &sl) == 0);
    cfg.fd = fd;
    cfg.address = NULL;
    start_with(&cfg);
    OP_CHECK_INT(op_http_port(srv), ntohs(sin.sin_port));
    op_test_http_client_t *c = op_test_http_req("GET", "/hello", NULL, NULL);
    run();
    OP_CHECK_INT(c->status, 200);
    op_test_http_free(c);
    stop();
}

static void test_new_rejects_bad_config(void)
{
    op_http_config_t cfg = test_config();
    op_http_route_t bad = {OP_HTTP_GET, "relative", 0, h_hello, NULL};
    op_err_t err;

    loop = op_loop_new();
    OP_CHECK(loop != NULL);
    cfg.address = "not-an-ip";
    op_err_clear(&err);
    OP_CHECK(op_http_new(loop, &cfg, routes, OP_NELEMS(routes), &err) == NULL);
    OP_CHECK_INT(err.code, OP_EINVAL);
    cfg = test_config();
    OP_CHECK(op_http_new(loop, &cfg, &bad, 1, &err) == NULL);
    OP_CHECK_INT(err.code, OP_EINVAL);
    cfg.port = 70000;
    OP_CHECK(op_http_new(loop, &cfg, routes, OP_NELEMS(routes), &err) == NULL);
    /* an arena that cannot hold the request object itself */
    cfg = test_config();
    cfg.arena_max = 1024;
    op_err_clear(&err);
    OP_CHECK(op_http_new(loop, &cfg, routes, OP_NELEMS(routes), &err) == NULL);
    OP_CHECK_INT(err.code, OP_EINVAL);
    op_http_free(NULL);
    op_loop_free(loop);
}

/* Workers share one port with SO_REUSEPORT. */
static void test_reuse_port(void)
{
    op_http_config_t cfg = test_config();
    op_err_t err;
    cfg.reuse_port = true;
    start_with(&cfg);
    cfg.port = op_http_port(srv);
    op_http_t *second = op_http_new(loop, &cfg, routes, OP_NELEMS(routes), &err);
    OP_CHECK(second != NULL);
    OP_CHECK_INT(op_http_port(second), cfg.port);
    op_http_free(second);
    cfg.reuse_port = false;
    OP_CHECK(op_http_new(loop, &cfg, routes, OP_NELEMS(routes), &err) == NULL);
    stop();
}

/* One info line per request: method, path without the query, status. A
 * path no route takes is client text the log cannot vet (a token pasted
 * into a URL): only its tag is shown (RFC 6819 §5.1.4.1.3: no secrets in
 * logs). */
static void test_log_line(void)
{
    static const char unrouted[] = "/nope/access_token=s3cr3t-in-path";
    char path[] = "/tmp/test_op_http_log_XXXXXX";
    char tag[OP_SECRET_TAG_LEN + 1], want[64];
    int fd = mkstemp(path);
    char buf[4096];

    OP_CHECK(fd >= 0);
    unlink(path);
    start();
    op_log_init(OP_LOG_INFO, fd);
    op_test_http_client_t *c = op_test_http_req("GET", "/whoami?q=secret-value", NULL, NULL);
    op_test_http_client_t *d = op_test_http_req("GET", unrouted, NULL, NULL);
    run();
    OP_CHECK_INT(c->status, 200);
    OP_CHECK_INT(d->status, 404);
    ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
    OP_CHECK(n > 0);
    buf[n] = '\0';
    OP_CHECK(strstr(buf, "http: GET /whoami 200 ") != NULL);
    OP_CHECK(strstr(buf, "secret-value") == NULL);
    OP_CHECK(strstr(buf, op_test_http_json_str(c, "id")) != NULL);
    op_keys_crypto_secret_tag(unrouted, strlen(unrouted), tag);
    snprintf(want, sizeof(want), "http: GET ~%s 404 ", tag);
    OP_CHECK_HAS(buf, want);
    OP_CHECK(strstr(buf, "s3cr3t") == NULL && strstr(buf, "/nope") == NULL);
    close(fd);
    op_test_http_free(c);
    op_test_http_free(d);
    stop();
}

/*
 * A route whose subpath starts with a bearer secret (a session id): no
 * log line shows it, whatever answers (the handler, the router's 405, the
 * 400 of a bad query read after the path); each shows its tag, the first
 * hex digits of its SHA-256 (RFC 6819 §5.1.4.1.3: no secrets in logs).
 */
static void test_log_line_masks_secret(void)
{
    static const char secret[] = "ZGVtbw.s3cr3t-SESSION-id_0123456789abcdefghijklmnopq";
    static const char *const methods[] = {"GET", "PUT", "GET"};
    static const char *const tails[] = {"/data", "", "?a&a"}; /* after the secret */
    static const char *const shown[] = {"/data", "", ""};     /* ... in the log */
    static const int status[] = {200, 405, 400};
    char path[] = "/tmp/test_op_http_log_XXXXXX";
    char tag[OP_SECRET_TAG_LEN + 1], want[64], buf[4096], target[128];
    int fd = mkstemp(path);
    op_test_http_client_t *c[3];

    OP_CHECK(fd >= 0);
    unlink(path);
    start();
    op_log_init(OP_LOG_INFO, fd);
    for (size_t i = 0; i < OP_NELEMS(c); i++) {
        snprintf(target, sizeof(target), "/sess/%s%s", secret, tails[i]);
        c[i] = op_test_http_req(methods[i], target, NULL, NULL);
    }
    run();
    ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
    OP_CHECK(n > 0);
    buf[n] = '\0';
    OP_CHECK(strstr(buf, "s3cr3t") == NULL);
    op_keys_crypto_secret_tag(secret, strlen(secret), tag);
    for (size_t i = 0; i < OP_NELEMS(c); i++) {
        OP_CHECK_INT(c[i]->status, status[i]);
        snprintf(want, sizeof(want), "http: %s /sess/~%s%s %d ", methods[i], tag, shown[i],
                 status[i]);
        OP_CHECK_HAS(buf, want);
        op_test_http_free(c[i]);
    }
    close(fd);
    stop();
}

static const op_test_case_t cases[] = {
    {"get_json_no_store", test_get_json_no_store},
    {"not_found", test_not_found},
    {"method_not_allowed", test_method_not_allowed},
    {"head_follows_get", test_head_follows_get},
    {"options_cors_preflight", test_options_cors_preflight},
    {"cors_any_origin", test_cors_any_origin},
    {"body_too_large", test_body_too_large},
    {"headers_too_large", test_headers_too_large},
    {"headers_past_the_arena", test_headers_past_the_arena},
    {"bad_query_and_path", test_bad_query_and_path},
    {"request_api", test_request_api},
    {"form_and_json_bodies", test_form_and_json_bodies},
    {"deadline_503_then_late_reply", test_deadline_503_then_late_reply},
    {"reply_from_timer", test_reply_from_timer},
    {"header_injection_refused", test_header_injection_refused},
    {"error_replies", test_error_replies},
    {"client_gone_before_reply", test_client_gone_before_reply},
    {"free_with_request_in_flight", test_free_with_request_in_flight},
    {"stop_accepting", test_stop_accepting},
    {"accept_on_given_fd", test_accept_on_given_fd},
    {"new_rejects_bad_config", test_new_rejects_bad_config},
    {"reuse_port", test_reuse_port},
    {"log_line", test_log_line},
    {"log_line_masks_secret", test_log_line_masks_secret},
};

OP_TEST_MAIN(cases)
