/*
 * core/server/op_server_flow.c - a flow serving one HTTP request.
 */
#include "core/server/op_server.h"

static void op_server_flow_release_req(void *req)
{
    op_http_req_release(req);
}

void *op_server_flow_new(op_server_t *srv, op_http_req_t *req, const op_flow_def_t *def,
                         size_t arena_max, size_t ctx_size, op_flow_t **out)
{
    op_flow_t *f = op_flow_new(srv->loop, def, arena_max, op_http_req_id(req));
    void *ctx = f != NULL ? op_arena_calloc(f->arena, 1, ctx_size) : NULL;
    if (ctx == NULL || op_arena_cleanup_add(f->arena, op_server_flow_release_req, req) != OP_OK) {
        op_err_t err;
        if (f != NULL)
            op_flow_release(f);
        OP_ERR(&err, OP_ETOOBIG, "request too large");
        op_http_reply_error(req, &err);
        return NULL;
    }
    op_http_req_hold(req);
    f->ctx = ctx;
    *out = f;
    return ctx;
}
