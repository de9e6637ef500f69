/*
 * Unit tests: http/op_http_head.c and the request hand-over of
 * op_http_conn.c - message framing and field syntax of RFC 9112 and
 * RFC 9110 §5 against an in-process server, with exact bytes on raw
 * sockets. A request that is framed ambiguously or malformed gets 400 and
 * the connection closes, so bytes smuggled after it never run: the
 * /smuggled route counts the times it ran.
 */
#include "http/op_http.h"
#include "tests/unit/op_test_http.h"

static op_loop_t *loop;
static op_http_t *srv;
static int calls;    /* handlers run, /smuggled included */
static int smuggled; /* /smuggled ran */

static void h_hello(op_http_req_t *req, void *ctx)
{
    OP_UNUSED(ctx);
    calls++;
    op_http_reply_json(req, 200, "{}", 2, 0);
}

static void h_smuggled(op_http_req_t *req, void *ctx)
{
    OP_UNUSED(ctx);
    calls++;
    smuggled++;
    op_http_reply_json(req, 200, "{\"smuggled\":true}", 17, 0);
}

/* The form field x, the bearer token and X-Test, as JSON. */
static void h_echo(op_http_req_t *req, void *ctx)
{
    op_json_w_t *w = op_json_w_new(op_http_req_arena(req), false);
    const op_params_t *form = NULL;
    const char *out, *bearer = op_http_req_bearer(req);
    const char *xtest = op_http_req_header(req, "X-Test");
    size_t len;

    OP_UNUSED(ctx);
    calls++;
    op_json_w_obj_open(w);
    if (op_http_req_form(req, &form, NULL) == OP_OK && op_params_get(form, "x") != NULL)
        op_json_w_kstr(w, "x", op_params_get(form, "x"));
    if (bearer != NULL)
        op_json_w_kstr(w, "bearer", bearer);
    if (xtest != NULL)
        op_json_w_kstr(w, "xtest", xtest);
    op_json_w_obj_close(w);
    OP_CHECK_INT(op_json_w_finish(w, &out, &len, NULL), OP_OK);
    op_http_reply_json(req, 200, out, len, 0);
}

static const op_http_route_t routes[] = {
    {OP_HTTP_GET, "/hello", 0, h_hello, NULL},
    {OP_HTTP_GET, "/smuggled", 0, h_smuggled, NULL},
    {OP_HTTP_GET | OP_HTTP_POST, "/echo", 0, h_echo, NULL},
};

static void start(void)
{
    op_http_config_t cfg = {
        .address = "127.0.0.1",
        .fd = -1,
        .max_body = 4096,
        .max_headers = 4096,
        .idle_timeout_s = 2, /* a connection left open ends a failing case soon */
        .request_timeout_ms = 5000,
    };

    srv = op_test_http_start(&cfg, routes, OP_NELEMS(routes));
    loop = op_test_http.loop;
}

static void run(void)
{
    OP_CHECK_INT(op_loop_run(loop), OP_OK);
}

static void stop(void)
{
    OP_CHECK_INT(op_http_in_flight(srv), 0);
    op_http_free(srv);
    op_loop_free(loop);
}

static op_test_http_client_t *send_bytes(const char *bytes, size_t len)
{
    return op_test_http_raw(bytes, len);
}

static op_test_http_client_t *send_str(const char *text)
{
    return send_bytes(text, strlen(text));
}

/* The request fits the ones above, the last is run after it: two
 * requests in one write. */
#define SMUGGLED "GET /smuggled HTTP/1.1\r\nHost: test\r\n\r\n"

/* 400 (or status), as the only answer, and the connection closed. */
static void check_refused(op_test_http_client_t *c, int status)
{
    if (c->status != status)
        fprintf(stderr, "answer: %s\n", c->raw);
    OP_CHECK_INT(c->status, status);
    OP_CHECK_INT(op_test_http_answers(c), 1);
    OP_CHECK_STR(op_test_http_header(c, "Connection"), "close");
    op_test_http_free(c);
}

