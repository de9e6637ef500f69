/* Unit tests: http/op_http_cookie.c - Cookie parsing and Set-Cookie
 * formatting (RFC 6265). */
#include "http/op_http.h"
#include "tests/unit/op_test.h"

static op_arena_t *arena;
static op_params_t cookies;
static op_err_t err;

static int parse(const char *s)
{
    if (arena == NULL)
        arena = op_arena_new(16u << 20);
    OP_CHECK(arena != NULL);
    op_err_clear(&err);
    return op_http_cookie_parse(arena, s, strlen(s), &cookies, &err);
}

static void check_rejected(const char *s)
{
    int rc = parse(s);
    if (rc != OP_EINVAL)
        fprintf(stderr, "input \"%s\": got %d\n", s, rc);
    OP_CHECK_INT(rc, OP_EINVAL);
    OP_CHECK_INT(err.code, OP_EINVAL);
    OP_CHECK_INT(err.http_status, 400);
    OP_CHECK(err.description[0] != '\0');
    OP_CHECK(cookies.n == 0 && cookies.items == NULL);
}

static void done(void)
{
    op_arena_free(arena);
    arena = NULL;
}

static void test_parse_basic(void)
{
    OP_CHECK_INT(parse("sid=abc123; theme=dark"), OP_OK);
    OP_CHECK_INT(cookies.n, 2);
    OP_CHECK_STR(cookies.items[0].name, "sid");
    OP_CHECK_INT(cookies.items[0].name_len, 3);
    OP_CHECK_STR(op_params_get(&cookies, "sid"), "abc123");
    OP_CHECK_STR(op_params_get(&cookies, "theme"), "dark");
    OP_CHECK(op_params_get(&cookies, "SID") == NULL); /* case-sensitive */
    /* every cookie-octet is accepted in a value */
    OP_CHECK_INT(parse("t=!#$%&'()*+-./0:<=>?@[]^_`{|}~"), OP_OK);
    OP_CHECK_STR(op_params_get(&cookies, "t"), "!#$%&'()*+-./0:<=>?@[]^_`{|}~");
    done();
}

static void test_parse_lenient_spaces(void)
{
    OP_CHECK_INT(parse("a=1;b=2"), OP_OK);
    OP_CHECK_INT(cookies.n, 2);
    OP_CHECK_INT(parse("a=1;    b=2"), OP_OK);
    OP_CHECK_STR(op_params_get(&cookies, "b"), "2");
    OP_CHECK_INT(parse("  a=1; b=2 \t"), OP_OK);
    OP_CHECK_STR(op_params_get(&cookies, "a"), "1");
    OP_CHECK_STR(op_params_get(&cookies, "b"), "2");
    done();
}

static void test_parse_quoted_and_empty(void)
{
    OP_CHECK_INT(parse("a=\"xyz\"; b=\"\"; c="), OP_OK);
    OP_CHECK_INT(cookies.n, 3);
    OP_CHECK_STR(op_params_get(&cookies, "a"), "xyz");
    OP_CHECK_INT(cookies.items[0].value_len, 3);
    OP_CHECK_STR(op_params_get(&cookies, "b"), "");
    OP_CHECK_STR(op_params_get(&cookies, "c"), "");
    OP_CHECK_INT(parse(""), OP_OK);
    OP_CHECK_INT(cookies.n, 0);
    OP_CHECK_INT(parse("   "), OP_OK);
    OP_CHECK_INT(cookies.n, 0);
    done();
}

