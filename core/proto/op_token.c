/*
 * core/proto/op_token.c - minting tokens: ID tokens, access tokens (RFC 9068
 * JWTs or stored identifiers), refresh tokens, codes, PKCE, and the
 * records of docs/records.md (used markers, revocations). See
 * core/proto/op_token.h; checking an access token is core/proto/op_token_access.c.
 *
 * Signing goes through keys/ (op_keys_jws_sign with the server's set); random
 * values are op_keys_crypto_rand_token; records are JSON written with op_json_w and
 * read with the strict reader, the grant members through core/proto/op_grant.h.
 */
#include <stdlib.h>
#include <string.h>

#include "core/proto/op_token_int.h"

#define OP_TOKEN_JTI_BYTES    16 /* jti of a JWT access token, record jti */
#define OP_TOKEN_FAM_BYTES    16 /* refresh token family id */
#define OP_TOKEN_HASH_MAX     64 /* SHA-512 */
#define OP_TOKEN_VERIFIER_MIN 43 /* RFC 7636 §4.1 */
#define OP_TOKEN_VERIFIER_MAX 128

#define OP_TOKEN_BAD_GRANT(err, ...)                                                               \
    OP_ERR_OAUTH((err), OP_EDENIED, "invalid_grant", 400, __VA_ARGS__)

/* Claims a token sets itself: claims from a source or a preset never
 * replace them (ID token: OIDC Core §2; access token: RFC 9068 §2.2 and
 * our private members). */
static const char *const op_token_protocol_claims[] = {
    "iss",   "sub", "aud", "exp", "iat", "nbf",     "jti",    "auth_time",
    "nonce", "acr", "amr", "azp", "sid", "at_hash", "c_hash", "client_id",
    "scope", "clm", "cll", "uip", "cnf", "fam",
};

/* Records are the server's own JSON: bounded by the store's value cap. */
static const op_json_limits_t op_token_record_limits = {OP_STORE_MAX_VALUE, 32, 1u << 16};

char *op_token_scope_str(op_arena_t *a, const op_strs_t *scope)
{
    size_t len = 0;

    for (size_t i = 0; i < scope->n; i++)
        len += strlen(scope->items[i]) + 1;
    char *s = op_arena_alloc(a, len + 1);
    if (s == NULL)
        return NULL;
    char *p = s;
    for (size_t i = 0; i < scope->n; i++) {
        size_t n = strlen(scope->items[i]);
        if (i > 0)
            *p++ = ' ';
        memcpy(p, scope->items[i], n);
        p += n;
    }
    *p = '\0';
    return s;
}

int op_token_scope_parse(op_arena_t *a, const char *s, op_strs_t *out)
{
    out->items = NULL;
    out->n = 0;
    while (s != NULL && *s != '\0') {
        size_t n = strcspn(s, " ");
        if (n > 0) {
            char *v = op_arena_strndup(a, s, n);
            if (v == NULL || op_strs_add(a, out, v) != OP_OK)
                return OP_ETOOBIG;
        }
        s += n;
        s += *s == ' ';
    }
    return OP_OK;
}

/* ---- JSON helpers ---------------------------------------------------------- */

int op_token_opt_str(const op_json_t *obj, const char *key, const char **out, op_err_t *err)
{
    const op_json_t *v = op_json_get(obj, key);

    *out = NULL;
    if (v == NULL)
        return OP_OK;
    if (!op_json_is(v, OP_JSON_STRING))
        return OP_ERR(err, OP_EINVAL, "member \"%s\" must be a string", key);
    *out = v->u.str.s;
    return OP_OK;
}

int op_token_opt_int(const op_json_t *obj, const char *key, int64_t *out, op_err_t *err)
{
    *out = 0;
    if (op_json_get(obj, key) == NULL || op_json_get_int(obj, key, out))
        return OP_OK;
    return OP_ERR(err, OP_EINVAL, "member \"%s\" must be an integer", key);
}

int op_token_parse_record(op_arena_t *a, const char *json, size_t len, const op_json_t **out,
                          op_err_t *err)
{
    op_json_t *v = NULL;
    int rc = op_json_parse(a, json, len, &op_token_record_limits, &v, err);

    if (rc != OP_OK)
        return rc;
    if (!op_json_is(v, OP_JSON_OBJECT))
        return OP_ERR(err, OP_EINVAL, "a token record must be a JSON object");
    *out = v;
    return OP_OK;
}

