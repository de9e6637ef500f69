/*
 * Unit tests: http/op_http_client.c - the async outbound HTTP(S) client.
 *
 * Each case runs one loop with the client and its peers in process, all on
 * 127.0.0.1 port 0: an evhttp server (plain, or over TLS with the
 * throw-away CA of op_test_tls.h), a raw responder for hostile answers,
 * and a "silent" socket that listens but never accepts (the kernel
 * completes the TCP handshake, nobody ever answers). Every callback is
 * counted, checked never to run inside op_http_client_fetch or
 * op_http_client_free, and checked again after the loop ran on, so
 * "exactly once" is asserted on every path.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/listener.h>

#include "core/base/op.h"
#include "http/op_http.h"
#include "tests/unit/op_test.h"
#include "tests/unit/op_test_tls.h"

#define CAP     1024 /* the client's max_response in these tests */
#define URL_MAX 256

static op_loop_t *loop;
static op_http_client_t *client;
static op_timer_t *watchdog;
static int total_calls;
static int expected_calls;
static bool in_call; /* inside op_http_client_fetch or op_http_client_free */

/* ---- what a fetch callback saw ---------------------------------------- */

typedef struct result {
    int calls;
    int status;
    int http_status;
    char content_type[128];
    char body[CAP + 1];
    size_t body_len;
    char desc[OP_ERR_DESC_MAX];
} result_t;

static void record(result_t *r, int status, const op_http_response_t *resp, const op_err_t *err)
{
    OP_CHECK(!in_call); /* never synchronous */
    OP_CHECK(err != NULL);
    OP_CHECK_INT(err->code, status);
    r->calls++;
    total_calls++;
    r->status = status;
    snprintf(r->desc, sizeof(r->desc), "%s", err->description);
    if (status == OP_OK) {
        OP_CHECK(resp != NULL);
        OP_CHECK(resp->body != NULL);
        OP_CHECK(resp->body_len <= CAP);
        OP_CHECK(resp->body[resp->body_len] == '\0');
        r->http_status = resp->status;
        memcpy(r->body, resp->body, resp->body_len + 1);
        r->body_len = resp->body_len;
        snprintf(r->content_type, sizeof(r->content_type), "%s",
                 resp->content_type != NULL ? resp->content_type : "(none)");
    } else {
        OP_CHECK(resp == NULL);
    }
}

static void on_fetch(int status, const op_http_response_t *resp, const op_err_t *err, void *arg)
{
    record(arg, status, resp, err);
    if (total_calls == expected_calls)
        op_loop_stop(loop);
}

/* Start a fetch of url (method GET unless tmpl says otherwise). */
static void fetch(const char *url, const op_http_fetch_t *tmpl, result_t *r)
{
    op_http_fetch_t f = {.method = OP_HTTP_GET};
    if (tmpl != NULL)
        f = *tmpl;
    f.url = url;
    in_call = true;
    op_http_client_fetch(client, &f, on_fetch, r);
    in_call = false;
    OP_CHECK_INT(r->calls, 0);
}

static void stop_loop(void *arg)
{
    OP_UNUSED(arg);
    op_loop_stop(loop);
}

/* Run the loop until n callbacks in total have run (10 s watchdog), then
 * 20 ms more to catch a second, late callback. */
static void run_until(int n)
{
    expected_calls = n;
    if (total_calls < n) {
        op_timer_start(watchdog, 10000);
        op_loop_run(loop);
        op_timer_stop(watchdog);
    }
    OP_CHECK_INT(total_calls, n);
    op_timer_start(watchdog, 20);
    op_loop_run(loop);
    op_timer_stop(watchdog);
    OP_CHECK_INT(total_calls, n);
}

static void setup_client(const char *ca_file, uint64_t connect_ms, uint64_t timeout_ms)
{
    op_http_client_config_t cfg = {
        .ca_file = ca_file,
        .connect_timeout_ms = connect_ms,
        .timeout_ms = timeout_ms,
        .max_response = CAP,
        .user_agent = "tessera-test/1",
    };
    op_err_t err;
    op_err_clear(&err);
    client = op_http_client_new(loop, &cfg, &err);
    if (client == NULL)
        fprintf(stderr, "op_http_client_new: %s\n", err.description);
    OP_CHECK(client != NULL);
}

static void setup(const char *ca_file, uint64_t connect_ms, uint64_t timeout_ms)
{
    loop = op_loop_new();
    OP_CHECK(loop != NULL);
    watchdog = op_timer_new(loop, stop_loop, NULL);
    OP_CHECK(watchdog != NULL);
    setup_client(ca_file, connect_ms, timeout_ms);
}

