/*
 * core/proto/op_authz_req.h - the OpenID Connect authorisation request model.
 *
 * Pure functions, no I/O, for the authorisation session API: parse and
 * validate the raw query a login page submits (OIDC Core §3.1.2.1,
 * RFC 6749 §4.1.1, Multiple Response Types, RFC 7636), the `claims`
 * parameter and the consent prompt's scope and claims objects (OIDC Core
 * §5.4, §5.5, reference §2.1), and the final authorisation response
 * (redirect or form_post, RFC 9207 `iss` added).
 *
 * Files: op_authz_req.c (parse, validate, scope prompt), with
 * op_authz_claims.h (the claims parameter, scope -> claims, the claims
 * prompt) and op_authz_resp.h (the response).
 *
 * Everything a parsed request points to lives in the arena it was parsed
 * into, except the client, which is borrowed from the lookup (the caller
 * keeps it alive as long as the request).
 */
#ifndef OP_AUTHZ_REQ_H
#define OP_AUTHZ_REQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/base/op.h"
#include "core/proto/op_authz_claims.h"
#include "core/proto/op_client.h"
#include "core/base/op_params.h"

/* Most values in one space-separated list (scope, ui_locales, ...). */
#define OP_AUTHZ_LIST_MAX 64
/* Largest max_age accepted, seconds. */
#define OP_AUTHZ_MAX_AGE_MAX INT32_MAX

/* Response modes (Multiple Response Types §2.1, Form Post Response Mode). */
typedef enum {
    OP_AUTHZ_MODE_QUERY = 0,
    OP_AUTHZ_MODE_FRAGMENT,
    OP_AUTHZ_MODE_FORM_POST
} op_authz_mode_t;

/* prompt values (OIDC Core §3.1.2.1; "create": Initiating User
 * Registration §4), as a bit set. */
enum {
    OP_AUTHZ_PROMPT_NONE = 1u << 0,
    OP_AUTHZ_PROMPT_LOGIN = 1u << 1,
    OP_AUTHZ_PROMPT_CONSENT = 1u << 2,
    OP_AUTHZ_PROMPT_SELECT_ACCOUNT = 1u << 3,
    OP_AUTHZ_PROMPT_CREATE = 1u << 4
};

/* Server policy the parser applies. */
typedef struct op_authz_policy {
    bool pkce_plain; /* accept code_challenge_method=plain (S256 always) */
} op_authz_policy_t;

/* Client lookup: the registered client of client_id (NUL-terminated), or
 * NULL when unknown. The client is borrowed; it must outlive the request. */
typedef struct op_authz_clients {
    const op_client_t *(*find)(void *arg, const char *client_id);
    void *arg;
} op_authz_clients_t;

/*
 * A parsed, validated authorisation request. Strings are NULL when the
 * parameter was absent; a parameter sent with an empty value counts as
 * absent (RFC 6749 §3.1). Lists keep the request's order without repeats.
 */
typedef struct op_authz_req {
    const char *query; /* the raw query, NUL-terminated copy */
    size_t query_len;
    op_params_t params; /* every parameter, decoded (unknown ones too) */

    unsigned response_type;        /* OP_CLIENT_RT_* set */
    const char *response_type_str; /* as sent */
    op_authz_mode_t response_mode; /* resolved: explicit or the default */
    const char *client_id;
    const op_client_t *client; /* borrowed from the lookup */
    const char *redirect_uri;  /* exactly one of the client's */
    op_client_strs_t scope;
    const char *state;
    const char *nonce;
    const char *display; /* "page", "popup", "touch", "wap" or NULL */
    unsigned prompt;     /* OP_AUTHZ_PROMPT_* set, 0 when absent */
    int64_t max_age;     /* seconds, -1 when absent */
    op_client_strs_t ui_locales;
    op_client_strs_t claims_locales;
    const char *id_token_hint; /* not verified here: the caller checks it */
    const char *login_hint;
    op_client_strs_t acr_values;
    op_authz_claims_t claims;
    const char *code_challenge;
    const char *code_challenge_method; /* "S256" or "plain" (the default
                                          when only a challenge is sent) */
} op_authz_req_t;

/* A failed parse. */
typedef struct op_authz_error {
    /*
     * false: the redirect_uri is not known good (malformed query, missing
     * or unknown client_id, missing, malformed or unregistered
     * redirect_uri): answer {"type":"error"} and never redirect
     * (RFC 6749 §4.1.2.1). true: send the error back to the client with
     * op_authz_resp_error(): the request's client, client_id,
     * redirect_uri, response_mode and state are set.
     */
    bool redirectable;
    /* oauth_error and a description in RFC 6749 §4.1.2.1 characters
     * (input quoted only as a short, checked scope or prompt value). */
    op_err_t err;
} op_authz_error_t;

/*
 * Parse and validate query[0..len) (the authorisation request's query
 * string, without '?') into *out, allocating in a. policy may be NULL
 * (defaults: no plain PKCE). Returns OP_OK; OP_EINVAL, or OP_ETOOBIG (a
 * value over a limit, or a request too large for a), with *error filled.
 *
 * Not redirectable: invalid_request (missing client_id, missing or
 * malformed redirect_uri, one whose query is not a strict form or has a
 * code, state or response parameter, one not registered
 * (op_client_redirect_match: exact, any port for a native client's
 * loopback IP)), invalid_client (unknown client_id); a malformed query (a
 * repeated, badly encoded or over-long parameter; more than the parser's
 * parameter count) unless the client_id and redirect_uri in it are each
 * there once, well-formed and good.
 * Redirectable, checked in this order: invalid_request (such a malformed
 * query: RFC 6749 §4.1.2.1; the state only when it too is there once and
 * well-formed); request_not_supported,
 * request_uri_not_supported; invalid_request (missing response_type);
 * unsupported_response_type (unknown, or not registered by the client:
 * compared as sets); invalid_request (unknown response_mode, or query for
 * a response type returning tokens); scope: invalid_scope (malformed),
 * invalid_request (no "openid" with id_token), invalid_scope (a value
 * outside the client's registered scope, when it has one);
 * invalid_request: no nonce with id_token, bad prompt, max_age, display,
 * ui_locales, claims_locales, acr_values, claims, PKCE.
 */
int op_authz_req_parse(op_arena_t *a, const char *query, size_t len,
                       const op_authz_clients_t *clients, const op_authz_policy_t *policy,
                       op_authz_req_t *out, op_authz_error_t *error);

/* Is value in the request's scope? */
bool op_authz_req_has_scope(const op_authz_req_t *req, const char *value);

/*
 * May an authentication at auth_time answer req at now (OIDC Core
 * §3.1.2.1)? for_it: it was made for this request (reported by the
 * login page after the request came), not found in a session from an
 * earlier one. prompt=login and max_age=0 (errata 2: the same as
 * prompt=login, so even one made in the same second is too old) take only
 * one made for it; max_age=N one at most N seconds before now.
 */
bool op_authz_req_auth_ok(const op_authz_req_t *req, int64_t auth_time, bool for_it, int64_t now);

/* "query", "fragment" or "form_post". */
const char *op_authz_req_mode_name(op_authz_mode_t mode);

/*
 * The consent prompt's scope object (reference §2.1):
 * {"new": [...], "consented": [...]}: the request's scope values, in
 * order, split by whether they are among consented[0..n) (the scope of a
 * long-lived authorisation; may be NULL when n is 0). Writes one value
 * into w (the caller wrote the key); errors are sticky in w.
 */
void op_authz_req_scope_prompt(const op_authz_req_t *req, const char *const *consented, size_t n,
                               op_json_w_t *w);

#endif
