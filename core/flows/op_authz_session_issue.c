/*
 * core/flows/op_authz_session_issue.c - the authentication and consent submissions of
 * the authorisation session API, and the final response: the code and
 * tokens the response type asks for (OIDC Core §3, Multiple Response
 * Types), the long-lived authorisation, the subject session's update.
 */
#include <string.h>

#include "core/flows/op_authz_session.h"

/* Bounds of what the authentication reports besides the subject. */
#define OP_AUTHZ_ISSUE_ACR_MAX   255
#define OP_AUTHZ_ISSUE_AMR_MAX   16 /* values */
#define OP_AUTHZ_ISSUE_AMR_VALUE 64 /* bytes each (RFC 8176 §2 values are short) */
#define OP_AUTHZ_ISSUE_STR_(x)   #x
#define OP_AUTHZ_ISSUE_STR(x)    OP_AUTHZ_ISSUE_STR_(x)
#define OP_AUTHZ_ISSUE_AMR_BAD   "amr: at most 16 values of 1 to 64 printable ASCII characters"
_Static_assert(OP_AUTHZ_ISSUE_AMR_MAX == 16 && OP_AUTHZ_ISSUE_AMR_VALUE == 64,
               "OP_AUTHZ_ISSUE_AMR_BAD names the amr bounds");

bool op_authz_session_issue_id_ok(const op_json_t *v, size_t max)
{
    if (v == NULL || v->type != OP_JSON_STRING || v->u.str.len == 0 || v->u.str.len > max)
        return false;
    for (size_t i = 0; i < v->u.str.len; i++) {
        unsigned char c = (unsigned char)v->u.str.s[i];
        if (c < 0x20 || c > 0x7e)
            return false;
    }
    return true;
}

/* amr: absent, null, or an array of at most OP_AUTHZ_ISSUE_AMR_MAX identifiers. */
static bool op_authz_session_issue_amr_ok(const op_json_t *amr)
{
    if (amr == NULL || amr->type == OP_JSON_NULL)
        return true;
    if (amr->type != OP_JSON_ARRAY || amr->u.arr.n > OP_AUTHZ_ISSUE_AMR_MAX)
        return false;
    for (size_t i = 0; i < amr->u.arr.n; i++) {
        if (!op_authz_session_issue_id_ok(amr->u.arr.items[i], OP_AUTHZ_ISSUE_AMR_VALUE))
            return false;
    }
    return true;
}

/* An optional integer member: absent is fine, else within [min, max]. */
static bool op_authz_session_issue_opt_int(const op_json_t *o, const char *key, int64_t min,
                                           int64_t max, int64_t *out)
{
    const op_json_t *v = op_json_get(o, key);
    if (v == NULL)
        return true;
    if (v->type != OP_JSON_NUMBER || !v->u.num.is_int || v->u.num.i < min || v->u.num.i > max)
        return false;
    *out = v->u.num.i;
    return true;
}

static bool op_authz_session_issue_opt_obj(const op_json_t *o, const char *key,
                                           const op_json_t **out)
{
    const op_json_t *v = op_json_get(o, key);
    if (v == NULL || v->type == OP_JSON_NULL)
        return true;
    *out = v;
    return v->type == OP_JSON_OBJECT;
}

/* Write the subject session record (TTL from its timeouts, index sub). */
int op_authz_session_issue_write_sub(op_authz_session_t *as)
{
    const char *json;
    size_t len;
    int rc = op_sub_session_write(as->flow->arena, &as->sub, &json, &len, &as->flow->err);
    if (rc != OP_OK)
        return rc;
    /* in the arena: the batch reads the record when it is sent */
    op_store_index_t *idx = op_arena_alloc(as->flow->arena, sizeof(*idx));
    if (idx == NULL)
        return OP_ERR(&as->flow->err, OP_ETOOBIG,
                      "the subject session index does not fit the arena");
    *idx = (op_store_index_t){"sub", as->sub.sub, strlen(as->sub.sub)};
    op_store_rec_t rec = {
        .ns = OP_AS_NS_SUB,
        .key = as->sub_key,
        .key_len = 64,
        .value = json,
        .value_len = len,
        .ttl_ms = op_sub_session_ttl_ms(&as->sub, op_loop_epoch()),
        .indexes = idx,
        .nindexes = 1,
    };
    /* A session this call did not create is only updated, never brought
     * back: it may have been closed meanwhile (logout). */
    op_writes_put(&as->writes, &rec, as->sub_created ? 0 : OP_STORE_XX);
    return OP_OK;
}