/* RFC 9112 §6.3: two different Content-Length values make the framing
 * invalid; evhttp used the first and ran the rest as a second request. */
static void test_rfc9112_6_3_two_content_lengths_refused_nothing_smuggled(void)
{
    char a[512], b[512], d[512], e[512];
    const size_t n = strlen(SMUGGLED);

    start();
    snprintf(a, sizeof(a),
             "POST /echo HTTP/1.1\r\nHost: test\r\nContent-Length: 0\r\nContent-Length: %zu\r\n"
             "\r\n" SMUGGLED,
             n);
    snprintf(b, sizeof(b),
             "POST /echo HTTP/1.1\r\nHost: test\r\nContent-Length: %zu\r\nContent-Length: 0\r\n"
             "\r\n" SMUGGLED,
             n);
    snprintf(d, sizeof(d),
             "POST /echo HTTP/1.1\r\nHost: test\r\nContent-Length: +0\r\n\r\n" SMUGGLED);
    snprintf(e, sizeof(e),
             "POST /echo HTTP/1.1\r\nHost: test\r\nContent-Length: 0\r\ncontent-length: 0\r\n"
             "\r\n" SMUGGLED);
    op_test_http_client_t *c[] = {send_str(a), send_str(b), send_str(d), send_str(e)};
    run();
    for (size_t i = 0; i < OP_NELEMS(c); i++) {
        op_test_http_check_error(c[i], 400, "invalid_request");
        check_refused(c[i], 400);
    }
    OP_CHECK_INT(smuggled, 0);
    OP_CHECK_INT(calls, 0);
    stop();
}

/* RFC 9112 §5.1: no whitespace is allowed between the field name and the
 * colon; a server MUST reject such a request with 400. */
static void test_rfc9112_5_1_whitespace_before_colon_refused(void)
{
    start();
    op_test_http_client_t *c[] = {
        send_str("GET /hello HTTP/1.1\r\nHost : test\r\n\r\n" SMUGGLED),
        send_str("GET /hello HTTP/1.1\r\nHost: test\r\nX-Test\t: 1\r\n\r\n" SMUGGLED),
        send_str("POST /echo HTTP/1.1\r\nHost: test\r\nContent-Length : 38\r\n\r\n" SMUGGLED),
    };
    run();
    OP_CHECK_STR(op_test_http_json_str(c[0], "error_description"),
                 "whitespace between a field name and its colon (RFC 9112 section 5.1)");
    for (size_t i = 0; i < OP_NELEMS(c); i++)
        check_refused(c[i], 400);
    OP_CHECK_INT(calls, 0);
    stop();
}

/* RFC 9112 §3.2: 400 for an HTTP/1.1 request without Host, for more than
 * one Host, and for a Host with an invalid value; HTTP/1.0 may omit it. */
static void test_rfc9112_3_2_host_missing_repeated_or_invalid_refused(void)
{
    start();
    op_test_http_client_t *c[] = {
        send_str("GET /hello HTTP/1.1\r\n\r\n"),
        send_str("GET /hello HTTP/1.1\r\nHost: test\r\nHost: other\r\n\r\n"),
        send_str("GET /hello HTTP/1.1\r\nHost: a b\r\n\r\n"),
        send_str("GET /hello HTTP/1.1\r\nHost: test:8x\r\n\r\n"),
    };
    op_test_http_client_t *ok[] = {
        send_str("GET /hello HTTP/1.0\r\n\r\n"),
        send_str("GET /hello HTTP/1.1\r\nHost: [::1]:8080\r\nConnection: close\r\n\r\n"),
        send_str("GET /hello HTTP/1.1\r\nHost: ex%41mple.test\r\nConnection: close\r\n\r\n"),
    };
    run();
    for (size_t i = 0; i < OP_NELEMS(c); i++) {
        op_test_http_check_error(c[i], 400, "invalid_request");
        check_refused(c[i], 400);
    }
    for (size_t i = 0; i < OP_NELEMS(ok); i++) {
        OP_CHECK_INT(ok[i]->status, 200);
        op_test_http_free(ok[i]);
    }
    OP_CHECK_INT(calls, 3);
    stop();
}

