/*
 * core/flows/op_jwks.c - GET /jwks.json: the public JWK set (RFC 7517 §5).
 *
 * Served from the key store's cached serialisation: no store round trip,
 * so the set stays available while the store is down. A short max-age
 * lets clients cache it without missing a rotation for long (a new key
 * is published before it signs).
 */
#include "core/flows/op_flows.h"

static void op_jwks_handle(op_http_req_t *req, void *arg)
{
    op_server_t *srv = arg;
    op_keys_set_t *set = op_keys_current(srv->keys);
    size_t len;
    const char *jwks = op_keys_set_jwks(set, &len);
    op_http_reply_header(req, "Cache-Control", "public, max-age=300");
    op_http_reply(req, 200, "application/jwk-set+json", jwks, len, 0);
    op_keys_set_release(set);
}

const op_endpoint_t op_jwks_endpoint = {
    .name = "jwks",
    .routes = {{OP_HTTP_GET, "/jwks.json", OP_ROUTE_CORS, op_jwks_handle, NULL}},
};
