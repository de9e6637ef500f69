/*
 * core/base/op_mem.h - the out-of-memory policy, and the allocation
 * wrappers that carry it out.
 *
 * The policy: when the C allocator fails, the process logs one line and
 * aborts. A server that runs out of memory cannot answer correctly anyway,
 * and an error path per allocation is code that is never tested and that
 * leaves half-written state when it is taken. So op_malloc, op_calloc,
 * op_realloc, op_strdup and op_strndup never return NULL, and their callers have no
 * out-of-memory branch. The libraries are pointed at the same policy where
 * they allow it: libevent (op_loop.c), cjose, jansson and OpenSSL
 * (keys/op_keys_mem.c, from op_keys_global_init); yajl's allocator (op_json.c)
 * aborts on a failed malloc as well. hiredis 0.14 has no allocator hook:
 * its failures reach storage/ as a failed command or connection.
 *
 * What does fail is a bound: an arena's cap (op_arena_new(max)) is the one
 * allocation limit a caller sees, as NULL from op_arena_alloc, which the
 * caller reports as OP_ETOOBIG (the input, or what it asked for, was too
 * large) - never as OP_ENOMEM.
 *
 * The wrappers are inline so that the allocation stays a direct libc call;
 * only the failure goes through op_mem_fail.
 */
#ifndef OP_MEM_H
#define OP_MEM_H

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

/* Log "out of memory" with the size asked for, then abort(). Allocates
 * nothing, so it works when the heap is exhausted. */
_Noreturn void op_mem_fail(size_t n);

/* malloc that never returns NULL (n == 0 gives a unique pointer). Caller
 * frees with free(). */
static inline void *op_malloc(size_t n)
{
    void *p = malloc(n != 0 ? n : 1);
    if (p == NULL)
        op_mem_fail(n);
    return p;
}

/* Zeroed nmemb * size bytes; an overflowing product is a failure too. */
static inline void *op_calloc(size_t nmemb, size_t size)
{
    void *p = calloc(nmemb != 0 ? nmemb : 1, size != 0 ? size : 1);
    if (p == NULL)
        op_mem_fail(size != 0 && nmemb > (size_t)-1 / size ? (size_t)-1 : nmemb * size);
    return p;
}

/* realloc that never returns NULL; p may be NULL. n == 0 keeps a block
 * of one byte (it never frees). */
static inline void *op_realloc(void *p, size_t n)
{
    void *q = realloc(p, n != 0 ? n : 1);
    if (q == NULL)
        op_mem_fail(n);
    return q;
}

/* A copy of s; caller frees with free(). */
static inline char *op_strdup(const char *s)
{
    size_t n = strlen(s) + 1;
    return memcpy(op_malloc(n), s, n);
}

/* A NUL-terminated copy of s[0..n) (s has at least n bytes or a NUL
 * before); caller frees with free(). */
static inline char *op_strndup(const char *s, size_t n)
{
    size_t len = strnlen(s, n);
    char *p = memcpy(op_malloc(len + 1), s, len);
    p[len] = '\0';
    return p;
}

#endif
