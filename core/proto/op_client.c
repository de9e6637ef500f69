/*
 * core/proto/op_client.c - client metadata: validation, canonical JSON, the
 * clients file.
 *
 * A client object is checked in two passes: every known member must have
 * its JSON type (unknown members are set aside, untouched), then the
 * values are read and the rules of RFC 6749, RFC 7591, RFC 8252 and OIDC
 * Registration are applied (see core/proto/op_client.h). The client borrows its
 * strings and JSON values from the parsed tree; the arrays it needs are
 * allocated in the caller's arena.
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "core/proto/op_client.h"
#include "core/config/op_config.h"

#define OP_CLIENT_WHO_MAX      (OP_CONFIG_SHOW_MAX + 16)
#define OP_CLIENT_FILE_MEMBERS (1u << 18)

/* Indexed by bit number (OP_CLIENT_GRANT_*). */
static const char *const op_client_grant_names[] = {
    "authorization_code",
    "implicit",
    "refresh_token",
    "client_credentials",
    "password",
    "urn:ietf:params:oauth:grant-type:jwt-bearer",
    "urn:ietf:params:oauth:grant-type:saml2-bearer",
    "urn:ietf:params:oauth:grant-type:token-exchange",
    "urn:openid:params:grant-type:ciba",
};

/* Indexed by bit number (OP_CLIENT_RT_*). */
static const char *const op_client_rt_names[] = {"code", "id_token", "token", "none"};

/* Indexed by op_client_auth_t. */
static const char *const op_client_auth_names[] = {
    "client_secret_basic",
    "client_secret_post",
    "client_secret_jwt",
    "private_key_jwt",
    "none",
    "tls_client_auth",
    "self_signed_tls_client_auth",
};

static const char *const op_client_app_names[] = {"web", "native"};
static const char *const op_client_sub_names[] = {"public", "pairwise"};

typedef enum {
    OP_CLIENT_T_STR = 0,
    OP_CLIENT_T_STRS,
    OP_CLIENT_T_BOOL,
    OP_CLIENT_T_INT
} op_client_type_t;

/* The known members and their JSON types. */
static const struct {
    const char *name;
    op_client_type_t type;
} op_client_fields[] = {
    {"client_id", OP_CLIENT_T_STR},
    {"client_secret", OP_CLIENT_T_STR},
    {"client_name", OP_CLIENT_T_STR},
    {"redirect_uris", OP_CLIENT_T_STRS},
    {"grant_types", OP_CLIENT_T_STRS},
    {"response_types", OP_CLIENT_T_STRS},
    {"token_endpoint_auth_method", OP_CLIENT_T_STR},
    {"application_type", OP_CLIENT_T_STR},
    {"scope", OP_CLIENT_T_STR},
    {"id_token_signed_response_alg", OP_CLIENT_T_STR},
    {"userinfo_signed_response_alg", OP_CLIENT_T_STR},
    {"subject_type", OP_CLIENT_T_STR},
    {"contacts", OP_CLIENT_T_STRS},
    {"logo_uri", OP_CLIENT_T_STR},
    {"client_uri", OP_CLIENT_T_STR},
    {"policy_uri", OP_CLIENT_T_STR},
    {"tos_uri", OP_CLIENT_T_STR},
    {"default_max_age", OP_CLIENT_T_INT},
    {"require_auth_time", OP_CLIENT_T_BOOL},
    {"default_acr_values", OP_CLIENT_T_STRS},
    {"require_pushed_authorization_requests", OP_CLIENT_T_BOOL},
    {"code_challenge_method", OP_CLIENT_T_STR},
};

/* What the server serves: the token endpoint's grants and the implicit
 * grant of the authorisation session API. */
#define OP_CLIENT_GRANTS_SERVED                                                                    \
    (OP_CLIENT_GRANT_AUTHORIZATION_CODE | OP_CLIENT_GRANT_IMPLICIT | OP_CLIENT_GRANT_REFRESH_TOKEN)

#define OP_CLIENT_NO_LOGOUT         "logout is not implemented yet"
#define OP_CLIENT_NO_REQUEST_OBJECT "request objects are not implemented yet"
#define OP_CLIENT_NO_ENCRYPTION     "encrypted responses are not implemented yet"
#define OP_CLIENT_NO_MTLS           "mutual TLS is not implemented yet"
#define OP_CLIENT_NO_CIBA           "CIBA is not implemented yet"

/* Registered metadata (RFC 7591 §2, OIDC Registration §2, and the
 * extensions' registrations) the server does not implement: refused at
 * load, because keeping them as unknown members would accept a client's
 * expectation and then ignore it. */
