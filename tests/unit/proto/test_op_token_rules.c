/*
 * tests/unit/proto/test_op_token_rules.c - the exp check and the alg allow-list
 * of the access tokens the server accepts (op_token_access_check in
 * core/proto/op_token.c), on claims and headers the test writes and signs
 * itself with a generated key set, on a clock the test sets.
 *
 * RFC 7519 §4.1.4: refused on or after exp, with no leeway; an exp that
 * is missing or not an integer is refused. RFC 8725 §3.1, RFC 9068 §4:
 * only the server's asymmetric algorithms, "none" and HS256 never, and an
 * allowed alg named in the header never verifies another alg's signature.
 */
#include "core/proto/op_token.h"
#include "keys/op_keys_int.h"
#include "tests/unit/op_test.h"

#define NOW 1800000000
#define ISS "https://op.example.com"

static struct env {
    op_loop_t *loop;
    op_store_t *store;
    op_keys_set_t *set;
    op_arena_t *a;
    op_config_t cfg;
} E;

static void on_store(int status, op_store_t *store, const op_err_t *err, void *arg)
{
    OP_UNUSED(err);
    OP_UNUSED(arg);
    OP_CHECK_INT(status, OP_OK);
    E.store = store;
    op_loop_stop(E.loop);
}

static void on_store_closed(void *arg)
{
    OP_UNUSED(arg);
    E.store = NULL;
    op_loop_stop(E.loop);
}

static void setup(void)
{
    op_store_config_t sc = {.kind = OP_STORE_MEMORY};
    op_err_t err;

    memset(&E, 0, sizeof(E));
    op_err_clear(&err);
    OP_CHECK_INT(op_keys_global_init(), OP_OK);
    OP_CHECK_INT(op_keys_gen_set(2048, NOW - 100, &E.set, &err), OP_OK);
    E.loop = op_loop_new();
    E.a = op_arena_new(8 << 20);
    OP_CHECK(E.loop != NULL && E.a != NULL);
    E.cfg.issuer = ISS;
    E.cfg.at_lifetime_s = 600;
    op_store_open(E.loop, &sc, on_store, NULL);
    OP_CHECK_INT(op_loop_run(E.loop), OP_OK);
    OP_CHECK(E.store != NULL);
}

static void teardown(void)
{
    op_store_close(E.store, on_store_closed, NULL);
    OP_CHECK_INT(op_loop_run(E.loop), OP_OK);
    op_loop_free(E.loop);
    op_arena_free(E.a);
    op_keys_set_release(E.set);
}

typedef struct checked {
    int calls;
    int status;
    op_err_t err;
} checked_t;

static void on_check(int status, const op_token_access_t *at, const op_err_t *err, void *arg)
{
    checked_t *c = arg;

    OP_UNUSED(at);
    c->calls++;
    c->status = status;
    if (status != OP_OK)
        c->err = *err;
    op_loop_stop(E.loop);
}

/* The check of token at time now: OP_OK, or OP_EDENIED with a 401
 * invalid_token (RFC 6750 §3.1). */
static int check_at(const char *token, int64_t now)
{
    op_token_ctx_t ctx = {&E.cfg, E.set, now};
    checked_t c = {0};

    op_token_access_check(E.loop, E.store, &ctx, token, E.a, on_check, &c);
    OP_CHECK_INT(op_loop_run(E.loop), OP_OK);
    OP_CHECK_INT(c.calls, 1);
    if (c.status != OP_OK) {
        OP_CHECK_INT(c.status, OP_EDENIED);
        OP_CHECK_STR(c.err.oauth_error, "invalid_token");
        OP_CHECK_INT(c.err.http_status, 401);
    }
    return c.status;
}

/* Access token claims with `exp` as given (a JSON value, or NULL: none). */
static const char *claims(const char *exp)
{
    return op_arena_printf(E.a,
                           "{\"iss\":\"" ISS "\",\"sub\":\"alice\",\"client_id\":\"c1\","
                           "\"aud\":\"c1\",\"iat\":%d,\"jti\":\"j1\",\"scope\":\"openid\"%s%s}",
                           NOW - 10, exp ? ",\"exp\":" : "", exp ? exp : "");
}

static char *sign(op_jws_alg_t alg, const char *payload)
{
    char *jws = NULL;
    op_err_t err;

    op_err_clear(&err);
    OP_CHECK_INT(op_keys_jws_sign(E.set, alg, "at+jwt", payload, strlen(payload), E.a, &jws, &err),
                 OP_OK);
    return jws;
}

