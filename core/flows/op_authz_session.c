/*
 * core/flows/op_authz_session.c - authz-sessions/rest/v3: routing, the session
 * record and the state machine of one API call (see op_authz_session.h).
 *
 *   POST          BEGIN -> PARSE -> [LOAD_SUB] -> DECIDE_AUTH
 *   PUT {sid}     BEGIN -> LOAD_SESS -> PARSE -> AUTHENTICATED | CONSENTED
 *   DELETE {sid}  BEGIN -> LOAD_SESS -> PARSE -> (error response)
 *   GET {sid}[/data], PUT {sid}/data   BEGIN -> LOAD_SESS -> REPLY
 *
 *   DECIDE_AUTH -> "auth" prompt | LOAD_AUTHZ -> DECIDE_CONSENT
 *   AUTHENTICATED -> LOAD_AUTHZ -> DECIDE_CONSENT
 *   DECIDE_CONSENT -> "consent" prompt | [CLAIMS] -> MINT
 *   CONSENTED -> [CLAIMS] -> MINT
 *   MINT -> WAIT_WRITES -> REPLY
 *
 * Every answer is prepared in as->answer; REPLY sends it. A prompt saves
 * the session record first; the final response deletes it. A call on an
 * existing session writes only if the record is still the one it read
 * (op_as_guard_session): one response per session, whatever races.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "core/flows/op_authz_session.h"
#include "core/flows/op_flows.h"

#define OP_AS_ARENA     (1u << 20)
#define OP_AS_SID_BYTES 32
#define OP_AS_SID_MAX   256 /* base64url of a 128-byte client_id, ".", 43 random chars */
#define OP_AS_QUERY_MAX (16 * 1024)

static const char *const op_as_state_names[AS_MAX] = {
    "begin",         "load_sess",   "parse",          "load_sub",  "decide_auth",
    "authenticated", "load_authz",  "decide_consent", "consented", "claims",
    "mint",          "wait_writes", "reply",
};

/* ---- answers ------------------------------------------------------------ */

void op_as_fail(op_as_t *as, int code, const char *fmt, ...)
{
    va_list ap;
    char desc[OP_ERR_DESC_MAX];
    va_start(ap, fmt);
    vsnprintf(desc, sizeof(desc), fmt, ap);
    va_end(ap);
    OP_ERR(&as->err, code, "%s", desc);
    as->answer = NULL;
    op_flow_set_state(as->flow, AS_REPLY);
}

void op_as_answer(op_as_t *as, op_json_w_t *w)
{
    if (op_json_w_finish(w, &as->answer, &as->answer_len, &as->err) != OP_OK)
        as->answer = NULL;
    as->http_status = 200;
    if (as->flow->state != AS_WAIT_WRITES)
        op_flow_set_state(as->flow, AS_REPLY);
}

op_json_w_t *op_as_writer(op_as_t *as)
{
    op_json_w_t *w = op_json_w_new(as->flow->arena, false);
    if (w == NULL)
        op_as_fail(as, OP_ENOMEM, "out of memory");
    return w;
}

void op_as_end_with_error(op_as_t *as, const char *error, const char *description)
{
    if (as->have_sess)
        op_as_delete(as, OP_AS_NS, as->sess_key);
    op_as_respond_error(as, error, description);
    if (as->answer != NULL)
        op_flow_set_state(as->flow, AS_WAIT_WRITES);
}

static void op_as_reply(op_as_t *as)
{
    if (as->http_status == 204 && as->err.code == OP_OK) {
        op_http_reply(as->req, 204, NULL, NULL, 0, OP_REPLY_NO_STORE);
        return;
    }
    if (as->answer == NULL) {
        if (as->err.code == OP_OK)
            OP_ERR(&as->err, OP_ERROR, "internal error");
        op_http_reply_error(as->req, &as->err);
        return;
    }
    op_http_reply_json(as->req, as->http_status, as->answer, as->answer_len, OP_REPLY_NO_STORE);
}

