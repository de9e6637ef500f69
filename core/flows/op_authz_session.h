/*
 * core/flows/op_authz_session.h - the authorisation session API,
 * authz-sessions/rest/v3 (reference §2.1), shared by its three files:
 *
 *   op_authz_session.c  routing, the session record, the state machine
 *   op_authz_decide.c   SSO and consent decisions, the prompts
 *   op_authz_issue.c    consent -> grant, codes and tokens, the response
 *
 * One flow per API call. The login page POSTs the raw request and follows
 * the answers: "auth" (authenticate, then PUT {sub, ...}), "consent"
 * (PUT the consent), "response" (relay it to the client) or "error" (show
 * it, never redirect). Between calls the session lives in the store
 * (namespace authz-sess, under SHA-256 of its id, for
 * op.authz.sessionLifetime); the raw query is kept and parsed again at
 * each step, so one parser is the only truth about the request.
 */
#ifndef OP_AUTHZ_SESSION_H
#define OP_AUTHZ_SESSION_H

#include "core/proto/op_authz_req.h"
#include "core/proto/op_grant.h"
#include "core/server/op_server.h"
#include "core/proto/op_sub_session.h"
#include "core/proto/op_token.h"
#include "core/flows/op_writes.h"

#define OP_AS_NS       "authz-sess"
#define OP_AS_NS_SUB   "sub-sess"
#define OP_AS_NS_AUTHZ "authz"

/* The longest sub_sid a login page may hand in (ours are 43 characters). */
#define OP_AS_SUB_SID_MAX 256

/* What the API call asks. */
typedef enum {
    OP_AS_START,    /* POST {query, sub_sid} */
    OP_AS_SUBMIT,   /* PUT {sid}: authentication or consent */
    OP_AS_CANCEL,   /* DELETE {sid} */
    OP_AS_INSPECT,  /* GET {sid} */
    OP_AS_DATA_GET, /* GET {sid}/data */
    OP_AS_DATA_PUT  /* PUT {sid}/data */
} op_as_op_t;

/* The states of one API call's flow. */
typedef enum {
    AS_BEGIN,
    AS_LOAD_SESS,
    AS_PARSE,
    AS_LOAD_SUB,
    AS_DECIDE_AUTH,
    AS_AUTHENTICATED,
    AS_LOAD_AUTHZ,
    AS_DECIDE_CONSENT,
    AS_CONSENTED,
    AS_CLAIMS,
    AS_MINT,
    AS_WAIT_WRITES,
    AS_REPLY,
    AS_MAX
} op_as_state_t;

typedef struct op_as {
    op_server_t *srv;
    op_http_req_t *req;
    op_flow_t *flow;
    op_as_op_t op;
    op_keys_set_t *keys; /* retained while the flow lives */

    /* the session */
    const char *sid;
    char sess_key[65];
    bool have_sess;    /* a record exists in the store */
    const char *stage; /* "auth" or "consent" */
    const char *query;
    size_t query_len;
    const op_json_t *data; /* the session's data, or NULL */
    int64_t created;
    const op_json_t *body; /* the API call's JSON body */

    /* the request */
    op_authz_req_t areq;
    op_authz_error_t aerr;

    /* the subject session */
    const char *sub_sid; /* raw id: from the POST, or of a new session (random) */
    char sub_key[65];    /* "" when none */
    bool sub_new;        /* created by this authorisation session */
    op_sub_session_t sub;
    bool have_sub;

    /* the long-lived authorisation of (sub, client), if any */
    op_grant_t stored;
    bool have_stored;
    bool authz_loaded;     /* read with the session (authentication PUT) */
    const char *authz_cid; /* ... for this client (from the sid) */
    char authz_key[65];

    /* issuing */
    op_grant_t grant;
    bool save_authz;            /* a new long-lived consent: store the grant */
    const op_json_t *id_claims; /* claims fetched for the ID token */

    /* the call's writes, sent as one batch in AS_WAIT_WRITES */
    op_writes_t writes;
    bool guarded;     /* ... only if the session record is unchanged */
    bool sub_dirty;   /* the subject session changed: written with the batch */
    bool sub_created; /* ... and this call created it */
    bool quota_after; /* a new subject session: check the quota once written */

    /* the answer */
    int http_status;
    const char *answer;
    size_t answer_len;
    op_err_t err;
} op_as_t;