/* A new writer with an object open. */
static op_json_w_t *op_token_writer(op_arena_t *a)
{
    op_json_w_t *w = op_json_w_new(a, false);

    if (w != NULL)
        op_json_w_obj_open(w);
    return w;
}

/* Close the object of w and make it the record (ns, key) with its TTL and
 * indexes (borrowed: they must live as long as the record). */
static int op_token_record(op_json_w_t *w, const char *ns, const char *key, int64_t ttl_s,
                           const op_store_index_t *idx, size_t nidx, op_store_rec_t *out,
                           op_err_t *err)
{
    const char *json = NULL;
    size_t len = 0;

    op_json_w_obj_close(w);
    int rc = op_json_w_finish(w, &json, &len, err);
    if (rc != OP_OK)
        return rc;
    *out = (op_store_rec_t){
        .ns = ns,
        .key = key,
        .key_len = strlen(key),
        .value = json,
        .value_len = len,
        .ttl_ms = ttl_s > 0 ? (uint64_t)ttl_s * 1000u : 0,
        .indexes = idx,
        .nindexes = nidx,
    };
    return OP_OK;
}

/* Index entries (sub, cid[, fam]) of a token record, in a. */
static op_store_index_t *op_token_indexes(op_arena_t *a, const op_grant_t *g, const char *fam)
{
    op_store_index_t *ix = op_arena_calloc(a, 3, sizeof(*ix));

    if (ix == NULL)
        return NULL;
    ix[0] = (op_store_index_t){"sub", g->sub, strlen(g->sub)};
    ix[1] = (op_store_index_t){"cid", g->cid, strlen(g->cid)};
    if (fam != NULL)
        ix[2] = (op_store_index_t){"fam", fam, strlen(fam)};
    return ix;
}

/* A new random bearer value and its store key. */
static int op_token_secret(op_arena_t *a, op_token_minted_t *out, op_err_t *err)
{
    char *token = op_keys_crypto_rand_token(a, OP_TOKEN_BYTES);
    char *key = op_arena_alloc(a, 65);

    if (token == NULL || key == NULL)
        return OP_ERR(err, OP_ETOOBIG, "the token does not fit the arena");
    op_keys_crypto_sha256_hex(token, strlen(token), key);
    out->token = token;
    out->key = key;
    return OP_OK;
}

static void op_token_authn_write(op_json_w_t *w, const op_token_authn_t *au)
{
    if (au->auth_time > 0)
        op_json_w_kint(w, "auth_time", au->auth_time);
    if (au->acr != NULL)
        op_json_w_kstr(w, "acr", au->acr);
    if (au->amr.n > 0) {
        op_json_w_key(w, "amr");
        op_strs_write(w, &au->amr);
    }
    if (au->sid != NULL)
        op_json_w_kstr(w, "sid", au->sid);
}

static int op_token_authn_read(op_arena_t *a, const op_json_t *obj, op_token_authn_t *out,
                               op_err_t *err)
{
    int rc;

    memset(out, 0, sizeof(*out));
    if ((rc = op_token_opt_int(obj, "auth_time", &out->auth_time, err)) != OP_OK ||
        (rc = op_token_opt_str(obj, "acr", &out->acr, err)) != OP_OK ||
        (rc = op_token_opt_str(obj, "sid", &out->sid, err)) != OP_OK)
        return rc;
    if (op_strs_from_json(a, op_json_get(obj, "amr"), &out->amr) != OP_OK)
        return OP_ERR(err, OP_EINVAL, "member \"amr\" must be an array of strings");
    return OP_OK;
}

/* Close w's object and sign it as a compact JWS. */
static int op_token_sign(const op_keys_set_t *keys, op_jws_alg_t alg, const char *typ,
                         op_json_w_t *w, op_arena_t *a, char **out, op_err_t *err)
{
    const char *payload = NULL;
    size_t len = 0;

    op_json_w_obj_close(w);
    int rc = op_json_w_finish(w, &payload, &len, err);
    if (rc != OP_OK)
        return rc;
    return op_keys_jws_sign(keys, alg, typ, payload, len, a, out, err);
}

/* ---- claims ------------------------------------------------------------------ */

static bool op_token_is_protocol_claim(const char *name)
{
    for (size_t i = 0; i < OP_NELEMS(op_token_protocol_claims); i++) {
        if (strcmp(name, op_token_protocol_claims[i]) == 0)
            return true;
    }
    return false;
}

