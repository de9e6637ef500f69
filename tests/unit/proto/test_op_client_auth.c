/*
 * tests/unit/proto/test_op_client_auth.c - core/proto/op_client_auth.c: client
 * authentication at the token endpoint. Every method (client_secret_basic,
 * client_secret_post, none), wrong secrets, a method other than the
 * registered one, two methods in one request, Basic credentials that are
 * form-urlencoded inside the base64 (RFC 6749 §2.3.1), malformed Basic
 * headers, client assertions (not supported yet), and the rule that an
 * unknown client gets exactly the answer of a wrong secret (RFC 6749
 * §5.2). The base64 of the tests is made by OpenSSL, independently of the
 * code under test.
 */
#include <openssl/evp.h>

#include "core/proto/op_client_auth.h"
#include "tests/unit/op_test.h"

static const op_client_t clients[] = {
    {.client_id = "basic-client",
     .client_secret = "s3cret",
     .token_endpoint_auth_method = OP_CLIENT_AUTH_CLIENT_SECRET_BASIC},
    {.client_id = "post-client",
     .client_secret = "p0st-secret",
     .token_endpoint_auth_method = OP_CLIENT_AUTH_CLIENT_SECRET_POST},
    {.client_id = "public-client", .token_endpoint_auth_method = OP_CLIENT_AUTH_NONE},
    {.client_id = "my client:1",
     .client_secret = "p@ss:w/rd+%&=",
     .token_endpoint_auth_method = OP_CLIENT_AUTH_CLIENT_SECRET_BASIC},
    {.client_id = "jwt-client",
     .client_secret = "0123456789abcdef0123456789abcdef",
     .token_endpoint_auth_method = OP_CLIENT_AUTH_CLIENT_SECRET_JWT},
};

static int lookups;

static const op_client_t *lookup(const void *arg, const char *id)
{
    OP_CHECK(arg == clients);
    lookups++;
    for (size_t i = 0; i < OP_NELEMS(clients); i++) {
        if (strcmp(clients[i].client_id, id) == 0)
            return &clients[i];
    }
    return NULL;
}

/* "Basic " + standard base64 of s (OpenSSL's encoder). */
static char *basic(op_arena_t *a, const char *s)
{
    size_t n = strlen(s);
    char *out = op_arena_alloc(a, 6 + 4 * ((n + 2) / 3) + 1);

    OP_CHECK(out != NULL);
    memcpy(out, "Basic ", 6);
    EVP_EncodeBlock((unsigned char *)out + 6, (const unsigned char *)s, (int)n);
    return out;
}

typedef struct result {
    int rc;
    const op_client_t *client;
    op_err_t err;
} result_t;

static result_t auth(op_arena_t *a, const char *authorization, const char *form)
{
    op_params_t p;
    op_err_t e;
    result_t r;

    op_err_clear(&e);
    OP_CHECK_INT(op_params_parse(a, form, strlen(form), NULL, &p, &e), OP_OK);
    op_err_clear(&r.err);
    r.rc = op_client_auth_check(a, authorization, &p, lookup, clients, &r.client, &r.err);
    OP_CHECK(r.rc == OP_OK ? r.client != NULL : r.client == NULL);
    return r;
}

/* The one answer to a failed authentication: invalid_client, 401
 * (RFC 6749 §5.2), with the description of a wrong secret. */
static void check_failed(const result_t *r)
{
    OP_CHECK_INT(r->rc, OP_EDENIED);
    OP_CHECK_STR(r->err.oauth_error, "invalid_client");
    OP_CHECK_INT(r->err.http_status, 401);
    OP_CHECK_STR(r->err.description, "client authentication failed");
}

static void check_bad_request(const result_t *r)
{
    OP_CHECK_INT(r->rc, OP_EINVAL);
    OP_CHECK_STR(r->err.oauth_error, "invalid_request");
    OP_CHECK_INT(r->err.http_status, 400);
}

static op_arena_t *arena(void)
{
    op_arena_t *a = op_arena_new(1 << 20);

    OP_CHECK(a != NULL);
    return a;
}

/* RFC 6749 §2.3.1: client_secret_basic. */
static void test_basic(void)
{
    op_arena_t *a = arena();
    result_t r = auth(a, basic(a, "basic-client:s3cret"), "grant_type=x");

    OP_CHECK_INT(r.rc, OP_OK);
    OP_CHECK(r.client == &clients[0]);
    /* RFC 7617 §2: the scheme is case-insensitive; extra spaces before
     * the credentials are tolerated. */
    char *h = basic(a, "basic-client:s3cret");
    memcpy(h, "bASIC", 5);
    OP_CHECK_INT(auth(a, h, "").rc, OP_OK);
    OP_CHECK_INT(auth(a, op_arena_printf(a, "Basic   %s", h + 6), "").rc, OP_OK);
    /* A client_id in the body that names the same client is fine. */
    OP_CHECK_INT(auth(a, basic(a, "basic-client:s3cret"), "client_id=basic-client").rc, OP_OK);
    op_arena_free(a);
}

