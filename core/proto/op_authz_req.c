/*
 * core/proto/op_authz_req.c - parse and validate an OpenID Connect authorisation
 * request (the raw query a login page hands to the authorisation session
 * API), and the consent prompt's scope object.
 *
 * Validation runs in two phases. Until the client and its redirect_uri
 * are known good, every error is answered to the login page only
 * (RFC 6749 §4.1.2.1: never redirect to an unverified URI). After that,
 * errors are redirectable: the response mode and state are resolved
 * first so the caller can send the error back to the client. A query the
 * strict parser refuses (a repeated or malformed parameter) follows the
 * same rule: what the redirect needs is read from it piece by piece.
 */
#include <string.h>

#include "core/proto/op_authz_req.h"
#include "core/config/op_config.h"

/* Longest piece of a request value quoted in an error description. */
#define OP_AUTHZ_REQ_SHOW_MAX 40

static const char *const op_authz_req_modes[] = {"query", "fragment", "form_post"};
static const char *const op_authz_req_displays[] = {"page", "popup", "touch", "wap"};
/* In the order of the OP_AUTHZ_PROMPT_* bits. */
static const char *const op_authz_req_prompts[] = {"none", "login", "consent", "select_account",
                                                   "create"};

#define OP_AUTHZ_REQ_FAIL(e, oauth_error, ...)                                                     \
    OP_ERR_OAUTH((e), OP_EINVAL, (oauth_error), 400, __VA_ARGS__)

/* A parameter's value, NULL when absent or empty: "parameters sent
 * without a value MUST be treated as if they were omitted" (RFC 6749
 * §3.1). */
static const char *op_authz_req_param(const op_params_t *p, const char *name)
{
    const char *v = op_params_get(p, name);
    return v != NULL && v[0] != '\0' ? v : NULL;
}

/* Index of s in names[0..n), -1 when absent. */
static int op_authz_req_index(const char *const *names, size_t n, const char *s)
{
    for (size_t i = 0; i < n; i++) {
        if (strcmp(names[i], s) == 0)
            return (int)i;
    }
    return -1;
}

/* The same over one of the static tables above. */
#define OP_AUTHZ_REQ_INDEX(table, s) op_authz_req_index((table), OP_NELEMS(table), (s))

/* Is s[0..len) one of items[0..n)? */
static bool op_authz_req_among(const char *const *items, size_t n, const char *s, size_t len)
{
    for (size_t i = 0; i < n; i++) {
        if (strncmp(items[i], s, len) == 0 && items[i][len] == '\0')
            return true;
    }
    return false;
}

/* Is value one of the space-separated tokens of list? */
static bool op_authz_req_listed(const char *list, const char *value)
{
    size_t len = strlen(value);

    while (list != NULL && *list != '\0') {
        const char *sp = strchr(list, ' ');
        size_t n = sp != NULL ? (size_t)(sp - list) : strlen(list);

        if (n == len && memcmp(list, value, len) == 0)
            return true;
        list = sp != NULL ? sp + 1 : list + n;
    }
    return false;
}

/* A list token byte: %x21 / %x23-5B / %x5D-7E (RFC 6749 §3.3). */
static bool op_authz_req_token_byte(unsigned char c)
{
    return c >= 0x21 && c <= 0x7e && c != '"' && c != '\\';
}

/*
 * Split a space-separated list (scope, prompt, ui_locales, ...: tokens
 * of RFC 6749 §3.3 characters, single spaces between them) into *out, in
 * arena a, keeping the order and dropping repeats. s NULL: empty list.
 * OP_EINVAL when malformed or longer than OP_AUTHZ_LIST_MAX tokens.
 */
