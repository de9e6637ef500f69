/*
 * http/op_http.c - the evhttp server: set-up with explicit limits,
 * dispatch of each request (framing checks, path, query, router, CORS
 * preflight), the per-request deadline, and shutdown. The connections
 * under evhttp (listening, accept pauses, the cap, the read deadline, the
 * scan of each head) are op_http_conn.c's; the RFC 9112 checks are
 * op_http_head.c's.
 *
 * libevent 2.1.12 defaults are unsafe for an auth server (unlimited body
 * and headers, no server timeout, OPTIONS refused, text/html), so every
 * one is set here. Two limits are answered by libevent itself, before
 * our callback runs, with its own HTML page: a body over max_body (413;
 * with EVHTTP_SERVER_LINGERING_CLOSE it reads the body first so the
 * client sees the 413 instead of a reset) and a header block over its
 * header cap (400: evhttp_read_header and evhttp_read_firstline fail with
 * EVREQ_HTTP_INVALID_HEADER for DATA_TOO_LONG, and 2.1.12 has no error
 * hook). To answer 431 as RFC 6585 asks, evhttp's cap is set to twice
 * max_headers and the callback answers 431 (JSON) for a header block
 * between the two; only a block over twice the limit gets libevent's 400.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include <event2/http.h>
#include <event2/util.h>

#include "http/op_http_int.h"
#include "keys/op_keys.h"

/* Defaults for limits left at 0 in op_http_config_t. */
#define OP_HTTP_DEFAULT_MAX_BODY    (64u * 1024u)
#define OP_HTTP_DEFAULT_MAX_HEADERS (16u * 1024u)
#define OP_HTTP_DEFAULT_IDLE_S      30
#define OP_HTTP_DEFAULT_READ_MS     20000u
#define OP_HTTP_DEFAULT_MAX_CONNS   768u
#define OP_HTTP_DEFAULT_TIMEOUT_MS  10000u
#define OP_HTTP_DEFAULT_ARENA       (1u << 20)
/* Room for the request object itself, so op_http_req_new cannot fail. */
#define OP_HTTP_MIN_ARENA 16384u

#define OP_HTTP_CORS_MAX_AGE "600"
#define OP_HTTP_CORS_HEADERS "Authorization, Content-Type, DPoP"

static const char op_http_timeout_body[] = "{\"error\":\"temporarily_unavailable\","
                                           "\"error_description\":\"the request took too long\"}";
static const char op_http_shutdown_body[] =
    "{\"error\":\"temporarily_unavailable\","
    "\"error_description\":\"the server is shutting down\"}";

/* ---- dispatch --------------------------------------------------------- */

/* The deadline passed before the handler replied: answer 503 now. The
 * handler's own reply, when it comes, meets its obligation and is
 * dropped; nothing is freed here. */
static void op_http_on_deadline(void *arg)
{
    op_http_req_t *req = arg;

    if (req->replied)
        return;
    op_log_warn(req->id, "http: no reply within the deadline, answering 503");
    op_http_reply_send(req, 503, "application/json", op_http_timeout_body,
                       sizeof(op_http_timeout_body) - 1, OP_REPLY_NO_STORE);
}

static const char *op_http_log_path(const op_http_t *http, const char *path, op_arena_t *a);

/*
 * Split the request target into path and query. Origin-form ("/p?q") is
 * split here on the raw bytes; absolute-form ("http://h/p?q") goes
 * through evhttp's URI parser. Anything else ("*", a fragment) is a bad
 * request. The path is percent-decoded ('+' stays '+') and must be UTF-8
 * without NUL; the query is parsed strictly.
 */
