/*
 * tests/bench/load_flow.c - the requests of the load driver's states and
 * the reading of their answers: for Tessera's authorisation session API
 * the same requests, headers and bodies as tests/bench/flow.js; for
 * oidc-provider's interaction routes a user agent's (a cookie jar, the
 * redirects followed); then the token request, UserInfo and refresh grants.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/queue.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "core/base/op.h"
#include "core/base/op_params.h"
#include "keys/op_keys.h"
#include "tests/bench/load.h"

/* The demo configuration both servers share (examples/clients.json). */
#define BENCH_LOAD_API          "/authz-sessions/rest/v3"
#define BENCH_LOAD_API_AUTH     "Bearer demo-api-token"
#define BENCH_LOAD_CLIENT_AUTH  "Basic ZGVtby1jbGllbnQ6ZGVtby1zZWNyZXQ=" /* demo-client:... */
#define BENCH_LOAD_REDIRECT     "http://127.0.0.1:9999/callback"
#define BENCH_LOAD_CONSENT_BODY "{\"scope\":[\"*\"],\"claims\":[\"*\"]}"
#define BENCH_LOAD_JSON         "application/json"
#define BENCH_LOAD_FORM         "application/x-www-form-urlencoded"

/*
 * "name=value&..." with the values percent-encoded (a query, or an
 * application/x-www-form-urlencoded body), from pairs = {name, value, ..., NULL}, in the
 * operation's arena. NULL when the arena is full.
 */
static const char *bench_load_flow_form(bench_load_worker_t *w, const char *const *pairs)
{
    const char *out = "";

    for (size_t i = 0; out != NULL && pairs[i] != NULL; i += 2) {
        const char *v = op_params_urlencode(w->a, pairs[i + 1], strlen(pairs[i + 1]));
        out = v == NULL ? NULL : op_arena_printf(w->a, "%s%s%s=%s", out, i ? "&" : "", pairs[i], v);
    }
    return out;
}

/*
 * A new authorisation request (RFC 7636 §4.1-4.2): a code_verifier of 32
 * random bytes, base64url, and the query with its S256 challenge.
 */
int bench_load_flow_begin(bench_load_worker_t *w, op_err_t *err)
{
    uint8_t raw[32], hash[32];
    char challenge[64];
    char *verifier;

    op_keys_crypto_rand_bytes(raw, sizeof(raw));
    verifier = op_b64url_encode_arena(w->a, raw, sizeof(raw));
    if (verifier == NULL)
        return OP_ERR(err, OP_ETOOBIG, "verifier: over the arena's cap");
    op_keys_crypto_sha256(verifier, strlen(verifier), hash);
    op_b64url_encode(hash, sizeof(hash), challenge);
    w->verifier = verifier;
    w->query = bench_load_flow_form(
        w,
        (const char *const[]){"response_type", "code", "client_id", "demo-client", "redirect_uri",
                              BENCH_LOAD_REDIRECT, "scope", "openid email", "state", "bench",
                              "code_challenge_method", "S256", "code_challenge", challenge, NULL});
    return w->query != NULL ? OP_OK : OP_ERR(err, OP_ETOOBIG, "query: over the arena's cap");
}

/* ---- requests --------------------------------------------------------- */

/*
 * Send one request of the worker's flow on its connection: method, path
 * (with its query), the Authorization value, and a body of the given type
 * (NULL: none); with the user agent's cookies, if any. OP_OK, or an error
 * in err (the request is then not sent).
 */
static int bench_load_flow_request(bench_load_worker_t *w, enum evhttp_cmd_type method,
                                   const char *path, const char *auth, const char *type,
                                   const char *body, op_err_t *err)
{
    struct evhttp_request *req = evhttp_request_new(bench_load_on_answer, w);
    struct evkeyvalq *h;
    char *cookie = NULL;

    if (req == NULL)
        return OP_ERR(err, OP_ERROR, "libevent cannot make a request");
    for (size_t i = 0; i < w->njar; i++) {
        cookie = op_arena_printf(w->a, "%s%s%s=%s", cookie ? cookie : "", cookie ? "; " : "",
                                 w->jar[i].name, w->jar[i].value);
        if (cookie == NULL) {
            evhttp_request_free(req);
            return OP_ERR(err, OP_ETOOBIG, "cookie header: over the arena's cap");
        }
    }
    h = evhttp_request_get_output_headers(req);
    if (evhttp_add_header(h, "Host", w->run->host) != 0 ||
        (auth != NULL && evhttp_add_header(h, "Authorization", auth) != 0) ||
        (cookie != NULL && evhttp_add_header(h, "Cookie", cookie) != 0) ||
        (type != NULL && evhttp_add_header(h, "Content-Type", type) != 0) ||
        (body != NULL &&
         evbuffer_add(evhttp_request_get_output_buffer(req), body, strlen(body)) != 0)) {
        evhttp_request_free(req);
        return OP_ERR(err, OP_ERROR, "cannot add the request headers");
    }
    /* the connection frees the request, also on failure */
    if (evhttp_make_request(w->evcon, req, method, path) != 0)
        return OP_ERR(err, OP_EUNAVAIL, "cannot send %s", path);
    return OP_OK;
}

