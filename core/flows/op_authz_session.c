/*
 * core/flows/op_authz_session.c - authz-sessions/rest/v3 (see
 * core/flows/op_authz_session.h): the handler, which gives each API
 * operation its flow, and the flow of a start (POST) and a submission
 * (PUT {sid}); what every call shares is in op_authz_session_call.c.
 *
 *   POST       BEGIN -> PARSE -> [SUB] -> DECIDE_AUTH
 *   PUT {sid}  BEGIN -> SESSION -> PARSE -> AUTHENTICATED | CONSENTED
 *
 *   DECIDE_AUTH    -> "auth" prompt -> WRITE | LOAD_AUTHZ
 *   AUTHENTICATED  -> DECIDE_CONSENT (read with the session) | LOAD_AUTHZ
 *   LOAD_AUTHZ     -> AUTHZ -> DECIDE_CONSENT
 *   DECIDE_CONSENT -> "consent" prompt -> WRITE | CLAIMS
 *   CONSENTED      -> CLAIMS -> MINT -> WRITE
 *   WRITE -> WRITTEN (answer)          any state -> ERROR (answer f->err)
 *
 * A prompt saves the session record; the final response (or an error
 * sent back to the client) deletes it. A call on an existing session
 * writes only if the record is still the one it read
 * (op_authz_session_record_guard): one response per session, whatever races.
 */
#include <string.h>

#include "core/flows/op_authz_session.h"
#include "core/flows/op_flows.h"

#define OP_AUTHZ_SESSION_ARENA     (1u << 20)
#define OP_AUTHZ_SESSION_SID_MAX   256 /* base64url of a 128-byte client_id, ".", 43 chars */
#define OP_AUTHZ_SESSION_QUERY_MAX (16 * 1024)

typedef enum {
    AS_BEGIN,          /* the API token, the body; a PUT reads the session */
    AS_SESSION,        /* the session (and the authorisation) read */
    AS_PARSE,          /* the request, parsed once */
    AS_SUB,            /* the POST's subject session read */
    AS_DECIDE_AUTH,    /* sign in, or SSO */
    AS_AUTHENTICATED,  /* the authentication PUT */
    AS_LOAD_AUTHZ,     /* read the long-lived authorisation */
    AS_AUTHZ,          /* ... read */
    AS_DECIDE_CONSENT, /* prompt, or covered */
    AS_CONSENTED,      /* the consent PUT */
    AS_CLAIMS,         /* fetch the claims the tokens carry */
    AS_MINT,           /* the response */
    AS_WRITE,          /* send the call's writes */
    AS_WRITTEN,        /* ... sent: answer */
    AS_ERROR,          /* answer f->err */
    AS_MAX
} op_authz_session_state_t;

static const char *const op_authz_session_states[AS_MAX] = {
    "begin",      "session", "parse",          "sub",       "decide_auth", "authenticated",
    "load_authz", "authz",   "decide_consent", "consented", "claims",      "mint",
    "write",      "written", "error",
};

/* The long-lived authorisation read into r: kept when there is a good
 * one; an unreadable one counts as none. */
static int op_authz_session_stored(op_authz_session_t *as, const op_authz_session_res_t *r)
{
    op_json_t *o;
    op_err_t err;

    if (r->st != OP_OK && r->st != OP_ENOTFOUND)
        return OP_ERR(&as->flow->err, r->st, "storage: %s", op_err_status_name(r->st));
    op_err_clear(&err);
    as->have_stored = r->st == OP_OK &&
                      op_json_parse(as->flow->arena, r->val, r->len, NULL, &o, &err) == OP_OK &&
                      op_grant_read(as->flow->arena, o, as->srv->cfg, &as->stored, &err) == OP_OK;
    return OP_OK;
}

/* ---- start and submit: the steps ------------------------------------------------- */

/*
 * POST body: {"query": "...", "sub_sid": "..." | null}. The API's own
 * bound on a new request: a query over OP_AUTHZ_SESSION_QUERY_MAX bytes
 * is a bad API call (400). Everything else about the query is the
 * request's own, answered by the parse (AS_PARSE).
 */
