/*
 * core/base/op_b64url.h - base64url without padding (RFC 4648 §5, RFC 7515 §2).
 */
#ifndef OP_B64URL_H
#define OP_B64URL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/base/op_arena.h"

size_t op_b64url_encoded_len(size_t n);
/* out must hold op_b64url_encoded_len(n) + 1 bytes; returns chars written
 * (NUL-terminated). */
size_t op_b64url_encode(const uint8_t *in, size_t n, char *out);
char *op_b64url_encode_arena(op_arena_t *a, const uint8_t *in, size_t n);
/* Strict decode: no padding, no whitespace, canonical trailing bits.
 * out must hold len * 3 / 4 + 1 bytes. Returns false on bad input. */
bool op_b64url_decode(const char *in, size_t len, uint8_t *out, size_t *out_len);

#endif