static int op_http_parse_target(op_http_req_t *req, op_err_t *err)
{
    const char *uri = evhttp_request_get_uri(req->evreq);
    const struct evhttp_uri *u = evhttp_request_get_evhttp_uri(req->evreq);
    const char *path = uri, *query = NULL;
    size_t path_len, query_len = 0, len;
    char *decoded;
    int rc;

    if (uri == NULL)
        goto out_bad_target;
    if (uri[0] != '/') {
        if (u == NULL || evhttp_uri_get_scheme(u) == NULL || evhttp_uri_get_path(u) == NULL ||
            evhttp_uri_get_path(u)[0] != '/')
            goto out_bad_target;
        path = evhttp_uri_get_path(u);
        query = evhttp_uri_get_query(u);
        if (evhttp_uri_get_fragment(u) != NULL)
            goto out_bad_target;
    }
    if (strchr(path, '#') != NULL)
        goto out_bad_target;
    path_len = strcspn(path, "?");
    if (path[path_len] == '?')
        query = path + path_len + 1;
    if (query != NULL)
        query_len = strlen(query);

    rc = op_params_decode(req->arena, path, path_len, false, &decoded, &len);
    if (rc == OP_ETOOBIG)
        return OP_ERR_OAUTH(err, OP_ETOOBIG, "invalid_request", 413, "request too large");
    if (rc != OP_OK || memchr(decoded, '\0', len) != NULL || !op_json_utf8_valid(decoded, len))
        return OP_ERR_OAUTH(err, OP_EINVAL, "invalid_request", 400,
                            "malformed path (bad percent-encoding, NUL or invalid UTF-8)");
    req->path = decoded;
    req->log_path = op_http_log_path(req->http, decoded, req->arena);
    return op_params_parse(req->arena, query, query_len, NULL, &req->query, err);
out_bad_target:
    return OP_ERR_OAUTH(err, OP_EINVAL, "invalid_request", 400, "malformed request target");
}

/* Does route r take path? Exact, or with OP_ROUTE_PREFIX "<path>/...";
 * *sub gets what follows the '/'. */
static bool op_http_route_match(const op_http_route_t *r, const char *path, const char **sub)
{
    size_t n = strlen(r->path);

    if (strncmp(path, r->path, n) != 0)
        return false;
    if (path[n] == '\0') {
        *sub = "";
        return true;
    }
    if (!(r->flags & OP_ROUTE_PREFIX))
        return false;
    if (r->path[n - 1] == '/') {
        *sub = path + n;
        return true;
    }
    if (path[n] == '/') {
        *sub = path + n + 1;
        return true;
    }
    return false;
}

/*
 * The path as the access log shows it, built so that it holds no secret
 * (op_log_access scans nothing): the path of a route that takes it, but
 * for the segment after the path of an OP_ROUTE_SECRET route (a bearer
 * secret, e.g. an authorisation session id), which becomes "~" and its
 * op_keys_crypto_secret_tag; a path no route takes is all client text, so it is only
 * "~" and the tag of the whole. "-" when the arena is full.
 */
static const char *op_http_log_path(const op_http_t *http, const char *path, op_arena_t *a)
{
    const char *sub = "", *secret = path, *tail = "";
    size_t head = 0, n = strlen(path), tlen;
    char tag[OP_SECRET_TAG_LEN + 1];
    char *s;

    for (size_t i = 0; i < http->nroutes; i++) {
        const op_http_route_t *r = &http->routes[i];

        if (!op_http_route_match(r, path, &sub))
            continue;
        if (!(r->flags & OP_ROUTE_SECRET) || *sub == '\0')
            return path;
        head = (size_t)(sub - path);
        secret = sub;
        n = strcspn(sub, "/");
        tail = sub + n;
        break;
    }
    op_keys_crypto_secret_tag(secret, n, tag);
    tlen = strlen(tail);
    s = op_arena_alloc(a, head + 1 + OP_SECRET_TAG_LEN + tlen + 1);
    if (s == NULL)
        return "-";
    memcpy(s, path, head);
    s[head] = '~';
    memcpy(s + head + 1, tag, OP_SECRET_TAG_LEN);
    memcpy(s + head + 1 + OP_SECRET_TAG_LEN, tail, tlen + 1);
    return s;
}

/* Does a route with methods take method m? HEAD follows GET. */
static bool op_http_method_ok(unsigned methods, op_http_method_t m)
{
    return (methods & m) || (m == OP_HTTP_HEAD && (methods & OP_HTTP_GET));
}

