/*
 * http/op_http_client.c - the async outbound HTTP(S) client (op_http.h).
 *
 * Used for web hooks, jwks_uri and request_uri fetching and logout
 * notifications. One fetch is one job:
 *
 *   op_http_client_fetch -> parse and check the URL and headers
 *                 -> evhttp_connection (plain, or over bufferevent_openssl)
 *                 -> evhttp_make_request, connect and overall timers
 *   evhttp callbacks / timers -> op_http_client_finish(job, status)
 *                 -> the job moves to the client's "settling" list
 *   reap timer (0 ms, so never inside an evhttp callback stack, c-style
 *   rule 12) -> free the connection and timers, op_call_complete
 *   op_call (core) -> the requester's callback, exactly once, deferred
 *
 * The requester's outcome (callback, argument, response, error) lives in
 * its own allocation handed to op_call as the result, so it outlives the
 * job and is freed by op_call right after the callback.
 *
 * One connection per fetch with "Connection: close": simple, and no state
 * is shared between requests to different parties. Pooling can come
 * later if a caller needs it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/dns.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/util.h>

#include "http/op_http.h"

/* Defaults for config fields left at 0. */
#define OP_HTTP_CLIENT_CONNECT_TIMEOUT_MS 5000
#define OP_HTTP_CLIENT_TIMEOUT_MS         30000
#define OP_HTTP_CLIENT_MAX_RESPONSE       (1024 * 1024)
#define OP_HTTP_CLIENT_USER_AGENT         "tessera"

/* Input bounds. */
#define OP_HTTP_CLIENT_MAX_URL          8192
#define OP_HTTP_CLIENT_MAX_HOST         255
#define OP_HTTP_CLIENT_MAX_HEADERS      32
#define OP_HTTP_CLIENT_MAX_HEADER_NAME  128
#define OP_HTTP_CLIENT_MAX_HEADER_VALUE 8192
/* Response status line + header block. */
#define OP_HTTP_CLIENT_MAX_RESPONSE_HEADERS (64 * 1024)
/* Longest timeout accepted from the config. */
#define OP_HTTP_CLIENT_MAX_TIMEOUT_MS (24ULL * 3600 * 1000)
/* evhttp's own read/write timeout sits this far behind our overall
 * deadline so that our timers always decide (and say which one fired). */
#define OP_HTTP_CLIENT_EVHTTP_SLACK_MS 1000

typedef struct op_http_client_job op_http_client_job_t;

/* What the requester gets. Allocated at op_http_client_fetch, handed to op_call
 * as the result, freed by op_call after the callback has run. */
typedef struct op_http_client_outcome {
    op_http_fetch_cb cb;
    void *arg;
    op_http_response_t resp;
    op_err_t err;
    char *body;         /* malloc'd, NUL-terminated */
    char *content_type; /* malloc'd, or NULL */
} op_http_client_outcome_t;

struct op_http_client_job {
    op_http_client_t *client;
    op_list_t link; /* on the active or the settling list */
    op_call_t *call;
    op_http_client_outcome_t *out;
    int status;                      /* the outcome once done */
    bool done;                       /* outcome fixed; waits on the settling list */
    bool connected;                  /* the request went out: connect (+ TLS) succeeded */
    bool chunked;                    /* the response uses chunked transfer coding */
    struct evhttp_connection *evcon; /* owns bev, ssl and the request */
    struct bufferevent *bev;
    SSL *ssl; /* NULL for http */
    op_timer_t *connect_timer;
    op_timer_t *deadline_timer;
    size_t max_response;
    char peer[OP_HTTP_CLIENT_MAX_HOST + 8]; /* "host:port", for errors */
};

struct op_http_client {
    op_loop_t *loop;
    struct event_base *base;
    struct evdns_base *dns;
    SSL_CTX *ssl_ctx;
    op_timer_t *reap_timer;
    op_list_t active;   /* of op_http_client_job_t, in flight */
    op_list_t settling; /* of op_http_client_job_t, done, connection not yet freed */
    uint64_t connect_timeout_ms;
    uint64_t timeout_ms;
    size_t max_response;
    char *user_agent;
};

/* Set the job's error (first one wins) and finish it. A macro so that the
 * error records where it was raised. */
#define OP_HTTP_CLIENT_FAIL(job, code, ...)                                                        \
    do {                                                                                           \
        if (!(job)->done) {                                                                        \
            OP_ERR(&(job)->out->err, (code), __VA_ARGS__);                                         \
            op_http_client_finish((job), (code));                                                  \
        }                                                                                          \
    } while (0)

static void op_http_client_finish(op_http_client_job_t *job, int status);