/* ---- the call's writes ------------------------------------------------- */

void op_as_write(op_as_t *as, const op_store_rec_t *rec)
{
    op_writes_put(&as->writes, rec, 0);
}

void op_as_delete(op_as_t *as, const char *ns, const char *key)
{
    op_writes_del(&as->writes, ns, key);
}

/*
 * AS_WAIT_WRITES: send the batch once, then check how it went. A batch
 * that changes or ends the session (op_as_guard_session) decides the
 * call: the request deadline stops before it goes (or, when the deadline
 * already answered, it never goes), and when another call changed the
 * session first it applies nothing and the answer is 409.
 */
static int op_as_step_writes(op_as_t *as)
{
    if (as->sub_dirty && as->err.code == OP_OK) {
        as->sub_dirty = false;
        op_as_write_sub(as);
    }
    if (as->writes.busy)
        return OP_AGAIN;
    if (as->guarded && as->writes.n > 0 && !op_http_req_commit(as->req)) {
        op_as_fail(as, OP_ETIMEDOUT, "the request took too long");
        return OP_OK;
    }
    if (op_writes_flush(&as->writes, as->srv->store, as->flow))
        return OP_AGAIN;
    if (as->writes.status == OP_ECONFLICT) {
        op_as_fail(as, OP_ECONFLICT,
                   "the authorisation session was completed or changed by another call");
        return OP_OK;
    }
    if (as->writes.status != OP_OK) {
        op_as_fail(as, as->writes.status, "storage: %s", op_status_name(as->writes.status));
        return OP_OK;
    }
    if (as->quota_after)
        op_sub_quota_enforce(as->srv, as->sub.sub, as->sub_key);
    op_flow_set_state(as->flow, AS_REPLY);
    return OP_OK;
}

/* ---- the session record ----------------------------------------------- */

/*
 * A new session id for a POST: "<base64url client_id>.<random>". The
 * client id (public) lets the authentication PUT read the session and the
 * subject's long-lived authorisation for that client in one store round
 * trip; the random part (256 bits) is what makes the id unguessable.
 */
static int op_as_new_sid(op_as_t *as)
{
    const char *cid = as->areq.client_id;
    char *tag = op_b64url_encode_arena(as->flow->arena, (const uint8_t *)cid, strlen(cid));
    char *rnd = op_rand_token(as->flow->arena, OP_AS_SID_BYTES);
    as->sid =
        tag != NULL && rnd != NULL ? op_arena_printf(as->flow->arena, "%s.%s", tag, rnd) : NULL;
    if (as->sid == NULL)
        return OP_ERR(&as->err, OP_ENOMEM, "out of memory");
    op_sha256_hex(as->sid, strlen(as->sid), as->sess_key);
    as->created = op_loop_epoch();
    return OP_OK;
}

/* The client id a session id names, or NULL. */
static const char *op_as_sid_client(op_as_t *as)
{
    const char *dot = strchr(as->sid, '.');
    size_t n = dot != NULL ? (size_t)(dot - as->sid) : 0;
    uint8_t *out = n > 0 ? op_arena_alloc(as->flow->arena, n * 3 / 4 + 1) : NULL;
    size_t len;
    if (out == NULL || !op_b64url_decode(as->sid, n, out, &len))
        return NULL;
    out[len] = '\0';
    return strlen((char *)out) == len ? (char *)out : NULL;
}