/* CORS headers for the answer: "*" for any origin, else the request's
 * Origin when it is on the list (and "Vary: Origin" either way). */
static void op_http_cors(op_http_t *http, op_http_req_t *req)
{
    const char *origin = op_http_req_header_one(req, "Origin");

    if (http->cors_any) {
        req->cors_origin = "*";
        return;
    }
    req->cors_vary = http->ncors > 0;
    for (size_t i = 0; origin != NULL && i < http->ncors; i++) {
        if (strcmp(origin, http->cors[i]) == 0)
            req->cors_origin = origin;
    }
}

/* OPTIONS on a known path: 204 with Allow, plus the preflight headers on
 * a CORS route when the origin is allowed. */
static void op_http_options(op_http_req_t *req, const char *allow, bool cors)
{
    op_http_reply_header(req, "Allow", allow);
    if (cors && req->cors_origin != NULL) {
        op_http_reply_header(req, "Access-Control-Allow-Methods", allow);
        op_http_reply_header(req, "Access-Control-Allow-Headers", OP_HTTP_CORS_HEADERS);
        op_http_reply_header(req, "Access-Control-Max-Age", OP_HTTP_CORS_MAX_AGE);
    }
    op_http_reply(req, 204, NULL, NULL, 0, 0);
}

/*
 * Route the request. Among the routes whose path matches, the first that
 * takes the method wins (so one path may have a handler per method).
 * None matches the path: 404. Path known but not the method: OPTIONS is
 * answered here (204 / CORS preflight), anything else gets 405 with
 * Allow. The handler runs with the deadline armed.
 */
static void op_http_route(op_http_t *http, op_http_req_t *req)
{
    const op_http_route_t *hit = NULL;
    unsigned methods = 0;
    bool known = false, cors = false;
    const char *allow;
    op_err_t err;

    op_err_clear(&err);
    for (size_t i = 0; i < http->nroutes; i++) {
        const op_http_route_t *r = &http->routes[i];
        const char *sub;

        if (!op_http_route_match(r, req->path, &sub))
            continue;
        known = true;
        methods |= r->methods;
        cors |= (r->flags & OP_ROUTE_CORS) != 0;
        if (hit == NULL && op_http_method_ok(r->methods, req->method)) {
            hit = r;
            req->subpath = sub;
        }
    }
    if (!known) {
        OP_ERR_OAUTH(&err, OP_ENOTFOUND, "not_found", 404, "no such endpoint");
        op_http_reply_error(req, &err);
        return;
    }
    if (hit != NULL ? (hit->flags & OP_ROUTE_CORS) != 0 : cors)
        op_http_cors(http, req);
    if (hit != NULL) {
        req->deadline = op_timer_new(http->loop, op_http_on_deadline, req);
        op_timer_start(req->deadline, http->request_timeout_ms);
        hit->handler(req, hit->ctx);
        return;
    }
    if (methods & OP_HTTP_GET)
        methods |= OP_HTTP_HEAD;
    allow = op_http_req_allow(req->arena, methods | OP_HTTP_OPTIONS);
    if (allow == NULL) {
        OP_ERR(&err, OP_ETOOBIG, "the request leaves no room in its arena for the Allow header");
        op_http_reply_error(req, &err);
    } else if (req->method == OP_HTTP_OPTIONS) {
        op_http_options(req, allow, cors);
    } else {
        op_http_reply_header(req, "Allow", allow);
        OP_ERR_OAUTH(&err, OP_EINVAL, "invalid_request", 405, "method not allowed");
        op_http_reply_error(req, &err);
    }
}

/*
 * evhttp's callback for every request. The request object holds an extra
 * reference while dispatch runs, so a handler that replies (and drops the
 * last reference) inside this call frees nothing under our feet.
 */
