/*
 * core/proto/op_token_int.h - private to the token files (op_token.c,
 * op_token_access.c): the readers of the server's own JSON records.
 */
#ifndef OP_TOKEN_INT_H
#define OP_TOKEN_INT_H

#include "core/proto/op_token.h"

/* invalid_token (RFC 6750 §3.1), 401. */
#define OP_TOKEN_INVALID(err, ...)                                                                 \
    OP_ERR_OAUTH((err), OP_EDENIED, "invalid_token", 401, __VA_ARGS__)

/* Optional string member: *out NULL when absent, OP_EINVAL when it has
 * another type. */
int op_token_opt_str(const op_json_t *obj, const char *key, const char **out, op_err_t *err);

/* Optional integer member: 0 when absent, OP_EINVAL when not an integer. */
int op_token_opt_int(const op_json_t *obj, const char *key, int64_t *out, op_err_t *err);

/* Parse a record's JSON text (bounded by the store's value cap) into an
 * object, in a. */
int op_token_parse_record(op_arena_t *a, const char *json, size_t len, const op_json_t **out,
                          op_err_t *err);

#endif
