/*
 * core/proto/op_authz_resp.h - the authorisation response: redirect
 * (query or fragment) or form_post, with RFC 9207 `iss`;
 * core/proto/op_authz_resp.c.
 */
#ifndef OP_AUTHZ_RESP_H
#define OP_AUTHZ_RESP_H

#include "core/proto/op_authz_req.h"

/* One response parameter (name and value, NUL-terminated). */
typedef struct op_authz_param {
    const char *name;
    const char *value;
} op_authz_param_t;

/* A built response. */
typedef struct op_authz_resp {
    op_authz_mode_t mode;
    /* query / fragment: the whole redirect URI; form_post: the form's
     * action (the redirect_uri). */
    const char *uri;
    /* form_post: the fields, in order (state and iss included). */
    const op_authz_param_t *form;
    size_t n_form;
} op_authz_resp_t;

/*
 * Build the success response for req (its redirect_uri, response_mode and
 * state): params[0..n) (code, access_token, token_type, expires_in,
 * id_token, scope, ...), then "state" when the request had one, then
 * "iss" = issuer (RFC 9207 §2). query: appended to the redirect_uri's
 * query, kept as registered (RFC 6749 §3.1.2); fragment: after '#';
 * values percent-encoded. Everything in a. OP_EINVAL with err for a
 * missing name or value, a parameter named state or iss, a redirect_uri
 * with a fragment; OP_ETOOBIG when a is full.
 */
int op_authz_resp_build(op_arena_t *a, const op_authz_req_t *req, const char *issuer,
                        const op_authz_param_t *params, size_t n, op_authz_resp_t *out,
                        op_err_t *err);

/*
 * Build an error response (RFC 6749 §4.1.2.1, §4.2.2.1): error,
 * error_description (when not NULL or empty), state, iss. error must be
 * a non-empty RFC 6749 error code (%x20-21 / %x23-5B / %x5D-7E, else
 * OP_EINVAL); in the description, '"' and '\' become '\'' and other bytes
 * outside that set '?'.
 */
int op_authz_resp_error(op_arena_t *a, const op_authz_req_t *req, const char *issuer,
                        const char *error, const char *description, op_authz_resp_t *out,
                        op_err_t *err);

/*
 * Write the members "type": "response", "mode": ..., "parameters":
 * {"uri": ..., "form": {...}} (form for form_post only) into the object
 * the caller opened on w (the caller adds sub_sid etc.).
 */
void op_authz_resp_write(const op_authz_resp_t *resp, op_json_w_t *w);

#endif
