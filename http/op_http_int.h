/*
 * http/op_http_int.h - private to http/: the server and request structs
 * and the helpers the front-end files (op_http.c, op_http_req.c,
 * op_http_reply.c, op_http_params.c, op_http_cookie.c) share. Handlers
 * never see these; they use http/op_http.h.
 */
#ifndef OP_HTTP_INT_H
#define OP_HTTP_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "http/op_http.h"

struct evhttp;
struct evhttp_request;
struct evhttp_connection;
struct evhttp_bound_socket;
struct evconnlistener;

typedef struct op_http_conn op_http_conn_t;

/* The server. Created by op_http_new, freed by op_http_free. */
struct op_http {
    op_loop_t *loop;
    struct evhttp *evh;
    struct evhttp_bound_socket *bound; /* NULL once not accepting */
    struct evconnlistener *listener;   /* bound's, NULL once not accepting */
    int listen_fd;                     /* ours to close; -1 when none */
    op_timer_t *accept_retry;          /* pending while paused after an accept error */
    bool accepting;                    /* the listener is enabled */
    uint64_t accept_failures;          /* since the last accepted connection */
    size_t max_conns;                  /* accepting pauses at this many connections */
    bool cap_warned;                   /* the pause at max_conns was logged */
    uint64_t read_timeout_ms;          /* request head + body deadline */
    op_list_t conns;                   /* of op_http_conn_t, every open connection */
    op_http_conn_t **by_fd;            /* connections by descriptor */
    size_t nby_fd;
    op_http_stats_t stats;
    op_list_t server_link;   /* in the list of servers (op_http_conn.c) */
    op_http_route_t *routes; /* copy; the strings are borrowed */
    size_t nroutes;
    char **cors; /* allowed origins (heap copies), unless cors_any */
    size_t ncors;
    bool cors_any; /* cors_origins was "*" */
    size_t max_body;
    size_t max_headers; /* our 431 limit; evhttp's own cap is above it */
    uint64_t request_timeout_ms;
    size_t arena_max;
    int port;
    size_t in_flight; /* requests not yet answered */
    uint64_t rng;     /* request-id generator state */
    op_list_t live;   /* of op_http_req_t, every request not yet freed */
};

/*
 * One request. It lives in its own arena. refs counts the handler's reply
 * obligation (1 from the start) plus every op_http_req_hold(); the
 * request is freed when refs reaches 0, which implies it was answered.
 * evreq is NULL from the moment an answer went out (libevent owns it
 * then) and must never be touched again.
 */
struct op_http_req {
    op_http_t *http; /* NULL once the server is freed */
    op_loop_t *loop;
    struct evhttp_request *evreq;
    op_arena_t *arena;
    op_timer_t *deadline;    /* NULL until a handler runs */
    op_list_t link;          /* in http->live */
    op_http_method_t method; /* 0 when evhttp gave an unknown one */
    const char *path;        /* decoded, "-" until known */
    const char *log_path;    /* path with secrets masked, NULL until known */
    const char *subpath;
    op_params_t query;
    op_params_t headers; /* copies of the request headers, in order */
    const char *body;    /* NUL-terminated copy */
    size_t body_len;
    size_t max_body;
    const char *peer;
    const char *cors_origin; /* Access-Control-Allow-Origin value, or NULL */
    bool cors_vary;          /* add "Vary: Origin" */
    const op_params_t *form; /* cached by op_http_req_form */
    const op_json_t *json;   /* cached by op_http_req_json */
    op_params_t cookies;
    bool cookies_parsed;
    bool cookies_ok;
    uint64_t start_us; /* monotonic clock, for the log line */
    int refs;
    bool close;           /* answer with "Connection: close" and close */
    bool replied;         /* an answer went out (handler or deadline) */
    bool handler_replied; /* the handler's reply obligation was met */
    char id[16];          /* "r-" + 8 hex digits */
};

/* ---- op_http_head.c --------------------------------------------------- */

/*
 * The raw bytes of one request head, checked as they arrive (RFC 9112
 * §2-§5): request line, CRLF line ends, field names that are tokens
 * ending at the colon, field values without NUL or controls, no line
 * folding. Keeps no copy of the bytes. Zeroed by op_http_head_reset.
 */
typedef struct op_http_head {
    unsigned char state;
    bool cr;         /* the previous byte was a CR */
    bool seen;       /* a byte of this head arrived */
    int minor;       /* x of HTTP/1.x, -1 until read */
    size_t n;        /* bytes of the current part of the request line */
    size_t nfields;  /* field lines */
    const char *bad; /* the first violation (static text), or NULL */
} op_http_head_t;

void op_http_head_reset(op_http_head_t *h);

/* Scan the next n bytes. Bytes after the end of the head, or after a
 * violation, are not looked at. */
void op_http_head_feed(op_http_head_t *h, const unsigned char *p, size_t n);

/* True once the empty line ending the head was seen, or a violation. */
bool op_http_head_done(const op_http_head_t *h);

