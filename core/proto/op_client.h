/*
 * core/proto/op_client.h - client registrations: metadata, validation, the
 * canonical JSON record and the clients file.
 *
 * The metadata names are those of RFC 7591 §2 and OpenID Connect Dynamic
 * Client Registration §2, plus code_challenge_method (custom: "S256"
 * forces PKCE). Unknown members are kept and written back (RFC 7591 §2:
 * "ignored"), never interpreted.
 *
 * Validation (each error names the client and the field, e.g.
 * `client "demo-client": redirect_uris[0]: must not have a fragment`):
 *  - client_id: 1..128 printable ASCII characters, no spaces;
 *  - known members must have their JSON type;
 *  - redirect_uris (RFC 6749 §3.1.2): absolute, no fragment, no code,
 *    state or response query parameter. Web clients: https, or http with a
 *    loopback host; with the implicit grant, https only and no localhost
 *    (OIDC Registration §2). Native clients (RFC 8252): a reverse-DNS
 *    custom scheme (one with a '.', §7.1), http with a loopback IP literal
 *    ("localhost" is refused, §8.3), or https;
 *  - grant_types and response_types from the values the server serves
 *    (authorization_code, implicit, refresh_token); defaults
 *    ["authorization_code"] and ["code"] (RFC 7591 §2.1); an explicit
 *    empty response_types ([]) means no front-channel flow. code needs
 *    authorization_code; id_token / token need implicit; authorization_code
 *    and implicit need a redirect_uri;
 *  - token_endpoint_auth_method (default client_secret_basic): one the
 *    token endpoint implements: client_secret_basic and
 *    client_secret_post need client_secret; "none" (public client) allows
 *    no secret;
 *  - logo_uri, client_uri, policy_uri, tos_uri absolute http(s);
 *    default_max_age 0..INT32_MAX seconds;
 *  - subject_type "pairwise" (OIDC Core §8.1): the sector identifier is
 *    the host of the redirect URIs, which must then all share one host.
 *    Such a client's access tokens are identifiers (a JWT's sub would be
 *    the local subject);
 *  - metadata the server does not implement yet is refused, never kept
 *    and ignored: sector_identifier_uri, jwks, jwks_uri, request_uris,
 *    post-logout and logout members, require_pushed_authorization_requests
 *    true, the *_encrypted_response_*, request object, TLS client
 *    authentication, DPoP and CIBA members (op_client.c lists them).
 *
 * Clients live in the arena they were parsed into. client_secret is a
 * secret: never log it. A registry (op_client_registry_new) finds them by
 * client_id in constant time.
 */
#ifndef OP_CLIENT_H
#define OP_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/base/op.h"
#include "core/config/op_config.h"
#include "keys/op_keys.h"

#define OP_CLIENT_ID_MAX     128
#define OP_CLIENT_FILE_MAX   (1024 * 1024) /* clients file size cap */
#define OP_CLIENT_FILE_DEPTH 16            /* clients file nesting cap */

/* Grant types (bits of op_client_t.grant_types). */
enum {
    OP_CLIENT_GRANT_AUTHORIZATION_CODE = 1u << 0,
    OP_CLIENT_GRANT_IMPLICIT = 1u << 1,
    OP_CLIENT_GRANT_REFRESH_TOKEN = 1u << 2,
    OP_CLIENT_GRANT_CLIENT_CREDENTIALS = 1u << 3,
    OP_CLIENT_GRANT_PASSWORD = 1u << 4,
    OP_CLIENT_GRANT_JWT_BEARER = 1u << 5,     /* RFC 7523 */
    OP_CLIENT_GRANT_SAML2_BEARER = 1u << 6,   /* RFC 7522 */
    OP_CLIENT_GRANT_TOKEN_EXCHANGE = 1u << 7, /* RFC 8693 */
    OP_CLIENT_GRANT_CIBA = 1u << 8            /* OpenID CIBA */
};

/* A response type is a set of these bits ("code id_token" = CODE|ID_TOKEN);
 * NONE is alone. */
