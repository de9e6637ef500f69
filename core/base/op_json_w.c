/*
 * core/base/op_json_w.c - the UTF-8-validating JSON writer (yajl_gen).
 *
 * The writer wraps yajl_gen and keeps its own nesting state, because
 * yajl_gen 2.1.0 checks neither where keys go nor whether closes match
 * opens. Strings must be strictly valid UTF-8 without NUL (what the reader
 * accepts, op_json_utf8_valid), numbers of a hand-built tree valid JSON.
 * yajl's memory comes from the writer's arena through the allocator of
 * core/base/op_json.c (op_json_ya_*); see there for what happens when the arena
 * is full.
 */
#include <string.h>

#include <yajl/yajl_gen.h>

#include "core/base/op.h"
#include "core/base/op_json_int.h"

/* yajl_gen refuses to open a container at its depth YAJL_MAX_DEPTH. */
#define OP_JSON_W_MAX_DEPTH (YAJL_MAX_DEPTH - 1)

/* True when s is a JSON number: -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)? */
static bool op_json_w_number_valid(const char *s)
{
    size_t i = 0, d;

    if (s == NULL)
        return false;
    if (s[i] == '-')
        i++;
    if (s[i] == '0')
        i++;
    else if (s[i] >= '1' && s[i] <= '9')
        i += strspn(s + i, "0123456789");
    else
        return false;
    if (s[i] == '.') {
        d = strspn(s + i + 1, "0123456789");
        if (d == 0)
            return false;
        i += 1 + d;
    }
    if (s[i] == 'e' || s[i] == 'E') {
        i++;
        if (s[i] == '+' || s[i] == '-')
            i++;
        d = strspn(s + i, "0123456789");
        if (d == 0)
            return false;
        i += d;
    }
    return s[i] == '\0';
}

/* What the open container at a depth expects next. */
enum {
    OP_JSON_W_ARRAY = 1, /* a value */
    OP_JSON_W_KEY,       /* a key or the close */
    OP_JSON_W_VALUE      /* the value of the key just written */
};

struct op_json_w {
    op_arena_t *arena;
    yajl_gen g;
    int status;      /* first failure, sticky; OP_OK until then */
    const char *why; /* static text of that failure */
    bool done;       /* a complete top-level value was written */
    size_t depth;
    unsigned char frames[OP_JSON_W_MAX_DEPTH + 1]; /* [1..depth] */
    op_json_ya_t ya;
};

/* Record the first failure; later calls do nothing. */
static void op_json_w_fail(op_json_w_t *w, int status, const char *why)
{
    if (w->status == OP_OK) {
        w->status = status;
        w->why = why;
    }
}

/* Check a yajl_gen result, and whether yajl had to go past the arena. */
static void op_json_w_check(op_json_w_t *w, yajl_gen_status st)
{
    if (w->ya.failed)
        op_json_w_fail(w, OP_ETOOBIG, "output too large for the arena");
    else if (st != yajl_gen_status_ok)
        op_json_w_fail(w, OP_EINVAL, "rejected by the generator");
}

/* May a value (scalar or container) go here? Fails the writer if not. */
static bool op_json_w_begin(op_json_w_t *w)
{
    if (w == NULL || w->status != OP_OK)
        return false;
    if (w->depth == 0 && w->done)
        op_json_w_fail(w, OP_EINVAL, "a second top-level value");
    else if (w->depth > 0 && w->frames[w->depth] == OP_JSON_W_KEY)
        op_json_w_fail(w, OP_EINVAL, "a value where a key is expected");
    return w->status == OP_OK;
}

/* A value is complete at the current depth. */
static void op_json_w_end(op_json_w_t *w)
{
    if (w->depth == 0)
        w->done = true;
    else if (w->frames[w->depth] == OP_JSON_W_VALUE)
        w->frames[w->depth] = OP_JSON_W_KEY;
}

/*
 * New writer in a. Its yajl_gen and output buffer live in the arena; the
 * cleanup registered here frees yajl's malloc fallback blocks, if any, when
 * the arena goes. NULL when the arena is full.
 */