/* name is in names, or is "<n>#<language tag>" for an n in names
 * (OIDC Core §5.2). */
static bool op_token_name_wanted(const char *name, const op_strs_t *names)
{
    size_t base = strcspn(name, "#");

    for (size_t i = 0; i < names->n; i++) {
        const char *n = names->items[i];
        if (strcmp(n, name) == 0 || (strncmp(n, name, base) == 0 && n[base] == '\0'))
            return true;
    }
    return false;
}

/* Write member i of obj unless a token sets that name itself. */
static void op_token_claim_write(op_json_w_t *w, const op_json_t *obj, size_t i, bool jwt)
{
    const char *name = obj->u.obj.keys[i];

    if (jwt ? op_token_is_protocol_claim(name) : strcmp(name, "sub") == 0)
        return;
    op_json_w_key(w, name);
    op_json_w_value(w, obj->u.obj.vals[i]);
}

/* See core/proto/op_token.h. Preset values win over fetched ones, so no name
 * repeats. */
void op_token_claims_write(op_json_w_t *w, const op_json_t *preset, const op_json_t *fetched,
                           const op_strs_t *names, bool jwt)
{
    bool has_preset = op_json_is(preset, OP_JSON_OBJECT);

    for (size_t i = 0; has_preset && i < preset->u.obj.n; i++)
        op_token_claim_write(w, preset, i, jwt);
    for (size_t i = 0; op_json_is(fetched, OP_JSON_OBJECT) && i < fetched->u.obj.n; i++) {
        const char *name = fetched->u.obj.keys[i];
        if (names != NULL && !op_token_name_wanted(name, names))
            continue;
        if (has_preset && op_json_get(preset, name) != NULL)
            continue;
        op_token_claim_write(w, fetched, i, jwt);
    }
}

/* A claims fetch in flight (malloc'd: freed after its callback). */
typedef struct op_token_fetch {
    op_arena_t *a;
    op_token_claims_cb cb;
    void *arg;
} op_token_fetch_t;

/* The sources' claims are borrowed for the callback: keep a copy (written
 * out and read back, which also bounds its size and depth). */
static void op_token_on_claims(int status, const op_json_t *claims, const op_err_t *err, void *arg)
{
    op_token_fetch_t *f = arg;
    op_json_w_t *w = op_json_w_new(f->a, false);
    op_json_t *copy = NULL;
    const char *text = NULL;
    size_t len = 0;
    op_err_t e;

    op_err_clear(&e);
    if (status == OP_OK) {
        op_json_w_value(w, claims);
        if (!op_json_is(claims, OP_JSON_OBJECT) || op_json_w_finish(w, &text, &len, &e) != OP_OK ||
            op_json_parse(f->a, text, len, &op_token_record_limits, &copy, &e) != OP_OK) {
            status = OP_ERR(&e, OP_EPROTO, "the claims sources did not answer a usable object");
            err = &e;
        }
    }
    f->cb(status, copy, err, f->arg);
    free(f);
}

void op_token_claims_fetch(op_spi_t *spi, uint64_t deadline_ms, const op_grant_t *g,
                           const op_strs_t *names, const char *transport, const char *req_id,
                           op_arena_t *a, op_token_claims_cb cb, void *arg)
{
    op_token_fetch_t *f = op_calloc(1, sizeof(*f));

    f->a = a;
    f->cb = cb;
    f->arg = arg;
    op_spi_claims_query_t q = {
        .sub = g->sub,
        .claims = names->items,
        .n_claims = names->n,
        .claims_locales = g->cll.items,
        .n_claims_locales = g->cll.n,
        .client_id = g->cid,
        .transport = transport,
        .scope = g->scp.items,
        .n_scope = g->scp.n,
        .claims_data = NULL,
        .req_id = req_id,
    };
    op_spi_claims_get(spi, &q, deadline_ms, op_token_on_claims, f);
}

/* ---- ID tokens ------------------------------------------------------------------ */

