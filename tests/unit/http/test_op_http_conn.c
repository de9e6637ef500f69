/*
 * Unit tests: http/op_http_conn.c - connections of the in-process server:
 * the deadline for a request's head and body (a request trickled in a
 * byte at a time is cut off, though every byte restarts the idle
 * timeout), the connection cap, and accepting paused at the descriptor
 * limit (EMFILE) instead of a loop spinning on a readable socket.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "http/op_http.h"
#include "tests/unit/op_test_http.h"

static op_loop_t *loop;
static op_http_t *srv;
static int calls;
static op_http_req_t *held[4]; /* /hold requests not answered yet */
static int nheld;
static void (*on_held)(void); /* run when a /hold request arrives */

static void h_hello(op_http_req_t *req, void *ctx)
{
    OP_UNUSED(ctx);
    calls++;
    op_http_reply_json(req, 200, "{}", 2, 0);
}

static void h_hold(op_http_req_t *req, void *ctx)
{
    OP_UNUSED(ctx);
    calls++;
    OP_CHECK(nheld < (int)OP_NELEMS(held));
    held[nheld++] = req;
    if (on_held != NULL)
        on_held();
}

/* An answer far larger than a socket takes at once: "\"aaa...a\"". */
#define BIG_LEN (4 << 20)
static char *big;

static void h_big(op_http_req_t *req, void *ctx)
{
    OP_UNUSED(ctx);
    calls++;
    op_http_reply_json(req, 200, big, BIG_LEN, 0);
}

static const op_http_route_t routes[] = {
    {OP_HTTP_GET | OP_HTTP_POST, "/hello", 0, h_hello, NULL},
    {OP_HTTP_GET, "/hold", 0, h_hold, NULL},
    {OP_HTTP_GET, "/big", 0, h_big, NULL},
};

static op_http_config_t test_config(void)
{
    op_http_config_t cfg = {
        .address = "127.0.0.1",
        .fd = -1,
        .max_body = 4096,
        .max_headers = 4096,
        .idle_timeout_s = 5, /* longer than any case: never what closes */
        .read_timeout_ms = 200,
        .request_timeout_ms = 5000,
    };
    return cfg;
}

static void start_with(const op_http_config_t *cfg)
{
    srv = op_test_http_start(cfg, routes, OP_NELEMS(routes));
    loop = op_test_http.loop;
}

static op_http_stats_t stats(void)
{
    op_http_stats_t st;

    op_http_conn_stats(srv, &st);
    return st;
}

static void run(void)
{
    OP_CHECK_INT(op_loop_run(loop), OP_OK);
}

static void stop(void)
{
    OP_CHECK_INT(op_http_in_flight(srv), 0);
    OP_CHECK_INT(stats().connections, 0);
    op_http_free(srv);
    op_loop_free(loop);
}

/* A head trickled a byte every 10 ms would take 20 s; every byte restarts
 * the idle timeout, the read deadline (200 ms) cuts it off with no
 * answer. A connection that sends nothing is closed the same way. */
static void test_trickled_head_cut_off_by_read_deadline(void)
{
    static char head[2200];
    op_http_config_t cfg = test_config();
    int n;

    start_with(&cfg);
    n = snprintf(head, sizeof(head), "GET /hello HTTP/1.1\r\nHost: test\r\nX-Pad: %02000d\r\n\r\n",
                 0);
    OP_CHECK(n > 2000 && (size_t)n < sizeof(head));
    op_test_http_client_t *c = op_test_http_trickle(head, (size_t)n, 0, 1, 10);
    op_test_http_client_t *silent = op_test_http_raw("", 0);
    run();
    OP_CHECK(c->done && c->raw_len == 0);
    OP_CHECK(c->trickle_left > 1000); /* cut off long before the end */
    OP_CHECK(silent->done && silent->raw_len == 0);
    OP_CHECK_INT(stats().read_timeouts, 2);
    OP_CHECK_INT(calls, 0);
    op_test_http_free(c);
    op_test_http_free(silent);
    stop();
}

/* The deadline covers the body too: a complete head, then a body of 1000
 * bytes a byte every 10 ms. */
static void test_trickled_body_cut_off_by_read_deadline(void)
{
    static char req[1200];
    op_http_config_t cfg = test_config();
    int head = snprintf(req, sizeof(req),
                        "POST /hello HTTP/1.1\r\nHost: test\r\nContent-Length: 1000\r\n\r\n");

    start_with(&cfg);
    memset(req + head, 'a', 1000);
    op_test_http_client_t *c = op_test_http_trickle(req, (size_t)head + 1000, (size_t)head, 1, 10);
    run();
    OP_CHECK(c->done && c->raw_len == 0);
    OP_CHECK(c->trickle_left > 500);
    OP_CHECK_INT(stats().read_timeouts, 1);
    OP_CHECK_INT(calls, 0);
    op_test_http_free(c);
    stop();
}

