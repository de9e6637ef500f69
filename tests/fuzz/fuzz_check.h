/*
 * tests/fuzz/fuzz_check.h - what several libFuzzer targets share: reading
 * a length-prefixed string from the input, and the RFC 3986 byte classes
 * the checkers of percent-encoded output test against.
 */
#ifndef FUZZ_CHECK_H
#define FUZZ_CHECK_H

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>

#include "core/base/op_arena.h"

/* A length-prefixed string of the input: one length byte, then that many
 * bytes (fewer when the input runs out; "" when it has run out). The copy
 * is in a, so it ends at a NUL as the C strings the code under test
 * takes do. Advances *p past what it read. */
static inline char *fuzz_check_string(op_arena_t *a, const uint8_t **p, const uint8_t *end)
{
    size_t n = 0;

    if (*p < end) {
        n = **p;
        (*p)++;
        if (n > (size_t)(end - *p))
            n = (size_t)(end - *p);
    }
    char *s = op_arena_strndup(a, (const char *)*p, n);
    if (s == NULL)
        abort();
    *p += n;
    return s;
}

/* RFC 3986 §2.3 unreserved. */
static inline bool fuzz_check_unreserved(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '.' || c == '_' || c == '~';
}

/* The value of an upper-case hex digit, -1 for any other byte. */
static inline int fuzz_check_hex(char c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

#endif