int op_token_half_hash(op_jws_alg_t alg, const char *value, op_arena_t *a, char **out,
                       op_err_t *err)
{
    uint8_t digest[OP_TOKEN_HASH_MAX];
    size_t half;

    switch (alg) {
    case OP_JWS_RS256:
    case OP_JWS_PS256:
    case OP_JWS_ES256:
        op_keys_crypto_sha256(value, strlen(value), digest);
        half = 16;
        break;
    case OP_JWS_EDDSA:
        op_keys_crypto_sha512(value, strlen(value), digest);
        half = 32;
        break;
    default:
        return OP_ERR(err, OP_EINVAL, "no token hash is defined for alg %s",
                      op_keys_jws_alg_name(alg) != NULL ? op_keys_jws_alg_name(alg) : "?");
    }
    *out = op_b64url_encode_arena(a, digest, half);
    if (*out == NULL)
        return OP_ERR(err, OP_ETOOBIG, "the token hash does not fit the arena");
    return OP_OK;
}

/*
 * See core/proto/op_token.h. The audience is the client alone, so azp (OIDC
 * Core §2: needed when aud has more than one value) never applies.
 */
int op_token_id_mint(const op_token_ctx_t *ctx, const op_token_id_req_t *r, op_arena_t *a,
                     char **out, op_err_t *err)
{
    const op_config_t *cfg = ctx->cfg;
    const op_grant_t *g = r->grant;
    op_jws_alg_t alg = r->client->id_token_signed_response_alg;
    char *at_hash = NULL, *c_hash = NULL;
    int rc;

    if (alg == OP_JWS_NONE) {
        if (cfg->n_id_token_algs == 0)
            return OP_ERR(err, OP_ERROR, "no ID token signing algorithm configured");
        alg = cfg->id_token_algs[0];
    }
    int64_t life = g->it_lifetime_s > 0 ? g->it_lifetime_s : cfg->id_token_lifetime_s;
    if (r->access_token != NULL &&
        (rc = op_token_half_hash(alg, r->access_token, a, &at_hash, err)) != OP_OK)
        return rc;
    if (r->code != NULL && (rc = op_token_half_hash(alg, r->code, a, &c_hash, err)) != OP_OK)
        return rc;

    op_json_w_t *w = op_token_writer(a);
    const char *sub = op_client_sub(r->client, cfg, g->sub, a); /* OIDC Core §8 */
    if (w == NULL || sub == NULL)
        return OP_ERR(err, OP_ETOOBIG, "the ID token is too large for the arena");
    op_json_w_kstr(w, "iss", cfg->issuer);
    op_json_w_kstr(w, "sub", sub);
    op_json_w_key(w, "aud");
    op_json_w_arr_open(w);
    op_json_w_str(w, r->client->client_id);
    op_json_w_arr_close(w);
    op_json_w_kint(w, "exp", ctx->now + life);
    op_json_w_kint(w, "iat", ctx->now);
    op_token_authn_write(w, r->authn);
    if (r->nonce != NULL)
        op_json_w_kstr(w, "nonce", r->nonce);
    if (at_hash != NULL)
        op_json_w_kstr(w, "at_hash", at_hash);
    if (c_hash != NULL)
        op_json_w_kstr(w, "c_hash", c_hash);
    op_token_claims_write(w, r->preset, r->claims, &g->idc, true);
    return op_token_sign(ctx->keys, alg, "JWT", w, a, out, err);
}

/* ---- access tokens -------------------------------------------------------------- */

/* RFC 9068 §2.2 "aud": the grant's audience, else the client. */
static void op_token_at_aud(op_json_w_t *w, const op_grant_t *g)
{
    op_json_w_key(w, "aud");
    if (g->aud.n == 0)
        op_json_w_str(w, g->cid);
    else if (g->aud.n == 1)
        op_json_w_str(w, g->aud.items[0]);
    else
        op_strs_write(w, &g->aud);
}

/* The members of a JWT access token (RFC 9068 §2.2) and what UserInfo
 * reads back (op_token_access_jwt). */
