/*
 * core/proto/op_sub_session.h - subject (SSO) sessions (core-internal).
 *
 * A subject session is created when the login page reports an
 * authentication; the browser keeps its id (sub_sid, a bearer secret) in a
 * cookie and the store keeps the record under SHA-256(sub_sid). Members and
 * timeout semantics follow the reference (§2.6): the session closes at
 * max_life after creation or max_idle after its last use; past auth_life
 * after the authentication it stays, but the next request re-authenticates.
 * Timeouts are in minutes, -1 meaning unlimited.
 */
#ifndef OP_SUB_SESSION_H
#define OP_SUB_SESSION_H

#include "core/proto/op_grant.h"

typedef struct op_sub_session {
    const char *sub;
    int64_t auth_time;
    int64_t creation_time;
    int64_t creation_ms; /* finer creation time: orders sessions for the quota */
    int64_t last_used;
    const char *acr; /* NULL when none */
    op_strs_t amr;
    int max_life; /* minutes, -1: unlimited */
    int auth_life;
    int max_idle;
    op_strs_t rps;           /* client_ids that signed in during the session */
    const op_json_t *data;   /* object or NULL */
    const op_json_t *claims; /* object or NULL */
    const char *sid_claim;   /* the OpenID "sid" claim given to clients */
} op_sub_session_t;

/*
 * A fresh session for sub authenticated at auth_time, with the config's
 * timeouts. Its sid_claim is an independent random id (128 bits): relying
 * parties see it, so it must not be a function of the session id, nor of
 * its store key.
 */
int op_sub_session_new(op_arena_t *a, const op_config_t *cfg, const char *sub, int64_t auth_time,
                       op_sub_session_t *out);

/*
 * A new session id (sub_sid, the SSO cookie value): 256 random bits,
 * base64url, in a; NULL when a is full. Independent of every other value and key:
 * nothing but the id itself yields it.
 */
const char *op_sub_session_new_id(op_arena_t *a);

/*
 * A new session's id, kept in the record of the authorisation session
 * that created it until its final answer hands it over. The store knows
 * that session only by SHA-256(sid), so the id is sealed
 * (XChaCha20-Poly1305) under op_keys_crypto_kdf(sid, OP_KDF_INFO_SUB_SID): the record
 * alone, even with every secret of the config, does not yield the cookie;
 * an API call that presents the sid opens it. Seal: "<nonce>.<ct>" in a,
 * NULL on failure. Open: the id in a, NULL when the value does not open
 * under sid.
 */
char *op_sub_session_seal_id(op_arena_t *a, const char *sid, const char *sub_sid);
const char *op_sub_session_open_id(op_arena_t *a, const char *sid, const char *sealed);

int op_sub_session_read(op_arena_t *a, const char *json, size_t len, op_sub_session_t *out,
                        op_err_t *err);
/* The same from a parsed record object. */
int op_sub_session_from_json(op_arena_t *a, const op_json_t *o, op_sub_session_t *out,
                             op_err_t *err);
/* The record as one JSON value written into w. */
void op_sub_session_write_record(op_json_w_t *w, const op_sub_session_t *s);
/* Serialise for the store. */
int op_sub_session_write(op_arena_t *a, const op_sub_session_t *s, const char **out, size_t *len,
                         op_err_t *err);
/* The session object of the integration APIs (reference §2.6), members
 * written into an open object of w; sid may be NULL (not shown). */
void op_sub_session_write_api(op_json_w_t *w, const op_sub_session_t *s, const char *sid);

/* Still open at now (max_life and max_idle)? */
bool op_sub_session_alive(const op_sub_session_t *s, int64_t now);
/* Authentication still fresh (auth_life)? */
bool op_sub_session_auth_fresh(const op_sub_session_t *s, int64_t now);
/* Store TTL for the record at now (ms); 0 means none. */
uint64_t op_sub_session_ttl_ms(const op_sub_session_t *s, int64_t now);

/* The store key of a sub_sid: sha256hex, 65 bytes with the NUL. */
void op_sub_session_key(const char *sub_sid, char key[65]);

#endif
