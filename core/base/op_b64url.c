/*
 * core/base/op_b64url.c - base64url without padding (RFC 4648 §5), with a
 * strict decoder. See core/base/op_b64url.h.
 */
#include "core/base/op.h"

static const char op_b64url_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

size_t op_b64url_encoded_len(size_t n)
{
    return n / 3 * 4 + (n % 3 == 0 ? 0 : n % 3 + 1);
}

size_t op_b64url_encode(const uint8_t *in, size_t n, char *out)
{
    size_t o = 0, i = 0;
    for (; i + 3 <= n; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
        out[o++] = op_b64url_alphabet[v >> 18];
        out[o++] = op_b64url_alphabet[(v >> 12) & 63];
        out[o++] = op_b64url_alphabet[(v >> 6) & 63];
        out[o++] = op_b64url_alphabet[v & 63];
    }
    if (n - i == 1) {
        uint32_t v = (uint32_t)in[i] << 16;
        out[o++] = op_b64url_alphabet[v >> 18];
        out[o++] = op_b64url_alphabet[(v >> 12) & 63];
    } else if (n - i == 2) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;
        out[o++] = op_b64url_alphabet[v >> 18];
        out[o++] = op_b64url_alphabet[(v >> 12) & 63];
        out[o++] = op_b64url_alphabet[(v >> 6) & 63];
    }
    out[o] = '\0';
    return o;
}

char *op_b64url_encode_arena(op_arena_t *a, const uint8_t *in, size_t n)
{
    char *out = op_arena_alloc(a, op_b64url_encoded_len(n) + 1);
    if (out != NULL)
        op_b64url_encode(in, n, out);
    return out;
}

static int op_b64url_value(unsigned char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '-')
        return 62;
    if (c == '_')
        return 63;
    return -1;
}

bool op_b64url_decode(const char *in, size_t len, uint8_t *out, size_t *out_len)
{
    if (len % 4 == 1)
        return false;
    size_t o = 0;
    uint32_t acc = 0;
    int bits = 0;
    for (size_t i = 0; i < len; i++) {
        int v = op_b64url_value((unsigned char)in[i]);
        if (v < 0)
            return false;
        acc = (acc << 6) | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[o++] = (uint8_t)(acc >> bits);
            acc &= (1u << bits) - 1;
        }
    }
    /* Canonical form: the unused trailing bits must be zero. */
    if (acc != 0)
        return false;
    *out_len = o;
    return true;
}
