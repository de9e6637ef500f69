/*
 * tests/fuzz/fuzz_json_write.c - libFuzzer target for the JSON writer
 * (core/base/op_json_w.c) fed hostile strings and hostile call sequences,
 * as handlers feed it request data (state, error_description, claims,
 * form fields, keys from plugins).
 *
 * Each input is a little program: one byte (pretty or not), then calls,
 * each an opcode byte and its operand (a string is a length byte and that
 * many raw bytes, NUL and invalid UTF-8 included; an integer 8 bytes).
 * The fuzzer checks the writer against the JSON grammar (RFC 8259) and
 * the writer's contract (strings are strictly valid UTF-8 without NUL):
 *  - the document finishes iff every call was allowed where it was made,
 *    every string was valid and the one top-level value is complete;
 *  - a finished document is valid UTF-8 and, when no object repeats a
 *    key (op_json refuses those), parses back with op_json into exactly
 *    the values written, in order;
 *  - a refused document gives no output and a described error.
 * Any broken rule aborts.
 *
 *   make build/fuzz/fuzz_json_write
 *   build/fuzz/fuzz_json_write CORPUS_COPY   (seeds: tests/fuzz/corpus/json_write)
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/base/op.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Deeper than any document of ours, shallower than the writer's limit. */
#define FUZZ_JSON_WRITE_MAX_DEPTH 64

enum {
    FUZZ_JSON_WRITE_OBJ_OPEN,
    FUZZ_JSON_WRITE_OBJ_CLOSE,
    FUZZ_JSON_WRITE_ARR_OPEN,
    FUZZ_JSON_WRITE_ARR_CLOSE,
    FUZZ_JSON_WRITE_KEY,
    FUZZ_JSON_WRITE_STR,
    FUZZ_JSON_WRITE_INT,
    FUZZ_JSON_WRITE_BOOL,
    FUZZ_JSON_WRITE_NULL,
    FUZZ_JSON_WRITE_KSTR,
    FUZZ_JSON_WRITE_NOPS
};

/* One value or key that went into the document, for the comparison. */
typedef struct fuzz_json_write_event {
    int op; /* FUZZ_JSON_WRITE_OBJ_OPEN ... FUZZ_JSON_WRITE_NULL (KSTR is a KEY and a STR) */
    const char *s;
    size_t len;
    int64_t i;
} fuzz_json_write_event_t;

/* What the grammar expects inside an open container. */
enum { FUZZ_JSON_WRITE_IN_ARRAY, FUZZ_JSON_WRITE_IN_OBJECT_KEY, FUZZ_JSON_WRITE_IN_OBJECT_VALUE };

typedef struct fuzz_json_write_frame {
    int state;
    size_t first_key; /* events index of the object's first event */
} fuzz_json_write_frame_t;

typedef struct fuzz_json_write {
    op_arena_t *a;
    op_json_w_t *w;
    const uint8_t *p, *end;
    bool ok;   /* every call so far was allowed */
    bool done; /* the top-level value is complete */
    bool dup;  /* an object repeated a key */
    size_t depth;
    fuzz_json_write_frame_t frames[FUZZ_JSON_WRITE_MAX_DEPTH + 1];
    fuzz_json_write_event_t *ev;
    size_t nev, cap;
} fuzz_json_write_t;

static void fuzz_json_write_record(fuzz_json_write_t *f, int op, const char *s, size_t len,
                                   int64_t i)
{
    if (f->nev == f->cap) {
        size_t cap = f->cap > 0 ? 2 * f->cap : 64;
        f->ev = op_arena_realloc(f->a, f->ev, f->cap * sizeof(*f->ev), cap * sizeof(*f->ev));
        if (f->ev == NULL)
            abort();
        f->cap = cap;
    }
    f->ev[f->nev++] = (fuzz_json_write_event_t){op, s, len, i};
}