enum {
    OP_CLIENT_RT_CODE = 1u << 0,
    OP_CLIENT_RT_ID_TOKEN = 1u << 1,
    OP_CLIENT_RT_TOKEN = 1u << 2,
    OP_CLIENT_RT_NONE = 1u << 3
};

typedef enum {
    OP_CLIENT_AUTH_CLIENT_SECRET_BASIC = 0,
    OP_CLIENT_AUTH_CLIENT_SECRET_POST,
    OP_CLIENT_AUTH_CLIENT_SECRET_JWT,
    OP_CLIENT_AUTH_PRIVATE_KEY_JWT,
    OP_CLIENT_AUTH_NONE,
    OP_CLIENT_AUTH_TLS_CLIENT_AUTH,
    OP_CLIENT_AUTH_SELF_SIGNED_TLS_CLIENT_AUTH
} op_client_auth_t;

typedef enum { OP_CLIENT_APP_WEB = 0, OP_CLIENT_APP_NATIVE } op_client_app_t;

typedef enum { OP_CLIENT_SUB_PUBLIC = 0, OP_CLIENT_SUB_PAIRWISE } op_client_sub_t;

/* A string list. */
typedef struct op_client_strs {
    const char *const *items;
    size_t n;
} op_client_strs_t;

/* One validated client. Strings are NULL when unset. */
typedef struct op_client {
    const char *client_id;
    const char *client_secret; /* secret */
    const char *client_name;
    op_client_strs_t redirect_uris;
    unsigned grant_types;           /* OP_CLIENT_GRANT_* bits */
    const unsigned *response_types; /* OP_CLIENT_RT_* sets, no repeats */
    size_t n_response_types;
    op_client_auth_t token_endpoint_auth_method;
    op_client_app_t application_type;
    const char *scope;                         /* space-separated scope tokens */
    op_jws_alg_t id_token_signed_response_alg; /* OP_JWS_NONE: default */
    op_jws_alg_t userinfo_signed_response_alg; /* OP_JWS_NONE: JSON */
    op_client_sub_t subject_type;
    const char *sector_id; /* pairwise: the sector identifier (a host) */
    op_client_strs_t contacts;
    const char *logo_uri;
    const char *client_uri;
    const char *policy_uri;
    const char *tos_uri;
    int64_t default_max_age; /* seconds; -1: unset */
    bool require_auth_time;
    op_client_strs_t default_acr_values;
    const char *code_challenge_method; /* "S256" or NULL */
    /* Unknown members, in document order: kept, not interpreted. */
    const char *const *extra_names;
    const op_json_t *const *extra_values;
    size_t n_extra;
} op_client_t;

/*
 * Validate a parsed client object into *out. The arrays of *out are
 * allocated in a; its strings and JSON values are borrowed from obj, which
 * must live as long as the client (parse it into the same arena). where
 * names the client in errors until its client_id is known (e.g.
 * "clients[2]"; NULL: "client"). OP_EINVAL, or OP_ETOOBIG over a's cap,
 * with err.
 */
int op_client_from_json(op_arena_t *a, const op_json_t *obj, const char *where, op_client_t *out,
                        op_err_t *err);

/* Same from JSON text (a store record): parse, then validate. */
int op_client_parse(op_arena_t *a, const char *json, size_t len, op_client_t *out, op_err_t *err);

/*
 * Canonical JSON of c (the store record): known members in a fixed order,
 * defaults written out, unset members left out, then the unknown members.
 * Parsing it gives the same client, and serialising that the same text.
 * *out is NUL-terminated, in a.
 */
int op_client_to_json(const op_client_t *c, op_arena_t *a, const char **out, size_t *len,
                      op_err_t *err);

/*
 * A clients file's text: a JSON array of client objects (at most
 * OP_CLIENT_FILE_MAX bytes, nesting OP_CLIENT_FILE_DEPTH). A repeated
 * client_id is an error. *out (an array of *n clients) lives in a.
 * source names the text in errors.
 */
int op_client_parse_all(op_arena_t *a, const char *text, size_t len, const char *source,
                        op_client_t **out, size_t *n, op_err_t *err);