static int op_token_at_jwt(const op_token_ctx_t *ctx, const op_grant_t *g, const char *sid,
                           const char *fam, const char *jti, int64_t exp, const op_json_t *claims,
                           op_arena_t *a, op_token_minted_t *out, op_err_t *err)
{
    op_json_w_t *w = op_token_writer(a);
    char *scope = op_token_scope_str(a, &g->scp);
    char *jwt = NULL;

    if (w == NULL || scope == NULL)
        return OP_ERR(err, OP_ETOOBIG, "the access token is too large for the arena");
    op_json_w_kstr(w, "iss", ctx->cfg->issuer);
    op_json_w_kint(w, "exp", exp);
    op_token_at_aud(w, g);
    op_json_w_kstr(w, "sub", g->sub);
    op_json_w_kstr(w, "client_id", g->cid);
    op_json_w_kint(w, "iat", ctx->now);
    op_json_w_kstr(w, "jti", jti);
    if (g->scp.n > 0)
        op_json_w_kstr(w, "scope", scope);
    if (g->clm.n > 0) {
        op_json_w_key(w, "clm");
        op_strs_write(w, &g->clm);
    }
    if (g->cll.n > 0) {
        op_json_w_key(w, "cll");
        op_strs_write(w, &g->cll);
    }
    if (op_json_is(g->uip, OP_JSON_OBJECT) && g->uip->u.obj.n > 0) {
        op_json_w_key(w, "uip");
        op_json_w_value(w, g->uip);
    }
    if (sid != NULL)
        op_json_w_kstr(w, "sid", sid);
    if (fam != NULL)
        op_json_w_kstr(w, "fam", fam);
    if (g->atc.n > 0)
        op_token_claims_write(w, NULL, claims, &g->atc, true);
    int rc = op_token_sign(ctx->keys, ctx->cfg->at_jws_alg, "at+jwt", w, a, &jwt, err);
    out->token = jwt;
    return rc;
}

int64_t op_token_at_lifetime(const op_config_t *cfg, const op_grant_t *g)
{
    return g->at_lifetime_s > 0 ? g->at_lifetime_s : cfg->at_lifetime_s;
}

int op_token_at_mint(const op_token_ctx_t *ctx, const op_grant_t *g, const char *sid,
                     const char *fam, const op_json_t *claims, op_arena_t *a,
                     op_token_minted_t *out, op_err_t *err)
{
    memset(out, 0, sizeof(*out));
    if (g->sub == NULL || g->cid == NULL)
        return OP_ERR(err, OP_EINVAL, "a grant without subject or client");
    int64_t life = op_token_at_lifetime(ctx->cfg, g);
    int64_t exp = ctx->now + life;
    char *jti = op_keys_crypto_rand_token(a, OP_TOKEN_JTI_BYTES);
    if (jti == NULL)
        return OP_ERR(err, OP_ETOOBIG, "the access token is too large for the arena");
    out->lifetime_s = life;
    if (g->at_encoding != OP_AT_IDENTIFIER)
        return op_token_at_jwt(ctx, g, sid, fam, jti, exp, claims, a, out, err);

    int rc = op_token_secret(a, out, err);
    if (rc != OP_OK)
        return rc;
    op_json_w_t *w = op_token_writer(a);
    op_store_index_t *ix = op_token_indexes(a, g, fam);
    if (w == NULL || ix == NULL)
        return OP_ERR(err, OP_ETOOBIG, "the access token is too large for the arena");
    op_grant_write(w, g);
    op_json_w_kint(w, "exp", exp);
    op_json_w_kint(w, "iat", ctx->now);
    op_json_w_kstr(w, "jti", jti);
    if (sid != NULL)
        op_json_w_kstr(w, "sid", sid);
    if (fam != NULL)
        op_json_w_kstr(w, "fam", fam);
    return op_token_record(w, OP_TOKEN_NS_AT, out->key, life, ix, fam != NULL ? 3 : 2, &out->rec,
                           err);
}

/* ---- refresh tokens ---------------------------------------------------------------- */

/* TTL of a refresh token: min(family lifetime left, max idle), 0: none. */
static int64_t op_token_rt_ttl(int64_t now, const op_token_refresh_t *rt)
{
    int64_t left = rt->exp > 0 ? rt->exp - now : 0;
    int64_t idle = rt->grant.rt_max_idle_s;

    if (left > 0 && idle > 0)
        return left < idle ? left : idle;
    return left > 0 ? left : idle;
}

int op_token_rt_record(int64_t now, const op_token_refresh_t *rt, const char *key, op_arena_t *a,
                       op_store_rec_t *out, op_err_t *err)
{
    if (rt->exp > 0 && rt->exp <= now)
        return OP_TOKEN_BAD_GRANT(err, "the refresh token expired");
    if (rt->grant.sub == NULL || rt->grant.cid == NULL || rt->fam == NULL)
        return OP_ERR(err, OP_EINVAL, "a refresh token without subject, client or family");
    op_json_w_t *w = op_token_writer(a);
    op_store_index_t *ix = op_token_indexes(a, &rt->grant, rt->fam);
    if (w == NULL || ix == NULL)
        return OP_ERR(err, OP_ETOOBIG, "the refresh token record is too large for the arena");
    op_grant_write(w, &rt->grant);
    op_json_w_kstr(w, "fam", rt->fam);
    op_json_w_kint(w, "exp", rt->exp);
    op_json_w_kint(w, "iat", rt->iat);
    op_token_authn_write(w, &rt->authn);
    return op_token_record(w, OP_TOKEN_NS_RT, key, op_token_rt_ttl(now, rt), ix, 3, out, err);
}

