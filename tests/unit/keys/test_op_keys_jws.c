/*
 * tests/unit/keys/test_op_keys_jws.c - keys/op_keys_jws.c and op_keys_jwk.c:
 * sign / verify round trips for every alg against a generated set and
 * against its published JWK set, the published JWK format, RFC 7638
 * thumbprints, and every rejection of the strict parser and verifier
 * (allow-list before key lookup, "none", alg confusion, tampering,
 * duplicate header keys, bad base64url, size, kid, crit, foreign keys).
 */
#include <openssl/pem.h>
#include <sodium.h>

#include "keys/op_keys_int.h"
#include "tests/unit/op_test.h"

#define ALL_ALGS 0xffffffffu
#define ALG(x)   (1u << (x))

static const op_jws_alg_t set_algs[] = {OP_JWS_RS256, OP_JWS_PS256, OP_JWS_ES256, OP_JWS_EDDSA};

static const char payload[] = "{\"iss\":\"https://op.example\",\"sub\":\"alice\","
                              "\"aud\":\"client\",\"exp\":2000000000}";

static op_arena_t *arena(void)
{
    op_arena_t *a = op_arena_new(4 << 20);

    OP_CHECK(a != NULL);
    OP_CHECK_INT(op_keys_global_init(), OP_OK);
    return a;
}

static op_keys_set_t *new_set(void)
{
    op_keys_set_t *set = NULL;
    op_err_t err;

    op_err_clear(&err);
    OP_CHECK_INT(op_keys_gen_set(2048, 1700000000, &set, &err), OP_OK);
    return set;
}

static char *sign(const op_keys_set_t *set, op_jws_alg_t alg, const char *typ, op_arena_t *a)
{
    char *jws = NULL;
    op_err_t err;

    op_err_clear(&err);
    OP_CHECK_INT(op_keys_jws_sign(set, alg, typ, payload, strlen(payload), a, &jws, &err), OP_OK);
    return jws;
}

static char *b64(op_arena_t *a, const char *s)
{
    return op_b64url_encode_arena(a, (const uint8_t *)s, strlen(s));
}

/* "h.p.s" from base64url parts. */
static char *join(op_arena_t *a, const char *h, const char *p, const char *s)
{
    return op_arena_printf(a, "%s.%s.%s", h, p, s);
}

/* The n-th (0..2) part of a compact JWS, copied. */
static char *part(op_arena_t *a, const char *jws, int n)
{
    const char *p = jws, *end;

    for (int i = 0; i < n; i++)
        p = strchr(p, '.') + 1;
    end = strchr(p, '.');
    return op_arena_strndup(a, p, end ? (size_t)(end - p) : strlen(p));
}

/* jws with its header replaced by the JSON text hdr; payload and
 * signature kept. */
static char *with_header(op_arena_t *a, const char *jws, const char *hdr)
{
    return join(a, b64(a, hdr), part(a, jws, 1), part(a, jws, 2));
}

static int verify_set(const op_keys_set_t *set, const char *jws, unsigned allowed, op_arena_t *a,
                      op_jws_t *out, op_err_t *err)
{
    op_err_clear(err);
    return op_keys_jws_verify_set(set, jws, strlen(jws), allowed, a, out, err);
}

static int verify_jwks(const char *jwks, const char *jws, unsigned allowed, op_arena_t *a,
                       op_jws_t *out, op_err_t *err)
{
    op_err_clear(err);
    return op_keys_jws_verify_jwks(jws, strlen(jws), allowed, jwks, strlen(jwks), a, out, err);
}

static int parse(const char *jws, unsigned allowed, op_arena_t *a, op_err_t *err)
{
    op_jws_t out;

    op_err_clear(err);
    return op_keys_jws_parse(jws, strlen(jws), allowed, a, &out, err);
}

/* ---- round trips -------------------------------------------------------- */

static void test_alg_names(void)
{
    for (int i = OP_JWS_RS256; i < OP_JWS_ALG_MAX; i++) {
        const char *name = op_keys_jws_alg_name((op_jws_alg_t)i);
        OP_CHECK_INT(op_keys_jws_alg_parse(name, strlen(name)), i);
    }
    OP_CHECK_STR(op_keys_jws_alg_name(OP_JWS_EDDSA), "EdDSA");
    OP_CHECK_INT(op_keys_jws_alg_parse("none", 4), OP_JWS_NONE);
    OP_CHECK_INT(op_keys_jws_alg_parse("rs256", 5), OP_JWS_NONE);
    OP_CHECK_INT(op_keys_jws_alg_parse("RS2560", 6), OP_JWS_NONE);
    OP_CHECK_INT(op_keys_jws_alg_parse("RS256", 4), OP_JWS_NONE);
    OP_CHECK_INT(op_keys_jws_alg_parse(NULL, 0), OP_JWS_NONE);
    OP_CHECK(op_keys_jws_alg_name(OP_JWS_ALG_MAX) == NULL);
}

static void test_roundtrip_set(void)
{
    op_keys_set_t *set = new_set();
    op_arena_t *a = arena();
    op_jws_t out;
    op_err_t err;

    for (size_t i = 0; i < OP_NELEMS(set_algs); i++) {
        op_jws_alg_t alg = set_algs[i];
        char *jws = sign(set, alg, "JWT", a);

        OP_CHECK_INT(verify_set(set, jws, ALL_ALGS, a, &out, &err), OP_OK);
        OP_CHECK_INT(out.alg, alg);
        OP_CHECK_STR(out.kid, op_keys_set_kid(set, alg));
        OP_CHECK_STR(out.typ, "JWT");
        OP_CHECK_INT(out.payload_len, strlen(payload));
        OP_CHECK_STR(out.payload, payload);
        OP_CHECK(op_json_is(out.header, OP_JSON_OBJECT));
        /* Only this alg allowed. */
        OP_CHECK_INT(verify_set(set, jws, ALG(alg), a, &out, &err), OP_OK);
        /* No typ: the header has none. */
        jws = sign(set, alg, NULL, a);
        OP_CHECK_INT(verify_set(set, jws, ALG(alg), a, &out, &err), OP_OK);
        OP_CHECK(out.typ == NULL);
    }
    op_arena_free(a);
    op_keys_set_release(set);
}