int op_authz_session_issue_authenticated(op_authz_session_t *as)
{
    const op_json_t *b = as->body;
    const op_json_t *sub = op_json_get(b, "sub"), *amr = op_json_get(b, "amr");
    const op_json_t *acr = op_json_get(b, "acr"), *data = NULL, *claims = NULL;
    int64_t now = op_loop_epoch(), auth_time = now;
    int64_t ml = as->srv->cfg->session_max_life_min, al = as->srv->cfg->session_auth_life_min,
            mi = as->srv->cfg->session_max_idle_min;
    op_sub_session_t *s = &as->sub;

    if (sub == NULL || !op_authz_session_issue_id_ok(sub, OP_GRANT_SUB_MAX)) {
        return OP_ERR(&as->flow->err, OP_EINVAL,
                      "this session expects the authentication: "
                      "{\"sub\": \"<subject>\", ...}");
    }
    const char *bad = NULL;
    if (acr != NULL && !op_authz_session_issue_id_ok(acr, OP_AUTHZ_ISSUE_ACR_MAX))
        bad = "acr: 1 to " OP_AUTHZ_ISSUE_STR(OP_AUTHZ_ISSUE_ACR_MAX) " printable ASCII characters";
    else if (!op_authz_session_issue_amr_ok(amr))
        bad = OP_AUTHZ_ISSUE_AMR_BAD;
    else if (!op_authz_session_issue_opt_int(b, "auth_time", 0, now, &auth_time))
        bad = "auth_time: seconds since the epoch, not in the future";
    else if (!op_authz_req_auth_ok(&as->areq, auth_time, auth_time >= as->created, now))
        bad = "auth_time: the request asks for an authentication made for it (prompt=login, "
              "max_age=0) or within max_age seconds (OIDC Core 3.1.2.1)";
    else if (!op_authz_session_issue_opt_int(b, "max_life", -1, 525600, &ml) || ml == 0)
        bad = "max_life: minutes, -1 or 1 to 525600";
    else if (!op_authz_session_issue_opt_int(b, "auth_life", -1, 525600, &al) || al == 0)
        bad = "auth_life: minutes, -1 or 1 to 525600";
    else if (!op_authz_session_issue_opt_int(b, "max_idle", -1, 525600, &mi) || mi == 0)
        bad = "max_idle: minutes, -1 or 1 to 525600";
    else if (!op_authz_session_issue_opt_obj(b, "data", &data) ||
             !op_authz_session_issue_opt_obj(b, "claims", &claims))
        bad = "data and claims: JSON objects";
    if (bad != NULL)
        return OP_ERR(&as->flow->err, OP_EINVAL, "authentication: %s", bad);
    as->sub_sid = op_sub_session_new_id(as->flow->arena);
    if (as->sub_sid == NULL ||
        op_sub_session_new(as->flow->arena, as->srv->cfg, sub->u.str.s, auth_time, s) != OP_OK ||
        op_strs_from_json(as->flow->arena, amr, &s->amr) != OP_OK)
        return OP_ERR(&as->flow->err, OP_ETOOBIG, "the subject session does not fit the arena");
    s->data = data;
    s->claims = claims;
    s->acr = acr != NULL ? acr->u.str.s : NULL;
    s->max_life = (int)ml;
    s->auth_life = (int)al;
    s->max_idle = (int)mi;
    op_sub_session_key(as->sub_sid, as->sub_key);
    as->sub_new = true;
    as->have_sub = true;
    as->sub_dirty = true;
    as->sub_created = true;
    as->quota_after = true;
    return OP_OK;
}

/* The claims the request asks for, by where they were asked. */
static bool op_authz_session_issue_in_id_token(const op_authz_req_t *r, const char *name)
{
    for (size_t i = 0; i < r->claims.n_id_token; i++) {
        if (strcmp(r->claims.id_token[i].name, name) == 0)
            return true;
    }
    return false;
}

/* Does the response hand out an access token (a code, or token)? Without
 * one, consented claims can only travel in the ID token (OIDC Core
 * §5.4). */