static void test_parse_duplicates_keep_first(void)
{
    OP_CHECK_INT(parse("a=1; b=2; a=3; A=4"), OP_OK);
    OP_CHECK_INT(cookies.n, 3);
    OP_CHECK_STR(cookies.items[0].name, "a");
    OP_CHECK_STR(cookies.items[0].value, "1");
    OP_CHECK_STR(cookies.items[1].name, "b");
    OP_CHECK_STR(cookies.items[2].name, "A");
    OP_CHECK_STR(op_params_get(&cookies, "a"), "1");

    /* many cookies (sorted duplicate check): order kept, first wins */
    char buf[4096];
    size_t off = 0;
    for (int i = 0; i < 40; i++)
        off += (size_t)snprintf(buf + off, sizeof(buf) - off, "%sc%d=%d", i ? "; " : "", i % 20, i);
    OP_CHECK_INT(parse(buf), OP_OK);
    OP_CHECK_INT(cookies.n, 20);
    for (int i = 0; i < 20; i++) {
        char name[16], value[16];
        snprintf(name, sizeof(name), "c%d", i);
        snprintf(value, sizeof(value), "%d", i);
        OP_CHECK_STR(cookies.items[i].name, name);
        OP_CHECK_STR(cookies.items[i].value, value);
    }
    done();
}

static void test_parse_rejects(void)
{
    check_rejected("a");
    check_rejected("=1");
    check_rejected("a b=1");
    check_rejected("a=1 2");
    check_rejected("a=1,2");
    check_rejected("a=x\\y");
    check_rejected("a=\"x");
    check_rejected("a=x\"");
    check_rejected("a=\"x\"y");
    check_rejected("a=1;");
    check_rejected("a=1; ");
    check_rejected("a=1;;b=2");
    check_rejected("a=1; ; b=2");
    check_rejected(";a=1");
    check_rejected("a=\x80");
    check_rejected("a=\x01");
    check_rejected("a(b)=1");
    check_rejected("a=1;\tb=2"); /* only spaces are skipped after ';' */
    /* a NUL inside the header */
    OP_CHECK(arena != NULL);
    OP_CHECK_INT(op_http_cookie_parse(arena, "a=1\0b", 5, &cookies, &err), OP_EINVAL);
    OP_CHECK_INT(op_http_cookie_parse(arena, NULL, 0, &cookies, &err), OP_OK);
    OP_CHECK_INT(cookies.n, 0);
    done();
}

static void test_format(void)
{
    op_arena_t *a = op_arena_new(1 << 16);
    op_cookie_attrs_t at = {"/app", 3600, true, true, "Lax"};

    OP_CHECK_STR(op_http_cookie_format(a, "sid", "abc", NULL), "sid=abc; Path=/");
    OP_CHECK_STR(op_http_cookie_format(a, "sid", "abc", &at),
                 "sid=abc; Path=/app; Max-Age=3600; Secure; HttpOnly; SameSite=Lax");
    at.max_age = 0;
    at.same_site = "strict";
    at.path = NULL;
    OP_CHECK_STR(op_http_cookie_format(a, "sid", "", &at),
                 "sid=; Path=/; Max-Age=0; Secure; HttpOnly; SameSite=Strict");
    at.max_age = -1;
    at.same_site = "None";
    OP_CHECK_STR(op_http_cookie_format(a, "sid", "\"q\"", &at),
                 "sid=\"q\"; Path=/; Secure; HttpOnly; SameSite=None");
    at.secure = false;
    OP_CHECK(op_http_cookie_format(a, "sid", "x", &at) == NULL); /* None needs Secure */
    at.same_site = "Sometimes";
    OP_CHECK(op_http_cookie_format(a, "sid", "x", &at) == NULL);
    at.same_site = NULL;
    OP_CHECK_STR(op_http_cookie_format(a, "sid", "x", &at), "sid=x; Path=/; HttpOnly");
    op_arena_free(a);
}