static void test_roundtrip_jwks(void)
{
    op_keys_set_t *set = new_set();
    op_arena_t *a = arena();
    const char *jwks = op_keys_set_jwks(set, NULL);
    op_jws_t out;
    op_err_t err;

    for (size_t i = 0; i < OP_NELEMS(set_algs); i++) {
        char *jws = sign(set, set_algs[i], "at+jwt", a);

        OP_CHECK_INT(verify_jwks(jwks, jws, ALL_ALGS, a, &out, &err), OP_OK);
        OP_CHECK_INT(out.alg, set_algs[i]);
        OP_CHECK_STR(out.typ, "at+jwt");
        OP_CHECK_STR(out.payload, payload);
    }
    op_arena_free(a);
    op_keys_set_release(set);
}

/* The header is exactly {"alg":..,"kid":..,"typ":..}, in that order. */
static void test_header_bytes(void)
{
    op_keys_set_t *set = new_set();
    op_arena_t *a = arena();
    char *jws = sign(set, OP_JWS_ES256, "JWT", a);
    char *h = part(a, jws, 0);
    uint8_t raw[256];
    size_t n = 0;

    OP_CHECK(op_b64url_decode(h, strlen(h), raw, &n));
    raw[n] = '\0';
    OP_CHECK_STR((char *)raw,
                 op_arena_printf(a, "{\"alg\":\"ES256\",\"kid\":\"%s\",\"typ\":\"JWT\"}",
                                 op_keys_set_kid(set, OP_JWS_ES256)));
    /* Signature sizes: R || S for ES256, the modulus for RS256. */
    OP_CHECK_INT(strlen(part(a, jws, 2)), op_b64url_encoded_len(64));
    jws = sign(set, OP_JWS_RS256, NULL, a);
    OP_CHECK_INT(strlen(part(a, jws, 2)), op_b64url_encoded_len(256));
    jws = sign(set, OP_JWS_EDDSA, NULL, a);
    OP_CHECK_INT(strlen(part(a, jws, 2)), op_b64url_encoded_len(64));
    op_arena_free(a);
    op_keys_set_release(set);
}

static const op_json_t *find_kty(const op_json_t *keys, const char *kty)
{
    for (size_t i = 0; i < keys->u.arr.n; i++)
        if (op_str_eq(op_json_get_str(keys->u.arr.items[i], "kty"), kty))
            return keys->u.arr.items[i];
    return NULL;
}

static void test_jwks_format(void)
{
    op_keys_set_t *set = new_set();
    op_arena_t *a = arena();
    const char *jwks;
    const op_json_t *keys, *rsa, *ec, *okp;
    op_json_t *root;
    op_err_t err;
    size_t len;

    jwks = op_keys_set_jwks(set, &len);
    OP_CHECK_INT(len, strlen(jwks));
    OP_CHECK_INT(op_json_parse(a, jwks, len, NULL, &root, &err), OP_OK);
    keys = op_json_get(root, "keys");
    OP_CHECK(op_json_is(keys, OP_JSON_ARRAY));
    OP_CHECK_INT(keys->u.arr.n, 3);
    rsa = find_kty(keys, "RSA");
    ec = find_kty(keys, "EC");
    okp = find_kty(keys, "OKP");
    OP_CHECK(rsa != NULL && ec != NULL && okp != NULL);
    /* RSA: one entry without alg, signing RS256 and PS256 under one kid. */
    OP_CHECK(op_json_get(rsa, "alg") == NULL);
    OP_CHECK_STR(op_json_get_str(rsa, "use"), "sig");
    OP_CHECK_STR(op_json_get_str(rsa, "e"), "AQAB");
    OP_CHECK_INT(strlen(op_json_get_str(rsa, "n")), op_b64url_encoded_len(256));
    OP_CHECK_STR(op_json_get_str(rsa, "kid"), op_keys_set_kid(set, OP_JWS_RS256));
    OP_CHECK_STR(op_json_get_str(rsa, "kid"), op_keys_set_kid(set, OP_JWS_PS256));
    OP_CHECK_STR(op_json_get_str(ec, "alg"), "ES256");
    OP_CHECK_STR(op_json_get_str(ec, "crv"), "P-256");
    OP_CHECK_STR(op_json_get_str(ec, "use"), "sig");
    OP_CHECK_STR(op_json_get_str(ec, "kid"), op_keys_set_kid(set, OP_JWS_ES256));
    OP_CHECK_STR(op_json_get_str(okp, "alg"), "EdDSA");
    OP_CHECK_STR(op_json_get_str(okp, "crv"), "Ed25519");
    OP_CHECK_STR(op_json_get_str(okp, "kid"), op_keys_set_kid(set, OP_JWS_EDDSA));
    OP_CHECK_INT(strlen(op_json_get_str(okp, "x")), 43);
    OP_CHECK(op_keys_set_kid(set, OP_JWS_HS256) == NULL);
    OP_CHECK(op_keys_set_kid(set, OP_JWS_NONE) == NULL);
    /* Nothing private is published. */
    for (const char *m = "d\0p\0q\0dp\0dq\0qi\0k\0"; *m; m += strlen(m) + 1) {
        OP_CHECK(op_json_get(rsa, m) == NULL);
        OP_CHECK(op_json_get(ec, m) == NULL);
        OP_CHECK(op_json_get(okp, m) == NULL);
    }
    /* The kids are RFC 7638 thumbprints: 43 chars, distinct. */
    OP_CHECK_INT(strlen(op_keys_set_kid(set, OP_JWS_RS256)), 43);
    OP_CHECK(strcmp(op_keys_set_kid(set, OP_JWS_RS256), op_keys_set_kid(set, OP_JWS_ES256)) != 0);
    op_arena_free(a);
    op_keys_set_release(set);
}

