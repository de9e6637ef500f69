/*
 * core/flows/op_authz_session_decide.c - the authorisation session's decisions (is an
 * authentication needed, is the request covered by a long-lived
 * authorisation) and the prompts that follow (reference §2.1).
 */
#include <string.h>

#include "core/flows/op_authz_session.h"

/* The aud claim (a string or an array of strings) names client_id. */
static bool op_authz_session_decide_aud_has(const op_json_t *aud, const char *client_id)
{
    if (op_json_is(aud, OP_JSON_STRING))
        return strcmp(aud->u.str.s, client_id) == 0;
    for (size_t i = 0; op_json_is(aud, OP_JSON_ARRAY) && i < aud->u.arr.n; i++) {
        if (op_json_is(aud->u.arr.items[i], OP_JSON_STRING) &&
            strcmp(aud->u.arr.items[i]->u.str.s, client_id) == 0)
            return true;
    }
    return false;
}

/*
 * See core/flows/op_authz_session.h. The server signs ID tokens, JWT access
 * tokens, signed UserInfo responses and its signed metadata with the same
 * keys, so a good signature does not make an ID token: the type must be
 * the ID token's ("JWT"; access tokens are "at+jwt", RFC 9068 §2.1), and
 * the claims those of an ID token (OIDC Core §2: iss, sub, aud, exp,
 * iat), without the access token's client_id. A signed UserInfo response
 * never has exp or iat (protocol claims are never copied into it), the
 * metadata has no sub.
 */
const char *op_authz_session_decide_hint_subject(const op_keys_set_t *keys, const char *issuer,
                                                 const char *client_id, const char *hint,
                                                 op_arena_t *a)
{
    static const unsigned algs =
        1u << OP_JWS_RS256 | 1u << OP_JWS_PS256 | 1u << OP_JWS_ES256 | 1u << OP_JWS_EDDSA;
    op_jws_t jws;
    op_json_t *claims;
    op_err_t err;
    int64_t exp, iat;

    if (op_keys_jws_verify_set(keys, hint, strlen(hint), algs, a, &jws, &err) != OP_OK ||
        !op_str_eq(jws.typ, "JWT") ||
        op_json_parse(a, jws.payload, jws.payload_len, NULL, &claims, &err) != OP_OK ||
        !op_json_is(claims, OP_JSON_OBJECT))
        return NULL;
    if (!op_str_eq(op_json_get_str(claims, "iss"), issuer) ||
        !op_authz_session_decide_aud_has(op_json_get(claims, "aud"), client_id) ||
        !op_json_get_int(claims, "exp", &exp) || !op_json_get_int(claims, "iat", &iat) ||
        op_json_get(claims, "client_id") != NULL)
        return NULL;
    return op_json_get_str(claims, "sub");
}

/* The subject of the request's id_token_hint, or NULL. A pairwise client
 * knows the subject by its pairwise identifier (OIDC Core §8.1): only the
 * session's own subject maps back. */
static const char *op_authz_session_decide_hint_map(op_authz_session_t *as)
{
    const op_client_t *c = as->areq.client;
    const char *sub =
        op_authz_session_decide_hint_subject(as->keys, as->srv->cfg->issuer, as->areq.client_id,
                                             as->areq.id_token_hint, as->flow->arena);
    if (sub == NULL || c->subject_type != OP_CLIENT_SUB_PAIRWISE)
        return sub;
    return as->have_sub &&
                   op_str_eq(sub, op_client_sub(c, as->srv->cfg, as->sub.sub, as->flow->arena))
               ? as->sub.sub
               : NULL;
}

/* The same, its signature checked once per call: the decision and the
 * auth prompt both ask. */
static const char *op_authz_session_decide_hint_sub(op_authz_session_t *as)
{
    if (!as->hint_checked) {
        as->hint_sub = op_authz_session_decide_hint_map(as);
        as->hint_checked = true;
    }
    return as->hint_sub;
}

