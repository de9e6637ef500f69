/*
 * Unit tests: http/op_http.c, op_http_req.c, op_http_reply.c - an
 * in-process server on 127.0.0.1:0 and raw HTTP/1.1 clients (bufferevents
 * on the same loop), so every byte sent and received is under the test's
 * control. Each request's arena gets a cleanup that counts frees, so the
 * tests check that every request is freed exactly once.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "http/op_http.h"
#include "keys/op_keys.h"
#include "tests/unit/op_test.h"

/* ---- the raw client --------------------------------------------------- */

typedef struct tclient {
    struct bufferevent *bev;
    struct evbuffer *acc;
    bool done;
    bool failed; /* connection error before any answer */
    int status;
    char *raw; /* whole response, NUL-terminated */
    size_t raw_len;
    const char *body;
    size_t body_len;
} tclient_t;

static op_loop_t *loop;
static op_http_t *srv;
static int open_clients;
static void (*on_all_done)(void); /* default: stop the loop */

static void tc_finish(tclient_t *c)
{
    evbuffer_add_buffer(c->acc, bufferevent_get_input(c->bev));
    bufferevent_free(c->bev);
    c->bev = NULL;
    c->raw_len = evbuffer_get_length(c->acc);
    c->raw = malloc(c->raw_len + 1);
    OP_CHECK(c->raw != NULL);
    evbuffer_remove(c->acc, c->raw, c->raw_len);
    c->raw[c->raw_len] = '\0';
    evbuffer_free(c->acc);
    c->acc = NULL;
    c->failed = c->raw_len == 0;
    if (c->raw_len >= 12 && memcmp(c->raw, "HTTP/1.", 7) == 0)
        c->status = (c->raw[9] - '0') * 100 + (c->raw[10] - '0') * 10 + (c->raw[11] - '0');
    char *end = strstr(c->raw, "\r\n\r\n");
    c->body = end != NULL ? end + 4 : "";
    c->body_len = end != NULL ? c->raw_len - (size_t)(end + 4 - c->raw) : 0;
    c->done = true;
    if (--open_clients == 0) {
        if (on_all_done != NULL)
            on_all_done();
        else
            op_loop_stop(loop);
    }
}

static void tc_on_read(struct bufferevent *bev, void *arg)
{
    tclient_t *c = arg;
    evbuffer_add_buffer(c->acc, bufferevent_get_input(bev));
}

static void tc_on_event(struct bufferevent *bev, short what, void *arg)
{
    OP_UNUSED(bev);
    if (what & BEV_EVENT_CONNECTED)
        return;
    tc_finish(arg);
}

/* Connect to the server and send raw bytes; the answer is read until the
 * server closes (requests say "Connection: close"). */
static tclient_t *tc_raw(const char *bytes, size_t len)
{
    tclient_t *c = calloc(1, sizeof(*c));
    struct sockaddr_in sin;

    OP_CHECK(c != NULL);
    memset(&sin, 0, sizeof(sin));
    sin.sin_family = AF_INET;
    sin.sin_port = htons((uint16_t)op_http_port(srv));
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    c->acc = evbuffer_new();
    c->bev = bufferevent_socket_new(op_loop_base(loop), -1, BEV_OPT_CLOSE_ON_FREE);
    OP_CHECK(c->acc != NULL && c->bev != NULL);
    bufferevent_setcb(c->bev, tc_on_read, NULL, tc_on_event, c);
    bufferevent_enable(c->bev, EV_READ);
    OP_CHECK(bufferevent_socket_connect(c->bev, (struct sockaddr *)&sin, sizeof(sin)) == 0);
    OP_CHECK(bufferevent_write(c->bev, bytes, len) == 0);
    open_clients++;
    return c;
}

/* method target HTTP/1.1 with extra header lines (each ending in CRLF)
 * and an optional body. */
static tclient_t *tc_req(const char *method, const char *target, const char *headers,
                         const char *body)
{
    char buf[16384];
    int n = snprintf(buf, sizeof(buf),
                     "%s %s HTTP/1.1\r\nHost: test\r\nConnection: close\r\n%s"
                     "Content-Length: %zu\r\n\r\n%s",
                     method, target, headers != NULL ? headers : "",
                     body != NULL ? strlen(body) : 0, body != NULL ? body : "");
    OP_CHECK(n > 0 && (size_t)n < sizeof(buf));
    return tc_raw(buf, (size_t)n);
}

