/*
 * tests/unit/op_test_http.h - raw HTTP/1.1 clients for the tests of the
 * in-process server (test_op_http*.c): bufferevents on the server's own
 * loop, so every byte sent and received is under the test's control. A
 * client reads until the server closes; when the last open client is
 * done, op_test_http.on_all_done runs (default: stop the loop).
 *
 * The test's fixture sets op_test_http.loop and op_test_http.port, or
 * op_test_http_start does.
 */
#ifndef OP_TEST_HTTP_H
#define OP_TEST_HTTP_H

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "core/base/op.h"
#include "http/op_http.h"
#include "tests/unit/op_test.h"

typedef struct op_test_http_client {
    struct bufferevent *bev;
    struct evbuffer *acc;
    bool done;
    bool failed; /* connection error before any answer */
    int status;  /* of the first answer */
    char *raw;   /* everything received, NUL-terminated */
    size_t raw_len;
    const char *body; /* of the first answer */
    size_t body_len;
    const char *trickle; /* bytes still to send, one per tick */
    size_t trickle_left;
    size_t chunk; /* bytes per tick */
    uint64_t tick_ms;
    op_timer_t *tick;
} op_test_http_client_t;

static struct {
    op_loop_t *loop;
    int port;
    int open; /* clients not done */
    void (*on_all_done)(void);
} op_test_http;

static inline void op_test_http_finish(op_test_http_client_t *c)
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
    if (c->raw_len >= 12 && memcmp(c->raw, "HTTP/", 5) == 0)
        c->status = (c->raw[9] - '0') * 100 + (c->raw[10] - '0') * 10 + (c->raw[11] - '0');
    char *end = strstr(c->raw, "\r\n\r\n");
    c->body = end != NULL ? end + 4 : "";
    c->body_len = end != NULL ? c->raw_len - (size_t)(end + 4 - c->raw) : 0;
    c->done = true;
    if (--op_test_http.open == 0) {
        if (op_test_http.on_all_done != NULL)
            op_test_http.on_all_done();
        else
            op_loop_stop(op_test_http.loop);
    }
}

static inline void op_test_http_on_read(struct bufferevent *bev, void *arg)
{
    op_test_http_client_t *c = arg;
    evbuffer_add_buffer(c->acc, bufferevent_get_input(bev));
}

static inline void op_test_http_on_event(struct bufferevent *bev, short what, void *arg)
{
    OP_UNUSED(bev);
    if (what & BEV_EVENT_CONNECTED)
        return;
    op_test_http_finish(arg);
}

/* A client on the connected socket fd, sending bytes. */
static inline op_test_http_client_t *op_test_http_adopt(int fd, const char *bytes, size_t len)
{
    op_test_http_client_t *c = calloc(1, sizeof(*c));

    OP_CHECK(c != NULL);
    c->acc = evbuffer_new();
    c->bev = bufferevent_socket_new(op_loop_base(op_test_http.loop), fd, BEV_OPT_CLOSE_ON_FREE);
    OP_CHECK(c->acc != NULL && c->bev != NULL);
    bufferevent_setcb(c->bev, op_test_http_on_read, NULL, op_test_http_on_event, c);
    bufferevent_enable(c->bev, EV_READ);
    OP_CHECK(bufferevent_write(c->bev, bytes, len) == 0);
    op_test_http.open++;
    return c;
}

/* Connect to the server and send raw bytes. */
static inline op_test_http_client_t *op_test_http_raw(const char *bytes, size_t len)
{
    struct sockaddr_in sin;
    op_test_http_client_t *c = op_test_http_adopt(-1, bytes, len);

    memset(&sin, 0, sizeof(sin));
    sin.sin_family = AF_INET;
    sin.sin_port = htons((uint16_t)op_test_http.port);
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    OP_CHECK(bufferevent_socket_connect(c->bev, (struct sockaddr *)&sin, sizeof(sin)) == 0);
    return c;
}

/* method target HTTP/1.1 with Host, "Connection: close", extra header
 * lines (each ending in CRLF) and an optional body. */