/*
 * Check a request evhttp parsed against h, the scan of its head: the
 * scan's verdict, one Host (required in HTTP/1.1), at most one of each
 * singleton field, a Content-Length of digits only, Transfer-Encoding
 * only as "chunked" in HTTP/1.1 without Content-Length, no body on HEAD.
 * OP_OK, or OP_EINVAL with err (400, or 501 for a transfer coding we do
 * not implement); the connection must then close after the answer.
 */
int op_http_head_check(const op_http_head_t *h, struct evhttp_request *evreq, op_err_t *err);

/* ---- op_http_conn.c --------------------------------------------------- */

/*
 * Listen (cfg->fd, or a socket bound to cfg->address:cfg->port with
 * SO_REUSEPORT when cfg->reuse_port) and take over evhttp's accepting:
 * every connection gets a bufferevent of ours whose input is scanned as
 * a request head, a deadline for its head and body, and a place in the
 * count that pauses accepting at http->max_conns. An accept error
 * (EMFILE, ENFILE, ...) pauses accepting for a moment instead of letting
 * the loop spin. On failure cfg->fd stays the caller's.
 */
int op_http_conn_listen(op_http_t *http, const op_http_config_t *cfg, op_err_t *err);

/* Stop accepting for good and close the listening socket. */
void op_http_conn_stop_accepting(op_http_t *http);

/* Before evhttp_free: forget the listener (evhttp frees it). After it:
 * free what is left of every connection. */
void op_http_conn_before_free(op_http_t *http);
void op_http_conn_after_free(op_http_t *http);

/*
 * evhttp hands over a request: stop its connection's deadline, move the
 * scan of its head to *head, start scanning the next head (pipelined
 * bytes first) and hold the next deadline until the answer is written.
 * false when the connection is not one of ours (libevent could not make
 * our bufferevent for it); the request must then be answered with a close.
 */
bool op_http_conn_begin(op_http_t *http, struct evhttp_request *evreq, op_http_head_t *head);

/*
 * Write the answer evhttp has just queued on evcon now, in this loop
 * pass. libevent would add a write event and write in the next pass; when
 * everything goes out here, evhttp hears so at once and (keep-alive) goes
 * back to reading, which removes the write event in the same pass, so
 * libevent's change list makes no epoll_ctl for it and no second
 * epoll_wait is needed. What the socket does not take, and any error, is
 * left to libevent as before. The request may complete inside this call:
 * evhttp frees its evhttp_request and, for an answer that closes, the
 * connection and ours with it; the caller touches neither afterwards.
 */
void op_http_conn_flush(op_http_t *http, struct evhttp_connection *evcon);

/* ---- op_http_req.c ---------------------------------------------------- */

/*
 * New request for evreq, linked into http->live and counted in flight,
 * with refs = 1 (the reply obligation). Does not fail.
 */
op_http_req_t *op_http_req_new(op_http_t *http, struct evhttp_request *evreq);

/*
 * Copy what handlers may read after the answer went out: the first
 * nfields headers, those of the head (evhttp appends a chunked body's
 * trailer fields, which are not headers; 431 when the header block is
 * over http->max_headers), the body
 * (NUL-terminated) and the peer address. On failure err says why.
 */
int op_http_req_copy_in(op_http_req_t *req, size_t nfields, op_err_t *err);

/* Microseconds of the monotonic clock (request durations). */
uint64_t op_http_req_clock_us(void);

/* Value of a header that must appear at most once: NULL when absent or
 * repeated (an ambiguous Authorization or Content-Type is refused). */
const char *op_http_req_header_one(const op_http_req_t *req, const char *name);

/* "GET, HEAD, POST" for a mask of op_http_method_t bits, in a. NULL when
 * a is full (its cap). */
char *op_http_req_allow(op_arena_t *a, unsigned methods);

/* ---- op_http_reply.c -------------------------------------------------- */

/*
 * Send the answer now, unless one already went out: adds the common
 * headers (Content-Type, nosniff, CORS, no-store), logs the request line,
 * stops the deadline, and gives evreq to libevent. It does not touch the
 * reply obligation (the deadline and shutdown answer with it).
 */
void op_http_reply_send(op_http_req_t *req, int status, const char *content_type, const char *body,
                        size_t len, unsigned flags);

/* An error answer as op_http_reply_error sends it. */
typedef struct op_http_error_reply {
    int status;            /* 400..599 */
    const char *json;      /* {"error", "error_description"} */
    size_t len;            /* of json */
    const char *challenge; /* WWW-Authenticate of a 401 invalid_token, else NULL */
} op_http_error_reply_t;

/*
 * Build the answer to err (RFC 6749 §5.2, RFC 6750 §3) in a: the
 * description keeps only what an error_description may carry, so it is
 * also safe in the quoted challenge. With a full arena the body is the
 * static server_error one and the challenge the bare one. Pure, for the
 * fuzz target of what error answers make of hostile descriptions.
 */
void op_http_reply_error_build(op_arena_t *a, const op_err_t *err, op_http_error_reply_t *out);

#endif