/* RFC 9110 §5.5: a field value with NUL (which evhttp truncated at) or
 * another control character is refused; obs-text is not. */
static void test_rfc9110_5_5_nul_or_control_in_value_refused(void)
{
    static const char nul[] = "GET /echo HTTP/1.1\r\nHost: test\r\nX-Test: a\0b\r\n\r\n";
    start();
    op_test_http_client_t *c[] = {
        send_bytes(nul, sizeof(nul) - 1),
        send_str("GET /echo HTTP/1.1\r\nHost: test\r\nX-Test: a\x01"
                 "b\r\n\r\n"),
        send_str("GET /echo HTTP/1.1\r\nHost: test\r\nX-Test: a\x7f"
                 "b\r\n\r\n"),
        send_str("GET /echo HTTP/1.1\r\nHost: test\r\nX-Test: a\x1b[2J\r\n\r\n"),
    };
    op_test_http_client_t *ok =
        send_str("GET /echo HTTP/1.1\r\nHost: test\r\nConnection: close\r\nX-Test: caf\xc3\xa9"
                 "\t!\r\n\r\n");
    run();
    for (size_t i = 0; i < OP_NELEMS(c); i++) {
        op_test_http_check_error(c[i], 400, "invalid_request");
        check_refused(c[i], 400);
    }
    OP_CHECK_INT(ok->status, 200);
    OP_CHECK_STR(op_test_http_json_str(ok, "xtest"), "caf\xc3\xa9\t!");
    op_test_http_free(ok);
    OP_CHECK_INT(calls, 1);
    stop();
}

/* RFC 9110 §5.3 and §11.6.2: Authorization holds one credential; with two
 * a handler would authenticate with one of them (the token endpoint took
 * the first). The same for the other singleton fields. */
static void test_rfc9110_5_3_repeated_singleton_fields_refused(void)
{
    static const char *const fields[] = {
        "Authorization: Basic YTpi\r\nAuthorization: Basic Yzpk\r\n",
        "Authorization: Bearer a\r\nauthorization: Bearer b\r\n",
        "Content-Type: application/json\r\nContent-Type: application/x-www-form-urlencoded\r\n",
        "Cookie: a=1\r\nCookie: b=2\r\n",
        "Origin: https://a.example\r\nOrigin: https://b.example\r\n",
        "DPoP: x\r\nDPoP: y\r\n",
        "Sec-Fetch-Site: same-origin\r\nSec-Fetch-Site: cross-site\r\n",
    };
    op_test_http_client_t *c[OP_NELEMS(fields)];

    start();
    for (size_t i = 0; i < OP_NELEMS(fields); i++)
        c[i] = op_test_http_req("POST", "/echo", fields[i], "x=1");
    run();
    for (size_t i = 0; i < OP_NELEMS(c); i++) {
        op_test_http_check_error(c[i], 400, "invalid_request");
        OP_CHECK_HAS(op_test_http_json_str(c[i], "error_description"), "repeated");
        check_refused(c[i], 400);
    }
    OP_CHECK_INT(calls, 0);
    stop();
}

/* RFC 9112 §6.1: Transfer-Encoding with Content-Length, in HTTP/1.0, or
 * without chunked last is refused (400; 501 for a coding not implemented
 * before chunked); chunked alone works, and trailer fields never become
 * header fields (RFC 9110 §6.5.1). */
