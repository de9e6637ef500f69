/*
 * tests/unit/keys/test_op_keys_crypto.c - keys/op_keys_crypto.c: random bytes
 * and tokens, SHA-256, constant-time compare, log tags of secrets, HKDF
 * subkeys (RFC 5869), at-rest sealing of private keys (XChaCha20-Poly1305
 * with the kid as associated data).
 */
#include "keys/op_keys_int.h"
#include "tests/unit/op_test.h"

static op_arena_t *arena(void)
{
    op_arena_t *a = op_arena_new(1 << 20);

    OP_CHECK(a != NULL);
    OP_CHECK_INT(op_keys_global_init(), OP_OK);
    return a;
}

static void test_rand(void)
{
    uint8_t x[32], y[32], zero[32] = {0};
    op_arena_t *a = arena();
    char *t1, *t2;

    op_keys_crypto_rand_bytes(x, sizeof(x));
    op_keys_crypto_rand_bytes(y, sizeof(y));
    OP_CHECK(memcmp(x, y, sizeof(x)) != 0);
    OP_CHECK(memcmp(x, zero, sizeof(x)) != 0);
    op_keys_crypto_rand_bytes(x, 0); /* no-op */

    t1 = op_keys_crypto_rand_token(a, 32);
    t2 = op_keys_crypto_rand_token(a, 32);
    OP_CHECK(t1 != NULL && t2 != NULL);
    OP_CHECK_INT(strlen(t1), 43);
    OP_CHECK(strcmp(t1, t2) != 0);
    for (const char *p = t1; *p; p++)
        OP_CHECK(strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                        "0123456789-_",
                        *p) != NULL);
    OP_CHECK_STR(op_keys_crypto_rand_token(a, 0), "");
    op_arena_free(a);
}