/* ---- small helpers ---------------------------------------------------- */

static void op_http_client_tv(uint64_t ms, struct timeval *tv)
{
    tv->tv_sec = (time_t)(ms / 1000);
    tv->tv_usec = (suseconds_t)(ms % 1000) * 1000;
}

/* RFC 9110 §5.6.2 token character. */
static bool op_http_client_is_tchar(unsigned char ch)
{
    if ((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z'))
        return true;
    return ch != '\0' && strchr("!#$%&'*+-.^_`|~", ch) != NULL;
}

/* A header name: a token of bounded length. */
static bool op_http_client_name_ok(const char *name)
{
    size_t n = name != NULL ? strnlen(name, OP_HTTP_CLIENT_MAX_HEADER_NAME + 1) : 0;
    if (n == 0 || n > OP_HTTP_CLIENT_MAX_HEADER_NAME)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!op_http_client_is_tchar((unsigned char)name[i]))
            return false;
    return true;
}

/* A header value: bounded, no control characters but HTAB (so no CR, LF;
 * NUL ends the C string). */
static bool op_http_client_value_ok(const char *value)
{
    if (value == NULL)
        return false;
    size_t n = strnlen(value, OP_HTTP_CLIENT_MAX_HEADER_VALUE + 1);
    if (n > OP_HTTP_CLIENT_MAX_HEADER_VALUE)
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)value[i];
        if ((ch < 0x20 && ch != '\t') || ch == 0x7f)
            return false;
    }
    return true;
}

/* Headers the client writes itself; a caller may not set them. */
static bool op_http_client_reserved(const char *name)
{
    static const char *const reserved[] = {
        "Host",         "User-Agent",        "Connection",       "Content-Length",
        "Content-Type", "Transfer-Encoding", "Accept-Encoding",  "TE",
        "Upgrade",      "Keep-Alive",        "Proxy-Connection", "Trailer"};
    for (size_t i = 0; i < OP_NELEMS(reserved); i++)
        if (evutil_ascii_strcasecmp(name, reserved[i]) == 0)
            return true;
    return false;
}

/* Last OpenSSL error as text, and clear the queue (c-style 4.5). */
static const char *op_http_client_ssl_error(char *buf, size_t size)
{
    unsigned long e = ERR_peek_last_error();
    if (e == 0)
        snprintf(buf, size, "unknown error");
    else
        ERR_error_string_n(e, buf, size);
    ERR_clear_error();
    return buf;
}

/* ---- completion ------------------------------------------------------- */

/* op_call callback: hand the outcome to the requester. result == out (we
 * never cancel the call nor give it a deadline, so it always carries
 * ours); the response exists only for OP_OK. */
static void op_http_client_deliver(int status, void *result, void *arg)
{
    op_http_client_outcome_t *out = arg;
    OP_UNUSED(result);
    out->cb(status, status == OP_OK ? &out->resp : NULL, &out->err, out->arg);
}

static void op_http_client_outcome_free(void *p)
{
    op_http_client_outcome_t *out = p;
    free(out->body);
    free(out->content_type);
    free(out);
}

/*
 * Fix the job's outcome (first call wins) and queue it for settling on
 * the next loop pass. May run inside an evhttp callback, so it frees
 * nothing itself.
 */
static void op_http_client_finish(op_http_client_job_t *job, int status)
{
    op_http_client_t *c = job->client;
    if (job->done)
        return;
    job->done = true;
    job->status = status;
    if (job->connect_timer != NULL)
        op_timer_stop(job->connect_timer);
    if (job->deadline_timer != NULL)
        op_timer_stop(job->deadline_timer);
    op_list_remove(&job->link);
    op_list_insert_tail(&c->settling, &job->link);
    op_timer_start(c->reap_timer, 0);
}

/*
 * Free a finished job: its connection (with the bufferevent, the SSL and
 * any request still queued; evhttp calls none of our callbacks from
 * there), its timers, then complete the call, which defers the
 * requester's callback. Never called from an evhttp callback stack.
 */
static void op_http_client_settle(op_http_client_job_t *job)
{
    if (job->evcon != NULL)
        evhttp_connection_free(job->evcon);
    op_timer_free(job->connect_timer);
    op_timer_free(job->deadline_timer);
    op_call_complete(job->call, job->status, job->out, op_http_client_outcome_free);
    free(job);
}

/* Reap timer: settle every finished job. */
static void op_http_client_reap(void *arg)
{
    op_http_client_t *c = arg;
    op_list_t *first;
    while ((first = op_list_first(&c->settling)) != NULL) {
        op_list_remove(first);
        op_http_client_settle(OP_LIST_ENTRY(first, op_http_client_job_t, link));
    }
}