static bool op_authz_session_issue_issues_at(const op_authz_session_t *as)
{
    return (as->areq.response_type & (OP_CLIENT_RT_CODE | OP_CLIENT_RT_TOKEN)) != 0;
}

/* Put a claim name where it goes without a directive: UserInfo, or the
 * ID token when no access token is issued or when the claims parameter
 * asked for it there. */
static int op_authz_session_issue_place_claim(op_authz_session_t *as, const char *name)
{
    op_arena_t *a = as->flow->arena;
    op_grant_t *g = &as->grant;
    if (!op_authz_session_issue_issues_at(as) ||
        op_authz_session_issue_in_id_token(&as->areq, name))
        return op_strs_add(a, &g->idc, name);
    return op_strs_add(a, &g->clm, name);
}

/* A claim name of the login page's consent: its "id_token:" and
 * "access_token:" prefixes choose the list (reference §2.1), else
 * op_authz_session_issue_place_claim. Only the login page directs placement: names the
 * request brings are placed with op_authz_session_issue_place_claim (and the claims
 * parameter refuses the prefixes, core/proto/op_authz_claims.c). */
static int op_authz_session_issue_add_claim(op_authz_session_t *as, const char *name)
{
    op_arena_t *a = as->flow->arena;
    op_grant_t *g = &as->grant;
    if (op_str_has_prefix(name, "id_token:"))
        return op_strs_add(a, &g->idc, name + strlen("id_token:"));
    if (op_str_has_prefix(name, "access_token:"))
        return op_strs_add(a, &g->atc, name + strlen("access_token:"));
    return op_authz_session_issue_place_claim(as, name);
}

/* Every claim the request asks for, for "*" (language tags kept). */
static int op_authz_session_issue_add_all_claims(op_authz_session_t *as)
{
    const op_authz_req_t *r = &as->areq;
    int rc = OP_OK;
    if (!op_authz_req_has_scope(r, "openid"))
        return OP_OK;
    for (size_t i = 0; i < r->scope.n && rc == OP_OK; i++) {
        size_t n;
        const char *const *names = op_authz_claims_of_scope(r->scope.items[i], &n);
        for (size_t j = 0; j < n && rc == OP_OK; j++)
            rc = op_authz_session_issue_place_claim(as, names[j]);
    }
    for (size_t i = 0; i < r->claims.n_userinfo && rc == OP_OK; i++) {
        if (strcmp(r->claims.userinfo[i].name, "sub") != 0)
            rc = op_authz_session_issue_place_claim(as, r->claims.userinfo[i].name);
    }
    for (size_t i = 0; i < r->claims.n_id_token && rc == OP_OK; i++) {
        if (strcmp(r->claims.id_token[i].name, "sub") != 0)
            rc = op_strs_add(as->flow->arena, &as->grant.idc, r->claims.id_token[i].name);
    }
    return rc;
}

/* The request's claims_locales become the grant's (OIDC Core §5.2): the
 * claims sources are asked in these languages. */
static void op_authz_session_issue_claims_locales(op_authz_session_t *as)
{
    memset(&as->grant.cll, 0, sizeof(as->grant.cll));
    for (size_t i = 0; i < as->areq.claims_locales.n; i++)
        op_strs_add(as->flow->arena, &as->grant.cll, as->areq.claims_locales.items[i]);
}

/* consent "scope": the granted values, "*" for all requested; a value the
 * request did not ask for cannot be granted. */
static const char *op_authz_session_issue_consent_scope(op_authz_session_t *as,
                                                        const op_json_t *scope)
{
    op_arena_t *a = as->flow->arena;
    if (scope == NULL || scope->type == OP_JSON_NULL)
        return NULL;
    if (scope->type != OP_JSON_ARRAY)
        return "scope must be an array of strings";
    for (size_t i = 0; i < scope->u.arr.n; i++) {
        const op_json_t *v = scope->u.arr.items[i];
        if (v->type != OP_JSON_STRING)
            return "scope must be an array of strings";
        if (strcmp(v->u.str.s, "*") == 0) {
            for (size_t j = 0; j < as->areq.scope.n; j++)
                op_strs_add(a, &as->grant.scp, as->areq.scope.items[j]);
        } else if (!op_authz_req_has_scope(&as->areq, v->u.str.s)) {
            return "scope has a value the request did not ask for";
        } else {
            op_strs_add(a, &as->grant.scp, v->u.str.s);
        }
    }
    return NULL;
}

