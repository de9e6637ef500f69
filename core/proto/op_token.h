/*
 * core/proto/op_token.h - minting and checking tokens (core-internal).
 *
 * ID tokens (OpenID Connect Core §2), access tokens (a JWT per RFC 9068,
 * or an identifier kept in the store), refresh tokens and authorisation
 * codes, and the store records behind them (docs/records.md). Minting is
 * pure: it signs with the key set it is given and hands back the record
 * to write, so the caller decides how to batch the store round trips.
 * Bearer values never become keys: a record is stored under the
 * lowercase hex SHA-256 of the value (op_keys_crypto_sha256_hex).
 *
 * Two calls are asynchronous and follow the usual contract (the callback
 * runs exactly once, from the loop, never inside the call):
 * op_token_access_check (UserInfo's bearer token) and
 * op_token_claims_fetch (the claims sources).
 *
 * Families: every token descending from one authorisation code (the
 * access and refresh tokens of the exchange and of every refresh after
 * it) carries the family id the exchange chose. A replayed code or a
 * reused refresh token revokes the family: a "revoked" record, checked
 * wherever the server accepts a token of the family or stores a new one,
 * and the deletion of its stored tokens.
 *
 * Everything returned lives in the arena passed in.
 */
#ifndef OP_TOKEN_H
#define OP_TOKEN_H

#include "core/base/op.h"
#include "core/proto/op_client.h"
#include "core/config/op_config.h"
#include "core/proto/op_grant.h"
#include "keys/op_keys.h"
#include "spi/op_spi_host.h"
#include "storage/op_store.h"

#define OP_TOKEN_BYTES   32   /* random bytes of a code, identifier or refresh token */
#define OP_TOKEN_MAX_LEN 4096 /* longest identifier we look up (JWTs: OP_JWS_MAX_LEN) */

/* Store namespaces (docs/records.md). */
#define OP_TOKEN_NS_CODE      "code"
#define OP_TOKEN_NS_CODE_USED "code-used"
#define OP_TOKEN_NS_AT        "at"
#define OP_TOKEN_NS_RT        "rt"
#define OP_TOKEN_NS_RT_USED   "rt-used"
#define OP_TOKEN_NS_REVOKED   "revoked"

/* The longest access token lifetime a grant may carry (the consent's
 * access_token.lifetime, core/proto/op_grant.c): a revocation whose tokens'
 * lifetime is unknown lasts this long. */
#define OP_TOKEN_AT_LIFETIME_MAX (86400 * 365)
/* A revocation outlives the tokens it revokes by this much: longer than
 * any exchange of the family can still be running (its claims fetch and
 * store operations, each with its own deadline of at most a minute). */
#define OP_TOKEN_REVOKED_SLACK_S 300

/* Who authenticated, how and when: taken from the subject session into
 * codes and refresh tokens, and from there into every ID token. */
typedef struct op_token_authn {
    int64_t auth_time; /* seconds since the epoch, 0: unknown */
    const char *acr;   /* NULL: none */
    op_strs_t amr;
    const char *sid; /* the OpenID sid claim, NULL: none */
} op_token_authn_t;

/* What minting needs. cfg and keys are borrowed (the caller holds a
 * reference to the key set while it signs). */
typedef struct op_token_ctx {
    const op_config_t *cfg;
    const op_keys_set_t *keys;
    int64_t now; /* seconds since the epoch */
} op_token_ctx_t;

/* A minted bearer value and what to store for it. */
typedef struct op_token_minted {
    const char *token;  /* the value handed to the client */
    const char *key;    /* sha256hex(token); NULL for a JWT access token */
    op_store_rec_t rec; /* the record to write; rec.ns is NULL when none */
    int64_t lifetime_s; /* expires_in; 0 when it never expires */
} op_token_minted_t;

/* The space-separated form of a scope list (RFC 6749 §3.3), in a. */
char *op_token_scope_str(op_arena_t *a, const op_strs_t *scope);
/* And back: the values of s (NULL: none) without repeats. OP_ETOOBIG when
 * a is full. */
int op_token_scope_parse(op_arena_t *a, const char *s, op_strs_t *out);

/* ---- ID tokens --------------------------------------------------------- */

typedef struct op_token_id_req {
    const op_client_t *client; /* the audience; its signing alg */
    const op_grant_t *grant;   /* sub, lifetime */
    const op_token_authn_t *authn;
    const char *nonce;        /* NULL: none */
    const char *access_token; /* issued alongside at the authorisation endpoint: at_hash */
    const char *code;         /* issued alongside (hybrid flow): c_hash */
    const op_json_t *preset;  /* preset ID token claims (the grant's idp), or NULL */
    const op_json_t *claims;  /* claims from the sources (those of grant->idc are used) */
} op_token_id_req_t;