/* {"<key>": "<value>"} in the operation's arena, or NULL. */
static const char *bench_load_flow_json_member(bench_load_worker_t *w, const char *key,
                                               const char *value)
{
    op_json_w_t *j = op_json_w_new(w->a, false);
    const char *out;
    op_err_t err;

    if (j == NULL)
        return NULL;
    op_json_w_obj_open(j);
    op_json_w_kstr(j, key, value);
    op_json_w_obj_close(j);
    return op_json_w_finish(j, &out, NULL, &err) == OP_OK ? out : NULL;
}

/*
 * Send the request of the worker's state. OP_OK or an error in err.
 */
int bench_load_flow_send(bench_load_worker_t *w, op_err_t *err)
{
    const bench_load_run_t *run = w->run;
    const char *path, *body;

    switch (w->state) {
    case BENCH_LOAD_GET:
        path = run->workload->kind == BENCH_LOAD_JWKS ? run->server->jwks
                                                      : "/.well-known/openid-configuration";
        return bench_load_flow_request(w, EVHTTP_REQ_GET, path, NULL, NULL, NULL, err);
    case BENCH_LOAD_SESSION:
        body = bench_load_flow_json_member(w, "query", w->query);
        if (body == NULL)
            return OP_ERR(err, OP_ETOOBIG, "session body: over the arena's cap");
        return bench_load_flow_request(w, EVHTTP_REQ_POST, BENCH_LOAD_API, BENCH_LOAD_API_AUTH,
                                       BENCH_LOAD_JSON, body, err);
    case BENCH_LOAD_AUTHN:
    case BENCH_LOAD_CONSENT:
        path = op_arena_printf(w->a, BENCH_LOAD_API "/%s", w->sid);
        body = w->state == BENCH_LOAD_AUTHN ? bench_load_flow_json_member(w, "sub", w->sub)
                                            : BENCH_LOAD_CONSENT_BODY;
        if (path == NULL || body == NULL)
            return OP_ERR(err, OP_ETOOBIG, "session update: over the arena's cap");
        return bench_load_flow_request(w, EVHTTP_REQ_PUT, path, BENCH_LOAD_API_AUTH,
                                       BENCH_LOAD_JSON, body, err);
    case BENCH_LOAD_AUTH:
        path = op_arena_printf(w->a, "/auth?%s", w->query);
        if (path == NULL)
            return OP_ERR(err, OP_ETOOBIG, "authorisation request: over the arena's cap");
        return bench_load_flow_request(w, EVHTTP_REQ_GET, path, NULL, NULL, NULL, err);
    case BENCH_LOAD_LOGIN:
        body = bench_load_flow_form(w, (const char *const[]){"sub", w->sub, NULL});
        if (body == NULL)
            return OP_ERR(err, OP_ETOOBIG, "login form: over the arena's cap");
        return bench_load_flow_request(w, EVHTTP_REQ_POST, w->path, NULL, BENCH_LOAD_FORM, body,
                                       err);
    case BENCH_LOAD_RESUME:
        return bench_load_flow_request(w, EVHTTP_REQ_GET, w->path, NULL, NULL, NULL, err);
    case BENCH_LOAD_CODE:
        body = bench_load_flow_form(w, (const char *const[]){"grant_type", "authorization_code",
                                                             "code", w->code, "redirect_uri",
                                                             BENCH_LOAD_REDIRECT, "code_verifier",
                                                             w->verifier, NULL});
        if (body == NULL)
            return OP_ERR(err, OP_ETOOBIG, "token request: over the arena's cap");
        return bench_load_flow_request(w, EVHTTP_REQ_POST, "/token", BENCH_LOAD_CLIENT_AUTH,
                                       BENCH_LOAD_FORM, body, err);
    case BENCH_LOAD_USERINFO:
        body = op_arena_printf(w->a, "Bearer %s", w->access_token);
        if (body == NULL)
            return OP_ERR(err, OP_ETOOBIG, "UserInfo request: over the arena's cap");
        return bench_load_flow_request(w, EVHTTP_REQ_GET, run->server->userinfo, body, NULL, NULL,
                                       err);
    case BENCH_LOAD_REFRESH:
        body =
            bench_load_flow_form(w, (const char *const[]){"grant_type", "refresh_token",
                                                          "refresh_token", w->refresh_token, NULL});
        if (body == NULL)
            return OP_ERR(err, OP_ETOOBIG, "refresh request: over the arena's cap");
        return bench_load_flow_request(w, EVHTTP_REQ_POST, "/token", BENCH_LOAD_CLIENT_AUTH,
                                       BENCH_LOAD_FORM, body, err);
    case BENCH_LOAD_IDLE:
    case BENCH_LOAD_STATE_MAX:
        break;
    }
    return OP_ERR(err, OP_ERROR, "no request in this state");
}