bool op_authz_session_decide_needs_auth(op_authz_session_t *as)
{
    const op_authz_req_t *r = &as->areq;
    int64_t now = op_loop_epoch();
    if (!as->have_sub || !op_sub_session_auth_fresh(&as->sub, now))
        return true;
    /* max_age and prompt=login: the session's authentication was made
     * for an earlier request */
    if (!op_authz_req_auth_ok(r, as->sub.auth_time, false, now))
        return true;
    if (r->acr_values.n > 0) {
        bool found = false;
        for (size_t i = 0; i < r->acr_values.n && as->sub.acr != NULL; i++)
            found |= strcmp(r->acr_values.items[i], as->sub.acr) == 0;
        if (!found)
            return true;
    }
    if (r->id_token_hint != NULL) {
        const char *sub = op_authz_session_decide_hint_sub(as);
        if (sub == NULL || strcmp(sub, as->sub.sub) != 0)
            return true;
    }
    return (r->prompt & (OP_AUTHZ_PROMPT_SELECT_ACCOUNT | OP_AUTHZ_PROMPT_CREATE)) != 0 ||
           as->srv->cfg->authz_always_prompt_auth;
}

/* Every claim name the request asks for (scope and claims parameter),
 * without language tags. */
void op_authz_session_decide_requested_claims(op_authz_session_t *as, op_strs_t *out)
{
    const op_authz_req_t *r = &as->areq;
    op_arena_t *a = as->flow->arena;
    memset(out, 0, sizeof(*out));
    if (!op_authz_req_has_scope(r, "openid"))
        return;
    for (size_t i = 0; i < r->scope.n; i++) {
        size_t n;
        const char *const *names = op_authz_claims_of_scope(r->scope.items[i], &n);
        for (size_t j = 0; j < n; j++)
            op_strs_add(a, out, names[j]);
    }
    const op_authz_claim_t *lists[2] = {r->claims.userinfo, r->claims.id_token};
    size_t counts[2] = {r->claims.n_userinfo, r->claims.n_id_token};
    for (size_t l = 0; l < 2; l++) {
        for (size_t i = 0; i < counts[l]; i++) {
            const char *name = lists[l][i].name;
            const char *tag = strchr(name, '#');
            char *plain =
                op_arena_strndup(a, name, tag != NULL ? (size_t)(tag - name) : strlen(name));
            if (plain != NULL && strcmp(plain, "sub") != 0)
                op_strs_add(a, out, plain);
        }
    }
}

bool op_authz_session_decide_covered(op_authz_session_t *as)
{
    const op_authz_req_t *r = &as->areq;
    if (!as->have_stored || (r->prompt & OP_AUTHZ_PROMPT_CONSENT) ||
        as->srv->cfg->authz_always_prompt_consent)
        return false;
    for (size_t i = 0; i < r->scope.n; i++) {
        if (!op_strs_has(&as->stored.scp, r->scope.items[i]))
            return false;
    }
    op_strs_t wanted;
    op_authz_session_decide_requested_claims(as, &wanted);
    for (size_t i = 0; i < wanted.n; i++) {
        if (!op_strs_has(&as->stored.clm, wanted.items[i]) &&
            !op_strs_has(&as->stored.idc, wanted.items[i]))
            return false;
    }
    return true;
}

/* ---- the prompts ------------------------------------------------------------ */

static void op_authz_session_decide_write_common(op_authz_session_t *as, op_json_w_t *w,
                                                 const char *type)
{
    op_json_w_kstr(w, "type", type);
    op_json_w_kstr(w, "sid", as->sid);
    op_json_w_kstr(w, "display", as->areq.display != NULL ? as->areq.display : "page");
    if (as->data != NULL) {
        op_json_w_key(w, "data");
        op_json_w_value(w, as->data);
    }
}

