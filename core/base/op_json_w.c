/*
 * core/base/op_json_w.c - the UTF-8-validating JSON writer.
 *
 * The writer appends to one buffer in its arena, grown geometrically, and
 * keeps its own nesting state: keys only where an object expects one,
 * closes that match their opens, one top-level value. Strings must be
 * strictly valid UTF-8 without NUL (what the reader accepts,
 * op_json_utf8_valid), numbers of a hand-built tree valid JSON.
 *
 * The bytes are those yajl_gen 2.1.0 writes, which the writer wrapped
 * before: '"', '\\' and the control bytes escaped (\b \f \n \r \t, the
 * others \u00XX in upper-case hex), '/' and UTF-8 as they are; pretty is
 * yajl_gen_beautify's layout (four spaces a level, ": " after a key, an
 * empty container spread over two lines, a newline after the document).
 * A string is validated and escaped in one pass that skips eight clean
 * bytes a step.
 */
#include <string.h>

#include "core/base/op.h"

/* yajl_gen's limit (it refuses to open a container at depth 128). */
#define OP_JSON_W_MAX_DEPTH 127

/* The first buffer: most documents fit, the rest grow by doubling. */
#define OP_JSON_W_INIT 512

/* What the open container at a depth has seen, as yajl_gen tracks it;
 * the separator before the next item follows from it. */
enum {
    OP_JSON_W_ARR_START = 1, /* an array, empty so far */
    OP_JSON_W_ARR_IN,        /* an array after an item */
    OP_JSON_W_OBJ_START,     /* an object, empty so far: a key or the close */
    OP_JSON_W_OBJ_KEY,       /* an object after a member: a key or the close */
    OP_JSON_W_OBJ_VAL        /* the value of the key just written */
};

struct op_json_w {
    op_arena_t *arena;
    char *buf;       /* the output so far, in the arena */
    size_t len;      /* bytes written, complete items only */
    size_t cap;      /* always > len: room for the final NUL */
    int status;      /* first failure, sticky; OP_OK until then */
    const char *why; /* static text of that failure */
    bool pretty;
    bool done; /* a complete top-level value was written */
    size_t depth;
    unsigned char frames[OP_JSON_W_MAX_DEPTH + 1]; /* [1..depth]; [0] stays 0 */
};

/* The escape of each control byte: the second character of a
 * two-character escape, 'u' for \u00XX; NUL ('x') is refused. */
static const char op_json_w_ctl[] = "xuuuuuuubtnufruuuuuuuuuuuuuuuuuu";

/* How a string byte is written: as it is (0), as the escape above, '"'
 * and '\\' after a backslash, or as part of a UTF-8 sequence ('8',
 * validated as a run). */
static unsigned char op_json_w_class(unsigned char c)
{
    if (c >= 0x80)
        return '8';
    if (c < 0x20)
        return (unsigned char)op_json_w_ctl[c];
    return c == '"' || c == '\\' ? c : 0;
}

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

/* Record the first failure; later calls do nothing. */
static void op_json_w_fail(op_json_w_t *w, int status, const char *why)
{
    if (w->status == OP_OK) {
        w->status = status;
        w->why = why;
    }
}

/* Make the buffer hold n more bytes after len, plus the NUL: double it,
 * or grow it to exactly what is needed when doubling would pass the
 * arena's cap. The bytes after len (an item being written) are kept. */
static bool op_json_w_grow(op_json_w_t *w, size_t n)
{
    size_t need = w->len + n + 1;
    char *p = NULL;

    if (need > w->len) {
        size_t cap = w->cap * 2 > need ? w->cap * 2 : need;
        p = op_arena_realloc(w->arena, w->buf, w->cap, cap);
        if (p == NULL && cap > need)
            p = op_arena_realloc(w->arena, w->buf, w->cap, cap = need);
        if (p != NULL) {
            w->buf = p;
            w->cap = cap;
            return true;
        }
    }
    op_json_w_fail(w, OP_ETOOBIG, "output too large for the arena");
    return false;
}

/* Room for n more bytes after len (and the NUL)? Fails the writer if the
 * arena cannot give it. The buffer may move: take w->buf afterwards.
 * Inlined, as the helpers below: they run for every item. */
static inline __attribute__((always_inline)) bool op_json_w_room(op_json_w_t *w, size_t n)
{
    if (__builtin_expect(w->cap - w->len > n, 1))
        return true;
    return op_json_w_grow(w, n);
}