static int port_of(int fd)
{
    struct sockaddr_in sin;
    socklen_t len = sizeof(sin);
    OP_CHECK(getsockname(fd, (struct sockaddr *)&sin, &len) == 0);
    return ntohs(sin.sin_port);
}

/* ---- the evhttp server ------------------------------------------------ */

typedef struct server {
    struct evhttp *http;
    SSL_CTX *ssl_ctx;
    int port;
} server_t;

/* What the server saw of the last request. */
static struct {
    int requests;
    char method[8];
    char uri[128];
    char host[64];
    char user_agent[64];
    char content_type[64];
    char content_length[16];
    char connection[16];
    char custom[32];
    bool accept_encoding;
    char body[128];
} seen;

static void copy_header(struct evhttp_request *req, const char *name, char *out, size_t n)
{
    const char *v = evhttp_find_header(evhttp_request_get_input_headers(req), name);
    snprintf(out, n, "%s", v != NULL ? v : "(none)");
}

static void server_reply(struct evhttp_request *req, int code, const char *ctype, const char *body,
                         size_t len)
{
    struct evbuffer *buf = evbuffer_new();
    OP_CHECK(buf != NULL);
    evbuffer_add(buf, body, len);
    evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type", ctype);
    evhttp_send_reply(req, code, code == 200 ? "OK" : "Whatever", buf);
    evbuffer_free(buf);
}

static void server_handle(struct evhttp_request *req, void *arg)
{
    OP_UNUSED(arg);
    char big[CAP + 1];
    const char *path = evhttp_uri_get_path(evhttp_request_get_evhttp_uri(req));
    seen.requests++;
    memset(big, 'x', sizeof(big));
    if (strcmp(path, "/hello") == 0) {
        server_reply(req, 200, "text/plain", "hello world", 11);
    } else if (strcmp(path, "/echo") == 0) {
        struct evbuffer *in = evhttp_request_get_input_buffer(req);
        size_t n = evbuffer_get_length(in);
        OP_CHECK(n < sizeof(seen.body));
        evbuffer_copyout(in, seen.body, n);
        seen.body[n] = '\0';
        snprintf(seen.method, sizeof(seen.method), "%s",
                 evhttp_request_get_command(req) == EVHTTP_REQ_POST ? "POST" : "GET");
        snprintf(seen.uri, sizeof(seen.uri), "%s", evhttp_request_get_uri(req));
        copy_header(req, "Host", seen.host, sizeof(seen.host));
        copy_header(req, "User-Agent", seen.user_agent, sizeof(seen.user_agent));
        copy_header(req, "Content-Type", seen.content_type, sizeof(seen.content_type));
        copy_header(req, "Content-Length", seen.content_length, sizeof(seen.content_length));
        copy_header(req, "Connection", seen.connection, sizeof(seen.connection));
        copy_header(req, "X-Test", seen.custom, sizeof(seen.custom));
        seen.accept_encoding =
            evhttp_find_header(evhttp_request_get_input_headers(req), "Accept-Encoding") != NULL;
        server_reply(req, 201, "application/json", "{\"ok\":true}", 11);
    } else if (strcmp(path, "/exact") == 0) {
        server_reply(req, 200, "text/plain", big, CAP);
    } else if (strcmp(path, "/big") == 0) {
        server_reply(req, 200, "text/plain", big, CAP + 1);
    } else if (strcmp(path, "/big-chunked") == 0) {
        /* 8 chunks of 200 bytes: over the cap at the sixth, no length */
        evhttp_send_reply_start(req, 200, "OK");
        for (int i = 0; i < 8; i++) {
            struct evbuffer *chunk = evbuffer_new();
            OP_CHECK(chunk != NULL);
            evbuffer_add(chunk, big, 200);
            evhttp_send_reply_chunk(req, chunk);
            evbuffer_free(chunk);
        }
        evhttp_send_reply_end(req);
    } else {
        server_reply(req, 404, "text/plain", "not found", 9);
    }
}

static struct bufferevent *server_bevcb(struct event_base *base, void *arg)
{
    SSL *ssl = SSL_new(arg);
    OP_CHECK(ssl != NULL);
    return bufferevent_openssl_socket_new(base, -1, ssl, BUFFEREVENT_SSL_ACCEPTING,
                                          BEV_OPT_CLOSE_ON_FREE);
}

