/*
 * http/op_http_req.c - one request: creation, the copies taken from the
 * evhttp_request, the accessors handlers use (headers, body, form, JSON,
 * cookies, bearer token) and the reference count.
 *
 * Everything a handler can read is copied into the request's arena when
 * the request arrives, because the evhttp_request belongs to libevent as
 * soon as an answer goes out, and the deadline may answer while the
 * handler still waits for a store or plugin callback.
 */
#include <assert.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <sys/queue.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "http/op_http_int.h"

/* "HTTP/1.1", as evhttp counts it in the request line. */
#define OP_HTTP_REQ_VERSION_LEN 8

/* Method bits and names, in the order an Allow header lists them. */
static const struct {
    enum evhttp_cmd_type cmd;
    op_http_method_t method;
    const char *name;
} op_http_req_methods[] = {
    {EVHTTP_REQ_GET, OP_HTTP_GET, "GET"},
    {EVHTTP_REQ_HEAD, OP_HTTP_HEAD, "HEAD"},
    {EVHTTP_REQ_POST, OP_HTTP_POST, "POST"},
    {EVHTTP_REQ_PUT, OP_HTTP_PUT, "PUT"},
    {EVHTTP_REQ_DELETE, OP_HTTP_DELETE, "DELETE"},
    {EVHTTP_REQ_PATCH, OP_HTTP_PATCH, "PATCH"},
    {EVHTTP_REQ_OPTIONS, OP_HTTP_OPTIONS, "OPTIONS"},
};

/* Next request id: "r-" and 32 bits of a splitmix64 stream seeded from
 * getrandom(2) in op_http_new. Ids correlate log lines; they are not
 * secrets, so a fast generator is enough. */
static void op_http_req_make_id(op_http_t *http, char *out)
{
    uint64_t z = (http->rng += 0x9e3779b97f4a7c15ull);
    uint8_t b[4];

    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    z ^= z >> 31;
    for (size_t i = 0; i < sizeof(b); i++)
        b[i] = (uint8_t)(z >> (8 * i));
    out[0] = 'r';
    out[1] = '-';
    op_hex_encode(b, sizeof(b), out + 2);
}

uint64_t op_http_req_clock_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

op_http_req_t *op_http_req_new(op_http_t *http, struct evhttp_request *evreq)
{
    op_arena_t *a = op_arena_new(http->arena_max);
    /* fits: op_http_new keeps arena_max at OP_HTTP_MIN_ARENA or more */
    op_http_req_t *req = op_arena_calloc(a, 1, sizeof(*req));

    req->http = http;
    req->loop = http->loop;
    req->evreq = evreq;
    req->arena = a;
    req->path = "-";
    req->subpath = "";
    req->body = "";
    req->peer = "-";
    req->max_body = http->max_body;
    req->start_us = op_http_req_clock_us();
    req->refs = 1;
    for (size_t i = 0; i < OP_NELEMS(op_http_req_methods); i++) {
        if (op_http_req_methods[i].cmd == evhttp_request_get_command(evreq))
            req->method = op_http_req_methods[i].method;
    }
    op_http_req_make_id(http, req->id);
    op_list_insert_tail(&http->live, &req->link);
    http->in_flight++;
    return req;
}

/* Copy the first nfields request headers in order. The header block is
 * measured the way evhttp measures it (request line and header lines
 * without their CRLF), so our 431 limit and evhttp's cap count the same
 * bytes. */
static int op_http_req_copy_headers(op_http_req_t *req, size_t nfields, op_err_t *err)
{
    struct evkeyvalq *hs = evhttp_request_get_input_headers(req->evreq);
    const char *uri = evhttp_request_get_uri(req->evreq);
    size_t bytes = strlen(op_http_req_method_name(req)) + 2 + OP_HTTP_REQ_VERSION_LEN;
    struct evkeyval *kv;
    size_t n = 0;

    bytes += uri != NULL ? strlen(uri) : 0;
    for (kv = TAILQ_FIRST(hs); kv != NULL && n < nfields; kv = TAILQ_NEXT(kv, next)) {
        n++;
        bytes += strlen(kv->key) + 2 + strlen(kv->value);
    }
    if (bytes > req->http->max_headers)
        return OP_ERR_OAUTH(err, OP_ETOOBIG, "invalid_request", 431,
                            "request header fields too large (at most %zu bytes)",
                            req->http->max_headers);
    req->headers.items = op_arena_calloc(req->arena, n > 0 ? n : 1, sizeof(op_param_t));
    if (req->headers.items == NULL)
        goto out_nomem;
    for (kv = TAILQ_FIRST(hs); req->headers.n < n; kv = TAILQ_NEXT(kv, next)) {
        op_param_t *it = &req->headers.items[req->headers.n++];

        it->name_len = strlen(kv->key);
        it->value_len = strlen(kv->value);
        it->name = op_arena_strndup(req->arena, kv->key, it->name_len);
        it->value = op_arena_strndup(req->arena, kv->value, it->value_len);
        if (it->name == NULL || it->value == NULL)
            goto out_nomem;
    }
    return OP_OK;
out_nomem:
    return OP_ERR_OAUTH(err, OP_ETOOBIG, "invalid_request", 431,
                        "request header fields too large for the request's %zu-byte arena",
                        req->http->arena_max);
}