static void test_format_rejects_bad_bytes(void)
{
    op_arena_t *a = op_arena_new(1 << 16);
    op_cookie_attrs_t at = {"/", -1, true, true, NULL};

    OP_CHECK(op_http_cookie_format(a, "a b", "x", NULL) == NULL);
    OP_CHECK(op_http_cookie_format(a, "", "x", NULL) == NULL);
    OP_CHECK(op_http_cookie_format(a, "a=b", "x", NULL) == NULL);
    OP_CHECK(op_http_cookie_format(a, "a", "x;y", NULL) == NULL);
    OP_CHECK(op_http_cookie_format(a, "a", "x y", NULL) == NULL);
    OP_CHECK(op_http_cookie_format(a, "a", "x\r\nSet-Cookie: z=1", NULL) == NULL);
    OP_CHECK(op_http_cookie_format(a, "a", "x,y", NULL) == NULL);
    OP_CHECK(op_http_cookie_format(a, "a", "\"x", NULL) == NULL);
    OP_CHECK(op_http_cookie_format(a, "a", "\xC3\xA9", NULL) == NULL);
    OP_CHECK(op_http_cookie_format(a, NULL, "x", NULL) == NULL);
    OP_CHECK(op_http_cookie_format(a, "a", NULL, NULL) == NULL);
    at.path = "/a;b";
    OP_CHECK(op_http_cookie_format(a, "a", "x", &at) == NULL);
    at.path = "relative";
    OP_CHECK(op_http_cookie_format(a, "a", "x", &at) == NULL);
    at.path = "/a\nb";
    OP_CHECK(op_http_cookie_format(a, "a", "x", &at) == NULL);
    op_arena_free(a);
}

static void test_format_prefixes(void)
{
    op_arena_t *a = op_arena_new(1 << 16);
    op_cookie_attrs_t at = {"/", -1, true, true, "Lax"};

    OP_CHECK(op_http_cookie_format(a, "__Host-sid", "x", &at) != NULL);
    OP_CHECK(op_http_cookie_format(a, "__Secure-sid", "x", &at) != NULL);
    at.path = "/app";
    OP_CHECK(op_http_cookie_format(a, "__Host-sid", "x", &at) == NULL);
    OP_CHECK(op_http_cookie_format(a, "__Secure-sid", "x", &at) != NULL);
    at.path = "/";
    at.secure = false;
    OP_CHECK(op_http_cookie_format(a, "__Host-sid", "x", &at) == NULL);
    OP_CHECK(op_http_cookie_format(a, "__Secure-sid", "x", &at) == NULL);
    op_arena_free(a);
}

/* What op_http_cookie_format writes, the parser reads back. */
static void test_round_trip(void)
{
    static const char *const values[] = {"abc", "", "\"quoted\"", "a/b:c=d?e", "~!#$%&'()*+-."};
    op_arena_t *a = op_arena_new(1 << 16);

    for (size_t i = 0; i < OP_NELEMS(values); i++) {
        char *sc = op_http_cookie_format(a, "n", values[i], NULL);
        OP_CHECK(sc != NULL);
        size_t pair = strcspn(sc, ";");
        OP_CHECK_INT(op_http_cookie_parse(a, sc, pair, &cookies, &err), OP_OK);
        OP_CHECK_INT(cookies.n, 1);
        const char *v = values[i];
        size_t vlen = strlen(v);
        if (vlen >= 2 && v[0] == '"') {
            v++;
            vlen -= 2;
        }
        OP_CHECK(cookies.items[0].value_len == vlen);
        OP_CHECK(memcmp(cookies.items[0].value, v, vlen) == 0);
    }
    op_arena_free(a);
}

static const op_test_case_t cases[] = {
    {"parse_basic", test_parse_basic},
    {"parse_lenient_spaces", test_parse_lenient_spaces},
    {"parse_quoted_and_empty", test_parse_quoted_and_empty},
    {"parse_duplicates_keep_first", test_parse_duplicates_keep_first},
    {"parse_rejects", test_parse_rejects},
    {"format", test_format},
    {"format_rejects_bad_bytes", test_format_rejects_bad_bytes},
    {"format_prefixes", test_format_prefixes},
    {"round_trip", test_round_trip},
};

OP_TEST_MAIN(cases)