/* ---- evhttp and timer callbacks --------------------------------------- */

/*
 * The connection failed before the request went out: say whether DNS,
 * the certificate, the TLS handshake or the TCP connect was at fault.
 */
static void op_http_client_fail_connect(op_http_client_job_t *job)
{
    int dns_err = bufferevent_socket_get_dns_error(job->bev);
    if (dns_err != 0) {
        OP_HTTP_CLIENT_FAIL(job, OP_EUNAVAIL, "cannot resolve %s: %s", job->peer,
                            evutil_gai_strerror(dns_err));
        return;
    }
    if (job->ssl != NULL) {
        long v = SSL_get_verify_result(job->ssl);
        /* the bufferevent keeps OpenSSL's errors, and also puts plain
         * SSL_ERROR_* codes (library 0: a socket error) among them */
        unsigned long e, tls_err = 0;
        while ((e = bufferevent_get_openssl_error(job->bev)) != 0)
            if (tls_err == 0 && ERR_GET_LIB(e) != 0)
                tls_err = e;
        ERR_clear_error();
        if (v != X509_V_OK) {
            OP_HTTP_CLIENT_FAIL(job, OP_EUNAVAIL, "TLS certificate of %s did not verify: %s",
                                job->peer, X509_verify_cert_error_string(v));
            return;
        }
        if (tls_err != 0) {
            char buf[160];
            ERR_error_string_n(tls_err, buf, sizeof(buf));
            OP_HTTP_CLIENT_FAIL(job, OP_EUNAVAIL, "TLS handshake with %s failed: %s", job->peer,
                                buf);
            return;
        }
    }
    OP_HTTP_CLIENT_FAIL(job, OP_EUNAVAIL, "cannot connect to %s", job->peer);
}

/* evhttp error callback (runs before the request callback, which then
 * gets NULL): map the error to a status. */
static void op_http_client_on_error(enum evhttp_request_error e, void *arg)
{
    op_http_client_job_t *job = arg;
    if (job->done)
        return;
    switch (e) {
    case EVREQ_HTTP_TIMEOUT:
        OP_HTTP_CLIENT_FAIL(job, OP_ETIMEDOUT, "%s timed out", job->peer);
        break;
    case EVREQ_HTTP_DATA_TOO_LONG:
        /* evhttp also reports malformed chunk framing this way */
        OP_HTTP_CLIENT_FAIL(job, OP_ETOOBIG, "response from %s is over the %zu-byte limit%s",
                            job->peer, job->max_response,
                            job->chunked ? " (or its chunked framing is malformed)" : "");
        break;
    case EVREQ_HTTP_INVALID_HEADER:
        OP_HTTP_CLIENT_FAIL(job, OP_EPROTO, "malformed response from %s", job->peer);
        break;
    case EVREQ_HTTP_REQUEST_CANCEL:
        OP_HTTP_CLIENT_FAIL(job, OP_ECANCELED, "request to %s cancelled", job->peer);
        break;
    case EVREQ_HTTP_EOF:
    case EVREQ_HTTP_BUFFER_ERROR:
    default:
        if (!job->connected)
            op_http_client_fail_connect(job);
        else
            OP_HTTP_CLIENT_FAIL(job, OP_EUNAVAIL,
                                "connection to %s closed before the response was complete",
                                job->peer);
        break;
    }
}

/* Copy a complete response into the outcome (the evhttp request goes
 * away when this callback returns). */
static void op_http_client_take_response(op_http_client_job_t *job, struct evhttp_request *req,
                                         int code)
{
    op_http_client_outcome_t *out = job->out;
    struct evbuffer *in = evhttp_request_get_input_buffer(req);
    size_t len = evbuffer_get_length(in);
    /* evhttp enforces the cap as data arrives (max_body_size); checked
     * again so the contract holds whatever evhttp does */
    if (len > job->max_response) {
        OP_HTTP_CLIENT_FAIL(job, OP_ETOOBIG, "response from %s is over the %zu-byte limit",
                            job->peer, job->max_response);
        return;
    }
    out->body = op_malloc(len + 1);
    if (len > 0 && evbuffer_copyout(in, out->body, len) != (ev_ssize_t)len) {
        OP_HTTP_CLIENT_FAIL(job, OP_ERROR, "cannot read the response from %s", job->peer);
        return;
    }
    out->body[len] = '\0';
    const char *ct = evhttp_find_header(evhttp_request_get_input_headers(req), "Content-Type");
    if (ct != NULL)
        out->content_type = op_strdup(ct);
    out->resp.status = code;
    out->resp.content_type = out->content_type;
    out->resp.body = out->body;
    out->resp.body_len = len;
    op_http_client_finish(job, OP_OK);
}