static inline op_test_http_client_t *op_test_http_req(const char *method, const char *target,
                                                      const char *headers, const char *body)
{
    char buf[16384];
    int n = snprintf(buf, sizeof(buf),
                     "%s %s HTTP/1.1\r\nHost: test\r\nConnection: close\r\n%s"
                     "Content-Length: %zu\r\n\r\n%s",
                     method, target, headers != NULL ? headers : "",
                     body != NULL ? strlen(body) : 0, body != NULL ? body : "");
    OP_CHECK(n > 0 && (size_t)n < sizeof(buf));
    return op_test_http_raw(buf, (size_t)n);
}

static inline void op_test_http_on_tick(void *arg)
{
    op_test_http_client_t *c = arg;
    size_t n = c->chunk < c->trickle_left ? c->chunk : c->trickle_left;

    if (c->done || n == 0)
        return;
    OP_CHECK(bufferevent_write(c->bev, c->trickle, n) == 0);
    c->trickle += n;
    c->trickle_left -= n;
    if (c->trickle_left > 0)
        op_timer_start(c->tick, c->tick_ms);
}

/* Connect, send the first `first` bytes at once and the rest `chunk`
 * bytes at a time, one chunk every every_ms (bytes are borrowed until
 * sent); c->trickle_left counts what was never sent. */
static inline op_test_http_client_t *
op_test_http_trickle(const char *bytes, size_t len, size_t first, size_t chunk, uint64_t every_ms)
{
    op_test_http_client_t *c = op_test_http_raw(bytes, first);

    c->trickle = bytes + first;
    c->trickle_left = len - first;
    c->chunk = chunk;
    c->tick_ms = every_ms;
    c->tick = op_timer_new(op_test_http.loop, op_test_http_on_tick, c);
    OP_CHECK(c->tick != NULL);
    op_timer_start(c->tick, every_ms);
    return c;
}

/* Value of a response header (first one), NULL when absent. */
static inline char *op_test_http_header(const op_test_http_client_t *c, const char *name)
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

/* How many answers came: status lines "HTTP/d.d ddd " (the bodies of
 * the tests' answers hold none). */
static inline int op_test_http_answers(const op_test_http_client_t *c)
{
    int n = 0;

    for (const char *p = c->raw; (p = strstr(p, "HTTP/")) != NULL; p++)
        n += strlen(p) > 13 && strspn(p + 5, "0123456789.") == 3 && p[8] == ' ' &&
             strspn(p + 9, "0123456789") == 3 && p[12] == ' ';
    return n;
}

/* The JSON member `key` (a string) of the first answer's body. */
static inline char *op_test_http_json_str(const op_test_http_client_t *c, const char *key)
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

static inline void op_test_http_free(op_test_http_client_t *c)
{
    op_timer_free(c->tick);
    free(c->raw);
    free(c);
}

/* Common headers of every answer the server produces. */
static inline void op_test_http_check_common(const op_test_http_client_t *c,
                                             const char *content_type)
{
    OP_CHECK_STR(op_test_http_header(c, "X-Content-Type-Options"), "nosniff");
    if (content_type != NULL)
        OP_CHECK_STR(op_test_http_header(c, "Content-Type"), content_type);
}

/* A JSON error answer {"error", "error_description"}, no-store. */
static inline void op_test_http_check_error(const op_test_http_client_t *c, int status,
                                            const char *error)
{
    OP_CHECK_INT(c->status, status);
    op_test_http_check_common(c, "application/json");
    OP_CHECK_STR(op_test_http_header(c, "Cache-Control"), "no-store");
    OP_CHECK_STR(op_test_http_json_str(c, "error"), error);
    OP_CHECK(op_test_http_json_str(c, "error_description") != NULL);
}

/* A new loop and an in-process server on it with cfg and the routes, its
 * clients pointed at it (op_test_http.loop, op_test_http.port). The caller
 * frees the server, then the loop. */
static inline op_http_t *op_test_http_start(const op_http_config_t *cfg,
                                            const op_http_route_t *routes, size_t nroutes)
{
    op_http_t *srv;
    op_err_t err;

    op_log_init(OP_LOG_WARN, 2);
    op_test_http.loop = op_loop_new();
    OP_CHECK(op_test_http.loop != NULL);
    op_err_clear(&err);
    srv = op_http_new(op_test_http.loop, cfg, routes, nroutes, &err);
    if (srv == NULL)
        fprintf(stderr, "op_http_new: %s\n", err.description);
    OP_CHECK(srv != NULL);
    op_test_http.port = op_http_port(srv);
    return srv;
}

#endif
