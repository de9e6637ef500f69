/*
 * core/flows/op_userinfo.c - GET and POST /userinfo (OpenID Connect Core §5.3,
 * bearer token usage per RFC 6750).
 *
 * One flow per request: take the access token (Authorization: Bearer, or
 * for POST the access_token form parameter, never both), check it
 * (core/proto/op_token.c: a JWT we signed, or an identifier in the store), ask
 * the claims sources for the claims the token names (clm, in its claims
 * locales cll) and answer them with "sub" and the preset claims (uip):
 * JSON, or a JWT signed with the client's userinfo_signed_response_alg
 * (OIDC Core §5.3.2). Errors carry the Bearer challenge of RFC 6750 §3;
 * a request without a token gets the challenge alone (§3.1). A claims
 * source that does not answer in time is a 503.
 */
#include <string.h>
#include <strings.h>

#include "core/flows/op_flows.h"
#include "core/proto/op_token.h"

#define OP_USERINFO_ARENA (1u << 20) /* per request */

typedef enum {
    UI_AUTH,    /* find the token, start its check */
    UI_CHECKED, /* the token checked: scope, client, claims fetch */
    UI_CLAIMS,  /* the claims fetched */
    UI_REPLY,
    UI_ERROR, /* answer f->err with its challenge */
    UI_MAX
} op_userinfo_state_t;

static const char *const op_userinfo_states[UI_MAX] = {"auth", "checked", "claims", "reply",
                                                       "error"};

typedef struct op_userinfo {
    op_server_t *srv;
    op_http_req_t *req;
    op_keys_set_t *keys; /* retained for the flow's life */
    int st;
    op_err_t st_err;
    op_token_access_t at;
    const op_client_t *client;
    const op_json_t *claims;
} op_userinfo_t;

static void op_userinfo_on_check(int status, const op_token_access_t *at, const op_err_t *err,
                                 void *arg)
{
    op_flow_t *f = arg;
    op_userinfo_t *ui = f->ctx;

    ui->st = status;
    if (status == OP_OK)
        ui->at = *at;
    else
        ui->st_err = *err;
    op_flow_resume(f);
}

/* The one token of the request (RFC 6750 §2: "MUST NOT use more than one
 * method"). OP_DECLINED when there is none. */
static int op_userinfo_token(op_flow_t *f, const char **out)
{
    op_userinfo_t *ui = f->ctx;
    const char *auth = op_http_req_header(ui->req, "Authorization");
    const char *form_token = NULL;
    size_t body_len = 0;

    *out = op_http_req_bearer(ui->req);
    if (*out == NULL && auth != NULL && strncasecmp(auth, "Bearer", 6) == 0)
        return OP_ERR_OAUTH(&f->err, OP_EINVAL, "invalid_request", 400,
                            "malformed Bearer credentials (RFC 6750 §2.1)");
    op_http_req_body(ui->req, &body_len);
    if (op_http_req_method(ui->req) == OP_HTTP_POST && body_len > 0) {
        const op_params_t *form = NULL;
        int rc = op_http_req_form(ui->req, &form, &f->err);
        if (rc != OP_OK)
            return rc;
        form_token = op_params_get(form, "access_token");
    }
    if (*out != NULL && form_token != NULL)
        return OP_ERR_OAUTH(&f->err, OP_EINVAL, "invalid_request", 400,
                            "the access token was sent twice (RFC 6750 §2)");
    if (*out == NULL)
        *out = form_token;
    return *out != NULL ? OP_OK : OP_DECLINED;
}

static int op_userinfo_auth(op_flow_t *f)
{
    op_userinfo_t *ui = f->ctx;
    const char *token = NULL;
    int rc = op_userinfo_token(f, &token);

    if (rc == OP_DECLINED) {
        /* RFC 6750 §3.1: no error code when no credentials came. */
        char *ch = op_arena_printf(f->arena, "Bearer realm=\"%s\"", ui->srv->cfg->issuer);
        if (ch != NULL)
            op_http_reply_header(ui->req, "WWW-Authenticate", ch);
        op_http_reply_json(ui->req, 401, "{}", 2, OP_REPLY_NO_STORE);
        return OP_DONE;
    }
    if (rc != OP_OK) {
        op_flow_set_state(f, UI_ERROR);
        return OP_OK;
    }
    ui->keys = op_keys_current(ui->srv->keys);
    op_token_ctx_t ctx = {ui->srv->cfg, ui->keys, op_loop_epoch()};
    op_flow_set_state(f, UI_CHECKED);
    op_flow_hold(f);
    op_token_access_check(f->loop, ui->srv->store, &ctx, token, f->arena, op_userinfo_on_check, f);
    return OP_AGAIN;
}

