/*
 * core/proto/op_client_auth.h - client authentication at the token endpoint
 * (RFC 6749 §2.3, OpenID Connect Core §9), core-internal.
 *
 * Methods: client_secret_basic (Authorization: Basic), client_secret_post
 * (client_id + client_secret form parameters) and none (a public client
 * sends its client_id alone). A request uses exactly one method, and it
 * must be the client's registered token_endpoint_auth_method. Secrets are
 * compared in constant time. private_key_jwt and client_secret_jwt are
 * not implemented yet: a client_assertion is refused with a clear
 * description.
 *
 * Every authentication failure is the same invalid_client / 401 with the
 * same description, whether the client exists or not (RFC 6749 §5.2); the
 * caller adds the WWW-Authenticate challenge that a 401 needs (RFC 9110
 * §15.5.2). A malformed request (two methods, a
 * client_id that disagrees with the Basic one) is invalid_request / 400.
 */
#ifndef OP_CLIENT_AUTH_H
#define OP_CLIENT_AUTH_H

#include "core/base/op.h"
#include "core/proto/op_client.h"
#include "core/base/op_params.h"

/* Finds a registered client (NULL when unknown); arg is the caller's. */
typedef const op_client_t *(*op_client_auth_lookup_t)(const void *arg, const char *client_id);

/*
 * Authenticate the client of a token request. authorization is the
 * Authorization header value (NULL: absent); form holds the request's
 * parameters (client_id, client_secret, client_assertion_type are read).
 * On OP_OK *out is the client (borrowed from the lookup). Otherwise
 * OP_EDENIED (invalid_client, 401) or OP_EINVAL (invalid_request, 400)
 * with err filled. Decoded credentials live in a.
 */
int op_client_auth_check(op_arena_t *a, const char *authorization, const op_params_t *form,
                         op_client_auth_lookup_t lookup, const void *arg, const op_client_t **out,
                         op_err_t *err);

#endif