static void op_http_on_request(struct evhttp_request *evreq, void *arg)
{
    op_http_t *http = arg;
    op_http_head_t head;
    bool tracked = op_http_conn_begin(http, evreq, &head);
    op_http_req_t *req = op_http_req_new(http, evreq);
    op_err_t err;

    op_err_clear(&err);
    op_http_req_hold(req);
    /* Bytes after a request that was not framed right are no request:
     * such an answer closes the connection. */
    if (!tracked) {
        OP_ERR_OAUTH(&err, OP_ERROR, "temporarily_unavailable", 503,
                     "the connection could not be set up");
        req->close = true;
    } else if (op_http_head_check(&head, evreq, &err) != OP_OK) {
        req->close = true;
    } else if (req->method == 0) {
        OP_ERR_OAUTH(&err, OP_EINVAL, "invalid_request", 501, "method not implemented");
    } else if (op_http_req_copy_in(req, head.nfields, &err) == OP_OK) {
        op_http_parse_target(req, &err);
    }
    if (err.code != OP_OK)
        op_http_reply_error(req, &err);
    else
        op_http_route(http, req);
    op_http_req_release(req);
}

/* ---- set-up ----------------------------------------------------------- */

/* Split cfg->cors_origins ("*" or space-separated origins) into
 * http->cors. */
static void op_http_cors_parse(op_http_t *http, const char *s)
{
    size_t n = 0;

    if (s == NULL)
        return;
    if (strcmp(s, "*") == 0) {
        http->cors_any = true;
        return;
    }
    for (const char *p = s; *p != '\0'; p++)
        n += *p != ' ' && (p == s || p[-1] == ' ');
    http->cors = op_calloc(n, sizeof(*http->cors));
    while (*s != '\0') {
        size_t len;

        s += strspn(s, " ");
        len = strcspn(s, " ");
        if (len == 0)
            break;
        http->cors[http->ncors++] = op_strndup(s, len);
        s += len;
    }
}

/* Seed the request-id generator without blocking; ids are not secrets,
 * so the clock and pid do when getrandom has nothing yet. */
static void op_http_seed(op_http_t *http)
{
    if (getrandom(&http->rng, sizeof(http->rng), GRND_NONBLOCK) != (ssize_t)sizeof(http->rng))
        http->rng = op_loop_now_ms() ^ ((uint64_t)getpid() << 32);
}

static bool op_http_routes_ok(const op_http_route_t *routes, size_t nroutes)
{
    const unsigned all = OP_HTTP_GET | OP_HTTP_POST | OP_HTTP_PUT | OP_HTTP_DELETE | OP_HTTP_HEAD |
                         OP_HTTP_OPTIONS | OP_HTTP_PATCH;

    if (routes == NULL && nroutes > 0)
        return false;
    for (size_t i = 0; i < nroutes; i++) {
        const op_http_route_t *r = &routes[i];

        if (r->path == NULL || r->path[0] != '/' || r->handler == NULL || r->methods == 0 ||
            (r->methods & ~all) != 0)
            return false;
    }
    return true;
}

/*
 * See http/op_http.h. Limits left at 0 take defaults (64 KiB body, 16 KiB
 * headers, 30 s idle, 20 s to read a request, 768 connections, 10 s
 * deadline, 1 MiB arena). With cfg->fd >= 0 the
 * server accepts on that socket and, on success, owns it (closed by
 * op_http_stop_accepting / op_http_free); on failure it stays the
 * caller's.
 */