/* Value of a response header (first one), NULL when absent. */
static char *tc_header(const tclient_t *c, const char *name)
{
    static char value[1024];
    const char *p = strstr(c->raw, "\r\n");
    size_t nlen = strlen(name);

    while (p != NULL && p[2] != '\r') {
        const char *line = p + 2;
        const char *eol = strstr(line, "\r\n");
        if (eol == NULL)
            return NULL;
        if ((size_t)(eol - line) > nlen + 1 && strncasecmp(line, name, nlen) == 0 &&
            line[nlen] == ':') {
            const char *v = line + nlen + 1;
            while (*v == ' ')
                v++;
            size_t vlen = (size_t)(eol - v);
            OP_CHECK(vlen < sizeof(value));
            memcpy(value, v, vlen);
            value[vlen] = '\0';
            return value;
        }
        p = eol;
    }
    return NULL;
}

/* The JSON member `key` (a string) of the response body. */
static char *tc_json_str(const tclient_t *c, const char *key)
{
    static char out[1024];
    op_arena_t *a = op_arena_new(1 << 20);
    op_json_t *v = NULL;
    const char *s;

    OP_CHECK(a != NULL);
    OP_CHECK_INT(op_json_parse(a, c->body, c->body_len, NULL, &v, NULL), OP_OK);
    s = op_json_get_str(v, key);
    if (s == NULL) {
        op_arena_free(a);
        return NULL;
    }
    OP_CHECK(strlen(s) < sizeof(out));
    memcpy(out, s, strlen(s) + 1);
    op_arena_free(a);
    return out;
}

static void tc_free(tclient_t *c)
{
    free(c->raw);
    free(c);
}

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
        OP_CHECK_INT(op_defer(op_http_req_loop(req), never_hook, NULL), OP_OK);
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
    inject_rc[0] = op_http_add_header(req, "X-Bad", "a\r\nSet-Cookie: evil=1");
    inject_rc[1] = op_http_add_header(req, "X-Bad", "a\nb");
    inject_rc[2] = op_http_add_header(req, "X-Bad\r\nSet-Cookie", "evil=1");
    inject_rc[3] = op_http_add_header(req, "Bad Name", "x");
    inject_rc[4] = op_http_add_header(req, "X-Good", "fine, \"quoted\"\tvalue");
    inject_rc[5] = op_http_add_header(req, "X-Bad", "a\x01");
    inject_rc[6] = op_http_add_header(req, "content-length", "0");
    inject_rc[7] = op_http_add_header(req, "Transfer-Encoding", "chunked");
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
static tclient_t *gone_client;
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
    open_clients--;
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
    op_err_t err;
    op_log_init(OP_LOG_WARN, 2);
    loop = op_loop_new();
    OP_CHECK(loop != NULL);
    op_err_clear(&err);
    srv = op_http_new(loop, cfg, routes, OP_NELEMS(routes), &err);
    if (srv == NULL)
        fprintf(stderr, "op_http_new: %s\n", err.description);
    OP_CHECK(srv != NULL);
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

/* Common headers of every answer we produce. */
static void check_common(const tclient_t *c, const char *content_type)
{
    OP_CHECK_STR(tc_header(c, "X-Content-Type-Options"), "nosniff");
    if (content_type != NULL)
        OP_CHECK_STR(tc_header(c, "Content-Type"), content_type);
}

static void check_error(const tclient_t *c, int status, const char *error)
{
    OP_CHECK_INT(c->status, status);
    check_common(c, "application/json");
    OP_CHECK_STR(tc_header(c, "Cache-Control"), "no-store");
    OP_CHECK_STR(tc_json_str(c, "error"), error);
    OP_CHECK(tc_json_str(c, "error_description") != NULL);
}

/* ---- cases ---------------------------------------------------------------- */

static void test_get_json_no_store(void)
{
    start();
    tclient_t *c = tc_req("GET", "/hello", NULL, NULL);
    run();
    OP_CHECK_INT(c->status, 200);
    check_common(c, "application/json");
    OP_CHECK_STR(tc_header(c, "Cache-Control"), "no-store");
    OP_CHECK_STR(tc_header(c, "Pragma"), "no-cache");
    OP_CHECK_STR(c->body, "{\"hello\":\"world\"}");
    OP_CHECK_INT(calls, 1);
    tc_free(c);
    stop();
}

