/*
 * http/op_http_reply.c - answers: status, headers, body, the OAuth error
 * body, redirects, CORS headers on normal answers, and the one log line
 * per request.
 *
 * A request gets exactly one answer. The handler's op_http_reply* call
 * meets its reply obligation (and drops that reference) even when the
 * deadline already answered 503; the late answer itself is dropped. Once
 * evhttp_send_reply has run, the evhttp_request belongs to libevent
 * (which frees it after the write, or at once when the client is gone),
 * so everything logged is copied before and evreq is forgotten.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/http.h>

#include "http/op_http_int.h"

/* Reason phrases libevent 2.1.12 does not know (it has none past 417)
 * and the usual ones, so every status line reads right. */
static const struct {
    int status;
    const char *reason;
} op_http_reply_reasons[] = {
    {200, "OK"},
    {201, "Created"},
    {204, "No Content"},
    {302, "Found"},
    {303, "See Other"},
    {304, "Not Modified"},
    {400, "Bad Request"},
    {401, "Unauthorized"},
    {403, "Forbidden"},
    {404, "Not Found"},
    {405, "Method Not Allowed"},
    {409, "Conflict"},
    {413, "Content Too Large"},
    {415, "Unsupported Media Type"},
    {422, "Unprocessable Content"},
    {429, "Too Many Requests"},
    {431, "Request Header Fields Too Large"},
    {500, "Internal Server Error"},
    {501, "Not Implemented"},
    {502, "Bad Gateway"},
    {503, "Service Unavailable"},
    {504, "Gateway Timeout"},
};

static const char op_http_reply_server_error[] = "{\"error\":\"server_error\"}";

static const char *op_http_reply_reason(int status)
{
    for (size_t i = 0; i < OP_NELEMS(op_http_reply_reasons); i++) {
        if (op_http_reply_reasons[i].status == status)
            return op_http_reply_reasons[i].reason;
    }
    return NULL; /* libevent's generic phrase for the class */
}

/* A field value we are willing to send: VCHAR, obs-text, SP and HTAB
 * (RFC 9110 §5.5). CR and LF would split the header; other controls are
 * refused too. */
static bool op_http_reply_value_ok(const char *v)
{
    for (const unsigned char *p = (const unsigned char *)v; *p != '\0'; p++) {
        if ((*p < 0x20 && *p != '\t') || *p == 0x7f)
            return false;
    }
    return true;
}

/* Add a header of ours; with replace, drop one a handler may have set. */
static void op_http_reply_set(op_http_req_t *req, struct evkeyvalq *h, const char *name,
                              const char *value, bool replace)
{
    if (replace)
        evhttp_remove_header(h, name);
    if (evhttp_add_header(h, name, value) != 0)
        op_log_error(req->id, "http: cannot set the %s header", name);
}

/* The Date of an answer (RFC 9110 §6.6.1) as an IMF-fixdate (§5.6.7),
 * formatted once a second; evhttp, which adds it when a handler did not,
 * formats it for every answer. The server never calls setlocale, so
 * strftime's names are the C locale's English ones the format wants. */
static const char *op_http_reply_date(void)
{
    static char text[sizeof("Sun, 06 Nov 1994 08:49:37 GMT")];
    static time_t at = (time_t)-1;
    time_t now = time(NULL);
    struct tm tm;

    if (now != at) {
        bool ok =
            gmtime_r(&now, &tm) != NULL &&
            strftime(text, sizeof(text), "%a, %d %b %Y %H:%M:%S GMT", &tm) == sizeof(text) - 1;
        at = ok ? now : (time_t)-1;
    }
    return at != (time_t)-1 ? text : NULL; /* NULL: evhttp's own then */
}

/* 204 and 304 answers have no body (RFC 9110 §6.4.1). */
static bool op_http_reply_has_body(int status)
{
    return status != 204 && status != 304;
}