static void op_userinfo_on_claims(int status, const op_json_t *claims, const op_err_t *err,
                                  void *arg)
{
    op_flow_t *f = arg;
    op_userinfo_t *ui = f->ctx;

    ui->st = status;
    if (status == OP_OK)
        ui->claims = claims;
    else if (err != NULL)
        ui->st_err = *err;
    op_flow_resume(f);
}

/* The token checked: it must be good, allow UserInfo (the openid scope,
 * OIDC Core §5.3) and name a known client. OP_OK, or an error in f->err. */
static int op_userinfo_allowed(op_flow_t *f)
{
    op_userinfo_t *ui = f->ctx;
    const op_grant_t *g = &ui->at.grant;

    if (ui->st != OP_OK) {
        f->err = ui->st_err;
        return ui->st;
    }
    if (!op_strs_has(&g->scp, "openid"))
        return OP_ERR_OAUTH(&f->err, OP_EDENIED, "insufficient_scope", 403,
                            "the access token does not have the openid scope");
    ui->client = op_client_registry_find(ui->srv->clients, g->cid);
    if (ui->client == NULL)
        return OP_ERR_OAUTH(&f->err, OP_EDENIED, "invalid_token", 401,
                            "the client of the access token is no longer registered");
    return OP_OK;
}

/* Fetch the claims an allowed token names. */
static int op_userinfo_checked(op_flow_t *f)
{
    op_userinfo_t *ui = f->ctx;
    const op_grant_t *g = &ui->at.grant;

    if (op_userinfo_allowed(f) != OP_OK) {
        op_flow_set_state(f, UI_ERROR);
        return OP_OK;
    }
    if (g->clm.n == 0 || ui->srv->spi == NULL) {
        op_flow_set_state(f, UI_REPLY);
        return OP_OK;
    }
    op_flow_set_state(f, UI_CLAIMS);
    op_flow_hold(f);
    op_token_claims_fetch(ui->srv->spi, ui->srv->cfg->spi_timeout_ms, g, &g->clm, "userinfo",
                          f->req_id, f->arena, op_userinfo_on_claims, f);
    return OP_AGAIN;
}

/* The claims sources' answer: a subject they do not know has no claims
 * beyond sub and the presets (OP_OK); a late source is a 503. OP_OK, or
 * an error in f->err. */
static int op_userinfo_fetched(op_flow_t *f)
{
    op_userinfo_t *ui = f->ctx;

    if (ui->st == OP_OK || ui->st == OP_ENOTFOUND)
        return OP_OK;
    if (ui->st == OP_ETIMEDOUT || ui->st == OP_ECANCELED || ui->st == OP_EUNAVAIL)
        return OP_ERR_OAUTH(&f->err, ui->st, "temporarily_unavailable", 503,
                            "the claims sources did not answer in time");
    if (ui->st_err.oauth_error == NULL)
        return OP_ERR(&f->err, OP_ERROR, "the claims sources failed");
    f->err = ui->st_err;
    return f->err.code;
}

static int op_userinfo_claims(op_flow_t *f)
{
    op_flow_set_state(f, op_userinfo_fetched(f) == OP_OK ? UI_REPLY : UI_ERROR);
    return OP_OK;
}

/* The answer's document: OIDC Core §5.3.2, or its signed form with iss
 * and aud (*jwt then set). OP_OK, or an error in f->err. */
