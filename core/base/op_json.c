/*
 * core/base/op_json.c - strict JSON reader (yajl_parse) and the helpers the
 * reader and the writer (core/base/op_json_w.c) share.
 *
 * yajl is included here only. The reader drives yajl_parse with callbacks
 * that build an op_json_t tree in the caller's arena and enforce what yajl
 * does not: the limits, unique keys, no NUL, strict UTF-8 (yajl only
 * checks the byte pattern, so it lets overlong forms, surrogates and code
 * points above U+10FFFF through) and paired surrogate escapes (yajl turns
 * a lone "\uD800" into '?' and "\uD800\u0041" into an unrelated code
 * point). The writer shares the UTF-8 check (op_json_utf8_valid).
 *
 * yajl's own memory comes from the arena as well (op_json_ya_*). yajl
 * 2.1.0 never checks what its allocator returns, so when the arena cap is
 * reached the allocator must not return NULL: it takes that block from
 * malloc instead, records the failure and frees all such blocks itself at
 * the end of the parse. The parse then fails with OP_ETOOBIG (the document
 * is too large for the arena); nothing crashes and nothing leaks.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yajl/yajl_parse.h>

#include "core/base/op.h"

const op_json_limits_t op_json_default_limits = {64 * 1024, 16, 4096};

/* Objects with up to this many keys are checked for duplicates by a scan
 * on every insert; bigger ones by sorting their keys when they close. */
#define OP_JSON_SCAN_MAX 16

/* ---- yajl's allocator ------------------------------------------------ */

/* In front of every block handed to yajl: its usable size (realloc must
 * know how much to copy) and, for malloc fallback blocks, the chain that
 * op_json_ya_release frees. The union keeps the payload aligned. */
typedef union op_json_yblk {
    struct {
        size_t size;
        union op_json_yblk *next; /* fallback chain; NULL in the arena */
        bool heap;
    } h;
    max_align_t align;
} op_json_yblk_t;

/* The ctx of yajl_alloc_funcs. failed: the arena refused at least once. */
typedef struct op_json_ya {
    op_arena_t *arena;
    op_json_yblk_t *heap;
    bool failed;
    yajl_alloc_funcs funcs;
} op_json_ya_t;

/*
 * yajl's malloc: from the arena, or from malloc once the arena is full (the
 * block joins ya->heap and ya->failed is set). Never returns NULL: yajl
 * would dereference it. Sizes are bounded by the input, so an overflowing
 * size means the process itself is out of memory (core/base/op_mem.h).
 */
static void *op_json_ya_malloc(void *ctx, size_t sz)
{
    op_json_ya_t *ya = ctx;
    op_json_yblk_t *b;

    if (sz > SIZE_MAX - sizeof(*b))
        op_mem_fail(sz);
    b = op_arena_alloc(ya->arena, sizeof(*b) + sz);
    if (b != NULL) {
        b->h.next = NULL;
        b->h.heap = false;
    } else {
        ya->failed = true;
        b = op_malloc(sizeof(*b) + sz);
        b->h.next = ya->heap;
        b->h.heap = true;
        ya->heap = b;
    }
    b->h.size = sz;
    return b + 1;
}

/* yajl's realloc: grows arena blocks with op_arena_realloc (in place when
 * it can), anything else by a new block and a copy. Never shrinks. */
static void *op_json_ya_realloc(void *ctx, void *p, size_t sz)
{
    op_json_ya_t *ya = ctx;

    if (p == NULL)
        return op_json_ya_malloc(ctx, sz);
    op_json_yblk_t *b = (op_json_yblk_t *)p - 1;
    if (sz <= b->h.size)
        return p;
    if (!b->h.heap && sz <= SIZE_MAX - sizeof(*b)) {
        op_json_yblk_t *nb =
            op_arena_realloc(ya->arena, b, sizeof(*b) + b->h.size, sizeof(*b) + sz);
        if (nb != NULL) {
            nb->h.size = sz;
            return nb + 1;
        }
    }
    void *np = op_json_ya_malloc(ctx, sz);
    memcpy(np, p, b->h.size);
    return np;
}

/* yajl's free: arena blocks go with the arena, fallback blocks with
 * op_json_ya_release. */
static void op_json_ya_free(void *ctx, void *p)
{
    OP_UNUSED(ctx);
    OP_UNUSED(p);
}