/* Read (blocking: start-up only) and parse the clients file at path. */
int op_client_load_file(const char *path, op_arena_t *a, op_client_t **out, size_t *n,
                        op_err_t *err);

/*
 * The rules between the clients and the server's configuration, checked
 * once at start after loading (and by --check-config): a pairwise client
 * needs op.subject.pairwiseKey; an id_token_signed_response_alg or
 * userinfo_signed_response_alg must be one of op.idToken.jwsAlgs (the
 * values discovery advertises). OP_EINVAL with err naming the client.
 */
int op_client_check_config(const op_client_t *clients, size_t n, const op_config_t *cfg,
                           op_err_t *err);

/* ---- the registry: clients by client_id ---------------------------------- */

typedef struct op_client_registry op_client_registry_t;

/*
 * An immutable lookup table of clients[0..n) by client_id: a hash table
 * in a (open addressing, at most half full, seeded with random bytes so
 * its layout cannot be predicted), holding pointers into clients, which
 * must live as long as a. Every client_id must be set and at most
 * OP_CLIENT_ID_MAX bytes (as op_client_from_json ensures); a repeated one
 * is refused, naming both indexes. n == 0 gives an empty registry. On
 * error (OP_EINVAL, OP_ETOOBIG) *out is NULL.
 */
int op_client_registry_new(op_client_t *clients, size_t n, op_arena_t *a,
                           op_client_registry_t **out, op_err_t *err);

/*
 * The client registered as client_id (compared exactly, byte for byte),
 * borrowed from the registry; NULL when unknown, and when r or client_id
 * is NULL. O(1) on average; a hostile client_id costs at most
 * OP_CLIENT_ID_MAX + 1 bytes read before it is refused.
 */
const op_client_t *op_client_registry_find(const op_client_registry_t *r, const char *client_id);

/* ---- predicates ---------------------------------------------------------- */

/* c registered every OP_CLIENT_GRANT_* bit of grants (false for 0). */
bool op_client_has_grant(const op_client_t *c, unsigned grants);

/* c registered the response type rt (a set of OP_CLIENT_RT_* bits, e.g.
 * CODE | ID_TOKEN for "code id_token" in any order; RFC 7591 §2). */
bool op_client_has_response_type(const op_client_t *c, unsigned rt);

/* A public client (RFC 6749 §2.1): it cannot authenticate at the token
 * endpoint (token_endpoint_auth_method "none", RFC 7591 §2). */
bool op_client_is_public(const op_client_t *c);

/*
 * Is uri (as the request sent it) one of c's redirect URIs? Exact string
 * comparison (RFC 6749 §3.1.2.3, OIDC Core §3.1.2.1), except that for a
 * native client's http redirect URI with a loopback IP literal
 * (127.0.0.1, [::1]) any port matches (RFC 8252 §7.3); scheme, host,
 * path and query must still match exactly. "localhost" is no IP literal
 * (§8.3): exact match only. (core/proto/op_client_redirect.c)
 */
bool op_client_redirect_match(const op_client_t *c, const char *uri, size_t len);

/*
 * The subject identifier of local subject sub for client c (OIDC Core §8):
 * sub itself for a public client; for a pairwise one the base64url of
 * HMAC-SHA256 under cfg's op.subject.pairwiseKey of a labelled,
 * length-prefixed (sector identifier, sub), the same for every client of
 * the sector and unlinkable across sectors. NULL over a's cap or when the key is missing
 * (op_client_check_config refuses that at start). Records keep the local subject; this is applied
 * where a subject leaves the server: ID tokens, UserInfo. (core/proto/op_client_sub.c)
 */
const char *op_client_sub(const op_client_t *c, const op_config_t *cfg, const char *sub,
                          op_arena_t *a);

/* The bit of a grant type name, 0 when unknown. */
unsigned op_client_grant_parse(const char *name, size_t len);

/* A response_type value ("code id_token", any order) as a set of
 * OP_CLIENT_RT_* bits; false when malformed or unknown. */
bool op_client_response_type_parse(const char *s, size_t len, unsigned *out);

#endif
