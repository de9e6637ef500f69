/*
 * core/base/op_hex.h - lowercase hex.
 */
#ifndef OP_HEX_H
#define OP_HEX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Lowercase hex. out must hold 2n + 1 bytes. */
void op_hex_encode(const uint8_t *in, size_t n, char *out);
/* Decode exactly 2n hex digits (either case). */
bool op_hex_decode(const char *in, size_t len, uint8_t *out, size_t n);

#endif