static int op_authz_session_start_body(op_authz_session_t *as)
{
    op_err_t *err = &as->flow->err;
    const op_json_t *body;

    if (op_http_req_json(as->req, &body, err) != OP_OK)
        return OP_EINVAL;
    const op_json_t *q = op_json_get(body, "query");
    const op_json_t *ss = op_json_get(body, "sub_sid");
    if (!op_json_is(body, OP_JSON_OBJECT) || q == NULL || q->type != OP_JSON_STRING)
        return OP_ERR(err, OP_EINVAL, "the body must be an object with a \"query\" string");
    if (ss != NULL && ss->type != OP_JSON_NULL &&
        !op_authz_session_issue_id_ok(ss, OP_AS_SUB_SID_MAX))
        return OP_ERR(err, OP_EINVAL,
                      "\"sub_sid\" must be null or 1 to %d printable ASCII characters",
                      OP_AS_SUB_SID_MAX);
    if (q->u.str.len > OP_AUTHZ_SESSION_QUERY_MAX)
        return OP_ERR(err, OP_EINVAL, "query: longer than %d bytes", OP_AUTHZ_SESSION_QUERY_MAX);
    as->query = q->u.str.s;
    as->query_len = q->u.str.len;
    if (ss != NULL && ss->type == OP_JSON_STRING) {
        as->sub_sid = ss->u.str.s;
        op_sub_session_key(as->sub_sid, as->sub_key);
    }
    return OP_OK;
}

/* PUT {sid} body: an object; its sub, which goes into a store key before
 * anything else is read, is checked first. */
static int op_authz_session_submit_body(op_authz_session_t *as)
{
    op_err_t *err = &as->flow->err;

    if (op_http_req_json(as->req, &as->body, err) != OP_OK)
        return err->code;
    if (!op_json_is(as->body, OP_JSON_OBJECT))
        return OP_ERR(err, OP_EINVAL, "the body must be a JSON object");
    const op_json_t *sub = op_json_get(as->body, "sub");
    if (sub != NULL && !op_authz_session_issue_id_ok(sub, OP_GRANT_SUB_MAX))
        return OP_ERR(err, OP_EINVAL, "sub: must be 1 to %d printable ASCII characters",
                      OP_GRANT_SUB_MAX);
    return OP_OK;
}

/* The API token and the body; a PUT starts the read of its session, an
 * authentication along with the subject's long-lived authorisation for
 * the session's client (one round trip). */
static int op_authz_session_begin(op_flow_t *f)
{
    op_authz_session_t *as = f->ctx;

    if (!op_authz_session_call_authorised(as))
        return OP_DONE;
    if (!as->submit) {
        op_flow_set_state(f, op_authz_session_start_body(as) == OP_OK ? AS_PARSE : AS_ERROR);
        return OP_OK;
    }
    if (op_authz_session_submit_body(as) != OP_OK) {
        op_flow_set_state(f, AS_ERROR);
        return OP_OK;
    }
    op_authz_session_record_key(as);
    const op_json_t *sub = op_json_get(as->body, "sub");
    const char *cid = sub != NULL ? op_authz_session_record_sid_client(as) : NULL;
    op_flow_set_state(f, AS_SESSION);
    if (cid == NULL || op_grant_key(sub->u.str.s, cid, as->authz_key) != OP_OK) {
        op_authz_session_call_get(f, OP_AS_NS, as->sess_key);
        return OP_AGAIN;
    }
    as->authz_cid = cid;
    const op_store_batch_op_t ops[] = {
        {OP_STORE_BATCH_GET, {.ns = OP_AS_NS, .key = as->sess_key, .key_len = 64}, 0},
        {OP_STORE_BATCH_GET, {.ns = OP_AS_NS_AUTHZ, .key = as->authz_key, .key_len = 64}, 0},
    };
    op_authz_session_call_batch(f, ops, OP_NELEMS(ops));
    return OP_AGAIN;
}

/* The session read (and the authorisation, when asked): its writes are
 * guarded by the bytes read. */
