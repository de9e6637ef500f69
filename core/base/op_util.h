/*
 * core/base/op_util.h - small pure helpers: strings, numbers, base64url, hex.
 */
#ifndef OP_UTIL_H
#define OP_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/base/op_arena.h"

#define OP_UNUSED(x) ((void)(x))
#define OP_NELEMS(a) (sizeof(a) / sizeof((a)[0]))

/* A borrowed byte string. */
typedef struct op_str {
    const char *ptr;
    size_t len;
} op_str_t;

#define OP_STR(lit) ((op_str_t){(lit), sizeof(lit) - 1})

bool op_str_is(op_str_t a, const char *b);
bool op_str_eq(const char *a, const char *b); /* NULL-safe */
bool op_str_has_prefix(const char *s, const char *prefix);

/*
 * Strict decimal parse of s[0..len): optional '-', digits only, no
 * leading '+' or spaces, within [min, max]. Returns false on anything else.
 */
bool op_str_parse_i64(const char *s, size_t len, int64_t min, int64_t max, int64_t *out);

/* base64url without padding (RFC 4648 §5, RFC 7515 §2). */
size_t op_b64url_encoded_len(size_t n);
/* out must hold op_b64url_encoded_len(n) + 1 bytes; returns chars written
 * (NUL-terminated). */
size_t op_b64url_encode(const uint8_t *in, size_t n, char *out);
char *op_b64url_encode_arena(op_arena_t *a, const uint8_t *in, size_t n);
/* Strict decode: no padding, no whitespace, canonical trailing bits.
 * out must hold len * 3 / 4 + 1 bytes. Returns false on bad input. */
bool op_b64url_decode(const char *in, size_t len, uint8_t *out, size_t *out_len);

/* Lowercase hex. out must hold 2n + 1 bytes. */
void op_hex_encode(const uint8_t *in, size_t n, char *out);
/* Decode exactly 2n hex digits (either case). */
bool op_hex_decode(const char *in, size_t len, uint8_t *out, size_t n);

#endif