/* Point ya->funcs at the arena a (it must outlive every yajl handle made
 * with ya->funcs). */
static void op_json_ya_init(op_json_ya_t *ya, op_arena_t *a)
{
    ya->arena = a;
    ya->heap = NULL;
    ya->failed = false;
    ya->funcs.malloc = op_json_ya_malloc;
    ya->funcs.realloc = op_json_ya_realloc;
    ya->funcs.free = op_json_ya_free;
    ya->funcs.ctx = ya;
}

/* Free the malloc fallback blocks. Idempotent. */
static void op_json_ya_release(op_json_ya_t *ya)
{
    while (ya->heap != NULL) {
        op_json_yblk_t *next = ya->heap->h.next;
        free(ya->heap);
        ya->heap = next;
    }
}

/* ---- validation helpers ---------------------------------------------- */

/* True when the 8 bytes at s are ASCII without NUL: no high bit, and no
 * zero byte (the classic "has a zero byte" test on the word). */
static bool op_json_ascii8(const unsigned char *s)
{
    const uint64_t lo = 0x0101010101010101ull, hi = 0x8080808080808080ull;
    uint64_t w;

    memcpy(&w, s, sizeof(w));
    return (w & hi) == 0 && ((w - lo) & ~w & hi) == 0;
}

/* Strict UTF-8 (RFC 3629) without NUL; runs of ASCII go 8 bytes a step. */
bool op_json_utf8_valid(const char *buf, size_t len)
{
    const unsigned char *s = (const unsigned char *)buf;
    size_t i = 0;

    if (buf == NULL)
        return len == 0;
    while (i < len) {
        if (len - i >= 8 && op_json_ascii8(s + i)) {
            i += 8;
            continue;
        }
        unsigned char c = s[i];
        unsigned char lo = 0x80, hi = 0xBF; /* range of the second byte */
        size_t need;

        if (c == 0)
            return false;
        if (c < 0x80) {
            i++;
            continue;
        }
        if (c >= 0xC2 && c <= 0xDF) {
            need = 1;
        } else if (c >= 0xE0 && c <= 0xEF) {
            need = 2;
            if (c == 0xE0)
                lo = 0xA0; /* overlong */
            else if (c == 0xED)
                hi = 0x9F; /* surrogates */
        } else if (c >= 0xF0 && c <= 0xF4) {
            need = 3;
            if (c == 0xF0)
                lo = 0x90; /* overlong */
            else if (c == 0xF4)
                hi = 0x8F; /* above U+10FFFF */
        } else {
            return false; /* continuation, C0/C1 overlong, F5..FF */
        }
        if (len - i - 1 < need || s[i + 1] < lo || s[i + 1] > hi)
            return false;
        for (size_t k = 2; k <= need; k++) {
            if ((s[i + k] & 0xC0) != 0x80)
                return false;
        }
        i += need + 1;
    }
    return true;
}

/* The 16-bit value of the four hex digits at raw[i..i+4), if there. */
static bool op_json_hex4(const char *raw, size_t n, size_t i, unsigned *out)
{
    uint8_t b[2];

    if (i > n || n - i < 4 || !op_hex_decode(raw + i, 4, b, 2))
        return false;
    *out = (unsigned)b[0] << 8 | b[1];
    return true;
}

/*
 * True when every \u escape in the raw string text raw[0..n) that names a
 * surrogate is a high one directly followed by a low one. yajl decodes
 * the other cases without complaint (see the top of the file).
 */
static bool op_json_escapes_valid(const char *raw, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned cp, lo;

        if (raw[i] != '\\')
            continue;
        if (i + 1 >= n)
            return false;
        if (raw[i + 1] != 'u') {
            i++;
            continue;
        }
        if (!op_json_hex4(raw, n, i + 2, &cp))
            return false;
        i += 5;
        if (cp >= 0xDC00 && cp <= 0xDFFF)
            return false;
        if (cp < 0xD800 || cp > 0xDBFF)
            continue;
        if (i + 2 >= n || raw[i + 1] != '\\' || raw[i + 2] != 'u' ||
            !op_json_hex4(raw, n, i + 3, &lo) || lo < 0xDC00 || lo > 0xDFFF)
            return false;
        i += 6;
    }
    return true;
}

/* ---- reader ---------------------------------------------------------- */

