/* Unit tests: core/base/op_params.c - strict form/query parser and
 * percent-encoding. */
#include "http/op_http.h"
#include "tests/unit/op_test.h"

static op_arena_t *arena;
static op_params_t params;
static op_err_t err;

/* Parse s[0..len) with lim; returns the status. */
static int parse_n(const char *s, size_t len, const op_params_limits_t *lim)
{
    if (arena == NULL)
        arena = op_arena_new(16u << 20);
    OP_CHECK(arena != NULL);
    op_err_clear(&err);
    return op_params_parse(arena, s, len, lim, &params, &err);
}

static int parse(const char *s)
{
    return parse_n(s, strlen(s), NULL);
}

/* A failure is OP_EINVAL (or OP_ETOOBIG), invalid_request / 400, with a
 * description, and leaves no parameters behind. */
static void check_rejected(const char *s, int code)
{
    int rc = parse(s);
    if (rc != code)
        fprintf(stderr, "input \"%s\": got %d\n", s, rc);
    OP_CHECK_INT(rc, code);
    OP_CHECK_INT(err.code, code);
    OP_CHECK_STR(err.oauth_error, "invalid_request");
    OP_CHECK_INT(err.http_status, 400);
    OP_CHECK(err.description[0] != '\0');
    OP_CHECK(params.n == 0 && params.items == NULL);
}

static void done(void)
{
    op_arena_free(arena);
    arena = NULL;
}

static void test_basic(void)
{
    OP_CHECK_INT(parse("grant_type=authorization_code&code=abc&redirect_uri=x"), OP_OK);
    OP_CHECK_INT(params.n, 3);
    OP_CHECK_STR(params.items[0].name, "grant_type");
    OP_CHECK_STR(params.items[0].value, "authorization_code");
    OP_CHECK_INT(params.items[0].name_len, 10);
    OP_CHECK_INT(params.items[0].value_len, 18);
    OP_CHECK_STR(op_params_get(&params, "code"), "abc");
    OP_CHECK_STR(op_params_get(&params, "redirect_uri"), "x");
    OP_CHECK(op_params_get(&params, "missing") == NULL);
    OP_CHECK(op_params_get(&params, NULL) == NULL);
    OP_CHECK(op_params_get(NULL, "code") == NULL);
    const op_param_t *p = op_params_find(&params, "code");
    OP_CHECK(p != NULL && p->value_len == 3);
    done();
}

static void test_plus_and_percent(void)
{
    OP_CHECK_INT(parse("a=x+y&b=x%2By&c=%20&d=+&e=%2b"), OP_OK);
    OP_CHECK_STR(op_params_get(&params, "a"), "x y");
    OP_CHECK_STR(op_params_get(&params, "b"), "x+y");
    OP_CHECK_STR(op_params_get(&params, "c"), " ");
    OP_CHECK_STR(op_params_get(&params, "d"), " ");
    OP_CHECK_STR(op_params_get(&params, "e"), "+");
    /* names are decoded too */
    OP_CHECK_INT(parse("a%5Bb%5D=1&+x=2&%61=3"), OP_OK);
    OP_CHECK_STR(op_params_get(&params, "a[b]"), "1");
    OP_CHECK_STR(op_params_get(&params, " x"), "2");
    OP_CHECK_STR(op_params_get(&params, "a"), "3");
    /* '=' inside a value is kept */
    OP_CHECK_INT(parse("a==b=c"), OP_OK);
    OP_CHECK_STR(op_params_get(&params, "a"), "=b=c");
    done();
}

static void test_duplicates_rejected(void)
{
    check_rejected("a=1&a=2", OP_EINVAL);
    OP_CHECK(strstr(err.description, "'a'") != NULL);
    check_rejected("a=1&b=2&a=1", OP_EINVAL);
    check_rejected("a&a", OP_EINVAL);
    /* the same name after decoding */
    check_rejected("a=1&%61=2", OP_EINVAL);
    check_rejected("a+b=1&a%20b=2", OP_EINVAL);
    done();
}

static void test_case_sensitive_names(void)
{
    OP_CHECK_INT(parse("a=1&A=2&Scope=x&scope=y"), OP_OK);
    OP_CHECK_INT(params.n, 4);
    OP_CHECK_STR(op_params_get(&params, "a"), "1");
    OP_CHECK_STR(op_params_get(&params, "A"), "2");
    OP_CHECK_STR(op_params_get(&params, "Scope"), "x");
    OP_CHECK_STR(op_params_get(&params, "scope"), "y");
    done();
}

static void test_malformed_percent(void)
{
    check_rejected("%zz=1", OP_EINVAL);
    check_rejected("a=%zz", OP_EINVAL);
    check_rejected("a=%0", OP_EINVAL);
    check_rejected("a=%", OP_EINVAL);
    check_rejected("a=%g0", OP_EINVAL);
    check_rejected("a=%0g", OP_EINVAL);
    check_rejected("a%=1", OP_EINVAL);
    check_rejected("a=%%41", OP_EINVAL);
    check_rejected("a=1&b=%2", OP_EINVAL);
    done();
}