static int op_authz_req_list(op_arena_t *a, const char *s, op_client_strs_t *out)
{
    const char **items;
    size_t n = 1, k = 0;

    out->items = NULL;
    out->n = 0;
    if (s == NULL)
        return OP_OK;
    for (const char *p = s; *p != '\0'; p++)
        n += *p == ' ';
    if (n > OP_AUTHZ_LIST_MAX)
        return OP_EINVAL;
    items = op_arena_calloc(a, n, sizeof(*items));
    if (items == NULL)
        return OP_ETOOBIG;
    for (const char *p = s;;) {
        size_t len = 0;

        while (p[len] != '\0' && p[len] != ' ') {
            if (!op_authz_req_token_byte((unsigned char)p[len]))
                return OP_EINVAL;
            len++;
        }
        if (len == 0)
            return OP_EINVAL; /* leading, trailing or double space */
        if (!op_authz_req_among(items, k, p, len)) {
            items[k] = op_arena_strndup(a, p, len);
            if (items[k] == NULL)
                return OP_ETOOBIG;
            k++;
        }
        if (p[len] == '\0')
            break;
        p += len + 1;
    }
    out->items = items;
    out->n = k;
    return OP_OK;
}

/* Parse list parameter name of p into *out; invalid_request (or the given
 * OAuth error) when malformed. */
static int op_authz_req_list_param(op_arena_t *a, const op_params_t *p, const char *name,
                                   const char *oauth_error, op_client_strs_t *out, op_err_t *err)
{
    int rc = op_authz_req_list(a, op_authz_req_param(p, name), out);

    if (rc == OP_ETOOBIG)
        return OP_ERR_OAUTH(err, OP_ETOOBIG, "invalid_request", 400,
                            "%s is too large for the request's arena", name);
    if (rc != OP_OK)
        return OP_AUTHZ_REQ_FAIL(err, oauth_error,
                                 "malformed %s: at most %d values of printable ASCII "
                                 "separated by single spaces",
                                 name, OP_AUTHZ_LIST_MAX);
    return OP_OK;
}

/* Does the URI's query carry a code, state or response parameter? Such a
 * redirect_uri is refused (reference §2.1; RFC 9207 mix-up defence). A
 * query that is not a strict form counts as malformed. */
static int op_authz_req_ruri_query(op_arena_t *a, const char *uri, op_err_t *err)
{
    static const char *const forbidden[] = {"code", "state", "response"};
    op_config_url_t u;
    op_params_t q;
    op_err_t qerr;
    int rc;

    if (!op_config_url_parse(uri, strlen(uri), &u))
        return OP_AUTHZ_REQ_FAIL(err, "invalid_request",
                                 "redirect_uri is not a valid absolute URI");
    if (!u.has_query)
        return OP_OK;
    rc = op_params_parse(a, u.query.ptr, u.query.len, NULL, &q, &qerr);
    if (rc != OP_OK)
        return OP_AUTHZ_REQ_FAIL(err, "invalid_request", "redirect_uri has a malformed query");
    for (size_t i = 0; i < OP_NELEMS(forbidden); i++) {
        if (op_params_find(&q, forbidden[i]) != NULL)
            return OP_AUTHZ_REQ_FAIL(err, "invalid_request",
                                     "redirect_uri must not have a '%s' query parameter",
                                     forbidden[i]);
    }
    return OP_OK;
}

/* What an error response needs from the request; the first two say
 * where it may go. */
static const char *const op_authz_req_reply_params[] = {"client_id", "redirect_uri", "state",
                                                        "response_type", "response_mode"};

/*
 * The query failed the strict parse (a repeated or malformed parameter,
 * RFC 6749 §3.1), yet the error belongs to the client once its
 * redirect_uri is known good (RFC 6749 §4.1.2.1). So take the parameters
 * the error response needs from the '&'-separated pieces, each parsed on
 * its own, into out->params. One that is malformed or comes more than
 * once is left out: for client_id or redirect_uri that leaves *known
 * false (the redirect cannot be trusted), a state in doubt is not echoed.
 * A query over the parameter limit is not looked into (*known false).
 * OP_OK, or OP_ETOOBIG when a is full.
 */
