/*
 * core/flows/op_authz_session_ops.c - the small flows of the authorisation
 * session API (see core/flows/op_authz_session.h), one per operation:
 *
 *   GET {sid}          BEGIN -> SESSION (answer)
 *   GET {sid}/data     BEGIN -> SESSION (answer)
 *   PUT {sid}/data     BEGIN -> SESSION -> WRITE -> WRITTEN (204)
 *   DELETE {sid}       BEGIN -> SESSION -> PARSE -> WRITE -> WRITTEN
 *
 * and ERROR (answer f->err) from any state. A call that changes or ends
 * the session writes only if its record is unchanged
 * (op_authz_session_record_guard).
 */
#include <string.h>

#include "core/flows/op_authz_session.h"

/* The states of the three flows, in one enum: each flow uses its own. */
typedef enum {
    OPS_BEGIN,   /* the API token, the body; read the session */
    OPS_SESSION, /* the session read */
    OPS_PARSE,   /* DELETE: the request, the error response */
    OPS_WRITE,   /* send the call's writes */
    OPS_WRITTEN, /* ... sent: answer */
    OPS_ERROR,   /* answer f->err */
    OPS_MAX
} op_authz_session_ops_state_t;

static const char *const op_authz_session_ops_states[OPS_MAX] = {
    "begin", "session", "parse", "write", "written", "error",
};

/* ---- steps every operation has ------------------------------------------------ */

/* The API token; a PUT's body; the read of the session. */
static int op_authz_session_ops_begin(op_flow_t *f)
{
    op_authz_session_t *as = f->ctx;

    if (!op_authz_session_call_authorised(as))
        return OP_DONE;
    if (op_http_req_method(as->req) == OP_HTTP_PUT &&
        op_http_req_json(as->req, &as->body, &f->err) != OP_OK) {
        op_flow_set_state(f, OPS_ERROR);
        return OP_OK;
    }
    op_authz_session_record_key(as);
    op_flow_set_state(f, OPS_SESSION);
    op_authz_session_call_get(f, OP_AS_NS, as->sess_key);
    return OP_AGAIN;
}

static int op_authz_session_ops_write(op_flow_t *f)
{
    int rc;

    op_flow_set_state(f, OPS_WRITTEN);
    rc = op_authz_session_call_flush(f);
    if (rc == OP_AGAIN)
        return OP_AGAIN;
    if (rc != OP_OK)
        op_flow_set_state(f, OPS_ERROR);
    return OP_OK;
}

static int op_authz_session_ops_written(op_flow_t *f)
{
    if (op_authz_session_call_written(f) != OP_OK) {
        op_flow_set_state(f, OPS_ERROR);
        return OP_OK;
    }
    return op_authz_session_call_reply(f);
}

/* ---- GET {sid} ------------------------------------------------------------------ */

/* {"sid", "stage", "creation_time", "auth_req": {the query's parameters},
 * "data"}: the query as sent, not judged. */
static int op_authz_session_ops_inspect_doc(op_authz_session_t *as)
{
    op_json_w_t *w = op_authz_session_call_writer(as);
    op_params_t p;
    op_err_t perr;

    if (w == NULL)
        return OP_ETOOBIG;
    op_json_w_obj_open(w);
    op_json_w_kstr(w, "sid", as->sid);
    op_json_w_kstr(w, "stage", as->stage);
    op_json_w_kint(w, "creation_time", as->created);
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
    return op_authz_session_call_doc(as, w);
}

static int op_authz_session_ops_inspect_session(op_flow_t *f)
{
    op_authz_session_t *as = f->ctx;

    if (op_authz_session_record_read(as, &as->res[0]) != OP_OK ||
        op_authz_session_ops_inspect_doc(as) != OP_OK) {
        op_flow_set_state(f, OPS_ERROR);
        return OP_OK;
    }
    return op_authz_session_call_reply(f);
}

static int op_authz_session_ops_inspect_step(op_flow_t *f)
{
    switch ((op_authz_session_ops_state_t)f->state) {
    case OPS_BEGIN:
        return op_authz_session_ops_begin(f);
    case OPS_SESSION:
        return op_authz_session_ops_inspect_session(f);
    case OPS_PARSE:
    case OPS_WRITE:
    case OPS_WRITTEN:
    case OPS_ERROR:
    case OPS_MAX:
        break;
    }
    return op_authz_session_call_reply_error(f);
}

const op_flow_def_t op_authz_session_ops_inspect = {
    "authz-session-get",         OPS_MAX,
    op_authz_session_ops_states, op_authz_session_ops_inspect_step,
    op_authz_session_call_free,
};

/* ---- GET and PUT {sid}/data ------------------------------------------------------ */