/* See http/op_http_int.h. The body is copied into evhttp's buffer. */
void op_http_reply_send(op_http_req_t *req, int status, const char *content_type, const char *body,
                        size_t len, unsigned flags)
{
    struct evhttp_request *evreq = req->evreq;
    struct evkeyvalq *h;
    char clen[32];
    uint64_t us;

    if (req->replied)
        return;
    h = evhttp_request_get_output_headers(evreq);
    const char *date = op_http_reply_date();
    if (date != NULL)
        op_http_reply_set(req, h, "Date", date, true);
    op_http_reply_set(req, h, "X-Content-Type-Options", "nosniff", true);
    if (flags & OP_REPLY_NO_STORE) {
        op_http_reply_set(req, h, "Cache-Control", "no-store", true);
        op_http_reply_set(req, h, "Pragma", "no-cache", true);
    }
    if (req->cors_origin != NULL)
        op_http_reply_set(req, h, "Access-Control-Allow-Origin", req->cors_origin, true);
    if (req->cors_vary)
        op_http_reply_set(req, h, "Vary", "Origin", false);
    /* evhttp closes after writing an answer that says so (RFC 9112 §9.6). */
    if (req->close)
        op_http_reply_set(req, h, "Connection", "close", true);
    if (op_http_reply_has_body(status)) {
        op_http_reply_set(req, h, "Content-Type", content_type, true);
        if (req->method == OP_HTTP_HEAD) {
            /* evhttp 2.1.12 would send a HEAD body and no length. */
            snprintf(clen, sizeof(clen), "%zu", len);
            op_http_reply_set(req, h, "Content-Length", clen, true);
        } else if (len > 0 &&
                   evbuffer_add(evhttp_request_get_output_buffer(evreq), body, len) != 0) {
            op_log_error(req->id, "http: cannot queue a %zu-byte body", len);
            status = 500;
            op_http_reply_set(req, h, "Content-Length", "0", true);
        }
    }

    req->replied = true;
    req->evreq = NULL;
    if (req->deadline != NULL)
        op_timer_stop(req->deadline);
    if (req->http != NULL)
        req->http->in_flight--;
    us = op_http_req_clock_us() - req->start_us;
    op_log_access(req->id, op_http_req_method_name(req),
                  req->log_path != NULL ? req->log_path : req->path, status,
                  (unsigned long long)us);
    struct evhttp_connection *evcon = evhttp_request_get_connection(evreq);
    evhttp_send_reply(evreq, status, op_http_reply_reason(status), NULL);
    if (req->http != NULL)
        op_http_conn_flush(req->http, evcon);
}

/* See http/op_http.h. Besides control bytes, the framing headers
 * (Content-Length, Transfer-Encoding) are refused: only the server sets
 * them, from the body it sends. */
int op_http_reply_header(op_http_req_t *req, const char *name, const char *value)
{
    if (name == NULL || value == NULL || !op_params_is_token(name, strlen(name)) ||
        !op_http_reply_value_ok(value) || strcasecmp(name, "Content-Length") == 0 ||
        strcasecmp(name, "Transfer-Encoding") == 0)
        return OP_EINVAL;
    if (req->replied || req->handler_replied)
        return OP_OK; /* dropped, like the reply it was meant for */
    if (evhttp_add_header(evhttp_request_get_output_headers(req->evreq), name, value) != 0)
        return OP_EINVAL;
    return OP_OK;
}

/*
 * See http/op_http.h. content_type NULL means application/json. A status
 * outside 200..599 (no interim answers), a NULL body with a length, or a Content-Type with
 * control bytes is a handler bug, answered as 500. A second reply from
 * the same handler is logged and ignored (it holds no reference).
 */
void op_http_reply(op_http_req_t *req, int status, const char *content_type, const char *body,
                   size_t len, unsigned flags)
{
    if (req->handler_replied) {
        op_log_error(req->id, "http: second reply (%d) ignored", status);
        return;
    }
    req->handler_replied = true;
    if (req->replied) {
        op_log_debug(req->id, "http: late reply (%d) dropped", status);
    } else {
        if (content_type == NULL)
            content_type = "application/json";
        if (status < 200 || status > 599 || (body == NULL && len > 0) ||
            !op_http_reply_value_ok(content_type)) {
            op_log_error(req->id, "http: invalid reply (status %d) replaced by 500", status);
            op_http_reply_send(req, 500, "application/json", op_http_reply_server_error,
                               sizeof(op_http_reply_server_error) - 1, OP_REPLY_NO_STORE);
        } else {
            op_http_reply_send(req, status, content_type, body, len, flags);
        }
    }
    op_http_req_release(req);
}

