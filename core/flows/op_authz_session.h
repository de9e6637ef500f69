/*
 * core/flows/op_authz_session.h - the authorisation session API,
 * authz-sessions/rest/v3 (reference §2.1), shared by its files:
 *
 *   op_authz_session.c         the handler (one flow per API operation)
 *                              and the flow of a start (POST) and a
 *                              submission (PUT {sid})
 *   op_authz_session_ops.c     the small flows: GET {sid}, GET and PUT
 *                              {sid}/data, DELETE {sid}
 *   op_authz_session_call.c    what every call shares: store reads, the
 *                              parse, the answers, the writes that end it
 *   op_authz_session_record.c  the session record: its id, serialising,
 *                              sealing, parsing, the compare-and-set guard
 *   op_authz_session_decide.c  SSO and consent decisions, the prompts
 *   op_authz_session_issue.c   the submissions, consent -> grant, the
 *                              codes and tokens of the response
 *   op_sub_quota.c             the per-subject session quota (op_sub_quota.h)
 *
 * The login page POSTs the raw request and follows the answers: "auth"
 * (authenticate, then PUT {sub, ...}), "consent" (PUT the consent),
 * "response" (relay it to the client) or "error" (show it, never
 * redirect). Between calls the session lives in the store (namespace
 * authz-sess, under SHA-256 of its id, for op.authz.sessionLifetime); the
 * raw query is kept and parsed again, once, at each call that needs it,
 * so one parser is the only truth about the request.
 *
 * Only the step functions of the flows (op_authz_session.c,
 * op_authz_session_ops.c) set a flow's state. The helpers below return a
 * status, with the error in the flow's f->err (its one error channel), or
 * finish a document into as->answer; a store completion only stores its
 * result in as->res and resumes the flow, whose state then reads it.
 */
#ifndef OP_AUTHZ_SESSION_H
#define OP_AUTHZ_SESSION_H

#include "core/proto/op_authz_resp.h"
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

/* One operation's outcome of the last store read, its value copied. */
typedef struct op_authz_session_res {
    int st;
    const char *val;
    size_t len;
} op_authz_session_res_t;

/* The context of every flow of the API (f->ctx). */
typedef struct op_authz_session {
    op_server_t *srv;
    op_http_req_t *req;
    op_flow_t *flow;
    op_keys_set_t *keys;   /* retained while the flow lives */
    bool submit;           /* a call on a session (else the POST) */
    const op_json_t *body; /* the API call's JSON body */

    /* the last store read: a get (res[0]) or a batch of two */
    int batch_st;
    op_authz_session_res_t res[2];

    /* the session record (op_authz_session_record.c) */
    const char *sid;
    char sess_key[65];
    bool have_sess;  /* a record exists in the store */
    const char *raw; /* ... its bytes as read (the compare-and-set) */
    size_t raw_len;
    const char *stage; /* "auth" or "consent" */
    const char *query;
    size_t query_len;
    const op_json_t *data; /* the session's data, or NULL */
    int64_t created;

    /* the request, parsed once per call */
    op_authz_req_t areq;
    bool hint_checked;    /* its id_token_hint verified: */
    const char *hint_sub; /* ... the subject it names, or NULL */

    /* the subject session */
    const char *sub_sid; /* raw id: from the POST, or of a new session (random) */
    char sub_key[65];    /* "" when none */
    bool sub_new;        /* created by this authorisation session */
    op_sub_session_t sub;
    bool have_sub;

    /* the long-lived authorisation of (sub, client), if any */
    op_grant_t stored;
    bool have_stored;
    bool authz_read;       /* read with the session (authentication PUT) */
    const char *authz_cid; /* ... for this client (from the sid) */
    char authz_key[65];

    /* issuing */
    op_grant_t grant;
    bool save_authz;            /* a new long-lived consent: store the grant */
    op_strs_t claim_names;      /* the claims the front-channel tokens carry */
    int claims_st;              /* ... the fetch's status */
    const char *claims_why;     /* ... and its failure */
    const op_json_t *id_claims; /* ... the claims fetched */

    /* the call's writes, sent as one batch by op_authz_session_call_flush */
    op_writes_t writes;
    bool guarded;     /* ... only if the session record is unchanged */
    bool sub_dirty;   /* the subject session changed: written with the batch */
    bool sub_created; /* ... and this call created it */
    bool quota_after; /* a new subject session: check the quota once written */

    /* the answer: a document (200) or 204 */
    int http_status;
    const char *answer;
    size_t answer_len;
} op_authz_session_t;

