/*
 * core/proto/op_grant.h - the authorisation ("grant") object (core-internal).
 *
 * What a subject allowed a client: the consent of the authorisation
 * session API becomes a grant, and the same compact members (see
 * docs/records.md) travel through the long-lived authorisation, codes,
 * access tokens and refresh tokens. One reader and one writer for all.
 */
#ifndef OP_GRANT_H
#define OP_GRANT_H

#include "core/base/op.h"
#include "core/proto/op_client.h"
#include "core/config/op_config.h"

typedef struct op_grant {
    const char *sub;
    const char *cid;
    op_strs_t scp;        /* scope values */
    op_strs_t clm;        /* claim names for UserInfo */
    op_strs_t idc;        /* claim names for the ID token */
    op_strs_t atc;        /* claim names copied into the access token */
    op_strs_t cll;        /* claims locales */
    op_strs_t aud;        /* access token audience */
    const op_json_t *uip; /* preset UserInfo claims (object or NULL) */
    const op_json_t *idp; /* preset ID token claims */
    const op_json_t *dat; /* consent data */
    bool long_lived;
    int at_lifetime_s;
    op_at_encoding_t at_encoding;
    bool rt_issue;
    int rt_lifetime_s; /* 0: no expiry */
    int rt_max_idle_s; /* 0: none */
    bool rt_rotate;
    int it_lifetime_s;
} op_grant_t;

/* Grant defaults from config (no scope, no claims). */
void op_grant_defaults(op_grant_t *g, const op_config_t *cfg);

/*
 * Write g's members into w, which has an object open (the caller adds
 * record-specific members around them).
 */
void op_grant_write(op_json_w_t *w, const op_grant_t *g);

/* Read a grant from a record object (missing members take the config
 * defaults). OP_EINVAL when a member has the wrong type. */
int op_grant_read(op_arena_t *a, const op_json_t *obj, const op_config_t *cfg, op_grant_t *out,
                  op_err_t *err);

/* Read the token specs {"lifetime","encoding"}, {"issue","lifetime",
 * "max_idle","rotate"}, {"lifetime"} (each may be NULL) into out. NULL on
 * success, else the name of the bad member. */
const char *op_grant_read_specs(op_grant_t *out, const op_json_t *at, const op_json_t *rt,
                                const op_json_t *it);

/* The longest subject: 255 ASCII characters (OIDC Core §2). */
#define OP_GRANT_SUB_MAX 255

/*
 * The store key of the long-lived authorisation of (sub, cid):
 * sha256hex(len(sub) ":" sub len(cid) ":" cid), the lengths in decimal,
 * so that no two pairs hash the same input. OP_EINVAL (and key "") when
 * sub is empty or over OP_GRANT_SUB_MAX bytes, or cid empty or over
 * OP_CLIENT_ID_MAX: nothing is ever cut short. Reads at most the bound
 * plus one byte of each string.
 */
int op_grant_key(const char *sub, const char *cid, char key[65]);

/*
 * The claims of the subject session (submitted with the authentication)
 * go into ID tokens next to the consent's preset ID token claims, which
 * win on a clash (reference §2.1, op.idToken.includeSubjectSessionClaims
 * with its default "*"). Adds them to g->idp, in a.
 */
void op_grant_add_session_claims(op_arena_t *a, op_grant_t *g, const op_json_t *claims);

#endif
