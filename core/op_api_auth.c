/*
 * core/op_api_auth.c - bearer tokens of the integration APIs.
 *
 * The config holds only SHA-256 digests of the tokens (reference §1.1).
 * The presented token is hashed and compared with every configured
 * digest in constant time, so neither the match position nor a prefix
 * leaks through timing.
 */
#include <string.h>

#include "core/op_server.h"

bool op_api_token_ok(op_http_req_t *req, const uint8_t (*hashes)[32], size_t nhashes,
                     bool allow_query)
{
    const char *token = op_http_req_bearer(req);
    if (token == NULL && allow_query)
        token = op_params_get(op_http_req_query(req), "access_token");
    if (token == NULL || nhashes == 0)
        return false;
    uint8_t digest[32];
    op_sha256(token, strlen(token), digest);
    bool ok = false;
    for (size_t i = 0; i < nhashes; i++)
        ok |= op_ct_equal(digest, sizeof(digest), hashes[i], sizeof(hashes[i]));
    return ok;
}

void op_api_reply_unauthorized(op_http_req_t *req)
{
    op_err_t err;
    OP_ERR_OAUTH(&err, OP_EDENIED, "invalid_token", 401, "missing or invalid bearer token");
    op_http_reply_error(req, &err);
}