/*
 * Sign an ID token (OIDC Core §2, §3.1.3.6, §3.2.2.10, §3.3.2.11) with the
 * client's id_token_signed_response_alg, or the first of
 * cfg->id_token_algs, with r->preset and r->claims added as
 * op_token_claims_write says (they never replace a protocol claim).
 * *out is NUL-terminated, in a.
 */
int op_token_id_mint(const op_token_ctx_t *ctx, const op_token_id_req_t *r, op_arena_t *a,
                     char **out, op_err_t *err);

/*
 * The at_hash / c_hash of value for the JWS alg of the ID token that
 * carries it (OIDC Core §3.2.2.9, §3.3.2.11): base64url of the left half
 * of the hash of the ASCII value, SHA-256 for RS256, PS256 and ES256 and
 * SHA-512 for EdDSA (Ed25519), as the certified relying party libraries
 * compute it. *out is in a.
 */
int op_token_half_hash(op_jws_alg_t alg, const char *value, op_arena_t *a, char **out,
                       op_err_t *err);

/* ---- access tokens ------------------------------------------------------ */

/* The lifetime of the access tokens of grant g: its own, else the
 * configured default. */
int64_t op_token_at_lifetime(const op_config_t *cfg, const op_grant_t *g);

/*
 * A new access token for grant g with the grant's encoding and lifetime:
 * a JWT (RFC 9068, typ "at+jwt", signed with cfg->at_jws_alg) carrying
 * what UserInfo needs (scope, clm, cll, uip, sid, fam) and the values of
 * the grant's atc claims found in claims (may be NULL); or an identifier
 * stored in namespace "at" with indexes sub, cid and fam. sid and fam
 * (the token's family: the authorisation code exchange it descends from,
 * revoked as one) may be NULL.
 */
int op_token_at_mint(const op_token_ctx_t *ctx, const op_grant_t *g, const char *sid,
                     const char *fam, const op_json_t *claims, op_arena_t *a,
                     op_token_minted_t *out, op_err_t *err);

/* A valid access token, as UserInfo sees it. */
typedef struct op_token_access {
    op_grant_t grant; /* sub, cid, scp, clm, cll, uip, aud; the rest defaults */
    const char *sid;  /* NULL: none */
    const char *fam;  /* NULL: none */
    const char *jti;
    int64_t iat;
    int64_t exp;
} op_token_access_t;

/* status OP_OK with at; OP_EDENIED (invalid_token / 401) when the token
 * is not valid; OP_ERROR (500) for a corrupt record; a store error (503)
 * otherwise. at and err are borrowed for the callback; at's members live
 * in the arena given to the check. */
typedef void (*op_token_access_cb)(int status, const op_token_access_t *at, const op_err_t *err,
                                   void *arg);

/*
 * Check a bearer access token (core/proto/op_token_access.c). A JWT (three
 * dot-separated parts) is verified against the server's own key set with
 * the allow-list RS256, PS256, ES256, EdDSA, typ "at+jwt", our issuer and
 * exp in the future (strict: no leeway), and its family must not be
 * revoked (one store read, namespace "revoked"); anything else is an
 * identifier, looked up in the store by its hash (a revoked family's
 * identifiers are deleted). ctx is copied (its pointers must live until
 * cb); a must live until cb.
 */
void op_token_access_check(op_loop_t *loop, op_store_t *store, const op_token_ctx_t *ctx,
                           const char *token, op_arena_t *a, op_token_access_cb cb, void *arg);

/* ---- refresh tokens ------------------------------------------------------ */

typedef struct op_token_refresh {
    op_grant_t grant;
    op_token_authn_t authn;
    const char *fam; /* family id */
    int64_t exp;     /* end of the family's lifetime, 0: none */
    int64_t iat;
} op_token_refresh_t;

/* A new family id (random, in a; NULL when a is full). */
char *op_token_fam_new(op_arena_t *a);

/*
 * A new refresh token of family rt->fam. When starts, it starts the
 * family (rt->exp is set from the grant's lifetime); otherwise it
 * continues it (a rotation). The record goes to namespace "rt", TTL =
 * min(lifetime left, max idle), indexes sub, cid and fam. OP_EDENIED
 * (invalid_grant) when the family's lifetime is over.
 */
int op_token_rt_mint(int64_t now, bool starts, op_token_refresh_t *rt, op_arena_t *a,
                     op_token_minted_t *out, op_err_t *err);

/* The record of rt under key (an existing token whose idle time starts
 * again), same TTL rule and indexes; OP_EDENIED as above. */
int op_token_rt_record(int64_t now, const op_token_refresh_t *rt, const char *key, op_arena_t *a,
                       op_store_rec_t *out, op_err_t *err);

/* Parse an "rt" record. OP_EINVAL when malformed. */
int op_token_rt_read(op_arena_t *a, const char *json, size_t len, const op_config_t *cfg,
                     op_token_refresh_t *out, op_err_t *err);

/* The "rt-used" record of a rotated-out token (op_token_used_record),
 * kept as long as its family may live (else its max idle time, else
 * without TTL). */