static int op_authz_session_session(op_flow_t *f)
{
    op_authz_session_t *as = f->ctx;
    int rc = as->batch_st != OP_OK
                 ? OP_ERR(&f->err, as->batch_st, "storage: %s", op_err_status_name(as->batch_st))
                 : op_authz_session_record_read(as, &as->res[0]);

    if (rc == OP_OK && as->authz_cid != NULL) {
        rc = op_authz_session_stored(as, &as->res[1]);
        as->authz_read = rc == OP_OK;
    }
    if (rc == OP_OK)
        op_authz_session_record_guard(as);
    op_flow_set_state(f, rc == OP_OK ? AS_PARSE : AS_ERROR);
    return OP_OK;
}

static int op_authz_session_parsed(op_flow_t *f)
{
    op_authz_session_t *as = f->ctx;
    int rc = op_authz_session_call_parse(as);

    if (rc == OP_OK && !as->submit)
        rc = op_authz_session_record_new(as);
    if (rc != OP_OK) {
        op_flow_set_state(f, rc == OP_DECLINED ? AS_WRITE : AS_ERROR);
        return OP_OK;
    }
    if (as->submit) {
        /* consent: the subject session came with the session record */
        op_flow_set_state(f, strcmp(as->stage, "auth") == 0 ? AS_AUTHENTICATED : AS_CONSENTED);
        return OP_OK;
    }
    if (as->sub_sid == NULL) {
        op_flow_set_state(f, AS_DECIDE_AUTH);
        return OP_OK;
    }
    op_flow_set_state(f, AS_SUB);
    op_authz_session_call_get(f, OP_AS_NS_SUB, as->sub_key);
    return OP_AGAIN;
}

/* The subject session the POST named: alive, or none. */
static int op_authz_session_sub(op_flow_t *f)
{
    op_authz_session_t *as = f->ctx;
    const op_authz_session_res_t *r = &as->res[0];
    op_err_t err;

    if (r->st != OP_OK && r->st != OP_ENOTFOUND) {
        OP_ERR(&f->err, r->st, "storage: %s", op_err_status_name(r->st));
        op_flow_set_state(f, AS_ERROR);
        return OP_OK;
    }
    op_err_clear(&err);
    if (r->st == OP_OK && op_sub_session_read(f->arena, r->val, r->len, &as->sub, &err) == OP_OK)
        as->have_sub = op_sub_session_alive(&as->sub, op_loop_epoch());
    op_flow_set_state(f, AS_DECIDE_AUTH);
    return OP_OK;
}

/* A prompt: its document, and the record saved at its stage. prompt=none
 * instead ends the session with the error (OIDC Core §3.1.2.6). */
static int op_authz_session_prompt(op_authz_session_t *as, const char *stage, const char *error,
                                   const char *description)
{
    bool none = (as->areq.prompt & OP_AUTHZ_PROMPT_NONE) != 0;
    int rc;

    if (none && (strcmp(stage, "auth") == 0 || !as->srv->cfg->authz_always_prompt_consent)) {
        op_authz_session_record_drop(as);
        return op_authz_session_call_error_response(as, error, description);
    }
    rc = strcmp(stage, "auth") == 0 ? op_authz_session_decide_auth_prompt(as)
                                    : op_authz_session_decide_consent_prompt(as);
    return rc == OP_OK ? op_authz_session_record_save(as, stage) : rc;
}

static int op_authz_session_decide_auth(op_flow_t *f)
{
    op_authz_session_t *as = f->ctx;

    if (!op_authz_session_decide_needs_auth(as)) {
        op_flow_set_state(f, AS_LOAD_AUTHZ);
        return OP_OK;
    }
    int rc = op_authz_session_prompt(as, "auth", "login_required", "the subject must sign in");
    op_flow_set_state(f, rc == OP_OK ? AS_WRITE : AS_ERROR);
    return OP_OK;
}

static int op_authz_session_authenticated(op_flow_t *f)
{
    op_authz_session_t *as = f->ctx;

    if (op_authz_session_issue_authenticated(as) != OP_OK)
        op_flow_set_state(f, AS_ERROR);
    else if (as->authz_read && strcmp(as->authz_cid, as->areq.client_id) == 0)
        op_flow_set_state(f, AS_DECIDE_CONSENT); /* read with the session */
    else
        op_flow_set_state(f, AS_LOAD_AUTHZ);
    return OP_OK;
}

