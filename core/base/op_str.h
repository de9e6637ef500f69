/*
 * core/base/op_str.h - small pure string helpers: a borrowed byte string
 * (op_str_t), equality, prefixes, strict integers.
 */
#ifndef OP_STR_H
#define OP_STR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A borrowed byte string. */
typedef struct op_str {
    const char *ptr;
    size_t len;
} op_str_t;

#define OP_STR(lit) ((op_str_t){(lit), sizeof(lit) - 1})

/* The string equality: two C strings, NULL-safe (NULL equals only NULL). */
bool op_str_eq(const char *a, const char *b);
/* Is the slice a exactly the C string b? */
bool op_str_is(op_str_t a, const char *b);
bool op_str_has_prefix(const char *s, const char *prefix);

/*
 * Strict decimal parse of s[0..len): optional '-', digits only, no
 * leading '+' or spaces, within [min, max]. Returns false on anything else.
 */
bool op_str_parse_i64(const char *s, size_t len, int64_t min, int64_t max, int64_t *out);

#endif