op_http_t *op_http_new(op_loop_t *loop, const op_http_config_t *cfg, const op_http_route_t *routes,
                       size_t nroutes, op_err_t *err)
{
    const ev_uint16_t methods = EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_HEAD |
                                EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE | EVHTTP_REQ_OPTIONS |
                                EVHTTP_REQ_PATCH;
    op_http_t *http;
    size_t cap;

    if (loop == NULL || cfg == NULL || !op_http_routes_ok(routes, nroutes)) {
        OP_ERR(err, OP_EINVAL, "http: bad configuration or routes");
        return NULL;
    }
    if (cfg->arena_max != 0 && cfg->arena_max < OP_HTTP_MIN_ARENA) {
        OP_ERR(err, OP_EINVAL, "http: arena_max under %u bytes", OP_HTTP_MIN_ARENA);
        return NULL;
    }
    http = op_calloc(1, sizeof(*http));
    http->loop = loop;
    op_list_init(&http->live);
    op_list_init(&http->conns);
    op_list_init(&http->server_link);
    http->max_body = cfg->max_body ? cfg->max_body : OP_HTTP_DEFAULT_MAX_BODY;
    http->max_headers = cfg->max_headers ? cfg->max_headers : OP_HTTP_DEFAULT_MAX_HEADERS;
    http->request_timeout_ms =
        cfg->request_timeout_ms ? cfg->request_timeout_ms : OP_HTTP_DEFAULT_TIMEOUT_MS;
    http->read_timeout_ms = cfg->read_timeout_ms ? cfg->read_timeout_ms : OP_HTTP_DEFAULT_READ_MS;
    http->max_conns = cfg->max_connections ? cfg->max_connections : OP_HTTP_DEFAULT_MAX_CONNS;
    http->listen_fd = -1;
    http->arena_max = cfg->arena_max ? cfg->arena_max : OP_HTTP_DEFAULT_ARENA;
    if (http->max_body > (size_t)EV_SSIZE_MAX || http->max_headers > (size_t)EV_SSIZE_MAX / 2) {
        OP_ERR(err, OP_EINVAL, "http: body or header limit out of range");
        goto out_free_http;
    }
    cap = http->max_headers * 2;
    if (nroutes > 0) {
        http->routes = op_calloc(nroutes, sizeof(*routes));
        memcpy(http->routes, routes, nroutes * sizeof(*routes));
        http->nroutes = nroutes;
    }
    op_http_cors_parse(http, cfg->cors_origins);
    op_http_seed(http);

    http->evh = evhttp_new(op_loop_base(loop)); /* fails only by allocation: aborts */
    evhttp_set_max_body_size(http->evh, (ev_ssize_t)http->max_body);
    evhttp_set_max_headers_size(http->evh, (ev_ssize_t)cap);
    evhttp_set_timeout(http->evh,
                       cfg->idle_timeout_s > 0 ? cfg->idle_timeout_s : OP_HTTP_DEFAULT_IDLE_S);
    evhttp_set_allowed_methods(http->evh, methods);
    evhttp_set_default_content_type(http->evh, "application/json");
    if (evhttp_set_flags(http->evh, EVHTTP_SERVER_LINGERING_CLOSE) != 0) {
        OP_ERR(err, OP_ERROR, "http: EVHTTP_SERVER_LINGERING_CLOSE refused");
        goto out_free_http;
    }
    evhttp_set_gencb(http->evh, op_http_on_request, http);
    if (op_http_conn_listen(http, cfg, err) != OP_OK)
        goto out_free_http;
    return http;
out_free_http:
    op_http_free(http);
    return NULL;
}

int op_http_port(const op_http_t *http)
{
    return http->port;
}

void op_http_stop_accepting(op_http_t *http)
{
    op_http_conn_stop_accepting(http);
}

size_t op_http_in_flight(const op_http_t *http)
{
    return http->in_flight;
}

/*
 * Free the server. Requests not answered yet get a 503 (best effort: the
 * connections close right after) and every live request is detached, so
 * a handler that replies or releases later only frees its own request.
 * For a graceful stop, op_http_stop_accepting and wait for
 * op_http_in_flight() == 0 first. Must not run inside a handler (evhttp
 * cannot be freed from its own callback); defer it.
 */
void op_http_free(op_http_t *http)
{
    if (http == NULL)
        return;
    op_list_t *first;
    while ((first = op_list_first(&http->live)) != NULL) {
        op_http_req_t *req = OP_LIST_ENTRY(first, op_http_req_t, link);

        op_http_reply_send(req, 503, "application/json", op_http_shutdown_body,
                           sizeof(op_http_shutdown_body) - 1, OP_REPLY_NO_STORE);
        op_list_remove(first);
        req->http = NULL;
    }
    op_http_conn_before_free(http);
    if (http->evh != NULL)
        evhttp_free(http->evh);
    op_http_conn_after_free(http);
    for (size_t i = 0; i < http->ncors; i++)
        free(http->cors[i]);
    free(http->cors);
    free(http->routes);
    free(http);
}