/* ---- op_authz_session_call.c: what every call of the API shares -------------------- */

/* The API's bearer token (op.authz API tokens); when it is missing or
 * wrong, the 401 is answered here and the flow ends (OP_DONE). */
bool op_authz_session_call_authorised(op_authz_session_t *as);

/* Start a get of (ns, key) whose result (as->res[0]) the flow's next
 * state reads; the flow waits (OP_AGAIN). key is 64 hex digits. */
void op_authz_session_call_get(op_flow_t *f, const char *ns, const char *key);

/* Start a batch of ops[0..n) (n <= 2, copied by the store) whose results
 * (as->batch_st, as->res[0..n)) the next state reads. */
void op_authz_session_call_batch(op_flow_t *f, const op_store_batch_op_t *ops, size_t n);

/*
 * The one parse of the call's request (as->query). OP_OK; OP_DECLINED
 * when it failed and the answer is ready: the error goes back to the
 * client when the parse found its redirect_uri good (RFC 6749 §4.1.2.1),
 * else to the login page ({"type":"error"}); either way the session ends
 * (its record dropped from the writes). Else the error (f->err).
 */
int op_authz_session_call_parse(op_authz_session_t *as);

/* A JSON writer in the flow's arena; NULL (f->err set: OP_ETOOBIG) when it
 * is full. */
op_json_w_t *op_authz_session_call_writer(op_authz_session_t *as);

/* Finish w (an answer object) as the 200 answer. OP_OK or the error. */
int op_authz_session_call_doc(op_authz_session_t *as, op_json_w_t *w);

/* The answer {"type":"error", error, error_description} of err (shown by
 * the login page, never redirected). */
int op_authz_session_call_error_doc(op_authz_session_t *as, const op_err_t *err);

/* The request's redirectable error response (error, description; state
 * and iss added, RFC 6749 §4.1.2.1, RFC 9207). */
int op_authz_session_call_error_response(op_authz_session_t *as, const char *error,
                                         const char *description);

/*
 * Send the call's writes as one batch. A batch that changes or ends the
 * session (as->guarded) decides the call: the request deadline stops
 * before it goes, and when the deadline already answered it never goes
 * (OP_ETIMEDOUT). OP_AGAIN: it went, the flow waits, and the next state
 * reads it with op_authz_session_call_written; OP_OK: nothing to send.
 */
int op_authz_session_call_flush(op_flow_t *f);

/* How the batch went: OP_OK, OP_ECONFLICT (another call changed or ended
 * the session first: nothing applied, a 409) or the store's failure. */
int op_authz_session_call_written(op_flow_t *f);

/* Send the prepared answer (the document or a 204). Returns OP_DONE. */
int op_authz_session_call_reply(op_flow_t *f);

/* Send f->err. Returns OP_DONE. */
int op_authz_session_call_reply_error(op_flow_t *f);

/* Every flow's on_free: the key set goes. */
void op_authz_session_call_free(op_flow_t *f);

/* ---- op_authz_session_ops.c: the flows of GET, .../data and DELETE ------ */

extern const op_flow_def_t op_authz_session_ops_inspect; /* GET {sid} */
extern const op_flow_def_t op_authz_session_ops_data;    /* GET, PUT {sid}/data */
extern const op_flow_def_t op_authz_session_ops_cancel;  /* DELETE {sid} */