static void test_nul_rejected(void)
{
    check_rejected("a=%00", OP_EINVAL);
    OP_CHECK(strstr(err.description, "NUL") != NULL);
    check_rejected("a%00b=1", OP_EINVAL);
    check_rejected("a=x%00y", OP_EINVAL);
    /* a raw NUL byte as well */
    OP_CHECK_INT(parse_n("a=x\0y", 5, NULL), OP_EINVAL);
    OP_CHECK_INT(parse_n("a\0=1", 4, NULL), OP_EINVAL);
    done();
}

static void test_utf8(void)
{
    OP_CHECK_INT(parse("name=%C3%A9t%C3%A9&%E2%82%AC=%F0%9F%98%80"), OP_OK);
    OP_CHECK_STR(op_params_get(&params, "name"), "\xC3\xA9t\xC3\xA9");
    OP_CHECK_STR(op_params_get(&params, "\xE2\x82\xAC"), "\xF0\x9F\x98\x80");
    OP_CHECK_INT(parse("raw=\xC3\xA9"), OP_OK);
    OP_CHECK_STR(op_params_get(&params, "raw"), "\xC3\xA9");
    check_rejected("a=%C3", OP_EINVAL); /* truncated */
    OP_CHECK(strstr(err.description, "UTF-8") != NULL);
    check_rejected("a=%C0%80", OP_EINVAL);       /* overlong NUL */
    check_rejected("a=%ED%A0%80", OP_EINVAL);    /* surrogate */
    check_rejected("a=%F4%90%80%80", OP_EINVAL); /* over U+10FFFF */
    check_rejected("a=%FF", OP_EINVAL);
    check_rejected("%FF=1", OP_EINVAL);
    check_rejected("a=\xFF", OP_EINVAL);
    done();
}

static void test_empty_pieces(void)
{
    OP_CHECK_INT(parse(""), OP_OK);
    OP_CHECK_INT(params.n, 0);
    OP_CHECK_INT(parse_n(NULL, 0, NULL), OP_OK);
    OP_CHECK_INT(params.n, 0);
    OP_CHECK_INT(parse("&&&"), OP_OK);
    OP_CHECK_INT(params.n, 0);
    OP_CHECK_INT(parse("a=1&&b=2&"), OP_OK);
    OP_CHECK_INT(params.n, 2);
    OP_CHECK_STR(op_params_get(&params, "b"), "2");
    OP_CHECK_INT(parse("&a"), OP_OK);
    OP_CHECK_INT(params.n, 1);
    OP_CHECK_STR(op_params_get(&params, "a"), "");
    OP_CHECK_INT(params.items[0].value_len, 0);
    OP_CHECK_INT(parse("a=&b"), OP_OK);
    OP_CHECK_STR(op_params_get(&params, "a"), "");
    OP_CHECK_STR(op_params_get(&params, "b"), "");
    check_rejected("=1", OP_EINVAL);
    OP_CHECK(strstr(err.description, "empty name") != NULL);
    check_rejected("a=1&=", OP_EINVAL);
    check_rejected("=", OP_EINVAL);
    done();
}

static void test_limits(void)
{
    const op_params_limits_t lim = {3, 4, 5};
    char buf[8192];
    size_t off = 0;

    OP_CHECK_INT(parse_n("a=1&b=2&c=3", 11, &lim), OP_OK);
    OP_CHECK_INT(parse_n("a=1&b=2&c=3&d=4", 15, &lim), OP_ETOOBIG);
    OP_CHECK_STR(err.oauth_error, "invalid_request");
    OP_CHECK_INT(err.http_status, 400);
    /* empty pieces do not count */
    OP_CHECK_INT(parse_n("a=1&&&b=2&c=3&", 14, &lim), OP_OK);
    OP_CHECK_INT(parse_n("abcd=1", 6, &lim), OP_OK);
    OP_CHECK_INT(parse_n("abcde=1", 7, &lim), OP_ETOOBIG);
    OP_CHECK_INT(parse_n("a=12345", 7, &lim), OP_OK);
    OP_CHECK_INT(parse_n("a=123456", 8, &lim), OP_ETOOBIG);
    /* lengths are counted once decoded */
    OP_CHECK_INT(parse_n("a=%41%42%43%44%45", 17, &lim), OP_OK);
    OP_CHECK_STR(op_params_get(&params, "a"), "ABCDE");
    OP_CHECK_INT(parse_n("%41%42%43%44=1", 14, &lim), OP_OK);
    OP_CHECK_INT(parse_n("%41%42%43%44%45=1", 17, &lim), OP_ETOOBIG);

    /* defaults (lim NULL, or zero fields): 64 parameters */
    for (int i = 0; i < 64; i++)
        off += (size_t)snprintf(buf + off, sizeof(buf) - off, "p%d=%d&", i, i);
    OP_CHECK_INT(parse_n(buf, off, NULL), OP_OK);
    OP_CHECK_INT(params.n, 64);
    const op_params_limits_t zero = {0, 0, 0};
    OP_CHECK_INT(parse_n(buf, off, &zero), OP_OK);
    off += (size_t)snprintf(buf + off, sizeof(buf) - off, "p64=x");
    OP_CHECK_INT(parse_n(buf, off, NULL), OP_ETOOBIG);
    OP_CHECK(params.n == 0);
    /* default name limit 128, value limit 16384 */
    memset(buf, 'n', 129);
    memcpy(buf + 129, "=1", 2);
    OP_CHECK_INT(parse_n(buf, 131, NULL), OP_ETOOBIG);
    OP_CHECK_INT(parse_n(buf + 1, 130, NULL), OP_OK);
    done();
}