static int op_authz_req_salvage(op_arena_t *a, op_authz_req_t *out, bool *known)
{
    size_t seen[OP_NELEMS(op_authz_req_reply_params)] = {0};
    op_param_t found[OP_NELEMS(op_authz_req_reply_params)];
    bool whole[OP_NELEMS(op_authz_req_reply_params)] = {false};
    const char *end = out->query + out->query_len;
    size_t pieces = 0, n = 0;

    *known = false;
    for (const char *p = out->query; p < end;) {
        const char *amp = memchr(p, '&', (size_t)(end - p));
        const char *stop = amp != NULL ? amp : end;
        const char *eq = memchr(p, '=', (size_t)(stop - p));
        op_params_t one = {0};
        op_err_t e;
        bool ok = true;
        int rc = OP_OK;

        if (stop > p && ++pieces > op_params_default_limits.max_params)
            return OP_OK;
        if (stop > p)
            rc = op_params_parse(a, p, (size_t)(stop - p), NULL, &one, &e);
        if (rc == OP_EINVAL || rc == OP_ETOOBIG) {
            /* the value is bad: the name may still be readable */
            ok = false;
            rc = op_params_parse(a, p, (size_t)((eq != NULL ? eq : stop) - p), NULL, &one, &e);
        }
        int k = rc == OP_OK && one.n == 1
                    ? OP_AUTHZ_REQ_INDEX(op_authz_req_reply_params, one.items[0].name)
                    : -1;
        if (k >= 0 && seen[k]++ == 0) {
            found[k] = one.items[0];
            whole[k] = ok;
        }
        p = stop + 1;
    }
    op_param_t *items = op_arena_calloc(a, OP_NELEMS(found), sizeof(*items));
    if (items == NULL)
        return OP_ETOOBIG;
    for (size_t k = 0; k < OP_NELEMS(found); k++) {
        if (seen[k] == 1 && whole[k])
            items[n++] = found[k];
    }
    out->params = (op_params_t){items, n};
    *known = seen[0] == 1 && whole[0] && seen[1] == 1 && whole[1];
    return OP_OK;
}

/*
 * Phase one (not redirectable): the client and the redirect_uri, which
 * must be one of the client's by exact string comparison (RFC 6749
 * §3.1.2.3, OIDC Core §3.1.2.1; any port for a native client's loopback
 * IP, RFC 8252 §7.3) and is required (OIDC Core §3.1.2.1).
 */
static int op_authz_req_target(op_arena_t *a, const op_authz_clients_t *clients,
                               op_authz_req_t *out, op_err_t *err)
{
    const op_params_t *p = &out->params;
    const op_client_t *c;
    const char *ruri;
    int rc;

    out->client_id = op_authz_req_param(p, "client_id");
    if (out->client_id == NULL)
        return OP_AUTHZ_REQ_FAIL(err, "invalid_request", "missing client_id");
    c = clients != NULL && clients->find != NULL ? clients->find(clients->arg, out->client_id)
                                                 : NULL;
    if (c == NULL)
        return OP_AUTHZ_REQ_FAIL(err, "invalid_client", "unknown client_id");
    out->client = c;
    ruri = op_authz_req_param(p, "redirect_uri");
    if (ruri == NULL)
        return OP_AUTHZ_REQ_FAIL(err, "invalid_request", "missing redirect_uri");
    rc = op_authz_req_ruri_query(a, ruri, err);
    if (rc != OP_OK)
        return rc;
    if (!op_client_redirect_match(c, ruri, strlen(ruri)))
        return OP_AUTHZ_REQ_FAIL(err, "invalid_request",
                                 "redirect_uri is not registered for the client");
    out->redirect_uri = ruri;
    return OP_OK;
}

/* Is the response type set rt among the client's registered ones? Both are
 * sets, so "id_token code" matches "code id_token" (OIDC Core §3,
 * Multiple Response Types §3). */
static bool op_authz_req_rt_registered(const op_client_t *c, unsigned rt)
{
    for (size_t i = 0; i < c->n_response_types; i++) {
        if (c->response_types[i] == rt)
            return true;
    }
    return false;
}