void op_as_save_session(op_as_t *as, const char *stage)
{
    op_json_w_t *w = op_as_writer(as);
    const char *json = NULL;
    size_t len = 0;
    if (w == NULL)
        return;
    op_json_w_obj_open(w);
    op_json_w_kstr(w, "stage", stage);
    op_json_w_key(w, "query");
    op_json_w_strn(w, as->query, as->query_len);
    op_json_w_kint(w, "iat", as->created);
    if (as->sub_key[0] != '\0')
        op_json_w_kstr(w, "sk", as->sub_key);
    op_json_w_kbool(w, "sub_new", as->sub_new);
    if (as->sub_new) {
        /* The new session's id, for the final answer: sealed under the sid. */
        const char *sealed = op_sub_session_seal_id(as->flow->arena, as->sid, as->sub_sid);
        if (sealed == NULL) {
            op_as_fail(as, OP_ENOMEM, "out of memory");
            return;
        }
        op_json_w_kstr(w, "sub_sid", sealed);
    }
    if (as->have_sub && strcmp(stage, "consent") == 0) {
        /* The consent step then needs no read of the subject session. */
        op_json_w_key(w, "sub");
        op_sub_session_write_record(w, &as->sub);
    }
    if (as->data != NULL) {
        op_json_w_key(w, "data");
        op_json_w_value(w, as->data);
    }
    op_json_w_obj_close(w);
    if (op_json_w_finish(w, &json, &len, &as->err) != OP_OK) {
        as->answer = NULL;
        op_flow_set_state(as->flow, AS_REPLY);
        return;
    }
    int64_t left = as->created + as->srv->cfg->authz_session_lifetime_s - op_loop_epoch();
    op_store_rec_t rec = {
        .ns = OP_AS_NS,
        .key = as->sess_key,
        .key_len = strlen(as->sess_key),
        .value = json,
        .value_len = len,
        .ttl_ms = (uint64_t)(left > 0 ? left : 1) * 1000u,
    };
    as->stage = stage;
    op_as_write(as, &rec);
    op_flow_set_state(as->flow, AS_WAIT_WRITES);
}

static int op_as_read_session(op_as_t *as, const op_store_res_t *res)
{
    op_json_t *o;
    if (op_json_parse(as->flow->arena, res->value, res->value_len, NULL, &o, &as->err) != OP_OK)
        return OP_EINVAL;
    const char *sk = op_json_get_str(o, "sk");
    as->stage = op_json_get_str(o, "stage");
    as->query = op_json_get_str(o, "query");
    as->data = op_json_get(o, "data");
    if (as->stage == NULL || as->query == NULL || !op_json_get_int(o, "iat", &as->created) ||
        (sk != NULL && strlen(sk) != 64) || !op_json_get_bool(o, "sub_new", &as->sub_new))
        return OP_ERR(&as->err, OP_ERROR, "authorisation session record is malformed");
    /* A new subject session's id, sealed under the sid (op_as_save_session). */
    const char *sealed = op_json_get_str(o, "sub_sid");
    if (as->sub_new && (sealed == NULL || (as->sub_sid = op_sub_session_open_id(
                                               as->flow->arena, as->sid, sealed)) == NULL))
        return OP_ERR(&as->err, OP_ERROR, "authorisation session record is malformed");
    as->query_len = strlen(as->query);
    if (sk != NULL)
        memcpy(as->sub_key, sk, 65);
    const op_json_t *sub = op_json_get(o, "sub");
    if (sub != NULL && op_sub_session_from_json(as->flow->arena, sub, &as->sub, &as->err) != OP_OK)
        return OP_EINVAL;
    as->have_sub = sub != NULL && op_sub_session_alive(&as->sub, op_loop_epoch());
    as->have_sess = true;
    return OP_OK;
}

static void op_as_inspect(op_as_t *as);
static void op_as_put_data(op_as_t *as);

/*
 * A call that changes or ends the session (a submission, a cancel, new
 * data) writes only if the record is still the one it read: its batch
 * begins with a compare-and-set check of the record's bytes. So a session
 * yields at most one response however many calls race for it (the first
 * batch wins; the others apply nothing), and a call refused before its
 * batch (a 400) leaves the session as it was, for the page to try again.
 */
