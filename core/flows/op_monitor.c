/*
 * core/flows/op_monitor.c - GET monitor/v1/healthcheck.
 *
 * Bearer-protected by monitor.apiAccessTokenSHA256 (also accepted as
 * ?access_token= for load balancers that cannot send headers, as the
 * reference allows). One store round trip tells whether the store
 * answers; the body follows the Dropwizard health check layout:
 *   {"storage":{"healthy":true}}                         200
 *   {"storage":{"healthy":false,"message":"..."}}        503
 * States: AUTH (start the ping) -> REPLY (read its status); ERROR
 * answers f->err.
 */
#include "core/flows/op_flows.h"

typedef enum {
    HC_AUTH,  /* the monitor token; start the ping */
    HC_REPLY, /* the ping answered: answer */
    HC_ERROR, /* answer f->err */
    HC_MAX
} op_monitor_state_t;
static const char *const op_monitor_states[HC_MAX] = {"auth", "reply", "error"};

typedef struct op_monitor_hc {
    op_server_t *srv;
    op_http_req_t *req;
    int ping_status;
} op_monitor_hc_t;

static void op_monitor_on_ping(int status, const op_store_res_t *res, void *arg)
{
    op_flow_t *f = arg;
    op_monitor_hc_t *hc = f->ctx;

    OP_UNUSED(res);
    hc->ping_status = status;
    op_flow_resume(f);
}

/* Authorised callers only; then one store round trip. */
static int op_monitor_auth(op_flow_t *f)
{
    op_monitor_hc_t *hc = f->ctx;
    const op_config_t *cfg = hc->srv->cfg;

    if (!op_server_api_token_ok(hc->req, cfg->monitor_tokens, cfg->n_monitor_tokens, true)) {
        op_server_api_unauthorized(hc->req);
        return OP_DONE;
    }
    op_flow_set_state(f, HC_REPLY);
    op_flow_hold(f);
    op_store_ping(hc->srv->store, op_monitor_on_ping, f);
    return OP_AGAIN;
}

/* The health document of the ping's outcome: OP_OK, or an error in
 * f->err. */
static int op_monitor_doc(op_flow_t *f, bool healthy, const char **body, size_t *len)
{
    op_monitor_hc_t *hc = f->ctx;
    op_json_w_t *w = op_json_w_new(f->arena, false);

    if (w == NULL)
        return OP_ERR(&f->err, OP_ETOOBIG, "request too large");
    op_json_w_obj_open(w);
    op_json_w_key(w, "storage");
    op_json_w_obj_open(w);
    op_json_w_kbool(w, "healthy", healthy);
    if (!healthy)
        op_json_w_kstr(w, "message",
                       hc->ping_status == OP_ETIMEDOUT ? "store timed out" : "store unavailable");
    op_json_w_obj_close(w);
    op_json_w_obj_close(w);
    return op_json_w_finish(w, body, len, &f->err);
}

static int op_monitor_reply(op_flow_t *f)
{
    op_monitor_hc_t *hc = f->ctx;
    bool healthy = hc->ping_status == OP_OK;
    const char *body = NULL;
    size_t len = 0;

    if (op_monitor_doc(f, healthy, &body, &len) != OP_OK) {
        op_flow_set_state(f, HC_ERROR);
        return OP_OK;
    }
    op_http_reply_json(hc->req, healthy ? 200 : 503, body, len, OP_REPLY_NO_STORE);
    return OP_DONE;
}

static int op_monitor_step(op_flow_t *f)
{
    op_monitor_hc_t *hc = f->ctx;

    switch ((op_monitor_state_t)f->state) {
    case HC_AUTH:
        return op_monitor_auth(f);
    case HC_REPLY:
        return op_monitor_reply(f);
    case HC_ERROR:
    case HC_MAX:
        break;
    }
    op_http_reply_error(hc->req, &f->err);
    return OP_DONE;
}

static const op_flow_def_t op_monitor_hc_flow = {
    "healthcheck", HC_MAX, op_monitor_states, op_monitor_step, NULL,
};

static void op_monitor_healthcheck_handle(op_http_req_t *req, void *arg)
{
    op_server_t *srv = arg;
    op_flow_t *f;
    op_monitor_hc_t *hc = op_server_flow_new(srv, req, &op_monitor_hc_flow, 4096, sizeof(*hc), &f);
    if (hc == NULL)
        return;
    hc->srv = srv;
    hc->req = req;
    op_flow_run(f);
}

const op_endpoint_t op_monitor_endpoint = {
    .name = "monitor",
    .routes = {{OP_HTTP_GET, "/monitor/v1/healthcheck", 0, op_monitor_healthcheck_handle, NULL}},
};