/* An open array or object and the slots allocated in its arrays. */
typedef struct op_json_frame {
    op_json_t *node;
    size_t cap;
} op_json_frame_t;

/* Everything the callbacks share; lives on op_json_parse's stack. */
typedef struct op_json_ctx {
    op_arena_t *arena;
    const op_json_limits_t *lim;
    const char *in;
    size_t len;
    yajl_handle h;
    bool finishing; /* inside yajl_complete_parse: offsets are not ours */
    op_json_frame_t *frames;
    size_t depth;
    size_t frames_cap;
    size_t members;
    op_json_t *root;
    int status; /* first error, OP_OK until then */
    op_err_t *err;
    op_json_ya_t ya;
} op_json_ctx_t;

/* Byte offset in the input just past the current token. */
static size_t op_json_at(const op_json_ctx_t *c)
{
    return c->finishing ? c->len : yajl_get_bytes_consumed(c->h);
}

static int op_json_fail(op_json_ctx_t *c, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Record the error "JSON: <what> at byte N" and return 0, the callbacks'
 * way of stopping yajl. Only one error is recorded: yajl stops at once. */
static int op_json_fail(op_json_ctx_t *c, int code, const char *fmt, ...)
{
    char what[OP_ERR_DESC_MAX];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(what, sizeof(what), fmt, ap);
    va_end(ap);
    c->status = OP_ERR(c->err, code, "JSON: %s at byte %zu", what, op_json_at(c));
    return 0;
}

/* The arena's cap: the document is too large to hold as a tree. */
static int op_json_full(op_json_ctx_t *c)
{
    return op_json_fail(c, OP_ETOOBIG, "document too large for the arena");
}

/* Common entry check of every callback: the arena may have refused yajl
 * a block since the last one. */
static int op_json_ok(op_json_ctx_t *c)
{
    return c->ya.failed ? op_json_full(c) : 1;
}

static op_json_t *op_json_node(op_json_ctx_t *c, op_json_type_t type)
{
    op_json_t *v = op_arena_calloc(c->arena, 1, sizeof(*v));

    if (v != NULL)
        v->type = type;
    return v;
}

/* Slot count after growing from cap: doubling, 4 at first. */
static size_t op_json_next_cap(size_t cap)
{
    return cap == 0 ? 4 : cap * 2;
}

/* arr (cap slots of elem bytes) regrown in the arena to
 * op_json_next_cap(cap) slots; NULL when the arena is full. */
static void *op_json_grow(op_arena_t *a, void *arr, size_t elem, size_t cap)
{
    size_t ncap = op_json_next_cap(cap);

    if (ncap > SIZE_MAX / elem)
        return NULL;
    return op_arena_realloc(a, arr, cap * elem, ncap * elem);
}

/* Slots in the arrays of frame f for one more member. */
static int op_json_reserve(op_json_ctx_t *c, op_json_frame_t *f)
{
    op_json_t *n = f->node;

    if (n->type == OP_JSON_ARRAY) {
        if (n->u.arr.n < f->cap)
            return 1;
        op_json_t **items = op_json_grow(c->arena, n->u.arr.items, sizeof(*items), f->cap);
        if (items == NULL)
            return op_json_full(c);
        n->u.arr.items = items;
    } else {
        if (n->u.obj.n < f->cap)
            return 1;
        const char **keys = op_json_grow(c->arena, n->u.obj.keys, sizeof(*keys), f->cap);
        size_t *lens = op_json_grow(c->arena, n->u.obj.key_lens, sizeof(*lens), f->cap);
        op_json_t **vals = op_json_grow(c->arena, n->u.obj.vals, sizeof(*vals), f->cap);
        if (keys == NULL || lens == NULL || vals == NULL)
            return op_json_full(c);
        n->u.obj.keys = keys;
        n->u.obj.key_lens = lens;
        n->u.obj.vals = vals;
    }
    f->cap = op_json_next_cap(f->cap);
    return 1;
}

/* Attach a finished value: the root, an array item, or the value of the
 * object's pending key (yajl guarantees one is pending). */
static int op_json_add(op_json_ctx_t *c, op_json_t *v)
{
    if (v == NULL)
        return op_json_full(c);
    if (c->depth == 0) {
        c->root = v;
        return 1;
    }
    if (++c->members > c->lim->max_members)
        return op_json_fail(c, OP_ETOOBIG, "more than %zu members", c->lim->max_members);
    op_json_frame_t *f = &c->frames[c->depth - 1];
    if (f->node->type == OP_JSON_ARRAY) {
        if (!op_json_reserve(c, f))
            return 0;
        f->node->u.arr.items[f->node->u.arr.n++] = v;
    } else {
        f->node->u.obj.vals[f->node->u.obj.n++] = v;
    }
    return 1;
}

/*
 * The escapes of the raw text of the string yajl just decoded, which ends
 * just before the closing quote at op_json_at(c) - 1: the opening quote is
 * the nearest '"' before it with an even number of backslashes in front
 * (every quote inside a string is escaped, and none of the bytes before a
 * string is one). Fails the parse when they are not valid.
 */
static bool op_json_raw_escapes_ok(op_json_ctx_t *c, const char *what)
{
    size_t at = op_json_at(c), start = 0;

    if (c->finishing || at < 2 || at > c->len || c->in[at - 1] != '"') {
        op_json_fail(c, OP_EINVAL, "malformed %s", what);
        return false;
    }
    for (size_t i = at - 1; i > 0 && start == 0; i--) {
        size_t bs = 0;

        if (c->in[i - 1] != '"')
            continue;
        while (bs < i - 1 && c->in[i - 2 - bs] == '\\')
            bs++;
        if (bs % 2 == 0)
            start = i;
    }
    if (start == 0 || !op_json_escapes_valid(c->in + start, at - 1 - start)) {
        op_json_fail(c, OP_EINVAL, "unpaired surrogate escape in a %s", what);
        return false;
    }
    return true;
}

/* Did yajl hand over s[0..n) straight from the input? It does for a
 * string without escapes, and decodes any other into a buffer of its own. */
static bool op_json_in_input(const op_json_ctx_t *c, const unsigned char *s, size_t n)
{
    uintptr_t p = (uintptr_t)s, in = (uintptr_t)c->in;

    return p >= in && p - in <= c->len && n <= c->len - (p - in);
}

/* Check a decoded string or key s[0..n) (and, when yajl decoded it, the
 * escapes it came from) and copy it into the arena. */
static const char *op_json_str(op_json_ctx_t *c, const unsigned char *s, size_t n, const char *what)
{
    if (!op_json_ok(c))
        return NULL;
    if (!op_json_utf8_valid((const char *)s, n)) {
        bool nul = memchr(s, '\0', n) != NULL;
        op_json_fail(c, OP_EINVAL, nul ? "NUL in a %s" : "invalid UTF-8 in a %s", what);
        return NULL;
    }
    if (!op_json_in_input(c, s, n) && !op_json_raw_escapes_ok(c, what))
        return NULL;
    const char *copy = op_arena_strndup(c->arena, (const char *)s, n);
    if (copy == NULL)
        op_json_full(c);
    return copy;
}

static int op_json_on_null(void *ctx)
{
    op_json_ctx_t *c = ctx;

    return op_json_ok(c) && op_json_add(c, op_json_node(c, OP_JSON_NULL));
}

static int op_json_on_bool(void *ctx, int b)
{
    op_json_ctx_t *c = ctx;

    return op_json_ok(c) && op_json_add(c, op_json_node(c, b ? OP_JSON_TRUE : OP_JSON_FALSE));
}

/* Numbers keep their text; is_int/i when it is an int64, d always. */
static int op_json_on_number(void *ctx, const char *s, size_t n)
{
    op_json_ctx_t *c = ctx;

    if (!op_json_ok(c))
        return 0;
    op_json_t *v = op_json_node(c, OP_JSON_NUMBER);
    char *raw = op_arena_strndup(c->arena, s, n);
    if (v == NULL || raw == NULL)
        return op_json_full(c);
    v->u.num.raw = raw;
    v->u.num.is_int = op_str_parse_i64(raw, n, INT64_MIN, INT64_MAX, &v->u.num.i);
    v->u.num.d = strtod(raw, NULL);
    return op_json_add(c, v);
}

static int op_json_on_string(void *ctx, const unsigned char *s, size_t n)
{
    op_json_ctx_t *c = ctx;
    const char *copy = op_json_str(c, s, n, "string");

    if (copy == NULL)
        return 0;
    op_json_t *v = op_json_node(c, OP_JSON_STRING);
    if (v != NULL) {
        v->u.str.s = copy;
        v->u.str.len = n;
    }
    return op_json_add(c, v);
}

/* A key: checked, compared with the keys before it while the object is
 * small, and left pending at index n until its value arrives. */
static int op_json_on_key(void *ctx, const unsigned char *s, size_t n)
{
    op_json_ctx_t *c = ctx;
    op_json_frame_t *f = &c->frames[c->depth - 1];
    op_json_t *o = f->node;
    const char *copy = op_json_str(c, s, n, "key");

    if (copy == NULL || !op_json_reserve(c, f))
        return 0;
    if (o->u.obj.n < OP_JSON_SCAN_MAX) {
        for (size_t i = 0; i < o->u.obj.n; i++) {
            if (o->u.obj.key_lens[i] == n && memcmp(o->u.obj.keys[i], copy, n) == 0)
                return op_json_fail(c, OP_EINVAL, "duplicate key");
        }
    }
    o->u.obj.keys[o->u.obj.n] = copy;
    o->u.obj.key_lens[o->u.obj.n] = n;
    return 1;
}

/* Open a container: attach it to its parent, then push its frame. */
static int op_json_open(op_json_ctx_t *c, op_json_type_t type)
{
    if (!op_json_ok(c))
        return 0;
    if (c->depth >= c->lim->max_depth)
        return op_json_fail(c, OP_ETOOBIG, "nesting deeper than %zu", c->lim->max_depth);
    op_json_t *v = op_json_node(c, type);
    if (!op_json_add(c, v))
        return 0;
    if (c->depth == c->frames_cap) {
        op_json_frame_t *frames = op_json_grow(c->arena, c->frames, sizeof(*frames), c->frames_cap);
        if (frames == NULL)
            return op_json_full(c);
        c->frames = frames;
        c->frames_cap = op_json_next_cap(c->frames_cap);
    }
    c->frames[c->depth].node = v;
    c->frames[c->depth].cap = 0;
    c->depth++;
    return 1;
}

static int op_json_on_start_map(void *ctx)
{
    return op_json_open(ctx, OP_JSON_OBJECT);
}

static int op_json_on_start_array(void *ctx)
{
    return op_json_open(ctx, OP_JSON_ARRAY);
}

static int op_json_key_cmp(const void *pa, const void *pb)
{
    const op_str_t *a = pa, *b = pb;

    if (a->len != b->len)
        return a->len < b->len ? -1 : 1;
    return memcmp(a->ptr, b->ptr, a->len);
}

/* Close an object. Big objects were not scanned key by key: sort a copy
 * of their keys (O(n log n), immune to crafted collisions) and look for
 * equal neighbours. */
static int op_json_on_end_map(void *ctx)
{
    op_json_ctx_t *c = ctx;
    const op_json_t *o = c->frames[c->depth - 1].node;
    size_t n = o->u.obj.n;

    if (!op_json_ok(c))
        return 0;
    if (n > OP_JSON_SCAN_MAX) {
        op_str_t *k = op_arena_calloc(c->arena, n, sizeof(*k));
        if (k == NULL)
            return op_json_full(c);
        for (size_t i = 0; i < n; i++) {
            k[i].ptr = o->u.obj.keys[i];
            k[i].len = o->u.obj.key_lens[i];
        }
        qsort(k, n, sizeof(*k), op_json_key_cmp);
        for (size_t i = 1; i < n; i++) {
            if (op_json_key_cmp(&k[i - 1], &k[i]) == 0)
                return op_json_fail(c, OP_EINVAL, "duplicate key in the object ending");
        }
    }
    c->depth--;
    return 1;
}

static int op_json_on_end_array(void *ctx)
{
    op_json_ctx_t *c = ctx;

    if (!op_json_ok(c))
        return 0;
    c->depth--;
    return 1;
}

static const yajl_callbacks op_json_callbacks = {
    .yajl_null = op_json_on_null,
    .yajl_boolean = op_json_on_bool,
    .yajl_number = op_json_on_number,
    .yajl_string = op_json_on_string,
    .yajl_start_map = op_json_on_start_map,
    .yajl_map_key = op_json_on_key,
    .yajl_end_map = op_json_on_end_map,
    .yajl_start_array = op_json_on_start_array,
    .yajl_end_array = op_json_on_end_array,
};

/* The error of a parse yajl stopped: ours if a callback stopped it, else
 * yajl's own message (never the verbose one, which quotes the input). */
static int op_json_parse_error(op_json_ctx_t *c)
{
    if (c->status != OP_OK)
        return c->status;
    if (c->ya.failed) {
        op_json_full(c);
        return c->status;
    }
    const char *msg = (const char *)yajl_get_error(c->h, 0, NULL, 0);
    size_t n = msg != NULL ? strlen(msg) : 0;
    while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == '.'))
        n--;
    op_json_fail(c, OP_EINVAL, "%.*s", (int)n, n > 0 ? msg : "malformed");
    return c->status;
}