/* op_authz_session.c */
void op_as_fail(op_as_t *as, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Add a store write to the call's batch (sent when the flow reaches
 * AS_WAIT_WRITES). */
void op_as_write(op_as_t *as, const op_store_rec_t *rec);
void op_as_delete(op_as_t *as, const char *ns, const char *key);
/* Save the session record with stage, then answer w's document. */
void op_as_save_session(op_as_t *as, const char *stage);
/* A JSON writer in the flow's arena; NULL (and the flow failed) on OOM. */
op_json_w_t *op_as_writer(op_as_t *as);
/* End the session with a redirectable error: its record goes, the answer
 * is the error response (state, iss). */
void op_as_end_with_error(op_as_t *as, const char *error, const char *description);
/* Finish w (an answer object) as the reply. */
void op_as_answer(op_as_t *as, op_json_w_t *w);

/* op_authz_decide.c */
/*
 * The subject an id_token_hint names (OIDC Core §3.1.2.1) when hint is an
 * ID token this server (issuer, keys) issued to client_id, expired or
 * not; NULL for anything else, another JWT of the server's included.
 * The result and the work live in a.
 */
const char *op_as_hint_subject(const op_keys_set_t *keys, const char *issuer, const char *client_id,
                               const char *hint, op_arena_t *a);
/* Does the request need an authentication (reference §2.1 list)? */
bool op_as_needs_auth(op_as_t *as);
/* Every claim name the request asks for (scope and claims parameter),
 * without language tags, "sub" left out. */
void op_as_requested_claims(op_as_t *as, op_strs_t *out);
/* Is the request covered by the long-lived authorisation? */
bool op_as_consent_covered(op_as_t *as);
void op_as_prompt_auth(op_as_t *as);
void op_as_prompt_consent(op_as_t *as);
/* Answer the request's redirectable error (error, description). */
void op_as_respond_error(op_as_t *as, const char *error, const char *description);
/* Answer {"type":"error"} (not redirected). */
void op_as_answer_error(op_as_t *as, const op_err_t *err);

/* op_sub_quota.c: close the subject's oldest sessions beyond
 * sessionStore.quotaPerSubject, in the background (keep_key: the store
 * key of the session just created). */
void op_sub_quota_enforce(op_server_t *srv, const char *sub, const char *keep_key);

/* op_authz_issue.c */
/* A login-page-supplied identifier (sub, acr, an amr value, sub_sid): a
 * JSON string of 1..max printable ASCII bytes (%x20-7E; OIDC Core §2: sub
 * is ASCII), so no control byte or NUL reaches a key, a log or a token. */
bool op_as_id_ok(const op_json_t *v, size_t max);
/* Add the subject session record to the call's writes. */
void op_as_write_sub(op_as_t *as);
/* The authentication PUT: a new subject session. OP_OK or a 400. */
int op_as_authenticated(op_as_t *as);
/* The consent PUT -> as->grant. OP_OK or a 400. */
int op_as_consented(op_as_t *as);
/* The grant covered by the stored authorisation -> as->grant. */
void op_as_grant_from_stored(op_as_t *as);
/* Does the response carry an ID token (claims must be fetched first)? */
bool op_as_wants_id_token(const op_as_t *as);
/* Fetch the claims the ID token of the response needs (state CLAIMS,
 * then MINT), or go straight to MINT. */
void op_as_fetch_claims(op_as_t *as);
/* Mint what the response type asks, start the writes, prepare the
 * answer. */
void op_as_mint(op_as_t *as);

#endif
