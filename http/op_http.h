/*
 * http/op_http.h - the HTTP front-end (evhttp), its request and reply
 * API, the strict cookie parser (the form/query parser is
 * core/base/op_params.h), and the async outbound
 * HTTP(S) client. Only http/ includes <event2/http.h>; handlers see
 * op_http_req_t and never an evhttp type.
 *
 * Request lifetime: the server creates an op_http_req_t with its own
 * arena and a deadline (request_timeout_ms). A handler replies exactly
 * once with one of the op_http_reply_* calls, possibly later from a
 * callback. If the deadline passes first, the server answers 503
 * temporarily_unavailable itself and later replies are dropped. The
 * request (and its arena) is freed when it has been replied to and every
 * op_http_req_hold() has been matched by op_http_req_release().
 */
#ifndef OP_HTTP_H
#define OP_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/base/op.h"
#include "core/base/op_params.h"

/* ---- cookies ---------------------------------------------------------- */

/*
 * Parse a Cookie header ("a=1; b=2"). Names are case-sensitive; a
 * repeated name keeps the first (browsers send the most specific first).
 * Values may be quoted. Bad syntax: OP_EINVAL.
 */
int op_http_cookie_parse(op_arena_t *a, const char *header, size_t len, op_params_t *out,
                         op_err_t *err);

typedef struct op_cookie_attrs {
    const char *path; /* default "/" */
    int64_t max_age;  /* -1: session cookie; 0: delete */
    bool secure;
    bool http_only;
    const char *same_site; /* "Lax", "Strict", "None" or NULL */
} op_cookie_attrs_t;

/* Set-Cookie value; NULL when name or value has bytes not allowed by
 * RFC 6265 §4.1.1. */
char *op_http_cookie_format(op_arena_t *a, const char *name, const char *value,
                            const op_cookie_attrs_t *attrs);

/* ---- the server ------------------------------------------------------- */

typedef struct op_http op_http_t;
typedef struct op_http_req op_http_req_t;

typedef enum {
    OP_HTTP_GET = 1 << 0,
    OP_HTTP_POST = 1 << 1,
    OP_HTTP_PUT = 1 << 2,
    OP_HTTP_DELETE = 1 << 3,
    OP_HTTP_HEAD = 1 << 4,
    OP_HTTP_OPTIONS = 1 << 5,
    OP_HTTP_PATCH = 1 << 6
} op_http_method_t;

/* Route flags. */
#define OP_ROUTE_CORS   0x1 /* public endpoint: CORS headers + preflight */
#define OP_ROUTE_PREFIX 0x2 /* path matches as "<path>/..." too */
/* With PREFIX: the segment after "<path>/" is a bearer secret (a session
 * id); the access log shows its op_keys_crypto_secret_tag instead. */
#define OP_ROUTE_SECRET 0x4

typedef void (*op_http_handler_t)(op_http_req_t *req, void *ctx);

typedef struct op_http_route {
    unsigned methods; /* op_http_method_t bits; HEAD follows GET */
    const char *path; /* exact, e.g. "/jwks.json" */
    unsigned flags;
    op_http_handler_t handler;
    void *ctx;
} op_http_route_t;

typedef struct op_http_config {
    const char *address;         /* "127.0.0.1", "::" */
    int port;                    /* 0: any (read back with op_http_port) */
    int fd;                      /* >= 0: accept on this bound socket */
    bool reuse_port;             /* SO_REUSEPORT (workers) */
    size_t max_body;             /* 413 beyond */
    size_t max_headers;          /* 431 beyond (header block bytes) */
    int idle_timeout_s;          /* connection read/write timeout */
    uint64_t read_timeout_ms;    /* head + body of a request: closed after */
    size_t max_connections;      /* accepting pauses at this many */
    uint64_t request_timeout_ms; /* handler deadline: 503 after */
    size_t arena_max;            /* per request; at least 16 KiB (0: 1 MiB) */
    const char *cors_origins;    /* "*" or space-separated origins, NULL */
} op_http_config_t;

/*
 * Create, bind and listen. Routes are copied (the strings are borrowed
 * and must outlive the server); the first match wins. NULL with err.
 *
 * Connections: a request's head and body must arrive within
 * read_timeout_ms of the connection's accept (first request) or of the
 * request's first byte (later ones), else the connection is closed;
 * idle_timeout_s bounds the silence between reads and writes. At
 * max_connections open connections, or after an accept error such as
 * EMFILE, new connections wait in the kernel's backlog until accepting
 * resumes. A request whose framing is ambiguous or malformed (RFC 9112)
 * is answered 400 before any route sees it, and its connection closed.
 */
op_http_t *op_http_new(op_loop_t *loop, const op_http_config_t *cfg, const op_http_route_t *routes,
                       size_t nroutes, op_err_t *err);

/* The port actually bound. */
int op_http_port(const op_http_t *http);

/* Stop accepting new connections (requests in progress go on). */
void op_http_stop_accepting(op_http_t *http);

/* Requests not yet replied to (for a graceful shutdown). */
size_t op_http_in_flight(const op_http_t *http);

typedef struct op_http_stats {
    size_t connections;     /* open now */
    uint64_t accepted;      /* connections accepted */
    uint64_t accept_errors; /* failed accept() calls, each pausing accepting */
    uint64_t read_timeouts; /* connections closed for a request read too slowly */
} op_http_stats_t;

/* Counters of the connection layer (monitoring). */
void op_http_conn_stats(const op_http_t *http, op_http_stats_t *out);

void op_http_free(op_http_t *http);

/* ---- one request ---------------------------------------------------- */