int op_token_rt_used_record(int64_t now, const op_token_refresh_t *rt, int64_t atl_s,
                            const char *key, op_arena_t *a, op_store_rec_t *out, op_err_t *err);

/* ---- authorisation codes ------------------------------------------------- */

typedef struct op_token_code {
    op_grant_t grant;
    op_token_authn_t authn;
    const char *ruri;  /* redirect_uri of the request, NULL: none */
    const char *nonce; /* NULL: none */
    const char *cc;    /* PKCE code_challenge, NULL: none */
    const char *ccm;   /* its method: "S256" or "plain" */
    int64_t iat;
} op_token_code_t;

/* A new code for c (c->iat is set), stored in namespace "code" for
 * cfg->authz_code_lifetime_s. */
int op_token_code_mint(const op_config_t *cfg, int64_t now, op_token_code_t *c, op_arena_t *a,
                       op_token_minted_t *out, op_err_t *err);

/* Parse a "code" record. */
int op_token_code_read(op_arena_t *a, const char *json, size_t len, const op_config_t *cfg,
                       op_token_code_t *out, op_err_t *err);

/*
 * PKCE (RFC 7636 §4.6): the verifier (NULL: none sent) against the
 * challenge of a code (cc NULL: none). OP_OK, or OP_EDENIED with
 * invalid_grant: a challenge without a verifier, a verifier without a
 * challenge, a verifier that is not 43..128 unreserved characters
 * (§4.1), or a mismatch (compared in constant time).
 */
int op_token_pkce_check(const char *cc, const char *ccm, const char *verifier, op_err_t *err);

/* ---- used markers and revocations ----------------------------------------- */

/* A used marker: the family a single-use value ("code-used": a code,
 * "rt-used": a rotated-out refresh token) started or belonged to, and
 * the lifetime of that family's access tokens (0: not known yet). Coming
 * back, the value revokes the family (RFC 6749 §4.1.2, Security BCP
 * §4.14.2). */
typedef struct op_token_used {
    const char *fam;
    int64_t atl_s;
} op_token_used_t;

/* The marker record (ns, key) with its TTL (0: none). */
int op_token_used_record(const char *ns, const char *key, const op_token_used_t *used,
                         int64_t ttl_s, op_arena_t *a, op_store_rec_t *out, op_err_t *err);
/* Parse a marker record. OP_EINVAL when malformed. */
int op_token_used_read(op_arena_t *a, const char *json, size_t len, op_token_used_t *out,
                       op_err_t *err);

/* cb(status, arg) of a revocation: OP_OK, or the first store failure
 * (then logged; the revocation may be incomplete). */
typedef void (*op_token_revoke_cb)(int status, void *arg);

/*
 * Revoke family fam (core/proto/op_token_revoke.c): write its revocation record
 * (namespace "revoked", key fam) - every token of the family is refused
 * and no new one stored while it lasts: the lifetime of the family's
 * access tokens (atl_s, 0: unknown, then OP_TOKEN_AT_LIFETIME_MAX) plus
 * OP_TOKEN_REVOKED_SLACK_S - then delete the family's stored tokens
 * ("rt" and "at" records in index ("fam", fam)). cb runs exactly once,
 * from the loop. fam and req_id (for the logs; may be NULL) are copied.
 */
void op_token_revoke_family(op_store_t *store, const char *fam, int64_t atl_s, const char *req_id,
                            op_token_revoke_cb cb, void *arg);

/* ---- claims ----------------------------------------------------------------- */

/*
 * Write claims into the object open in w: every member of preset (NULL:
 * none), then each member of fetched (NULL: none) that names asks for
 * (NULL: all; "<name>#<language tag>" counts as <name>, OIDC Core §5.2)
 * and preset does not have: preset values win and no name repeats. The
 * names a token sets itself are left out: with jwt, every protocol claim
 * of ID tokens and access tokens (iss, sub, aud, exp, iat, ...); else
 * "sub" alone (UserInfo).
 */
void op_token_claims_write(op_json_w_t *w, const op_json_t *preset, const op_json_t *fetched,
                           const op_strs_t *names, bool jwt);

/* status OP_OK with the merged claims of every source (an object in the
 * arena given to the fetch), OP_ENOTFOUND when no source knows the
 * subject, or the sources' error (OP_ETIMEDOUT at the deadline). */
typedef void (*op_token_claims_cb)(int status, const op_json_t *claims, const op_err_t *err,
                                   void *arg);

/*
 * Ask the claims sources for the claims names of subject g->sub, in the
 * grant's claims locales, for transport ("userinfo", "id_token", or NULL
 * for the server's own use). req_id (may be NULL) is for the logs. a must
 * live until cb; the rest is borrowed during the call only.
 */
void op_token_claims_fetch(op_spi_t *spi, uint64_t deadline_ms, const op_grant_t *g,
                           const op_strs_t *names, const char *transport, const char *req_id,
                           op_arena_t *a, op_token_claims_cb cb, void *arg);

#endif
