/*
 * tests/unit/config/test_op_config_url.c - the strict absolute-URI parser and the
 * loopback test of core/config/op_config_url.c (RFC 3986 §3, RFC 8252 §7.3, §8.3).
 */
#include "core/config/op_config.h"
#include "tests/unit/op_test.h"

/* Which URIs parse, and which of them have a loopback host (names allowed). */
static void test_url_parse(void)
{
    static const struct {
        const char *url;
        bool ok;
        bool loopback; /* with names */
    } cases[] = {
        {"https://example.com", true, false},
        {"http://LOCALHOST:80/x?y#z", true, true},
        {"http://127.255.0.1", true, true},
        {"http://[::1]:1/", true, true},
        {"http://[::2]", true, false},
        {"com.example.app:/cb", true, false},
        {"urn:ietf:x", true, false},
        {"https://", false, false},
        {"https://host:", false, false},
        {"https://[::1", false, false},
        {"1http://x", false, false},
        {"https://a b", false, false},
        {"https://a/%4", false, false},
        {"https://a/\xc3\xa9", false, false},
        {"https://a/[x]", false, false},
        {"https://a#b#c", false, false},
        {"scheme:", false, false},
    };
    for (size_t i = 0; i < OP_NELEMS(cases); i++) {
        op_config_url_t u;
        bool ok = op_config_url_parse(cases[i].url, strlen(cases[i].url), &u);
        if (ok != cases[i].ok)
            fprintf(stderr, "url %s\n", cases[i].url);
        OP_CHECK(ok == cases[i].ok);
        if (ok)
            OP_CHECK(op_config_url_is_loopback(&u, true) == cases[i].loopback);
    }
    op_config_url_t u;
    OP_CHECK(op_config_url_parse("http://localhost:8080/a?b=1#c", 29, &u));
    OP_CHECK(!op_config_url_is_loopback(&u, false));
    OP_CHECK_INT(u.port, 8080);
    OP_CHECK(u.has_query && op_str_is(u.query, "b=1"));
    OP_CHECK(u.has_fragment && op_str_is(u.fragment, "c"));
    OP_CHECK(op_str_is(u.path, "/a"));
    OP_CHECK(op_config_url_scheme_is(&u, "HTTP"));
}

/* The parts of a parsed URI point into the text (RFC 3986 §3). */
static void test_url_parts(void)
{
    op_config_url_t u;
    const char *s = "https://me:pw@[2001:db8::1]:8443/p/q?x=%41&y#frag%2F";
    OP_CHECK(op_config_url_parse(s, strlen(s), &u));
    OP_CHECK(op_str_is(u.scheme, "https"));
    OP_CHECK(u.has_authority && u.has_userinfo && u.host_is_ip);
    OP_CHECK(op_str_is(u.host, "2001:db8::1"));
    OP_CHECK_INT(u.port, 8443);
    OP_CHECK(op_str_is(u.path, "/p/q"));
    OP_CHECK(op_str_is(u.query, "x=%41&y"));
    OP_CHECK(op_str_is(u.fragment, "frag%2F"));
    OP_CHECK(!op_config_url_is_loopback(&u, true));
    /* No authority: the path is the rest (a private-use scheme, RFC 8252 §7.1). */
    s = "com.example.app:/cb?a=1";
    OP_CHECK(op_config_url_parse(s, strlen(s), &u));
    OP_CHECK(!u.has_authority && u.port == -1 && !u.has_fragment);
    OP_CHECK(op_str_is(u.path, "/cb") && op_str_is(u.query, "a=1"));
    OP_CHECK(!op_config_url_scheme_is(&u, "com.example"));
    /* An empty query and fragment are present, and empty. */
    s = "https://a.example?#";
    OP_CHECK(op_config_url_parse(s, strlen(s), &u));
    OP_CHECK(u.has_query && u.query.len == 0 && u.has_fragment && u.fragment.len == 0);
}

/* Hostile input: bounded length, no NUL, ports in 1..65535, hosts
 * that are names or literals only. */
static void test_url_hostile(void)
{
    static const char *const bad[] = {
        "https://a.example:0",
        "https://a.example:65536",
        "https://a.example:-1",
        "https://a.example:+80",
        "https://a_b.example",
        "https://[::1]x:80",
        "https://[fe80::1%25eth0]",
        "https://1.2.3.4.5",
        "https://@",
        "https://a@b@c",
        "http://[]",
        "",
    };
    op_config_url_t u;
    for (size_t i = 0; i < OP_NELEMS(bad); i++) {
        if (op_config_url_parse(bad[i], strlen(bad[i]), &u))
            fprintf(stderr, "accepted %s\n", bad[i]);
        OP_CHECK(!op_config_url_parse(bad[i], strlen(bad[i]), &u));
    }
    static const char nul[] = "https://a.example/a\0b";
    OP_CHECK(!op_config_url_parse(nul, sizeof(nul) - 1, &u));
    /* Over 2048 bytes. */
    char longer[2100];
    memset(longer, 'a', sizeof(longer));
    memcpy(longer, "https://x/", 10);
    OP_CHECK(op_config_url_parse(longer, 2048, &u));
    OP_CHECK(!op_config_url_parse(longer, 2049, &u));
}

static const op_test_case_t cases[] = {
    {"url_parse", test_url_parse},
    {"url_parts", test_url_parts},
    {"url_hostile", test_url_hostile},
};

OP_TEST_MAIN(cases)