/*
 * evhttp request callback: a whole response (req with a status), or a
 * failure (req NULL after the error callback, or a status of 0 when the
 * connect failed).
 */
static void op_http_client_on_done(struct evhttp_request *req, void *arg)
{
    op_http_client_job_t *job = arg;
    if (job->done)
        return;
    int code = req != NULL ? evhttp_request_get_response_code(req) : 0;
    if (req == NULL || code == 0) {
        if (!job->connected)
            op_http_client_fail_connect(job);
        else
            OP_HTTP_CLIENT_FAIL(job, OP_EUNAVAIL, "no response from %s", job->peer);
        return;
    }
    if (code < 200 || code > 599) {
        OP_HTTP_CLIENT_FAIL(job, OP_EPROTO, "%s answered with status %d", job->peer, code);
        return;
    }
    op_http_client_take_response(job, req, code);
}

/* evhttp header callback: the response head is in; note its framing for
 * the error message of an oversized body. */
static int op_http_client_on_head(struct evhttp_request *req, void *arg)
{
    op_http_client_job_t *job = arg;
    const char *te = evhttp_find_header(evhttp_request_get_input_headers(req), "Transfer-Encoding");
    job->chunked = te != NULL && strcasestr(te, "chunked") != NULL;
    return 0;
}

/* Output buffer hook: evhttp writes the request only once the connection
 * (and the TLS handshake) is up, so the first bytes added mean
 * "connected" and end the connect deadline. */
static void op_http_client_on_output(struct evbuffer *buf, const struct evbuffer_cb_info *info,
                                     void *arg)
{
    op_http_client_job_t *job = arg;
    OP_UNUSED(buf);
    if (info->n_added == 0 || job->connected)
        return;
    job->connected = true;
    if (job->connect_timer != NULL)
        op_timer_stop(job->connect_timer);
}

static void op_http_client_on_connect_timeout(void *arg)
{
    op_http_client_job_t *job = arg;
    OP_HTTP_CLIENT_FAIL(job, OP_ETIMEDOUT, "connecting to %s took over %llu ms", job->peer,
                        (unsigned long long)job->client->connect_timeout_ms);
}

static void op_http_client_on_deadline(void *arg)
{
    op_http_client_job_t *job = arg;
    OP_HTTP_CLIENT_FAIL(job, OP_ETIMEDOUT, "no complete response from %s within %llu ms", job->peer,
                        (unsigned long long)job->client->timeout_ms);
}

/* ---- starting a fetch ------------------------------------------------- */

/* What op_http_client_start needs from the URL. */
typedef struct op_http_client_target {
    bool https;
    bool ip; /* literal address: no SNI, IP verification */
    int port;
    char addr[OP_HTTP_CLIENT_MAX_HOST + 1]; /* host, IPv6 without [] */
    char *host_header;                      /* malloc'd "host[:port]" */
    char *path;                             /* malloc'd "path[?query]" */
} op_http_client_target_t;

/*
 * Parse url strictly (RFC 3986, evhttp_uri_parse_with_flags with no
 * leniency): http or https, a host, no userinfo, a valid port. Fills t
 * (caller frees t->host_header and t->path). OP_EINVAL with err.
 */