/* Start an evhttp server; TLS when cert_file is set. */
static void server_start(server_t *s, const char *cert_file, const char *key_file)
{
    memset(s, 0, sizeof(*s));
    s->http = evhttp_new(op_loop_base(loop));
    OP_CHECK(s->http != NULL);
    evhttp_set_gencb(s->http, server_handle, NULL);
    if (cert_file != NULL) {
        s->ssl_ctx = op_test_tls_server_ctx(cert_file, key_file);
        OP_CHECK(s->ssl_ctx != NULL);
        evhttp_set_bevcb(s->http, server_bevcb, s->ssl_ctx);
    }
    struct evhttp_bound_socket *h = evhttp_bind_socket_with_handle(s->http, "127.0.0.1", 0);
    OP_CHECK(h != NULL);
    s->port = port_of(evhttp_bound_socket_get_fd(h));
}

static void server_stop(server_t *s)
{
    evhttp_free(s->http);
    SSL_CTX_free(s->ssl_ctx);
}

/* ---- hostile peers ---------------------------------------------------- */

/* Listens, never accepts: connects succeed, nothing is ever answered. */
static int silent_start(int *port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = 0};
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    OP_CHECK(fd >= 0);
    OP_CHECK(bind(fd, (struct sockaddr *)&sin, sizeof(sin)) == 0);
    OP_CHECK(listen(fd, 16) == 0);
    *port = port_of(fd);
    return fd;
}

/* A port where nothing listens (bound, then closed). */
static int closed_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = 0};
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    OP_CHECK(fd >= 0);
    OP_CHECK(bind(fd, (struct sockaddr *)&sin, sizeof(sin)) == 0);
    int port = port_of(fd);
    close(fd);
    return port;
}

/* Raw responder: answers the first bytes it reads with head and
 * body_len bytes of 'x', then closes (or, with keep_open, holds the
 * connection). Connections left at the end are freed by raw_stop. */
#define RAW_CONNS 8
static struct {
    struct evconnlistener *listener;
    struct bufferevent *conns[RAW_CONNS];
    const char *head;
    size_t body_len; /* bytes of 'x' after head */
    bool keep_open;
} raw;

static void raw_close(struct bufferevent *bev)
{
    for (int i = 0; i < RAW_CONNS; i++)
        if (raw.conns[i] == bev)
            raw.conns[i] = NULL;
    bufferevent_free(bev);
}

static void raw_on_write(struct bufferevent *bev, void *arg)
{
    OP_UNUSED(arg);
    if (!raw.keep_open)
        raw_close(bev); /* everything flushed */
}

static void raw_on_read(struct bufferevent *bev, void *arg)
{
    OP_UNUSED(arg);
    struct evbuffer *in = bufferevent_get_input(bev);
    evbuffer_drain(in, evbuffer_get_length(in));
    if (bufferevent_get_enabled(bev) & EV_WRITE)
        return;
    struct evbuffer *out = bufferevent_get_output(bev);
    evbuffer_add(out, raw.head, strlen(raw.head));
    for (size_t i = 0; i < raw.body_len; i++)
        evbuffer_add(out, "x", 1);
    bufferevent_enable(bev, EV_WRITE);
}

static void raw_on_event(struct bufferevent *bev, short what, void *arg)
{
    OP_UNUSED(what);
    OP_UNUSED(arg);
    raw_close(bev);
}

static void raw_on_accept(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa,
                          int socklen, void *arg)
{
    OP_UNUSED(l);
    OP_UNUSED(sa);
    OP_UNUSED(socklen);
    OP_UNUSED(arg);
    struct bufferevent *bev = bufferevent_socket_new(op_loop_base(loop), fd, BEV_OPT_CLOSE_ON_FREE);
    OP_CHECK(bev != NULL);
    int i = 0;
    while (i < RAW_CONNS && raw.conns[i] != NULL)
        i++;
    OP_CHECK(i < RAW_CONNS);
    raw.conns[i] = bev;
    bufferevent_setcb(bev, raw_on_read, raw_on_write, raw_on_event, NULL);
    bufferevent_disable(bev, EV_WRITE);
    bufferevent_enable(bev, EV_READ);
}

static int raw_start(const char *head, size_t body_len, bool keep_open)
{
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = 0};
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    raw.head = head;
    raw.body_len = body_len;
    raw.keep_open = keep_open;
    raw.listener = evconnlistener_new_bind(op_loop_base(loop), raw_on_accept, NULL,
                                           LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE, 16,
                                           (struct sockaddr *)&sin, sizeof(sin));
    OP_CHECK(raw.listener != NULL);
    return port_of(evconnlistener_get_fd(raw.listener));
}

