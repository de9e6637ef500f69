/* Unit tests: core/base/op_str.c, op_b64url.c, op_hex.c, core/base/op_err.c (core/base/op_log.c:
 * test_op_log.c) */
#include "core/base/op.h"
#include "tests/unit/op_test.h"

static void test_parse_i64(void)
{
    int64_t v;
    OP_CHECK(op_str_parse_i64("0", 1, 0, 10, &v) && v == 0);
    OP_CHECK(op_str_parse_i64("-42", 3, -100, 100, &v) && v == -42);
    OP_CHECK(op_str_parse_i64("9223372036854775807", 19, INT64_MIN, INT64_MAX, &v) &&
             v == INT64_MAX);
    OP_CHECK(op_str_parse_i64("-9223372036854775808", 20, INT64_MIN, INT64_MAX, &v) &&
             v == INT64_MIN);
    OP_CHECK(!op_str_parse_i64("9223372036854775808", 19, INT64_MIN, INT64_MAX, &v));
    OP_CHECK(!op_str_parse_i64("", 0, 0, 10, &v));
    OP_CHECK(!op_str_parse_i64("-", 1, -10, 10, &v));
    OP_CHECK(!op_str_parse_i64("+1", 2, 0, 10, &v));
    OP_CHECK(!op_str_parse_i64(" 1", 2, 0, 10, &v));
    OP_CHECK(!op_str_parse_i64("1x", 2, 0, 10, &v));
    OP_CHECK(!op_str_parse_i64("11", 2, 0, 10, &v));
}