op_json_w_t *op_json_w_new(op_arena_t *a, bool pretty)
{
    op_json_w_t *w = a != NULL ? op_arena_calloc(a, 1, sizeof(*w)) : NULL;

    if (w == NULL)
        return NULL;
    w->arena = a;
    op_json_ya_init(&w->ya, a);
    if (op_arena_cleanup_add(a, op_json_ya_release, &w->ya) != OP_OK)
        return NULL;
    w->g = yajl_gen_alloc(&w->ya.funcs);
    /* w->g is never NULL (the allocator never is); over the cap, failed says so */
    if (w->ya.failed)
        return NULL;
    /* Every string is checked by op_json_w_string already, more strictly
     * than yajl would (no NUL): no second pass over it. */
    if (pretty)
        yajl_gen_config(w->g, yajl_gen_beautify, 1);
    return w;
}

static void op_json_w_open(op_json_w_t *w, bool object)
{
    if (!op_json_w_begin(w))
        return;
    if (w->depth == OP_JSON_W_MAX_DEPTH) {
        op_json_w_fail(w, OP_EINVAL, "nesting too deep");
        return;
    }
    op_json_w_check(w, object ? yajl_gen_map_open(w->g) : yajl_gen_array_open(w->g));
    w->frames[++w->depth] = object ? OP_JSON_W_KEY : OP_JSON_W_ARRAY;
}

static void op_json_w_close(op_json_w_t *w, bool object)
{
    if (w == NULL || w->status != OP_OK)
        return;
    if (w->depth == 0 || w->frames[w->depth] == OP_JSON_W_VALUE ||
        (w->frames[w->depth] == OP_JSON_W_ARRAY) == object) {
        op_json_w_fail(w, OP_EINVAL, "a close that matches no open");
        return;
    }
    op_json_w_check(w, object ? yajl_gen_map_close(w->g) : yajl_gen_array_close(w->g));
    w->depth--;
    op_json_w_end(w);
}

void op_json_w_obj_open(op_json_w_t *w)
{
    op_json_w_open(w, true);
}

void op_json_w_obj_close(op_json_w_t *w)
{
    op_json_w_close(w, true);
}

void op_json_w_arr_open(op_json_w_t *w)
{
    op_json_w_open(w, false);
}

void op_json_w_arr_close(op_json_w_t *w)
{
    op_json_w_close(w, false);
}

/* The common end of a string value or key: strictly valid UTF-8 without
 * NUL (what the reader accepts), then yajl_gen_string. */
static void op_json_w_string(op_json_w_t *w, const char *s, size_t len)
{
    if (s == NULL || !op_json_utf8_valid(s, len)) {
        op_json_w_fail(w, OP_EINVAL, "invalid UTF-8 or NUL in a string");
        return;
    }
    op_json_w_check(w, yajl_gen_string(w->g, (const unsigned char *)s, len));
}

static void op_json_w_keyn(op_json_w_t *w, const char *key, size_t len)
{
    if (w == NULL || w->status != OP_OK)
        return;
    if (w->depth == 0 || w->frames[w->depth] != OP_JSON_W_KEY) {
        op_json_w_fail(w, OP_EINVAL, "a key outside an object or after a key");
        return;
    }
    op_json_w_string(w, key, len);
    w->frames[w->depth] = OP_JSON_W_VALUE;
}

void op_json_w_key(op_json_w_t *w, const char *key)
{
    op_json_w_keyn(w, key, key != NULL ? strlen(key) : 0);
}

void op_json_w_strn(op_json_w_t *w, const char *s, size_t len)
{
    if (!op_json_w_begin(w))
        return;
    op_json_w_string(w, s, len);
    op_json_w_end(w);
}

void op_json_w_str(op_json_w_t *w, const char *s)
{
    op_json_w_strn(w, s, s != NULL ? strlen(s) : 0);
}

/* The decimal digits of v written directly (yajl_gen_integer goes
 * through sprintf). */
void op_json_w_int(op_json_w_t *w, int64_t v)
{
    char d[24];
    size_t n = 0;
    uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;

    if (!op_json_w_begin(w))
        return;
    do {
        d[sizeof(d) - 1 - n++] = (char)('0' + u % 10);
        u /= 10;
    } while (u != 0);
    if (v < 0)
        d[sizeof(d) - 1 - n++] = '-';
    op_json_w_check(w, yajl_gen_number(w->g, d + sizeof(d) - n, n));
    op_json_w_end(w);
}