/* The most op_json_w_prefix and a final newline write. */
static inline __attribute__((always_inline)) size_t op_json_w_prefix_max(const op_json_w_t *w)
{
    return w->pretty ? 3 + 4 * w->depth : 1;
}

/* The separator before an item, by the container's state (0: the top
 * level, nothing written yet), and the state after it. */
static const char op_json_w_sep[] = {
    [OP_JSON_W_ARR_IN] = ',',
    [OP_JSON_W_OBJ_KEY] = ',',
    [OP_JSON_W_OBJ_VAL] = ':',
};
static const unsigned char op_json_w_next[] = {
    [OP_JSON_W_ARR_START] = OP_JSON_W_ARR_IN,  [OP_JSON_W_ARR_IN] = OP_JSON_W_ARR_IN,
    [OP_JSON_W_OBJ_START] = OP_JSON_W_OBJ_VAL, [OP_JSON_W_OBJ_KEY] = OP_JSON_W_OBJ_VAL,
    [OP_JSON_W_OBJ_VAL] = OP_JSON_W_OBJ_KEY,
};

/* The pretty form of op_json_w_prefix: a newline after ',' or a space
 * after ':', and the indentation where an item starts a line. */
static size_t op_json_w_prefix_pretty(const op_json_w_t *w, unsigned char st, char *p)
{
    size_t n = 0;

    if (op_json_w_sep[st] != 0) {
        p[n++] = op_json_w_sep[st];
        p[n++] = st == OP_JSON_W_OBJ_VAL ? ' ' : '\n';
    }
    if (st != OP_JSON_W_OBJ_VAL) {
        memset(p + n, ' ', 4 * w->depth);
        n += 4 * w->depth;
    }
    return n;
}

/* Write at p what goes before an item in the current container (its
 * separator and, when pretty, its indentation); returns the count. */
static inline __attribute__((always_inline)) size_t op_json_w_prefix(const op_json_w_t *w, char *p)
{
    unsigned char st = w->frames[w->depth];

    if (w->pretty)
        return op_json_w_prefix_pretty(w, st, p);
    *p = op_json_w_sep[st];
    return *p != 0;
}

/* An item (a value, or a key) ends at o: advance the container's state,
 * add the newline that ends a pretty document, and commit the bytes. */
static inline __attribute__((always_inline)) void op_json_w_commit(op_json_w_t *w, size_t o)
{
    if (w->depth > 0) {
        w->frames[w->depth] = op_json_w_next[w->frames[w->depth]];
    } else {
        w->done = true;
        if (w->pretty)
            w->buf[o++] = '\n';
    }
    w->len = o;
}

/* May a value (scalar or container) go here? Fails the writer if not. */
static bool op_json_w_begin(op_json_w_t *w)
{
    if (w == NULL || w->status != OP_OK)
        return false;
    if (w->depth == 0 && w->done)
        op_json_w_fail(w, OP_EINVAL, "a second top-level value");
    else if (w->depth > 0 && (w->frames[w->depth] == OP_JSON_W_OBJ_START ||
                              w->frames[w->depth] == OP_JSON_W_OBJ_KEY))
        op_json_w_fail(w, OP_EINVAL, "a value where a key is expected");
    return w->status == OP_OK;
}

/* A scalar's text s[0..n), after its separator. */
static void op_json_w_atom(op_json_w_t *w, const char *s, size_t n)
{
    if (!op_json_w_begin(w) || !op_json_w_room(w, op_json_w_prefix_max(w) + n))
        return;
    size_t o = w->len + op_json_w_prefix(w, w->buf + w->len);
    memcpy(w->buf + o, s, n);
    op_json_w_commit(w, o + n);
}

/*
 * New writer in a, with its first buffer. NULL when the arena cannot hold
 * them (its cap: OP_ETOOBIG to the caller).
 */