static int op_as_guard_session(op_as_t *as, const op_store_res_t *res)
{
    const char *raw = op_arena_memdup(as->flow->arena, res->value, res->value_len);
    if (raw == NULL)
        return OP_ERR(&as->err, OP_ENOMEM, "out of memory");
    op_writes_check(&as->writes, OP_AS_NS, as->sess_key, OP_STORE_XX, raw, res->value_len);
    as->guarded = true;
    return OP_OK;
}

static void op_as_took_session(op_as_t *as, int status, const op_store_res_t *res)
{
    bool changes = as->op == OP_AS_SUBMIT || as->op == OP_AS_CANCEL || as->op == OP_AS_DATA_PUT;

    if (status == OP_ENOTFOUND)
        op_as_fail(as, OP_ENOTFOUND, "no such authorisation session (unknown or expired sid)");
    else if (status != OP_OK)
        op_as_fail(as, status, "storage: %s", op_status_name(status));
    else if (op_as_read_session(as, res) != OP_OK || (changes && op_as_guard_session(as, res)))
        op_flow_set_state(as->flow, AS_REPLY);
    else if (as->op == OP_AS_INSPECT || as->op == OP_AS_DATA_GET)
        op_as_inspect(as);
    else if (as->op == OP_AS_DATA_PUT)
        op_as_put_data(as);
    else
        op_flow_set_state(as->flow, AS_PARSE);
}

static void op_as_on_session(int status, const op_store_res_t *res, void *arg)
{
    op_as_t *as = arg;
    op_as_took_session(as, status, res);
    op_flow_resume(as->flow);
}

static void op_as_took_authz(op_as_t *as, int status, const op_store_res_t *res);

/* The session and the long-lived authorisation, read together. */
static void op_as_on_session_and_authz(int status, const op_store_batch_res_t *results, size_t n,
                                       void *arg)
{
    op_as_t *as = arg;
    if (status != OP_OK || n != 2) {
        op_as_fail(as, status != OP_OK ? status : OP_ERROR, "storage: %s", op_status_name(status));
    } else {
        op_as_took_session(as, results[0].status, &results[0].res);
        op_as_took_authz(as, results[1].status, &results[1].res);
        as->authz_loaded = true;
    }
    op_flow_resume(as->flow);
}

/* ---- GET {sid}, {sid}/data --------------------------------------------- */

static void op_as_inspect(op_as_t *as)
{
    op_json_w_t *w = op_as_writer(as);
    if (w == NULL)
        return;
    if (as->op == OP_AS_DATA_GET) {
        if (as->data != NULL)
            op_json_w_value(w, as->data);
        else
            op_json_w_null(w);
        op_as_answer(as, w);
        return;
    }
    op_json_w_obj_open(w);
    op_json_w_kstr(w, "sid", as->sid);
    op_json_w_kstr(w, "stage", as->stage);
    op_json_w_kint(w, "creation_time", as->created);
    op_params_t p;
    op_err_t perr;
    op_json_w_key(w, "auth_req");
    op_json_w_obj_open(w);
    if (op_params_parse(as->flow->arena, as->query, as->query_len, NULL, &p, &perr) == OP_OK) {
        for (size_t i = 0; i < p.n; i++)
            op_json_w_kstr(w, p.items[i].name, p.items[i].value);
    }
    op_json_w_obj_close(w);
    if (as->data != NULL) {
        op_json_w_key(w, "data");
        op_json_w_value(w, as->data);
    }
    op_json_w_obj_close(w);
    op_as_answer(as, w);
}

/* PUT {sid}/data: replace the session's data (204). */
static void op_as_put_data(op_as_t *as)
{
    if (!op_json_is(as->body, OP_JSON_OBJECT)) {
        op_as_fail(as, OP_EINVAL, "the data must be a JSON object");
        return;
    }
    as->data = as->body;
    as->http_status = 204;
    op_as_save_session(as, as->stage);
}

/* ---- the state machine ---------------------------------------------------- */