static void test_not_found(void)
{
    start();
    tclient_t *a = tc_req("GET", "/nope", NULL, NULL);
    tclient_t *b = tc_req("GET", "/hello/extra", NULL, NULL); /* no prefix flag */
    tclient_t *d = tc_req("GET", "/apix", NULL, NULL);
    run();
    check_error(a, 404, "not_found");
    check_error(b, 404, "not_found");
    check_error(d, 404, "not_found");
    OP_CHECK_INT(calls, 0);
    tc_free(a);
    tc_free(b);
    tc_free(d);
    stop();
}

static void test_method_not_allowed(void)
{
    start();
    tclient_t *a = tc_req("DELETE", "/hello", NULL, NULL);
    tclient_t *b = tc_req("POST", "/split", NULL, "x");
    tclient_t *d = tc_req("PUT", "/split", NULL, "x");
    run();
    check_error(a, 405, "invalid_request");
    OP_CHECK_STR(tc_header(a, "Allow"), "GET, HEAD, OPTIONS");
    check_error(b, 405, "invalid_request");
    OP_CHECK_STR(tc_header(b, "Allow"), "GET, HEAD, PUT, OPTIONS");
    /* the second route of the same path takes PUT */
    OP_CHECK_INT(d->status, 200);
    OP_CHECK_STR(d->body, "put");
    OP_CHECK_STR(tc_header(d, "Content-Type"), "text/plain; charset=utf-8");
    OP_CHECK_INT(calls, 1);
    tc_free(a);
    tc_free(b);
    tc_free(d);
    stop();
}

static void test_head_follows_get(void)
{
    start();
    tclient_t *c = tc_req("HEAD", "/hello", NULL, NULL);
    run();
    OP_CHECK_INT(c->status, 200);
    check_common(c, "application/json");
    OP_CHECK_STR(tc_header(c, "Content-Length"), "17");
    OP_CHECK_INT(c->body_len, 0);
    OP_CHECK_INT(calls, 1);
    tc_free(c);
    stop();
}

static void test_options_cors_preflight(void)
{
    start();
    const char *pre = "Origin: https://app.example\r\n"
                      "Access-Control-Request-Method: GET\r\n";
    tclient_t *a = tc_req("OPTIONS", "/hello", pre, NULL);
    tclient_t *b = tc_req("OPTIONS", "/hello", "Origin: https://evil.example\r\n", NULL);
    tclient_t *d = tc_req("OPTIONS", "/whoami", "Origin: https://app.example\r\n", NULL);
    tclient_t *e = tc_req("GET", "/hello", "Origin: https://other.example\r\n", NULL);
    tclient_t *f = tc_req("GET", "/hello", "Origin: https://evil.example\r\n", NULL);
    run();
    OP_CHECK_INT(a->status, 204);
    OP_CHECK_STR(tc_header(a, "Access-Control-Allow-Origin"), "https://app.example");
    OP_CHECK_STR(tc_header(a, "Access-Control-Allow-Methods"), "GET, HEAD, OPTIONS");
    OP_CHECK_STR(tc_header(a, "Access-Control-Allow-Headers"), "Authorization, Content-Type, DPoP");
    OP_CHECK_STR(tc_header(a, "Access-Control-Max-Age"), "600");
    OP_CHECK_STR(tc_header(a, "Vary"), "Origin");
    OP_CHECK_STR(tc_header(a, "Allow"), "GET, HEAD, OPTIONS");
    OP_CHECK(tc_header(a, "Content-Type") == NULL);
    OP_CHECK_INT(a->body_len, 0);
    /* an origin not on the list gets no CORS grant */
    OP_CHECK_INT(b->status, 204);
    OP_CHECK(tc_header(b, "Access-Control-Allow-Origin") == NULL);
    OP_CHECK(tc_header(b, "Access-Control-Allow-Methods") == NULL);
    /* not a CORS route: a plain 204 with Allow */
    OP_CHECK_INT(d->status, 204);
    OP_CHECK_STR(tc_header(d, "Allow"), "GET, HEAD, POST, OPTIONS");
    OP_CHECK(tc_header(d, "Access-Control-Allow-Origin") == NULL);
    /* normal answers on a CORS route */
    OP_CHECK_INT(e->status, 200);
    OP_CHECK_STR(tc_header(e, "Access-Control-Allow-Origin"), "https://other.example");
    OP_CHECK_STR(tc_header(e, "Vary"), "Origin");
    OP_CHECK_INT(f->status, 200);
    OP_CHECK(tc_header(f, "Access-Control-Allow-Origin") == NULL);
    OP_CHECK_STR(tc_header(f, "Vary"), "Origin");
    OP_CHECK_INT(calls, 2);
    tc_free(a);
    tc_free(b);
    tc_free(d);
    tc_free(e);
    tc_free(f);
    stop();
}