/* ---- op_authz_session_record.c: the session record --------------------------------- */

/* A new session (POST): its id "<base64url client_id>.<random>", key and
 * creation time. The client id (public) lets the authentication PUT read
 * the session and the long-lived authorisation in one round trip. */
int op_authz_session_record_new(op_authz_session_t *as);

/* The store key of as->sid (an existing session's). */
void op_authz_session_record_key(op_authz_session_t *as);

/* The client id a session id names, or NULL. In the flow's arena. */
const char *op_authz_session_record_sid_client(op_authz_session_t *as);

/* The record read into r: present and well-formed (as->stage, query,
 * data, created, the subject session's key, the sealed sub_sid, the
 * consent stage's subject session). OP_ENOTFOUND (404), the store's
 * failure, or OP_ERROR / OP_EINVAL for a malformed record. */
int op_authz_session_record_read(op_authz_session_t *as, const op_authz_session_res_t *r);

/* Make the call's batch apply only if the record still holds the bytes
 * read: one response per session, whatever races. */
void op_authz_session_record_guard(op_authz_session_t *as);

/* Add the record, now at stage, to the call's writes (TTL: what is left
 * of the session's lifetime). */
int op_authz_session_record_save(op_authz_session_t *as, const char *stage);

/* The session ends: its record goes with the call's writes. */
void op_authz_session_record_drop(op_authz_session_t *as);

/* ---- op_authz_session_decide.c: decisions and prompts ------------------------------ */

/*
 * The subject an id_token_hint names (OIDC Core §3.1.2.1) when hint is an
 * ID token this server (issuer, keys) issued to client_id, expired or
 * not; NULL for anything else, another JWT of the server's included.
 * The result and the work live in a.
 */
const char *op_authz_session_decide_hint_subject(const op_keys_set_t *keys, const char *issuer,
                                                 const char *client_id, const char *hint,
                                                 op_arena_t *a);

/* Does the request need an authentication (reference §2.1 list)? */
bool op_authz_session_decide_needs_auth(op_authz_session_t *as);

/* Every claim name the request asks for (scope and claims parameter),
 * without language tags, "sub" left out. */
void op_authz_session_decide_requested_claims(op_authz_session_t *as, op_strs_t *out);

/* Is the request covered by the long-lived authorisation? */
bool op_authz_session_decide_covered(op_authz_session_t *as);

/* The "auth" and "consent" prompt documents (as->answer). */
int op_authz_session_decide_auth_prompt(op_authz_session_t *as);
int op_authz_session_decide_consent_prompt(op_authz_session_t *as);

/* ---- op_authz_session_issue.c: submissions and the response --------------------- */

/* A login-page-supplied identifier (sub, acr, an amr value, sub_sid): a
 * JSON string of 1..max printable ASCII bytes (%x20-7E; OIDC Core §2: sub
 * is ASCII), so no control byte or NUL reaches a key, a log or a token. */
bool op_authz_session_issue_id_ok(const op_json_t *v, size_t max);

/* The authentication PUT: a new subject session. OP_OK or a 400. */
int op_authz_session_issue_authenticated(op_authz_session_t *as);

/* The consent PUT -> as->grant. OP_OK or a 400. */
int op_authz_session_issue_consented(op_authz_session_t *as);

/* The grant covered by the stored authorisation -> as->grant. */
void op_authz_session_issue_from_stored(op_authz_session_t *as);

/* The claims the response's tokens need fetched, into as->claim_names
 * (none: n is 0). */
int op_authz_session_issue_claim_names(op_authz_session_t *as);

/* Mint what the response type asks, add the records (code, access
 * token, long-lived authorisation) to the writes, drop the session
 * record and mark the subject session for writing; the response document
 * is the answer. */
int op_authz_session_issue_mint(op_authz_session_t *as);

/* Add the subject session record to the call's writes. */
int op_authz_session_issue_write_sub(op_authz_session_t *as);

#endif