static int op_http_client_parse_url(const char *url, op_http_client_target_t *t, op_err_t *err)
{
    int rc = OP_EINVAL;
    if (url == NULL)
        return OP_ERR(err, OP_EINVAL, "no URL");
    if (strnlen(url, OP_HTTP_CLIENT_MAX_URL + 1) > OP_HTTP_CLIENT_MAX_URL)
        return OP_ERR(err, OP_EINVAL, "URL longer than %d bytes", OP_HTTP_CLIENT_MAX_URL);
    struct evhttp_uri *uri = evhttp_uri_parse_with_flags(url, 0);
    if (uri == NULL)
        return OP_ERR(err, OP_EINVAL, "malformed URL");
    const char *scheme = evhttp_uri_get_scheme(uri);
    const char *host = evhttp_uri_get_host(uri);
    const char *path = evhttp_uri_get_path(uri);
    const char *query = evhttp_uri_get_query(uri);
    int port = evhttp_uri_get_port(uri);

    if (scheme != NULL && evutil_ascii_strcasecmp(scheme, "https") == 0) {
        t->https = true;
    } else if (scheme == NULL || evutil_ascii_strcasecmp(scheme, "http") != 0) {
        OP_ERR(err, OP_EINVAL, "URL scheme must be http or https");
        goto out_free_uri;
    }
    size_t host_len = host != NULL ? strlen(host) : 0;
    if (host_len == 0) {
        OP_ERR(err, OP_EINVAL, "URL has no host");
        goto out_free_uri;
    }
    if (host_len > OP_HTTP_CLIENT_MAX_HOST) {
        OP_ERR(err, OP_EINVAL, "URL host longer than %d bytes", OP_HTTP_CLIENT_MAX_HOST);
        goto out_free_uri;
    }
    if (evhttp_uri_get_userinfo(uri) != NULL) {
        OP_ERR(err, OP_EINVAL, "URL must not carry user information");
        goto out_free_uri;
    }
    if (port == -1)
        port = t->https ? 443 : 80;
    if (port <= 0 || port > 65535) {
        OP_ERR(err, OP_EINVAL, "URL port out of range");
        goto out_free_uri;
    }
    t->port = port;

    /* "[v6]" connects and verifies as "v6"; the Host header keeps the [] */
    if (host[0] == '[' && host_len > 2 && host[host_len - 1] == ']') {
        memcpy(t->addr, host + 1, host_len - 2);
        t->addr[host_len - 2] = '\0';
    } else {
        memcpy(t->addr, host, host_len + 1);
    }
    unsigned char bin[16];
    t->ip = evutil_inet_pton(AF_INET, t->addr, bin) == 1 ||
            evutil_inet_pton(AF_INET6, t->addr, bin) == 1;

    bool default_port = port == (t->https ? 443 : 80);
    char host_buf[OP_HTTP_CLIENT_MAX_HOST + 8];
    if (default_port)
        snprintf(host_buf, sizeof(host_buf), "%s", host);
    else
        snprintf(host_buf, sizeof(host_buf), "%s:%d", host, port);
    if (path == NULL || path[0] == '\0')
        path = "/";
    size_t path_len = strlen(path) + (query != NULL ? strlen(query) + 1 : 0);
    t->host_header = op_strdup(host_buf);
    t->path = op_malloc(path_len + 1);
    snprintf(t->path, path_len + 1, "%s%s%s", path, query != NULL ? "?" : "",
             query != NULL ? query : "");
    rc = OP_OK;
out_free_uri:
    evhttp_uri_free(uri);
    return rc;
}

/* The evhttp method of one of the methods op_http_client_fetch takes. */
static enum evhttp_cmd_type op_http_client_evmethod(op_http_method_t m)
{
    switch (m) {
    case OP_HTTP_POST:
        return EVHTTP_REQ_POST;
    case OP_HTTP_PUT:
        return EVHTTP_REQ_PUT;
    case OP_HTTP_DELETE:
        return EVHTTP_REQ_DELETE;
    default:
        return EVHTTP_REQ_GET;
    }
}

/* Check the caller's part of the request before anything is built. */
static int op_http_client_check_fetch(const op_http_fetch_t *f, op_err_t *err)
{
    if (f->method != OP_HTTP_GET && f->method != OP_HTTP_POST && f->method != OP_HTTP_PUT &&
        f->method != OP_HTTP_DELETE)
        return OP_ERR(err, OP_EINVAL, "only GET, POST, PUT and DELETE are supported");
    if (f->method != OP_HTTP_POST && f->method != OP_HTTP_PUT &&
        (f->body != NULL || f->body_len > 0 || f->content_type != NULL))
        return OP_ERR(err, OP_EINVAL, "a body is only sent with POST and PUT");
    if (f->body == NULL && f->body_len > 0)
        return OP_ERR(err, OP_EINVAL, "body_len without a body");
    if (f->content_type != NULL && !op_http_client_value_ok(f->content_type))
        return OP_ERR(err, OP_EINVAL, "bad content type");
    if (f->nheaders > OP_HTTP_CLIENT_MAX_HEADERS)
        return OP_ERR(err, OP_EINVAL, "more than %d headers", OP_HTTP_CLIENT_MAX_HEADERS);
    if (f->nheaders > 0 && f->headers == NULL)
        return OP_ERR(err, OP_EINVAL, "nheaders without headers");
    for (size_t i = 0; i < f->nheaders; i++) {
        const op_http_header_t *h = &f->headers[i];
        if (!op_http_client_name_ok(h->name))
            return OP_ERR(err, OP_EINVAL, "header %zu: bad name", i);
        if (op_http_client_reserved(h->name))
            return OP_ERR(err, OP_EINVAL, "header %s is set by the client", h->name);
        if (!op_http_client_value_ok(h->value))
            return OP_ERR(err, OP_EINVAL,
                          "header %s: bad value (control characters "
                          "or over %d bytes)",
                          h->name, OP_HTTP_CLIENT_MAX_HEADER_VALUE);
    }
    return OP_OK;
}