static void test_cors_any_origin(void)
{
    op_http_config_t cfg = test_config();
    cfg.cors_origins = "*";
    start_with(&cfg);
    tclient_t *a = tc_req("GET", "/hello", "Origin: https://anyone.example\r\n", NULL);
    tclient_t *b = tc_req("OPTIONS", "/hello", "Origin: https://anyone.example\r\n", NULL);
    run();
    OP_CHECK_STR(tc_header(a, "Access-Control-Allow-Origin"), "*");
    OP_CHECK(tc_header(a, "Vary") == NULL);
    OP_CHECK_STR(tc_header(b, "Access-Control-Allow-Origin"), "*");
    OP_CHECK_STR(tc_header(b, "Access-Control-Allow-Methods"), "GET, HEAD, OPTIONS");
    tc_free(a);
    tc_free(b);
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
    tclient_t *a =
        tc_req("POST", "/form", "Content-Type: application/x-www-form-urlencoded\r\n", big);
    big[101] = 'a';
    big[100] = '\0';
    tclient_t *b =
        tc_req("POST", "/form", "Content-Type: application/x-www-form-urlencoded\r\n", big);
    run();
    OP_CHECK_INT(a->status, 413);
    OP_CHECK_INT(b->status, 200);
    OP_CHECK_INT(b->body_len, 98);
    OP_CHECK_INT(calls, 1);
    tc_free(a);
    tc_free(b);
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
    tclient_t *a = tc_req("GET", "/hello", hdr, NULL);
    memset(hdr + 7, 'a', 2500);
    memcpy(hdr + 2507, "\r\n", 3);
    tclient_t *b = tc_req("GET", "/hello", hdr, NULL);
    tclient_t *d = tc_req("GET", "/hello", "X-Small: 1\r\n", NULL);
    run();
    check_error(a, 431, "invalid_request");
    OP_CHECK_INT(b->status, 400);
    OP_CHECK_INT(d->status, 200);
    OP_CHECK_INT(calls, 1);
    tc_free(a);
    tc_free(b);
    tc_free(d);
    stop();
}