/* RFC 7638 §3.1 (RSA) and RFC 8037 A.3 (Ed25519) thumbprints. */
static void test_thumbprint_vectors(void)
{
    static const char n[] =
        "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_"
        "BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_"
        "FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI"
        "4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw";
    op_arena_t *a = arena();
    op_keys_pub_t pub;
    op_err_t err;

    op_err_clear(&err);
    OP_CHECK_INT(op_keys_jwk_pub_init(&pub, OP_KEYS_KTY_RSA, n, "AQAB", a, &err), OP_OK);
    OP_CHECK_STR(op_keys_jwk_thumbprint(&pub, a), "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs");
    OP_CHECK_INT(pub.sig_len, 256);
    OP_CHECK_INT(op_keys_jwk_pub_init(&pub, OP_KEYS_KTY_OKP,
                                      "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo", NULL, a, &err),
                 OP_OK);
    OP_CHECK_STR(op_keys_jwk_thumbprint(&pub, a), "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k");
    op_arena_free(a);
}

/* ---- the strict parser -------------------------------------------------- */

/* The allow-list is checked before any key: a bogus kid and no usable key
 * still give the alg error. */
static void test_alg_not_allowed_first(void)
{
    op_keys_set_t *set = new_set();
    op_arena_t *a = arena();
    char *jws = sign(set, OP_JWS_RS256, NULL, a);
    char *bogus = with_header(a, jws, "{\"alg\":\"RS256\",\"kid\":\"bogus\"}");
    op_jws_t out;
    op_err_t err;

    OP_CHECK_INT(verify_set(set, bogus, ALG(OP_JWS_ES256), a, &out, &err), OP_EINVAL);
    OP_CHECK_HAS(err.description, "alg RS256 is not allowed");
    OP_CHECK_INT(verify_jwks("{\"keys\":[]}", bogus, ALG(OP_JWS_ES256), a, &out, &err), OP_EINVAL);
    OP_CHECK_HAS(err.description, "alg RS256 is not allowed");
    /* Not even a JWK set is looked at. */
    OP_CHECK_INT(verify_jwks("not json", bogus, ALG(OP_JWS_ES256), a, &out, &err), OP_EINVAL);
    OP_CHECK_HAS(err.description, "alg");
    /* Allowed, the bogus kid is what fails. */
    OP_CHECK_INT(verify_set(set, bogus, ALL_ALGS, a, &out, &err), OP_EDENIED);
    OP_CHECK_INT(parse(jws, 0, a, &err), OP_EINVAL);
    op_arena_free(a);
    op_keys_set_release(set);
}

static void test_none_rejected(void)
{
    op_keys_set_t *set = new_set();
    op_arena_t *a = arena();
    const char *p = b64(a, payload);
    const char *hdrs[] = {"{\"alg\":\"none\"}",
                          "{\"alg\":\"None\"}",
                          "{\"alg\":\"NONE\"}",
                          "{\"alg\":\"\"}",
                          "{\"alg\":null}",
                          "{\"alg\":5}",
                          "{}",
                          "{\"alg\":\"HS512\"}"};
    op_jws_t out;
    op_err_t err;

    for (size_t i = 0; i < OP_NELEMS(hdrs); i++) {
        char *jws = join(a, b64(a, hdrs[i]), p, "AAAA");
        OP_CHECK_INT(parse(jws, ALL_ALGS, a, &err), OP_EINVAL);
        OP_CHECK_HAS(err.description, "alg");
        OP_CHECK_INT(verify_set(set, jws, ALL_ALGS, a, &out, &err), OP_EINVAL);
        OP_CHECK_INT(verify_jwks(op_keys_set_jwks(set, NULL), jws, ALL_ALGS, a, &out, &err),
                     OP_EINVAL);
    }
    /* Unsecured JWS (empty signature) too. */
    OP_CHECK_INT(parse(op_arena_printf(a, "%s.%s.", b64(a, hdrs[0]), p), ALL_ALGS, a, &err),
                 OP_EINVAL);
    op_arena_free(a);
    op_keys_set_release(set);
}

/* An HS256 token keyed with our public key (JWK or PEM) never verifies. */
static void test_alg_confusion(void)
{
    op_keys_set_t *set = new_set();
    op_arena_t *a = arena();
    const char *jwks = op_keys_set_jwks(set, NULL);
    const op_keys_key_t *rsa = set->sign[OP_JWS_RS256];
    BIO *bio = BIO_new(BIO_s_mem());
    char *pem_data, *pem, *jws;
    long pem_len;
    op_jws_t out;
    op_err_t err;

    OP_CHECK(bio != NULL && PEM_write_bio_PUBKEY(bio, rsa->pkey) == 1);
    pem_len = BIO_get_mem_data(bio, &pem_data);
    pem = op_arena_strndup(a, pem_data, (size_t)pem_len);
    BIO_free(bio);
    const char *secrets[] = {pem, jwks, rsa->pub.canon};
    for (size_t i = 0; i < OP_NELEMS(secrets); i++) {
        op_err_clear(&err);
        OP_CHECK_INT(op_keys_jws_sign_hs256((const uint8_t *)secrets[i], strlen(secrets[i]), NULL,
                                            payload, strlen(payload), a, &jws, &err),
                     OP_OK);
        OP_CHECK_INT(verify_jwks(jwks, jws, ALL_ALGS, a, &out, &err), OP_EDENIED);
        OP_CHECK_INT(verify_set(set, jws, ALL_ALGS, a, &out, &err), OP_EDENIED);
        /* A kid naming our RSA key changes nothing. */
        jws = with_header(a, jws,
                          op_arena_printf(a, "{\"alg\":\"HS256\",\"kid\":\"%s\"}", rsa->pub.kid));
        OP_CHECK_INT(verify_jwks(jwks, jws, ALL_ALGS, a, &out, &err), OP_EDENIED);
        OP_CHECK_INT(verify_set(set, jws, ALL_ALGS, a, &out, &err), OP_EDENIED);
    }
    /* An oct key in a JWK set is never used either. */
    jwks = op_arena_printf(a, "{\"keys\":[{\"kty\":\"oct\",\"k\":\"%s\"}]}",
                           b64(a, "0123456789abcdef0123456789abcdef"));
    op_err_clear(&err);
    OP_CHECK_INT(op_keys_jws_sign_hs256((const uint8_t *)"0123456789abcdef0123456789abcdef", 32,
                                        NULL, payload, strlen(payload), a, &jws, &err),
                 OP_OK);
    OP_CHECK_INT(verify_jwks(jwks, jws, ALL_ALGS, a, &out, &err), OP_EDENIED);
    op_arena_free(a);
    op_keys_set_release(set);
}