static const op_client_t *op_as_find_client(void *arg, const char *client_id)
{
    op_server_t *srv = arg;
    return op_client_find(srv->clients, client_id);
}

/* POST body: {"query": "...", "sub_sid": "..." | null}. */
static int op_as_begin_start(op_as_t *as)
{
    const op_json_t *body;
    if (op_http_req_json(as->req, &body, &as->err) != OP_OK)
        return OP_EINVAL;
    const op_json_t *q = op_json_get(body, "query");
    const op_json_t *ss = op_json_get(body, "sub_sid");
    if (!op_json_is(body, OP_JSON_OBJECT) || q == NULL || q->type != OP_JSON_STRING)
        return OP_ERR(&as->err, OP_EINVAL, "the body must be an object with a \"query\" string");
    if (ss != NULL && ss->type != OP_JSON_NULL && !op_as_id_ok(ss, OP_AS_SUB_SID_MAX))
        return OP_ERR(&as->err, OP_EINVAL,
                      "\"sub_sid\" must be null or 1 to %d printable ASCII characters",
                      OP_AS_SUB_SID_MAX);
    as->query = q->u.str.s;
    as->query_len = q->u.str.len;
    if (ss != NULL && ss->type == OP_JSON_STRING) {
        as->sub_sid = ss->u.str.s;
        op_sub_session_key(as->sub_sid, as->sub_key);
    }
    return OP_OK;
}

static int op_as_step_begin(op_as_t *as)
{
    const op_config_t *cfg = as->srv->cfg;
    if (!op_api_token_ok(as->req, cfg->api_tokens, cfg->n_api_tokens, false)) {
        op_api_reply_unauthorized(as->req);
        return OP_DONE;
    }
    if (as->op == OP_AS_START) {
        if (op_as_begin_start(as) != OP_OK) {
            op_flow_set_state(as->flow, AS_REPLY);
            return OP_OK;
        }
        op_flow_set_state(as->flow, AS_PARSE);
        return OP_OK;
    }
    if (as->op == OP_AS_SUBMIT || as->op == OP_AS_DATA_PUT) {
        if (op_http_req_json(as->req, &as->body, &as->err) != OP_OK ||
            (as->op == OP_AS_SUBMIT && !op_json_is(as->body, OP_JSON_OBJECT))) {
            if (as->err.code == OP_OK)
                OP_ERR(&as->err, OP_EINVAL, "the body must be a JSON object");
            op_flow_set_state(as->flow, AS_REPLY);
            return OP_OK;
        }
    }
    /* The subject goes into store keys before anything else is read:
     * checked first. */
    const op_json_t *sub = as->op == OP_AS_SUBMIT ? op_json_get(as->body, "sub") : NULL;
    if (sub != NULL && !op_as_id_ok(sub, OP_GRANT_SUB_MAX)) {
        op_as_fail(as, OP_EINVAL, "sub: must be 1 to %d printable ASCII characters",
                   OP_GRANT_SUB_MAX);
        return OP_OK;
    }
    op_sha256_hex(as->sid, strlen(as->sid), as->sess_key);
    op_flow_set_state(as->flow, AS_LOAD_SESS);
    op_flow_hold(as->flow);
    const char *cid = sub != NULL ? op_as_sid_client(as) : NULL;
    if (cid == NULL || op_grant_key(sub->u.str.s, cid, as->authz_key) != OP_OK) {
        op_store_get(as->srv->store, OP_AS_NS, as->sess_key, strlen(as->sess_key), op_as_on_session,
                     as);
        return OP_AGAIN;
    }
    /* An authentication: read the subject's long-lived authorisation for
     * the session's client along with the session. */
    as->authz_cid = cid;
    op_store_batch_op_t *ops = op_arena_calloc(as->flow->arena, 2, sizeof(*ops));
    if (ops == NULL) {
        op_as_fail(as, OP_ENOMEM, "out of memory");
        op_flow_resume(as->flow);
        return OP_AGAIN;
    }
    ops[0].rec = (op_store_rec_t){.ns = OP_AS_NS, .key = as->sess_key, .key_len = 64};
    ops[1].rec = (op_store_rec_t){.ns = OP_AS_NS_AUTHZ, .key = as->authz_key, .key_len = 64};
    op_store_batch(as->srv->store, ops, 2, op_as_on_session_and_authz, as);
    return OP_AGAIN;
}