static const struct {
    const char *name;
    const char *why;
} op_client_refused[] = {
    {"sector_identifier_uri",
     "a sector_identifier_uri must be fetched and its redirect URIs checked (OIDC Registration "
     "§5), which loading at start does not do; the sector is the host of the redirect URIs"},
    {"jwks", "nothing uses client keys yet (private_key_jwt, request objects, encryption)"},
    {"jwks_uri", "nothing uses client keys yet (private_key_jwt, request objects, encryption)"},
    {"software_statement", "software statements (RFC 7591 §2.3) are not verified"},
    {"request_uris", "the request_uri parameter is not implemented yet"},
    {"request_object_signing_alg", OP_CLIENT_NO_REQUEST_OBJECT},
    {"request_object_encryption_alg", OP_CLIENT_NO_REQUEST_OBJECT},
    {"request_object_encryption_enc", OP_CLIENT_NO_REQUEST_OBJECT},
    {"require_signed_request_object", OP_CLIENT_NO_REQUEST_OBJECT},
    {"token_endpoint_auth_signing_alg", "JWT client authentication is not implemented yet"},
    {"id_token_encrypted_response_alg", OP_CLIENT_NO_ENCRYPTION},
    {"id_token_encrypted_response_enc", OP_CLIENT_NO_ENCRYPTION},
    {"userinfo_encrypted_response_alg", OP_CLIENT_NO_ENCRYPTION},
    {"userinfo_encrypted_response_enc", OP_CLIENT_NO_ENCRYPTION},
    {"authorization_signed_response_alg", "JARM responses are not implemented yet"},
    {"authorization_encrypted_response_alg", OP_CLIENT_NO_ENCRYPTION},
    {"authorization_encrypted_response_enc", OP_CLIENT_NO_ENCRYPTION},
    {"introspection_signed_response_alg", "token introspection is not implemented yet"},
    {"introspection_encrypted_response_alg", OP_CLIENT_NO_ENCRYPTION},
    {"introspection_encrypted_response_enc", OP_CLIENT_NO_ENCRYPTION},
    {"tls_client_auth_subject_dn", OP_CLIENT_NO_MTLS},
    {"tls_client_auth_san_dns", OP_CLIENT_NO_MTLS},
    {"tls_client_auth_san_uri", OP_CLIENT_NO_MTLS},
    {"tls_client_auth_san_ip", OP_CLIENT_NO_MTLS},
    {"tls_client_auth_san_email", OP_CLIENT_NO_MTLS},
    {"tls_client_certificate_bound_access_tokens", OP_CLIENT_NO_MTLS},
    {"dpop_bound_access_tokens", "DPoP is not implemented yet"},
    {"authorization_details_types", "rich authorisation requests are not implemented yet"},
    {"post_logout_redirect_uris", OP_CLIENT_NO_LOGOUT},
    {"backchannel_logout_uri", OP_CLIENT_NO_LOGOUT},
    {"backchannel_logout_session_required", OP_CLIENT_NO_LOGOUT},
    {"frontchannel_logout_uri", OP_CLIENT_NO_LOGOUT},
    {"frontchannel_logout_session_required", OP_CLIENT_NO_LOGOUT},
    {"backchannel_token_delivery_mode", OP_CLIENT_NO_CIBA},
    {"backchannel_client_notification_endpoint", OP_CLIENT_NO_CIBA},
    {"backchannel_authentication_request_signing_alg", OP_CLIENT_NO_CIBA},
    {"backchannel_user_code_parameter", OP_CLIENT_NO_CIBA},
};

/* Validation state of one client. */
typedef struct op_client_ctx {
    op_arena_t *a;
    const op_json_t *obj;
    op_client_t *c;
    char who[OP_CLIENT_WHO_MAX]; /* "client \"id\"" or the caller's where */
    op_err_t *err;
} op_client_ctx_t;

#define OP_CLIENT_NO_INDEX SIZE_MAX