static const char *op_authz_session_issue_consent_claims(op_authz_session_t *as,
                                                         const op_json_t *claims)
{
    if (claims == NULL || claims->type == OP_JSON_NULL)
        return NULL;
    if (claims->type != OP_JSON_ARRAY)
        return "claims must be an array of strings";
    for (size_t i = 0; i < claims->u.arr.n; i++) {
        const op_json_t *v = claims->u.arr.items[i];
        if (v->type != OP_JSON_STRING || v->u.str.len == 0)
            return "claims must be an array of strings";
        int rc = strcmp(v->u.str.s, "*") == 0 ? op_authz_session_issue_add_all_claims(as)
                                              : op_authz_session_issue_add_claim(as, v->u.str.s);
        if (rc != OP_OK)
            return "claims: too many for the flow's arena";
    }
    return NULL;
}

int op_authz_session_issue_consented(op_authz_session_t *as)
{
    const op_json_t *b = as->body, *pc = NULL, *v;
    op_grant_t *g = &as->grant;
    const char *bad = NULL;

    if (op_json_get(b, "sub") != NULL)
        return OP_ERR(&as->flow->err, OP_EINVAL,
                      "this session expects the consent, not an authentication");
    op_grant_defaults(g, as->srv->cfg);
    g->sub = as->sub.sub;
    g->cid = as->areq.client_id;
    op_authz_session_issue_claims_locales(as);
    bad = op_authz_session_issue_consent_scope(as, op_json_get(b, "scope"));
    if (bad == NULL)
        bad = op_authz_session_issue_consent_claims(as, op_json_get(b, "claims"));
    if (bad == NULL && !op_authz_session_issue_opt_obj(b, "preset_claims", &pc))
        bad = "preset_claims must be an object";
    if (bad == NULL && pc != NULL &&
        (!op_authz_session_issue_opt_obj(pc, "id_token", &g->idp) ||
         !op_authz_session_issue_opt_obj(pc, "userinfo", &g->uip)))
        bad = "preset_claims.id_token and .userinfo must be objects";
    if (bad == NULL && op_strs_from_json(as->flow->arena, op_json_get(b, "audience"), &g->aud))
        bad = "audience must be an array of strings";
    if (bad == NULL && (v = op_json_get(b, "long_lived")) != NULL) {
        if (v->type != OP_JSON_TRUE && v->type != OP_JSON_FALSE)
            bad = "long_lived must be a boolean";
        g->long_lived = v->type == OP_JSON_TRUE;
    }
    if (bad == NULL &&
        op_grant_read_specs(g, op_json_get(b, "access_token"), op_json_get(b, "refresh_token"),
                            op_json_get(b, "id_token")) != NULL)
        bad = "bad access_token, refresh_token or id_token spec";
    if (bad == NULL && !op_authz_session_issue_opt_obj(b, "data", &g->dat))
        bad = "data must be an object";
    if (bad == NULL && as->areq.client->subject_type == OP_CLIENT_SUB_PAIRWISE &&
        op_str_eq(op_json_get_str(op_json_get(b, "access_token"), "encoding"), "SELF_CONTAINED"))
        bad = "a pairwise client's access tokens are identifiers: a JWT would show the local "
              "subject (OIDC Core §8.1)";
    if (bad != NULL)
        return OP_ERR(&as->flow->err, OP_EINVAL, "consent: %s", bad);
    /* a new consent: the long-lived one replaces what was stored */
    as->save_authz = g->long_lived;
    return OP_OK;
}

/*
 * The grant of a request the stored authorisation covers: its token
 * specs, audience, presets and data; the request's scope; and each
 * requested claim where a fresh consent would put it (the ID token when
 * the stored consent said so, or when no access token is issued), in the
 * access token only when requested. A grant for the request alone: the
 * stored authorisation stays as it is (as->save_authz is not set), so a
 * narrower request never narrows it (OIDC Core §3.1.2.1).
 */
