/*
 * core/base/op_arena.c - per-flow memory arena (bump allocator over a chain of
 * blocks, with cleanups). See core/base/op_arena.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/base/op.h"

#define OP_ARENA_ALIGN 16
#define OP_ARENA_BLOCK 8192 /* a request's needs, yajl's 2 KiB buffers included */

typedef struct op_arena_block {
    op_list_t link;
    size_t size; /* usable bytes after the header */
    size_t used;
    _Alignas(OP_ARENA_ALIGN) unsigned char data[];
} op_arena_block_t;

typedef struct op_arena_cleanup {
    op_list_t link;
    void (*fn)(void *);
    void *p;
} op_arena_cleanup_t;

struct op_arena {
    op_list_t blocks;   /* of op_arena_block_t, the current block first */
    op_list_t cleanups; /* of op_arena_cleanup_t, newest first */
    size_t max;
    size_t used;
    unsigned char *last; /* the most recent allocation, for in-place grow */
    bool debug;          /* OP_DEBUG_ARENA=1: one malloc per allocation */
};

/*
 * Standard blocks freed by this thread's arenas, kept for its next ones: a
 * request's arena then costs no malloc for its blocks (nor the
 * malloc_consolidate glibc runs on a large request while small chunks wait
 * in its fastbins). Per thread, so no lock; bounded, the rest is freed.
 * 512 blocks (4 MiB at most, kept only once a load has freed them): with
 * 64 concurrent flows about one block in eight flows still goes to malloc,
 * where 32 sent about ten per flow back to it at 16 concurrent flows.
 * Not under AddressSanitizer, which must see every block freed.
 */
#define OP_ARENA_CACHE 512
#if defined(__SANITIZE_ADDRESS__)
#define OP_ARENA_CACHE_MAX 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define OP_ARENA_CACHE_MAX 0
#endif
#endif
#ifndef OP_ARENA_CACHE_MAX
#define OP_ARENA_CACHE_MAX OP_ARENA_CACHE
#endif
static _Thread_local struct {
    op_arena_block_t *b[OP_ARENA_CACHE];
    size_t n;
} op_arena_cache;

/* Keep b for the next arena, or free it. */
static void op_arena_block_free(op_arena_block_t *b, bool debug)
{
    if (b->size == OP_ARENA_BLOCK && !debug && op_arena_cache.n + 1 <= OP_ARENA_CACHE_MAX) {
        op_arena_cache.b[op_arena_cache.n++] = b;
        return;
    }
    free(b);
}

static size_t op_arena_round(size_t n)
{
    return (n + OP_ARENA_ALIGN - 1) & ~(size_t)(OP_ARENA_ALIGN - 1);
}

op_arena_t *op_arena_new(size_t max_bytes)
{
    op_arena_t *a = op_calloc(1, sizeof(*a));
    a->max = max_bytes;
    op_list_init(&a->blocks);
    op_list_init(&a->cleanups);
    const char *dbg = getenv("OP_DEBUG_ARENA");
    a->debug = dbg != NULL && strcmp(dbg, "1") == 0;
    return a;
}

void op_arena_free(op_arena_t *a)
{
    if (a == NULL)
        return;
    /* Cleanups live in the blocks: run them all before freeing any. */
    op_list_t *pos, *tmp;
    OP_LIST_FOREACH_SAFE (pos, tmp, &a->cleanups) {
        op_arena_cleanup_t *c = OP_LIST_ENTRY(pos, op_arena_cleanup_t, link);
        c->fn(c->p);
    }
    OP_LIST_FOREACH_SAFE (pos, tmp, &a->blocks)
        op_arena_block_free(OP_LIST_ENTRY(pos, op_arena_block_t, link), a->debug);
    free(a);
}

/* The block that serves small allocations (the first), NULL before any. */
static op_arena_block_t *op_arena_current(const op_arena_t *a)
{
    op_list_t *first = op_list_first(&a->blocks);
    return first != NULL ? OP_LIST_ENTRY(first, op_arena_block_t, link) : NULL;
}