/* On a keep-alive connection the deadline of the next request starts with
 * its first byte: a pause between requests longer than the deadline is
 * idle time, which only http.idleTimeout bounds. */
static void test_keep_alive_pause_is_not_read_time(void)
{
    static const char two[] = "GET /hello HTTP/1.1\r\nHost: test\r\n\r\n"
                              "GET /hello HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n";
    op_http_config_t cfg = test_config();
    size_t first = strlen("GET /hello HTTP/1.1\r\nHost: test\r\n\r\n");

    start_with(&cfg);
    op_test_http_client_t *c = op_test_http_trickle(two, sizeof(two) - 1, first, 1000, 500);
    run();
    OP_CHECK_INT(op_test_http_answers(c), 2);
    OP_CHECK_INT(c->status, 200);
    OP_CHECK_INT(stats().read_timeouts, 0);
    OP_CHECK_INT(calls, 2);
    op_test_http_free(c);
    stop();
}

/* At max_connections (2) accepting pauses: with two requests held, a
 * third client waits in the backlog, unserved, until a connection closes;
 * then it is served. */
static op_test_http_client_t *third;
static op_timer_t *check_timer;

static void cap_check_then_release(void *arg)
{
    OP_UNUSED(arg);
    OP_CHECK(!third->done);
    OP_CHECK_INT(stats().connections, 2);
    OP_CHECK_INT(calls, 2);
    op_http_reply_json(held[0], 200, "{}", 2, 0);
    op_http_reply_json(held[1], 200, "{}", 2, 0);
}

static void cap_on_held(void)
{
    OP_CHECK(stats().connections <= 2);
    if (nheld < 2)
        return;
    third = op_test_http_req("GET", "/hello", NULL, NULL);
    op_timer_start(check_timer, 100);
}

static void test_connection_cap_pauses_accepting(void)
{
    op_http_config_t cfg = test_config();

    cfg.max_connections = 2;
    start_with(&cfg);
    check_timer = op_timer_new(loop, cap_check_then_release, NULL);
    OP_CHECK(check_timer != NULL);
    on_held = cap_on_held;
    op_test_http_client_t *a = op_test_http_req("GET", "/hold", NULL, NULL);
    op_test_http_client_t *b = op_test_http_req("GET", "/hold", NULL, NULL);
    run();
    OP_CHECK_INT(a->status, 200);
    OP_CHECK_INT(b->status, 200);
    OP_CHECK_INT(third->status, 200);
    OP_CHECK_INT(stats().accepted, 3);
    OP_CHECK_INT(calls, 3);
    op_test_http_free(a);
    op_test_http_free(b);
    op_test_http_free(third);
    op_timer_free(check_timer);
    stop();
}

static void loop_pass(void)
{
    OP_CHECK(event_base_loop(op_loop_base(loop), EVLOOP_ONCE | EVLOOP_NONBLOCK) >= 0);
}

/* At the descriptor limit accept() fails with EMFILE while the listening
 * socket stays readable. Accepting pauses (one failed accept in the 50
 * loop passes after it, one log line, nothing from libevent) and resumes by itself
 * once descriptors are free again. */
