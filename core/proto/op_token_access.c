/*
 * core/proto/op_token_access.c - checking a bearer access token where the
 * server itself accepts one (UserInfo): a JWT of ours (RFC 9068 §4) whose
 * family is not revoked, or a stored identifier. See core/proto/op_token.h.
 */
#include <stdlib.h>
#include <string.h>

#include "core/proto/op_token_int.h"

/* The algorithms an access token may carry (RFC 9068 §4: the server's
 * own asymmetric algorithms; never "none", never HS256). */
#define OP_TOKEN_ACCESS_ALGS                                                                       \
    ((1u << OP_JWS_RS256) | (1u << OP_JWS_PS256) | (1u << OP_JWS_ES256) | (1u << OP_JWS_EDDSA))
/* Longest family id accepted from a token (ours are 22 characters). */
#define OP_TOKEN_ACCESS_FAM_MAX 64

/* A check in flight (malloc'd: freed after its callback). */
typedef struct op_token_access_job {
    op_token_ctx_t ctx;
    op_arena_t *a;
    op_token_access_cb cb;
    void *arg;
    int status;
    op_token_access_t at;
    op_err_t err;
} op_token_access_job_t;

/* Read the members of a JWT access token into c->at. */
static int op_token_access_claims(op_token_access_job_t *c, const op_json_t *v)
{
    op_token_access_t *at = &c->at;
    op_grant_t *g = &at->grant;
    const op_json_t *aud = op_json_get(v, "aud");
    const char *scope = NULL;
    op_err_t e;

    op_err_clear(&e);
    if (!op_str_eq(op_json_get_str(v, "iss"), c->ctx.cfg->issuer))
        return OP_TOKEN_INVALID(&c->err, "the access token was issued by another server");
    if (!op_json_get_int(v, "exp", &at->exp) || at->exp <= c->ctx.now)
        return OP_TOKEN_INVALID(&c->err, "the access token expired");
    op_grant_defaults(g, c->ctx.cfg);
    g->sub = op_json_get_str(v, "sub");
    g->cid = op_json_get_str(v, "client_id");
    if (g->sub == NULL || g->cid == NULL)
        return OP_TOKEN_INVALID(&c->err, "the access token has no sub or client_id");
    if (op_token_opt_str(v, "scope", &scope, &e) != OP_OK ||
        op_token_opt_str(v, "sid", &at->sid, &e) != OP_OK ||
        op_token_opt_str(v, "fam", &at->fam, &e) != OP_OK ||
        op_token_opt_str(v, "jti", &at->jti, &e) != OP_OK ||
        op_token_opt_int(v, "iat", &at->iat, &e) != OP_OK)
        return OP_TOKEN_INVALID(&c->err, "malformed access token: %s", e.description);
    if (at->fam != NULL && (*at->fam == '\0' || strlen(at->fam) > OP_TOKEN_ACCESS_FAM_MAX))
        return OP_TOKEN_INVALID(&c->err, "malformed access token: fam");
    if (op_token_scope_parse(c->a, scope, &g->scp) != OP_OK)
        return OP_ERR(&c->err, OP_ETOOBIG, "the access token's scope is too large for the arena");
    if (op_strs_from_json(c->a, op_json_get(v, "clm"), &g->clm) != OP_OK ||
        op_strs_from_json(c->a, op_json_get(v, "cll"), &g->cll) != OP_OK)
        return OP_TOKEN_INVALID(&c->err, "malformed access token: clm / cll");
    if (op_json_is(aud, OP_JSON_STRING)) {
        if (op_strs_add(c->a, &g->aud, aud->u.str.s) != OP_OK)
            return OP_ERR(&c->err, OP_ETOOBIG, "the access token's aud is too large for the arena");
    } else if (op_strs_from_json(c->a, aud, &g->aud) != OP_OK) {
        return OP_TOKEN_INVALID(&c->err, "malformed access token: aud");
    }
    g->uip = op_json_get(v, "uip");
    if (g->uip != NULL && !op_json_is(g->uip, OP_JSON_OBJECT))
        return OP_TOKEN_INVALID(&c->err, "malformed access token: uip");
    return OP_OK;
}

/* Verify a JWT access token (RFC 9068 §4) against the server's keys. */
static int op_token_access_jwt(op_token_access_job_t *c, const char *token)
{
    op_jws_t jws;
    op_json_t *v = NULL;
    op_err_t e;

    op_err_clear(&e);
    int rc = op_keys_jws_verify_set(c->ctx.keys, token, strlen(token), OP_TOKEN_ACCESS_ALGS, c->a,
                                    &jws, &e);
    if (rc != OP_OK)
        return OP_TOKEN_INVALID(&c->err, "the access token is not valid: %s", e.description);
    if (!op_str_eq(jws.typ, "at+jwt"))
        return OP_TOKEN_INVALID(&c->err, "not an access token (typ must be at+jwt)");
    if (op_json_parse(c->a, jws.payload, jws.payload_len, NULL, &v, &e) != OP_OK ||
        !op_json_is(v, OP_JSON_OBJECT))
        return OP_TOKEN_INVALID(&c->err, "the access token's claims are not a JSON object");
    return op_token_access_claims(c, v);
}