/*
 * Response type and mode. The mode is resolved before any check so a
 * later error goes back the way the client expects: the explicit
 * response_mode when valid, else the default of the response type, query
 * for code and none, fragment for anything returning tokens (Multiple
 * Response Types §2.1, §3, §4; query when the type is unknown, RFC 6749
 * §4.1.2.1). Query is refused for tokens: they would land in server logs
 * and Referer headers (Multiple Response Types §2.1).
 */
static void op_authz_req_mode(op_authz_req_t *out)
{
    const op_params_t *p = &out->params;
    const char *rt = op_authz_req_param(p, "response_type");
    const char *rm = op_authz_req_param(p, "response_mode");
    unsigned set = 0;
    bool known = rt != NULL && op_client_response_type_parse(rt, strlen(rt), &set);
    bool tokens = known && (set & (OP_CLIENT_RT_ID_TOKEN | OP_CLIENT_RT_TOKEN)) != 0;
    int mode = rm != NULL ? OP_AUTHZ_REQ_INDEX(op_authz_req_modes, rm) : -1;

    out->response_type = known ? set : 0;
    out->response_type_str = rt;
    if (mode >= 0 && !(mode == OP_AUTHZ_MODE_QUERY && tokens))
        out->response_mode = (op_authz_mode_t)mode;
    else
        out->response_mode = tokens ? OP_AUTHZ_MODE_FRAGMENT : OP_AUTHZ_MODE_QUERY;
}

/* The checks of response_type and response_mode, resolved above. */
static int op_authz_req_type(op_authz_req_t *out, op_err_t *err)
{
    const op_params_t *p = &out->params;
    const char *rt = out->response_type_str;
    const char *rm = op_authz_req_param(p, "response_mode");
    unsigned set = out->response_type;
    bool known = set != 0;
    bool tokens = (set & (OP_CLIENT_RT_ID_TOKEN | OP_CLIENT_RT_TOKEN)) != 0;
    int mode = rm != NULL ? OP_AUTHZ_REQ_INDEX(op_authz_req_modes, rm) : -1;

    /* OIDC Core §6.1, §6.2: request objects are not supported (yet). */
    if (op_authz_req_param(p, "request") != NULL)
        return OP_AUTHZ_REQ_FAIL(err, "request_not_supported",
                                 "the request parameter is not supported");
    if (op_authz_req_param(p, "request_uri") != NULL)
        return OP_AUTHZ_REQ_FAIL(err, "request_uri_not_supported",
                                 "the request_uri parameter is not supported");
    if (rt == NULL)
        return OP_AUTHZ_REQ_FAIL(err, "invalid_request", "missing response_type");
    if (!known)
        return OP_AUTHZ_REQ_FAIL(err, "unsupported_response_type", "unsupported response_type");
    if (!op_authz_req_rt_registered(out->client, set))
        return OP_AUTHZ_REQ_FAIL(err, "unsupported_response_type",
                                 "response_type not registered for the client");
    if (rm != NULL && mode < 0)
        return OP_AUTHZ_REQ_FAIL(err, "invalid_request", "unsupported response_mode");
    if (mode == OP_AUTHZ_MODE_QUERY && tokens)
        return OP_AUTHZ_REQ_FAIL(err, "invalid_request",
                                 "response_mode query is not allowed for a response_type "
                                 "that returns tokens");
    return OP_OK;
}

/*
 * Scope and nonce. OpenID requests with an ID token need "openid" in the
 * scope (OIDC Core §3.1.2.1, §3.2.2.1) and a nonce (§3.2.2.1,
 * §3.3.2.11). A client with a registered scope may ask only for those
 * values (RFC 6749 §3.3: invalid_scope). A plain OAuth request may omit
 * the scope: the list is then empty.
 */