/* A string operand: NULL when the input ran out. */
static const char *fuzz_json_write_string(fuzz_json_write_t *f, size_t *len)
{
    if (f->p >= f->end)
        return NULL;
    size_t n = *f->p++;
    if (n > (size_t)(f->end - f->p))
        n = (size_t)(f->end - f->p);
    char *s = op_arena_strndup(f->a, (const char *)f->p, n);
    if (s == NULL)
        abort();
    f->p += n;
    *len = n;
    return s;
}

/*
 * The shadow: the grammar's verdict on each call, kept apart from the
 * writer. f->ok goes false at the first call the writer must refuse.
 */

/* A value may go here; fails the shadow if not. */
static bool fuzz_json_write_value(fuzz_json_write_t *f)
{
    if (f->depth == 0 ? f->done : f->frames[f->depth].state == FUZZ_JSON_WRITE_IN_OBJECT_KEY)
        f->ok = false;
    return f->ok;
}

/* A value is complete at the current depth. */
static void fuzz_json_write_value_end(fuzz_json_write_t *f)
{
    if (f->depth == 0)
        f->done = true;
    else if (f->frames[f->depth].state == FUZZ_JSON_WRITE_IN_OBJECT_VALUE)
        f->frames[f->depth].state = FUZZ_JSON_WRITE_IN_OBJECT_KEY;
}

static void fuzz_json_write_shadow_open(fuzz_json_write_t *f, bool object)
{
    if (!fuzz_json_write_value(f))
        return;
    fuzz_json_write_record(f, object ? FUZZ_JSON_WRITE_OBJ_OPEN : FUZZ_JSON_WRITE_ARR_OPEN, NULL, 0,
                           0);
    f->frames[++f->depth] = (fuzz_json_write_frame_t){
        object ? FUZZ_JSON_WRITE_IN_OBJECT_KEY : FUZZ_JSON_WRITE_IN_ARRAY, f->nev};
}

static void fuzz_json_write_shadow_close(fuzz_json_write_t *f, bool object)
{
    if (!f->ok)
        return;
    if (f->depth == 0 || f->frames[f->depth].state == FUZZ_JSON_WRITE_IN_OBJECT_VALUE ||
        (f->frames[f->depth].state == FUZZ_JSON_WRITE_IN_ARRAY) == object) {
        f->ok = false;
        return;
    }
    fuzz_json_write_record(f, object ? FUZZ_JSON_WRITE_OBJ_CLOSE : FUZZ_JSON_WRITE_ARR_CLOSE, NULL,
                           0, 0);
    f->depth--;
    fuzz_json_write_value_end(f);
}

/* Whether key k is already a direct member of the open object. */
static bool fuzz_json_write_key_seen(const fuzz_json_write_t *f, const char *k, size_t len)
{
    size_t level = 0;

    for (size_t i = f->frames[f->depth].first_key; i < f->nev; i++) {
        const fuzz_json_write_event_t *e = &f->ev[i];
        if (level == 0 && e->op == FUZZ_JSON_WRITE_KEY && e->len == len &&
            memcmp(e->s, k, len) == 0)
            return true;
        if (e->op == FUZZ_JSON_WRITE_OBJ_OPEN || e->op == FUZZ_JSON_WRITE_ARR_OPEN)
            level++;
        else if (e->op == FUZZ_JSON_WRITE_OBJ_CLOSE || e->op == FUZZ_JSON_WRITE_ARR_CLOSE)
            level--;
    }
    return false;
}

static void fuzz_json_write_shadow_key(fuzz_json_write_t *f, const char *k, size_t len)
{
    if (!f->ok)
        return;
    if (f->depth == 0 || f->frames[f->depth].state != FUZZ_JSON_WRITE_IN_OBJECT_KEY ||
        !op_json_utf8_valid(k, len)) {
        f->ok = false;
        return;
    }
    f->dup |= fuzz_json_write_key_seen(f, k, len);
    fuzz_json_write_record(f, FUZZ_JSON_WRITE_KEY, k, len, 0);
    f->frames[f->depth].state = FUZZ_JSON_WRITE_IN_OBJECT_VALUE;
}