/* Read an "at" record into c->at. */
static int op_token_access_record(op_token_access_job_t *c, const char *json, size_t len)
{
    const op_json_t *v = NULL;
    op_token_access_t *at = &c->at;

    if (op_token_parse_record(c->a, json, len, &v, &c->err) != OP_OK ||
        op_grant_read(c->a, v, c->ctx.cfg, &at->grant, &c->err) != OP_OK ||
        op_token_opt_int(v, "exp", &at->exp, &c->err) != OP_OK ||
        op_token_opt_int(v, "iat", &at->iat, &c->err) != OP_OK ||
        op_token_opt_str(v, "jti", &at->jti, &c->err) != OP_OK ||
        op_token_opt_str(v, "sid", &at->sid, &c->err) != OP_OK ||
        op_token_opt_str(v, "fam", &at->fam, &c->err) != OP_OK) {
        op_log_error(NULL, "token: corrupt access token record: %s", c->err.description);
        return OP_ERR(&c->err, OP_ERROR, "corrupt access token record");
    }
    if (at->exp <= c->ctx.now)
        return OP_TOKEN_INVALID(&c->err, "the access token expired");
    return OP_OK;
}

static void op_token_access_finish(op_token_access_job_t *c)
{
    c->cb(c->status, c->status == OP_OK ? &c->at : NULL, &c->err, c->arg);
    free(c);
}

static void op_token_access_deferred(void *arg)
{
    op_token_access_finish(arg);
}

/* A store error looking something up for the check: 503 (or 500). */
static int op_token_access_store_failed(op_token_access_job_t *c, int status, const char *what)
{
    return OP_ERR(&c->err, status, "cannot look up %s (storage: %s)", what,
                  op_err_status_name(status));
}

static void op_token_access_on_get(int status, const op_store_res_t *res, void *arg)
{
    op_token_access_job_t *c = arg;

    if (status == OP_OK)
        c->status = op_token_access_record(c, res->value, res->value_len);
    else if (status == OP_ENOTFOUND)
        c->status = OP_TOKEN_INVALID(&c->err, "unknown, expired or revoked access token");
    else
        c->status = op_token_access_store_failed(c, status, "the access token");
    op_token_access_finish(c);
}

/* The family's revocation record: there, the token is refused (its code
 * was replayed or a refresh token of its family reused). */
static void op_token_access_on_revoked(int status, const op_store_res_t *res, void *arg)
{
    op_token_access_job_t *c = arg;

    OP_UNUSED(res);
    if (status == OP_OK)
        c->status = OP_TOKEN_INVALID(&c->err, "revoked access token");
    else if (status != OP_ENOTFOUND)
        c->status = op_token_access_store_failed(c, status, "the access token's revocation");
    op_token_access_finish(c);
}

/* True when s has exactly the two dots of a compact JWS. */
static bool op_token_access_is_jwt(const char *s)
{
    const char *dot = strchr(s, '.');

    return dot != NULL && (dot = strchr(dot + 1, '.')) != NULL && strchr(dot + 1, '.') == NULL;
}

/* True when s could be one of our identifiers: base64url, bounded. */
static bool op_token_access_is_identifier(const char *s)
{
    size_t n = strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_");

    return n > 0 && n <= OP_TOKEN_MAX_LEN && s[n] == '\0';
}

/*
 * See core/proto/op_token.h. An identifier costs one store read (its record);
 * a JWT of a family one (the family's revocation record, the only state a
 * self-contained token has), one without a family none.
 */
void op_token_access_check(op_loop_t *loop, op_store_t *store, const op_token_ctx_t *ctx,
                           const char *token, op_arena_t *a, op_token_access_cb cb, void *arg)
{
    op_token_access_job_t *c = op_calloc(1, sizeof(*c));

    c->ctx = *ctx;
    c->a = a;
    c->cb = cb;
    c->arg = arg;
    if (op_token_access_is_identifier(token)) {
        char key[65];
        op_keys_crypto_sha256_hex(token, strlen(token), key);
        op_store_get(store, OP_TOKEN_NS_AT, key, 64, op_token_access_on_get, c);
        return;
    }
    if (op_token_access_is_jwt(token))
        c->status = op_token_access_jwt(c, token);
    else
        c->status = OP_TOKEN_INVALID(&c->err, "malformed access token");
    if (c->status == OP_OK && c->at.fam != NULL) {
        op_store_get(store, OP_TOKEN_NS_REVOKED, c->at.fam, strlen(c->at.fam),
                     op_token_access_on_revoked, c);
        return;
    }
    op_loop_defer(loop, op_token_access_deferred, c);
}