static void op_as_on_sub(int status, const op_store_res_t *res, void *arg)
{
    op_as_t *as = arg;
    op_err_t err;
    if (status == OP_OK &&
        op_sub_session_read(as->flow->arena, res->value, res->value_len, &as->sub, &err) == OP_OK)
        as->have_sub = op_sub_session_alive(&as->sub, op_loop_epoch());
    else if (status != OP_OK && status != OP_ENOTFOUND)
        op_as_fail(as, status, "storage: %s", op_status_name(status));
    if (as->flow->state == AS_LOAD_SUB)
        op_flow_set_state(as->flow, AS_DECIDE_AUTH);
    op_flow_resume(as->flow);
}

static void op_as_took_authz(op_as_t *as, int status, const op_store_res_t *res)
{
    op_json_t *o;
    op_err_t err;
    if (status == OP_OK &&
        op_json_parse(as->flow->arena, res->value, res->value_len, NULL, &o, &err) == OP_OK &&
        op_grant_read(as->flow->arena, o, as->srv->cfg, &as->stored, &err) == OP_OK)
        as->have_stored = true;
    else if (status != OP_OK && status != OP_ENOTFOUND)
        op_as_fail(as, status, "storage: %s", op_status_name(status));
    if (as->flow->state == AS_LOAD_AUTHZ)
        op_flow_set_state(as->flow, AS_DECIDE_CONSENT);
}

static void op_as_on_authz(int status, const op_store_res_t *res, void *arg)
{
    op_as_t *as = arg;
    op_as_took_authz(as, status, res);
    op_flow_resume(as->flow);
}

/* Look up the long-lived authorisation of (sub, client); then
 * DECIDE_CONSENT. */
static void op_as_load_authz(op_as_t *as)
{
    char key[65];
    if (op_grant_key(as->sub.sub, as->areq.client_id, key) != OP_OK) {
        /* a subject no authorisation can be kept for */
        op_flow_set_state(as->flow, AS_DECIDE_CONSENT);
        return;
    }
    op_flow_set_state(as->flow, AS_LOAD_AUTHZ);
    op_flow_hold(as->flow);
    op_store_get(as->srv->store, OP_AS_NS_AUTHZ, key, 64, op_as_on_authz, as);
}

/*
 * The API's own bound on a new request: a query over OP_AS_QUERY_MAX
 * bytes is a bad API call (400). Everything else about the query is the
 * request's own: op_authz_req_parse answers it to the login page or, once
 * the client's redirect_uri is known good, to the client (RFC 6749
 * §4.1.2.1), a repeated or malformed parameter and a malformed claims
 * parameter included.
 */
static int op_as_check_query(op_as_t *as)
{
    if (as->query_len > OP_AS_QUERY_MAX)
        return OP_ERR(&as->err, OP_EINVAL, "query: longer than %d bytes", OP_AS_QUERY_MAX);
    return OP_OK;
}

/* DELETE's error code: a standard one, invalid_target, or one of
 * op.authz.customErrorCodes (reference §2.1). */
static bool op_as_error_allowed(const op_as_t *as, const char *error)
{
    static const char *const standard[] = {
        "access_denied",
        "invalid_request",
        "unauthorized_client",
        "unsupported_response_type",
        "invalid_scope",
        "server_error",
        "temporarily_unavailable",
        "login_required",
        "consent_required",
        "interaction_required",
        "account_selection_required",
        "invalid_target",
    };
    for (size_t i = 0; i < OP_NELEMS(standard); i++) {
        if (strcmp(standard[i], error) == 0)
            return true;
    }
    for (size_t i = 0; i < as->srv->cfg->n_authz_custom_errors; i++) {
        if (strcmp(as->srv->cfg->authz_custom_errors[i], error) == 0)
            return true;
    }
    return false;
}