static void raw_stop(void)
{
    for (int i = 0; i < RAW_CONNS; i++)
        if (raw.conns[i] != NULL)
            raw_close(raw.conns[i]);
    evconnlistener_free(raw.listener);
}

static void teardown(void)
{
    op_http_client_free(client);
    client = NULL;
    op_timer_free(watchdog);
    op_loop_free(loop);
}

static void url(char *out, const char *scheme, const char *host, int port, const char *path)
{
    snprintf(out, URL_MAX, "%s://%s:%d%s", scheme, host, port, path);
}

/* Start a GET of the URL url() makes of its arguments (see fetch). */
static void start_get(const char *scheme, const char *host, int port, const char *path, result_t *r)
{
    char u[URL_MAX];
    url(u, scheme, host, port, path);
    fetch(u, NULL, r);
}

/* ---- one fetch from one peer -------------------------------------------- */

/* Each runs a whole client lifecycle around one GET; *r holds what the
 * callback saw (checked to have run exactly once). */

/* GET path from a fresh plain evhttp server, addressed as host. */
static void get_from_server(const char *host, const char *path, result_t *r)
{
    server_t s;
    setup(NULL, 1000, 5000);
    server_start(&s, NULL, NULL);
    start_get("http", host, s.port, path, r);
    run_until(1);
    OP_CHECK_INT(r->calls, 1);
    teardown();
    server_stop(&s);
}

/* GET / from a raw responder (see raw_start). */
static void get_from_raw(const char *head, size_t body_len, bool keep_open, result_t *r)
{
    setup(NULL, 1000, 5000);
    int port = raw_start(head, body_len, keep_open);
    start_get("http", "127.0.0.1", port, "/", r);
    run_until(1);
    OP_CHECK_INT(r->calls, 1);
    teardown();
    raw_stop();
}

/* GET / over scheme from a silent peer, with the client's connect and
 * overall deadlines. */
static void get_from_silent(const char *scheme, uint64_t connect_ms, uint64_t timeout_ms,
                            result_t *r)
{
    int port;
    setup(NULL, connect_ms, timeout_ms);
    int fd = silent_start(&port);
    start_get(scheme, "127.0.0.1", port, "/", r);
    run_until(1);
    OP_CHECK_INT(r->calls, 1);
    teardown();
    close(fd);
}

/* GET /hello over TLS from a server with cert and key, by IP (IP
 * verification) and by name (SNI and name verification), with a client
 * that trusts the test CA of tls. Both fetches run in parallel. */
static void get_https_ip_and_name(const op_test_tls_t *tls, const char *cert, const char *key,
                                  result_t *ip, result_t *name)
{
    server_t s;
    setup(tls->ca_file, 2000, 5000);
    server_start(&s, cert, key);
    start_get("https", "127.0.0.1", s.port, "/hello", ip);
    start_get("https", "localhost", s.port, "/hello", name);
    run_until(2);
    OP_CHECK_INT(ip->calls, 1);
    OP_CHECK_INT(name->calls, 1);
    teardown();
    server_stop(&s);
}

/* ---- cases -------------------------------------------------------------- */

static void test_get_200_with_body(void)
{
    server_t s;
    result_t r = {0}, q = {0};
    setup(NULL, 1000, 5000);
    server_start(&s, NULL, NULL);
    start_get("http", "127.0.0.1", s.port, "/hello", &r);
    start_get("http", "127.0.0.1", s.port, "/echo?x=1&y=%20#frag", &q);
    run_until(2);
    OP_CHECK_INT(r.calls, 1);
    OP_CHECK_INT(r.status, OP_OK);
    OP_CHECK_INT(r.http_status, 200);
    OP_CHECK_STR(r.body, "hello world");
    OP_CHECK_INT(r.body_len, 11);
    OP_CHECK_STR(r.content_type, "text/plain");
    OP_CHECK_INT(q.calls, 1);
    OP_CHECK_INT(q.http_status, 201);
    OP_CHECK_STR(seen.uri, "/echo?x=1&y=%20"); /* path and query as given */
    OP_CHECK_STR(seen.method, "GET");
    OP_CHECK_STR(seen.content_length, "(none)");
    teardown();
    server_stop(&s);
}