/* The registered client as the prompts show it (reference §2.1). */
static void op_authz_session_decide_write_client(op_authz_session_t *as, op_json_w_t *w)
{
    const op_client_t *c = as->areq.client;
    op_json_w_key(w, "client");
    op_json_w_obj_open(w);
    op_json_w_kstr(w, "client_id", c->client_id);
    op_json_w_kstr(w, "client_type", op_client_is_public(c) ? "public" : "confidential");
    const char *opt[][2] = {{"name", c->client_name},
                            {"logo_uri", c->logo_uri},
                            {"uri", c->client_uri},
                            {"policy_uri", c->policy_uri},
                            {"tos_uri", c->tos_uri}};
    for (size_t i = 0; i < OP_NELEMS(opt); i++) {
        if (opt[i][1] != NULL)
            op_json_w_kstr(w, opt[i][0], opt[i][1]);
    }
    op_json_w_obj_close(w);
}

static void op_authz_session_decide_write_list(op_json_w_t *w, const char *key,
                                               const op_client_strs_t *l)
{
    if (l->n == 0)
        return;
    op_json_w_key(w, key);
    op_json_w_arr_open(w);
    for (size_t i = 0; i < l->n; i++)
        op_json_w_str(w, l->items[i]);
    op_json_w_arr_close(w);
}

/* {"type": "auth", ...}: what the login page needs to sign the subject in. */
int op_authz_session_decide_auth_prompt(op_authz_session_t *as)
{
    const op_authz_req_t *r = &as->areq;
    op_json_w_t *w = op_authz_session_call_writer(as);
    if (w == NULL)
        return OP_ETOOBIG;
    op_json_w_obj_open(w);
    op_authz_session_decide_write_common(as, w, "auth");
    op_json_w_kbool(w, "select_account", (r->prompt & OP_AUTHZ_PROMPT_SELECT_ACCOUNT) != 0);
    op_json_w_kbool(w, "create_account", (r->prompt & OP_AUTHZ_PROMPT_CREATE) != 0);
    if (r->login_hint != NULL)
        op_json_w_kstr(w, "login_hint", r->login_hint);
    op_authz_session_decide_write_list(w, "acr_values", &r->acr_values);
    op_authz_session_decide_write_list(w, "ui_locales", &r->ui_locales);
    if (r->id_token_hint != NULL) {
        const char *hint_sub = op_authz_session_decide_hint_sub(as);
        if (hint_sub != NULL)
            op_json_w_kstr(w, "required_sub", hint_sub);
    }
    if (as->have_sub) {
        op_json_w_key(w, "sub_session");
        op_json_w_obj_open(w);
        op_sub_session_write_api(w, &as->sub, as->sub_sid);
        op_json_w_obj_close(w);
    }
    if (as->srv->cfg->authz_client_info_in_auth_prompt)
        op_authz_session_decide_write_client(as, w);
    op_json_w_obj_close(w);
    return op_authz_session_call_doc(as, w);
}

/* {"type": "consent", ...}: the client, the scope and the claims, new
 * and already consented (reference §2.1). */
int op_authz_session_decide_consent_prompt(op_authz_session_t *as)
{
    const op_authz_req_t *r = &as->areq;
    op_json_w_t *w = op_authz_session_call_writer(as);
    if (w == NULL)
        return OP_ETOOBIG;
    const op_strs_t none = {0};
    const op_strs_t *scp = as->have_stored ? &as->stored.scp : &none;
    op_strs_t claims = {0};
    if (as->have_stored) {
        for (size_t i = 0; i < as->stored.clm.n; i++)
            op_strs_add(as->flow->arena, &claims, as->stored.clm.items[i]);
        for (size_t i = 0; i < as->stored.idc.n; i++)
            op_strs_add(as->flow->arena, &claims, as->stored.idc.items[i]);
    }
    op_json_w_obj_open(w);
    op_authz_session_decide_write_common(as, w, "consent");
    op_json_w_key(w, "sub_session");
    op_json_w_obj_open(w);
    op_sub_session_write_api(w, &as->sub, as->sub_sid);
    op_json_w_obj_close(w);
    op_authz_session_decide_write_client(as, w);
    op_json_w_key(w, "scope");
    op_authz_req_scope_prompt(r, scp->items, scp->n, w);
    op_json_w_key(w, "claims");
    op_authz_claims_prompt(r, claims.items, claims.n, w);
    op_json_w_obj_close(w);
    return op_authz_session_call_doc(as, w);
}