/* Flip one bit of the decoded part n and re-encode it. */
static char *flip(op_arena_t *a, const char *jws, int n, size_t at)
{
    char *p = part(a, jws, n);
    uint8_t *raw = op_arena_alloc(a, strlen(p));
    size_t len = 0;
    char *parts[3];

    OP_CHECK(op_b64url_decode(p, strlen(p), raw, &len));
    raw[at % len] ^= 0x01;
    for (int i = 0; i < 3; i++)
        parts[i] = i == n ? op_b64url_encode_arena(a, raw, len) : part(a, jws, i);
    return join(a, parts[0], parts[1], parts[2]);
}

/* The same JWS with the last byte of its signature dropped. */
static char *shorten(op_arena_t *a, const char *jws)
{
    char *s = part(a, jws, 2);
    uint8_t *raw = op_arena_alloc(a, strlen(s));
    size_t len = 0;

    OP_CHECK(op_b64url_decode(s, strlen(s), raw, &len));
    return join(a, part(a, jws, 0), part(a, jws, 1), op_b64url_encode_arena(a, raw, len - 1));
}

static void test_tampered(void)
{
    op_keys_set_t *set = new_set();
    op_arena_t *a = arena();
    const char *jwks = op_keys_set_jwks(set, NULL);
    op_jws_t out;
    op_err_t err;

    for (size_t i = 0; i < OP_NELEMS(set_algs); i++) {
        char *jws = sign(set, set_algs[i], "JWT", a);
        const char *no_typ =
            op_arena_printf(a, "{\"alg\":\"%s\",\"kid\":\"%s\"}", op_keys_jws_alg_name(set_algs[i]),
                            op_keys_set_kid(set, set_algs[i]));
        char *bad[5];

        bad[0] = flip(a, jws, 1, 10);         /* payload */
        bad[1] = flip(a, jws, 2, 0);          /* signature, first byte */
        bad[2] = flip(a, jws, 2, 63);         /* signature, last R||S byte */
        bad[3] = with_header(a, jws, no_typ); /* header without typ */
        bad[4] = shorten(a, jws);             /* signature one byte short */
        for (size_t k = 0; k < OP_NELEMS(bad); k++) {
            OP_CHECK_INT(verify_set(set, bad[k], ALL_ALGS, a, &out, &err), OP_EDENIED);
            OP_CHECK_INT(verify_jwks(jwks, bad[k], ALL_ALGS, a, &out, &err), OP_EDENIED);
        }
    }
    /* RS256 signature relabelled PS256 (same key, same kid). */
    char *rs = sign(set, OP_JWS_RS256, NULL, a);
    char *ps = with_header(a, rs,
                           op_arena_printf(a, "{\"alg\":\"PS256\",\"kid\":\"%s\"}",
                                           op_keys_set_kid(set, OP_JWS_RS256)));
    OP_CHECK_INT(verify_set(set, ps, ALL_ALGS, a, &out, &err), OP_EDENIED);
    /* ES256 R || S out of range (RFC 7518 §3.4; both zero, both above the
     * group order): refused by our own keys' verifier as by cjose. */
    char *es = sign(set, OP_JWS_ES256, NULL, a);
    for (int fill = 0x00; fill <= 0xff; fill += 0xff) {
        uint8_t raw[64];
        memset(raw, fill, sizeof(raw));
        char *forged =
            join(a, part(a, es, 0), part(a, es, 1), op_b64url_encode_arena(a, raw, sizeof(raw)));
        OP_CHECK_INT(verify_set(set, forged, ALL_ALGS, a, &out, &err), OP_EDENIED);
        OP_CHECK_INT(verify_jwks(jwks, forged, ALL_ALGS, a, &out, &err), OP_EDENIED);
    }
    op_arena_free(a);
    op_keys_set_release(set);
}

static void test_duplicate_header_keys(void)
{
    op_keys_set_t *set = new_set();
    op_arena_t *a = arena();
    char *jws = sign(set, OP_JWS_ES256, NULL, a);
    const char *kid = op_keys_set_kid(set, OP_JWS_ES256);
    const char *hdrs[] = {
        "{\"alg\":\"ES256\",\"alg\":\"none\"}",
        "{\"alg\":\"none\",\"alg\":\"ES256\"}",
        "{\"alg\":\"ES256\",\"alg\":\"ES256\"}",
        op_arena_printf(a, "{\"alg\":\"ES256\",\"kid\":\"%s\",\"kid\":\"x\"}", kid),
    };
    op_jws_t out;
    op_err_t err;

    for (size_t i = 0; i < OP_NELEMS(hdrs); i++) {
        char *bad = with_header(a, jws, hdrs[i]);
        OP_CHECK_INT(parse(bad, ALL_ALGS, a, &err), OP_EINVAL);
        OP_CHECK_HAS(err.description, "header");
        OP_CHECK_INT(verify_set(set, bad, ALL_ALGS, a, &out, &err), OP_EINVAL);
    }
    /* Other non-strict headers. */
    const char *junk[] = {"[\"alg\",\"ES256\"]",           "{\"alg\":\"ES256\"}{}",
                          "{\"alg\":\"ES256\"}x",          "{\"alg\":\"ES256\",}",
                          "{/*c*/\"alg\":\"ES256\"}",      "",
                          "{\"alg\":\"ES256\",\"kid\":7}", "{\"alg\":\"ES256\",\"typ\":[]}"};
    for (size_t i = 0; i < OP_NELEMS(junk); i++) {
        char *bad = with_header(a, jws, junk[i]);
        OP_CHECK_INT(parse(bad, ALL_ALGS, a, &err), OP_EINVAL);
    }
    op_arena_free(a);
    op_keys_set_release(set);
}