static void test_post_body_and_headers(void)
{
    server_t s;
    result_t r = {0};
    char u[URL_MAX], host[64];
    const op_http_header_t hdrs[] = {{"X-Test", "yes"}};
    op_http_fetch_t f = {
        .method = OP_HTTP_POST,
        .headers = hdrs,
        .nheaders = 1,
        .body = "a=1&b=2",
        .body_len = 7,
        .content_type = "application/x-www-form-urlencoded",
    };
    setup(NULL, 1000, 5000);
    server_start(&s, NULL, NULL);
    url(u, "http", "127.0.0.1", s.port, "/echo");
    fetch(u, &f, &r);
    run_until(1);
    OP_CHECK_INT(r.calls, 1);
    OP_CHECK_INT(r.status, OP_OK);
    OP_CHECK_INT(r.http_status, 201);
    OP_CHECK_STR(r.body, "{\"ok\":true}");
    OP_CHECK_STR(r.content_type, "application/json");
    OP_CHECK_INT(seen.requests, 1);
    OP_CHECK_STR(seen.method, "POST");
    OP_CHECK_STR(seen.uri, "/echo");
    snprintf(host, sizeof(host), "127.0.0.1:%d", s.port);
    OP_CHECK_STR(seen.host, host);
    OP_CHECK_STR(seen.user_agent, "tessera-test/1");
    OP_CHECK_STR(seen.content_type, "application/x-www-form-urlencoded");
    OP_CHECK_STR(seen.content_length, "7");
    OP_CHECK_STR(seen.connection, "close");
    OP_CHECK_STR(seen.custom, "yes");
    OP_CHECK(!seen.accept_encoding);
    OP_CHECK_STR(seen.body, "a=1&b=2");
    teardown();
    server_stop(&s);
}

static void test_404_is_a_response(void)
{
    result_t r = {0};
    get_from_server("127.0.0.1", "/missing", &r);
    OP_CHECK_INT(r.status, OP_OK);
    OP_CHECK_INT(r.http_status, 404);
    OP_CHECK_STR(r.body, "not found");
}

/* Exactly the cap is fine; one byte over with a Content-Length, and a
 * chunked body that passes it, fail with OP_ETOOBIG. */
static void test_body_cap_with_and_without_length(void)
{
    server_t s;
    result_t exact = {0}, cl = {0}, chunked = {0};
    setup(NULL, 1000, 5000);
    server_start(&s, NULL, NULL);
    start_get("http", "127.0.0.1", s.port, "/exact", &exact);
    start_get("http", "127.0.0.1", s.port, "/big", &cl);
    start_get("http", "127.0.0.1", s.port, "/big-chunked", &chunked);
    run_until(3);
    OP_CHECK_INT(exact.calls, 1);
    OP_CHECK_INT(exact.status, OP_OK);
    OP_CHECK_INT(exact.body_len, CAP);
    OP_CHECK_INT(cl.calls, 1);
    OP_CHECK_INT(cl.status, OP_ETOOBIG);
    OP_CHECK_HAS(cl.desc, "limit");
    OP_CHECK_INT(chunked.calls, 1);
    OP_CHECK_INT(chunked.status, OP_ETOOBIG);
    teardown();
    server_stop(&s);
}

/* A body delimited by the connection close (no length, not chunked) that
 * passes the cap while the peer keeps the connection open: the fetch
 * must stop as the data arrives, not wait for the end. */
static void test_body_cap_close_delimited(void)
{
    result_t r = {0};
    get_from_raw("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\n", 4 * CAP, true, &r);
    OP_CHECK_INT(r.status, OP_ETOOBIG);
}

/*
 * A length over the cap fails as soon as the head is read: these peers
 * announce a large body (a Content-Length, or a chunk size), send a few
 * bytes and close. Waiting for the body would end in "closed before the
 * response was complete" (OP_EUNAVAIL) instead of OP_ETOOBIG.
 */
static void check_announced_length(const char *head, const char *what)
{
    result_t r = {0};
    get_from_raw(head, 10, false, &r);
    OP_CHECK_INT(r.status, OP_ETOOBIG);
    OP_CHECK((strstr(r.desc, "chunked") != NULL) == (strcmp(what, "chunked") == 0));
}

static void test_content_length_over_cap_fails_early(void)
{
    check_announced_length("HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n", "length");
}

static void test_chunk_size_over_cap_fails_early(void)
{
    check_announced_length("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                           "186a0\r\n",
                           "chunked");
}