/* The connection for t: plain, or TLS with SNI and name/IP verification.
 * (t is not const: OpenSSL's SNI macro casts the name to void *.) */
static int op_http_client_connect(op_http_client_job_t *job, op_http_client_target_t *t,
                                  op_err_t *err)
{
    op_http_client_t *c = job->client;
    char buf[160];
    if (!t->https) {
        job->evcon = evhttp_connection_base_new(c->base, c->dns, t->addr, (ev_uint16_t)t->port);
        if (job->evcon == NULL)
            return OP_ERR(err, OP_ERROR, "cannot create a connection to %s", job->peer);
        job->bev = evhttp_connection_get_bufferevent(job->evcon);
        return OP_OK;
    }
    SSL *ssl = SSL_new(c->ssl_ctx);
    if (ssl == NULL)
        return OP_ERR(err, OP_ERROR, "SSL_new: %s", op_http_client_ssl_error(buf, sizeof(buf)));
    bool ok;
    if (t->ip) {
        ok = X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), t->addr) == 1;
    } else {
        SSL_set_hostflags(ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
        ok = SSL_set_tlsext_host_name(ssl, t->addr) == 1 && SSL_set1_host(ssl, t->addr) == 1;
    }
    if (!ok) {
        SSL_free(ssl);
        return OP_ERR(err, OP_EINVAL, "cannot verify host %s: %s", job->peer,
                      op_http_client_ssl_error(buf, sizeof(buf)));
    }
    struct bufferevent *bev =
        bufferevent_openssl_socket_new(c->base, -1, ssl, BUFFEREVENT_SSL_CONNECTING,
                                       BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
    if (bev == NULL) {
        SSL_free(ssl);
        return OP_ERR(err, OP_ERROR, "cannot create a TLS connection to %s", job->peer);
    }
    /* A peer that closes without close_notify still ends a response
     * framed by Content-Length or chunks cleanly; truncation of those is
     * still caught by evhttp. */
    bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
    job->evcon =
        evhttp_connection_base_bufferevent_new(c->base, c->dns, bev, t->addr, (ev_uint16_t)t->port);
    if (job->evcon == NULL) {
        bufferevent_free(bev); /* frees ssl too */
        return OP_ERR(err, OP_ERROR, "cannot create a connection to %s", job->peer);
    }
    job->bev = bev;
    job->ssl = ssl;
    return OP_OK;
}

/* Add the request headers: ours, then the caller's (already checked). */
static int op_http_client_headers(op_http_client_job_t *job, struct evhttp_request *req,
                                  const op_http_fetch_t *f, const op_http_client_target_t *t,
                                  op_err_t *err)
{
    struct evkeyvalq *h = evhttp_request_get_output_headers(req);
    bool ok = evhttp_add_header(h, "Host", t->host_header) == 0 &&
              evhttp_add_header(h, "User-Agent", job->client->user_agent) == 0 &&
              evhttp_add_header(h, "Connection", "close") == 0;
    if (ok && (f->method == OP_HTTP_POST || f->method == OP_HTTP_PUT)) {
        char len[24];
        snprintf(len, sizeof(len), "%zu", f->body_len);
        ok =
            evhttp_add_header(h, "Content-Length", len) == 0 &&
            (f->content_type == NULL || evhttp_add_header(h, "Content-Type", f->content_type) == 0);
        if (ok && f->body_len > 0)
            ok = evbuffer_add(evhttp_request_get_output_buffer(req), f->body, f->body_len) == 0;
    }
    for (size_t i = 0; ok && i < f->nheaders; i++)
        ok = evhttp_add_header(h, f->headers[i].name, f->headers[i].value) == 0;
    return ok ? OP_OK : OP_ERR(err, OP_ERROR, "cannot build the request to %s", job->peer);
}

/*
 * Build the connection and the request and send it. On error the job is
 * failed (through the deferred path like any other outcome); whatever was
 * built is freed when the job settles. evhttp may run our callbacks from
 * inside evhttp_make_request (e.g. an immediate connect failure): they
 * only finish the job, and nothing here touches the request after it.
 */
static void op_http_client_start(op_http_client_job_t *job, const op_http_fetch_t *f)
{
    op_http_client_t *c = job->client;
    op_http_client_target_t t;
    op_err_t *err = &job->out->err;
    struct timeval tv;
    int rc;

    memset(&t, 0, sizeof(t));
    rc = op_http_client_check_fetch(f, err);
    if (rc == OP_OK)
        rc = op_http_client_parse_url(f->url, &t, err);
    if (rc != OP_OK)
        goto out_fail;
    snprintf(job->peer, sizeof(job->peer), strchr(t.addr, ':') != NULL ? "[%s]:%d" : "%s:%d",
             t.addr, t.port);
    job->max_response = f->max_response > 0 ? f->max_response : c->max_response;
    if (job->max_response > (size_t)EV_SSIZE_MAX)
        job->max_response = (size_t)EV_SSIZE_MAX;

    rc = op_http_client_connect(job, &t, err);
    if (rc != OP_OK)
        goto out_fail;
    evhttp_connection_set_max_body_size(job->evcon, (ev_ssize_t)job->max_response);
    evhttp_connection_set_max_headers_size(job->evcon, OP_HTTP_CLIENT_MAX_RESPONSE_HEADERS);
    evhttp_connection_set_retries(job->evcon, 0);
    op_http_client_tv(c->timeout_ms + OP_HTTP_CLIENT_EVHTTP_SLACK_MS, &tv);
    evhttp_connection_set_timeout_tv(job->evcon, &tv);
    job->connect_timer = op_timer_new(c->loop, op_http_client_on_connect_timeout, job);
    job->deadline_timer = op_timer_new(c->loop, op_http_client_on_deadline, job);
    /* these two fail only by allocation, which aborts (core/base/op_mem.h) */
    evbuffer_add_cb(bufferevent_get_output(job->bev), op_http_client_on_output, job);
    struct evhttp_request *req = evhttp_request_new(op_http_client_on_done, job);
    evhttp_request_set_error_cb(req, op_http_client_on_error);
    evhttp_request_set_header_cb(req, op_http_client_on_head);
    rc = op_http_client_headers(job, req, f, &t, err);
    if (rc != OP_OK) {
        evhttp_request_free(req);
        goto out_fail;
    }
    if (c->connect_timeout_ms < c->timeout_ms)
        op_timer_start(job->connect_timer, c->connect_timeout_ms);
    op_timer_start(job->deadline_timer, c->timeout_ms);
    if (evhttp_make_request(job->evcon, req, op_http_client_evmethod(f->method), t.path) != 0) {
        /* evhttp freed req */
        rc = job->done ? OP_OK
                       : OP_ERR(err, OP_EUNAVAIL, "cannot send the request to %s", job->peer);
        goto out_fail;
    }
    goto out_free_target;

out_fail:
    if (rc != OP_OK)
        op_http_client_finish(job, rc);
out_free_target:
    free(t.host_header);
    free(t.path);
}

/* ---- public API ------------------------------------------------------- */

void op_http_client_fetch(op_http_client_t *c, const op_http_fetch_t *f, op_http_fetch_cb cb,
                          void *arg)
{
    if (c == NULL || cb == NULL) {
        /* no loop to defer through or nobody to tell: a programming error */
        op_log_error(NULL, "http client: op_http_client_fetch without %s",
                     c == NULL ? "a client" : "a callback");
        return;
    }
    op_http_client_outcome_t *out = op_calloc(1, sizeof(*out));
    op_call_t *call = op_call_new(c->loop, 0, op_http_client_deliver, out);
    out->cb = cb;
    out->arg = arg;
    op_err_clear(&out->err);

    op_http_client_job_t *job = op_calloc(1, sizeof(*job));
    job->client = c;
    job->call = call;
    job->out = out;
    snprintf(job->peer, sizeof(job->peer), "(no host)");
    op_list_insert_tail(&c->active, &job->link);
    if (f == NULL) {
        OP_HTTP_CLIENT_FAIL(job, OP_EINVAL, "no fetch description");
        return;
    }
    op_http_client_start(job, f);
}

/* Fill the SSL_CTX: TLS 1.2+, peer verification against ca_file or the
 * system store. */
static int op_http_client_ssl_setup(op_http_client_t *c, const char *ca_file, op_err_t *err)
{
    char buf[160];
    c->ssl_ctx = SSL_CTX_new(TLS_client_method());
    if (c->ssl_ctx == NULL)
        return OP_ERR(err, OP_ERROR, "SSL_CTX_new: %s", op_http_client_ssl_error(buf, sizeof(buf)));
    if (SSL_CTX_set_min_proto_version(c->ssl_ctx, TLS1_2_VERSION) != 1)
        return OP_ERR(err, OP_ERROR, "cannot require TLS 1.2: %s",
                      op_http_client_ssl_error(buf, sizeof(buf)));
    int ok = ca_file != NULL ? SSL_CTX_load_verify_locations(c->ssl_ctx, ca_file, NULL)
                             : SSL_CTX_set_default_verify_paths(c->ssl_ctx);
    if (ok != 1)
        return OP_ERR(err, OP_EINVAL, "cannot load CA certificates from %s: %s",
                      ca_file != NULL ? ca_file : "the system store",
                      op_http_client_ssl_error(buf, sizeof(buf)));
    SSL_CTX_set_verify(c->ssl_ctx, SSL_VERIFY_PEER, NULL);
    return OP_OK;
}

op_http_client_t *op_http_client_new(op_loop_t *loop, const op_http_client_config_t *cfg,
                                     op_err_t *err)
{
    if (loop == NULL || cfg == NULL) {
        OP_ERR(err, OP_EINVAL, "http client: no loop or config");
        return NULL;
    }
    const char *ua = cfg->user_agent != NULL ? cfg->user_agent : OP_HTTP_CLIENT_USER_AGENT;
    if (!op_http_client_value_ok(ua) || ua[0] == '\0') {
        OP_ERR(err, OP_EINVAL, "http client: bad user agent");
        return NULL;
    }
    if (cfg->connect_timeout_ms > OP_HTTP_CLIENT_MAX_TIMEOUT_MS ||
        cfg->timeout_ms > OP_HTTP_CLIENT_MAX_TIMEOUT_MS) {
        OP_ERR(err, OP_EINVAL, "http client: timeouts are limited to %llu ms",
               OP_HTTP_CLIENT_MAX_TIMEOUT_MS);
        return NULL;
    }
    op_http_client_t *c = op_calloc(1, sizeof(*c));
    c->loop = loop;
    op_list_init(&c->active);
    op_list_init(&c->settling);
    c->base = op_loop_base(loop);
    c->connect_timeout_ms =
        cfg->connect_timeout_ms > 0 ? cfg->connect_timeout_ms : OP_HTTP_CLIENT_CONNECT_TIMEOUT_MS;
    c->timeout_ms = cfg->timeout_ms > 0 ? cfg->timeout_ms : OP_HTTP_CLIENT_TIMEOUT_MS;
    c->max_response = cfg->max_response > 0 ? cfg->max_response : OP_HTTP_CLIENT_MAX_RESPONSE;
    c->user_agent = op_strdup(ua);
    c->reap_timer = op_timer_new(loop, op_http_client_reap, c);
    /*
     * Name resolution through evdns, never blocking. evdns_base_new with
     * INITIALIZE_NAMESERVERS reads resolv.conf and /etc/hosts (checked on
     * 2.1.12); evdns_base_load_hosts(NULL) adds libevent's built-in
     * "localhost" entries, so localhost resolves even when the hosts
     * file lacks it. Literal addresses never reach DNS (libevent answers
     * them at once).
     */
    c->dns = evdns_base_new(c->base, EVDNS_BASE_INITIALIZE_NAMESERVERS);
    if (c->dns == NULL) {
        OP_ERR(err, OP_EUNAVAIL, "http client: cannot set up the DNS resolver");
        goto out_free_client;
    }
    evdns_base_load_hosts(c->dns, NULL);
    if (op_http_client_ssl_setup(c, cfg->ca_file, err) != OP_OK)
        goto out_free_client;
    return c;
out_free_client:
    op_http_client_free(c);
    return NULL;
}

/*
 * Cancel every fetch in flight (their callbacks get OP_ECANCELED, later,
 * from the loop), free every connection now, then the client. Safe from
 * inside a fetch callback: those run from op_call's deferred event, never
 * from an evhttp stack.
 */
void op_http_client_free(op_http_client_t *c)
{
    if (c == NULL)
        return;
    op_list_t *first;
    while ((first = op_list_first(&c->active)) != NULL) {
        /* finishing moves it to the settling list */
        op_http_client_job_t *job = OP_LIST_ENTRY(first, op_http_client_job_t, link);
        OP_HTTP_CLIENT_FAIL(job, OP_ECANCELED, "HTTP client closed");
    }
    op_http_client_reap(c);
    op_timer_free(c->reap_timer);
    /* fail_requests = 1: a lookup that a freed connection cancelled only
     * ends (and frees its bufferevent) through the shutdown callback;
     * with 0 it leaks (seen under LSan on 2.1.12). */
    if (c->dns != NULL)
        evdns_base_free(c->dns, 1);
    SSL_CTX_free(c->ssl_ctx);
    free(c->user_agent);
    free(c);
}