static void test_rfc9112_6_1_transfer_encoding(void)
{
    const char *form = "Content-Type: application/x-www-form-urlencoded\r\n";
    char buf[512];

    start();
    op_test_http_client_t *c[] = {
        send_str("POST /echo HTTP/1.1\r\nHost: test\r\nTransfer-Encoding: chunked\r\n"
                 "Content-Length: 5\r\n\r\n0\r\n\r\n" SMUGGLED),
        send_str("POST /echo HTTP/1.1\r\nHost: test\r\nTransfer-Encoding: gzip\r\n\r\n" SMUGGLED),
        send_str("POST /echo HTTP/1.0\r\nHost: test\r\nTransfer-Encoding: chunked\r\n\r\n"
                 "0\r\n\r\n"),
        send_str("POST /echo HTTP/1.1\r\nHost: test\r\nTransfer-Encoding: chunked\r\n"
                 "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n" SMUGGLED),
    };
    op_test_http_client_t *gz =
        send_str("POST /echo HTTP/1.1\r\nHost: test\r\nTransfer-Encoding: gzip, chunked\r\n\r\n"
                 "0\r\n\r\n" SMUGGLED);
    snprintf(buf, sizeof(buf),
             "POST /echo HTTP/1.1\r\nHost: test\r\nConnection: close\r\n%s"
             "Transfer-Encoding: chunked\r\n\r\n3\r\nx=1\r\n0\r\nAuthorization: Bearer t\r\n\r\n",
             form);
    op_test_http_client_t *ok = send_str(buf);
    run();
    for (size_t i = 0; i < OP_NELEMS(c); i++)
        check_refused(c[i], 400);
    check_refused(gz, 501);
    OP_CHECK_INT(ok->status, 200);
    OP_CHECK_STR(op_test_http_json_str(ok, "x"), "1");
    OP_CHECK(op_test_http_json_str(ok, "bearer") == NULL);
    op_test_http_free(ok);
    OP_CHECK_INT(smuggled, 0);
    OP_CHECK_INT(calls, 1);
    stop();
}

/* RFC 9112 §6.3: a Content-Length gives the body length of any request;
 * evhttp reads no body for HEAD and ran the body as the next request. */
static void test_rfc9112_6_3_head_with_body_refused(void)
{
    char buf[512];

    start();
    snprintf(buf, sizeof(buf),
             "HEAD /hello HTTP/1.1\r\nHost: test\r\nContent-Length: %zu\r\n\r\n" SMUGGLED,
             strlen(SMUGGLED));
    op_test_http_client_t *c = send_str(buf);
    op_test_http_client_t *ok =
        send_str("HEAD /hello HTTP/1.1\r\nHost: test\r\nContent-Length: 0\r\n"
                 "Connection: close\r\n\r\n");
    run();
    check_refused(c, 400);
    OP_CHECK_INT(ok->status, 200);
    op_test_http_free(ok);
    OP_CHECK_INT(smuggled, 0);
    stop();
}

/* RFC 9112 §3 and §2.2: one SP between the parts of the request line, a
 * target of visible characters, HTTP/1.x; lines end in CRLF (no bare CR,
 * no bare LF here), no line folding (§5.2). */
static void test_rfc9112_3_request_line_and_line_ends(void)
{
    start();
    op_test_http_client_t *c[] = {
        send_str("GET  /hello HTTP/1.1\r\nHost: test\r\n\r\n" SMUGGLED),
        send_str("GET /hello HTTP/1.1 \r\nHost: test\r\n\r\n" SMUGGLED),
        send_str("GET\t/hello HTTP/1.1\r\nHost: test\r\n\r\n"),
        send_str("GET /hel lo HTTP/1.1\r\nHost: test\r\n\r\n" SMUGGLED),
        send_str("GET /hello HTTP/0.9\r\nHost: test\r\n\r\n" SMUGGLED),
        send_str("GET /hello HTTP/1.1\nHost: test\n\n" SMUGGLED),
        send_str("GET /hello HTTP/1.1\r\nHost: test\r\nX-Test: a\r b\r\n\r\n" SMUGGLED),
        send_str("GET /hello HTTP/1.1\r\nHost: test\r\nX-Test: a\r\n b\r\n\r\n" SMUGGLED),
        send_str("GET /hello HTTP/1.1\r\n Host: test\r\n\r\n" SMUGGLED),
    };
    run();
    for (size_t i = 0; i < OP_NELEMS(c); i++) {
        if (c[i]->status != 400)
            fprintf(stderr, "case %zu\n", i);
        check_refused(c[i], 400);
    }
    OP_CHECK_INT(calls, 0);
    stop();
}