static void test_malformed_response(void)
{
    result_t r = {0};
    get_from_raw("HTTP/1.1 abc Nonsense\r\n\r\n", 0, false, &r);
    OP_CHECK_INT(r.status, OP_EPROTO);
}

/* Connected, request sent, never answered: the overall deadline. */
static void test_no_answer_times_out(void)
{
    result_t r = {0};
    get_from_silent("http", 200, 600, &r);
    OP_CHECK_INT(r.status, OP_ETIMEDOUT);
    OP_CHECK_HAS(r.desc, "no complete response");
}

/* TCP connects but the TLS handshake never completes: the connect
 * deadline fires long before the overall one. */
static void test_connect_deadline(void)
{
    result_t r = {0};
    get_from_silent("https", 100, 10000, &r);
    OP_CHECK_INT(r.status, OP_ETIMEDOUT);
    OP_CHECK_HAS(r.desc, "connecting");
}

static void test_connection_refused(void)
{
    result_t r = {0}, t = {0};
    setup(NULL, 1000, 5000);
    int port = closed_port();
    start_get("http", "127.0.0.1", port, "/", &r);
    start_get("https", "127.0.0.1", port, "/", &t);
    run_until(2);
    OP_CHECK_INT(r.calls, 1);
    OP_CHECK_INT(r.status, OP_EUNAVAIL);
    OP_CHECK_HAS(r.desc, "cannot connect");
    OP_CHECK_INT(t.calls, 1);
    OP_CHECK_INT(t.status, OP_EUNAVAIL);
    teardown();
}

/* Every bad request fails with OP_EINVAL, later, and nothing is sent. */
static void test_bad_requests_einval(void)
{
    server_t s;
    char ok_url[URL_MAX], long_url[9000];
    const op_http_header_t cr[] = {{"X-Test", "a\r\nInjected: 1"}};
    const op_http_header_t lf[] = {{"X-Test", "a\nb"}};
    const op_http_header_t sp[] = {{"Bad Name", "v"}};
    const op_http_header_t host[] = {{"host", "evil.example"}};
    const op_http_header_t ae[] = {{"Accept-Encoding", "gzip"}};
    const op_http_fetch_t get = {.method = OP_HTTP_GET};
    const op_http_fetch_t get_body = {.method = OP_HTTP_GET, .body = "x", .body_len = 1};
    const op_http_fetch_t put = {.method = OP_HTTP_PATCH}; /* not a method we send */
    const op_http_fetch_t hdr_cr = {.method = OP_HTTP_GET, .headers = cr, .nheaders = 1};
    const op_http_fetch_t hdr_lf = {.method = OP_HTTP_GET, .headers = lf, .nheaders = 1};
    const op_http_fetch_t hdr_sp = {.method = OP_HTTP_GET, .headers = sp, .nheaders = 1};
    const op_http_fetch_t hdr_host = {.method = OP_HTTP_GET, .headers = host, .nheaders = 1};
    const op_http_fetch_t hdr_ae = {.method = OP_HTTP_GET, .headers = ae, .nheaders = 1};
    const op_http_fetch_t post_ct = {.method = OP_HTTP_POST, .content_type = "a/b\r\nX: y"};
    setup(NULL, 1000, 5000);
    server_start(&s, NULL, NULL);
    url(ok_url, "http", "127.0.0.1", s.port, "/echo");
    memset(long_url, 'a', sizeof(long_url) - 1);
    long_url[sizeof(long_url) - 1] = '\0';
    memcpy(long_url, "http://h/", 9);
    struct {
        const char *url;
        const op_http_fetch_t *f;
    } cases[] = {
        {"ftp://127.0.0.1/", &get},
        {"http:///no-host", &get},
        {"http://user:pw@127.0.0.1/", &get},
        {"http://127.0.0.1:0/", &get},
        {"not a url", &get},
        {"/relative", &get},
        {"", &get},
        {NULL, &get},
        {long_url, &get},
        {ok_url, &get_body},
        {ok_url, &put},
        {ok_url, &hdr_cr},
        {ok_url, &hdr_lf},
        {ok_url, &hdr_sp},
        {ok_url, &hdr_host},
        {ok_url, &hdr_ae},
        {ok_url, &post_ct},
    };
    result_t r[OP_NELEMS(cases) + 1];
    memset(r, 0, sizeof(r));
    for (size_t i = 0; i < OP_NELEMS(cases); i++)
        fetch(cases[i].url, cases[i].f, &r[i]);
    in_call = true;
    op_http_client_fetch(client, NULL, on_fetch, &r[OP_NELEMS(cases)]);
    in_call = false;
    OP_CHECK_INT(total_calls, 0);
    run_until((int)OP_NELEMS(r));
    for (size_t i = 0; i < OP_NELEMS(r); i++) {
        if (r[i].calls != 1 || r[i].status != OP_EINVAL)
            fprintf(stderr, "case %zu: calls %d status %s\n", i, r[i].calls,
                    op_err_status_name(r[i].status));
        OP_CHECK_INT(r[i].calls, 1);
        OP_CHECK_INT(r[i].status, OP_EINVAL);
        OP_CHECK(r[i].desc[0] != '\0');
    }
    OP_CHECK_INT(seen.requests, 0);
    teardown();
    server_stop(&s);
}

