/* Unit tests: core/base/op_json.c (reader) and core/base/op_json_w.c (writer) */
#include <math.h>

#include "core/base/op.h"
#include "tests/unit/op_test.h"
#include "tests/unit/op_test_json.h"

/* A string literal as (pointer, length), so literals may hold NUL bytes. */
#define LIT(s) (s), (sizeof(s) - 1)

static const op_json_limits_t small_limits = {1024, 3, 5};

/* Parse buf[0..len) in a fresh arena and return the status. On failure
 * also check that err is filled in and says where (a byte offset). */
static int parse_status(const char *buf, size_t len, const op_json_limits_t *lim)
{
    op_arena_t *a = op_arena_new(1 << 20);
    op_json_t *v = NULL;
    op_err_t err;

    op_err_clear(&err);
    int rc = op_json_parse(a, buf, len, lim, &v, &err);
    if (rc == OP_OK) {
        OP_CHECK(v != NULL);
    } else {
        OP_CHECK(v == NULL);
        OP_CHECK_INT(err.code, rc);
        OP_CHECK(strncmp(err.description, "JSON: ", 6) == 0);
    }
    op_arena_free(a);
    return rc;
}

/* Parse a NUL-terminated document that must be valid. */
static op_json_t *parse_ok(op_arena_t *a, const char *s)
{
    op_json_t *v = NULL;
    op_err_t err;

    op_err_clear(&err);
    int rc = op_json_parse(a, s, strlen(s), NULL, &v, &err);
    if (rc != OP_OK)
        fprintf(stderr, "parse failed: %s\n", err.description);
    OP_CHECK_INT(rc, OP_OK);
    return v;
}

/* Serialise v into a's arena; must succeed. */
static const char *write_tree(op_arena_t *a, const op_json_t *v, bool pretty)
{
    op_json_w_t *w = op_json_w_new(a, pretty);
    const char *out = NULL;
    size_t len = 0;

    OP_CHECK(w != NULL);
    op_json_w_value(w, v);
    OP_CHECK_INT(op_json_w_finish(w, &out, &len, NULL), OP_OK);
    OP_CHECK(out != NULL && strlen(out) == len);
    return out;
}

/* When buf parses, write it back and re-parse: must give the same tree. */
static bool roundtrip_if_valid(const char *buf, size_t len)
{
    op_arena_t *a = op_arena_new(1 << 22);
    op_json_t *v = NULL, *v2 = NULL;
    bool ok = op_json_parse(a, buf, len, NULL, &v, NULL) == OP_OK;

    if (ok) {
        const char *out = write_tree(a, v, false);
        OP_CHECK_INT(op_json_parse(a, out, strlen(out), NULL, &v2, NULL), OP_OK);
        OP_CHECK(op_test_json_equal(v, v2));
    }
    op_arena_free(a);
    return ok;
}