/* RFC 6749 §2.3.1: "the client identifier is encoded using the
 * application/x-www-form-urlencoded encoding algorithm ... and the
 * encoded value is used as the username; the client password is encoded
 * using the same algorithm and used as the password". */
static void test_basic_urlencoded(void)
{
    op_arena_t *a = arena();
    result_t r = auth(a, basic(a, "my+client%3A1:p%40ss%3Aw%2Frd%2B%25%26%3D"), "");

    OP_CHECK_INT(r.rc, OP_OK);
    OP_CHECK(r.client == &clients[3]);
    OP_CHECK_INT(auth(a, basic(a, "my%20client%3a1:p%40ss%3Aw%2Frd%2B%25%26%3D"), "").rc, OP_OK);
    /* Not encoded: '+' decodes to a space, so the secret differs. */
    r = auth(a, basic(a, "my+client%3A1:p%40ss%3Aw/rd+%25%26%3D"), "");
    check_failed(&r);
    /* A raw '%' or '&' is not form-urlencoded. */
    r = auth(a, basic(a, "my+client%3A1:p%40ss%3Aw%2Frd%2B%&="), "");
    check_failed(&r);
    r = auth(a, basic(a, "basic-client:s3cret&x=1"), "");
    check_failed(&r);
    op_arena_free(a);
}

/* RFC 6749 §2.3.1: client_secret_post. */
static void test_post(void)
{
    op_arena_t *a = arena();
    result_t r = auth(a, NULL, "client_id=post-client&client_secret=p0st-secret");

    OP_CHECK_INT(r.rc, OP_OK);
    OP_CHECK(r.client == &clients[1]);
    /* An Authorization header of another scheme is not a client
     * authentication method. */
    OP_CHECK_INT(auth(a, "Bearer abc", "client_id=post-client&client_secret=p0st-secret").rc,
                 OP_OK);
    r = auth(a, NULL, "client_id=post-client&client_secret=p0st-secreT");
    check_failed(&r);
    r = auth(a, NULL, "client_id=post-client&client_secret=");
    check_failed(&r);
    op_arena_free(a);
}

/* OIDC Core §9 "none": a public client sends its client_id alone. */
static void test_none(void)
{
    op_arena_t *a = arena();
    result_t r = auth(a, NULL, "client_id=public-client");

    OP_CHECK_INT(r.rc, OP_OK);
    OP_CHECK(r.client == &clients[2]);
    /* A public client has no secret to send. */
    r = auth(a, NULL, "client_id=public-client&client_secret=");
    check_failed(&r);
    r = auth(a, basic(a, "public-client:"), "");
    check_failed(&r);
    /* A confidential client must authenticate. */
    r = auth(a, NULL, "client_id=basic-client");
    check_failed(&r);
    op_arena_free(a);
}

/* Wrong secrets, and an unknown client: the same answer, and the
 * lookup happens either way (RFC 6749 §5.2: invalid_client). */
static void test_wrong_secret_unknown_client(void)
{
    op_arena_t *a = arena();
    result_t wrong = auth(a, basic(a, "basic-client:s3creT"), "");
    result_t unknown = auth(a, basic(a, "nobody:s3cret"), "");
    result_t short_secret = auth(a, basic(a, "basic-client:s3cre"), "");
    result_t empty = auth(a, basic(a, "basic-client:"), "");

    check_failed(&wrong);
    check_failed(&unknown);
    check_failed(&short_secret);
    check_failed(&empty);
    OP_CHECK_INT(wrong.err.code, unknown.err.code);
    OP_CHECK_STR(wrong.err.oauth_error, unknown.err.oauth_error);
    OP_CHECK_INT(wrong.err.http_status, unknown.err.http_status);
    OP_CHECK_STR(wrong.err.description, unknown.err.description);
    result_t post_unknown = auth(a, NULL, "client_id=nobody&client_secret=x");
    check_failed(&post_unknown);
    result_t none_unknown = auth(a, NULL, "client_id=nobody");
    check_failed(&none_unknown);
    /* An over-long client_id is refused like an unknown one. */
    char *long_id = op_arena_alloc(a, OP_CLIENT_ID_MAX + 2);
    memset(long_id, 'x', OP_CLIENT_ID_MAX + 1);
    long_id[OP_CLIENT_ID_MAX + 1] = '\0';
    lookups = 0;
    result_t too_long = auth(a, NULL, op_arena_printf(a, "client_id=%s&client_secret=x", long_id));
    check_failed(&too_long);
    OP_CHECK_INT(lookups, 0);
    op_arena_free(a);
}

/* The method must be the registered token_endpoint_auth_method (OIDC
 * Registration §2), with the same answer as a wrong secret. */
