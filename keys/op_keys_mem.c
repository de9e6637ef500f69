/*
 * keys/op_keys_mem.c - cjose (and, through it, jansson) and OpenSSL
 * allocate under the out-of-memory policy (core/base/op_mem.h): a failed
 * allocation aborts the process instead of surfacing as an error deep
 * inside a library.
 */
#include <stdlib.h>

#include <cjose/util.h>
#include <openssl/crypto.h>

#include "keys/op_keys_int.h"

static void *op_keys_mem_ssl_malloc(size_t n, const char *file, int line)
{
    OP_UNUSED(file);
    OP_UNUSED(line);
    return op_malloc(n);
}

/* OpenSSL 3.0 hands realloc(p, 0) to us as it is: that frees. */
static void *op_keys_mem_ssl_realloc(void *p, size_t n, const char *file, int line)
{
    OP_UNUSED(file);
    OP_UNUSED(line);
    if (n == 0) {
        free(p);
        return NULL;
    }
    return op_realloc(p, n);
}

static void op_keys_mem_ssl_free(void *p, const char *file, int line)
{
    OP_UNUSED(file);
    OP_UNUSED(line);
    free(p);
}

void op_keys_mem_init(void)
{
    /* OpenSSL takes its functions only before its first allocation. */
    if (CRYPTO_set_mem_functions(op_keys_mem_ssl_malloc, op_keys_mem_ssl_realloc,
                                 op_keys_mem_ssl_free) != 1)
        op_log_warn(NULL, "keys: OpenSSL allocated before its allocator could be set");
    cjose_set_alloc_funcs(op_malloc, op_realloc, free);
}