/* Deterministic PRNG (xorshift64). */
static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint64_t rng(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

/* ---- reader ---------------------------------------------------------- */

static void test_scalars(void)
{
    op_arena_t *a = op_arena_new(1 << 20);
    OP_CHECK(op_json_is(parse_ok(a, "null"), OP_JSON_NULL));
    OP_CHECK(op_json_is(parse_ok(a, " true "), OP_JSON_TRUE));
    OP_CHECK(op_json_is(parse_ok(a, "false\n"), OP_JSON_FALSE));
    op_json_t *s = parse_ok(a, "\"hello\"");
    OP_CHECK(op_json_is(s, OP_JSON_STRING));
    OP_CHECK_STR(s->u.str.s, "hello");
    OP_CHECK_INT(s->u.str.len, 5);
    op_json_t *e = parse_ok(a, "\"\"");
    OP_CHECK_STR(e->u.str.s, "");
    op_json_t *n = parse_ok(a, "42");
    OP_CHECK(op_json_is(n, OP_JSON_NUMBER));
    OP_CHECK(n->u.num.is_int);
    OP_CHECK_INT(n->u.num.i, 42);
    OP_CHECK_STR(n->u.num.raw, "42");
    op_json_t *f = parse_ok(a, "-1.5e2");
    OP_CHECK(!f->u.num.is_int);
    OP_CHECK(f->u.num.d == -150.0);
    OP_CHECK_STR(f->u.num.raw, "-1.5e2");
    op_json_t *z = parse_ok(a, "-0");
    OP_CHECK(z->u.num.is_int && z->u.num.i == 0);
    op_json_t *one = parse_ok(a, "1.0");
    OP_CHECK(!one->u.num.is_int && one->u.num.d == 1.0);
    op_arena_free(a);
}

static void test_nested(void)
{
    op_arena_t *a = op_arena_new(1 << 20);
    op_json_t *v = parse_ok(a, "{\"a\":[1,{\"b\":[[],{}]},\"x\"],\"c\":{\"d\":null},"
                               "\"e\":[]}");
    OP_CHECK(op_json_is(v, OP_JSON_OBJECT));
    OP_CHECK_INT(v->u.obj.n, 3);
    OP_CHECK_STR(v->u.obj.keys[0], "a");
    OP_CHECK_STR(v->u.obj.keys[1], "c");
    OP_CHECK_STR(v->u.obj.keys[2], "e");
    const op_json_t *arr = op_json_get(v, "a");
    OP_CHECK(op_json_is(arr, OP_JSON_ARRAY));
    OP_CHECK_INT(arr->u.arr.n, 3);
    OP_CHECK_INT(arr->u.arr.items[0]->u.num.i, 1);
    const op_json_t *b = op_json_get(arr->u.arr.items[1], "b");
    OP_CHECK(op_json_is(b, OP_JSON_ARRAY) && b->u.arr.n == 2);
    OP_CHECK(op_json_is(b->u.arr.items[0], OP_JSON_ARRAY) && b->u.arr.items[0]->u.arr.n == 0);
    OP_CHECK(op_json_is(b->u.arr.items[1], OP_JSON_OBJECT) && b->u.arr.items[1]->u.obj.n == 0);
    OP_CHECK_STR(arr->u.arr.items[2]->u.str.s, "x");
    OP_CHECK(op_json_is(op_json_get(op_json_get(v, "c"), "d"), OP_JSON_NULL));
    OP_CHECK_INT(op_json_get(v, "e")->u.arr.n, 0);

    /* Many members: the arrays grow past their first allocation. */
    char buf[8192];
    size_t o = 0;
    o += (size_t)snprintf(buf + o, sizeof(buf) - o, "[");
    for (int i = 0; i < 500; i++)
        o += (size_t)snprintf(buf + o, sizeof(buf) - o, "%s%d", i ? "," : "", i);
    snprintf(buf + o, sizeof(buf) - o, "]");
    op_json_t *big = parse_ok(a, buf);
    OP_CHECK_INT(big->u.arr.n, 500);
    for (int i = 0; i < 500; i++)
        OP_CHECK_INT(big->u.arr.items[i]->u.num.i, i);
    op_arena_free(a);
}

static void test_unicode_escapes(void)
{
    op_arena_t *a = op_arena_new(1 << 20);
    op_json_t *v = parse_ok(a, "\"\\u00e9\\u20ac\\uD83D\\uDE00\\n\\t\\\"\\\\\\/\\u0041\"");
    OP_CHECK_STR(v->u.str.s, "\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80\n\t\"\\/A");
    OP_CHECK_INT(v->u.str.len, 15);
    op_json_t *max = parse_ok(a, "[\"\\uDBFF\\uDFFF\", \"\\\\uD800\", \"a\\\\\"]");
    OP_CHECK_STR(max->u.arr.items[0]->u.str.s, "\xF4\x8F\xBF\xBF");
    OP_CHECK_STR(max->u.arr.items[1]->u.str.s, "\\uD800"); /* escaped backslash */
    OP_CHECK_STR(max->u.arr.items[2]->u.str.s, "a\\");
    op_json_t *raw = parse_ok(a, "{\"\xE2\x82\xAC\":\"\xF0\x9F\x98\x80\"}");
    OP_CHECK_STR(op_json_get_str(raw, "\xE2\x82\xAC"), "\xF0\x9F\x98\x80");
    op_arena_free(a);

    /* Surrogate escapes that do not pair up. */
    OP_CHECK_INT(parse_status(LIT("\"\\uD800\""), NULL), OP_EINVAL);
    OP_CHECK_INT(parse_status(LIT("\"\\uD800x\""), NULL), OP_EINVAL);
    OP_CHECK_INT(parse_status(LIT("\"\\uDC00\""), NULL), OP_EINVAL);
    OP_CHECK_INT(parse_status(LIT("\"\\uD800\\u0041\""), NULL), OP_EINVAL);
    OP_CHECK_INT(parse_status(LIT("\"\\uD800\\uD800\""), NULL), OP_EINVAL);
    OP_CHECK_INT(parse_status(LIT("\"\\uDE00\\uD83D\""), NULL), OP_EINVAL);
    OP_CHECK_INT(parse_status(LIT("{\"\\uD800\":1}"), NULL), OP_EINVAL);
    OP_CHECK_INT(parse_status(LIT("\"\\u12\""), NULL), OP_EINVAL);
}

static void test_duplicate_keys(void)
{
    op_err_t err;
    op_arena_t *a = op_arena_new(1 << 20);
    op_json_t *v = NULL;

    OP_CHECK_INT(parse_status(LIT("{\"a\":1,\"a\":2}"), NULL), OP_EINVAL);
    OP_CHECK_INT(parse_status(LIT("{\"a\":1,\"b\":2,\"a\":{}}"), NULL), OP_EINVAL);
    OP_CHECK_INT(parse_status(LIT("{\"x\":[{\"b\":1,\"c\":{\"d\":1,\"d\":2}}]}"), NULL), OP_EINVAL);
    OP_CHECK_INT(parse_status(LIT("{\"a\":1,\"\\u0061\":2}"), NULL), OP_EINVAL);
    OP_CHECK_INT(parse_status(LIT("{\"\\u00e9\":1,\"\xC3\xA9\":2}"), NULL), OP_EINVAL);
    /* The same key in different objects, and prefixes, are fine. */
    OP_CHECK_INT(parse_status(LIT("{\"a\":{\"a\":{\"a\":1}},\"b\":{\"a\":2},\"ab\":3}"), NULL),
                 OP_OK);

    op_err_clear(&err);
    OP_CHECK_INT(op_json_parse(a, LIT("{\"k\":1,\"k\":2}"), NULL, &v, &err), OP_EINVAL);
    OP_CHECK(strstr(err.description, "duplicate key") != NULL);
    OP_CHECK(strstr(err.description, "at byte 10") != NULL);
    op_arena_free(a);
}

/* Objects past the scan threshold are checked by sorting at close. */
static void test_duplicate_keys_big_object(void)
{
    char buf[16384];
    int sizes[] = {15, 16, 17, 40, 1000};

    for (size_t s = 0; s < OP_NELEMS(sizes); s++) {
        int n = sizes[s];
        for (int dup = -1; dup < n; dup += n / 4 + 1) {
            size_t o = 0;
            o += (size_t)snprintf(buf + o, sizeof(buf) - o, "{\"pad\":{\"k0\":0},");
            for (int i = 0; i < n; i++)
                o += (size_t)snprintf(buf + o, sizeof(buf) - o, "%s\"k%d\":%d", i ? "," : "", i, i);
            /* dup >= 0: repeat key k<dup> at the end, escaped. */
            if (dup >= 0)
                o += (size_t)snprintf(buf + o, sizeof(buf) - o, ",\"\\u006b%d\":0", dup);
            snprintf(buf + o, sizeof(buf) - o, "}");
            op_json_limits_t lim = {sizeof(buf), 4, 10000};
            OP_CHECK_INT(parse_status(buf, strlen(buf), &lim), dup >= 0 ? OP_EINVAL : OP_OK);
        }
    }
}

static void test_depth_limit(void)
{
    OP_CHECK_INT(parse_status(LIT("[[[1]]]"), &small_limits), OP_OK);
    OP_CHECK_INT(parse_status(LIT("{\"a\":[{\"b\":1}]}"), &small_limits), OP_OK);
    OP_CHECK_INT(parse_status(LIT("[[[[1]]]]"), &small_limits), OP_ETOOBIG);
    OP_CHECK_INT(parse_status(LIT("{\"a\":[{\"b\":{}}]}"), &small_limits), OP_ETOOBIG);
    OP_CHECK_INT(parse_status(LIT("[[[[]]]]"), &small_limits), OP_ETOOBIG);

    /* The default: 16 levels, exactly. */
    char buf[64];
    memset(buf, '[', 16);
    memset(buf + 16, ']', 16);
    OP_CHECK_INT(parse_status(buf, 32, NULL), OP_OK);
    memset(buf, '[', 17);
    memset(buf + 17, ']', 17);
    OP_CHECK_INT(parse_status(buf, 34, NULL), OP_ETOOBIG);

    /* Scalars only with max_depth 0; very deep input stops early. */
    op_json_limits_t flat = {1 << 20, 0, 10};
    OP_CHECK_INT(parse_status(LIT("1"), &flat), OP_OK);
    OP_CHECK_INT(parse_status(LIT("[]"), &flat), OP_ETOOBIG);
    static char deep[60000];
    memset(deep, '[', sizeof(deep));
    OP_CHECK_INT(parse_status(deep, sizeof(deep), NULL), OP_ETOOBIG);
}

static void test_member_limit(void)
{
    OP_CHECK_INT(parse_status(LIT("[1,2,3,4,5]"), &small_limits), OP_OK);
    OP_CHECK_INT(parse_status(LIT("[1,2,3,4,5,6]"), &small_limits), OP_ETOOBIG);
    OP_CHECK_INT(parse_status(LIT("{\"a\":[1,2],\"b\":{\"c\":3}}"), &small_limits), OP_OK);
    OP_CHECK_INT(parse_status(LIT("{\"a\":[1,2],\"b\":{\"c\":3,\"d\":4}}"), &small_limits),
                 OP_ETOOBIG);
    OP_CHECK_INT(parse_status(LIT("[[],[],[],[],[],[]]"), &small_limits), OP_ETOOBIG);
}

static void test_byte_limit(void)
{
    op_json_limits_t lim = {10, 16, 100};
    op_err_t err;
    op_arena_t *a = op_arena_new(1 << 20);
    op_json_t *v = NULL;

    OP_CHECK_INT(parse_status(LIT("[1,2,3,45]"), &lim), OP_OK);
    OP_CHECK_INT(parse_status(LIT("[1,2,3,456]"), &lim), OP_ETOOBIG);
    op_err_clear(&err);
    OP_CHECK_INT(op_json_parse(a, LIT("[1,2,3,456]"), &lim, &v, &err), OP_ETOOBIG);
    OP_CHECK_INT(err.http_status, 413);
    OP_CHECK(strstr(err.description, "11 bytes") != NULL);
    /* Nothing was allocated: checked before parsing. */
    OP_CHECK_INT(op_arena_used(a), 0);
    op_arena_free(a);
}

static void test_embedded_nul(void)
{
    OP_CHECK_INT(parse_status(LIT("\"a\0b\""), NULL), OP_EINVAL);
    OP_CHECK_INT(parse_status(LIT("[1,\0 2]"), NULL), OP_EINVAL);
    OP_CHECK_INT(parse_status(LIT("[1]\0"), NULL), OP_EINVAL);
    OP_CHECK_INT(parse_status(LIT("{\"a\0\":1}"), NULL), OP_EINVAL);
    OP_CHECK_INT(parse_status(LIT("\"a\\u0000b\""), NULL), OP_EINVAL);
    OP_CHECK_INT(parse_status(LIT("[\"\\u0000\"]"), NULL), OP_EINVAL);
    OP_CHECK_INT(parse_status(LIT("{\"k\\u0000\":1}"), NULL), OP_EINVAL);

    op_err_t err;
    op_arena_t *a = op_arena_new(1 << 20);
    op_json_t *v = NULL;
    op_err_clear(&err);
    OP_CHECK_INT(op_json_parse(a, LIT("{\"k\\u0000\":1}"), NULL, &v, &err), OP_EINVAL);
    OP_CHECK(strstr(err.description, "NUL in a key") != NULL);
    op_arena_free(a);
}

static void test_invalid_utf8(void)
{
    static const char *const bad[] = {
        "\xC0\xAF",         /* overlong '/' */
        "\xC1\xBF",         /* overlong */
        "\xE0\x80\xAF",     /* overlong, 3 bytes */
        "\xF0\x80\x80\xAF", /* overlong, 4 bytes */
        "\x80",             /* lone continuation */
        "a\xBFz",           /* lone continuation inside */
        "\xED\xA0\x80",     /* surrogate U+D800 */
        "\xED\xBF\xBF",     /* surrogate U+DFFF */
        "\xE2\x82",         /* truncated */
        "\xF0\x9F\x98",     /* truncated */
        "\xC3",             /* truncated */
        "\xF4\x90\x80\x80", /* above U+10FFFF */
        "\xF8\x88\x80\x80\x80",
        "\xFF",
        "\xFE",
    };
    char buf[64];

    for (size_t i = 0; i < OP_NELEMS(bad); i++) {
        OP_CHECK(!op_json_utf8_valid(bad[i], strlen(bad[i])));
        int n = snprintf(buf, sizeof(buf), "[\"x%sy\"]", bad[i]);
        OP_CHECK_INT(parse_status(buf, (size_t)n, NULL), OP_EINVAL);
        n = snprintf(buf, sizeof(buf), "\"%s\"", bad[i]);
        OP_CHECK_INT(parse_status(buf, (size_t)n, NULL), OP_EINVAL);
        n = snprintf(buf, sizeof(buf), "{\"%s\":1}", bad[i]);
        OP_CHECK_INT(parse_status(buf, (size_t)n, NULL), OP_EINVAL);
    }
    OP_CHECK_INT(parse_status(LIT("[\x80]"), NULL), OP_EINVAL);
    OP_CHECK_INT(parse_status(LIT("\xEF\xBB\xBF[]"), NULL), OP_EINVAL); /* BOM */
}

static void test_utf8_valid(void)
{
    OP_CHECK(op_json_utf8_valid(NULL, 0));
    OP_CHECK(!op_json_utf8_valid(NULL, 1));
    OP_CHECK(op_json_utf8_valid(LIT("")));
    OP_CHECK(op_json_utf8_valid(LIT("plain ascii ~\x7f")));
    OP_CHECK(op_json_utf8_valid(LIT("\xC2\x80\xDF\xBF")));         /* U+0080, U+07FF */
    OP_CHECK(op_json_utf8_valid(LIT("\xE0\xA0\x80\xED\x9F\xBF"))); /* U+0800, U+D7FF */
    OP_CHECK(op_json_utf8_valid(LIT("\xEE\x80\x80\xEF\xBF\xBF"))); /* U+E000, U+FFFF */
    OP_CHECK(op_json_utf8_valid(LIT("\xF0\x90\x80\x80\xF4\x8F\xBF\xBF")));
    OP_CHECK(!op_json_utf8_valid(LIT("a\0b")));
    OP_CHECK(!op_json_utf8_valid(LIT("\0")));
    /* Only len bytes are read. */
    OP_CHECK(op_json_utf8_valid("ab\xFF", 2));
    OP_CHECK(!op_json_utf8_valid("\xE2\x82\xAC", 2));
    /* ASCII goes 8 bytes a step: a NUL, a stray byte or a cut sequence at
     * any place of a word is still seen, and a sequence may cross words. */
    for (size_t at = 0; at < 17; at++) {
        char buf[17];
        memset(buf, 'a', sizeof(buf));
        buf[at] = '\0';
        OP_CHECK(!op_json_utf8_valid(buf, sizeof(buf)));
        buf[at] = (char)0x80;
        OP_CHECK(!op_json_utf8_valid(buf, sizeof(buf)));
        buf[at] = (char)0xC3; /* U+00E9 = C3 A9, cut when at is the last byte */
        if (at + 1 < sizeof(buf))
            buf[at + 1] = (char)0xA9;
        OP_CHECK(op_json_utf8_valid(buf, sizeof(buf)) == (at + 1 < sizeof(buf)));
        OP_CHECK(!op_json_utf8_valid(buf, at + 1));
    }
    OP_CHECK(op_json_utf8_valid("aaaaaaaa\xFF", 8));
}

static void test_comments_rejected(void)
{
    OP_CHECK_INT(parse_status(LIT("[1 /* c */]"), NULL), OP_EINVAL);
    OP_CHECK_INT(parse_status(LIT("// c\n[1]"), NULL), OP_EINVAL);
    OP_CHECK_INT(parse_status(LIT("[1] // c"), NULL), OP_EINVAL);
    OP_CHECK_INT(parse_status(LIT("{\"a\":1 /**/}"), NULL), OP_EINVAL);
}

static void test_trailing_garbage_rejected(void)
{
    OP_CHECK_INT(parse_status(LIT("[1] x"), NULL), OP_EINVAL);
    OP_CHECK_INT(parse_status(LIT("{}}"), NULL), OP_EINVAL);
    OP_CHECK_INT(parse_status(LIT("[1]]"), NULL), OP_EINVAL);
    OP_CHECK_INT(parse_status(LIT("[1,]"), NULL), OP_EINVAL);
    OP_CHECK_INT(parse_status(LIT("{\"a\":1,}"), NULL), OP_EINVAL);
    OP_CHECK_INT(parse_status(LIT("[01]"), NULL), OP_EINVAL);
    OP_CHECK_INT(parse_status(LIT("[1.]"), NULL), OP_EINVAL);
    OP_CHECK_INT(parse_status(LIT("[+1]"), NULL), OP_EINVAL);
    OP_CHECK_INT(parse_status(LIT("[NaN]"), NULL), OP_EINVAL);
    OP_CHECK_INT(parse_status(LIT("['a']"), NULL), OP_EINVAL);
    OP_CHECK_INT(parse_status(LIT("{a:1}"), NULL), OP_EINVAL);
    OP_CHECK_INT(parse_status(LIT("[\"tab\tin string\"]"), NULL), OP_EINVAL);
    OP_CHECK_INT(parse_status(LIT("[1]  \n\t\r "), NULL), OP_OK);
}

static void test_two_values_rejected(void)
{
    OP_CHECK_INT(parse_status(LIT("1 2"), NULL), OP_EINVAL);
    OP_CHECK_INT(parse_status(LIT("{}{}"), NULL), OP_EINVAL);
    OP_CHECK_INT(parse_status(LIT("[] []"), NULL), OP_EINVAL);
    OP_CHECK_INT(parse_status(LIT("\"a\"\"b\""), NULL), OP_EINVAL);
    OP_CHECK_INT(parse_status(LIT("null null"), NULL), OP_EINVAL);
}

static void test_empty_and_truncated_rejected(void)
{
    op_arena_t *a = op_arena_new(1 << 20);
    op_json_t *v = (op_json_t *)&v; /* must be reset */
    op_err_t err;

    op_err_clear(&err);
    OP_CHECK_INT(op_json_parse(a, "", 0, NULL, &v, &err), OP_EINVAL);
    OP_CHECK(v == NULL);
    OP_CHECK(strstr(err.description, "empty") != NULL);
    OP_CHECK_INT(op_json_parse(a, NULL, 0, NULL, &v, NULL), OP_EINVAL);
    OP_CHECK_INT(op_json_parse(a, NULL, 5, NULL, &v, NULL), OP_EINVAL);
    OP_CHECK_INT(op_json_parse(NULL, "1", 1, NULL, &v, NULL), OP_EINVAL);
    OP_CHECK_INT(op_json_parse(a, "1", 1, NULL, NULL, NULL), OP_EINVAL);
    op_arena_free(a);

    OP_CHECK_INT(parse_status(LIT("   "), NULL), OP_EINVAL);
    OP_CHECK_INT(parse_status(LIT("["), NULL), OP_EINVAL);
    OP_CHECK_INT(parse_status(LIT("{\"a\":"), NULL), OP_EINVAL);
    OP_CHECK_INT(parse_status(LIT("\"abc"), NULL), OP_EINVAL);
    OP_CHECK_INT(parse_status(LIT("tru"), NULL), OP_EINVAL);
    OP_CHECK_INT(parse_status(LIT("-"), NULL), OP_EINVAL);
}

static void test_errors_do_not_echo_input(void)
{
    static const char *const docs[] = {
        "{\"sekrit\":\"hunter2\" x}",    "{\"sekrit\":\"hunter2\",\"sekrit\":1}",
        "[\"hunter2\xC0\xAF\"]",         "{\"hunter2\":tru}",
        "[\"hunter2\", /* sekrit */ 1]",
    };
    for (size_t i = 0; i < OP_NELEMS(docs); i++) {
        op_arena_t *a = op_arena_new(1 << 20);
        op_json_t *v = NULL;
        op_err_t err;
        op_err_clear(&err);
        OP_CHECK_INT(op_json_parse(a, docs[i], strlen(docs[i]), NULL, &v, &err), OP_EINVAL);
        OP_CHECK(strstr(err.description, "hunter2") == NULL);
        OP_CHECK(strstr(err.description, "sekrit") == NULL);
        OP_CHECK(strstr(err.description, " at byte ") != NULL);
        OP_CHECK_INT(err.http_status, 400);
        op_arena_free(a);
    }
}

static void test_big_integers(void)
{
    op_arena_t *a = op_arena_new(1 << 20);
    op_json_t *v = parse_ok(a, "[9223372036854775807,9223372036854775808,"
                               "-9223372036854775808,-9223372036854775809,"
                               "123456789012345678901234567890,1e400,1E2]");
    op_json_t **it = v->u.arr.items;
    OP_CHECK(it[0]->u.num.is_int && it[0]->u.num.i == INT64_MAX);
    OP_CHECK(!it[1]->u.num.is_int);
    OP_CHECK(it[1]->u.num.d == 9223372036854775808.0);
    OP_CHECK_STR(it[1]->u.num.raw, "9223372036854775808");
    OP_CHECK(it[2]->u.num.is_int && it[2]->u.num.i == INT64_MIN);
    OP_CHECK(!it[3]->u.num.is_int);
    OP_CHECK(it[3]->u.num.d == -9223372036854775808.0);
    OP_CHECK(!it[4]->u.num.is_int);
    OP_CHECK(it[4]->u.num.d > 1.2e29 && it[4]->u.num.d < 1.3e29);
    OP_CHECK_STR(it[4]->u.num.raw, "123456789012345678901234567890");
    OP_CHECK(!it[5]->u.num.is_int && isinf(it[5]->u.num.d));
    OP_CHECK(!it[6]->u.num.is_int && it[6]->u.num.d == 100.0);
    op_arena_free(a);
}

static void test_get_helpers(void)
{
    op_arena_t *a = op_arena_new(1 << 20);
    op_json_t *v = parse_ok(a, "{\"s\":\"str\",\"i\":-7,\"f\":1.5,\"big\":1e30,"
                               "\"t\":true,\"no\":false,\"n\":null,\"o\":{\"x\":1}}");
    int64_t i = 0;
    bool b = false;

    OP_CHECK_STR(op_json_get_str(v, "s"), "str");
    OP_CHECK(op_json_get_str(v, "i") == NULL);
    OP_CHECK(op_json_get_str(v, "missing") == NULL);
    OP_CHECK(op_json_get_int(v, "i", &i) && i == -7);
    OP_CHECK(!op_json_get_int(v, "f", &i));
    OP_CHECK(!op_json_get_int(v, "big", &i));
    OP_CHECK(!op_json_get_int(v, "s", &i));
    OP_CHECK(i == -7);
    OP_CHECK(op_json_get_bool(v, "t", &b) && b);
    OP_CHECK(op_json_get_bool(v, "no", &b) && !b);
    OP_CHECK(!op_json_get_bool(v, "n", &b));
    OP_CHECK(!op_json_get_bool(v, "missing", &b));
    OP_CHECK(op_json_is(op_json_get(v, "n"), OP_JSON_NULL));
    OP_CHECK(op_json_is(op_json_get(v, "o"), OP_JSON_OBJECT));
    OP_CHECK(op_json_get(v, "x") == NULL); /* not recursive */
    OP_CHECK(op_json_get(op_json_get(v, "s"), "s") == NULL);
    OP_CHECK(op_json_get(NULL, "s") == NULL);
    OP_CHECK(op_json_get(v, NULL) == NULL);
    OP_CHECK(op_json_get_str(NULL, "s") == NULL);
    OP_CHECK(!op_json_is(NULL, OP_JSON_NULL));
    OP_CHECK(op_json_is(v, OP_JSON_OBJECT) && !op_json_is(v, OP_JSON_ARRAY));
    op_arena_free(a);
}

static void test_default_limits(void)
{
    OP_CHECK_INT(op_json_default_limits.max_bytes, 64 * 1024);
    OP_CHECK_INT(op_json_default_limits.max_depth, 16);
    OP_CHECK_INT(op_json_default_limits.max_members, 4096);
    /* NULL limits are the defaults. */
    static char buf[64 * 1024 + 1];
    memset(buf, ' ', sizeof(buf));
    buf[0] = '1';
    OP_CHECK_INT(parse_status(buf, sizeof(buf) - 1, NULL), OP_OK);
    OP_CHECK_INT(parse_status(buf, sizeof(buf), NULL), OP_ETOOBIG);
}

/* ---- writer ---------------------------------------------------------- */

static void test_writer_basic(void)
{
    op_arena_t *a = op_arena_new(1 << 20);
    op_json_w_t *w = op_json_w_new(a, false);
    const char *out = NULL;
    size_t len = 0;

    OP_CHECK(w != NULL);
    op_json_w_obj_open(w);
    op_json_w_kstr(w, "s", "x\"y\n\\/\x01\xC3\xA9");
    op_json_w_kint(w, "i", -42);
    op_json_w_kint(w, "min", INT64_MIN);
    op_json_w_kint(w, "max", INT64_MAX);
    op_json_w_kint(w, "0", 0);
    op_json_w_kbool(w, "t", true);
    op_json_w_kbool(w, "f", false);
    op_json_w_key(w, "z");
    op_json_w_null(w);
    op_json_w_key(w, "a");
    op_json_w_arr_open(w);
    op_json_w_int(w, 1);
    op_json_w_strn(w, "two!", 3);
    op_json_w_arr_open(w);
    op_json_w_arr_close(w);
    op_json_w_arr_close(w);
    op_json_w_key(w, "o");
    op_json_w_obj_open(w);
    op_json_w_obj_close(w);
    op_json_w_obj_close(w);
    OP_CHECK_INT(op_json_w_finish(w, &out, &len, NULL), OP_OK);
    OP_CHECK_STR(out, "{\"s\":\"x\\\"y\\n\\\\/\\u0001\xC3\xA9\",\"i\":-42,"
                      "\"min\":-9223372036854775808,\"max\":9223372036854775807,\"0\":0,"
                      "\"t\":true,\"f\":false,\"z\":null,"
                      "\"a\":[1,\"two\",[]],\"o\":{}}");
    OP_CHECK_INT(len, strlen(out));

    /* A scalar is a document too; finish may be called again. */
    op_json_w_t *w2 = op_json_w_new(a, false);
    op_json_w_str(w2, "");
    OP_CHECK_INT(op_json_w_finish(w2, &out, NULL, NULL), OP_OK);
    OP_CHECK_STR(out, "\"\"");
    OP_CHECK_INT(op_json_w_finish(w2, &out, NULL, NULL), OP_OK);
    OP_CHECK_STR(out, "\"\"");
    op_arena_free(a);
}

static void test_writer_roundtrip(void)
{
    static const char doc[] =
        "{\"client_id\":\"s6BhdRkqt3\",\"redirect_uris\":[\"https://c.example/cb\","
        "\"https://c.example/cb2\"],\"n\":[0,-1,1.5e-3,9223372036854775808,-0.0],"
        "\"u\":\"\\u00e9\\uD83D\\uDE00\\t\\u001f\\\"\",\"deep\":{\"a\":{\"b\":{\"c\":[null,"
        "true,false,{},[]]}}},\"\xE2\x82\xAC\":\"euro\",\"\":\"empty key\"}";
    op_arena_t *a = op_arena_new(1 << 20);
    op_json_t *v = parse_ok(a, doc);

    for (int pretty = 0; pretty <= 1; pretty++) {
        const char *out = write_tree(a, v, pretty);
        OP_CHECK(pretty == (strchr(out, '\n') != NULL));
        op_json_t *v2 = parse_ok(a, out);
        OP_CHECK(op_test_json_equal(v, v2));
        OP_CHECK_STR(write_tree(a, v2, pretty), out);
    }
    /* Into a larger document, after a key. */
    op_json_w_t *w = op_json_w_new(a, false);
    const char *out = NULL;
    op_json_w_arr_open(w);
    op_json_w_value(w, op_json_get(v, "n"));
    op_json_w_obj_open(w);
    op_json_w_key(w, "d");
    op_json_w_value(w, op_json_get(v, "deep"));
    op_json_w_obj_close(w);
    op_json_w_arr_close(w);
    OP_CHECK_INT(op_json_w_finish(w, &out, NULL, NULL), OP_OK);
    OP_CHECK_STR(out, "[[0,-1,1.5e-3,9223372036854775808,-0.0],"
                      "{\"d\":{\"a\":{\"b\":{\"c\":[null,true,false,{},[]]}}}}]");
    op_arena_free(a);
}

/* Run fn on a new writer and expect finish to fail with OP_EINVAL. */
static void expect_writer_error(void (*fn)(op_json_w_t *))
{
    op_arena_t *a = op_arena_new(1 << 20);
    op_json_w_t *w = op_json_w_new(a, false);
    const char *out = (const char *)&w;
    size_t len = 99;
    op_err_t err;

    op_err_clear(&err);
    fn(w);
    OP_CHECK_INT(op_json_w_finish(w, &out, &len, &err), OP_EINVAL);
    OP_CHECK(out == NULL && len == 0);
    OP_CHECK_INT(err.code, OP_EINVAL);
    OP_CHECK(strncmp(err.description, "JSON writer: ", 13) == 0);
    op_arena_free(a);
}

static void w_overlong(op_json_w_t *w)
{
    op_json_w_arr_open(w);
    op_json_w_str(w, "\xC0\xAF");
    op_json_w_arr_close(w);
}

static void w_surrogate(op_json_w_t *w)
{
    op_json_w_str(w, "\xED\xA0\x80");
}

static void w_truncated(op_json_w_t *w)
{
    op_json_w_str(w, "abc\xE2\x82");
}

static void w_nul(op_json_w_t *w)
{
    op_json_w_strn(w, "a\0b", 3);
}

static void w_bad_key(op_json_w_t *w)
{
    op_json_w_obj_open(w);
    op_json_w_kstr(w, "\xFF", "v");
    op_json_w_obj_close(w);
}

static void w_null_string(op_json_w_t *w)
{
    op_json_w_str(w, NULL);
}

static void test_writer_rejects_invalid_utf8(void)
{
    expect_writer_error(w_overlong);
    expect_writer_error(w_surrogate);
    expect_writer_error(w_truncated);
    expect_writer_error(w_nul);
    expect_writer_error(w_bad_key);
    expect_writer_error(w_null_string);
}

static void w_key_top(op_json_w_t *w)
{
    op_json_w_key(w, "k");
    op_json_w_str(w, "v");
}

static void w_key_in_array(op_json_w_t *w)
{
    op_json_w_arr_open(w);
    op_json_w_key(w, "k");
    op_json_w_int(w, 1);
    op_json_w_arr_close(w);
}

static void w_two_keys(op_json_w_t *w)
{
    op_json_w_obj_open(w);
    op_json_w_key(w, "a");
    op_json_w_key(w, "b");
    op_json_w_int(w, 1);
    op_json_w_obj_close(w);
}

static void w_value_as_key(op_json_w_t *w)
{
    op_json_w_obj_open(w);
    op_json_w_str(w, "looks like a key");
    op_json_w_int(w, 1);
    op_json_w_obj_close(w);
}

static void test_writer_rejects_keys_outside_objects(void)
{
    expect_writer_error(w_key_top);
    expect_writer_error(w_key_in_array);
    expect_writer_error(w_two_keys);
    expect_writer_error(w_value_as_key);
}

static void w_unclosed(op_json_w_t *w)
{
    op_json_w_obj_open(w);
}

static void w_mismatched(op_json_w_t *w)
{
    op_json_w_obj_open(w);
    op_json_w_arr_close(w);
}

static void w_extra_close(op_json_w_t *w)
{
    op_json_w_arr_open(w);
    op_json_w_arr_close(w);
    op_json_w_arr_close(w);
}

static void w_dangling_key(op_json_w_t *w)
{
    op_json_w_obj_open(w);
    op_json_w_key(w, "k");
    op_json_w_obj_close(w);
}

static void w_two_values(op_json_w_t *w)
{
    op_json_w_int(w, 1);
    op_json_w_int(w, 2);
}

static void w_nothing(op_json_w_t *w)
{
    OP_UNUSED(w);
}

static void w_null_value(op_json_w_t *w)
{
    op_json_w_value(w, NULL);
}

static void w_bad_number(op_json_w_t *w)
{
    op_json_t n;
    memset(&n, 0, sizeof(n));
    n.type = OP_JSON_NUMBER;
    n.u.num.raw = "NaN";
    op_json_w_value(w, &n);
}

/* After the first failure nothing more is written, even valid calls. */
static void w_sticky(op_json_w_t *w)
{
    op_json_w_arr_close(w);
    op_json_w_arr_open(w);
    op_json_w_arr_close(w);
}

static void test_writer_rejects_bad_structure(void)
{
    expect_writer_error(w_unclosed);
    expect_writer_error(w_mismatched);
    expect_writer_error(w_extra_close);
    expect_writer_error(w_dangling_key);
    expect_writer_error(w_two_values);
    expect_writer_error(w_nothing);
    expect_writer_error(w_null_value);
    expect_writer_error(w_bad_number);
    expect_writer_error(w_sticky);
    OP_CHECK_INT(op_json_w_finish(NULL, NULL, NULL, NULL), OP_EINVAL);
    op_json_w_int(NULL, 1); /* no-op */
}

static void w_depth_127(op_json_w_t *w)
{
    for (int i = 0; i < 127; i++)
        op_json_w_arr_open(w);
    for (int i = 0; i < 127; i++)
        op_json_w_arr_close(w);
}

static void w_depth_128(op_json_w_t *w)
{
    for (int i = 0; i < 128; i++)
        op_json_w_arr_open(w);
    for (int i = 0; i < 128; i++)
        op_json_w_arr_close(w);
}

static void test_writer_depth(void)
{
    op_arena_t *a = op_arena_new(1 << 20);
    op_json_w_t *w = op_json_w_new(a, false);
    const char *out = NULL;
    size_t len = 0;

    w_depth_127(w);
    OP_CHECK_INT(op_json_w_finish(w, &out, &len, NULL), OP_OK);
    OP_CHECK_INT(len, 254);
    op_arena_free(a);
    expect_writer_error(w_depth_128);
}

/* How yajl_gen 2.1.0 writes byte c inside a string. */
static const char *yajl_escape(int c, char buf[8])
{
    switch (c) {
    case '"':
        return "\\\"";
    case '\\':
        return "\\\\";
    case '\b':
        return "\\b";
    case '\f':
        return "\\f";
    case '\n':
        return "\\n";
    case '\r':
        return "\\r";
    case '\t':
        return "\\t";
    default:
        snprintf(buf, 8, c < 0x20 ? "\\u00%02X" : "%c", c);
        return buf;
    }
}

/* Every byte below 0x20 but NUL, and the other bytes yajl_gen 2.1.0
 * treats apart, written as it writes them: \b \f \n \r \t, the rest
 * \u00XX in upper-case hex; '/' and DEL as they are. Alone, after and
 * before clean runs of eight bytes and more, in a key and in a value. */
static void test_writer_escapes(void)
{
    op_arena_t *a = op_arena_new(1 << 20);
    char want[512];
    const char *out = NULL;
    size_t len = 0;

    op_json_w_t *w = op_json_w_new(a, false);
    op_json_w_strn(w, LIT("\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0A\x0B\x0C\x0D\x0E\x0F"
                          "\x10\x11\x12\x13\x14\x15\x16\x17\x18\x19\x1A\x1B\x1C\x1D\x1E\x1F"
                          "\"\\/\x7F"));
    OP_CHECK_INT(op_json_w_finish(w, &out, &len, NULL), OP_OK);
    OP_CHECK_STR(out, "\"\\u0001\\u0002\\u0003\\u0004\\u0005\\u0006\\u0007"
                      "\\b\\t\\n\\u000B\\f\\r\\u000E\\u000F"
                      "\\u0010\\u0011\\u0012\\u0013\\u0014\\u0015\\u0016\\u0017"
                      "\\u0018\\u0019\\u001A\\u001B\\u001C\\u001D\\u001E\\u001F"
                      "\\\"\\\\/\x7F\"");
    OP_CHECK_INT(len, strlen(out));

    for (int c = 1; c < 0x80; c++) {
        char s[] = "abcdefghXabcdefghij", buf[8];
        s[8] = (char)c;
        w = op_json_w_new(a, false);
        op_json_w_obj_open(w);
        op_json_w_kstr(w, s, s + 8);
        op_json_w_key(w, s + 8 + 1 + 8);
        op_json_w_strn(w, s + 8, 1);
        op_json_w_obj_close(w);
        OP_CHECK_INT(op_json_w_finish(w, &out, &len, NULL), OP_OK);
        const char *e = yajl_escape(c, buf);
        snprintf(want, sizeof(want), "{\"abcdefgh%sabcdefghij\":\"%sabcdefghij\",\"ij\":\"%s\"}", e,
                 e, e);
        OP_CHECK_STR(out, want);
    }
    op_arena_free(a);
}

/* The pretty layout is yajl_gen_beautify's: four spaces a level, ": "
 * after a key, an empty container over two lines, a final newline. */
static void test_writer_pretty_layout(void)
{
    op_arena_t *a = op_arena_new(1 << 20);
    op_json_w_t *w = op_json_w_new(a, true);
    const char *out = NULL;

    op_json_w_obj_open(w);
    op_json_w_kstr(w, "s", "v\n");
    op_json_w_key(w, "a");
    op_json_w_arr_open(w);
    op_json_w_int(w, 1);
    op_json_w_obj_open(w);
    op_json_w_kbool(w, "t", true);
    op_json_w_obj_close(w);
    op_json_w_arr_open(w);
    op_json_w_arr_close(w);
    op_json_w_arr_close(w);
    op_json_w_key(w, "o");
    op_json_w_obj_open(w);
    op_json_w_obj_close(w);
    op_json_w_key(w, "z");
    op_json_w_null(w);
    op_json_w_obj_close(w);
    OP_CHECK_INT(op_json_w_finish(w, &out, NULL, NULL), OP_OK);
    OP_CHECK_STR(out, "{\n"
                      "    \"s\": \"v\\n\",\n"
                      "    \"a\": [\n"
                      "        1,\n"
                      "        {\n"
                      "            \"t\": true\n"
                      "        },\n"
                      "        [\n"
                      "\n"
                      "        ]\n"
                      "    ],\n"
                      "    \"o\": {\n"
                      "\n"
                      "    },\n"
                      "    \"z\": null\n"
                      "}\n");
    w = op_json_w_new(a, true);
    op_json_w_int(w, 7);
    OP_CHECK_INT(op_json_w_finish(w, &out, NULL, NULL), OP_OK);
    OP_CHECK_STR(out, "7\n");
    op_arena_free(a);
}

/* Strings around and far past the size of the first buffer, clean and
 * escaped, in one document: the buffer grows (in place, and by copying
 * once other allocations follow it) and keeps every byte. */
static void test_writer_long_strings(void)
{
    static const size_t lens[] = {7, 8, 9, 500, 505, 509, 510, 511, 512, 513, 1023, 1024, 70000};
    op_arena_t *a = op_arena_new(4u << 20);
    size_t total = 1, wlen = 0;

    for (size_t k = 0; k < sizeof(lens) / sizeof(lens[0]); k++)
        total += 2 * (6 * lens[k] + 3);
    char *s = op_arena_alloc(a, 70000), *want = op_arena_alloc(a, total + 1);
    op_json_w_t *w = op_json_w_new(a, false);
    want[wlen++] = '[';
    op_json_w_arr_open(w);
    for (size_t k = 0; k < sizeof(lens) / sizeof(lens[0]); k++) {
        for (int esc = 0; esc <= 1; esc++) {
            want[wlen++] = k + esc > 0 ? ',' : '"';
            if (k + esc > 0)
                want[wlen++] = '"';
            for (size_t i = 0; i < lens[k]; i++) {
                char buf[8];
                int c = esc && i % 13 == 12 ? "\"\\\x01\n\x1f"[i % 5] : 'a' + (int)(i % 26);
                const char *e = yajl_escape(c, buf);
                s[i] = (char)c;
                memcpy(want + wlen, e, strlen(e));
                wlen += strlen(e);
            }
            want[wlen++] = '"';
            op_json_w_strn(w, s, lens[k]);
            OP_CHECK(op_arena_alloc(a, 1) != NULL); /* the buffer is no longer last */
        }
    }
    want[wlen++] = ']';
    want[wlen] = '\0';
    op_json_w_arr_close(w);
    const char *out = NULL;
    size_t len = 0;
    OP_CHECK_INT(op_json_w_finish(w, &out, &len, NULL), OP_OK);
    OP_CHECK_INT(len, wlen);
    OP_CHECK(memcmp(out, want, wlen + 1) == 0);
    op_arena_free(a);
}

/* A string that is clean for a while, then invalid: the writer fails
 * (sticky), the output keeps nothing of it, later calls change nothing. */
static void test_writer_fails_midway(void)
{
    static const char *const bad[] = {
        "0123456789abcdef0123456789\xC3",            /* truncated, at the end */
        "0123456789abcdef01234\xE2\x82xxxxxxxxxxxx", /* truncated, inside */
        "0123456789abcdef0123456789\xED\xA0\x80",    /* a surrogate */
        "0123456789abcdef\\\"\n\xC0\xAF",            /* overlong, after escapes */
        "0123456789abcdef\xC3\xA9\xF4\x90\x80\x80",  /* above U+10FFFF */
    };
    for (size_t k = 0; k < sizeof(bad) / sizeof(bad[0]) + 1; k++) {
        op_arena_t *a = op_arena_new(1 << 20);
        op_json_w_t *w = op_json_w_new(a, k % 2 == 0);
        const char *out = (const char *)&w;
        size_t len = 99;
        op_err_t err;

        op_err_clear(&err);
        op_json_w_obj_open(w);
        op_json_w_kstr(w, "ok", "fine");
        if (k < sizeof(bad) / sizeof(bad[0])) {
            op_json_w_kstr(w, "bad", bad[k]);
        } else {
            op_json_w_key(w, "nul");
            op_json_w_strn(w, LIT("0123456789abcdef\0"));
        }
        size_t used = op_arena_used(a);
        op_json_w_kstr(w, "after", "x");
        op_json_w_obj_close(w);
        OP_CHECK_INT(op_arena_used(a), used);
        OP_CHECK_INT(op_json_w_finish(w, &out, &len, &err), OP_EINVAL);
        OP_CHECK(out == NULL && len == 0);
        OP_CHECK_STR(err.description, "JSON writer: invalid UTF-8 or NUL in a string");
        op_arena_free(a);
    }
}

/* ---- memory ---------------------------------------------------------- */

/* A document that makes yajl grow its buffers (a long escaped string) and
 * the reader grow its arrays and frames. */
static char *memory_doc(size_t *len)
{
    static char buf[16384];
    size_t o = 0;

    o += (size_t)snprintf(buf + o, sizeof(buf) - o, "{\"s\":\"");
    for (int i = 0; i < 1500; i++)
        o += (size_t)snprintf(buf + o, sizeof(buf) - o, "\\n\\u00e9");
    o += (size_t)snprintf(buf + o, sizeof(buf) - o, "\",\"a\":[");
    for (int i = 0; i < 100; i++)
        o += (size_t)snprintf(buf + o, sizeof(buf) - o, "%s{\"k%d\":[[%d]]}", i ? "," : "", i, i);
    o += (size_t)snprintf(buf + o, sizeof(buf) - o, "],\"n\":123456}");
    *len = o;
    return buf;
}

static void test_arena_cap_parse(void)
{
    size_t len;
    const char *doc = memory_doc(&len);
    int ok = 0, toobig = 0;

    for (size_t cap = 0; cap <= 100000; cap += cap < 4096 ? 16 : 997) {
        op_arena_t *a = op_arena_new(cap);
        op_json_t *v = NULL;
        op_err_t err;
        op_err_clear(&err);
        int rc = op_json_parse(a, doc, len, NULL, &v, &err);
        if (rc == OP_OK) {
            ok++;
            OP_CHECK_INT(op_json_get(v, "a")->u.arr.n, 100);
        } else {
            toobig++;
            OP_CHECK_INT(rc, OP_ETOOBIG);
            OP_CHECK(v == NULL);
            OP_CHECK(strstr(err.description, "too large for the arena") != NULL);
        }
        op_arena_free(a);
    }
    OP_CHECK(ok > 0 && toobig > 0);
}

static void test_arena_cap_write(void)
{
    size_t len;
    const char *doc = memory_doc(&len);
    op_arena_t *src = op_arena_new(1 << 22);
    op_json_t *v = parse_ok(src, doc);
    int ok = 0, toobig = 0, nowriter = 0;

    for (size_t cap = 0; cap <= 60000; cap += cap < 4096 ? 16 : 499) {
        op_arena_t *a = op_arena_new(cap);
        op_json_w_t *w = op_json_w_new(a, cap % 2 == 0);
        const char *out = NULL;
        op_err_t err;
        op_err_clear(&err);
        if (w == NULL) {
            nowriter++;
            op_arena_free(a);
            continue;
        }
        op_json_w_value(w, v);
        int rc = op_json_w_finish(w, &out, NULL, &err);
        if (rc == OP_OK) {
            ok++;
        } else {
            toobig++;
            OP_CHECK_INT(rc, OP_ETOOBIG);
            OP_CHECK(out == NULL);
        }
        op_arena_free(a);
    }
    OP_CHECK(ok > 0 && toobig > 0 && nowriter > 0);
    op_arena_free(src);
}

/* A document just past the arena's cap fails with OP_ETOOBIG: every cap
 * below the smallest that fits fails so, and the smallest is little more
 * than the writer, its first buffer and the document with its NUL (the
 * buffer grows to what is needed when doubling would pass the cap, and
 * finish copies nothing). */
static void test_arena_cap_write_exact(void)
{
    static const size_t lens[] = {100, 509, 510, 700, 1500, 5000, 9000};

    for (size_t k = 0; k < sizeof(lens) / sizeof(lens[0]); k++) {
        char *s = op_malloc(lens[k]);
        size_t fits = 0;
        memset(s, 'x', lens[k]);
        for (size_t cap = 256; cap < 3 * lens[k] + 2048 && fits == 0; cap++) {
            op_arena_t *a = op_arena_new(cap);
            op_json_w_t *w = op_json_w_new(a, false);
            const char *out = NULL;
            op_err_t err;
            op_err_clear(&err);
            if (w != NULL) {
                op_json_w_strn(w, s, lens[k]);
                int rc = op_json_w_finish(w, &out, NULL, &err);
                if (rc == OP_OK) {
                    fits = cap;
                    OP_CHECK_INT(strlen(out), lens[k] + 2);
                } else {
                    OP_CHECK_INT(rc, OP_ETOOBIG);
                    OP_CHECK(out == NULL);
                    OP_CHECK_STR(err.description, "JSON writer: output too large for the arena");
                }
            }
            op_arena_free(a);
        }
        /* the smallest arena that fits is the writer, the document and
         * its NUL, rounded to the arena's alignment */
        OP_CHECK(fits >= lens[k] + 3);
        OP_CHECK(fits <= lens[k] + 3 + 16 + 512 + 256);
        free(s);
    }
    /* A length no arena can hold fails before any byte is read. */
    op_arena_t *a = op_arena_new(1 << 20);
    op_json_w_t *w = op_json_w_new(a, false);
    const char *out = NULL;
    op_json_w_strn(w, "x", SIZE_MAX / 4);
    OP_CHECK_INT(op_json_w_finish(w, &out, NULL, NULL), OP_ETOOBIG);
    w = op_json_w_new(a, false);
    op_json_w_strn(w, "x", SIZE_MAX - 2);
    OP_CHECK_INT(op_json_w_finish(w, &out, NULL, NULL), OP_ETOOBIG);
    op_arena_free(a);
}

/* ---- fuzz-ish -------------------------------------------------------- */

static void test_random_bytes(void)
{
    static const char alphabet[] = "{}[]:,\"\\ \t\nu0123456789-+.eEtruefalsn/*xDdCc";
    char buf[64];
    int valid = 0;

    for (int i = 0; i < 10000; i++) {
        size_t len = rng() % sizeof(buf);
        for (size_t k = 0; k < len; k++) {
            uint64_t r = rng();
            buf[k] = (r & 7) == 0 ? (char)(r >> 8) : alphabet[(r >> 8) % (sizeof(alphabet) - 1)];
        }
        valid += roundtrip_if_valid(buf, len);
    }
    OP_CHECK(valid > 0);
}

static void test_random_mutations(void)
{
    static const char base[] =
        "{\"iss\":\"https://op.example\",\"aud\":[\"c1\",\"c2\"],\"exp\":1700000000,"
        "\"nested\":{\"a\":[1,2.5,-3e2,{\"b\":null}],\"t\":true,\"f\":false},"
        "\"u\":\"\\u00e9\\uD83D\\uDE00\\\"\\\\\",\"e\":\"\xE2\x82\xAC\"}";
    static const char interesting[] = "\"\\{}[],:0u\x80\xC0\xED\xF4\xFF";
    char buf[512];
    int valid = 0;

    OP_CHECK(roundtrip_if_valid(base, sizeof(base) - 1));
    for (int i = 0; i < 10000; i++) {
        size_t len = sizeof(base) - 1;
        memcpy(buf, base, len);
        int edits = 1 + (int)(rng() % 4);
        for (int e = 0; e < edits; e++) {
            uint64_t r = rng();
            size_t pos = len ? (size_t)(r >> 16) % len : 0;
            char c = (r & 1) ? (char)(r >> 40) : interesting[(r >> 40) % (sizeof(interesting) - 1)];
            switch ((r >> 4) % 4) {
            case 0: /* replace */
                if (len > 0)
                    buf[pos] = c;
                break;
            case 1: /* insert */
                if (len < sizeof(buf)) {
                    memmove(buf + pos + 1, buf + pos, len - pos);
                    buf[pos] = c;
                    len++;
                }
                break;
            case 2: /* delete */
                if (len > 0) {
                    memmove(buf + pos, buf + pos + 1, len - pos - 1);
                    len--;
                }
                break;
            default: /* truncate */
                len = pos;
                break;
            }
        }
        valid += roundtrip_if_valid(buf, len);
    }
    OP_CHECK(valid > 0);
}

static const op_test_case_t cases[] = {
    {"scalars", test_scalars},
    {"nested", test_nested},
    {"unicode_escapes", test_unicode_escapes},
    {"duplicate_keys", test_duplicate_keys},
    {"duplicate_keys_big_object", test_duplicate_keys_big_object},
    {"depth_limit", test_depth_limit},
    {"member_limit", test_member_limit},
    {"byte_limit", test_byte_limit},
    {"embedded_nul", test_embedded_nul},
    {"invalid_utf8", test_invalid_utf8},
    {"utf8_valid", test_utf8_valid},
    {"comments_rejected", test_comments_rejected},
    {"trailing_garbage_rejected", test_trailing_garbage_rejected},
    {"two_values_rejected", test_two_values_rejected},
    {"empty_and_truncated_rejected", test_empty_and_truncated_rejected},
    {"errors_do_not_echo_input", test_errors_do_not_echo_input},
    {"big_integers", test_big_integers},
    {"get_helpers", test_get_helpers},
    {"default_limits", test_default_limits},
    {"writer_basic", test_writer_basic},
    {"writer_roundtrip", test_writer_roundtrip},
    {"writer_rejects_invalid_utf8", test_writer_rejects_invalid_utf8},
    {"writer_rejects_keys_outside_objects", test_writer_rejects_keys_outside_objects},
    {"writer_rejects_bad_structure", test_writer_rejects_bad_structure},
    {"writer_depth", test_writer_depth},
    {"writer_escapes", test_writer_escapes},
    {"writer_pretty_layout", test_writer_pretty_layout},
    {"writer_long_strings", test_writer_long_strings},
    {"writer_fails_midway", test_writer_fails_midway},
    {"arena_cap_parse", test_arena_cap_parse},
    {"arena_cap_write", test_arena_cap_write},
    {"arena_cap_write_exact", test_arena_cap_write_exact},
    {"random_bytes", test_random_bytes},
    {"random_mutations", test_random_mutations},
};

OP_TEST_MAIN(cases)
