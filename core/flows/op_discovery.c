/*
 * core/flows/op_discovery.c - provider metadata (OpenID Connect Discovery 1.0
 * §3, RFC 8414 §2) served at both well-known paths.
 *
 * The members are built once from config and advertise only what the
 * server implements, and everything it serves (OIDC Discovery §3). There
 * is no end_session_endpoint: op.logout.endpoint is the deployer's page,
 * and without the logout session API the server cannot do what
 * RP-Initiated Logout 1.0 asks of the endpoint it would advertise
 * (validate id_token_hint and post_logout_redirect_uri, end the session).
 * The document also carries signed_metadata (RFC 8414 §2.1): the same
 * members as a JWT signed with the default ID token algorithm, so a
 * client can check them against /jwks.json. It is re-signed only when
 * the key set changes (a rotation), so serving the document costs no
 * signature.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/flows/op_flows.h"

#define OP_DISCOVERY_ARENA (64 * 1024)

typedef struct op_discovery {
    op_server_t *srv;
    op_arena_t *arena;   /* the unsigned members; lives with d */
    const char *members; /* {"issuer":...} without signed_metadata */
    size_t members_len;
    op_keys_set_t *signed_for; /* retained: the set the document below uses */
    char *doc;                 /* malloc'd: members + signed_metadata */
    size_t doc_len;
} op_discovery_t;

static void op_discovery_list(op_json_w_t *w, const char *key, const char *const *v, size_t n)
{
    op_json_w_key(w, key);
    op_json_w_arr_open(w);
    for (size_t i = 0; i < n; i++)
        op_json_w_str(w, v[i]);
    op_json_w_arr_close(w);
}

#define OP_DISCOVERY_LIST(w, key, ...)                                                             \
    do {                                                                                           \
        static const char *const v_[] = {__VA_ARGS__};                                             \
        op_discovery_list((w), (key), v_, OP_NELEMS(v_));                                          \
    } while (0)

/* Write the metadata members into w (an open object): what the server
 * implements, nothing more. */
static void op_discovery_members(op_json_w_t *w, op_arena_t *a, const op_config_t *cfg)
{
    const char *algs[OP_NELEMS(cfg->id_token_algs)];
    op_json_w_kstr(w, "issuer", cfg->issuer);
    op_json_w_kstr(w, "authorization_endpoint", cfg->authz_endpoint);
    op_json_w_kstr(w, "token_endpoint", op_arena_printf(a, "%s/token", cfg->issuer));
    op_json_w_kstr(w, "userinfo_endpoint", op_arena_printf(a, "%s/userinfo", cfg->issuer));
    op_json_w_kstr(w, "jwks_uri", op_arena_printf(a, "%s/jwks.json", cfg->issuer));
    OP_DISCOVERY_LIST(w, "scopes_supported", "openid", "profile", "email", "address", "phone",
                      "offline_access");
    OP_DISCOVERY_LIST(w, "response_types_supported", "code", "id_token", "token", "id_token token",
                      "code id_token", "code token", "code id_token token", "none");
    OP_DISCOVERY_LIST(w, "response_modes_supported", "query", "fragment", "form_post");
    OP_DISCOVERY_LIST(w, "grant_types_supported", "authorization_code", "implicit",
                      "refresh_token");
    /* Pairwise subjects (OIDC Core §8.1) need their key. */
    op_discovery_list(w, "subject_types_supported", (const char *const[]){"public", "pairwise"},
                      cfg->pairwise_key_set ? 2 : 1);
    for (size_t i = 0; i < cfg->n_id_token_algs; i++)
        algs[i] = op_keys_jws_alg_name(cfg->id_token_algs[i]);
    op_discovery_list(w, "id_token_signing_alg_values_supported", algs, cfg->n_id_token_algs);
    op_discovery_list(w, "userinfo_signing_alg_values_supported", algs, cfg->n_id_token_algs);
    OP_DISCOVERY_LIST(w, "token_endpoint_auth_methods_supported", "client_secret_basic",
                      "client_secret_post", "none");
    op_discovery_list(w, "code_challenge_methods_supported", (const char *const[]){"S256", "plain"},
                      cfg->authz_allow_plain_pkce ? 2 : 1);
    OP_DISCOVERY_LIST(w, "prompt_values_supported", "none", "login", "consent", "select_account",
                      "create");
    OP_DISCOVERY_LIST(w, "claim_types_supported", "normal");
    OP_DISCOVERY_LIST(w, "claims_supported", "sub", "iss", "auth_time", "acr", "amr", "sid", "name",
                      "family_name", "given_name", "middle_name", "nickname", "preferred_username",
                      "profile", "picture", "website", "gender", "birthdate", "zoneinfo", "locale",
                      "updated_at", "email", "email_verified", "address", "phone_number",
                      "phone_number_verified");
    op_json_w_kbool(w, "claims_parameter_supported", true);
    op_json_w_kbool(w, "request_parameter_supported", false);
    op_json_w_kbool(w, "request_uri_parameter_supported", false);
    op_json_w_kbool(w, "authorization_response_iss_parameter_supported", true);
}