/* RFC 4648 §10 test vectors, in the base64url alphabet without padding. */
static void test_b64url_vectors(void)
{
    static const char *const in[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
    static const char *const out[] = {"", "Zg", "Zm8", "Zm9v", "Zm9vYg", "Zm9vYmE", "Zm9vYmFy"};
    char buf[32];
    uint8_t dec[32];
    size_t n;
    for (size_t i = 0; i < OP_NELEMS(in); i++) {
        op_b64url_encode((const uint8_t *)in[i], strlen(in[i]), buf);
        OP_CHECK_STR(buf, out[i]);
        OP_CHECK(op_b64url_decode(out[i], strlen(out[i]), dec, &n));
        OP_CHECK(n == strlen(in[i]) && memcmp(dec, in[i], n) == 0);
    }
    const uint8_t bin[] = {0xfb, 0xff};
    op_b64url_encode(bin, 2, buf);
    OP_CHECK_STR(buf, "-_8");
}

static void test_b64url_strict(void)
{
    uint8_t dec[32];
    size_t n;
    OP_CHECK(!op_b64url_decode("Zg==", 4, dec, &n));  /* padding */
    OP_CHECK(!op_b64url_decode("Zm9v+", 5, dec, &n)); /* std alphabet */
    OP_CHECK(!op_b64url_decode("Zh", 2, dec, &n));    /* non-canonical */
    OP_CHECK(!op_b64url_decode("Z", 1, dec, &n));     /* impossible length */
    OP_CHECK(!op_b64url_decode("Zm 9", 4, dec, &n));
}

static void test_hex(void)
{
    uint8_t b[3] = {0x00, 0xab, 0xff}, d[3];
    char h[7];
    op_hex_encode(b, 3, h);
    OP_CHECK_STR(h, "00abff");
    OP_CHECK(op_hex_decode("00ABff", 6, d, 3) && memcmp(b, d, 3) == 0);
    OP_CHECK(!op_hex_decode("00abf", 5, d, 3));
    OP_CHECK(!op_hex_decode("00abfg", 6, d, 3));
}

static void test_err_table(void)
{
    op_err_t e;
    op_err_clear(&e);
    OP_CHECK_INT(OP_ERR(&e, OP_EUNAVAIL, "store %s", "down"), OP_EUNAVAIL);
    OP_CHECK_STR(e.oauth_error, "temporarily_unavailable");
    OP_CHECK_INT(e.http_status, 503);
    OP_CHECK_STR(e.description, "store down");
    OP_ERR_OAUTH(&e, OP_EINVAL, "invalid_grant", 400, "bad code");
    OP_CHECK_STR(e.oauth_error, "invalid_grant");
    OP_CHECK_STR(op_err_status_name(OP_ETIMEDOUT), "OP_ETIMEDOUT");
    OP_CHECK_INT(OP_ERR(NULL, OP_EINVAL, "x"), OP_EINVAL);
}

/* RFC 6749 §5.2 error_description: context added to an error from its own
 * description must read as written ("query: query: er 'scope' repeated"
 * came from formatting err->description into itself). */
static void test_err_context_from_own_description(void)
{
    op_err_t e;
    char want[OP_ERR_DESC_MAX];
    char long_desc[300];

    op_err_clear(&e);
    OP_ERR(&e, OP_ETOOBIG, "parameter 'scope' repeated");
    OP_CHECK_INT(OP_ERR(&e, OP_EINVAL, "query: %s", e.description), OP_EINVAL);
    OP_CHECK_STR(e.description, "query: parameter 'scope' repeated");
    OP_CHECK_INT(e.http_status, 400);
    OP_ERR_OAUTH(&e, OP_EINVAL, "invalid_request", 400, "claims: %s (%s)", e.description,
                 e.description + 7);
    OP_CHECK_STR(e.description, "claims: query: parameter 'scope' repeated "
                                "(parameter 'scope' repeated)");
    /* a full description, prefixed: cut at the end, the prefix intact */
    memset(long_desc, 'x', sizeof(long_desc) - 1);
    long_desc[sizeof(long_desc) - 1] = '\0';
    OP_ERR(&e, OP_EINVAL, "%s", long_desc);
    OP_CHECK_INT(strlen(e.description), OP_ERR_DESC_MAX - 1);
    OP_ERR(&e, OP_EINVAL, "claims: %s", e.description);
    memcpy(want, "claims: ", 8);
    memset(want + 8, 'x', sizeof(want) - 9);
    want[sizeof(want) - 1] = '\0';
    OP_CHECK_STR(e.description, want);
}

/* A cut description stays valid UTF-8 (RFC 6749 §5.2 descriptions end up
 * in JSON bodies, which the writer refuses to make invalid). */
static void test_err_cut_utf8(void)
{
    op_err_t e;
    char s[OP_ERR_DESC_MAX + 8];

    /* 253 ASCII bytes, then a 3-byte character that does not fit */
    memset(s, 'a', 253);
    memcpy(s + 253, "\xe2\x82\xac", 4);
    OP_ERR(&e, OP_EINVAL, "%s", s);
    OP_CHECK_INT(strlen(e.description), 253);
    OP_CHECK(op_json_utf8_valid(e.description, strlen(e.description)));
    /* 252 + the 3-byte character fit exactly (255 bytes) */
    OP_ERR(&e, OP_EINVAL, "%s", s + 1);
    OP_CHECK_INT(strlen(e.description), 255);
    OP_CHECK_STR(e.description + 252, "\xe2\x82\xac");
    /* a 4-byte character cut after 2 of its bytes, and a 2-byte one after 1 */
    memcpy(s + 253, "\xf0\x9f\x98\x80", 5);
    OP_ERR(&e, OP_EINVAL, "%s", s);
    OP_CHECK_INT(strlen(e.description), 253);
    memcpy(s + 254, "\xc3\xa9", 3);
    OP_ERR(&e, OP_EINVAL, "%s", s);
    OP_CHECK_INT(strlen(e.description), 254);
}

static const op_test_case_t cases[] = {
    {"parse_i64", test_parse_i64},
    {"b64url_vectors", test_b64url_vectors},
    {"b64url_strict", test_b64url_strict},
    {"hex", test_hex},
    {"err_table", test_err_table},
    {"err_context_from_own_description", test_err_context_from_own_description},
    {"err_cut_utf8", test_err_cut_utf8},
};
OP_TEST_MAIN(cases)