void op_json_w_bool(op_json_w_t *w, bool v)
{
    if (!op_json_w_begin(w))
        return;
    op_json_w_check(w, yajl_gen_bool(w->g, v));
    op_json_w_end(w);
}

void op_json_w_null(op_json_w_t *w)
{
    if (!op_json_w_begin(w))
        return;
    op_json_w_check(w, yajl_gen_null(w->g));
    op_json_w_end(w);
}

/* A number as its text, which must be JSON (a tree may be built by hand). */
static void op_json_w_number(op_json_w_t *w, const char *raw)
{
    if (!op_json_w_begin(w))
        return;
    if (!op_json_w_number_valid(raw)) {
        op_json_w_fail(w, OP_EINVAL, "a number that is not JSON");
        return;
    }
    op_json_w_check(w, yajl_gen_number(w->g, raw, strlen(raw)));
    op_json_w_end(w);
}

/* Serialise a tree, depth first; recursion is bounded by the writer's
 * depth limit, past which every call returns at once. */
void op_json_w_value(op_json_w_t *w, const op_json_t *v)
{
    if (w == NULL || w->status != OP_OK)
        return;
    if (v == NULL) {
        op_json_w_fail(w, OP_EINVAL, "no value");
        return;
    }
    switch (v->type) {
    case OP_JSON_NULL:
        op_json_w_null(w);
        break;
    case OP_JSON_FALSE:
    case OP_JSON_TRUE:
        op_json_w_bool(w, v->type == OP_JSON_TRUE);
        break;
    case OP_JSON_NUMBER:
        op_json_w_number(w, v->u.num.raw);
        break;
    case OP_JSON_STRING:
        op_json_w_strn(w, v->u.str.s, v->u.str.len);
        break;
    case OP_JSON_ARRAY:
        op_json_w_arr_open(w);
        for (size_t i = 0; i < v->u.arr.n && w->status == OP_OK; i++)
            op_json_w_value(w, v->u.arr.items[i]);
        op_json_w_arr_close(w);
        break;
    case OP_JSON_OBJECT:
        op_json_w_obj_open(w);
        for (size_t i = 0; i < v->u.obj.n && w->status == OP_OK; i++) {
            op_json_w_keyn(w, v->u.obj.keys[i], v->u.obj.key_lens[i]);
            op_json_w_value(w, v->u.obj.vals[i]);
        }
        op_json_w_obj_close(w);
        break;
    default:
        op_json_w_fail(w, OP_EINVAL, "a value of unknown type");
        break;
    }
}

void op_json_w_kstr(op_json_w_t *w, const char *key, const char *s)
{
    op_json_w_key(w, key);
    op_json_w_str(w, s);
}

void op_json_w_kint(op_json_w_t *w, const char *key, int64_t v)
{
    op_json_w_key(w, key);
    op_json_w_int(w, v);
}

void op_json_w_kbool(op_json_w_t *w, const char *key, bool v)
{
    op_json_w_key(w, key);
    op_json_w_bool(w, v);
}

/* Copy the finished document into the writer's arena, NUL-terminated. The
 * writer stays usable (a later finish sees the same state). */
int op_json_w_finish(op_json_w_t *w, const char **out, size_t *len, op_err_t *err)
{
    const unsigned char *buf = NULL;
    size_t n = 0;

    if (out != NULL)
        *out = NULL;
    if (len != NULL)
        *len = 0;
    if (w == NULL || out == NULL)
        return OP_ERR(err, OP_EINVAL, "JSON writer: no writer");
    if (w->status == OP_OK && w->depth != 0)
        op_json_w_fail(w, OP_EINVAL, "a container left open");
    if (w->status == OP_OK && !w->done)
        op_json_w_fail(w, OP_EINVAL, "nothing written");
    if (w->status != OP_OK)
        return OP_ERR(err, w->status, "JSON writer: %s", w->why);
    if (yajl_gen_get_buf(w->g, &buf, &n) != yajl_gen_status_ok || buf == NULL)
        return OP_ERR(err, OP_ERROR, "JSON writer: no output buffer");
    char *copy = op_arena_strndup(w->arena, (const char *)buf, n);
    if (copy == NULL)
        return OP_ERR(err, OP_ETOOBIG, "JSON writer: output too large for the arena");
    *out = copy;
    if (len != NULL)
        *len = n;
    return OP_OK;
}