static int op_authz_req_scope(op_arena_t *a, op_authz_req_t *out, op_err_t *err)
{
    const char *scope = out->client->scope;
    int rc = op_authz_req_list_param(a, &out->params, "scope", "invalid_scope", &out->scope, err);

    if (rc != OP_OK)
        return rc;
    if ((out->response_type & OP_CLIENT_RT_ID_TOKEN) && !op_authz_req_has_scope(out, "openid"))
        return OP_AUTHZ_REQ_FAIL(err, "invalid_request",
                                 "the scope must contain openid for a response_type with id_token");
    for (size_t i = 0; scope != NULL && i < out->scope.n; i++) {
        const char *v = out->scope.items[i];

        if (!op_authz_req_listed(scope, v))
            return OP_AUTHZ_REQ_FAIL(err, "invalid_scope",
                                     "scope value '%.*s' is not registered for the client",
                                     OP_AUTHZ_REQ_SHOW_MAX, v);
    }
    out->nonce = op_authz_req_param(&out->params, "nonce");
    if ((out->response_type & OP_CLIENT_RT_ID_TOKEN) && out->nonce == NULL)
        return OP_AUTHZ_REQ_FAIL(err, "invalid_request",
                                 "missing nonce, required for a response_type with id_token");
    return OP_OK;
}

/* prompt (OIDC Core §3.1.2.1): known values; "none" alone; "create"
 * (Initiating User Registration §4) alone too (reference §2.1). */
static int op_authz_req_prompt(op_arena_t *a, op_authz_req_t *out, op_err_t *err)
{
    op_client_strs_t v;
    int rc = op_authz_req_list_param(a, &out->params, "prompt", "invalid_request", &v, err);

    if (rc != OP_OK)
        return rc;
    for (size_t i = 0; i < v.n; i++) {
        int k = OP_AUTHZ_REQ_INDEX(op_authz_req_prompts, v.items[i]);
        if (k < 0)
            return OP_AUTHZ_REQ_FAIL(err, "invalid_request", "unknown prompt value '%.*s'",
                                     OP_AUTHZ_REQ_SHOW_MAX, v.items[i]);
        out->prompt |= 1u << k;
    }
    if (v.n > 1 && (out->prompt & OP_AUTHZ_PROMPT_NONE))
        return OP_AUTHZ_REQ_FAIL(err, "invalid_request",
                                 "prompt none must not be combined with other values");
    if (v.n > 1 && (out->prompt & OP_AUTHZ_PROMPT_CREATE))
        return OP_AUTHZ_REQ_FAIL(err, "invalid_request",
                                 "prompt create must not be combined with other values");
    return OP_OK;
}

/* max_age, display, the lists, the hints and the claims parameter. */
static int op_authz_req_options(op_arena_t *a, op_authz_req_t *out, op_err_t *err)
{
    const op_params_t *p = &out->params;
    const char *max_age = op_authz_req_param(p, "max_age");
    const char *claims = op_authz_req_param(p, "claims");
    int rc;

    if (max_age != NULL &&
        !op_str_parse_i64(max_age, strlen(max_age), 0, OP_AUTHZ_MAX_AGE_MAX, &out->max_age))
        return OP_AUTHZ_REQ_FAIL(err, "invalid_request",
                                 "max_age must be a whole number of seconds from 0 to %d",
                                 OP_AUTHZ_MAX_AGE_MAX);
    out->display = op_authz_req_param(p, "display");
    if (out->display != NULL && OP_AUTHZ_REQ_INDEX(op_authz_req_displays, out->display) < 0)
        return OP_AUTHZ_REQ_FAIL(err, "invalid_request",
                                 "display must be page, popup, touch or wap");
    rc = op_authz_req_list_param(a, p, "ui_locales", "invalid_request", &out->ui_locales, err);
    if (rc == OP_OK)
        rc = op_authz_req_list_param(a, p, "claims_locales", "invalid_request",
                                     &out->claims_locales, err);
    if (rc == OP_OK)
        rc = op_authz_req_list_param(a, p, "acr_values", "invalid_request", &out->acr_values, err);
    if (rc != OP_OK)
        return rc;
    /* OIDC Registration §2: the client's default_max_age and
     * default_acr_values stand in for absent request values. */
    if (out->max_age < 0)
        out->max_age = out->client->default_max_age;
    if (out->acr_values.n == 0)
        out->acr_values = out->client->default_acr_values;
    out->id_token_hint = op_authz_req_param(p, "id_token_hint");
    out->login_hint = op_authz_req_param(p, "login_hint");
    if (claims == NULL)
        return OP_OK;
    rc = op_authz_claims_parse(a, claims, strlen(claims), &out->claims, err);
    if (rc != OP_OK)
        return rc;
    /* OIDC Core §5.5: userinfo claims need a response type that gets the
     * client an access token. */
    if (op_json_get(out->claims.json, "userinfo") != NULL &&
        !(out->response_type & (OP_CLIENT_RT_CODE | OP_CLIENT_RT_TOKEN)))
        return OP_AUTHZ_REQ_FAIL(err, "invalid_request",
                                 "claims: userinfo needs a response_type that issues an "
                                 "access token");
    return OP_OK;
}