/* A new block of at least n usable bytes, pushed in front of the chain
 * (oversized requests get a block of their own, behind the current one, so
 * the current block keeps serving small allocations). */
static op_arena_block_t *op_arena_grow(op_arena_t *a, size_t n)
{
    size_t size = n > OP_ARENA_BLOCK / 2 || a->debug ? n : OP_ARENA_BLOCK;
    op_arena_block_t *b = size == OP_ARENA_BLOCK && op_arena_cache.n > 0
                              ? op_arena_cache.b[--op_arena_cache.n]
                              : op_malloc(sizeof(*b) + size);
    b->size = size;
    b->used = 0;
    op_arena_block_t *current = op_arena_current(a);
    if (current != NULL && size != OP_ARENA_BLOCK && !a->debug)
        op_list_insert_head(&current->link, &b->link);
    else
        op_list_insert_head(&a->blocks, &b->link);
    return b;
}

void *op_arena_alloc(op_arena_t *a, size_t n)
{
    size_t need = op_arena_round(n == 0 ? 1 : n);
    if (need < n || need > a->max - a->used)
        return NULL;
    op_arena_block_t *b = op_arena_current(a);
    if (b == NULL || a->debug || b->size - b->used < need)
        b = op_arena_grow(a, need);
    unsigned char *p = b->data + b->used;
    b->used += need;
    a->used += need;
    a->last = p;
    return p;
}

void *op_arena_calloc(op_arena_t *a, size_t nmemb, size_t size)
{
    if (size != 0 && nmemb > SIZE_MAX / size)
        return NULL;
    void *p = op_arena_alloc(a, nmemb * size);
    if (p != NULL)
        memset(p, 0, nmemb * size);
    return p;
}

void *op_arena_realloc(op_arena_t *a, void *old, size_t old_n, size_t n)
{
    if (old != NULL && n <= old_n)
        return old;
    /* The last allocation of the current block grows in place. */
    op_arena_block_t *b = op_arena_current(a);
    if (old != NULL && old == a->last && b != NULL && !a->debug &&
        (unsigned char *)old >= b->data && (unsigned char *)old < b->data + b->size) {
        size_t start = (size_t)((unsigned char *)old - b->data);
        size_t old_r = b->used - start;
        size_t need = op_arena_round(n);
        if (need >= n && start + need <= b->size && need - old_r <= a->max - a->used) {
            b->used = start + need;
            a->used += need - old_r;
            return old;
        }
    }
    void *p = op_arena_alloc(a, n);
    if (p != NULL && old != NULL)
        memcpy(p, old, old_n);
    return p;
}

void *op_arena_memdup(op_arena_t *a, const void *src, size_t n)
{
    void *p = op_arena_alloc(a, n);
    if (p != NULL && n > 0)
        memcpy(p, src, n);
    return p;
}

char *op_arena_strndup(op_arena_t *a, const char *s, size_t n)
{
    char *p = op_arena_alloc(a, n + 1);
    if (p == NULL)
        return NULL;
    if (n > 0)
        memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

char *op_arena_strdup(op_arena_t *a, const char *s)
{
    return op_arena_strndup(a, s, strlen(s));
}

char *op_arena_vprintf(op_arena_t *a, const char *fmt, va_list ap)
{
    va_list ap2;
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap2);
    va_end(ap2);
    if (n < 0)
        return NULL;
    char *p = op_arena_alloc(a, (size_t)n + 1);
    if (p != NULL)
        vsnprintf(p, (size_t)n + 1, fmt, ap);
    return p;
}

char *op_arena_printf(op_arena_t *a, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *p = op_arena_vprintf(a, fmt, ap);
    va_end(ap);
    return p;
}

int op_arena_cleanup_add(op_arena_t *a, void (*fn)(void *), void *p)
{
    op_arena_cleanup_t *c = op_arena_alloc(a, sizeof(*c));
    if (c == NULL)
        return OP_ETOOBIG;
    c->fn = fn;
    c->p = p;
    op_list_insert_head(&a->cleanups, &c->link);
    return OP_OK;
}

size_t op_arena_used(const op_arena_t *a)
{
    return a->used;
}
