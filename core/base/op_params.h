/*
 * core/base/op_params.h - the strict application/x-www-form-urlencoded
 * and query-string parser, percent-encoding, and the byte-level helpers
 * the cookie parser and the HTTP front-end share. Text only: no HTTP.
 */
#ifndef OP_PARAMS_H
#define OP_PARAMS_H

#include <stdbool.h>
#include <stddef.h>

#include "core/base/op_arena.h"
#include "core/base/op_err.h"

/* ---- strict x-www-form-urlencoded / query parser ---------------------- */

typedef struct op_param {
    const char *name; /* decoded, NUL-terminated */
    size_t name_len;
    const char *value; /* decoded, NUL-terminated */
    size_t value_len;
} op_param_t;

typedef struct op_params {
    op_param_t *items;
    size_t n;
} op_params_t;

typedef struct op_params_limits {
    size_t max_params;    /* default 64 */
    size_t max_name_len;  /* default 128 */
    size_t max_value_len; /* default 16384 */
} op_params_limits_t;

extern const op_params_limits_t op_params_default_limits;

/*
 * Parse "a=1&b=2" (application/x-www-form-urlencoded, also used for
 * query strings). Names and values are percent-decoded and '+' becomes a
 * space in both. Rejected with OP_EINVAL and a description naming the
 * parameter: malformed percent-encoding, a decoded NUL, invalid UTF-8, an
 * empty name, a repeated name (RFC 6749 §3.1: "parameters MUST NOT be
 * included more than once"). Over a limit: OP_ETOOBIG. Names are
 * case-sensitive. "a" alone means a="" and empty pieces ("a=1&&b=2") are
 * skipped. lim may be NULL (defaults).
 */
int op_params_parse(op_arena_t *a, const char *s, size_t len, const op_params_limits_t *lim,
                    op_params_t *out, op_err_t *err);

/* Value of a parameter, NULL when absent. */
const char *op_params_get(const op_params_t *p, const char *name);
const op_param_t *op_params_find(const op_params_t *p, const char *name);

/* Percent-encode for a query/form value (RFC 3986 unreserved kept). */
char *op_params_urlencode(op_arena_t *a, const char *s, size_t len);

/* ---- shared with the cookie parser and the HTTP front-end ------------- */

/*
 * Percent-decode s[0..len) into a NUL-terminated copy in a ('+' becomes a
 * space when plus_space). OP_EINVAL on a malformed %XY, OP_ETOOBIG over the cap. The
 * caller checks the result for NUL bytes and UTF-8.
 */
int op_params_decode(op_arena_t *a, const char *s, size_t len, bool plus_space, char **out,
                     size_t *out_len);

/*
 * Flag every item whose name (case-sensitive) appeared earlier in items:
 * dup[i] = true. Pairwise for a few items, sorted beyond that, so a
 * hostile input stays O(n log n). *ndup gets the count. OP_OK or
 * OP_ETOOBIG (over the cap).
 */
int op_params_mark_dups(op_arena_t *a, const op_param_t *items, size_t n, bool *dup, size_t *ndup);

/* True when s is a non-empty HTTP token (RFC 9110 §5.6.2). */
bool op_params_is_token(const char *s, size_t len);

/* The length of the run of tchars (RFC 9110 §5.6.2) that starts s[0..len). */
size_t op_params_token_span(const char *s, size_t len);

#endif