/* code_challenge syntax: 43..128 characters of [A-Za-z0-9-._~]
 * (RFC 7636 §4.2). */
static bool op_authz_req_challenge_ok(const char *s)
{
    size_t len = strlen(s);

    if (len < 43 || len > 128)
        return false;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];

        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              c == '-' || c == '.' || c == '_' || c == '~'))
            return false;
    }
    return true;
}

/*
 * PKCE (RFC 7636). The method defaults to plain (§4.3), accepted only
 * when the policy allows it and the client did not register S256; S256
 * always. Public clients (RFC 8252 §8.1, OAuth 2.0 Security BCP §2.1.1)
 * and clients registered with code_challenge_method S256 must send a
 * challenge with a response type containing code.
 */
static int op_authz_req_pkce(const op_authz_policy_t *policy, op_authz_req_t *out, op_err_t *err)
{
    const op_client_t *c = out->client;
    const char *cc = op_authz_req_param(&out->params, "code_challenge");
    const char *ccm = op_authz_req_param(&out->params, "code_challenge_method");
    bool s256_only = op_str_eq(c->code_challenge_method, "S256");
    bool plain_ok = policy != NULL && policy->pkce_plain && !s256_only;

    if (cc == NULL) {
        if (ccm != NULL)
            return OP_AUTHZ_REQ_FAIL(err, "invalid_request",
                                     "code_challenge_method without code_challenge");
        if ((out->response_type & OP_CLIENT_RT_CODE) &&
            (s256_only || c->token_endpoint_auth_method == OP_CLIENT_AUTH_NONE))
            return OP_AUTHZ_REQ_FAIL(err, "invalid_request",
                                     "missing code_challenge: PKCE is required for the client");
        return OP_OK;
    }
    if (!op_authz_req_challenge_ok(cc))
        return OP_AUTHZ_REQ_FAIL(err, "invalid_request",
                                 "code_challenge must be 43 to 128 characters of "
                                 "[A-Za-z0-9-._~]");
    if (ccm == NULL)
        ccm = "plain";
    if (!(strcmp(ccm, "S256") == 0 || (strcmp(ccm, "plain") == 0 && plain_ok)))
        return OP_AUTHZ_REQ_FAIL(err, "invalid_request",
                                 plain_ok ? "code_challenge_method must be S256 or plain"
                                          : "code_challenge_method must be S256");
    out->code_challenge = cc;
    out->code_challenge_method = ccm;
    return OP_OK;
}

/*
 * A query the strict parse refused with rc (its error in error->err):
 * redirected as invalid_request when the client and its redirect_uri are
 * known good despite it (op_authz_req_salvage), else answered as is.
 */