void op_http_reply_json(op_http_req_t *req, int status, const char *json, size_t len,
                        unsigned flags)
{
    op_http_reply(req, status, "application/json", json, len, flags);
}

/* Copy s into out, keeping only what RFC 6749 §5.2 allows in an
 * error_description (%x20-21 / %x23-5B / %x5D-7E): '"' becomes '\'',
 * '\\' becomes '/', the "§" descriptions cite sections with becomes
 * "section ", any other byte outside becomes '?'. The result is also safe
 * inside a quoted WWW-Authenticate parameter. */
static void op_http_reply_description(const char *s, char *out, size_t outsz)
{
    size_t o = 0;

    for (const unsigned char *p = (const unsigned char *)s; *p != '\0' && o + 1 < outsz; p++) {
        unsigned char c = *p;

        if (c == 0xc2 && p[1] == 0xa7) { /* UTF-8 "§" */
            int k = snprintf(out + o, outsz - o, "section ");

            o = k >= 0 && (size_t)k < outsz - o ? o + (size_t)k : outsz - 1;
            p++;
            continue;
        }
        if (c == '"')
            c = '\'';
        else if (c == '\\')
            c = '/';
        else if (c < 0x20 || c > 0x7e)
            c = '?';
        out[o++] = (char)c;
    }
    out[o] = '\0';
}

/*
 * See http/op_http.h. err NULL, or without a code or an OAuth error,
 * answers server_error / 500; a status outside 400..599 becomes 500. A
 * 401 invalid_token also gets the RFC 6750 §3 challenge.
 */
void op_http_reply_error_build(op_arena_t *a, const op_err_t *err, op_http_error_reply_t *out)
{
    const char *error = "server_error";
    char desc[OP_ERR_DESC_MAX];
    op_json_w_t *w;

    out->status = 500;
    out->json = NULL;
    out->len = 0;
    out->challenge = NULL;
    desc[0] = '\0';
    if (err != NULL && err->code != OP_OK && err->oauth_error != NULL) {
        error = err->oauth_error;
        if (err->http_status >= 400 && err->http_status <= 599)
            out->status = err->http_status;
        op_http_reply_description(err->description, desc, sizeof(desc));
    }
    if (out->status == 401 && strcmp(error, "invalid_token") == 0) {
        out->challenge =
            op_arena_printf(a, "Bearer error=\"invalid_token\"%s%s%s",
                            desc[0] ? ", error_description=\"" : "", desc, desc[0] ? "\"" : "");

        /* desc is sanitised, so only a full arena can fail here. */
        if (out->challenge == NULL)
            out->challenge = "Bearer error=\"invalid_token\"";
    }
    w = op_json_w_new(a, false);
    if (w != NULL) {
        op_json_w_obj_open(w);
        op_json_w_kstr(w, "error", error);
        if (desc[0] != '\0')
            op_json_w_kstr(w, "error_description", desc);
        op_json_w_obj_close(w);
        if (op_json_w_finish(w, &out->json, &out->len, NULL) != OP_OK)
            out->json = NULL;
    }
    if (out->json == NULL) {
        out->json = op_http_reply_server_error;
        out->len = sizeof(op_http_reply_server_error) - 1;
    }
}

void op_http_reply_error(op_http_req_t *req, const op_err_t *err)
{
    op_http_error_reply_t r;

    op_http_reply_error_build(req->arena, err, &r);
    if (r.challenge != NULL)
        op_http_reply_header(req, "WWW-Authenticate", r.challenge);
    op_http_reply(req, r.status, "application/json", r.json, r.len, OP_REPLY_NO_STORE);
}

/* See http/op_http.h: a Location with control bytes is never sent; the
 * handler's bug is answered as 500. Redirects may carry codes, so they
 * are no-store. */
void op_http_reply_redirect(op_http_req_t *req, const char *location)
{
    op_err_t err;

    if (location == NULL || op_http_reply_header(req, "Location", location) != OP_OK) {
        OP_ERR(&err, OP_ERROR, "invalid redirect location");
        op_http_reply_error(req, &err);
        return;
    }
    op_http_reply(req, 302, "text/plain; charset=utf-8", "", 0, OP_REPLY_NO_STORE);
}