static void op_discovery_free(void *state);

static int op_discovery_new(op_server_t *srv, void **out, op_err_t *err)
{
    op_discovery_t *d = op_calloc(1, sizeof(*d));
    d->srv = srv;
    d->arena = op_arena_new(OP_DISCOVERY_ARENA);
    op_json_w_t *w = op_json_w_new(d->arena, false);
    if (w == NULL) {
        op_discovery_free(d);
        return OP_ERR(err, OP_ETOOBIG, "the discovery document does not fit its arena");
    }
    op_json_w_obj_open(w);
    op_discovery_members(w, d->arena, srv->cfg);
    op_json_w_obj_close(w);
    int rc = op_json_w_finish(w, &d->members, &d->members_len, err);
    if (rc != OP_OK) {
        op_discovery_free(d);
        return rc;
    }
    *out = d;
    return OP_OK;
}

static void op_discovery_free(void *state)
{
    op_discovery_t *d = state;
    if (d == NULL)
        return;
    if (d->signed_for != NULL)
        op_keys_set_release(d->signed_for);
    free(d->doc);
    op_arena_free(d->arena);
    free(d);
}

/*
 * Build the served document for key set `set`: the members plus
 * "signed_metadata", a JWT of the members with "iss" (required by
 * RFC 8414 §2.1) and "iat" added, made by splicing them into the
 * serialised members.
 */
static int op_discovery_sign(op_discovery_t *d, op_keys_set_t *set, op_err_t *err)
{
    const op_config_t *cfg = d->srv->cfg;
    op_arena_t *a = op_arena_new(OP_DISCOVERY_ARENA);
    /* members ends with '}': replace it with ,"iss":..,"iat":N}. The issuer
     * was validated as a URL (RFC 3986 characters: no '"' or '\\'), so it
     * needs no escaping. */
    char *claims =
        op_arena_printf(a, "%.*s,\"iss\":\"%s\",\"iat\":%lld}", (int)(d->members_len - 1),
                        d->members, cfg->issuer, (long long)op_loop_epoch());
    char *jwt = NULL;
    int rc = claims == NULL ? OP_ERR(err, OP_ETOOBIG, "the signed metadata does not fit its arena")
                            : op_keys_jws_sign(set, cfg->id_token_algs[0], "JWT", claims,
                                               strlen(claims), a, &jwt, err);
    if (rc == OP_OK) {
        size_t n = d->members_len + strlen(jwt) + sizeof(",\"signed_metadata\":\"\"}");
        char *doc = op_malloc(n);
        int len = snprintf(doc, n, "%.*s,\"signed_metadata\":\"%s\"}", (int)(d->members_len - 1),
                           d->members, jwt);
        free(d->doc);
        d->doc = doc;
        d->doc_len = (size_t)len;
        op_keys_set_retain(set);
        if (d->signed_for != NULL)
            op_keys_set_release(d->signed_for);
        d->signed_for = set;
    }
    op_arena_free(a);
    return rc;
}

static void op_discovery_handle(op_http_req_t *req, void *arg)
{
    op_discovery_t *d = arg;
    op_server_t *srv = d->srv;
    op_keys_set_t *set = op_keys_current(srv->keys);
    op_err_t err;
    op_err_clear(&err);
    if (set != d->signed_for && op_discovery_sign(d, set, &err) != OP_OK) {
        op_log_error(op_http_req_id(req), "discovery: cannot sign metadata: %s", err.description);
        op_keys_set_release(set);
        op_http_reply_error(req, &err);
        return;
    }
    op_keys_set_release(set);
    op_http_reply_header(req, "Cache-Control", "public, max-age=300");
    op_http_reply_json(req, 200, d->doc, d->doc_len, 0);
}

const op_endpoint_t op_discovery_endpoint = {
    .name = "discovery",
    .init = op_discovery_new,
    .fini = op_discovery_free,
    .routes = {{OP_HTTP_GET, "/.well-known/openid-configuration", OP_ROUTE_CORS,
                op_discovery_handle, NULL},
               {OP_HTTP_GET, "/.well-known/oauth-authorization-server", OP_ROUTE_CORS,
                op_discovery_handle, NULL}},
};