static int op_as_step_parse(op_as_t *as)
{
    if (as->op == OP_AS_START && op_as_check_query(as) != OP_OK) {
        op_flow_set_state(as->flow, AS_REPLY);
        return OP_OK;
    }
    op_authz_clients_t clients = {op_as_find_client, as->srv};
    op_authz_policy_t policy = {.pkce_plain = as->srv->cfg->authz_allow_plain_pkce};
    int rc = op_authz_req_parse(as->flow->arena, as->query, as->query_len, &clients, &policy,
                                &as->areq, &as->aerr);
    if (rc != OP_OK) {
        if (as->aerr.redirectable) {
            op_as_end_with_error(as, as->aerr.err.oauth_error, as->aerr.err.description);
            return OP_OK;
        }
        if (as->have_sess)
            op_as_delete(as, OP_AS_NS, as->sess_key);
        op_as_answer_error(as, &as->aerr.err);
        op_flow_set_state(as->flow, AS_WAIT_WRITES);
        return OP_OK;
    }
    switch (as->op) {
    case OP_AS_START:
        if (op_as_new_sid(as) != OP_OK) {
            op_flow_set_state(as->flow, AS_REPLY);
            return OP_OK;
        }
        if (as->sub_sid == NULL) {
            op_flow_set_state(as->flow, AS_DECIDE_AUTH);
            return OP_OK;
        }
        op_flow_set_state(as->flow, AS_LOAD_SUB);
        op_flow_hold(as->flow);
        op_store_get(as->srv->store, OP_AS_NS_SUB, as->sub_key, 64, op_as_on_sub, as);
        return OP_AGAIN;
    case OP_AS_SUBMIT:
        if (strcmp(as->stage, "auth") == 0) {
            op_flow_set_state(as->flow, AS_AUTHENTICATED);
            return OP_OK;
        }
        /* consent: the subject session came with the session record */
        op_flow_set_state(as->flow, AS_CONSENTED);
        return OP_OK;
    case OP_AS_CANCEL: {
        const op_params_t *q = op_http_req_query(as->req);
        const char *error = op_params_get(q, "error");
        if (error != NULL && !op_as_error_allowed(as, error)) {
            op_as_fail(as, OP_EINVAL,
                       "error: not a standard code nor one of "
                       "op.authz.customErrorCodes");
            return OP_OK;
        }
        op_as_end_with_error(as, error != NULL ? error : "access_denied",
                             op_params_get(q, "error_description"));
        return OP_OK;
    }
    default:
        op_flow_set_state(as->flow, AS_REPLY);
        return OP_OK;
    }
}