int op_http_req_copy_in(op_http_req_t *req, size_t nfields, op_err_t *err)
{
    struct evbuffer *in = evhttp_request_get_input_buffer(req->evreq);
    struct evhttp_connection *evcon = evhttp_request_get_connection(req->evreq);
    size_t n = evbuffer_get_length(in);
    char *body;
    int rc;

    rc = op_http_req_copy_headers(req, nfields, err);
    if (rc != OP_OK)
        return rc;
    if (evcon != NULL) {
        char *addr = NULL;
        ev_uint16_t port = 0;

        evhttp_connection_get_peer(evcon, &addr, &port);
        if (addr != NULL && (req->peer = op_arena_strdup(req->arena, addr)) == NULL)
            goto out_nomem;
    }
    /* evhttp enforces max_body already; this guards the copy anyway. */
    if (n > req->max_body)
        return OP_ERR_OAUTH(err, OP_ETOOBIG, "invalid_request", 413,
                            "request body too large (at most %zu bytes)", req->max_body);
    body = op_arena_alloc(req->arena, n + 1);
    if (body == NULL)
        goto out_nomem;
    if (evbuffer_copyout(in, body, n) != (ev_ssize_t)n)
        return OP_ERR(err, OP_ERROR, "cannot read the request body");
    body[n] = '\0';
    req->body = body;
    req->body_len = n;
    return OP_OK;
out_nomem:
    return OP_ERR_OAUTH(err, OP_ETOOBIG, "invalid_request", 413,
                        "request too large for the request's %zu-byte arena", req->http->arena_max);
}

/* Free the request: its deadline timer and its arena (which holds req). */
static void op_http_req_destroy(op_http_req_t *req)
{
    op_arena_t *a = req->arena;

    op_list_remove(&req->link); /* already off when the server went first */
    op_timer_free(req->deadline);
    op_arena_free(a);
}

void op_http_req_hold(op_http_req_t *req)
{
    assert(req->refs > 0);
    req->refs++;
}

/* Drop one reference; the last one frees the request. The reply
 * obligation is a reference too, so refs cannot reach 0 before the
 * handler replied. */
void op_http_req_release(op_http_req_t *req)
{
    assert(req->refs > 0);
    if (--req->refs == 0)
        op_http_req_destroy(req);
}

bool op_http_req_replied(const op_http_req_t *req)
{
    return req->replied;
}

/* See http/op_http.h: the deadline stops for good; the handler's reply
 * obligation (a reference) keeps the request until it answers. */
bool op_http_req_commit(op_http_req_t *req)
{
    if (req->replied)
        return false;
    if (req->deadline != NULL)
        op_timer_stop(req->deadline);
    return true;
}

/* ---- accessors -------------------------------------------------------- */

op_http_method_t op_http_req_method(const op_http_req_t *req)
{
    return req->method;
}

const char *op_http_req_method_name(const op_http_req_t *req)
{
    for (size_t i = 0; i < OP_NELEMS(op_http_req_methods); i++) {
        if (op_http_req_methods[i].method == req->method)
            return op_http_req_methods[i].name;
    }
    return "-";
}

char *op_http_req_allow(op_arena_t *a, unsigned methods)
{
    char buf[64] = "";
    size_t off = 0;

    for (size_t i = 0; i < OP_NELEMS(op_http_req_methods); i++) {
        if (!(methods & op_http_req_methods[i].method))
            continue;
        int n = snprintf(buf + off, sizeof(buf) - off, "%s%s", off > 0 ? ", " : "",
                         op_http_req_methods[i].name);
        /* every method of the table fits; a cut list is never sent */
        if (n < 0 || (size_t)n >= sizeof(buf) - off)
            return NULL;
        off += (size_t)n;
    }
    return op_arena_strdup(a, buf);
}

const char *op_http_req_path(const op_http_req_t *req)
{
    return req->path;
}

const char *op_http_req_subpath(const op_http_req_t *req)
{
    return req->subpath;
}

const op_params_t *op_http_req_query(const op_http_req_t *req)
{
    return &req->query;
}