static void test_emfile_pauses_accepting_then_resumes(void)
{
    static const char req[] = "GET /hello HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n";
    char path[] = "/tmp/test_op_http_conn_XXXXXX";
    char buf[8192];
    op_http_config_t cfg = test_config();
    struct sockaddr_in sin;
    struct rlimit old, low;
    int logfd = mkstemp(path), fd;

    OP_CHECK(logfd >= 0);
    unlink(path);
    start_with(&cfg);
    op_log_init(OP_LOG_INFO, logfd);
    memset(&sin, 0, sizeof(sin));
    sin.sin_family = AF_INET;
    sin.sin_port = htons((uint16_t)op_http_port(srv));
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    fd = socket(AF_INET, SOCK_STREAM, 0); /* the lowest free descriptor */
    OP_CHECK(fd >= 0);
    OP_CHECK(getrlimit(RLIMIT_NOFILE, &old) == 0);
    low = old;
    low.rlim_cur = (rlim_t)fd + 1; /* no descriptor left */
    OP_CHECK(setrlimit(RLIMIT_NOFILE, &low) == 0);
    OP_CHECK(connect(fd, (struct sockaddr *)&sin, sizeof(sin)) == 0); /* in the backlog */
    /* one loop pass at a time: the first accept fails, then 50 passes */
    for (int i = 0; i < 1000 && stats().accept_errors == 0; i++)
        loop_pass();
    for (int i = 0; i < 50; i++)
        loop_pass();
    OP_CHECK_INT(stats().accept_errors, 1);
    OP_CHECK_INT(stats().accepted, 0);

    OP_CHECK(setrlimit(RLIMIT_NOFILE, &old) == 0);
    op_test_http_client_t *c = op_test_http_adopt(fd, req, sizeof(req) - 1);
    run();
    OP_CHECK_INT(c->status, 200);
    OP_CHECK_INT(stats().accepted, 1);
    OP_CHECK_INT(stats().accept_errors, 1);
    ssize_t n = pread(logfd, buf, sizeof(buf) - 1, 0);
    OP_CHECK(n > 0);
    buf[n] = '\0';
    OP_CHECK_HAS(buf, "http: accept: Too many open files; pausing new connections for 100 ms");
    OP_CHECK_HAS(buf, "http: accepting again after 1 failed accepts");
    OP_CHECK(strstr(buf, "Error from accept") == NULL);
    close(logfd);
    op_test_http_free(c);
    stop();
}

/* Freeing the server with an idle keep-alive connection open releases it
 * (LeakSanitizer checks). */
static void stop_loop(void *arg)
{
    OP_UNUSED(arg);
    op_loop_stop(loop);
}

static void test_free_with_idle_keep_alive_connection(void)
{
    static const char req[] = "GET /hello HTTP/1.1\r\nHost: test\r\n\r\n";
    op_http_config_t cfg = test_config();

    start_with(&cfg);
    op_test_http_client_t *c = op_test_http_raw(req, sizeof(req) - 1);
    op_timer_t *t = op_timer_new(loop, stop_loop, NULL);
    OP_CHECK(t != NULL);
    op_timer_start(t, 100);
    run();
    OP_CHECK(!c->done);
    OP_CHECK_INT(calls, 1);
    OP_CHECK_INT(stats().connections, 1);
    op_http_free(srv);
    bufferevent_free(c->bev);
    evbuffer_free(c->acc);
    free(c);
    op_timer_free(t);
    op_loop_free(loop);
}

/* An answer is written in the pass that makes it (op_http_conn_flush);
 * one the socket cannot take at once is finished by libevent, and the
 * keep-alive connection then serves the request pipelined behind it. */
static void test_answer_larger_than_the_socket_takes(void)
{
    static const char two[] = "GET /big HTTP/1.1\r\nHost: test\r\n\r\n"
                              "GET /hello HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n";
    op_http_config_t cfg = test_config();

    big = malloc(BIG_LEN);
    OP_CHECK(big != NULL);
    memset(big, 'a', BIG_LEN);
    big[0] = big[BIG_LEN - 1] = '"';
    start_with(&cfg);
    op_test_http_client_t *c = op_test_http_raw(two, sizeof(two) - 1);
    run();
    OP_CHECK_INT(op_test_http_answers(c), 2);
    OP_CHECK_INT(c->status, 200);
    OP_CHECK_STR(op_test_http_header(c, "Content-Length"), "4194304");
    OP_CHECK(c->body_len > BIG_LEN && memcmp(c->body, big, BIG_LEN) == 0);
    OP_CHECK(c->body_len > BIG_LEN && strncmp(c->body + BIG_LEN, "HTTP/1.1 200 ", 13) == 0);
    OP_CHECK_INT(calls, 2);
    op_test_http_free(c);
    free(big);
    stop();
}

static const op_test_case_t cases[] = {
    {"trickled_head_cut_off_by_read_deadline", test_trickled_head_cut_off_by_read_deadline},
    {"trickled_body_cut_off_by_read_deadline", test_trickled_body_cut_off_by_read_deadline},
    {"keep_alive_pause_is_not_read_time", test_keep_alive_pause_is_not_read_time},
    {"connection_cap_pauses_accepting", test_connection_cap_pauses_accepting},
    {"emfile_pauses_accepting_then_resumes", test_emfile_pauses_accepting_then_resumes},
    {"free_with_idle_keep_alive_connection", test_free_with_idle_keep_alive_connection},
    {"answer_larger_than_the_socket_takes", test_answer_larger_than_the_socket_takes},
};

OP_TEST_MAIN(cases)