static int op_as_step(op_flow_t *f)
{
    op_as_t *as = f->ctx;
    switch ((op_as_state_t)f->state) {
    case AS_BEGIN:
        return op_as_step_begin(as);
    case AS_LOAD_SESS:
    case AS_LOAD_SUB:
    case AS_LOAD_AUTHZ:
    case AS_CLAIMS:
        return OP_AGAIN; /* waiting: the completion moves on */
    case AS_PARSE:
        return op_as_step_parse(as);
    case AS_DECIDE_AUTH:
        if (op_as_needs_auth(as))
            op_as_prompt_auth(as);
        else
            op_as_load_authz(as);
        return OP_OK;
    case AS_AUTHENTICATED:
        if (op_as_authenticated(as) != OP_OK)
            return OP_OK;
        if (as->authz_loaded && strcmp(as->authz_cid, as->areq.client_id) == 0)
            op_flow_set_state(f, AS_DECIDE_CONSENT); /* read with the session */
        else
            op_as_load_authz(as);
        return OP_OK;
    case AS_DECIDE_CONSENT:
        if (!op_as_consent_covered(as)) {
            op_as_prompt_consent(as);
            return OP_OK;
        }
        op_as_grant_from_stored(as);
        op_as_fetch_claims(as);
        return OP_OK;
    case AS_CONSENTED:
        if (!as->have_sub) {
            op_as_fail(as, OP_ENOTFOUND, "the subject session of this authorisation is gone");
            return OP_OK;
        }
        if (op_as_consented(as) == OP_OK)
            op_as_fetch_claims(as);
        return OP_OK;
    case AS_MINT:
        op_as_mint(as);
        return OP_OK;
    case AS_WAIT_WRITES:
        return op_as_step_writes(as);
    case AS_REPLY:
        op_as_reply(as);
        return OP_DONE;
    case AS_MAX:
        break;
    }
    return OP_DONE;
}

static void op_as_on_free(op_flow_t *f)
{
    op_as_t *as = f->ctx;
    if (as == NULL)
        return;
    if (as->keys != NULL)
        op_keys_set_release(as->keys);
}

static const op_flow_def_t op_as_flow = {
    "authz-session", AS_MAX, op_as_state_names, op_as_step, op_as_on_free,
};

/* Route: POST /authz-sessions/rest/v3, {GET,PUT,DELETE} .../{sid},
 * {GET,PUT} .../{sid}/data. */
static void op_authz_session_handle(op_http_req_t *req, void *arg)
{
    op_server_t *srv = arg;
    const char *sub = op_http_req_subpath(req);
    op_http_method_t m = op_http_req_method(req);
    const char *slash = strchr(sub, '/');
    size_t sid_len = slash != NULL ? (size_t)(slash - sub) : strlen(sub);
    bool data = slash != NULL && strcmp(slash, "/data") == 0;
    op_as_op_t op;
    op_err_t err;

    if (sid_len == 0 && m == OP_HTTP_POST && slash == NULL)
        op = OP_AS_START;
    else if (sid_len == 0 || sid_len > OP_AS_SID_MAX || (slash != NULL && !data))
        op = (op_as_op_t)-1;
    else if (data)
        op = m == OP_HTTP_GET ? OP_AS_DATA_GET : m == OP_HTTP_PUT ? OP_AS_DATA_PUT : (op_as_op_t)-1;
    else
        op = m == OP_HTTP_PUT      ? OP_AS_SUBMIT
             : m == OP_HTTP_DELETE ? OP_AS_CANCEL
             : m == OP_HTTP_GET    ? OP_AS_INSPECT
                                   : (op_as_op_t)-1;
    if ((int)op < 0) {
        OP_ERR(&err, OP_ENOTFOUND, "no such resource");
        op_http_reply_error(req, &err);
        return;
    }
    op_flow_t *f;
    op_as_t *as = op_server_flow_new(srv, req, &op_as_flow, OP_AS_ARENA, sizeof(*as), &f);
    if (as == NULL)
        return;
    as->srv = srv;
    as->req = req;
    as->flow = f;
    as->op = op;
    as->keys = op_keys_current(srv->keys);
    if (op != OP_AS_START && (as->sid = op_arena_strndup(f->arena, sub, sid_len)) == NULL) {
        op_as_fail(as, OP_ENOMEM, "out of memory");
        op_flow_set_state(f, AS_REPLY);
    }
    op_flow_run(f);
}

const op_endpoint_t op_authz_session_endpoint = {
    .name = "authz-sessions",
    .routes = {{OP_HTTP_GET | OP_HTTP_POST | OP_HTTP_PUT | OP_HTTP_DELETE,
                "/authz-sessions/rest/v3", OP_ROUTE_PREFIX | OP_ROUTE_SECRET,
                op_authz_session_handle, NULL}},
};