void op_authz_session_issue_from_stored(op_authz_session_t *as)
{
    op_grant_t *g = &as->grant;
    op_strs_t wanted;
    *g = as->stored;
    memset(&g->scp, 0, sizeof(g->scp));
    memset(&g->clm, 0, sizeof(g->clm));
    memset(&g->idc, 0, sizeof(g->idc));
    memset(&g->atc, 0, sizeof(g->atc));
    for (size_t i = 0; i < as->areq.scope.n; i++)
        op_strs_add(as->flow->arena, &g->scp, as->areq.scope.items[i]);
    op_authz_session_issue_claims_locales(as);
    op_authz_session_decide_requested_claims(as, &wanted);
    for (size_t i = 0; i < wanted.n; i++) {
        const char *n = wanted.items[i];
        if (op_strs_has(&as->stored.idc, n))
            op_strs_add(as->flow->arena, &g->idc, n);
        else if (op_strs_has(&as->stored.clm, n))
            op_authz_session_issue_place_claim(as, n);
        if (op_strs_has(&as->stored.atc, n))
            op_strs_add(as->flow->arena, &g->atc, n);
    }
}

static bool op_authz_session_issue_wants_id_token(const op_authz_session_t *as)
{
    return (as->areq.response_type & OP_CLIENT_RT_ID_TOKEN) != 0;
}

/*
 * The claims the front-channel tokens carry: those of the ID token, and
 * the access_token: ones of an access token issued here (implicit and
 * hybrid flows); one lookup for both.
 */
int op_authz_session_issue_claim_names(op_authz_session_t *as)
{
    op_strs_t *names = &as->claim_names;
    int rc = OP_OK;

    memset(names, 0, sizeof(*names));
    for (size_t i = 0;
         op_authz_session_issue_wants_id_token(as) && i < as->grant.idc.n && rc == OP_OK; i++)
        rc = op_strs_add(as->flow->arena, names, as->grant.idc.items[i]);
    for (size_t i = 0;
         (as->areq.response_type & OP_CLIENT_RT_TOKEN) && i < as->grant.atc.n && rc == OP_OK; i++)
        rc = op_strs_add(as->flow->arena, names, as->grant.atc.items[i]);
    return rc == OP_OK ? OP_OK
                       : OP_ERR(&as->flow->err, OP_ETOOBIG, "the claim names do not fit the arena");
}

/* The long-lived authorisation record (no TTL, indexes sub and cid). */
static int op_authz_session_issue_write_authz(op_authz_session_t *as)
{
    op_err_t *err = &as->flow->err;
    op_json_w_t *w = op_authz_session_call_writer(as);
    const char *json;
    size_t len;
    char *key = op_arena_alloc(as->flow->arena, 65);
    if (w == NULL)
        return OP_ETOOBIG;
    if (key == NULL)
        return OP_ERR(err, OP_ETOOBIG, "the authorisation record does not fit the arena");
    if (op_grant_key(as->grant.sub, as->grant.cid, key) != OP_OK)
        return OP_ERR(err, OP_ERROR, "no long-lived authorisation can be kept for this subject");
    op_json_w_obj_open(w);
    op_grant_write(w, &as->grant);
    op_json_w_kint(w, "iat", op_loop_epoch());
    op_json_w_obj_close(w);
    int rc = op_json_w_finish(w, &json, &len, err);
    if (rc != OP_OK)
        return rc;
    op_store_index_t *idx = op_arena_alloc(as->flow->arena, 2 * sizeof(*idx));
    if (idx == NULL)
        return OP_ERR(err, OP_ETOOBIG, "the authorisation record does not fit the arena");
    idx[0] = (op_store_index_t){"sub", as->grant.sub, strlen(as->grant.sub)};
    idx[1] = (op_store_index_t){"cid", as->grant.cid, strlen(as->grant.cid)};
    op_store_rec_t rec = {
        .ns = OP_AS_NS_AUTHZ,
        .key = key,
        .key_len = 64,
        .value = json,
        .value_len = len,
        .indexes = idx,
        .nindexes = 2,
    };
    op_writes_put(&as->writes, &rec, 0);
    return OP_OK;
}

#define OP_AUTHZ_ISSUE_MAX_PARAMS 8

/* Mint the code / access token / ID token of the response type into
 * params; the records to store go out as writes. */