/* ---- answers ---------------------------------------------------------- */

/* The answer's body as JSON, which must come with a 2xx status. OP_OK and
 * *out, or an error in err. */
static int bench_load_flow_json(bench_load_worker_t *w, struct evhttp_request *req,
                                const op_json_t **out, op_err_t *err)
{
    struct evbuffer *in = evhttp_request_get_input_buffer(req);
    size_t len = evbuffer_get_length(in);
    const char *body = len > 0 ? (const char *)evbuffer_pullup(in, -1) : "";
    int status = evhttp_request_get_response_code(req);
    op_json_t *json;

    if (status < 200 || status > 299)
        return OP_ERR(err, OP_EINVAL, "status %d: %.*s", status, (int)(len > 200 ? 200 : len),
                      body);
    if (op_json_parse(w->a, body, len, NULL, &json, err) != OP_OK)
        return err->code;
    *out = json;
    return OP_OK;
}

/* A JSON answer's string member (borrowed from the answer's tree, in the
 * operation's arena). */
static int bench_load_flow_member(const op_json_t *json, const char *key, const char **out,
                                  op_err_t *err)
{
    *out = op_json_get_str(json, key);
    return *out != NULL ? OP_OK : OP_ERR(err, OP_EINVAL, "no %s in the answer", key);
}

/* Keep one Set-Cookie value in the jar: its name=value pair, replacing one
 * of the same name. No attribute is kept and every cookie goes back: the
 * peer's paths and expiries change nothing for one flow's steps. */
static int bench_load_flow_cookie(bench_load_worker_t *w, const char *set_cookie, op_err_t *err)
{
    size_t len = strcspn(set_cookie, ";");
    const char *eq = memchr(set_cookie, '=', len);
    const char *name, *value;
    size_t i;

    if (eq == NULL)
        return OP_ERR(err, OP_EINVAL, "Set-Cookie without a value");
    name = op_arena_strndup(w->a, set_cookie, (size_t)(eq - set_cookie));
    value = op_arena_strndup(w->a, eq + 1, len - (size_t)(eq - set_cookie) - 1);
    if (name == NULL || value == NULL)
        return OP_ERR(err, OP_ETOOBIG, "cookie: over the arena's cap");
    for (i = 0; i < w->njar && strcmp(w->jar[i].name, name) != 0; i++)
        ;
    if (i == BENCH_LOAD_COOKIES_MAX)
        return OP_ERR(err, OP_ETOOBIG, "more than %d cookies", BENCH_LOAD_COOKIES_MAX);
    w->jar[i] = (bench_load_cookie_t){name, value};
    if (i == w->njar)
        w->njar++;
    return OP_OK;
}

/*
 * A front-channel answer of the peer: its cookies go into the jar, and it
 * must redirect. *location is the Location, and
 * *path its path and query when it points back at the server (else NULL).
 */
static int bench_load_flow_redirect(bench_load_worker_t *w, struct evhttp_request *req,
                                    const char **location, const char **path, op_err_t *err)
{
    struct evkeyvalq *h = evhttp_request_get_input_headers(req);
    int status = evhttp_request_get_response_code(req);
    const char *loc = NULL, *authority;
    struct evkeyval *kv;

    for (kv = TAILQ_FIRST(h); kv != NULL; kv = TAILQ_NEXT(kv, next)) {
        if (strcasecmp(kv->key, "Set-Cookie") == 0 &&
            bench_load_flow_cookie(w, kv->value, err) != OP_OK)
            return err->code;
        if (strcasecmp(kv->key, "Location") == 0)
            loc = kv->value;
    }
    if (status < 300 || status > 399 || loc == NULL)
        return OP_ERR(err, OP_EINVAL, "status %d, not a redirect", status);
    *location = op_arena_strdup(w->a, loc);
    *path = NULL;
    if (*location == NULL)
        return OP_ERR(err, OP_ETOOBIG, "location: over the arena's cap");
    if ((*location)[0] == '/') {
        *path = *location;
    } else if (op_str_has_prefix(*location, "http://")) {
        authority = *location + strlen("http://");
        size_t n = strcspn(authority, "/?#");
        if (n == strlen(w->run->host) && memcmp(authority, w->run->host, n) == 0)
            *path = authority[n] == '/' ? authority + n : "/";
    }
    return OP_OK;
}