static void test_https_with_test_ca(void)
{
    op_test_tls_t tls;
    result_t ip = {0}, name = {0};
    OP_CHECK(op_test_tls_make(&tls) == 0);
    get_https_ip_and_name(&tls, tls.cert_file, tls.key_file, &ip, &name);
    if (ip.status != OP_OK)
        fprintf(stderr, "ip: %s\n", ip.desc);
    OP_CHECK_INT(ip.status, OP_OK);
    OP_CHECK_INT(ip.http_status, 200);
    OP_CHECK_STR(ip.body, "hello world");
    if (name.status != OP_OK)
        fprintf(stderr, "name: %s\n", name.desc);
    OP_CHECK_INT(name.status, OP_OK);
    OP_CHECK_STR(name.body, "hello world");
    op_test_tls_cleanup(&tls);
}

/* A certificate for another name, and one from a CA nobody trusts. */
static void check_bad_certificate(bool rogue)
{
    op_test_tls_t tls;
    result_t ip = {0}, name = {0};
    OP_CHECK(op_test_tls_make(&tls) == 0);
    get_https_ip_and_name(&tls, rogue ? tls.rogue_cert_file : tls.other_cert_file,
                          rogue ? tls.rogue_key_file : tls.other_key_file, &ip, &name);
    OP_CHECK_INT(ip.status, OP_EUNAVAIL);
    OP_CHECK_HAS(ip.desc, "certificate");
    OP_CHECK_INT(name.status, OP_EUNAVAIL);
    OP_CHECK_HAS(name.desc, "certificate");
    OP_CHECK_INT(seen.requests, 0);
    op_test_tls_cleanup(&tls);
}

static void test_https_wrong_host_name(void)
{
    check_bad_certificate(false);
}

static void test_https_untrusted_ca(void)
{
    check_bad_certificate(true);
}

static void test_localhost_resolves(void)
{
    result_t r = {0};
    get_from_server("localhost", "/hello", &r);
    OP_CHECK_INT(r.status, OP_OK);
    OP_CHECK_STR(r.body, "hello world");
}

/* Config errors: a CA file that does not load, a user agent with CR/LF,
 * a timeout beyond a day. */
static void test_bad_config_rejected(void)
{
    op_http_client_config_t cfg = {.ca_file = "/nonexistent/ca.pem"};
    op_err_t err;
    loop = op_loop_new();
    OP_CHECK(loop != NULL);
    op_err_clear(&err);
    OP_CHECK(op_http_client_new(loop, &cfg, &err) == NULL);
    OP_CHECK_INT(err.code, OP_EINVAL);
    cfg.ca_file = NULL;
    cfg.user_agent = "bad\r\nagent";
    OP_CHECK(op_http_client_new(loop, &cfg, &err) == NULL);
    OP_CHECK_INT(err.code, OP_EINVAL);
    cfg.user_agent = NULL;
    cfg.timeout_ms = UINT64_MAX;
    OP_CHECK(op_http_client_new(loop, &cfg, &err) == NULL);
    OP_CHECK_INT(err.code, OP_EINVAL);
    op_loop_free(loop);
}

/*
 * Free with fetches in every stage: waiting for an answer, in the TLS
 * handshake, in DNS, and one already failed but not yet delivered. Each
 * gets its callback exactly once, none inside op_http_client_free.
 */