op_http_method_t op_http_req_method(const op_http_req_t *req);
const char *op_http_req_method_name(const op_http_req_t *req);
const char *op_http_req_path(const op_http_req_t *req); /* decoded */
/* With OP_ROUTE_PREFIX: what follows "<route path>/", else "". */
const char *op_http_req_subpath(const op_http_req_t *req);
/* Parsed query string (strict). */
const op_params_t *op_http_req_query(const op_http_req_t *req);
/* Header value (case-insensitive name, as HTTP says), NULL when absent;
 * the first one for a field that may repeat. Host, Content-Length,
 * Transfer-Encoding, Content-Type, Authorization, Cookie, Origin, DPoP
 * and Sec-Fetch-Site never do: a request repeating one is refused with
 * 400 before any handler runs. */
const char *op_http_req_header(const op_http_req_t *req, const char *name);
/* Body bytes (NUL-terminated copy), length in *len. */
const char *op_http_req_body(const op_http_req_t *req, size_t *len);
/* Body as a strict form (Content-Type must be
 * application/x-www-form-urlencoded). OP_EINVAL with err otherwise. */
int op_http_req_form(op_http_req_t *req, const op_params_t **out, op_err_t *err);
/* Body as strict JSON (Content-Type must be application/json). */
int op_http_req_json(op_http_req_t *req, const op_json_t **out, op_err_t *err);
/* Cookie by name, NULL when absent or the header is malformed. */
const char *op_http_req_cookie(op_http_req_t *req, const char *name);
/* "Authorization: Bearer <token>" (RFC 6750 §2.1), NULL otherwise. */
const char *op_http_req_bearer(const op_http_req_t *req);
const char *op_http_req_peer(const op_http_req_t *req);
const char *op_http_req_id(const op_http_req_t *req);
op_arena_t *op_http_req_arena(op_http_req_t *req);
op_loop_t *op_http_req_loop(op_http_req_t *req);

/* Keep the request (and arena) alive across an async operation. */
void op_http_req_hold(op_http_req_t *req);
void op_http_req_release(op_http_req_t *req);
/* True once a reply went out (or the deadline answered). */
bool op_http_req_replied(const op_http_req_t *req);
/*
 * The handler is about to consume something single-use (a code, a
 * rotating refresh token, an authorisation session): from here on it
 * finishes and answers itself, so the request deadline stops and never
 * answers 503 for a request whose outcome is already decided. The
 * handler's own operations keep their deadlines (storage.timeout,
 * spi.callTimeout), so the answer still comes in bounded time. Returns
 * false when an answer already went out (the deadline passed): the
 * handler must then consume nothing.
 */
bool op_http_req_commit(op_http_req_t *req);

/* ---- replies (exactly one per request) ---------------------------- */

/* Reply flags. */
#define OP_REPLY_NO_STORE 0x1 /* Cache-Control: no-store, Pragma: no-cache */

/* Add a response header before replying. OP_EINVAL if the value has CR,
 * LF or NUL (never sent). */
int op_http_reply_header(op_http_req_t *req, const char *name, const char *value);

void op_http_reply(op_http_req_t *req, int status, const char *content_type, const char *body,
                   size_t len, unsigned flags);
void op_http_reply_json(op_http_req_t *req, int status, const char *json, size_t len,
                        unsigned flags);
/* RFC 6749 §5.2 JSON error body {"error","error_description"} with
 * err->http_status (no-store). */
void op_http_reply_error(op_http_req_t *req, const op_err_t *err);
/* 302 with Location (checked for CR/LF). */
void op_http_reply_redirect(op_http_req_t *req, const char *location);

/* ---- the outbound client -------------------------------------------- */

typedef struct op_http_client op_http_client_t;

typedef struct op_http_client_config {
    const char *ca_file; /* NULL: system trust store */
    uint64_t connect_timeout_ms;
    uint64_t timeout_ms; /* whole exchange */
    size_t max_response; /* body cap, bytes */
    const char *user_agent;
} op_http_client_config_t;

op_http_client_t *op_http_client_new(op_loop_t *loop, const op_http_client_config_t *cfg,
                                     op_err_t *err);
/* Cancels (OP_ECANCELED) every fetch in flight, then frees. */
void op_http_client_free(op_http_client_t *c);

typedef struct op_http_header {
    const char *name;
    const char *value;
} op_http_header_t;

typedef struct op_http_client_fetch {
    op_http_method_t method; /* GET, POST, PUT or DELETE (a body with POST and PUT) */
    const char *url;         /* http:// or https:// */
    const op_http_header_t *headers;
    size_t nheaders;
    const char *body; /* POST body, may be NULL */
    size_t body_len;
    const char *content_type;
    size_t max_response; /* 0: client default */
} op_http_fetch_t;

typedef struct op_http_response {
    int status;
    const char *content_type; /* NULL when absent */
    const char *body;         /* NUL-terminated */
    size_t body_len;
} op_http_response_t;

/*
 * Fetch url asynchronously: DNS through evdns, TLS with certificate and
 * host name verification for https, connect and overall deadlines, body
 * cap. cb runs exactly once with OP_OK and a response (any HTTP status),
 * or OP_EINVAL (bad URL), OP_ETIMEDOUT, OP_ETOOBIG, OP_EUNAVAIL (DNS,
 * connect, TLS failure; err->description says which), OP_ECANCELED. The
 * response is borrowed for the callback.
 */
typedef void (*op_http_fetch_cb)(int status, const op_http_response_t *resp, const op_err_t *err,
                                 void *arg);
void op_http_client_fetch(op_http_client_t *c, const op_http_fetch_t *f, op_http_fetch_cb cb,
                          void *arg);

#endif
