/*
 * core/base/op_arena.h - per-flow memory arena.
 *
 * Everything a request or flow allocates comes from its arena and is freed
 * at once when the arena is destroyed; nothing is freed one by one. Foreign
 * objects (cjose handles, yajl handles) are attached with
 * op_arena_cleanup_add() and released, newest first, on destruction.
 *
 * Every arena has a byte cap set at creation: an allocation that would
 * pass it fails (returns NULL), so a hostile input cannot grow a request
 * without bound. The cap is the only way an arena allocation fails: the
 * blocks come from op_malloc, which aborts when the heap is exhausted
 * (the out-of-memory policy, core/base/op_mem.h). A caller reports the
 * NULL as OP_ETOOBIG, never as OP_ENOMEM. With the environment variable OP_DEBUG_ARENA=1 every
 * allocation is its own malloc, so ASan and valgrind see exact bounds.
 */
#ifndef OP_ARENA_H
#define OP_ARENA_H

#include <stdarg.h>
#include <stddef.h>

typedef struct op_arena op_arena_t;

/* New arena that may hold up to max_bytes. Never NULL. Caller frees with
 * op_arena_free(). */
op_arena_t *op_arena_new(size_t max_bytes);

/* Run the cleanups (newest first), then free every block. NULL is a no-op. */
void op_arena_free(op_arena_t *a);

/* Memory aligned for any type, valid until op_arena_free. NULL only when
 * it would pass the cap (OP_ETOOBIG to the caller's caller). n == 0
 * returns a valid unique pointer. */
void *op_arena_alloc(op_arena_t *a, size_t n);
void *op_arena_calloc(op_arena_t *a, size_t nmemb, size_t size);

/* Grow a block obtained from this arena: copies (the old block stays
 * until the arena goes). old may be NULL. */
void *op_arena_realloc(op_arena_t *a, void *old, size_t old_n, size_t n);

/* NUL-terminated copies. */
char *op_arena_strdup(op_arena_t *a, const char *s);
char *op_arena_strndup(op_arena_t *a, const char *s, size_t n);
void *op_arena_memdup(op_arena_t *a, const void *p, size_t n);
char *op_arena_printf(op_arena_t *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
char *op_arena_vprintf(op_arena_t *a, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));

/* Call fn(p) when the arena is freed. Returns OP_OK or, over the cap,
 * OP_ETOOBIG (fn is then NOT called: the caller still owns p). */
int op_arena_cleanup_add(op_arena_t *a, void (*fn)(void *), void *p);

/* Bytes handed out so far (for tests and metrics). */
size_t op_arena_used(const op_arena_t *a);

#endif