static void test_free_in_flight_cancels(void)
{
    result_t waiting = {0}, handshake = {0}, dns = {0}, failed = {0};
    int port;
    setup(NULL, 5000, 10000);
    int fd = silent_start(&port);
    start_get("http", "127.0.0.1", port, "/", &waiting);
    start_get("https", "127.0.0.1", port, "/", &handshake);
    op_timer_start(watchdog, 50); /* let both connect */
    op_loop_run(loop);
    fetch("http://tessera-test.invalid/", NULL, &dns);
    fetch("ftp://127.0.0.1/", NULL, &failed);
    in_call = true;
    op_http_client_free(client);
    in_call = false;
    client = NULL;
    OP_CHECK_INT(total_calls, 0);
    run_until(4);
    OP_CHECK_INT(waiting.calls, 1);
    OP_CHECK_INT(waiting.status, OP_ECANCELED);
    OP_CHECK_INT(handshake.calls, 1);
    OP_CHECK_INT(handshake.status, OP_ECANCELED);
    OP_CHECK_INT(dns.calls, 1);
    OP_CHECK_INT(dns.status, OP_ECANCELED);
    OP_CHECK_INT(failed.calls, 1);
    OP_CHECK_INT(failed.status, OP_EINVAL);
    teardown();
    close(fd);
}

/* The usual shutdown: the client freed from inside a fetch callback. */
static result_t *free_in_cb_other;
static void on_fetch_then_free(int status, const op_http_response_t *resp, const op_err_t *err,
                               void *arg)
{
    record(arg, status, resp, err);
    OP_CHECK_INT(free_in_cb_other->calls, 0);
    in_call = true;
    op_http_client_free(client);
    in_call = false;
    client = NULL;
    OP_CHECK_INT(free_in_cb_other->calls, 0);
}

static void test_free_from_callback(void)
{
    server_t s;
    result_t first = {0}, other = {0};
    char u[URL_MAX];
    int port;
    setup(NULL, 5000, 10000);
    server_start(&s, NULL, NULL);
    int fd = silent_start(&port);
    start_get("http", "127.0.0.1", port, "/", &other);
    free_in_cb_other = &other;
    url(u, "http", "127.0.0.1", s.port, "/hello");
    op_http_fetch_t f = {.method = OP_HTTP_GET, .url = u};
    in_call = true;
    op_http_client_fetch(client, &f, on_fetch_then_free, &first);
    in_call = false;
    run_until(2);
    OP_CHECK_INT(first.calls, 1);
    OP_CHECK_INT(first.status, OP_OK);
    OP_CHECK_INT(other.calls, 1);
    OP_CHECK_INT(other.status, OP_ECANCELED);
    teardown();
    server_stop(&s);
    close(fd);
}

/* Many fetches on one client, each on its own connection. */
static void test_many_sequential_fetches(void)
{
    server_t s;
    result_t r[20];
    char u[URL_MAX];
    setup(NULL, 1000, 5000);
    server_start(&s, NULL, NULL);
    url(u, "http", "127.0.0.1", s.port, "/hello");
    memset(r, 0, sizeof(r));
    for (int i = 0; i < 20; i++) {
        fetch(u, NULL, &r[i]);
        run_until(i + 1);
        OP_CHECK_INT(r[i].calls, 1);
        OP_CHECK_INT(r[i].status, OP_OK);
    }
    OP_CHECK_INT(seen.requests, 20);
    teardown();
    server_stop(&s);
}

static const op_test_case_t cases[] = {
    {"get_200_with_body", test_get_200_with_body},
    {"post_body_and_headers", test_post_body_and_headers},
    {"404_is_a_response", test_404_is_a_response},
    {"body_cap_with_and_without_length", test_body_cap_with_and_without_length},
    {"body_cap_close_delimited", test_body_cap_close_delimited},
    {"content_length_over_cap_fails_early", test_content_length_over_cap_fails_early},
    {"chunk_size_over_cap_fails_early", test_chunk_size_over_cap_fails_early},
    {"malformed_response", test_malformed_response},
    {"no_answer_times_out", test_no_answer_times_out},
    {"connect_deadline", test_connect_deadline},
    {"connection_refused", test_connection_refused},
    {"bad_requests_einval", test_bad_requests_einval},
    {"https_with_test_ca", test_https_with_test_ca},
    {"https_wrong_host_name", test_https_wrong_host_name},
    {"https_untrusted_ca", test_https_untrusted_ca},
    {"localhost_resolves", test_localhost_resolves},
    {"bad_config_rejected", test_bad_config_rejected},
    {"free_in_flight_cancels", test_free_in_flight_cancels},
    {"free_from_callback", test_free_from_callback},
    {"many_sequential_fetches", test_many_sequential_fetches},
};

OP_TEST_MAIN(cases)