op_json_w_t *op_json_w_new(op_arena_t *a, bool pretty)
{
    op_json_w_t *w = a != NULL ? op_arena_calloc(a, 1, sizeof(*w)) : NULL;

    if (w == NULL)
        return NULL;
    w->buf = op_arena_alloc(a, OP_JSON_W_INIT);
    if (w->buf == NULL)
        return NULL;
    w->arena = a;
    w->cap = OP_JSON_W_INIT;
    w->pretty = pretty;
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
    if (!op_json_w_room(w, op_json_w_prefix_max(w) + 2))
        return;
    size_t o = w->len + op_json_w_prefix(w, w->buf + w->len);
    w->buf[o++] = object ? '{' : '[';
    if (w->pretty)
        w->buf[o++] = '\n';
    w->len = o;
    w->frames[++w->depth] = object ? OP_JSON_W_OBJ_START : OP_JSON_W_ARR_START;
}

static void op_json_w_close(op_json_w_t *w, bool object)
{
    if (w == NULL || w->status != OP_OK)
        return;
    unsigned char st = w->depth > 0 ? w->frames[w->depth] : 0;
    bool is_object = st == OP_JSON_W_OBJ_START || st == OP_JSON_W_OBJ_KEY;
    if (w->depth == 0 || st == OP_JSON_W_OBJ_VAL || is_object != object) {
        op_json_w_fail(w, OP_EINVAL, "a close that matches no open");
        return;
    }
    /* newline, indentation of the parent's depth, bracket, final newline */
    if (!op_json_w_room(w, op_json_w_prefix_max(w) + 2))
        return;
    w->depth--;
    size_t o = w->len;
    if (w->pretty) {
        w->buf[o++] = '\n';
        memset(w->buf + o, ' ', 4 * w->depth);
        o += 4 * w->depth;
    }
    w->buf[o++] = object ? '}' : ']';
    op_json_w_commit(w, o);
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

/* The bytes of the word v that a string cannot copy as they are (>= 0x80,
 * < 0x20, '"', '\\') have their high bit set in the result (the "has a
 * zero byte" and "has a byte less than n" tests on the word). Borrows may
 * mark bytes above the lowest one flagged, never below it, and never
 * hide a byte that needs attention. */
static uint64_t op_json_w_special8(uint64_t v)
{
    const uint64_t lo = 0x0101010101010101ull, hi = 0x8080808080808080ull;
    uint64_t q = v ^ (lo * '"'), b = v ^ (lo * '\\');

    /* q and b have v's high bits ('"' and '\\' are ASCII): one ~v serves */
    return ((((v - lo * 0x20) | (q - lo) | (b - lo)) & ~v) | v) & hi;
}

/* The bytes of a string shorter than a word, as one word: two 4-byte
 * loads that overlap, or the first, middle and last bytes, padded with a
 * clean byte. Every byte is in it, so the word is clean iff the string is. */
static uint64_t op_json_w_short(const unsigned char *s, size_t len)
{
    uint32_t a, b;

    if (len < 4)
        return 0x6161616161000000ull | s[0] | (uint64_t)s[len / 2] << 8 |
               (uint64_t)s[len - 1] << 16;
    memcpy(&a, s, sizeof(a));
    memcpy(&b, s + len - 4, sizeof(b));
    return a | (uint64_t)b << 32;
}

/*
 * How many bytes from i on (at most eight, at most to len) need nothing,
 * by one word test. A string's last word overlaps bytes already seen,
 * which the shift drops; a byte they flag by a borrow is a false alarm
 * the caller sees by looking at it, never a miss. On a big-endian host
 * the word's order is not the bytes', so a word is clean or not (0).
 */
static size_t op_json_w_clean(const unsigned char *s, size_t i, size_t len)
{
    uint64_t v;

    if (len < 8)
        return i == 0 && op_json_w_special8(op_json_w_short(s, len)) == 0 ? len : 0;
    size_t at = len - i >= 8 ? i : len - 8;
    memcpy(&v, s + at, sizeof(v));
    uint64_t m = op_json_w_special8(v);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    m >>= 8 * (i - at);
    return m == 0 ? 8 - (i - at) : (size_t)__builtin_ctzll(m) >> 3;
#else
    return m == 0 ? 8 - (i - at) : 0;
#endif
}

/*
 * Write s[0..len) as a JSON string after its separator, validating and
 * escaping in one pass: clean runs (found eight bytes a step) are copied
 * with memcpy when an escape or the end comes; a run of bytes >= 0x80 is
 * checked by op_json_utf8_valid, the reader's rule, as it is met (a valid
 * string's such runs are whole sequences). Room for the string without
 * escapes is made first; each escape makes room for its extra bytes.
 * Nothing is committed until the closing quote, so a string that fails
 * leaves the output as it was (and the writer failed).
 */
static void op_json_w_string(op_json_w_t *w, const char *str, size_t len)
{
    static const char hex[] = "0123456789ABCDEF";
    const unsigned char *s = (const unsigned char *)str;
    size_t i = 0, r = 0, extra = op_json_w_prefix_max(w) + 2, o;

    if (s == NULL) {
        op_json_w_fail(w, OP_EINVAL, "invalid UTF-8 or NUL in a string");
        return;
    }
    if (len > SIZE_MAX / 2 || !op_json_w_room(w, extra + len)) {
        op_json_w_fail(w, OP_ETOOBIG, "output too large for the arena");
        return;
    }
    o = w->len + op_json_w_prefix(w, w->buf + w->len);
    w->buf[o++] = '"';
    while (i < len) {
        size_t n = op_json_w_clean(s, i, len);
        i += n;
        if (n == 8 || i == len)
            continue;
        unsigned char e = op_json_w_class(s[i]);
        if (e == 0) {
            i++;
            continue;
        }
        if (e == '8') {
            size_t j = i + 1;
            while (j < len && s[j] >= 0x80)
                j++;
            if (!op_json_utf8_valid(str + i, j - i))
                break;
            i = j;
            continue;
        }
        if (e == 'x')
            break;
        extra += e == 'u' ? 5 : 1;
        if (!op_json_w_room(w, extra + len))
            return;
        memcpy(w->buf + o, s + r, i - r);
        o += i - r;
        w->buf[o++] = '\\';
        w->buf[o++] = (char)e;
        if (e == 'u') {
            w->buf[o++] = '0';
            w->buf[o++] = '0';
            w->buf[o++] = hex[s[i] >> 4];
            w->buf[o++] = hex[s[i] & 0x0F];
        }
        r = ++i;
    }
    if (i < len) {
        op_json_w_fail(w, OP_EINVAL, "invalid UTF-8 or NUL in a string");
        return;
    }
    memcpy(w->buf + o, s + r, len - r);
    o += len - r;
    w->buf[o++] = '"';
    op_json_w_commit(w, o);
}

static void op_json_w_keyn(op_json_w_t *w, const char *key, size_t len)
{
    if (w == NULL || w->status != OP_OK)
        return;
    if (w->depth == 0 ||
        (w->frames[w->depth] != OP_JSON_W_OBJ_START && w->frames[w->depth] != OP_JSON_W_OBJ_KEY)) {
        op_json_w_fail(w, OP_EINVAL, "a key outside an object or after a key");
        return;
    }
    op_json_w_string(w, key, len);
}

void op_json_w_key(op_json_w_t *w, const char *key)
{
    op_json_w_keyn(w, key, key != NULL ? strlen(key) : 0);
}

void op_json_w_strn(op_json_w_t *w, const char *s, size_t len)
{
    if (op_json_w_begin(w))
        op_json_w_string(w, s, len);
}

void op_json_w_str(op_json_w_t *w, const char *s)
{
    op_json_w_strn(w, s, s != NULL ? strlen(s) : 0);
}

/* The decimal digits of v, last digit first. */
void op_json_w_int(op_json_w_t *w, int64_t v)
{
    char d[24];
    size_t n = 0;
    uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;

    do {
        d[sizeof(d) - 1 - n++] = (char)('0' + u % 10);
        u /= 10;
    } while (u != 0);
    if (v < 0)
        d[sizeof(d) - 1 - n++] = '-';
    op_json_w_atom(w, d + sizeof(d) - n, n);
}

void op_json_w_bool(op_json_w_t *w, bool v)
{
    op_json_w_atom(w, v ? "true" : "false", v ? 4 : 5);
}

void op_json_w_null(op_json_w_t *w)
{
    op_json_w_atom(w, "null", 4);
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
    op_json_w_atom(w, raw, strlen(raw));
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

/*
 * Hand back the writer's own buffer, NUL-terminated (there is always room
 * for the NUL): no copy. Nothing can be written after a successful finish
 * (the document is complete, so any call fails the writer), so the
 * buffer stays as it is; a later finish sees the same state.
 */
int op_json_w_finish(op_json_w_t *w, const char **out, size_t *len, op_err_t *err)
{
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
    w->buf[w->len] = '\0';
    *out = w->buf;
    if (len != NULL)
        *len = w->len;
    return OP_OK;
}