/* Look up the long-lived authorisation of (sub, client). */
static int op_authz_session_load_authz(op_flow_t *f)
{
    op_authz_session_t *as = f->ctx;

    if (op_grant_key(as->sub.sub, as->areq.client_id, as->authz_key) != OP_OK) {
        /* a subject no authorisation can be kept for */
        op_flow_set_state(f, AS_DECIDE_CONSENT);
        return OP_OK;
    }
    op_flow_set_state(f, AS_AUTHZ);
    op_authz_session_call_get(f, OP_AS_NS_AUTHZ, as->authz_key);
    return OP_AGAIN;
}

static int op_authz_session_authz(op_flow_t *f)
{
    op_authz_session_t *as = f->ctx;

    op_flow_set_state(f, op_authz_session_stored(as, &as->res[0]) == OP_OK ? AS_DECIDE_CONSENT
                                                                           : AS_ERROR);
    return OP_OK;
}

static int op_authz_session_decide_consent(op_flow_t *f)
{
    op_authz_session_t *as = f->ctx;

    if (op_authz_session_decide_covered(as)) {
        op_authz_session_issue_from_stored(as);
        op_flow_set_state(f, AS_CLAIMS);
        return OP_OK;
    }
    int rc = op_authz_session_prompt(as, "consent", "consent_required", "the subject must consent");
    op_flow_set_state(f, rc == OP_OK ? AS_WRITE : AS_ERROR);
    return OP_OK;
}

static int op_authz_session_consented(op_flow_t *f)
{
    op_authz_session_t *as = f->ctx;
    int rc = as->have_sub ? op_authz_session_issue_consented(as)
                          : OP_ERR(&f->err, OP_ENOTFOUND,
                                   "the subject session of this authorisation is gone");

    op_flow_set_state(f, rc == OP_OK ? AS_CLAIMS : AS_ERROR);
    return OP_OK;
}

/* As the reference's op.idToken.ignoreClaimsSourceErrors (default true):
 * the tokens go out without the claims the sources failed on (AS_MINT
 * logs why). */
static void op_authz_session_on_claims(int status, const op_json_t *claims, const op_err_t *err,
                                       void *arg)
{
    op_flow_t *f = arg;
    op_authz_session_t *as = f->ctx;

    as->claims_st = status;
    as->id_claims = status == OP_OK ? claims : NULL;
    if (status != OP_OK && err != NULL)
        as->claims_why = op_arena_strdup(f->arena, err->description);
    op_flow_resume(f);
}

/* The claims the front-channel tokens carry, in one lookup. */
static int op_authz_session_claims(op_flow_t *f)
{
    op_authz_session_t *as = f->ctx;

    if (op_authz_session_issue_claim_names(as) != OP_OK) {
        op_flow_set_state(f, AS_ERROR);
        return OP_OK;
    }
    op_flow_set_state(f, AS_MINT);
    if (as->claim_names.n == 0)
        return OP_OK;
    op_flow_hold(f);
    op_token_claims_fetch(as->srv->spi, as->srv->cfg->spi_timeout_ms, &as->grant, &as->claim_names,
                          "id_token", f->req_id, f->arena, op_authz_session_on_claims, f);
    return OP_AGAIN;
}

static int op_authz_session_mint(op_flow_t *f)
{
    op_authz_session_t *as = f->ctx;

    if (as->claims_st != OP_OK && as->claims_st != OP_ENOTFOUND)
        op_log_warn(f->req_id, "authz: ID token claims left out: %s",
                    as->claims_why != NULL ? as->claims_why : op_err_status_name(as->claims_st));
    op_flow_set_state(f, op_authz_session_issue_mint(as) == OP_OK ? AS_WRITE : AS_ERROR);
    return OP_OK;
}

static int op_authz_session_write(op_flow_t *f)
{
    int rc;

    op_flow_set_state(f, AS_WRITTEN);
    rc = op_authz_session_call_flush(f);
    if (rc == OP_AGAIN)
        return OP_AGAIN;
    if (rc != OP_OK)
        op_flow_set_state(f, AS_ERROR);
    return OP_OK;
}

static int op_authz_session_written_step(op_flow_t *f)
{
    if (op_authz_session_call_written(f) != OP_OK) {
        op_flow_set_state(f, AS_ERROR);
        return OP_OK;
    }
    return op_authz_session_call_reply(f);
}