static void test_sha256(void)
{
    uint8_t md[32];
    char hex[65];

    op_keys_crypto_sha256_hex("abc", 3, hex);
    OP_CHECK_STR(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    op_keys_crypto_sha256_hex("", 0, hex);
    OP_CHECK_STR(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    op_keys_crypto_sha256("abc", 3, md);
    OP_CHECK_INT(md[0], 0xba);
    OP_CHECK_INT(md[31], 0xad);
    /* Both sides of the short-input threshold (256 bytes) give SHA-256. */
    char a[257];
    memset(a, 'a', sizeof(a));
    op_keys_crypto_sha256_hex(a, 256, hex);
    OP_CHECK_STR(hex, "02d7160d77e18c6447be80c2e355c7ed4388545271702c50253b0914c65ce5fe");
    op_keys_crypto_sha256_hex(a, 257, hex);
    OP_CHECK_STR(hex, "e8d95cc2b4bc198c54b40bd214df958afb65f5e73d2c2eafe0593cf5c635c1f0");
    /* HMAC-SHA-256, RFC 4231 §4.3 (test case 2) and §4.7 (test case 6: a
     * key longer than the block, hashed first). */
    uint8_t key[131];
    memset(key, 0xaa, sizeof(key));
    op_keys_crypto_hmac_sha256("Jefe", 4, "what do ya want for nothing?", 28, md);
    op_hex_encode(md, sizeof(md), hex);
    OP_CHECK_STR(hex, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    op_keys_crypto_hmac_sha256(key, sizeof(key),
                               "Test Using Larger Than Block-Size Key - Hash Key First", 54, md);
    op_hex_encode(md, sizeof(md), hex);
    OP_CHECK_STR(hex, "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
}

static void test_ct_equal(void)
{
    OP_CHECK(op_keys_crypto_ct_equal("secret", 6, "secret", 6));
    OP_CHECK(!op_keys_crypto_ct_equal("secret", 6, "secreT", 6));
    OP_CHECK(!op_keys_crypto_ct_equal("Secret", 6, "secret", 6));
    OP_CHECK(!op_keys_crypto_ct_equal("secret", 6, "secret!", 7));
    OP_CHECK(!op_keys_crypto_ct_equal("secret", 6, "secre", 5));
    OP_CHECK(op_keys_crypto_ct_equal("", 0, "", 0));
    OP_CHECK(!op_keys_crypto_ct_equal("", 0, "x", 1));
}

/* A tag is a short hash prefix: stable, the prefix of the sha256hex store
 * key of the same value, never the value. */
static void test_secret_tag(void)
{
    char tag[OP_SECRET_TAG_LEN + 1], hex[65];
    const char *sid = "ZGVtby1jbGllbnQ.3q2-7wAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";

    op_keys_crypto_secret_tag("abc", 3, tag);
    OP_CHECK_STR(tag, "ba7816bf");
    op_keys_crypto_secret_tag(sid, strlen(sid), tag);
    op_keys_crypto_sha256_hex(sid, strlen(sid), hex);
    OP_CHECK_INT(strlen(tag), OP_SECRET_TAG_LEN);
    OP_CHECK(strncmp(tag, hex, OP_SECRET_TAG_LEN) == 0);
    OP_CHECK(strstr(sid, tag) == NULL);
}

/*
 * HKDF-SHA-256: RFC 5869 Appendix A.3 (no salt, no info; the first 32
 * bytes of its OKM), then the property that matters here: one input key,
 * one subkey per label, none equal to the input.
 */
static void test_kdf(void)
{
    static const uint8_t okm[32] = {0x8d, 0xa4, 0xe7, 0x75, 0xa5, 0x63, 0xc1, 0x8f,
                                    0x71, 0x5f, 0x80, 0x2a, 0x06, 0x3c, 0x5a, 0x31,
                                    0xb8, 0xa1, 0x1f, 0x5c, 0x5e, 0xe1, 0x87, 0x9e,
                                    0xc3, 0x45, 0x4e, 0x5f, 0x3c, 0x73, 0x8d, 0x2d};
    uint8_t ikm[22], out[OP_SUBKEY_LEN], jwk[OP_SUBKEY_LEN], sub[OP_SUBKEY_LEN];
    char hex[2 * OP_SUBKEY_LEN + 1];
    uint8_t k[32];

    OP_CHECK_INT(op_keys_global_init(), OP_OK);
    memset(ikm, 0x0b, sizeof(ikm));
    OP_CHECK_INT(op_keys_crypto_kdf(ikm, sizeof(ikm), "", out), OP_OK);
    OP_CHECK(memcmp(out, okm, sizeof(okm)) == 0);
    for (size_t i = 0; i < sizeof(k); i++)
        k[i] = (uint8_t)(i + 1);
    OP_CHECK_INT(op_keys_crypto_kdf(k, sizeof(k), OP_KDF_INFO_JWK, jwk), OP_OK);
    op_hex_encode(jwk, sizeof(jwk), hex);
    OP_CHECK_STR(hex, "26ace7f41d4c7063ffbe7f5cfe49a6a0dd8fee4eaafc53310d1b8978f91349ca");
    OP_CHECK_INT(op_keys_crypto_kdf(k, sizeof(k), OP_KDF_INFO_SUB_SID, sub), OP_OK);
    OP_CHECK(memcmp(jwk, sub, sizeof(sub)) != 0);
    OP_CHECK(memcmp(jwk, k, sizeof(k)) != 0 && memcmp(sub, k, sizeof(k)) != 0);
    OP_CHECK(strcmp(OP_KDF_INFO_JWK, OP_KDF_INFO_SUB_SID) != 0);
}

static const uint8_t key1[32] = {1,  2,  3,  4,  5,  6,  7,  8,  9,  10, 11, 12, 13, 14, 15, 16,
                                 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32};

/* Seal a message; open it with the right key and ad. */
static void seal(op_arena_t *a, const char *ad, char **nonce, char **ct)
{
    static const char msg[] = "private key bytes";
    op_err_t err;

    op_err_clear(&err);
    OP_CHECK_INT(
        op_keys_crypto_seal(key1, ad, (const uint8_t *)msg, sizeof(msg), a, nonce, ct, &err),
        OP_OK);
    OP_CHECK_INT(strlen(*nonce), 32); /* 24 bytes */
}

static int open_it(const uint8_t *key, const char *ad, const char *nonce, const char *ct)
{
    uint8_t *pt = NULL;
    size_t n = 0;
    int rc = op_keys_crypto_open(key, ad, nonce, strlen(nonce), ct, strlen(ct), &pt, &n);

    if (rc == OP_OK) {
        OP_CHECK_INT(n, sizeof("private key bytes"));
        OP_CHECK_STR((const char *)pt, "private key bytes");
        op_keys_crypto_free(pt, n);
    }
    return rc;
}

static void test_seal_open(void)
{
    op_arena_t *a = arena();
    char *nonce, *ct, *nonce2, *ct2;

    seal(a, "kid-1", &nonce, &ct);
    OP_CHECK_INT(open_it(key1, "kid-1", nonce, ct), OP_OK);
    /* Random nonces: the same plaintext seals differently. */
    seal(a, "kid-1", &nonce2, &ct2);
    OP_CHECK(strcmp(nonce, nonce2) != 0 && strcmp(ct, ct2) != 0);
    OP_CHECK_INT(open_it(key1, "kid-1", nonce2, ct2), OP_OK);
    op_keys_crypto_free(NULL, 0);
    op_arena_free(a);
}

static void test_open_refuses(void)
{
    op_arena_t *a = arena();
    char *nonce, *ct, *bad;
    uint8_t key2[32];

    seal(a, "kid-1", &nonce, &ct);
    memcpy(key2, key1, sizeof(key2));
    key2[31] ^= 1;
    /* Wrong key, wrong associated data (a ciphertext moved to another kid). */
    OP_CHECK_INT(open_it(key2, "kid-1", nonce, ct), OP_EDENIED);
    OP_CHECK_INT(open_it(key1, "kid-2", nonce, ct), OP_EDENIED);
    /* Tampered ciphertext and nonce. */
    bad = op_arena_strdup(a, ct);
    bad[3] = bad[3] == 'A' ? 'B' : 'A';
    OP_CHECK_INT(open_it(key1, "kid-1", nonce, bad), OP_EDENIED);
    bad = op_arena_strdup(a, nonce);
    bad[0] = bad[0] == 'A' ? 'B' : 'A';
    OP_CHECK_INT(open_it(key1, "kid-1", bad, ct), OP_EDENIED);
    /* Malformed: short nonce, bad base64url, ciphertext shorter than a tag. */
    OP_CHECK_INT(open_it(key1, "kid-1", "AAAA", ct), OP_EINVAL);
    bad = op_arena_strdup(a, ct);
    bad[0] = '*';
    OP_CHECK_INT(open_it(key1, "kid-1", nonce, bad), OP_EINVAL);
    OP_CHECK_INT(open_it(key1, "kid-1", nonce, "AAAA"), OP_EINVAL);
    OP_CHECK_INT(open_it(key1, "kid-1", nonce, ""), OP_EINVAL);
    op_arena_free(a);
}

static const op_test_case_t cases[] = {
    {"rand", test_rand},
    {"sha256", test_sha256},
    {"ct_equal", test_ct_equal},
    {"secret_tag", test_secret_tag},
    {"kdf", test_kdf},
    {"seal_open", test_seal_open},
    {"open_refuses", test_open_refuses},
};

OP_TEST_MAIN(cases)