static int op_authz_session_issue_mint_tokens(op_authz_session_t *as, op_authz_param_t *params,
                                              size_t *n)
{
    op_arena_t *a = as->flow->arena;
    const op_config_t *cfg = as->srv->cfg;
    int64_t now = op_loop_epoch();
    op_token_ctx_t ctx = {cfg, as->keys, now};
    op_token_authn_t authn = {as->sub.auth_time, as->sub.acr, as->sub.amr, as->sub.sid_claim};
    unsigned rt = as->areq.response_type;
    op_token_minted_t code = {0}, at = {0};
    int rc;

    /* A pairwise client's access tokens are identifiers: a JWT's sub
     * would be the local subject (OIDC Core §8.1). */
    if (as->areq.client->subject_type == OP_CLIENT_SUB_PAIRWISE)
        as->grant.at_encoding = OP_AT_IDENTIFIER;
    /* The tokens (and the code, for the token endpoint's ID token) carry
     * the session's claims; the long-lived record does not. */
    op_grant_t g = as->grant;
    op_grant_add_session_claims(a, &g, as->sub.claims);
    *n = 0;
    if (rt & OP_CLIENT_RT_CODE) {
        op_token_code_t c = {
            .grant = g,
            .authn = authn,
            .ruri = as->areq.redirect_uri,
            .nonce = as->areq.nonce,
            .cc = as->areq.code_challenge,
            .ccm = as->areq.code_challenge_method,
        };
        if ((rc = op_token_code_mint(cfg, now, &c, a, &code, &as->flow->err)) != OP_OK)
            return rc;
        op_writes_put(&as->writes, &code.rec, 0);
        params[(*n)++] = (op_authz_param_t){"code", code.token};
    }
    if (rt & OP_CLIENT_RT_TOKEN) {
        if ((rc = op_token_at_mint(&ctx, &as->grant, as->sub.sid_claim, NULL, as->id_claims, a, &at,
                                   &as->flow->err)) != OP_OK)
            return rc;
        if (at.rec.ns != NULL)
            op_writes_put(&as->writes, &at.rec, 0);
        params[(*n)++] = (op_authz_param_t){"access_token", at.token};
        params[(*n)++] = (op_authz_param_t){"token_type", "Bearer"};
        params[(*n)++] =
            (op_authz_param_t){"expires_in", op_arena_printf(a, "%lld", (long long)at.lifetime_s)};
        params[(*n)++] = (op_authz_param_t){"scope", op_token_scope_str(a, &as->grant.scp)};
    }
    if (rt & OP_CLIENT_RT_ID_TOKEN) {
        op_token_id_req_t r = {
            .client = as->areq.client,
            .grant = &g,
            .authn = &authn,
            .nonce = as->areq.nonce,
            .access_token = at.token,
            .code = code.token,
            .preset = g.idp,
            .claims = as->id_claims,
        };
        char *idt;
        if ((rc = op_token_id_mint(&ctx, &r, a, &idt, &as->flow->err)) != OP_OK)
            return rc;
        params[(*n)++] = (op_authz_param_t){"id_token", idt};
    }
    return OP_OK;
}

int op_authz_session_issue_mint(op_authz_session_t *as)
{
    op_authz_param_t params[OP_AUTHZ_ISSUE_MAX_PARAMS];
    op_authz_resp_t resp;
    size_t n;
    op_json_w_t *w = op_authz_session_call_writer(as);
    int rc = w != NULL ? op_authz_session_issue_mint_tokens(as, params, &n) : OP_ETOOBIG;

    if (rc == OP_OK)
        rc = op_authz_resp_build(as->flow->arena, &as->areq, as->srv->cfg->issuer, params, n, &resp,
                                 &as->flow->err);
    if (rc == OP_OK && as->save_authz)
        rc = op_authz_session_issue_write_authz(as);
    if (rc != OP_OK)
        return rc;
    /* The subject session: one more relying party, used now. */
    if (op_strs_add(as->flow->arena, &as->sub.rps, as->areq.client_id) != OP_OK)
        return OP_ERR(&as->flow->err, OP_ETOOBIG, "the subject session does not fit the arena");
    as->sub.last_used = op_loop_epoch();
    as->sub_dirty = true;
    op_authz_session_record_drop(as);

    op_json_w_obj_open(w);
    op_authz_resp_write(&resp, w);
    if (as->sub_new)
        op_json_w_kstr(w, "sub_sid", as->sub_sid);
    op_json_w_obj_close(w);
    return op_authz_session_call_doc(as, w);
}