/*
 * Parse buf[0..len) into a tree in a (see op_json.h). The yajl handle and
 * everything it allocates live in a too and are simply abandoned (no
 * yajl_free: its frees are no-ops); malloc fallback blocks are released
 * before returning, whatever the outcome.
 */
int op_json_parse(op_arena_t *a, const char *buf, size_t len, const op_json_limits_t *lim,
                  op_json_t **out, op_err_t *err)
{
    op_json_ctx_t c;
    int rc;

    if (out != NULL)
        *out = NULL;
    if (a == NULL || out == NULL || (buf == NULL && len > 0))
        return OP_ERR(err, OP_EINVAL, "JSON: no input");
    if (lim == NULL)
        lim = &op_json_default_limits;
    if (len == 0)
        return OP_ERR(err, OP_EINVAL, "JSON: empty document");
    if (len > lim->max_bytes)
        return OP_ERR(err, OP_ETOOBIG, "JSON: document of %zu bytes is over the limit of %zu", len,
                      lim->max_bytes);

    memset(&c, 0, sizeof(c));
    c.arena = a;
    c.lim = lim;
    c.in = buf;
    c.len = len;
    c.err = err;
    op_json_ya_init(&c.ya, a);
    c.h = yajl_alloc(&op_json_callbacks, &c.ya.funcs, &c); /* never NULL: see above */
    /* Strict: these are yajl's defaults, set anyway so no build differs. */
    yajl_config(c.h, yajl_allow_comments, 0);
    yajl_config(c.h, yajl_dont_validate_strings, 0);
    yajl_config(c.h, yajl_allow_trailing_garbage, 0);
    yajl_config(c.h, yajl_allow_multiple_values, 0);
    yajl_config(c.h, yajl_allow_partial_values, 0);

    yajl_status st = yajl_parse(c.h, (const unsigned char *)buf, len);
    if (st == yajl_status_ok) {
        c.finishing = true;
        st = yajl_complete_parse(c.h);
    }
    if (st != yajl_status_ok) {
        rc = op_json_parse_error(&c);
    } else if (c.ya.failed) {
        op_json_full(&c);
        rc = c.status;
    } else {
        *out = c.root;
        rc = OP_OK;
    }
    op_json_ya_release(&c.ya);
    return rc;
}