static void fuzz_json_write_shadow_scalar(fuzz_json_write_t *f, int op, const char *s, size_t len,
                                          int64_t v)
{
    if (!fuzz_json_write_value(f))
        return;
    if (op == FUZZ_JSON_WRITE_STR && !op_json_utf8_valid(s, len)) {
        f->ok = false;
        return;
    }
    fuzz_json_write_record(f, op, s, len, v);
    fuzz_json_write_value_end(f);
}

/* Run one call of the program on the writer and the shadow; false when
 * the input ran out. Keys and op_json_w_kstr's value are C strings: they
 * end at a NUL. */
static bool fuzz_json_write_step(fuzz_json_write_t *f)
{
    const char *s = NULL, *k = NULL;
    size_t len = 0, klen = 0;
    int64_t v = 0;

    if (f->p >= f->end)
        return false;
    int op = *f->p++ % FUZZ_JSON_WRITE_NOPS;
    if ((op == FUZZ_JSON_WRITE_KEY || op == FUZZ_JSON_WRITE_KSTR) &&
        (k = fuzz_json_write_string(f, &klen)) == NULL)
        return false;
    if ((op == FUZZ_JSON_WRITE_STR || op == FUZZ_JSON_WRITE_KSTR) &&
        (s = fuzz_json_write_string(f, &len)) == NULL)
        return false;
    if (op == FUZZ_JSON_WRITE_INT) {
        if (f->end - f->p < 8)
            return false;
        memcpy(&v, f->p, 8);
        f->p += 8;
    } else if (op == FUZZ_JSON_WRITE_BOOL) {
        if (f->p >= f->end)
            return false;
        v = *f->p++ & 1;
    }
    switch (op) {
    case FUZZ_JSON_WRITE_OBJ_OPEN:
    case FUZZ_JSON_WRITE_ARR_OPEN:
        if (f->depth == FUZZ_JSON_WRITE_MAX_DEPTH)
            break; /* past what the re-parse allows: not written */
        if (op == FUZZ_JSON_WRITE_OBJ_OPEN)
            op_json_w_obj_open(f->w);
        else
            op_json_w_arr_open(f->w);
        fuzz_json_write_shadow_open(f, op == FUZZ_JSON_WRITE_OBJ_OPEN);
        break;
    case FUZZ_JSON_WRITE_OBJ_CLOSE:
        op_json_w_obj_close(f->w);
        fuzz_json_write_shadow_close(f, true);
        break;
    case FUZZ_JSON_WRITE_ARR_CLOSE:
        op_json_w_arr_close(f->w);
        fuzz_json_write_shadow_close(f, false);
        break;
    case FUZZ_JSON_WRITE_KEY:
        op_json_w_key(f->w, k);
        fuzz_json_write_shadow_key(f, k, strlen(k));
        break;
    case FUZZ_JSON_WRITE_STR:
        op_json_w_strn(f->w, s, len);
        fuzz_json_write_shadow_scalar(f, op, s, len, 0);
        break;
    case FUZZ_JSON_WRITE_INT:
        op_json_w_int(f->w, v);
        fuzz_json_write_shadow_scalar(f, op, NULL, 0, v);
        break;
    case FUZZ_JSON_WRITE_BOOL:
        op_json_w_bool(f->w, v != 0);
        fuzz_json_write_shadow_scalar(f, op, NULL, 0, v);
        break;
    case FUZZ_JSON_WRITE_NULL:
        op_json_w_null(f->w);
        fuzz_json_write_shadow_scalar(f, op, NULL, 0, 0);
        break;
    default: /* FUZZ_JSON_WRITE_KSTR */
        op_json_w_kstr(f->w, k, s);
        fuzz_json_write_shadow_key(f, k, strlen(k));
        fuzz_json_write_shadow_scalar(f, FUZZ_JSON_WRITE_STR, s, strlen(s), 0);
        break;
    }
    return true;
}