static void test_bad_base64url(void)
{
    op_keys_set_t *set = new_set();
    op_arena_t *a = arena();
    char *jws = sign(set, OP_JWS_EDDSA, NULL, a);
    char *h = part(a, jws, 0), *p = part(a, jws, 1), *s = part(a, jws, 2);
    static const char alpha[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                "0123456789-_";
    op_err_t err;
    size_t idx;
    char *bad;

    OP_CHECK_INT(parse(jws, ALL_ALGS, a, &err), OP_OK);
    /* Standard base64 alphabet, padding, whitespace, bad characters. */
    bad = op_arena_printf(a, "%s.%s.%s=", h, p, s);
    OP_CHECK_INT(parse(bad, ALL_ALGS, a, &err), OP_EINVAL);
    bad = op_arena_printf(a, "%s.%s.%s", h, p, s);
    bad[strlen(h) + 1] = '+';
    OP_CHECK_INT(parse(bad, ALL_ALGS, a, &err), OP_EINVAL);
    bad = op_arena_printf(a, "%s .%s.%s", h, p, s);
    OP_CHECK_INT(parse(bad, ALL_ALGS, a, &err), OP_EINVAL);
    bad = op_arena_printf(a, "%s.%s.%s", h, p, s);
    bad[0] = '/';
    OP_CHECK_INT(parse(bad, ALL_ALGS, a, &err), OP_EINVAL);
    /* Non-canonical trailing bits: 64 bytes are 86 chars, the last one
     * carrying 2 unused bits; setting one of them must be refused. */
    idx = (size_t)(strchr(alpha, s[85]) - alpha);
    bad = op_arena_printf(a, "%s.%s.%.85s%c", h, p, s, alpha[idx + 1]);
    OP_CHECK_INT(parse(bad, ALL_ALGS, a, &err), OP_EINVAL);
    /* Parts: two, four, empty header, empty signature. */
    OP_CHECK_INT(parse(op_arena_printf(a, "%s.%s", h, p), ALL_ALGS, a, &err), OP_EINVAL);
    OP_CHECK_INT(parse(op_arena_printf(a, "%s.%s.%s.%s", h, p, s, s), ALL_ALGS, a, &err),
                 OP_EINVAL);
    OP_CHECK_INT(parse(op_arena_printf(a, ".%s.%s", p, s), ALL_ALGS, a, &err), OP_EINVAL);
    OP_CHECK_INT(parse(op_arena_printf(a, "%s.%s.", h, p), ALL_ALGS, a, &err), OP_EINVAL);
    OP_CHECK_INT(parse("", ALL_ALGS, a, &err), OP_EINVAL);
    OP_CHECK_INT(parse("..", ALL_ALGS, a, &err), OP_EINVAL);
    /* A NUL inside the token. */
    bad = op_arena_printf(a, "%s.%s.%s", h, p, s);
    bad[3] = '\0';
    OP_CHECK_INT(op_keys_jws_parse(bad, strlen(jws), ALL_ALGS, a, &(op_jws_t){0}, &err), OP_EINVAL);
    op_arena_free(a);
    op_keys_set_release(set);
}

static void test_oversize(void)
{
    op_keys_set_t *set = new_set();
    op_arena_t *a = arena();
    size_t n = OP_JWS_MAX_LEN / 4 * 3 - 400;
    char *big = op_arena_alloc(a, n + 1), *jws, *huge;
    op_jws_t out;
    op_err_t err;

    /* A payload that just fits signs and verifies. */
    memset(big, 'x', n);
    big[0] = '"';
    big[n - 1] = '"';
    big[n] = '\0';
    op_err_clear(&err);
    OP_CHECK_INT(op_keys_jws_sign(set, OP_JWS_ES256, NULL, big, n, a, &jws, &err), OP_OK);
    OP_CHECK(strlen(jws) <= OP_JWS_MAX_LEN);
    OP_CHECK_INT(verify_set(set, jws, ALL_ALGS, a, &out, &err), OP_OK);
    OP_CHECK_INT(out.payload_len, n);
    /* One byte over the cap is refused before anything else. */
    huge = op_arena_alloc(a, OP_JWS_MAX_LEN + 2);
    memset(huge, 'A', OP_JWS_MAX_LEN + 1);
    huge[OP_JWS_MAX_LEN + 1] = '\0';
    OP_CHECK_INT(parse(huge, ALL_ALGS, a, &err), OP_ETOOBIG);
    OP_CHECK_INT(verify_set(set, huge, ALL_ALGS, a, &out, &err), OP_ETOOBIG);
    /* A payload over the cap does not sign. */
    op_err_clear(&err);
    OP_CHECK_INT(op_keys_jws_sign(set, OP_JWS_ES256, NULL, huge, OP_JWS_MAX_LEN + 1, a, &jws, &err),
                 OP_ETOOBIG);
    op_arena_free(a);
    op_keys_set_release(set);
}

static void test_wrong_kid(void)
{
    op_keys_set_t *set = new_set(), *other = new_set();
    op_arena_t *a = arena();
    op_jws_t out;
    op_err_t err;

    for (size_t i = 0; i < OP_NELEMS(set_algs); i++) {
        char *jws = sign(set, set_algs[i], NULL, a);
        OP_CHECK_INT(verify_set(other, jws, ALL_ALGS, a, &out, &err), OP_EDENIED);
        OP_CHECK_HAS(err.description, "no key");
        OP_CHECK_INT(verify_jwks(op_keys_set_jwks(other, NULL), jws, ALL_ALGS, a, &out, &err),
                     OP_EDENIED);
    }
    op_arena_free(a);
    op_keys_set_release(other);
    op_keys_set_release(set);
}

static void test_crit(void)
{
    op_keys_set_t *set = new_set();
    op_arena_t *a = arena();
    char *jws = sign(set, OP_JWS_ES256, NULL, a);
    const char *hdrs[] = {"{\"alg\":\"ES256\",\"crit\":[\"exp\"],\"exp\":1}",
                          "{\"alg\":\"ES256\",\"crit\":[]}", "{\"alg\":\"ES256\",\"crit\":null}"};
    op_err_t err;

    for (size_t i = 0; i < OP_NELEMS(hdrs); i++) {
        char *bad = with_header(a, jws, hdrs[i]);
        OP_CHECK_INT(parse(bad, ALL_ALGS, a, &err), OP_EINVAL);
        OP_CHECK_HAS(err.description, "crit");
    }
    op_arena_free(a);
    op_keys_set_release(set);
}

/* ---- foreign keys ------------------------------------------------------- */

/* An EdDSA token signed here with a libsodium key pair, header as given. */
static char *ed_token(op_arena_t *a, const char *hdr, const uint8_t sk[64])
{
    char *input = op_arena_printf(a, "%s.%s", b64(a, hdr), b64(a, payload));
    uint8_t sig[64];

    crypto_sign_detached(sig, NULL, (const unsigned char *)input, strlen(input), sk);
    return op_arena_printf(a, "%s.%s", input, op_b64url_encode_arena(a, sig, 64));
}

static void test_foreign_okp(void)
{
    op_arena_t *a = arena();
    uint8_t pk[32], sk[64], pk2[32], sk2[64];
    char *x, *x2, *jws;
    op_jws_t out;
    op_err_t err;

    crypto_sign_keypair(pk, sk);
    crypto_sign_keypair(pk2, sk2);
    x = op_b64url_encode_arena(a, pk, 32);
    x2 = op_b64url_encode_arena(a, pk2, 32);
    jws = ed_token(a, "{\"alg\":\"EdDSA\"}", sk);
    /* No kid: the only usable key. */
    OP_CHECK_INT(verify_jwks(op_arena_printf(a,
                                             "{\"keys\":[{\"kty\":\"OKP\",\"crv\":\"Ed25519\","
                                             "\"x\":\"%s\"}]}",
                                             x),
                             jws, ALL_ALGS, a, &out, &err),
                 OP_OK);
    OP_CHECK(out.kid == NULL);
    /* Keys that do not fit are skipped: enc, key_ops, other alg / kty. */
    OP_CHECK_INT(verify_jwks(op_arena_printf(a,
                                             "{\"keys\":["
                                             "{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":\"%s\","
                                             "\"use\":\"enc\"},"
                                             "{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":\"%s\","
                                             "\"key_ops\":[\"sign\"]},"
                                             "{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":\"%s\","
                                             "\"alg\":\"ES256\"},"
                                             "{\"kty\":\"OKP\",\"crv\":\"X25519\",\"x\":\"%s\"},"
                                             "{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":\"%s\","
                                             "\"use\":\"sig\",\"alg\":\"EdDSA\","
                                             "\"key_ops\":[\"verify\"]}]}",
                                             x2, x2, x2, x2, x),
                             jws, ALL_ALGS, a, &out, &err),
                 OP_OK);
    /* Only keys that do not fit: nothing to verify with. */
    OP_CHECK_INT(verify_jwks(op_arena_printf(a,
                                             "{\"keys\":[{\"kty\":\"OKP\",\"crv\":\"Ed25519\","
                                             "\"x\":\"%s\",\"use\":\"enc\"}]}",
                                             x),
                             jws, ALL_ALGS, a, &out, &err),
                 OP_EDENIED);
    /* Two fitting keys and no kid: ambiguous. */
    OP_CHECK_INT(verify_jwks(op_arena_printf(a,
                                             "{\"keys\":[{\"kty\":\"OKP\",\"crv\":\"Ed25519\","
                                             "\"x\":\"%s\"},{\"kty\":\"OKP\",\"crv\":\"Ed25519\","
                                             "\"x\":\"%s\"}]}",
                                             x2, x),
                             jws, ALL_ALGS, a, &out, &err),
                 OP_EDENIED);
    OP_CHECK_HAS(err.description, "several");
    /* With a kid, it picks; the wrong key does not verify. */
    jws = ed_token(a, "{\"alg\":\"EdDSA\",\"kid\":\"k2\"}", sk);
    const char *two = op_arena_printf(a,
                                      "{\"keys\":[{\"kty\":\"OKP\",\"crv\":\"Ed25519\","
                                      "\"x\":\"%s\",\"kid\":\"k1\"},{\"kty\":\"OKP\","
                                      "\"crv\":\"Ed25519\",\"x\":\"%s\",\"kid\":\"k2\"}]}",
                                      x, x2);
    OP_CHECK_INT(verify_jwks(two, jws, ALL_ALGS, a, &out, &err), OP_EDENIED);
    OP_CHECK_HAS(err.description, "signature");
    jws = ed_token(a, "{\"alg\":\"EdDSA\",\"kid\":\"k1\"}", sk);
    OP_CHECK_INT(verify_jwks(two, jws, ALL_ALGS, a, &out, &err), OP_OK);
    OP_CHECK_STR(out.kid, "k1");
    op_arena_free(a);
}

/* A JWK set of one key: the members given, plus the kid. */
static const char *jwks1(op_arena_t *a, const char *kid, const char *members)
{
    return op_arena_printf(a, "{\"keys\":[{\"kid\":\"%s\",%s}]}", kid, members);
}

static void test_foreign_refused(void)
{
    op_keys_set_t *set = new_set();
    op_arena_t *a = arena();
    const op_keys_key_t *rsa = set->sign[OP_JWS_RS256], *ec = set->sign[OP_JWS_ES256];
    const op_keys_key_t *ed = set->sign[OP_JWS_EDDSA];
    char *rs = sign(set, OP_JWS_RS256, NULL, a), *es = sign(set, OP_JWS_ES256, NULL, a);
    char *eds = sign(set, OP_JWS_EDDSA, NULL, a);
    uint8_t n[128], y[32];
    size_t ylen;
    op_jws_t out;
    op_err_t err;

    /* A 1024-bit RSA modulus, and our EC point moved off the curve (y + 1). */
    memset(n, 0xc5, sizeof(n));
    OP_CHECK(op_b64url_decode(ec->pub.mem[1], strlen(ec->pub.mem[1]), y, &ylen));
    y[31] ^= 1;
    /* Each: a JWK set of one key (its kid and members) and a token to
     * verify with it; the result, and a part of the error description. */
    const struct {
        const char *kid, *members, *jws;
        int want;
        const char *why; /* NULL: no error */
    } keys[] = {
        /* RSA under 2048 bits. */
        {rsa->pub.kid,
         op_arena_printf(a, "\"kty\":\"RSA\",\"n\":\"%s\",\"e\":\"AQAB\"",
                         op_b64url_encode_arena(a, n, sizeof(n))),
         rs, OP_EDENIED, "1024 bits"},
        /* RSA with an even exponent, or none. */
        {rsa->pub.kid,
         op_arena_printf(a, "\"kty\":\"RSA\",\"n\":\"%s\",\"e\":\"AQAA\"", rsa->pub.mem[0]), rs,
         OP_EDENIED, "exponent"},
        {rsa->pub.kid, op_arena_printf(a, "\"kty\":\"RSA\",\"n\":\"%s\"", rsa->pub.mem[0]), rs,
         OP_EDENIED, "\"e\""},
        /* The genuine RSA key, accepted. */
        {rsa->pub.kid,
         op_arena_printf(a, "\"kty\":\"RSA\",\"n\":\"%s\",\"e\":\"AQAB\"", rsa->pub.mem[0]), rs,
         OP_OK, NULL},
        /* EC point off the curve, and a short coordinate. */
        {ec->pub.kid,
         op_arena_printf(a, "\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"%s\",\"y\":\"%s\"",
                         ec->pub.mem[0], op_b64url_encode_arena(a, y, 32)),
         es, OP_EDENIED, "not on P-256"},
        {ec->pub.kid,
         op_arena_printf(a, "\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"%s\",\"y\":\"AAAA\"",
                         ec->pub.mem[0]),
         es, OP_EDENIED, "32 bytes"},
        /* Another curve is not a candidate. */
        {ec->pub.kid,
         op_arena_printf(a, "\"kty\":\"EC\",\"crv\":\"P-384\",\"x\":\"%s\",\"y\":\"%s\"",
                         ec->pub.mem[0], ec->pub.mem[1]),
         es, OP_EDENIED, "no key"},
        /* OKP x of 31 bytes, and a small-order point. */
        {ed->pub.kid,
         "\"kty\":\"OKP\",\"crv\":\"Ed25519\","
         "\"x\":\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\"",
         eds, OP_EDENIED, "32 bytes"},
        {ed->pub.kid,
         "\"kty\":\"OKP\",\"crv\":\"Ed25519\","
         "\"x\":\"AQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\"",
         eds, OP_EDENIED, "not a valid Ed25519"},
    };
    for (size_t i = 0; i < OP_NELEMS(keys); i++) {
        int rc = verify_jwks(jwks1(a, keys[i].kid, keys[i].members), keys[i].jws, ALL_ALGS, a, &out,
                             &err);
        if (rc != keys[i].want)
            fprintf(stderr, "key %zu: %s\n", i, err.description);
        OP_CHECK_INT(rc, keys[i].want);
        if (keys[i].why != NULL)
            OP_CHECK_HAS(err.description, keys[i].why);
    }
    /* Not a JWK set, or one without a usable key. */
    const char *notsets[] = {"", "[]", "{}", "{\"keys\":{}}", "{\"keys\":[],\"keys\":[]}"};
    for (size_t i = 0; i < OP_NELEMS(notsets); i++)
        OP_CHECK_INT(verify_jwks(notsets[i], es, ALL_ALGS, a, &out, &err), OP_EINVAL);
    OP_CHECK_INT(verify_jwks("{\"keys\":[1,\"x\",null,[],{}]}", es, ALL_ALGS, a, &out, &err),
                 OP_EDENIED);
    op_arena_free(a);
    op_keys_set_release(set);
}

/* ---- HS256 and signing errors ------------------------------------------- */

static void test_hs256(void)
{
    static const char secret[] = "a-client-secret-of-43-characters-in-length";
    op_keys_set_t *set = new_set();
    op_arena_t *a = arena();
    op_jws_t out;
    op_err_t err;
    char *jws;

    op_err_clear(&err);
    OP_CHECK_INT(op_keys_jws_sign_hs256((const uint8_t *)secret, strlen(secret), "JWT", payload,
                                        strlen(payload), a, &jws, &err),
                 OP_OK);
    OP_CHECK_INT(op_keys_jws_verify_hs256(jws, strlen(jws), (const uint8_t *)secret, strlen(secret),
                                          a, &out, &err),
                 OP_OK);
    OP_CHECK_INT(out.alg, OP_JWS_HS256);
    OP_CHECK(out.kid == NULL);
    OP_CHECK_STR(out.typ, "JWT");
    OP_CHECK_STR(out.payload, payload);
    /* Another secret, a tampered token. */
    OP_CHECK_INT(op_keys_jws_verify_hs256(jws, strlen(jws),
                                          (const uint8_t *)"A-client-secret-of-43-"
                                                           "characters-in-length",
                                          strlen(secret), a, &out, &err),
                 OP_EDENIED);
    char *bad = flip(a, jws, 1, 3);
    OP_CHECK_INT(op_keys_jws_verify_hs256(bad, strlen(bad), (const uint8_t *)secret, strlen(secret),
                                          a, &out, &err),
                 OP_EDENIED);
    /* Short secrets are refused both ways (RFC 7518 §3.2). */
    OP_CHECK_INT(op_keys_jws_sign_hs256((const uint8_t *)"short", 5, NULL, payload, strlen(payload),
                                        a, &jws, &err),
                 OP_EINVAL);
    OP_CHECK_INT(
        op_keys_jws_verify_hs256(jws, strlen(jws), (const uint8_t *)"short", 5, a, &out, &err),
        OP_EINVAL);
    /* An asymmetric token is not HS256. */
    char *es = sign(set, OP_JWS_ES256, NULL, a);
    OP_CHECK_INT(op_keys_jws_verify_hs256(es, strlen(es), (const uint8_t *)secret, strlen(secret),
                                          a, &out, &err),
                 OP_EINVAL);
    op_arena_free(a);
    op_keys_set_release(set);
}

static void test_sign_errors(void)
{
    op_keys_set_t *set = new_set();
    op_arena_t *a = arena();
    const char *typs[] = {"",
                          "a\"b",
                          "a\\b",
                          "a b",
                          "\x01",
                          "\xc3\xa9",
                          "0123456789012345678901234567890123456789012345678901234567890123X"};
    op_err_t err;
    char *jws = NULL;

    for (size_t i = 0; i < OP_NELEMS(typs); i++)
        OP_CHECK_INT(
            op_keys_jws_sign(set, OP_JWS_ES256, typs[i], payload, strlen(payload), a, &jws, &err),
            OP_EINVAL);
    OP_CHECK_INT(
        op_keys_jws_sign(set, OP_JWS_ES256,
                         "0123456789012345678901234567890123456789012345678901234567890123",
                         payload, strlen(payload), a, &jws, &err),
        OP_OK);
    OP_CHECK_INT(op_keys_jws_sign(set, OP_JWS_HS256, NULL, payload, strlen(payload), a, &jws, &err),
                 OP_EINVAL);
    OP_CHECK_INT(op_keys_jws_sign(set, OP_JWS_NONE, NULL, payload, strlen(payload), a, &jws, &err),
                 OP_EINVAL);
    OP_CHECK_INT(
        op_keys_jws_sign(set, OP_JWS_ALG_MAX, NULL, payload, strlen(payload), a, &jws, &err),
        OP_EINVAL);
    OP_CHECK_INT(
        op_keys_jws_sign(NULL, OP_JWS_ES256, NULL, payload, strlen(payload), a, &jws, &err),
        OP_EINVAL);
    /* An empty payload is a valid JWS. */
    OP_CHECK_INT(op_keys_jws_sign(set, OP_JWS_EDDSA, NULL, "", 0, a, &jws, &err), OP_OK);
    op_jws_t out;
    OP_CHECK_INT(verify_set(set, jws, ALL_ALGS, a, &out, &err), OP_OK);
    OP_CHECK_INT(out.payload_len, 0);
    op_arena_free(a);
    op_keys_set_release(set);
}

/*
 * A JWS the set signed is remembered (its SHA-256), and comes back without
 * a signature check: every check before the signature still applies (the
 * allowed algs, RFC 8725 §3.1; the key by kid), another set remembers
 * nothing of it, a changed byte is another digest, and a forgotten one
 * takes the full check again.
 */
static void test_signed_remembered(void)
{
    op_keys_set_t *set = new_set(), *other = new_set();
    op_arena_t *a = arena();
    op_jws_t out;
    op_err_t err;

    for (size_t i = 0; i < OP_NELEMS(set_algs); i++) {
        op_jws_alg_t alg = set_algs[i];
        char *jws = sign(set, alg, "at+jwt", a);
        op_jws_alg_t not_alg = alg == OP_JWS_ES256 ? OP_JWS_RS256 : OP_JWS_ES256;

        OP_CHECK_INT(verify_set(set, jws, ALG(alg), a, &out, &err), OP_OK);
        OP_CHECK_STR(out.typ, "at+jwt");
        OP_CHECK_STR(out.payload, payload);
        OP_CHECK_INT(verify_set(set, jws, ALG(not_alg), a, &out, &err), OP_EINVAL);
        OP_CHECK_INT(verify_set(other, jws, ALL_ALGS, a, &out, &err), OP_EDENIED);
        OP_CHECK_INT(verify_set(set, flip(a, jws, 2, 5), ALL_ALGS, a, &out, &err), OP_EDENIED);
        memset(set->signed_md, 0, OP_KEYS_SIGNED_SLOTS * sizeof(*set->signed_md));
        OP_CHECK_INT(verify_set(set, jws, ALG(alg), a, &out, &err), OP_OK);
        OP_CHECK_STR(out.payload, payload);
    }
    op_arena_free(a);
    op_keys_set_release(other);
    op_keys_set_release(set);
}

static const op_test_case_t cases[] = {
    {"alg_names", test_alg_names},
    {"roundtrip_set", test_roundtrip_set},
    {"roundtrip_jwks", test_roundtrip_jwks},
    {"header_bytes", test_header_bytes},
    {"jwks_format", test_jwks_format},
    {"thumbprint_vectors", test_thumbprint_vectors},
    {"alg_not_allowed_first", test_alg_not_allowed_first},
    {"none_rejected", test_none_rejected},
    {"alg_confusion", test_alg_confusion},
    {"tampered", test_tampered},
    {"duplicate_header_keys", test_duplicate_header_keys},
    {"bad_base64url", test_bad_base64url},
    {"oversize", test_oversize},
    {"wrong_kid", test_wrong_kid},
    {"crit", test_crit},
    {"foreign_okp", test_foreign_okp},
    {"foreign_refused", test_foreign_refused},
    {"hs256", test_hs256},
    {"sign_errors", test_sign_errors},
    {"signed_remembered", test_signed_remembered},
};

OP_TEST_MAIN(cases)