char *op_token_fam_new(op_arena_t *a)
{
    return op_keys_crypto_rand_token(a, OP_TOKEN_FAM_BYTES);
}

int op_token_rt_mint(int64_t now, bool starts, op_token_refresh_t *rt, op_arena_t *a,
                     op_token_minted_t *out, op_err_t *err)
{
    memset(out, 0, sizeof(*out));
    if (starts)
        rt->exp = rt->grant.rt_lifetime_s > 0 ? now + rt->grant.rt_lifetime_s : 0;
    rt->iat = now;
    int rc = op_token_secret(a, out, err);
    if (rc != OP_OK)
        return rc;
    out->lifetime_s = rt->exp > 0 ? rt->exp - now : 0;
    return op_token_rt_record(now, rt, out->key, a, &out->rec, err);
}

/* The part every code and refresh token record has: the record parsed,
 * its grant and who authenticated. */
static int op_token_read_grant_record(op_arena_t *a, const char *json, size_t len,
                                      const op_config_t *cfg, const op_json_t **v,
                                      op_grant_t *grant, op_token_authn_t *authn, op_err_t *err)
{
    int rc;

    if ((rc = op_token_parse_record(a, json, len, v, err)) != OP_OK ||
        (rc = op_grant_read(a, *v, cfg, grant, err)) != OP_OK)
        return rc;
    return op_token_authn_read(a, *v, authn, err);
}

int op_token_rt_read(op_arena_t *a, const char *json, size_t len, const op_config_t *cfg,
                     op_token_refresh_t *out, op_err_t *err)
{
    const op_json_t *v = NULL;
    int rc;

    memset(out, 0, sizeof(*out));
    if ((rc = op_token_read_grant_record(a, json, len, cfg, &v, &out->grant, &out->authn, err)) !=
            OP_OK ||
        (rc = op_token_opt_str(v, "fam", &out->fam, err)) != OP_OK ||
        (rc = op_token_opt_int(v, "exp", &out->exp, err)) != OP_OK ||
        (rc = op_token_opt_int(v, "iat", &out->iat, err)) != OP_OK)
        return rc;
    return out->fam != NULL ? OP_OK : OP_ERR(err, OP_EINVAL, "a refresh token record without fam");
}

/* Kept while the family may live: reuse detection has a point only as
 * long as a later token of the family can be alive. */
int op_token_rt_used_record(int64_t now, const op_token_refresh_t *rt, int64_t atl_s,
                            const char *key, op_arena_t *a, op_store_rec_t *out, op_err_t *err)
{
    const op_token_used_t used = {rt->fam, atl_s};
    int64_t ttl = rt->exp > 0 ? rt->exp - now : rt->grant.rt_max_idle_s;

    return op_token_used_record(OP_TOKEN_NS_RT_USED, key, &used, ttl, a, out, err);
}

/* ---- codes ----------------------------------------------------------------------------- */

int op_token_code_mint(const op_config_t *cfg, int64_t now, op_token_code_t *c, op_arena_t *a,
                       op_token_minted_t *out, op_err_t *err)
{
    memset(out, 0, sizeof(*out));
    if (c->grant.sub == NULL || c->grant.cid == NULL)
        return OP_ERR(err, OP_EINVAL, "a grant without subject or client");
    c->iat = now;
    int rc = op_token_secret(a, out, err);
    if (rc != OP_OK)
        return rc;
    op_json_w_t *w = op_token_writer(a);
    if (w == NULL)
        return OP_ERR(err, OP_ETOOBIG, "the code record is too large for the arena");
    op_grant_write(w, &c->grant);
    if (c->ruri != NULL)
        op_json_w_kstr(w, "ruri", c->ruri);
    if (c->nonce != NULL)
        op_json_w_kstr(w, "nonce", c->nonce);
    op_token_authn_write(w, &c->authn);
    if (c->cc != NULL) {
        op_json_w_kstr(w, "cc", c->cc);
        op_json_w_kstr(w, "ccm", c->ccm != NULL ? c->ccm : "S256");
    }
    op_json_w_kint(w, "iat", now);
    out->lifetime_s = cfg->authz_code_lifetime_s;
    return op_token_record(w, OP_TOKEN_NS_CODE, out->key, cfg->authz_code_lifetime_s, NULL, 0,
                           &out->rec, err);
}