/* Compare the parsed tree with the events from *i on; false on a
 * difference. */
static bool fuzz_json_write_same(const fuzz_json_write_t *f, const op_json_t *v, size_t *i)
{
    char num[32];

    if (*i >= f->nev)
        return false;
    const fuzz_json_write_event_t *e = &f->ev[(*i)++];
    switch (v->type) {
    case OP_JSON_NULL:
        return e->op == FUZZ_JSON_WRITE_NULL;
    case OP_JSON_FALSE:
    case OP_JSON_TRUE:
        return e->op == FUZZ_JSON_WRITE_BOOL && (e->i != 0) == (v->type == OP_JSON_TRUE);
    case OP_JSON_NUMBER:
        snprintf(num, sizeof(num), "%" PRId64, e->i);
        return e->op == FUZZ_JSON_WRITE_INT && v->u.num.is_int && v->u.num.i == e->i &&
               strcmp(v->u.num.raw, num) == 0;
    case OP_JSON_STRING:
        return e->op == FUZZ_JSON_WRITE_STR && e->len == v->u.str.len &&
               memcmp(e->s, v->u.str.s, e->len) == 0;
    case OP_JSON_ARRAY:
        if (e->op != FUZZ_JSON_WRITE_ARR_OPEN)
            return false;
        for (size_t k = 0; k < v->u.arr.n; k++) {
            if (!fuzz_json_write_same(f, v->u.arr.items[k], i))
                return false;
        }
        return *i < f->nev && f->ev[(*i)++].op == FUZZ_JSON_WRITE_ARR_CLOSE;
    case OP_JSON_OBJECT:
        if (e->op != FUZZ_JSON_WRITE_OBJ_OPEN)
            return false;
        for (size_t k = 0; k < v->u.obj.n; k++) {
            if (*i >= f->nev)
                return false;
            const fuzz_json_write_event_t *key = &f->ev[(*i)++];
            if (key->op != FUZZ_JSON_WRITE_KEY || key->len != v->u.obj.key_lens[k] ||
                memcmp(key->s, v->u.obj.keys[k], key->len) != 0 ||
                !fuzz_json_write_same(f, v->u.obj.vals[k], i))
                return false;
        }
        return *i < f->nev && f->ev[(*i)++].op == FUZZ_JSON_WRITE_OBJ_CLOSE;
    default:
        return false;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const op_json_limits_t lim = {SIZE_MAX, FUZZ_JSON_WRITE_MAX_DEPTH, SIZE_MAX};
    fuzz_json_write_t f = {.p = data, .end = data + size, .ok = true};
    const char *out = NULL;
    size_t len = 0, at = 0;
    op_json_t *v = NULL;
    op_err_t err;

    if (size < 1)
        return 0;
    f.a = op_arena_new(64u << 20);
    if (f.a == NULL)
        return 0;
    f.w = op_json_w_new(f.a, *f.p++ & 1);
    if (f.w == NULL)
        abort();
    while (fuzz_json_write_step(&f)) {
    }
    op_err_clear(&err);
    int rc = op_json_w_finish(f.w, &out, &len, &err);
    if (!f.ok || !f.done || f.depth != 0) {
        if (rc != OP_EINVAL || out != NULL || len != 0 || err.description[0] == '\0')
            abort();
        goto cleanup_arena;
    }
    if (rc != OP_OK || out == NULL || strlen(out) != len || !op_json_utf8_valid(out, len))
        abort();
    if (f.dup)
        goto cleanup_arena;
    if (op_json_parse(f.a, out, len, &lim, &v, &err) != OP_OK ||
        !fuzz_json_write_same(&f, v, &at) || at != f.nev)
        abort();
cleanup_arena:
    op_arena_free(f.a);
    return 0;
}