/* Many parameters go through the sorted duplicate check. */
static void test_many_params_dup_check(void)
{
    const op_params_limits_t lim = {20000, 16, 16};
    size_t cap = 20000 * 16, off = 0;
    char *buf = malloc(cap);

    OP_CHECK(buf != NULL);
    for (int i = 0; i < 17; i++)
        off += (size_t)snprintf(buf + off, cap - off, "k%d=%d&", i, i);
    OP_CHECK_INT(parse_n(buf, off, &lim), OP_OK);
    OP_CHECK_INT(params.n, 17);
    off += (size_t)snprintf(buf + off, cap - off, "k3=again");
    OP_CHECK_INT(parse_n(buf, off, &lim), OP_EINVAL);
    OP_CHECK(strstr(err.description, "'k3' repeated") != NULL);

    off = 0;
    for (int i = 0; i < 19999; i++)
        off += (size_t)snprintf(buf + off, cap - off, "n%d=v&", i);
    OP_CHECK_INT(parse_n(buf, off, &lim), OP_OK);
    OP_CHECK_INT(params.n, 19999);
    OP_CHECK_STR(op_params_get(&params, "n19998"), "v");
    off += (size_t)snprintf(buf + off, cap - off, "n0=v");
    OP_CHECK_INT(parse_n(buf, off, &lim), OP_EINVAL);
    OP_CHECK(strstr(err.description, "'n0' repeated") != NULL);
    /* case differs: distinct */
    buf[off - 4] = 'N';
    OP_CHECK_INT(parse_n(buf, off, &lim), OP_OK);
    free(buf);
    done();
}

/* Names that are not plain ASCII are not echoed in the description. */
static void test_error_names_are_safe(void)
{
    check_rejected("%22%3Cx%3E=1&%22%3Cx%3E=2", OP_EINVAL);
    OP_CHECK(strchr(err.description, '"') == NULL);
    OP_CHECK(strstr(err.description, "#2") != NULL);
    check_rejected("a%0Ab=1&a%0Ab=2", OP_EINVAL);
    OP_CHECK(strchr(err.description, '\n') == NULL);
    /* Each field error names its parameter: by name once the name is
     * known, by number while reading the name itself. */
    check_rejected("x=1&ok=%zz", OP_EINVAL);
    OP_CHECK_STR(err.description, "parameter 'ok': malformed percent-encoding in the value");
    check_rejected("x=1&a%00=1", OP_EINVAL);
    OP_CHECK_STR(err.description, "parameter #2: NUL byte in the name");
    check_rejected("v=%C3", OP_EINVAL);
    OP_CHECK_STR(err.description, "parameter 'v': invalid UTF-8 in the value");
    done();
}

static void test_urlencode(void)
{
    op_arena_t *a = op_arena_new(1 << 16);
    const char raw[] = "a b&c=d/\xC3\xA9~-._+%";
    char *enc = op_params_urlencode(a, raw, sizeof(raw) - 1);

    OP_CHECK_STR(enc, "a%20b%26c%3Dd%2F%C3%A9~-._%2B%25");
    OP_CHECK_STR(op_params_urlencode(a, "", 0), "");
    OP_CHECK_STR(op_params_urlencode(a, "\0x", 2), "%00x");
    OP_CHECK(op_params_urlencode(a, NULL, 1) == NULL);
    OP_CHECK_STR(op_params_urlencode(a, "AZaz09", 6), "AZaz09");
    /* round trip through the parser */
    char *form = op_arena_printf(a, "v=%s", enc);
    OP_CHECK_INT(parse(form), OP_OK);
    OP_CHECK_STR(op_params_get(&params, "v"), raw);
    op_arena_free(a);
    done();
}

static const op_test_case_t cases[] = {
    {"basic", test_basic},
    {"plus_and_percent", test_plus_and_percent},
    {"duplicates_rejected", test_duplicates_rejected},
    {"case_sensitive_names", test_case_sensitive_names},
    {"malformed_percent", test_malformed_percent},
    {"nul_rejected", test_nul_rejected},
    {"utf8", test_utf8},
    {"empty_pieces", test_empty_pieces},
    {"limits", test_limits},
    {"many_params_dup_check", test_many_params_dup_check},
    {"error_names_are_safe", test_error_names_are_safe},
    {"urlencode", test_urlencode},
};

OP_TEST_MAIN(cases)