static int op_userinfo_doc(op_flow_t *f, const char **body, size_t *len, char **jwt)
{
    op_userinfo_t *ui = f->ctx;
    const op_grant_t *g = &ui->at.grant;
    op_jws_alg_t alg = ui->client->userinfo_signed_response_alg;
    op_json_w_t *w = op_json_w_new(f->arena, false);
    const char *sub = op_client_sub(ui->client, ui->srv->cfg, g->sub, f->arena); /* OIDC Core §8 */
    int rc;

    if (w == NULL || sub == NULL)
        return OP_ERR(&f->err, OP_ETOOBIG, "request too large");
    op_json_w_obj_open(w);
    op_json_w_kstr(w, "sub", sub);
    if (alg != OP_JWS_NONE) {
        op_json_w_kstr(w, "iss", ui->srv->cfg->issuer);
        op_json_w_kstr(w, "aud", g->cid);
    }
    op_token_claims_write(w, g->uip, ui->claims, &g->clm, alg != OP_JWS_NONE);
    op_json_w_obj_close(w);
    rc = op_json_w_finish(w, body, len, &f->err);
    if (rc == OP_OK && alg != OP_JWS_NONE)
        rc = op_keys_jws_sign(ui->keys, alg, "JWT", *body, *len, f->arena, jwt, &f->err);
    return rc;
}

static int op_userinfo_reply(op_flow_t *f)
{
    op_userinfo_t *ui = f->ctx;
    const char *body = NULL;
    char *jwt = NULL;
    size_t len = 0;

    if (op_userinfo_doc(f, &body, &len, &jwt) != OP_OK) {
        op_flow_set_state(f, UI_ERROR);
        return OP_OK;
    }
    if (jwt != NULL)
        op_http_reply(ui->req, 200, "application/jwt", jwt, strlen(jwt), OP_REPLY_NO_STORE);
    else
        op_http_reply_json(ui->req, 200, body, len, OP_REPLY_NO_STORE);
    return OP_DONE;
}

/* RFC 6750 §3: the challenge names the error of a bearer token problem
 * (http/ adds the one of invalid_token itself); the description is in the
 * JSON body only. */
static void op_userinfo_reply_error(op_flow_t *f)
{
    op_userinfo_t *ui = f->ctx;
    const char *e = f->err.oauth_error;

    if (op_str_eq(e, "invalid_request") || op_str_eq(e, "insufficient_scope")) {
        char *ch =
            op_arena_printf(f->arena, "Bearer realm=\"%s\", error=\"%s\"", ui->srv->cfg->issuer, e);
        if (ch != NULL)
            op_http_reply_header(ui->req, "WWW-Authenticate", ch);
    }
    op_http_reply_error(ui->req, &f->err);
}

static int op_userinfo_step(op_flow_t *f)
{
    switch ((op_userinfo_state_t)f->state) {
    case UI_AUTH:
        return op_userinfo_auth(f);
    case UI_CHECKED:
        return op_userinfo_checked(f);
    case UI_CLAIMS:
        return op_userinfo_claims(f);
    case UI_REPLY:
        return op_userinfo_reply(f);
    case UI_ERROR:
    case UI_MAX:
        break;
    }
    op_userinfo_reply_error(f);
    return OP_DONE;
}

static void op_userinfo_on_free(op_flow_t *f)
{
    op_userinfo_t *ui = f->ctx;

    if (ui == NULL)
        return;
    if (ui->keys != NULL)
        op_keys_set_release(ui->keys);
}

static const op_flow_def_t op_userinfo_flow = {
    "userinfo", UI_MAX, op_userinfo_states, op_userinfo_step, op_userinfo_on_free,
};

static void op_userinfo_handle(op_http_req_t *req, void *arg)
{
    op_server_t *srv = arg;
    op_flow_t *f;
    op_userinfo_t *ui =
        op_server_flow_new(srv, req, &op_userinfo_flow, OP_USERINFO_ARENA, sizeof(*ui), &f);
    if (ui == NULL)
        return;
    ui->srv = srv;
    ui->req = req;
    op_flow_run(f);
}

const op_endpoint_t op_userinfo_endpoint = {
    .name = "userinfo",
    .routes = {{OP_HTTP_GET | OP_HTTP_POST, "/userinfo", OP_ROUTE_CORS, op_userinfo_handle, NULL}},
};