/* Pipelined requests: each head is checked, the good ones run in order,
 * and nothing after a refused one runs. */
static void test_pipelined_heads_each_checked(void)
{
    start();
    op_test_http_client_t *two = send_str("GET /hello HTTP/1.1\r\nHost: test\r\n\r\n"
                                          "GET /hello HTTP/1.1\r\nHost: test\r\n\r\n"
                                          "GET /hello HTTP/1.1\r\nHost: test\r\n"
                                          "Connection: close\r\n\r\n");
    op_test_http_client_t *bad_second =
        send_str("GET /hello HTTP/1.1\r\nHost: test\r\n\r\n"
                 "GET /hello HTTP/1.1\r\nHost : test\r\n\r\n" SMUGGLED);
    run();
    OP_CHECK_INT(op_test_http_answers(two), 3);
    OP_CHECK_INT(two->status, 200);
    OP_CHECK_INT(bad_second->status, 200);
    OP_CHECK_INT(op_test_http_answers(bad_second), 2);
    OP_CHECK_HAS(bad_second->raw, "HTTP/1.1 400 ");
    OP_CHECK_INT(calls, 4);
    OP_CHECK_INT(smuggled, 0);
    op_test_http_free(two);
    op_test_http_free(bad_second);
    stop();
}

/* A keep-alive connection whose heads arrive a byte at a time, the next
 * one after the previous answer: every head is scanned from its start. */
static void test_trickled_keep_alive_heads_checked(void)
{
    static const char bytes[] = "GET /hello HTTP/1.1\r\nHost: test\r\n\r\n"
                                "GET /echo HTTP/1.1\r\nHost: test\r\nX-Test: a\0b\r\n\r\n" SMUGGLED;
    start();
    op_test_http_client_t *c = op_test_http_trickle(bytes, sizeof(bytes) - 1, 0, 1, 1);
    run();
    OP_CHECK_INT(op_test_http_answers(c), 2);
    OP_CHECK_INT(c->status, 200);
    OP_CHECK_HAS(c->raw, "HTTP/1.1 400 ");
    OP_CHECK_INT(calls, 1);
    OP_CHECK_INT(smuggled, 0);
    op_test_http_free(c);
    stop();
}

static const op_test_case_t cases[] = {
    {"rfc9112_6_3_two_content_lengths_refused_nothing_smuggled",
     test_rfc9112_6_3_two_content_lengths_refused_nothing_smuggled},
    {"rfc9112_5_1_whitespace_before_colon_refused",
     test_rfc9112_5_1_whitespace_before_colon_refused},
    {"rfc9112_3_2_host_missing_repeated_or_invalid_refused",
     test_rfc9112_3_2_host_missing_repeated_or_invalid_refused},
    {"rfc9110_5_5_nul_or_control_in_value_refused",
     test_rfc9110_5_5_nul_or_control_in_value_refused},
    {"rfc9110_5_3_repeated_singleton_fields_refused",
     test_rfc9110_5_3_repeated_singleton_fields_refused},
    {"rfc9112_6_1_transfer_encoding", test_rfc9112_6_1_transfer_encoding},
    {"rfc9112_6_3_head_with_body_refused", test_rfc9112_6_3_head_with_body_refused},
    {"rfc9112_3_request_line_and_line_ends", test_rfc9112_3_request_line_and_line_ends},
    {"pipelined_heads_each_checked", test_pipelined_heads_each_checked},
    {"trickled_keep_alive_heads_checked", test_trickled_keep_alive_heads_checked},
};

OP_TEST_MAIN(cases)