/* GET: the data (null when none). */
static int op_authz_session_ops_data_doc(op_authz_session_t *as)
{
    op_json_w_t *w = op_authz_session_call_writer(as);

    if (w == NULL)
        return OP_ETOOBIG;
    if (as->data != NULL)
        op_json_w_value(w, as->data);
    else
        op_json_w_null(w);
    return op_authz_session_call_doc(as, w);
}

/* PUT: the session's data replaced (204), the record saved at its stage. */
static int op_authz_session_ops_data_put(op_authz_session_t *as)
{
    if (!op_json_is(as->body, OP_JSON_OBJECT))
        return OP_ERR(&as->flow->err, OP_EINVAL, "the data must be a JSON object");
    as->data = as->body;
    as->http_status = 204;
    return op_authz_session_record_save(as, as->stage);
}

static int op_authz_session_ops_data_session(op_flow_t *f)
{
    op_authz_session_t *as = f->ctx;
    bool put = op_http_req_method(as->req) == OP_HTTP_PUT;

    if (op_authz_session_record_read(as, &as->res[0]) != OP_OK) {
        op_flow_set_state(f, OPS_ERROR);
        return OP_OK;
    }
    if (!put) {
        if (op_authz_session_ops_data_doc(as) != OP_OK) {
            op_flow_set_state(f, OPS_ERROR);
            return OP_OK;
        }
        return op_authz_session_call_reply(f);
    }
    op_authz_session_record_guard(as);
    op_flow_set_state(f, op_authz_session_ops_data_put(as) == OP_OK ? OPS_WRITE : OPS_ERROR);
    return OP_OK;
}

static int op_authz_session_ops_data_step(op_flow_t *f)
{
    switch ((op_authz_session_ops_state_t)f->state) {
    case OPS_BEGIN:
        return op_authz_session_ops_begin(f);
    case OPS_SESSION:
        return op_authz_session_ops_data_session(f);
    case OPS_WRITE:
        return op_authz_session_ops_write(f);
    case OPS_WRITTEN:
        return op_authz_session_ops_written(f);
    case OPS_PARSE:
    case OPS_ERROR:
    case OPS_MAX:
        break;
    }
    return op_authz_session_call_reply_error(f);
}

const op_flow_def_t op_authz_session_ops_data = {
    "authz-session-data",        OPS_MAX,
    op_authz_session_ops_states, op_authz_session_ops_data_step,
    op_authz_session_call_free,
};

/* ---- DELETE {sid} ------------------------------------------------------------------ */

/* DELETE's error code: a standard one, invalid_target, or one of
 * op.authz.customErrorCodes (reference §2.1). */
static bool op_authz_session_ops_error_allowed(const op_authz_session_t *as, const char *error)
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

static int op_authz_session_ops_cancel_session(op_flow_t *f)
{
    op_authz_session_t *as = f->ctx;

    if (op_authz_session_record_read(as, &as->res[0]) != OP_OK) {
        op_flow_set_state(f, OPS_ERROR);
        return OP_OK;
    }
    op_authz_session_record_guard(as);
    op_flow_set_state(f, OPS_PARSE);
    return OP_OK;
}

/* The session ends with the error the login page names (?error=,
 * ?error_description=; access_denied by default), sent back to the
 * client (RFC 6749 §4.1.2.1). */
static int op_authz_session_ops_cancel_parse(op_flow_t *f)
{
    op_authz_session_t *as = f->ctx;
    const op_params_t *q = op_http_req_query(as->req);
    const char *error = op_params_get(q, "error");
    int rc = op_authz_session_call_parse(as);

    if (rc == OP_OK && error != NULL && !op_authz_session_ops_error_allowed(as, error))
        rc = OP_ERR(&f->err, OP_EINVAL,
                    "error: not a standard code nor one of op.authz.customErrorCodes");
    if (rc == OP_OK) {
        op_authz_session_record_drop(as);
        rc = op_authz_session_call_error_response(as, error != NULL ? error : "access_denied",
                                                  op_params_get(q, "error_description"));
    }
    op_flow_set_state(f, rc == OP_OK || rc == OP_DECLINED ? OPS_WRITE : OPS_ERROR);
    return OP_OK;
}

static int op_authz_session_ops_cancel_step(op_flow_t *f)
{
    switch ((op_authz_session_ops_state_t)f->state) {
    case OPS_BEGIN:
        return op_authz_session_ops_begin(f);
    case OPS_SESSION:
        return op_authz_session_ops_cancel_session(f);
    case OPS_PARSE:
        return op_authz_session_ops_cancel_parse(f);
    case OPS_WRITE:
        return op_authz_session_ops_write(f);
    case OPS_WRITTEN:
        return op_authz_session_ops_written(f);
    case OPS_ERROR:
    case OPS_MAX:
        break;
    }
    return op_authz_session_call_reply_error(f);
}

const op_flow_def_t op_authz_session_ops_cancel = {
    "authz-session-delete",      OPS_MAX,
    op_authz_session_ops_states, op_authz_session_ops_cancel_step,
    op_authz_session_call_free,
};
