/*
 * core/base/op_json.h - strict JSON reader and UTF-8-validating writer.
 *
 * The reader drives yajl_parse with its own callbacks and builds the tree
 * in an arena (yajl's allocator points at the arena too), so malformed
 * input cannot leak. It rejects: duplicate object keys, nesting deeper
 * than max_depth, more than max_members object members and array items in
 * total, documents over max_bytes, invalid UTF-8, NUL bytes anywhere
 * (also as \u0000 inside strings), comments, trailing garbage and multiple
 * top-level values. Numbers keep their raw text; integers that fit in
 * int64 are also available as such.
 *
 * The writer appends to a buffer in its arena, in the format yajl_gen
 * writes, and accepts only strictly valid UTF-8 without NUL in strings;
 * the first failure is sticky and reported by op_json_w_finish.
 */
#ifndef OP_JSON_H
#define OP_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/base/op_arena.h"
#include "core/base/op_err.h"

typedef enum {
    OP_JSON_NULL = 0,
    OP_JSON_FALSE,
    OP_JSON_TRUE,
    OP_JSON_NUMBER,
    OP_JSON_STRING,
    OP_JSON_ARRAY,
    OP_JSON_OBJECT
} op_json_type_t;

typedef struct op_json op_json_t;

struct op_json {
    op_json_type_t type;
    union {
        struct {
            const char *s; /* NUL-terminated; never contains NUL */
            size_t len;
        } str;
        struct {
            const char *raw; /* the number as written, NUL-terminated */
            bool is_int;     /* an integer that fits in int64_t */
            int64_t i;       /* valid when is_int */
            double d;        /* always set */
        } num;
        struct {
            op_json_t **items;
            size_t n;
        } arr;
        struct {
            const char **keys; /* NUL-terminated, unique */
            size_t *key_lens;
            op_json_t **vals;
            size_t n; /* in document order */
        } obj;
    } u;
};

typedef struct op_json_limits {
    size_t max_bytes;   /* whole document */
    size_t max_depth;   /* 1 = a flat object or array */
    size_t max_members; /* object members + array items, in total */
} op_json_limits_t;

/* Defaults for request bodies: 64 KiB, depth 16, 4096 members. */
extern const op_json_limits_t op_json_default_limits;

/*
 * Parse buf[0..len) into a tree allocated in a. lim may be NULL (defaults).
 * Returns OP_OK and *out, OP_ETOOBIG when a limit is hit, OP_EINVAL on bad
 * JSON; err->description says what and where (byte offset), without
 * echoing the input.
 */
int op_json_parse(op_arena_t *a, const char *buf, size_t len, const op_json_limits_t *lim,
                  op_json_t **out, op_err_t *err);

/* Object member lookup; NULL when obj is not an object or has no key. */
const op_json_t *op_json_get(const op_json_t *obj, const char *key);

/* Typed member lookups: NULL / false when absent or of another type. */
const char *op_json_get_str(const op_json_t *obj, const char *key);
bool op_json_get_int(const op_json_t *obj, const char *key, int64_t *out);
bool op_json_get_bool(const op_json_t *obj, const char *key, bool *out);

bool op_json_is(const op_json_t *v, op_json_type_t type);

/* True when buf[0..len) is valid UTF-8 without NUL bytes. */
bool op_json_utf8_valid(const char *buf, size_t len);

/* ---- writer ---------------------------------------------------------- */

typedef struct op_json_w op_json_w_t;

/* New writer whose output and handle live in a (freed with it). NULL when
 * a is full (its cap: OP_ETOOBIG to the caller). pretty adds indentation. */
op_json_w_t *op_json_w_new(op_arena_t *a, bool pretty);

void op_json_w_obj_open(op_json_w_t *w);
void op_json_w_obj_close(op_json_w_t *w);
void op_json_w_arr_open(op_json_w_t *w);
void op_json_w_arr_close(op_json_w_t *w);
void op_json_w_key(op_json_w_t *w, const char *key);
void op_json_w_str(op_json_w_t *w, const char *s);
void op_json_w_strn(op_json_w_t *w, const char *s, size_t len);
void op_json_w_int(op_json_w_t *w, int64_t v);
void op_json_w_bool(op_json_w_t *w, bool v);
void op_json_w_null(op_json_w_t *w);
/* Write a parsed value (deep copy of its serialisation). */
void op_json_w_value(op_json_w_t *w, const op_json_t *v);

/* Key + value shorthands for objects. */
void op_json_w_kstr(op_json_w_t *w, const char *key, const char *s);
void op_json_w_kint(op_json_w_t *w, const char *key, int64_t v);
void op_json_w_kbool(op_json_w_t *w, const char *key, bool v);

/*
 * Finish: *out is the document, NUL-terminated, in the writer's arena
 * (borrowed, valid until the arena goes; nothing can be written after a
 * successful finish, so it does not change), *len its length (len may be
 * NULL). Returns OP_OK, OP_EINVAL when any earlier call failed (invalid
 * UTF-8, unbalanced nesting, key outside an object), or OP_ETOOBIG when
 * the output passed the arena's cap.
 */
int op_json_w_finish(op_json_w_t *w, const char **out, size_t *len, op_err_t *err);

#endif