int op_token_code_read(op_arena_t *a, const char *json, size_t len, const op_config_t *cfg,
                       op_token_code_t *out, op_err_t *err)
{
    const op_json_t *v = NULL;
    int rc;

    memset(out, 0, sizeof(*out));
    if ((rc = op_token_read_grant_record(a, json, len, cfg, &v, &out->grant, &out->authn, err)) !=
            OP_OK ||
        (rc = op_token_opt_str(v, "ruri", &out->ruri, err)) != OP_OK ||
        (rc = op_token_opt_str(v, "nonce", &out->nonce, err)) != OP_OK ||
        (rc = op_token_opt_str(v, "cc", &out->cc, err)) != OP_OK ||
        (rc = op_token_opt_str(v, "ccm", &out->ccm, err)) != OP_OK ||
        (rc = op_token_opt_int(v, "iat", &out->iat, err)) != OP_OK)
        return rc;
    return OP_OK;
}

/* RFC 7636 §4.1: code-verifier = 43*128unreserved. */
static bool op_token_verifier_ok(const char *v)
{
    size_t n = strspn(v, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~");

    return v[n] == '\0' && n >= OP_TOKEN_VERIFIER_MIN && n <= OP_TOKEN_VERIFIER_MAX;
}

int op_token_pkce_check(const char *cc, const char *ccm, const char *verifier, op_err_t *err)
{
    uint8_t digest[32];
    char computed[64];
    const char *expect = verifier;

    if (cc == NULL && verifier == NULL)
        return OP_OK;
    if (cc == NULL)
        return OP_TOKEN_BAD_GRANT(err, "code_verifier without a code_challenge in the "
                                       "authorisation request");
    if (verifier == NULL)
        return OP_TOKEN_BAD_GRANT(err, "code_verifier required: the authorisation request had a "
                                       "code_challenge");
    if (!op_token_verifier_ok(verifier))
        return OP_TOKEN_BAD_GRANT(err, "code_verifier must be 43 to 128 unreserved characters");
    if (ccm == NULL || strcmp(ccm, "S256") == 0) {
        op_keys_crypto_sha256(verifier, strlen(verifier), digest);
        op_b64url_encode(digest, sizeof(digest), computed);
        expect = computed;
    } else if (strcmp(ccm, "plain") != 0) {
        return OP_TOKEN_BAD_GRANT(err, "unsupported code_challenge_method");
    }
    if (!op_keys_crypto_ct_equal(expect, strlen(expect), cc, strlen(cc)))
        return OP_TOKEN_BAD_GRANT(err, "code_verifier does not match the code_challenge");
    return OP_OK;
}

/* ---- used markers ---------------------------------------------------------------------- */

int op_token_used_record(const char *ns, const char *key, const op_token_used_t *used,
                         int64_t ttl_s, op_arena_t *a, op_store_rec_t *out, op_err_t *err)
{
    op_json_w_t *w = op_token_writer(a);

    if (w == NULL)
        return OP_ERR(err, OP_ETOOBIG, "the used marker is too large for the arena");
    op_json_w_kstr(w, "fam", used->fam);
    if (used->atl_s > 0)
        op_json_w_kint(w, "atl", used->atl_s);
    return op_token_record(w, ns, key, ttl_s, NULL, 0, out, err);
}

int op_token_used_read(op_arena_t *a, const char *json, size_t len, op_token_used_t *out,
                       op_err_t *err)
{
    const op_json_t *v = NULL;
    int rc;

    memset(out, 0, sizeof(*out));
    if ((rc = op_token_parse_record(a, json, len, &v, err)) != OP_OK ||
        (rc = op_token_opt_str(v, "fam", &out->fam, err)) != OP_OK ||
        (rc = op_token_opt_int(v, "atl", &out->atl_s, err)) != OP_OK)
        return rc;
    if (out->fam == NULL || out->atl_s < 0)
        return OP_ERR(err, OP_EINVAL, "a used marker without a family");
    return OP_OK;
}
