/*
 * core/proto/op_authz_claims.h - the claims parameter of an authorisation
 * request (OIDC Core §5.5), the claims of scope values (§5.4) and the
 * consent prompt's claims object (reference §2.1); core/proto/op_authz_claims.c.
 */
#ifndef OP_AUTHZ_CLAIMS_H
#define OP_AUTHZ_CLAIMS_H

#include <stdbool.h>
#include <stddef.h>

#include "core/base/op.h"

/* Bounds of the claims parameter (OIDC Core §5.5). */
#define OP_AUTHZ_CLAIMS_MAX_BYTES 8192
#define OP_AUTHZ_CLAIMS_MAX_DEPTH 4
#define OP_AUTHZ_CLAIMS_MAX       64 /* userinfo + id_token entries */
/* One entry of the claims parameter: name -> null or
 * {"essential": bool, "value": v, "values": [...]} (OIDC Core §5.5.1). */
typedef struct op_authz_claim {
    const char *name;        /* as requested; may carry a "#lang" tag */
    bool essential;          /* false when absent */
    const op_json_t *value;  /* "value", NULL when absent */
    const op_json_t *values; /* "values" (an array), NULL when absent */
} op_authz_claim_t;

/* The parsed claims parameter; all empty when the request had none. */
typedef struct op_authz_claims {
    const op_authz_claim_t *userinfo;
    size_t n_userinfo;
    const op_authz_claim_t *id_token;
    size_t n_id_token;
    const op_json_t *json; /* the whole parameter, NULL when absent */
} op_authz_claims_t;

typedef struct op_authz_req op_authz_req_t;

/*
 * Parse the claims parameter s[0..len) (OIDC Core §5.5) into *out in a:
 * a JSON object with optional "userinfo" and "id_token" objects of
 * claim name -> null or claim request object; "essential" must be a
 * boolean and "values" an array; other members are ignored (§5.5.1).
 * A claim name may not begin with a placement directive of the login
 * page's consent (id_token:, access_token:, verified:, reference §2.1).
 * At most OP_AUTHZ_CLAIMS_MAX_BYTES, depth OP_AUTHZ_CLAIMS_MAX_DEPTH and
 * OP_AUTHZ_CLAIMS_MAX entries. OP_EINVAL / OP_ETOOBIG (invalid_request;
 * OP_ETOOBIG also when a is full) with err.
 */
int op_authz_claims_parse(op_arena_t *a, const char *s, size_t len, op_authz_claims_t *out,
                          op_err_t *err);

/*
 * The standard claims a scope value asks for (OIDC Core §5.4): profile,
 * email, address, phone. Static storage; *n is 0 (and NULL returned) for
 * any other value.
 */
const char *const *op_authz_claims_of_scope(const char *scope, size_t *n);

/*
 * The consent prompt's claims object (reference §2.1):
 * {"new": {"essential": [...], "voluntary": [...]},
 *  "consented": {"essential": [...], "voluntary": [...]}}.
 * The requested claims are those of the scope values (§5.4), voluntary,
 * then those of the claims parameter (userinfo, then id_token), essential
 * when any request for the name says so; only for OpenID requests (scope
 * has "openid"); language tags stripped, repeats dropped, "sub" left out
 * (always delivered, not consented). consented[0..n) are names already
 * consented (tags ignored). Writes one value into w; errors sticky in w.
 */
void op_authz_claims_prompt(const op_authz_req_t *req, const char *const *consented, size_t n,
                            op_json_w_t *w);

#endif
