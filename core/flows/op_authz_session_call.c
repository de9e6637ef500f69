/*
 * core/flows/op_authz_session_call.c - what every call of the authorisation
 * session API shares (see core/flows/op_authz_session.h): the API token,
 * its store reads (a completion only keeps the result and resumes the
 * flow), the one parse of the request, the answers and the writes that
 * end the call. Errors go to the flow's f->err; no function here sets a
 * flow's state.
 */
#include "core/flows/op_authz_session.h"
#include "core/flows/op_sub_quota.h"

/* ---- store reads ------------------------------------------------------------ */

/* Keep a copy of one op's status and value. */
static void op_authz_session_call_keep(op_flow_t *f, op_authz_session_res_t *r, int st,
                                       const char *val, size_t len)
{
    r->st = st;
    r->val = NULL;
    r->len = len;
    if (st == OP_OK && val != NULL && (r->val = op_arena_memdup(f->arena, val, len)) == NULL)
        r->st = OP_ETOOBIG; /* the record does not fit the flow's arena */
}

static void op_authz_session_call_on_get(int status, const op_store_res_t *res, void *arg)
{
    op_flow_t *f = arg;
    op_authz_session_t *as = f->ctx;

    as->batch_st = OP_OK;
    op_authz_session_call_keep(f, &as->res[0], status, res != NULL ? res->value : NULL,
                               res != NULL ? res->value_len : 0);
    op_flow_resume(f);
}

static void op_authz_session_call_on_batch(int status, const op_store_batch_res_t *results,
                                           size_t n, void *arg)
{
    op_flow_t *f = arg;
    op_authz_session_t *as = f->ctx;

    as->batch_st = status;
    for (size_t i = 0; i < n && i < OP_NELEMS(as->res); i++)
        op_authz_session_call_keep(f, &as->res[i], results[i].status, results[i].res.value,
                                   results[i].res.value_len);
    op_flow_resume(f);
}

void op_authz_session_call_get(op_flow_t *f, const char *ns, const char *key)
{
    op_authz_session_t *as = f->ctx;

    op_flow_hold(f);
    op_store_get(as->srv->store, ns, key, 64, op_authz_session_call_on_get, f);
}

void op_authz_session_call_batch(op_flow_t *f, const op_store_batch_op_t *ops, size_t n)
{
    op_authz_session_t *as = f->ctx;

    op_flow_hold(f);
    op_store_batch(as->srv->store, ops, n, op_authz_session_call_on_batch, f);
}

/* ---- answers ------------------------------------------------------------------ */

bool op_authz_session_call_authorised(op_authz_session_t *as)
{
    const op_config_t *cfg = as->srv->cfg;

    if (op_server_api_token_ok(as->req, cfg->api_tokens, cfg->n_api_tokens, false))
        return true;
    op_server_api_unauthorized(as->req);
    return false;
}

op_json_w_t *op_authz_session_call_writer(op_authz_session_t *as)
{
    op_json_w_t *w = op_json_w_new(as->flow->arena, false);

    if (w == NULL)
        OP_ERR(&as->flow->err, OP_ETOOBIG, "the answer does not fit the flow's arena");
    return w;
}

int op_authz_session_call_doc(op_authz_session_t *as, op_json_w_t *w)
{
    as->http_status = 200;
    return op_json_w_finish(w, &as->answer, &as->answer_len, &as->flow->err);
}

int op_authz_session_call_error_doc(op_authz_session_t *as, const op_err_t *err)
{
    op_json_w_t *w = op_authz_session_call_writer(as);

    if (w == NULL)
        return OP_ETOOBIG;
    op_json_w_obj_open(w);
    op_json_w_kstr(w, "type", "error");
    op_json_w_kstr(w, "error", err->oauth_error != NULL ? err->oauth_error : "invalid_request");
    op_json_w_kstr(w, "error_description", err->description);
    op_json_w_obj_close(w);
    return op_authz_session_call_doc(as, w);
}