static void test_bad_query_and_path(void)
{
    start();
    tclient_t *c[7];
    c[6] = tc_req("OPTIONS", "*", NULL, NULL);
    c[0] = tc_req("GET", "/whoami?q=1&q=2", NULL, NULL);
    c[1] = tc_req("GET", "/whoami?q=%zz", NULL, NULL);
    c[2] = tc_req("GET", "/who%00ami", NULL, NULL);
    c[3] = tc_req("GET", "/who%zzami", NULL, NULL);
    c[4] = tc_req("GET", "/who%FFami", NULL, NULL);
    c[5] = tc_req("GET", "/whoami?q=%00", NULL, NULL);
    run();
    for (size_t i = 0; i < OP_NELEMS(c); i++) {
        check_error(c[i], 400, "invalid_request");
        tc_free(c[i]);
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
    tclient_t *a = tc_req("GET", "/whoami?q=a+b%2Bc&x=", h, NULL);
    tclient_t *b = tc_req("GET", "/api/v1/items%2F7", "Authorization: Bearer a b\r\n", NULL);
    tclient_t *d = tc_req("GET", "/api", "Authorization: Basic YTpi\r\nCookie: bad\r\n", NULL);
    tclient_t *e =
        tc_req("GET", "/whoami", "Authorization: Bearer x\r\nAuthorization: Bearer y\r\n", NULL);
    tclient_t *f = tc_req("GET", "/wh%6Fami", "Authorization: Bearer\r\n", NULL);
    tclient_t *g = tc_req("POST", "http://test/whoami?q=absolute", NULL, "ignored");
    run();
    OP_CHECK_INT(a->status, 200);
    OP_CHECK_STR(tc_json_str(a, "method"), "GET");
    OP_CHECK_STR(tc_json_str(a, "path"), "/whoami");
    OP_CHECK_STR(tc_json_str(a, "q"), "a b+c");
    OP_CHECK_STR(tc_json_str(a, "bearer"), "abc.DEF-_~+/==");
    OP_CHECK_STR(tc_json_str(a, "sid"), "s1");
    OP_CHECK_STR(tc_json_str(a, "xtest"), "yes");
    OP_CHECK_STR(tc_json_str(a, "peer"), "127.0.0.1");
    const char *id = tc_json_str(a, "id");
    OP_CHECK(strlen(id) == 10 && memcmp(id, "r-", 2) == 0 &&
             strspn(id + 2, "0123456789abcdef") == 8);
    OP_CHECK_STR(tc_json_str(b, "sub"), "v1/items/7");
    OP_CHECK(tc_json_str(b, "bearer") == NULL);
    OP_CHECK_STR(tc_json_str(d, "sub"), "");
    OP_CHECK(tc_json_str(d, "bearer") == NULL);
    OP_CHECK(tc_json_str(d, "sid") == NULL);
    OP_CHECK(tc_json_str(e, "bearer") == NULL); /* two Authorization headers */
    OP_CHECK_STR(tc_json_str(f, "path"), "/whoami");
    OP_CHECK(tc_json_str(f, "bearer") == NULL);
    OP_CHECK_STR(tc_json_str(g, "method"), "POST");
    OP_CHECK_STR(tc_json_str(g, "path"), "/whoami");
    OP_CHECK_STR(tc_json_str(g, "q"), "absolute");
    OP_CHECK_INT(calls, 6);
    tc_free(a);
    tc_free(b);
    tc_free(d);
    tc_free(e);
    tc_free(f);
    tc_free(g);
    stop();
}

static void test_form_and_json_bodies(void)
{
    start();
    tclient_t *c[7];
    const char *form = "Content-Type: Application/X-WWW-Form-Urlencoded; charset=UTF-8\r\n";
    c[0] = tc_req("POST", "/form", form, "x=hello+world&y=1");
    c[1] = tc_req("POST", "/form", "Content-Type: text/plain\r\n", "x=1");
    c[2] = tc_req("POST", "/form", form, "x=1&x=2");
    c[3] = tc_req("POST", "/json", "Content-Type: application/json\r\n", "{\"x\":\"j\"}");
    c[4] = tc_req("PATCH", "/json", "Content-Type: application/jsonp\r\n", "{\"x\":\"j\"}");
    c[5] = tc_req("POST", "/json", "Content-Type: application/json\r\n", "{\"x\":\"j\",\"x\":1}");
    c[6] = tc_req("POST", "/form", NULL, "x=1");
    run();
    OP_CHECK_INT(c[0]->status, 200);
    OP_CHECK_STR(c[0]->body, "hello world");
    check_error(c[1], 400, "invalid_request");
    check_error(c[2], 400, "invalid_request");
    OP_CHECK_INT(c[3]->status, 200);
    OP_CHECK_STR(c[3]->body, "j");
    check_error(c[4], 400, "invalid_request");
    check_error(c[5], 400, "invalid_request");
    check_error(c[6], 400, "invalid_request");
    for (size_t i = 0; i < OP_NELEMS(c); i++)
        tc_free(c[i]);
    OP_CHECK_INT(calls, 7);
    stop();
}

/* The deadline answers 503; the handler's late reply is dropped safely
 * and frees the request. */
static tclient_t *late_client;
static void late_reply_after_503(void)
{
    OP_CHECK(late_client->done);
    OP_CHECK(kept != NULL && op_http_req_replied(kept));
    OP_CHECK_INT(op_http_in_flight(srv), 0);
    OP_CHECK_INT(frees, 0); /* still waiting for the handler */
    OP_CHECK_INT(op_http_add_header(kept, "X-Late", "1"), OP_OK); /* dropped */
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
    on_all_done = late_reply_after_503;
    late_client = tc_req("GET", "/never", NULL, NULL);
    run();
    check_error(late_client, 503, "temporarily_unavailable");
    OP_CHECK(tc_header(late_client, "X-Late") == NULL);
    OP_CHECK_INT(calls, 1);
    tc_free(late_client);
    stop();
}

static void test_reply_from_timer(void)
{
    start();
    tclient_t *c = tc_req("GET", "/later", NULL, NULL);
    run();
    OP_CHECK_INT(c->status, 200);
    OP_CHECK_STR(c->body, "{\"later\":true}");
    OP_CHECK(tc_header(c, "Cache-Control") == NULL);
    OP_CHECK_INT(calls, 1);
    OP_CHECK_INT(frees, 1);
    tc_free(c);
    stop();
}

static void test_header_injection_refused(void)
{
    start();
    tclient_t *a = tc_req("GET", "/inject", NULL, NULL);
    tclient_t *b = tc_req("GET", "/redirect", NULL, NULL);
    run();
    for (size_t i = 0; i < OP_NELEMS(inject_rc); i++)
        OP_CHECK_INT(inject_rc[i], i == 4 ? OP_OK : OP_EINVAL);
    /* the bad Location became a 500; nothing injected went out */
    check_error(a, 500, "server_error");
    OP_CHECK(strstr(a->raw, "evil") == NULL);
    OP_CHECK(tc_header(a, "Location") == NULL);
    OP_CHECK_STR(tc_header(a, "X-Good"), "fine, \"quoted\"\tvalue");
    OP_CHECK_INT(b->status, 302);
    OP_CHECK_STR(tc_header(b, "Location"), "https://rp.example/cb?state=a%20b");
    OP_CHECK_STR(tc_header(b, "Cache-Control"), "no-store");
    tc_free(a);
    tc_free(b);
    stop();
}

static void test_error_replies(void)
{
    start();
    tclient_t *a = tc_req("GET", "/deny", NULL, NULL);
    tclient_t *b = tc_req("GET", "/bugs", NULL, NULL);
    tclient_t *d = tc_req("GET", "/unset", NULL, NULL);
    run();
    check_error(a, 401, "invalid_token");
    OP_CHECK_STR(tc_header(a, "WWW-Authenticate"),
                 "Bearer error=\"invalid_token\", error_description=\"the 'token' expired\"");
    OP_CHECK_STR(tc_json_str(a, "error_description"), "the 'token' expired");
    OP_CHECK_INT(b->status, 500);
    OP_CHECK_STR(tc_json_str(b, "error"), "server_error");
    OP_CHECK_INT(d->status, 500);
    OP_CHECK_STR(tc_json_str(d, "error"), "server_error");
    OP_CHECK(tc_header(d, "WWW-Authenticate") == NULL);
    tc_free(a);
    tc_free(b);
    tc_free(d);
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
    gone_client = tc_req("GET", "/gone", NULL, NULL);
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
    on_all_done = reply_after_free;
    never_hook = free_server;
    tclient_t *c = tc_req("GET", "/never", NULL, NULL);
    run();
    OP_CHECK(c->done);
    OP_CHECK_INT(calls, 1);
    tc_free(c);
    op_loop_free(loop);
}

static void test_stop_accepting(void)
{
    start();
    op_http_stop_accepting(srv);
    op_http_stop_accepting(srv); /* idempotent */
    tclient_t *c = tc_req("GET", "/hello", NULL, NULL);
    run();
    OP_CHECK(c->failed);
    OP_CHECK_INT(calls, 0);
    tc_free(c);
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
    tclient_t *c = tc_req("GET", "/hello", NULL, NULL);
    run();
    OP_CHECK_INT(c->status, 200);
    tc_free(c);
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

/* One info line per request: method, path without the query, status. */
static void test_log_line(void)
{
    char path[] = "/tmp/test_op_http_log_XXXXXX";
    int fd = mkstemp(path);
    char buf[4096];

    OP_CHECK(fd >= 0);
    unlink(path);
    start();
    op_log_init(OP_LOG_INFO, fd);
    tclient_t *c = tc_req("GET", "/whoami?q=secret-value", NULL, NULL);
    run();
    OP_CHECK_INT(c->status, 200);
    ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
    OP_CHECK(n > 0);
    buf[n] = '\0';
    OP_CHECK(strstr(buf, "http: GET /whoami 200 ") != NULL);
    OP_CHECK(strstr(buf, "secret-value") == NULL);
    OP_CHECK(strstr(buf, tc_json_str(c, "id")) != NULL);
    close(fd);
    tc_free(c);
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
    tclient_t *c[3];

    OP_CHECK(fd >= 0);
    unlink(path);
    start();
    op_log_init(OP_LOG_INFO, fd);
    for (size_t i = 0; i < OP_NELEMS(c); i++) {
        snprintf(target, sizeof(target), "/sess/%s%s", secret, tails[i]);
        c[i] = tc_req(methods[i], target, NULL, NULL);
    }
    run();
    ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
    OP_CHECK(n > 0);
    buf[n] = '\0';
    OP_CHECK(strstr(buf, "s3cr3t") == NULL);
    op_secret_tag(secret, strlen(secret), tag);
    for (size_t i = 0; i < OP_NELEMS(c); i++) {
        OP_CHECK_INT(c[i]->status, status[i]);
        snprintf(want, sizeof(want), "http: %s /sess/~%s%s %d ", methods[i], tag, shown[i],
                 status[i]);
        OP_CHECK_HAS(buf, want);
        tc_free(c[i]);
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