const char *op_http_req_header(const op_http_req_t *req, const char *name)
{
    for (size_t i = 0; name != NULL && i < req->headers.n; i++) {
        if (strcasecmp(req->headers.items[i].name, name) == 0)
            return req->headers.items[i].value;
    }
    return NULL;
}

const char *op_http_req_header_one(const op_http_req_t *req, const char *name)
{
    const char *found = NULL;

    for (size_t i = 0; i < req->headers.n; i++) {
        if (strcasecmp(req->headers.items[i].name, name) != 0)
            continue;
        if (found != NULL)
            return NULL;
        found = req->headers.items[i].value;
    }
    return found;
}

const char *op_http_req_body(const op_http_req_t *req, size_t *len)
{
    if (len != NULL)
        *len = req->body_len;
    return req->body;
}

/* True when the (single) Content-Type names media type `type`, in any
 * case, optionally followed by parameters ("; charset=UTF-8"). */
static bool op_http_req_content_type_is(const op_http_req_t *req, const char *type)
{
    const char *ct = op_http_req_header_one(req, "Content-Type");
    size_t n = strlen(type);

    if (ct == NULL || strncasecmp(ct, type, n) != 0)
        return false;
    ct += n;
    while (*ct == ' ' || *ct == '\t')
        ct++;
    return *ct == '\0' || *ct == ';';
}

int op_http_req_form(op_http_req_t *req, const op_params_t **out, op_err_t *err)
{
    static const char type[] = "application/x-www-form-urlencoded";
    op_params_t *p;
    int rc;

    *out = req->form;
    if (req->form != NULL)
        return OP_OK;
    if (!op_http_req_content_type_is(req, type))
        return OP_ERR_OAUTH(err, OP_EINVAL, "invalid_request", 400, "the Content-Type must be %s",
                            type);
    p = op_arena_calloc(req->arena, 1, sizeof(*p));
    if (p == NULL)
        return OP_ERR(err, OP_ETOOBIG, "request too large to parse its form");
    rc = op_params_parse(req->arena, req->body, req->body_len, NULL, p, err);
    if (rc != OP_OK)
        return rc;
    *out = req->form = p;
    return OP_OK;
}

int op_http_req_json(op_http_req_t *req, const op_json_t **out, op_err_t *err)
{
    op_json_limits_t lim = op_json_default_limits;
    op_json_t *v = NULL;
    int rc;

    *out = req->json;
    if (req->json != NULL)
        return OP_OK;
    if (!op_http_req_content_type_is(req, "application/json"))
        return OP_ERR_OAUTH(err, OP_EINVAL, "invalid_request", 400,
                            "the Content-Type must be application/json");
    lim.max_bytes = req->max_body;
    rc = op_json_parse(req->arena, req->body, req->body_len, &lim, &v, err);
    if (rc != OP_OK)
        return rc;
    *out = req->json = v;
    return OP_OK;
}

/* A browser sends one Cookie header (RFC 6265 §5.4); two, or a malformed
 * one, mean no cookies at all rather than a guess. */
const char *op_http_req_cookie(op_http_req_t *req, const char *name)
{
    if (!req->cookies_parsed) {
        const char *h = op_http_req_header_one(req, "Cookie");

        req->cookies_parsed = true;
        req->cookies_ok = h != NULL && op_http_cookie_parse(req->arena, h, strlen(h), &req->cookies,
                                                            NULL) == OP_OK;
    }
    return req->cookies_ok ? op_params_get(&req->cookies, name) : NULL;
}

/*
 * RFC 6750 §2.1: credentials = "Bearer" 1*SP b64token, with the scheme
 * matched case-insensitively and b64token = 1*( ALPHA / DIGIT / "-" / "."
 * / "_" / "~" / "+" / "/" ) *"=". Anything else, or two Authorization
 * headers, gives NULL. The token is borrowed from the request's arena.
 */
const char *op_http_req_bearer(const op_http_req_t *req)
{
    static const char b64token[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                   "0123456789-._~+/";
    const char *v = op_http_req_header_one(req, "Authorization");
    size_t n;

    if (v == NULL || strncasecmp(v, "Bearer ", 7) != 0)
        return NULL;
    v += 7;
    while (*v == ' ')
        v++;
    n = strspn(v, b64token);
    if (n == 0)
        return NULL;
    n += strspn(v + n, "=");
    return v[n] == '\0' ? v : NULL;
}

const char *op_http_req_peer(const op_http_req_t *req)
{
    return req->peer;
}

const char *op_http_req_id(const op_http_req_t *req)
{
    return req->id;
}

op_arena_t *op_http_req_arena(op_http_req_t *req)
{
    return req->arena;
}

op_loop_t *op_http_req_loop(op_http_req_t *req)
{
    return req->loop;
}