int op_authz_session_call_error_response(op_authz_session_t *as, const char *error,
                                         const char *description)
{
    op_json_w_t *w = op_authz_session_call_writer(as);
    op_authz_resp_t resp;

    if (w == NULL)
        return OP_ETOOBIG;
    int rc = op_authz_resp_error(as->flow->arena, &as->areq, as->srv->cfg->issuer, error,
                                 description, &resp, &as->flow->err);
    if (rc != OP_OK)
        return rc;
    op_json_w_obj_open(w);
    op_authz_resp_write(&resp, w);
    op_json_w_obj_close(w);
    return op_authz_session_call_doc(as, w);
}

/* ---- the tail: writes and the answer ------------------------------------------ */

int op_authz_session_call_flush(op_flow_t *f)
{
    op_authz_session_t *as = f->ctx;

    if (as->sub_dirty) {
        int rc = op_authz_session_issue_write_sub(as);
        if (rc != OP_OK)
            return rc;
        as->sub_dirty = false;
    }
    /* The batch goes only while the answer is still to be given: once the
     * deadline has answered, nothing is stored that nobody received. */
    if (as->writes.n > 0 && !op_http_req_commit(as->req))
        return OP_ERR(&f->err, OP_ETIMEDOUT, "the request took too long");
    return op_writes_flush(&as->writes, as->srv->store, f) ? OP_AGAIN : OP_OK;
}

int op_authz_session_call_written(op_flow_t *f)
{
    op_authz_session_t *as = f->ctx;

    if (as->writes.status == OP_ECONFLICT)
        return OP_ERR(&f->err, OP_ECONFLICT,
                      "the authorisation session was completed or changed by another call");
    if (as->writes.status != OP_OK)
        return OP_ERR(&f->err, as->writes.status, "storage: %s",
                      op_err_status_name(as->writes.status));
    if (as->quota_after)
        op_sub_quota_enforce(as->srv, as->sub.sub, as->sub_key);
    return OP_OK;
}

int op_authz_session_call_reply(op_flow_t *f)
{
    op_authz_session_t *as = f->ctx;

    if (as->http_status == 204)
        op_http_reply(as->req, 204, NULL, NULL, 0, OP_REPLY_NO_STORE);
    else
        op_http_reply_json(as->req, as->http_status, as->answer, as->answer_len, OP_REPLY_NO_STORE);
    return OP_DONE;
}

int op_authz_session_call_reply_error(op_flow_t *f)
{
    op_authz_session_t *as = f->ctx;

    if (f->err.code == OP_OK)
        OP_ERR(&f->err, OP_ERROR, "internal error");
    op_http_reply_error(as->req, &f->err);
    return OP_DONE;
}

static const op_client_t *op_authz_session_call_find_client(void *arg, const char *client_id)
{
    op_server_t *srv = arg;
    return op_client_registry_find(srv->clients, client_id);
}

/* See core/flows/op_authz_session.h. The parse says itself whether its
 * error may be redirected (op_authz_error_t.redirectable). */
int op_authz_session_call_parse(op_authz_session_t *as)
{
    op_authz_clients_t clients = {op_authz_session_call_find_client, as->srv};
    op_authz_policy_t policy = {.pkce_plain = as->srv->cfg->authz_allow_plain_pkce};
    op_authz_error_t e;

    if (op_authz_req_parse(as->flow->arena, as->query, as->query_len, &clients, &policy, &as->areq,
                           &e) == OP_OK)
        return OP_OK;
    op_authz_session_record_drop(as);
    int rc = e.redirectable
                 ? op_authz_session_call_error_response(as, e.err.oauth_error, e.err.description)
                 : op_authz_session_call_error_doc(as, &e.err);
    return rc == OP_OK ? OP_DECLINED : rc;
}

void op_authz_session_call_free(op_flow_t *f)
{
    op_authz_session_t *as = f->ctx;

    if (as != NULL && as->keys != NULL)
        op_keys_set_release(as->keys);
}