/* The same JWS under another protected header (the signature kept). */
static char *with_header(const char *jws, const char *header)
{
    char *h = op_b64url_encode_arena(E.a, (const uint8_t *)header, strlen(header));

    return op_arena_printf(E.a, "%s%s", h, strchr(jws, '.'));
}

/* RFC 7519 §4.1.4: "MUST NOT be accepted for processing" on or after exp. */
static void test_exp(void)
{
    setup();
    char *jws = sign(OP_JWS_ES256, claims(op_arena_printf(E.a, "%d", NOW + 60)));
    OP_CHECK_INT(check_at(jws, NOW), OP_OK);
    OP_CHECK_INT(check_at(jws, NOW + 59), OP_OK);
    OP_CHECK_INT(check_at(jws, NOW + 60), OP_EDENIED);
    OP_CHECK_INT(check_at(jws, NOW + 61), OP_EDENIED);
    OP_CHECK_INT(check_at(jws, INT64_MAX), OP_EDENIED);
    /* exp one second ahead passes, exp now does not: no leeway. */
    OP_CHECK_INT(check_at(sign(OP_JWS_RS256, claims(op_arena_printf(E.a, "%d", NOW + 1))), NOW),
                 OP_OK);
    OP_CHECK_INT(check_at(sign(OP_JWS_RS256, claims(op_arena_printf(E.a, "%d", NOW))), NOW),
                 OP_EDENIED);
    teardown();
}

/* An exp that is missing or not an integer NumericDate is refused. */
static void test_exp_malformed(void)
{
    static const char *const bad[] = {
        NULL, "null", "\"1900000000\"", "1900000000.5", "1.9e9",
        "-1", "0",    "[1900000000]",   "{\"a\":1}",    "true",
    };

    setup();
    for (size_t i = 0; i < OP_NELEMS(bad); i++) {
        if (check_at(sign(OP_JWS_ES256, claims(bad[i])), NOW) != OP_EDENIED) {
            fprintf(stderr, "exp %s was accepted\n", bad[i] ? bad[i] : "(absent)");
            exit(1);
        }
    }
    teardown();
}

/* RFC 8725 §3.1, RFC 9068 §4: the allow-list, and one key per alg. */
static void test_alg_allow_list(void)
{
    static const op_jws_alg_t ours[] = {OP_JWS_RS256, OP_JWS_PS256, OP_JWS_ES256, OP_JWS_EDDSA};
    static const char *const swapped[] = {"PS256", "ES256", "EdDSA", "HS256", "RS512", "none"};
    const char *payload;
    char *jws = NULL;
    op_err_t err;

    setup();
    payload = claims(op_arena_printf(E.a, "%d", NOW + 600));
    for (size_t i = 0; i < OP_NELEMS(ours); i++)
        OP_CHECK_INT(check_at(sign(ours[i], payload), NOW), OP_OK);
    /* HS256, whatever the secret (here: the RSA key's public JWK). */
    const char *pub = op_keys_set_jwks(E.set, NULL);
    op_err_clear(&err);
    OP_CHECK_INT(op_keys_jws_sign_hs256((const uint8_t *)pub, strlen(pub), "at+jwt", payload,
                                        strlen(payload), E.a, &jws, &err),
                 OP_OK);
    OP_CHECK_INT(check_at(jws, NOW), OP_EDENIED);
    /* An RS256 signature under any other alg's header, with its kid. */
    char *rs = sign(OP_JWS_RS256, payload);
    const char *kid = op_keys_set_kid(E.set, OP_JWS_RS256);
    for (size_t i = 0; i < OP_NELEMS(swapped); i++) {
        const char *h = op_arena_printf(E.a, "{\"alg\":\"%s\",\"typ\":\"at+jwt\",\"kid\":\"%s\"}",
                                        swapped[i], kid);
        if (check_at(with_header(rs, h), NOW) != OP_EDENIED) {
            fprintf(stderr, "alg %s over an RS256 signature was accepted\n", swapped[i]);
            exit(1);
        }
    }
    /* The unsecured form: alg none and no signature. */
    const char *none = with_header(rs, "{\"alg\":\"none\",\"typ\":\"at+jwt\"}");
    OP_CHECK_INT(
        check_at(op_arena_printf(E.a, "%.*s.", (int)(strrchr(none, '.') - none), none), NOW),
        OP_EDENIED);
    teardown();
}

static const op_test_case_t cases[] = {
    {"exp", test_exp},
    {"exp_malformed", test_exp_malformed},
    {"alg_allow_list", test_alg_allow_list},
};

OP_TEST_MAIN(cases)