/* Fail with "<who>: <field>[<index>]: <message>". */
static int op_client_fail(op_client_ctx_t *x, const char *field, size_t index, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int op_client_fail(op_client_ctx_t *x, const char *field, size_t index, const char *fmt, ...)
{
    char msg[OP_ERR_DESC_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (index == OP_CLIENT_NO_INDEX)
        return OP_ERR(x->err, OP_EINVAL, "%s: %s: %s", x->who, field, msg);
    return OP_ERR(x->err, OP_EINVAL, "%s: %s[%zu]: %s", x->who, field, index, msg);
}

/* Position of s[0..len) in names, -1 when absent. */
static int op_client_name_index(const char *const *names, size_t n, const char *s, size_t len)
{
    for (size_t i = 0; i < n; i++) {
        if (strlen(names[i]) == len && memcmp(names[i], s, len) == 0)
            return (int)i;
    }
    return -1;
}

unsigned op_client_grant_parse(const char *name, size_t len)
{
    int i =
        op_client_name_index(op_client_grant_names, OP_NELEMS(op_client_grant_names), name, len);
    return i < 0 ? 0 : 1u << i;
}

bool op_client_response_type_parse(const char *s, size_t len, unsigned *out)
{
    unsigned set = 0;
    size_t i = 0;
    for (;;) {
        size_t start = i;
        while (i < len && s[i] != ' ')
            i++;
        int k = op_client_name_index(op_client_rt_names, OP_NELEMS(op_client_rt_names), s + start,
                                     i - start);
        if (k < 0 || (set & (1u << k)))
            return false;
        set |= 1u << k;
        if (i == len)
            break;
        i++; /* one space; another one, or a trailing one, fails above */
    }
    if ((set & OP_CLIENT_RT_NONE) && set != OP_CLIENT_RT_NONE)
        return false;
    *out = set;
    return true;
}

/* ---- pass 1: JSON types -------------------------------------------------- */

static int op_client_field_index(const char *name)
{
    for (size_t i = 0; i < OP_NELEMS(op_client_fields); i++) {
        if (strcmp(op_client_fields[i].name, name) == 0)
            return (int)i;
    }
    return -1;
}

/* Check the type of every known member; set the unknown ones aside. */
static int op_client_check_types(op_client_ctx_t *x)
{
    const op_json_t *obj = x->obj;
    size_t n = obj->u.obj.n;
    const char **names = op_arena_calloc(x->a, n + 1, sizeof(*names));
    const op_json_t **vals = op_arena_calloc(x->a, n + 1, sizeof(*vals));
    if (names == NULL || vals == NULL)
        return OP_ERR(x->err, OP_ETOOBIG, "client metadata too large");
    for (size_t i = 0; i < n; i++) {
        const char *name = obj->u.obj.keys[i];
        const op_json_t *v = obj->u.obj.vals[i];
        for (size_t k = 0; k < OP_NELEMS(op_client_refused); k++) {
            if (strcmp(op_client_refused[k].name, name) == 0)
                return op_client_fail(x, name, OP_CLIENT_NO_INDEX, "not supported: %s",
                                      op_client_refused[k].why);
        }
        int f = op_client_field_index(name);
        if (f < 0) {
            names[x->c->n_extra] = name;
            vals[x->c->n_extra++] = v;
            continue;
        }
        switch (op_client_fields[f].type) {
        case OP_CLIENT_T_STR:
            if (!op_json_is(v, OP_JSON_STRING))
                return op_client_fail(x, name, OP_CLIENT_NO_INDEX, "must be a string");
            break;
        case OP_CLIENT_T_STRS:
            if (!op_json_is(v, OP_JSON_ARRAY))
                return op_client_fail(x, name, OP_CLIENT_NO_INDEX, "must be an array of strings");
            for (size_t j = 0; j < v->u.arr.n; j++) {
                if (!op_json_is(v->u.arr.items[j], OP_JSON_STRING))
                    return op_client_fail(x, name, j, "must be a string");
            }
            break;
        case OP_CLIENT_T_BOOL:
            if (!op_json_is(v, OP_JSON_TRUE) && !op_json_is(v, OP_JSON_FALSE))
                return op_client_fail(x, name, OP_CLIENT_NO_INDEX, "must be true or false");
            break;
        case OP_CLIENT_T_INT:
            if (!op_json_is(v, OP_JSON_NUMBER) || !v->u.num.is_int)
                return op_client_fail(x, name, OP_CLIENT_NO_INDEX, "must be an integer");
            break;
        }
    }
    x->c->extra_names = names;
    x->c->extra_values = vals;
    return OP_OK;
}

/* A string list member (type already checked), borrowed from the tree. */
static int op_client_strs(op_client_ctx_t *x, const char *name, op_client_strs_t *out)
{
    const op_json_t *v = op_json_get(x->obj, name);
    out->items = NULL;
    out->n = 0;
    if (v == NULL)
        return OP_OK;
    const char **items = op_arena_calloc(x->a, v->u.arr.n + 1, sizeof(*items));
    if (items == NULL)
        return OP_ERR(x->err, OP_ETOOBIG, "client metadata too large");
    for (size_t i = 0; i < v->u.arr.n; i++)
        items[i] = v->u.arr.items[i]->u.str.s;
    out->items = items;
    out->n = v->u.arr.n;
    return OP_OK;
}

/* An enumerated string member: its index in names, def when absent. */
static int op_client_enum(op_client_ctx_t *x, const char *name, const char *const *names, size_t n,
                          int def, int *out)
{
    const char *s = op_json_get_str(x->obj, name);
    *out = def;
    if (s == NULL)
        return OP_OK;
    int i = op_client_name_index(names, n, s, strlen(s));
    if (i < 0) {
        char allowed[256] = "";
        for (size_t k = 0; k < n; k++)
            snprintf(allowed + strlen(allowed), sizeof(allowed) - strlen(allowed), "%s%s",
                     k > 0 ? ", " : "", names[k]);
        return op_client_fail(x, name, OP_CLIENT_NO_INDEX, "unknown value \"%.*s\" (use %s)",
                              op_config_show_len(s, strlen(s)), s, allowed);
    }
    *out = i;
    return OP_OK;
}

/* ---- pass 2: values and rules -------------------------------------------- */

/* client_id: 1..128 printable ASCII, no spaces; checked first, so that
 * every later error names the client. */
static int op_client_id(op_client_ctx_t *x)
{
    const op_json_t *v = op_json_get(x->obj, "client_id");
    if (v == NULL)
        return op_client_fail(x, "client_id", OP_CLIENT_NO_INDEX, "required");
    if (!op_json_is(v, OP_JSON_STRING))
        return op_client_fail(x, "client_id", OP_CLIENT_NO_INDEX, "must be a string");
    const char *id = v->u.str.s;
    size_t n = v->u.str.len;
    bool ok = n >= 1 && n <= OP_CLIENT_ID_MAX;
    for (size_t i = 0; ok && i < n; i++)
        ok = id[i] > ' ' && id[i] <= '~';
    if (!ok)
        return op_client_fail(x, "client_id", OP_CLIENT_NO_INDEX,
                              "must be 1 to %d printable ASCII characters without spaces",
                              OP_CLIENT_ID_MAX);
    x->c->client_id = id;
    snprintf(x->who, sizeof(x->who), "client \"%.*s%s\"", OP_CONFIG_SHOW_MAX, id,
             n > OP_CONFIG_SHOW_MAX ? "..." : "");
    return OP_OK;
}

/* grant_types and response_types, with their defaults and their
 * consistency (RFC 7591 §2.1). */
static int op_client_flows(op_client_ctx_t *x)
{
    op_client_t *c = x->c;
    const op_json_t *g = op_json_get(x->obj, "grant_types");
    const op_json_t *r = op_json_get(x->obj, "response_types");
    c->grant_types = OP_CLIENT_GRANT_AUTHORIZATION_CODE;
    if (g != NULL) {
        if (g->u.arr.n == 0)
            return op_client_fail(x, "grant_types", OP_CLIENT_NO_INDEX, "must not be empty");
        c->grant_types = 0;
        for (size_t i = 0; i < g->u.arr.n; i++) {
            const op_json_t *s = g->u.arr.items[i];
            unsigned bit = op_client_grant_parse(s->u.str.s, s->u.str.len);
            if (bit == 0)
                return op_client_fail(x, "grant_types", i, "unknown grant type \"%.*s\"",
                                      op_config_show_len(s->u.str.s, s->u.str.len), s->u.str.s);
            if (c->grant_types & bit)
                return op_client_fail(x, "grant_types", i, "repeated");
            if (!(bit & OP_CLIENT_GRANTS_SERVED))
                return op_client_fail(x, "grant_types", i,
                                      "\"%s\" is not supported (authorization_code, implicit and "
                                      "refresh_token are)",
                                      s->u.str.s);
            c->grant_types |= bit;
        }
    }
    size_t n = r != NULL ? r->u.arr.n : 1;
    unsigned *rts = op_arena_calloc(x->a, n + 1, sizeof(*rts));
    if (rts == NULL)
        return OP_ERR(x->err, OP_ETOOBIG, "client metadata too large");
    rts[0] = OP_CLIENT_RT_CODE;
    for (size_t i = 0; r != NULL && i < n; i++) {
        const op_json_t *s = r->u.arr.items[i];
        if (!op_client_response_type_parse(s->u.str.s, s->u.str.len, &rts[i]))
            return op_client_fail(x, "response_types", i, "unknown response type \"%.*s\"",
                                  op_config_show_len(s->u.str.s, s->u.str.len), s->u.str.s);
        for (size_t j = 0; j < i; j++) {
            if (rts[j] == rts[i])
                return op_client_fail(x, "response_types", i, "repeated");
        }
        if ((rts[i] & OP_CLIENT_RT_CODE) && !(c->grant_types & OP_CLIENT_GRANT_AUTHORIZATION_CODE))
            return op_client_fail(x, "response_types", i,
                                  "\"%s\" needs the authorization_code grant type", s->u.str.s);
        if ((rts[i] & (OP_CLIENT_RT_ID_TOKEN | OP_CLIENT_RT_TOKEN)) &&
            !(c->grant_types & OP_CLIENT_GRANT_IMPLICIT))
            return op_client_fail(x, "response_types", i, "\"%s\" needs the implicit grant type",
                                  s->u.str.s);
    }
    if (r == NULL && !(c->grant_types & OP_CLIENT_GRANT_AUTHORIZATION_CODE))
        return op_client_fail(x, "response_types", OP_CLIENT_NO_INDEX,
                              "the default [\"code\"] "
                              "needs the authorization_code grant type; set [] for none");
    c->response_types = rts;
    c->n_response_types = n;
    return OP_OK;
}

/* Does query q carry parameter name? */
static bool op_client_query_has(op_str_t q, const char *name)
{
    size_t i = 0;
    while (i < q.len) {
        size_t start = i;
        while (i < q.len && q.ptr[i] != '&')
            i++;
        size_t end = start;
        while (end < i && q.ptr[end] != '=')
            end++;
        if (op_str_is((op_str_t){q.ptr + start, end - start}, name))
            return true;
        i++;
    }
    return false;
}

/* One redirect URI. */
static int op_client_redirect(op_client_ctx_t *x, const char *field, size_t i, const char *uri,
                              bool implicit)
{
    static const char *const reserved[] = {"code", "state", "response"};
    op_config_url_t u;
    if (!op_config_url_parse(uri, strlen(uri), &u))
        return op_client_fail(x, field, i, "must be an absolute URI");
    if (u.has_fragment)
        return op_client_fail(x, field, i, "must not have a fragment");
    if (u.has_userinfo)
        return op_client_fail(x, field, i, "must not contain user info (user@host)");
    for (size_t k = 0; u.has_query && k < OP_NELEMS(reserved); k++) {
        if (op_client_query_has(u.query, reserved[k]))
            return op_client_fail(x, field, i, "must not have a \"%s\" query parameter",
                                  reserved[k]);
    }
    bool https = op_config_url_scheme_is(&u, "https");
    bool http = op_config_url_scheme_is(&u, "http");
    if ((https || http) && !u.has_authority)
        return op_client_fail(x, field, i, "must have a host");
    if (x->c->application_type == OP_CLIENT_APP_NATIVE) {
        if (http && !op_config_url_is_loopback(&u, false))
            return op_client_fail(x, field, i,
                                  "native clients may use http only with a "
                                  "loopback IP (127.0.0.1 or [::1]), not localhost "
                                  "(RFC 8252 §7.3, §8.3)");
        if (!https && !http && memchr(u.scheme.ptr, '.', u.scheme.len) == NULL)
            return op_client_fail(x, field, i,
                                  "a custom scheme must be reverse-DNS style, "
                                  "e.g. com.example.app:/callback (RFC 8252 §7.1)");
        return OP_OK;
    }
    if (!https && !(http && op_config_url_is_loopback(&u, true)))
        return op_client_fail(x, field, i,
                              "web clients must use https (http only with a loopback host)");
    if (implicit && (!https || op_config_url_is_loopback(&u, true)))
        return op_client_fail(x, field, i,
                              "web clients using the implicit grant must use "
                              "https and not localhost");
    return OP_OK;
}

static int op_client_redirects(op_client_ctx_t *x)
{
    op_client_t *c = x->c;
    bool implicit = (c->grant_types & OP_CLIENT_GRANT_IMPLICIT) != 0;
    int rc;
    if ((rc = op_client_strs(x, "redirect_uris", &c->redirect_uris)) != OP_OK)
        return rc;
    if ((c->grant_types & (OP_CLIENT_GRANT_AUTHORIZATION_CODE | OP_CLIENT_GRANT_IMPLICIT)) &&
        c->redirect_uris.n == 0)
        return op_client_fail(x, "redirect_uris", OP_CLIENT_NO_INDEX,
                              "at least one is "
                              "required for the authorization_code and implicit grants");
    for (size_t i = 0; i < c->redirect_uris.n; i++) {
        if ((rc = op_client_redirect(x, "redirect_uris", i, c->redirect_uris.items[i], implicit)) !=
            OP_OK)
            return rc;
    }
    return OP_OK;
}

/* Client authentication: the method (one the token endpoint implements,
 * core/proto/op_client_auth.c) and the secret. */
static int op_client_auth(op_client_ctx_t *x)
{
    op_client_t *c = x->c;
    int m;
    int rc =
        op_client_enum(x, "token_endpoint_auth_method", op_client_auth_names,
                       OP_NELEMS(op_client_auth_names), OP_CLIENT_AUTH_CLIENT_SECRET_BASIC, &m);
    if (rc != OP_OK)
        return rc;
    if (m != OP_CLIENT_AUTH_CLIENT_SECRET_BASIC && m != OP_CLIENT_AUTH_CLIENT_SECRET_POST &&
        m != OP_CLIENT_AUTH_NONE)
        return op_client_fail(x, "token_endpoint_auth_method", OP_CLIENT_NO_INDEX,
                              "\"%s\" is not supported (client_secret_basic, client_secret_post "
                              "and none are)",
                              op_client_auth_names[m]);
    c->token_endpoint_auth_method = (op_client_auth_t)m;
    c->client_secret = op_json_get_str(x->obj, "client_secret");
    if (c->client_secret != NULL && c->client_secret[0] == '\0')
        return op_client_fail(x, "client_secret", OP_CLIENT_NO_INDEX, "must not be empty");
    if (m != OP_CLIENT_AUTH_NONE && c->client_secret == NULL)
        return op_client_fail(x, "client_secret", OP_CLIENT_NO_INDEX, "required for %s",
                              op_client_auth_names[m]);
    if (m == OP_CLIENT_AUTH_NONE && c->client_secret != NULL)
        return op_client_fail(x, "client_secret", OP_CLIENT_NO_INDEX,
                              "must not be set for "
                              "a public client (token_endpoint_auth_method none)");
    return OP_OK;
}

/* An absolute http(s) URL member. */
static int op_client_url(op_client_ctx_t *x, const char *name, const char **out)
{
    op_config_url_t u;
    const char *s = op_json_get_str(x->obj, name);
    *out = s;
    if (s == NULL)
        return OP_OK;
    bool ok = op_config_url_parse(s, strlen(s), &u) && u.has_authority;
    if (!ok || !(op_config_url_scheme_is(&u, "https") || op_config_url_scheme_is(&u, "http")))
        return op_client_fail(x, name, OP_CLIENT_NO_INDEX, "must be an absolute http(s) URL");
    return OP_OK;
}

/*
 * The sector identifier of a pairwise client (OIDC Core §8.1): without a
 * sector_identifier_uri, the host of its redirect URIs, so they must all
 * have one and the same host (compared without case), kept in lower case.
 */
static int op_client_sector(op_client_ctx_t *x)
{
    op_client_t *c = x->c;
    op_str_t host = {NULL, 0};
    if (c->redirect_uris.n == 0)
        return op_client_fail(x, "subject_type", OP_CLIENT_NO_INDEX,
                              "pairwise needs redirect_uris: their host is the sector "
                              "identifier (OIDC Core §8.1)");
    for (size_t i = 0; i < c->redirect_uris.n; i++) {
        op_config_url_t u;
        const char *uri = c->redirect_uris.items[i];
        if (!op_config_url_parse(uri, strlen(uri), &u) || !u.has_authority)
            return op_client_fail(x, "redirect_uris", i,
                                  "pairwise needs a host in every redirect URI (the sector "
                                  "identifier, OIDC Core §8.1)");
        if (i > 0 && (u.host.len != host.len || strncasecmp(u.host.ptr, host.ptr, host.len) != 0))
            return op_client_fail(x, "redirect_uris", i,
                                  "a pairwise client's redirect URIs must share one host, "
                                  "the sector identifier (OIDC Core §8.1; "
                                  "sector_identifier_uri is not supported)");
        host = u.host;
    }
    char *sector = op_arena_strndup(x->a, host.ptr, host.len);
    if (sector == NULL)
        return OP_ERR(x->err, OP_ETOOBIG, "client metadata too large");
    for (char *p = sector; *p != '\0'; p++)
        *p = (char)tolower((unsigned char)*p);
    c->sector_id = sector;
    return OP_OK;
}

/* An algorithm member: one the server signs with; OP_JWS_NONE if absent. */
static int op_client_alg(op_client_ctx_t *x, const char *name, op_jws_alg_t *out)
{
    const char *s = op_json_get_str(x->obj, name);
    *out = OP_JWS_NONE;
    if (s == NULL)
        return OP_OK;
    *out = op_keys_jws_alg_parse(s, strlen(s));
    if (!op_config_jws_alg_ok(*out))
        return op_client_fail(x, name, OP_CLIENT_NO_INDEX,
                              "unsupported algorithm \"%.*s\" (use RS256, PS256, ES256, EdDSA)",
                              op_config_show_len(s, strlen(s)), s);
    return OP_OK;
}

/* scope: scope tokens (RFC 6749 §3.3 NQCHAR) separated by single spaces. */
static int op_client_scope(op_client_ctx_t *x)
{
    const char *s = op_json_get_str(x->obj, "scope");
    x->c->scope = s;
    if (s == NULL)
        return OP_OK;
    size_t n = strlen(s);
    bool ok = n > 0 && s[0] != ' ' && s[n - 1] != ' ';
    for (size_t i = 0; ok && i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        ok = (ch == ' ' && s[i + 1] != ' ') ||
             (ch == 0x21 || (ch >= 0x23 && ch <= 0x5b) || (ch >= 0x5d && ch <= 0x7e));
    }
    if (!ok)
        return op_client_fail(x, "scope", OP_CLIENT_NO_INDEX,
                              "must be scope tokens separated by single spaces (RFC 6749 §3.3)");
    return OP_OK;
}

/* The remaining members. */
static int op_client_misc(op_client_ctx_t *x)
{
    op_client_t *c = x->c;
    const char *pkce = op_json_get_str(x->obj, "code_challenge_method");
    bool par = false;
    int sub, rc;
    c->client_name = op_json_get_str(x->obj, "client_name");
    if ((rc = op_client_scope(x)) != OP_OK ||
        (rc = op_client_url(x, "logo_uri", &c->logo_uri)) != OP_OK ||
        (rc = op_client_url(x, "client_uri", &c->client_uri)) != OP_OK ||
        (rc = op_client_url(x, "policy_uri", &c->policy_uri)) != OP_OK ||
        (rc = op_client_url(x, "tos_uri", &c->tos_uri)) != OP_OK ||
        (rc = op_client_alg(x, "id_token_signed_response_alg", &c->id_token_signed_response_alg)) !=
            OP_OK ||
        (rc = op_client_alg(x, "userinfo_signed_response_alg", &c->userinfo_signed_response_alg)) !=
            OP_OK ||
        (rc = op_client_enum(x, "subject_type", op_client_sub_names, OP_NELEMS(op_client_sub_names),
                             OP_CLIENT_SUB_PUBLIC, &sub)) != OP_OK ||
        (rc = op_client_strs(x, "contacts", &c->contacts)) != OP_OK ||
        (rc = op_client_strs(x, "default_acr_values", &c->default_acr_values)) != OP_OK)
        return rc;
    c->subject_type = (op_client_sub_t)sub;
    if (c->subject_type == OP_CLIENT_SUB_PAIRWISE && (rc = op_client_sector(x)) != OP_OK)
        return rc;
    if (pkce != NULL && strcmp(pkce, "S256") != 0)
        return op_client_fail(x, "code_challenge_method", OP_CLIENT_NO_INDEX,
                              "must be S256 (plain is not supported)");
    c->code_challenge_method = pkce;
    c->default_max_age = -1;
    if (op_json_get_int(x->obj, "default_max_age", &c->default_max_age) &&
        (c->default_max_age < 0 || c->default_max_age > INT32_MAX))
        return op_client_fail(x, "default_max_age", OP_CLIENT_NO_INDEX, "must be 0 to %d seconds",
                              INT32_MAX);
    op_json_get_bool(x->obj, "require_auth_time", &c->require_auth_time);
    op_json_get_bool(x->obj, "require_pushed_authorization_requests", &par);
    if (par)
        return op_client_fail(x, "require_pushed_authorization_requests", OP_CLIENT_NO_INDEX,
                              "not supported until pushed authorisation requests (RFC 9126) "
                              "are implemented");
    return OP_OK;
}

int op_client_from_json(op_arena_t *a, const op_json_t *obj, const char *where, op_client_t *out,
                        op_err_t *err)
{
    op_client_ctx_t x = {.a = a, .obj = obj, .c = out, .err = err};
    int app, rc;
    memset(out, 0, sizeof(*out));
    snprintf(x.who, sizeof(x.who), "%s", where != NULL ? where : "client");
    if (!op_json_is(obj, OP_JSON_OBJECT))
        return OP_ERR(err, OP_EINVAL, "%s: must be a JSON object", x.who);
    if ((rc = op_client_id(&x)) != OP_OK || (rc = op_client_check_types(&x)) != OP_OK ||
        (rc = op_client_enum(&x, "application_type", op_client_app_names,
                             OP_NELEMS(op_client_app_names), OP_CLIENT_APP_WEB, &app)) != OP_OK)
        return rc;
    out->application_type = (op_client_app_t)app;
    if ((rc = op_client_flows(&x)) != OP_OK || (rc = op_client_redirects(&x)) != OP_OK ||
        (rc = op_client_auth(&x)) != OP_OK || (rc = op_client_misc(&x)) != OP_OK)
        return rc;
    return OP_OK;
}

int op_client_parse(op_arena_t *a, const char *json, size_t len, op_client_t *out, op_err_t *err)
{
    static const op_json_limits_t lim = {OP_CLIENT_FILE_MAX, OP_CLIENT_FILE_DEPTH,
                                         OP_CLIENT_FILE_MEMBERS};
    op_json_t *obj = NULL;
    int rc = op_json_parse(a, json, len, &lim, &obj, err);
    if (rc != OP_OK)
        return rc;
    return op_client_from_json(a, obj, NULL, out, err);
}

/* ---- canonical JSON ------------------------------------------------------ */

static void op_client_w_strs(op_json_w_t *w, const char *key, op_client_strs_t s)
{
    if (s.n == 0)
        return;
    op_json_w_key(w, key);
    op_json_w_arr_open(w);
    for (size_t i = 0; i < s.n; i++)
        op_json_w_str(w, s.items[i]);
    op_json_w_arr_close(w);
}

static void op_client_w_opt(op_json_w_t *w, const char *key, const char *s)
{
    if (s != NULL)
        op_json_w_kstr(w, key, s);
}

static void op_client_w_true(op_json_w_t *w, const char *key, bool b)
{
    if (b)
        op_json_w_kbool(w, key, true);
}

static void op_client_w_flows(op_json_w_t *w, const op_client_t *c)
{
    op_json_w_key(w, "grant_types");
    op_json_w_arr_open(w);
    for (size_t i = 0; i < OP_NELEMS(op_client_grant_names); i++) {
        if (c->grant_types & (1u << i))
            op_json_w_str(w, op_client_grant_names[i]);
    }
    op_json_w_arr_close(w);
    op_json_w_key(w, "response_types");
    op_json_w_arr_open(w);
    for (size_t i = 0; i < c->n_response_types; i++) {
        char rt[32] = "";
        for (size_t k = 0; k < OP_NELEMS(op_client_rt_names); k++) {
            if (c->response_types[i] & (1u << k))
                snprintf(rt + strlen(rt), sizeof(rt) - strlen(rt), "%s%s", rt[0] ? " " : "",
                         op_client_rt_names[k]);
        }
        op_json_w_str(w, rt);
    }
    op_json_w_arr_close(w);
}

int op_client_to_json(const op_client_t *c, op_arena_t *a, const char **out, size_t *len,
                      op_err_t *err)
{
    op_json_w_t *w = op_json_w_new(a, false);
    if (w == NULL)
        return OP_ERR(err, OP_ETOOBIG, "client metadata too large");
    op_json_w_obj_open(w);
    op_json_w_kstr(w, "client_id", c->client_id);
    op_client_w_opt(w, "client_secret", c->client_secret);
    op_client_w_opt(w, "client_name", c->client_name);
    op_client_w_strs(w, "redirect_uris", c->redirect_uris);
    op_client_w_flows(w, c);
    op_json_w_kstr(w, "token_endpoint_auth_method",
                   op_client_auth_names[c->token_endpoint_auth_method]);
    op_json_w_kstr(w, "application_type", op_client_app_names[c->application_type]);
    op_client_w_opt(w, "scope", c->scope);
    if (c->id_token_signed_response_alg != OP_JWS_NONE)
        op_json_w_kstr(w, "id_token_signed_response_alg",
                       op_keys_jws_alg_name(c->id_token_signed_response_alg));
    if (c->userinfo_signed_response_alg != OP_JWS_NONE)
        op_json_w_kstr(w, "userinfo_signed_response_alg",
                       op_keys_jws_alg_name(c->userinfo_signed_response_alg));
    op_json_w_kstr(w, "subject_type", op_client_sub_names[c->subject_type]);
    op_client_w_strs(w, "contacts", c->contacts);
    op_client_w_opt(w, "logo_uri", c->logo_uri);
    op_client_w_opt(w, "client_uri", c->client_uri);
    op_client_w_opt(w, "policy_uri", c->policy_uri);
    op_client_w_opt(w, "tos_uri", c->tos_uri);
    if (c->default_max_age >= 0)
        op_json_w_kint(w, "default_max_age", c->default_max_age);
    op_client_w_true(w, "require_auth_time", c->require_auth_time);
    op_client_w_strs(w, "default_acr_values", c->default_acr_values);
    op_client_w_opt(w, "code_challenge_method", c->code_challenge_method);
    for (size_t i = 0; i < c->n_extra; i++) {
        op_json_w_key(w, c->extra_names[i]);
        op_json_w_value(w, c->extra_values[i]);
    }
    op_json_w_obj_close(w);
    return op_json_w_finish(w, out, len, err);
}

/* ---- the rules against the configuration --------------------------------- */

/* A signing algorithm member: unset, or one of op.idToken.jwsAlgs. */
static bool op_client_alg_offered(op_jws_alg_t alg, const op_config_t *cfg)
{
    for (size_t i = 0; i < cfg->n_id_token_algs; i++) {
        if (cfg->id_token_algs[i] == alg)
            return true;
    }
    return alg == OP_JWS_NONE;
}

int op_client_check_config(const op_client_t *clients, size_t n, const op_config_t *cfg,
                           op_err_t *err)
{
    for (size_t i = 0; i < n; i++) {
        const op_client_t *c = &clients[i];
        const struct {
            const char *name;
            op_jws_alg_t alg;
        } algs[] = {{"id_token_signed_response_alg", c->id_token_signed_response_alg},
                    {"userinfo_signed_response_alg", c->userinfo_signed_response_alg}};
        if (c->subject_type == OP_CLIENT_SUB_PAIRWISE && !cfg->pairwise_key_set)
            return OP_ERR(err, OP_EINVAL,
                          "client \"%.*s\": subject_type: pairwise needs "
                          "op.subject.pairwiseKey (OIDC Core §8.1)",
                          OP_CONFIG_SHOW_MAX, c->client_id);
        for (size_t k = 0; k < OP_NELEMS(algs); k++) {
            if (!op_client_alg_offered(algs[k].alg, cfg))
                return OP_ERR(err, OP_EINVAL,
                              "client \"%.*s\": %s: %s is not among op.idToken.jwsAlgs",
                              OP_CONFIG_SHOW_MAX, c->client_id, algs[k].name,
                              op_keys_jws_alg_name(algs[k].alg));
        }
    }
    return OP_OK;
}

/* ---- predicates ---------------------------------------------------------- */

bool op_client_has_grant(const op_client_t *c, unsigned grants)
{
    return grants != 0 && (c->grant_types & grants) == grants;
}

bool op_client_has_response_type(const op_client_t *c, unsigned rt)
{
    for (size_t i = 0; i < c->n_response_types; i++) {
        if (c->response_types[i] == rt)
            return true;
    }
    return false;
}

bool op_client_is_public(const op_client_t *c)
{
    return c->token_endpoint_auth_method == OP_CLIENT_AUTH_NONE;
}

/* ---- the clients file ---------------------------------------------------- */

/* Put "<source>: " in front of err's description. Returns rc. */
static int op_client_parse_all_in(op_err_t *err, const char *source, int rc)
{
    if (err != NULL) {
        char d[OP_ERR_DESC_MAX];
        snprintf(d, sizeof(d), "%s", err->description);
        OP_ERR(err, rc, "%s: %s", source, d);
    }
    return rc;
}

int op_client_parse_all(op_arena_t *a, const char *text, size_t len, const char *source,
                        op_client_t **out, size_t *n, op_err_t *err)
{
    static const op_json_limits_t lim = {OP_CLIENT_FILE_MAX, OP_CLIENT_FILE_DEPTH,
                                         OP_CLIENT_FILE_MEMBERS};
    op_json_t *doc = NULL;
    *out = NULL;
    *n = 0;
    int rc = op_json_parse(a, text, len, &lim, &doc, err);
    if (rc != OP_OK)
        return op_client_parse_all_in(err, source, rc);
    if (!op_json_is(doc, OP_JSON_ARRAY))
        return OP_ERR(err, OP_EINVAL, "%s: must be a JSON array of client objects", source);
    size_t count = doc->u.arr.n;
    op_client_t *clients = op_arena_calloc(a, count + 1, sizeof(*clients));
    if (clients == NULL)
        return OP_ERR(err, OP_ETOOBIG, "client metadata too large");
    for (size_t i = 0; i < count; i++) {
        char where[32];
        snprintf(where, sizeof(where), "clients[%zu]", i);
        if ((rc = op_client_from_json(a, doc->u.arr.items[i], where, &clients[i], err)) != OP_OK)
            return op_client_parse_all_in(err, source, rc);
    }
    op_client_registry_t *reg = NULL; /* only to refuse a repeated client_id */
    if ((rc = op_client_registry_new(clients, count, a, &reg, err)) != OP_OK)
        return op_client_parse_all_in(err, source, rc);
    *out = clients;
    *n = count;
    return OP_OK;
}

int op_client_load_file(const char *path, op_arena_t *a, op_client_t **out, size_t *n,
                        op_err_t *err)
{
    char *text = NULL;
    size_t len = 0;
    *out = NULL;
    *n = 0;
    int rc = op_config_read_file(a, path, OP_CLIENT_FILE_MAX, &text, &len, err);
    if (rc != OP_OK)
        return rc;
    return op_client_parse_all(a, text, len, path, out, n, err);
}