static int op_authz_req_refused(op_arena_t *a, const op_authz_clients_t *clients,
                                op_authz_req_t *out, op_authz_error_t *error, int rc)
{
    op_err_t refused = error->err;
    bool known;

    if (op_authz_req_salvage(a, out, &known) != OP_OK)
        return OP_ERR_OAUTH(&error->err, OP_ETOOBIG, "invalid_request", 400,
                            "the query is too large for the request's arena");
    if (!known)
        return rc;
    int trc = op_authz_req_target(a, clients, out, &error->err);
    if (trc != OP_OK)
        return trc;
    out->state = op_authz_req_param(&out->params, "state");
    op_authz_req_mode(out);
    error->err = refused;
    error->redirectable = true;
    return rc;
}

/* See core/proto/op_authz_req.h. */
int op_authz_req_parse(op_arena_t *a, const char *query, size_t len,
                       const op_authz_clients_t *clients, const op_authz_policy_t *policy,
                       op_authz_req_t *out, op_authz_error_t *error)
{
    op_err_t *err = &error->err;
    int rc;

    memset(out, 0, sizeof(*out));
    out->max_age = -1;
    error->redirectable = false;
    op_err_clear(err);
    if (query == NULL && len > 0)
        return OP_AUTHZ_REQ_FAIL(err, "invalid_request", "missing query");
    out->query = op_arena_strndup(a, query != NULL ? query : "", len);
    out->query_len = len;
    if (out->query == NULL)
        return OP_ERR_OAUTH(err, OP_ETOOBIG, "invalid_request", 400,
                            "the query is too large for the request's arena");
    rc = op_params_parse(a, out->query, out->query_len, NULL, &out->params, err);
    if (rc != OP_OK)
        return op_authz_req_refused(a, clients, out, error, rc);
    rc = op_authz_req_target(a, clients, out, err);
    if (rc != OP_OK)
        return rc;

    /* From here on, errors go back to the client's redirect_uri. */
    out->state = op_authz_req_param(&out->params, "state");
    op_authz_req_mode(out);
    rc = op_authz_req_type(out, err);
    if (rc == OP_OK)
        rc = op_authz_req_scope(a, out, err);
    if (rc == OP_OK)
        rc = op_authz_req_prompt(a, out, err);
    if (rc == OP_OK)
        rc = op_authz_req_options(a, out, err);
    if (rc == OP_OK)
        rc = op_authz_req_pkce(policy, out, err);
    error->redirectable = rc != OP_OK;
    return rc;
}

bool op_authz_req_has_scope(const op_authz_req_t *req, const char *value)
{
    return req != NULL && value != NULL &&
           op_authz_req_among(req->scope.items, req->scope.n, value, strlen(value));
}

/* See core/proto/op_authz_req.h. */
bool op_authz_req_auth_ok(const op_authz_req_t *req, int64_t auth_time, bool for_it, int64_t now)
{
    if (((req->prompt & OP_AUTHZ_PROMPT_LOGIN) || req->max_age == 0) && !for_it)
        return false;
    return req->max_age <= 0 || now - auth_time <= req->max_age;
}

const char *op_authz_req_mode_name(op_authz_mode_t mode)
{
    return (size_t)mode < OP_NELEMS(op_authz_req_modes) ? op_authz_req_modes[mode] : "query";
}

/* See core/proto/op_authz_req.h: two passes over the scope, one per group. */
void op_authz_req_scope_prompt(const op_authz_req_t *req, const char *const *consented, size_t n,
                               op_json_w_t *w)
{
    op_json_w_obj_open(w);
    for (int pass = 0; pass < 2; pass++) {
        op_json_w_key(w, pass == 0 ? "new" : "consented");
        op_json_w_arr_open(w);
        for (size_t i = 0; i < req->scope.n; i++) {
            const char *v = req->scope.items[i];

            if (op_authz_req_among(consented, n, v, strlen(v)) == (pass == 1))
                op_json_w_str(w, v);
        }
        op_json_w_arr_close(w);
    }
    op_json_w_obj_close(w);
}