static void test_wrong_method(void)
{
    op_arena_t *a = arena();
    result_t r = auth(a, NULL, "client_id=basic-client&client_secret=s3cret");

    check_failed(&r);
    r = auth(a, basic(a, "post-client:p0st-secret"), "");
    check_failed(&r);
    /* client_secret_jwt is registered, but its secret is no password. */
    r = auth(a, basic(a, "jwt-client:0123456789abcdef0123456789abcdef"), "");
    check_failed(&r);
    op_arena_free(a);
}

/* RFC 6749 §2.3: "The client MUST NOT use more than one authentication
 * method in each request." */
static void test_two_methods(void)
{
    op_arena_t *a = arena();
    result_t r = auth(a, basic(a, "basic-client:s3cret"), "client_secret=s3cret");

    check_bad_request(&r);
    r = auth(a, basic(a, "basic-client:s3cret"),
             "client_assertion_type=urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-"
             "bearer&client_assertion=a.b.c");
    check_bad_request(&r);
    r = auth(a, NULL, "client_id=post-client&client_secret=p0st-secret&client_assertion=a.b.c");
    check_bad_request(&r);
    /* A body client_id naming another client than the Basic one. */
    r = auth(a, basic(a, "basic-client:s3cret"), "client_id=post-client");
    check_bad_request(&r);
    op_arena_free(a);
}

/* private_key_jwt / client_secret_jwt (RFC 7523 §2.2) come later: a
 * clear invalid_client. */
static void test_assertion(void)
{
    op_arena_t *a = arena();
    result_t r = auth(a, NULL,
                      "client_id=jwt-client&client_assertion_type=urn%3Aietf%3Aparams%3Aoauth%3A"
                      "client-assertion-type%3Ajwt-bearer&client_assertion=a.b.c");

    OP_CHECK_INT(r.rc, OP_EDENIED);
    OP_CHECK_STR(r.err.oauth_error, "invalid_client");
    OP_CHECK_INT(r.err.http_status, 401);
    OP_CHECK(strstr(r.err.description, "not supported") != NULL);
    op_arena_free(a);
}

/* No client authentication at all (RFC 6749 §5.2 invalid_client). */
static void test_none_sent(void)
{
    op_arena_t *a = arena();
    result_t r = auth(a, NULL, "grant_type=authorization_code");

    OP_CHECK_INT(r.rc, OP_EDENIED);
    OP_CHECK_STR(r.err.oauth_error, "invalid_client");
    OP_CHECK_INT(r.err.http_status, 401);
    op_arena_free(a);
}

/* Malformed Basic credentials (RFC 7617 §2, RFC 4648 §4): refused as a
 * failed authentication, never read past. */
static void test_basic_malformed(void)
{
    static const char *const bad[] = {
        "Basic ",                              /* nothing */
        "Basic YmFzaWMtY2xpZW50OnMzY3JldA",    /* padding missing */
        "Basic YmFzaWMtY2xpZW50OnMzY3JldA===", /* too much padding */
        "Basic YmFza=WMtY2xpZW50OnMzY3JldA=",  /* padding inside */
        "Basic YmFzaWMtY2xp_W50OnMzY3JldA==",  /* base64url alphabet */
        "Basic YmFzaWMtY2xpZW50OnMzY3JldA= ",  /* trailing space */
        "Basic YmFzaWMtY2xpZW50czNjcmV0",      /* "basic-clients3cret": no colon */
        "Basic OnMzY3JldA==",                  /* ":s3cret": empty client_id */
        "Basic YmFzaWMtY2xpZW50OnMzY3JldAA=",  /* a NUL byte */
        "Basic YmFzaWMtY2xpZW50OiUzeA==",      /* "basic-client:%3x": bad escape */
        "Basicx YmFzaWMtY2xpZW50OnMzY3JldA==",
    };
    op_arena_t *a = arena();

    for (size_t i = 0; i < OP_NELEMS(bad); i++) {
        result_t r = auth(a, bad[i], "");
        if (i == OP_NELEMS(bad) - 1) {
            /* Another scheme: no client authentication at all. */
            OP_CHECK_STR(r.err.oauth_error, "invalid_client");
            continue;
        }
        check_failed(&r);
    }
    /* Over the length bound. */
    char *huge = op_arena_alloc(a, 5000);
    memcpy(huge, "Basic ", 6);
    memset(huge + 6, 'A', 4096);
    huge[4102] = '\0';
    result_t r = auth(a, huge, "");
    check_failed(&r);
    op_arena_free(a);
}

static const op_test_case_t cases[] = {
    {"basic", test_basic},
    {"basic_urlencoded", test_basic_urlencoded},
    {"post", test_post},
    {"none", test_none},
    {"wrong_secret_unknown_client", test_wrong_secret_unknown_client},
    {"wrong_method", test_wrong_method},
    {"two_methods", test_two_methods},
    {"assertion", test_assertion},
    {"none_sent", test_none_sent},
    {"basic_malformed", test_basic_malformed},
};

OP_TEST_MAIN(cases)