static int op_authz_session_step(op_flow_t *f)
{
    switch ((op_authz_session_state_t)f->state) {
    case AS_BEGIN:
        return op_authz_session_begin(f);
    case AS_SESSION:
        return op_authz_session_session(f);
    case AS_PARSE:
        return op_authz_session_parsed(f);
    case AS_SUB:
        return op_authz_session_sub(f);
    case AS_DECIDE_AUTH:
        return op_authz_session_decide_auth(f);
    case AS_AUTHENTICATED:
        return op_authz_session_authenticated(f);
    case AS_LOAD_AUTHZ:
        return op_authz_session_load_authz(f);
    case AS_AUTHZ:
        return op_authz_session_authz(f);
    case AS_DECIDE_CONSENT:
        return op_authz_session_decide_consent(f);
    case AS_CONSENTED:
        return op_authz_session_consented(f);
    case AS_CLAIMS:
        return op_authz_session_claims(f);
    case AS_MINT:
        return op_authz_session_mint(f);
    case AS_WRITE:
        return op_authz_session_write(f);
    case AS_WRITTEN:
        return op_authz_session_written_step(f);
    case AS_ERROR:
    case AS_MAX:
        break;
    }
    return op_authz_session_call_reply_error(f);
}

static const op_flow_def_t op_authz_session_flow = {
    "authz-session",
    AS_MAX,
    op_authz_session_states,
    op_authz_session_step,
    op_authz_session_call_free,
};

/* ---- the handler --------------------------------------------------------------- */

/* The flow of one API operation. POST /authz-sessions/rest/v3 and PUT
 * .../{sid}: start/submit; GET .../{sid}; GET and PUT .../{sid}/data;
 * DELETE .../{sid}. NULL: no such resource. */
static const op_flow_def_t *op_authz_session_route(op_http_method_t m, size_t sid_len,
                                                   const char *rest)
{
    if (sid_len == 0)
        return m == OP_HTTP_POST && rest == NULL ? &op_authz_session_flow : NULL;
    if (sid_len > OP_AUTHZ_SESSION_SID_MAX)
        return NULL;
    if (rest != NULL)
        return strcmp(rest, "/data") == 0 && (m == OP_HTTP_GET || m == OP_HTTP_PUT)
                   ? &op_authz_session_ops_data
                   : NULL;
    return m == OP_HTTP_PUT      ? &op_authz_session_flow
           : m == OP_HTTP_GET    ? &op_authz_session_ops_inspect
           : m == OP_HTTP_DELETE ? &op_authz_session_ops_cancel
                                 : NULL;
}

static void op_authz_session_handle(op_http_req_t *req, void *arg)
{
    op_server_t *srv = arg;
    const char *sub = op_http_req_subpath(req);
    const char *slash = strchr(sub, '/');
    size_t sid_len = slash != NULL ? (size_t)(slash - sub) : strlen(sub);
    const op_flow_def_t *def = op_authz_session_route(op_http_req_method(req), sid_len, slash);
    op_flow_t *f;
    op_err_t err;

    if (def == NULL) {
        OP_ERR(&err, OP_ENOTFOUND, "no such resource");
        op_http_reply_error(req, &err);
        return;
    }
    op_authz_session_t *as =
        op_server_flow_new(srv, req, def, OP_AUTHZ_SESSION_ARENA, sizeof(*as), &f);
    if (as == NULL)
        return;
    as->srv = srv;
    as->req = req;
    as->flow = f;
    as->submit = sid_len > 0;
    as->keys = op_keys_current(srv->keys);
    if (sid_len > 0 && (as->sid = op_arena_strndup(f->arena, sub, sid_len)) == NULL) {
        OP_ERR(&err, OP_ETOOBIG, "the session id does not fit the flow's arena");
        op_http_reply_error(req, &err);
        op_flow_release(f);
        return;
    }
    op_flow_run(f);
}

const op_endpoint_t op_authz_session_endpoint = {
    .name = "authz-sessions",
    .routes = {{OP_HTTP_GET | OP_HTTP_POST | OP_HTTP_PUT | OP_HTTP_DELETE,
                "/authz-sessions/rest/v3", OP_ROUTE_PREFIX | OP_ROUTE_SECRET,
                op_authz_session_handle, NULL}},
};