/* ---- lookups --------------------------------------------------------- */

const op_json_t *op_json_get(const op_json_t *obj, const char *key)
{
    if (obj == NULL || key == NULL || obj->type != OP_JSON_OBJECT)
        return NULL;
    /* Keys hold no NUL: equal lengths, then equal bytes. */
    size_t n = strlen(key);
    for (size_t i = 0; i < obj->u.obj.n; i++) {
        if (obj->u.obj.key_lens[i] == n && memcmp(obj->u.obj.keys[i], key, n) == 0)
            return obj->u.obj.vals[i];
    }
    return NULL;
}

const char *op_json_get_str(const op_json_t *obj, const char *key)
{
    const op_json_t *v = op_json_get(obj, key);

    return op_json_is(v, OP_JSON_STRING) ? v->u.str.s : NULL;
}

bool op_json_get_int(const op_json_t *obj, const char *key, int64_t *out)
{
    const op_json_t *v = op_json_get(obj, key);

    if (!op_json_is(v, OP_JSON_NUMBER) || !v->u.num.is_int)
        return false;
    *out = v->u.num.i;
    return true;
}

bool op_json_get_bool(const op_json_t *obj, const char *key, bool *out)
{
    const op_json_t *v = op_json_get(obj, key);

    if (!op_json_is(v, OP_JSON_TRUE) && !op_json_is(v, OP_JSON_FALSE))
        return false;
    *out = v->type == OP_JSON_TRUE;
    return true;
}

bool op_json_is(const op_json_t *v, op_json_type_t type)
{
    return v != NULL && v->type == type;
}
