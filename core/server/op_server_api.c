/*
 * core/server/op_server_api.c - bearer tokens of the integration APIs (RFC 6750).
 *
 * The config holds only SHA-256 digests of the tokens (reference §1.1).
 * The presented token is hashed and compared with every configured
 * digest in constant time, so neither the match position nor a prefix
 * leaks through timing. A refusal says what RFC 6750 §3.1 allows: no
 * error code when no bearer credentials came, invalid_request (400) for a
 * malformed, repeated or twice-sent token, invalid_token (401) for a
 * token that is not one of ours.
 */
#include <string.h>
#include <strings.h>

#include "core/server/op_server.h"

/* The ?access_token= of the request, NULL when absent. */
static const char *op_server_api_query_token(op_http_req_t *req)
{
    return op_params_get(op_http_req_query(req), "access_token");
}

/* Does the request carry an Authorization header of the Bearer scheme
 * (case-insensitive, RFC 9110 §11.1), well-formed or not? */
static bool op_server_api_bearer_scheme(const op_http_req_t *req)
{
    const char *v = op_http_req_header(req, "Authorization");

    return v != NULL && strncasecmp(v, "Bearer", 6) == 0 && (v[6] == '\0' || v[6] == ' ');
}

bool op_server_api_token_ok(op_http_req_t *req, const uint8_t (*hashes)[32], size_t nhashes,
                            bool allow_query)
{
    const char *token = op_http_req_bearer(req);
    const char *query = allow_query ? op_server_api_query_token(req) : NULL;

    /* RFC 6750 §2: one way of sending the token per request. */
    if (token != NULL && query != NULL)
        return false;
    if (token == NULL)
        token = query;
    if (token == NULL || nhashes == 0)
        return false;
    uint8_t digest[32];
    op_keys_crypto_sha256(token, strlen(token), digest);
    bool ok = false;
    for (size_t i = 0; i < nhashes; i++)
        ok |= op_keys_crypto_ct_equal(digest, sizeof(digest), hashes[i], sizeof(hashes[i]));
    return ok;
}

void op_server_api_unauthorized(op_http_req_t *req)
{
    bool bearer = op_server_api_bearer_scheme(req);
    bool in_query = op_server_api_query_token(req) != NULL;
    op_err_t err;

    if (bearer && (op_http_req_bearer(req) == NULL || in_query)) {
        OP_ERR_OAUTH(&err, OP_EINVAL, "invalid_request", 400,
                     "malformed bearer token: send one \"Authorization: Bearer <token>\"");
        op_http_reply_header(req, "WWW-Authenticate", "Bearer error=\"invalid_request\"");
        op_http_reply_error(req, &err);
        return;
    }
    if (!bearer && !in_query) {
        /* No credentials, or another scheme's: no error code (§3.1). */
        op_http_reply_header(req, "WWW-Authenticate", "Bearer");
        op_http_reply_json(req, 401, "{}", 2, OP_REPLY_NO_STORE);
        return;
    }
    OP_ERR_OAUTH(&err, OP_EDENIED, "invalid_token", 401, "invalid bearer token");
    op_http_reply_error(req, &err);
}