/* The code parameter of a redirect URI's query (RFC 6749 §4.1.2). */
static int bench_load_flow_code(bench_load_worker_t *w, const char *uri, op_err_t *err)
{
    const char *q = strchr(uri, '?');
    op_params_t params;

    if (q == NULL)
        return OP_ERR(err, OP_EINVAL, "no query in %s", uri);
    q++;
    if (op_params_parse(w->a, q, strcspn(q, "#"), NULL, &params, err) != OP_OK)
        return err->code;
    w->code = op_params_get(&params, "code");
    return w->code != NULL ? OP_OK : OP_ERR(err, OP_EINVAL, "no code in %s", uri);
}

/* Keep the refresh token an answer gives (rotation), if any. */
static int bench_load_flow_keep_refresh(bench_load_worker_t *w, const op_json_t *json,
                                        op_err_t *err)
{
    const char *rt = op_json_get_str(json, "refresh_token");

    if (rt == NULL)
        return OP_OK;
    if (strlen(rt) >= sizeof(w->refresh_token))
        return OP_ERR(err, OP_ETOOBIG, "refresh token over %d bytes", BENCH_LOAD_TOKEN_MAX);
    memcpy(w->refresh_token, rt, strlen(rt) + 1);
    return OP_OK;
}

/*
 * Read the answer of the worker's state: what the flow keeps of it, and
 * *next, its next state (BENCH_LOAD_IDLE: the operation is complete).
 * OP_OK or an error in err.
 */
int bench_load_flow_read(bench_load_worker_t *w, struct evhttp_request *req,
                         bench_load_state_t *next, op_err_t *err)
{
    const op_json_t *json;
    const char *location, *path;

    switch (w->state) {
    case BENCH_LOAD_GET:
        *next = BENCH_LOAD_IDLE;
        return evhttp_request_get_response_code(req) == 200
                   ? OP_OK
                   : OP_ERR(err, OP_EINVAL, "status %d", evhttp_request_get_response_code(req));
    case BENCH_LOAD_SESSION:
    case BENCH_LOAD_AUTHN:
        *next = w->state == BENCH_LOAD_SESSION ? BENCH_LOAD_AUTHN : BENCH_LOAD_CONSENT;
        if (bench_load_flow_json(w, req, &json, err) != OP_OK)
            return err->code;
        return bench_load_flow_member(json, "sid", &w->sid, err);
    case BENCH_LOAD_CONSENT:
        *next = BENCH_LOAD_CODE;
        if (bench_load_flow_json(w, req, &json, err) != OP_OK ||
            bench_load_flow_member(op_json_get(json, "parameters"), "uri", &location, err) != OP_OK)
            return err->code;
        return bench_load_flow_code(w, location, err);
    case BENCH_LOAD_AUTH:
    case BENCH_LOAD_LOGIN:
        *next = w->state == BENCH_LOAD_AUTH ? BENCH_LOAD_LOGIN : BENCH_LOAD_RESUME;
        if (bench_load_flow_redirect(w, req, &location, &path, err) != OP_OK)
            return err->code;
        w->path = path;
        return path != NULL ? OP_OK : OP_ERR(err, OP_EINVAL, "redirect away: %s", location);
    case BENCH_LOAD_RESUME:
        *next = BENCH_LOAD_CODE;
        if (bench_load_flow_redirect(w, req, &location, &path, err) != OP_OK)
            return err->code;
        return bench_load_flow_code(w, location, err);
    case BENCH_LOAD_CODE:
        *next = BENCH_LOAD_USERINFO;
        if (bench_load_flow_json(w, req, &json, err) != OP_OK ||
            bench_load_flow_member(json, "access_token", &w->access_token, err) != OP_OK)
            return err->code;
        if (!w->seeding)
            return OP_OK;
        if (op_json_get_str(json, "refresh_token") == NULL)
            return OP_ERR(err, OP_EINVAL, "no refresh_token in the answer");
        return bench_load_flow_keep_refresh(w, json, err);
    case BENCH_LOAD_USERINFO:
        *next = BENCH_LOAD_IDLE;
        return bench_load_flow_json(w, req, &json, err);
    case BENCH_LOAD_REFRESH:
        *next = BENCH_LOAD_IDLE;
        if (bench_load_flow_json(w, req, &json, err) != OP_OK)
            return err->code;
        return bench_load_flow_keep_refresh(w, json, err);
    case BENCH_LOAD_IDLE:
    case BENCH_LOAD_STATE_MAX:
        break;
    }
    return OP_ERR(err, OP_ERROR, "an answer in no request's state");
}
