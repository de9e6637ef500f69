/*
 * tests/unit/keys/test_op_keys_crypto.c - keys/op_keys_crypto.c: random bytes
 * and tokens (the pool across refills, forks and threads), SHA-256 and
 * SHA-512 (FIPS 180-4 examples), HMAC-SHA-256 (RFC 4231), constant-time
 * compare, log tags of secrets, HKDF subkeys (RFC 5869), at-rest sealing
 * of private keys (XChaCha20-Poly1305 with the kid as associated data).
 */
#include <pthread.h>

#include "keys/op_keys_int.h"
#include "tests/unit/op_test.h"

static op_arena_t *arena(void)
{
    op_arena_t *a = op_arena_new(1 << 20);

    OP_CHECK(a != NULL);
    OP_CHECK_INT(op_keys_global_init(), OP_OK);
    return a;
}

/* md[0..n) is the lowercase hex string want. */
static void check_hex(const uint8_t *md, size_t n, const char *want)
{
    char hex[2 * 64 + 1];

    OP_CHECK(n <= 64);
    op_hex_encode(md, n, hex);
    OP_CHECK_STR(hex, want);
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

/* A hundred 32-byte draws span several refills of the pool: no two are
 * the same. Odd sizes and sizes past what the pool serves (those go to
 * the DRBG directly) are filled too. */
static void test_rand_pool(void)
{
    static uint8_t d[100][32], big[4096];
    size_t zeros = 0;

    for (size_t i = 0; i < 100; i++)
        op_keys_crypto_rand_bytes(d[i], sizeof(d[i]));
    for (size_t i = 0; i < 100; i++)
        for (size_t j = i + 1; j < 100; j++)
            OP_CHECK(memcmp(d[i], d[j], sizeof(d[i])) != 0);
    for (size_t n = 1; n <= 300; n += 13) {
        uint8_t x[300] = {0}, y[300] = {0};
        op_keys_crypto_rand_bytes(x, n);
        op_keys_crypto_rand_bytes(y, n);
        OP_CHECK(memcmp(x, y, n) != 0 || n == 1);
        for (size_t i = n; i < sizeof(x); i++)
            OP_CHECK(x[i] == 0); /* nothing past n */
    }
    op_keys_crypto_rand_bytes(big, sizeof(big));
    for (size_t i = 0; i < sizeof(big); i++)
        zeros += big[i] == 0;
    OP_CHECK(zeros < 64); /* about 16 expected */
}

/* A forked child must not serve the bytes its parent's pool still holds:
 * with the pool filled before fork, the child's next draw and the
 * parent's next draw differ. */
static void test_rand_fork(void)
{
    uint8_t warm[32], mine[32], theirs[32];
    int fd[2], st = 0;
    pid_t pid;

    op_keys_crypto_rand_bytes(warm, sizeof(warm));
    OP_CHECK(pipe(fd) == 0);
    fflush(NULL);
    pid = fork();
    OP_CHECK(pid >= 0);
    if (pid == 0) {
        op_keys_crypto_rand_bytes(theirs, sizeof(theirs));
        _exit(write(fd[1], theirs, sizeof(theirs)) == (ssize_t)sizeof(theirs) ? 0 : 1);
    }
    op_keys_crypto_rand_bytes(mine, sizeof(mine));
    OP_CHECK(read(fd[0], theirs, sizeof(theirs)) == (ssize_t)sizeof(theirs));
    OP_CHECK(waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0);
    OP_CHECK(memcmp(mine, theirs, sizeof(mine)) != 0);
    memset(warm, 0, sizeof(warm));
    OP_CHECK(memcmp(warm, theirs, sizeof(warm)) != 0); /* not a wiped pool */
    close(fd[0]);
    close(fd[1]);
}

/* What one thread computes in test_threads. */
typedef struct {
    uint8_t sha[32], mac[32], sub[32], rnd[32];
    bool ok;
} crypto_run_t;

static void crypto_run(crypto_run_t *r, size_t rounds)
{
    static const char input[] = "tessera: the same input on two threads at once";
    uint8_t sha[32], mac[32], sub[32];

    op_keys_crypto_sha256(input, strlen(input), r->sha);
    op_keys_crypto_hmac_sha256(input, 10, input, strlen(input), r->mac);
    op_keys_crypto_kdf(input, strlen(input), OP_KDF_INFO_SUB_SID, r->sub);
    r->ok = true;
    for (size_t i = 0; i < rounds && r->ok; i++) {
        op_keys_crypto_sha256(input, strlen(input), sha);
        op_keys_crypto_hmac_sha256(input, 10, input, strlen(input), mac);
        op_keys_crypto_kdf(input, strlen(input), OP_KDF_INFO_SUB_SID, sub);
        op_keys_crypto_rand_bytes(r->rnd, sizeof(r->rnd));
        r->ok = memcmp(sha, r->sha, 32) == 0 && memcmp(mac, r->mac, 32) == 0 &&
                memcmp(sub, r->sub, 32) == 0;
    }
}

static void *crypto_thread(void *arg)
{
    crypto_run(arg, 2000);
    return NULL;
}

/* The thread that used these functions first owns their cached state;
 * another thread, at the same time, gets the same results on state of
 * its own, and random bytes of its own. */
static void test_threads(void)
{
    crypto_run_t main_run, other;
    pthread_t t;

    crypto_run(&main_run, 1);
    OP_CHECK(main_run.ok);
    OP_CHECK(pthread_create(&t, NULL, crypto_thread, &other) == 0);
    crypto_run(&main_run, 2000);
    OP_CHECK(pthread_join(t, NULL) == 0);
    OP_CHECK(main_run.ok && other.ok);
    OP_CHECK(memcmp(main_run.sha, other.sha, 32) == 0);
    OP_CHECK(memcmp(main_run.mac, other.mac, 32) == 0);
    OP_CHECK(memcmp(main_run.sub, other.sub, 32) == 0);
    OP_CHECK(memcmp(main_run.rnd, other.rnd, 32) != 0);
}

static void test_sha256(void)
{
    uint8_t md[32];
    char hex[65];

    /* FIPS 180-4 examples (NIST CSRC "SHA256.pdf"): one block, "abc"; two
     * blocks, the 448-bit message; and one million 'a'. */
    op_keys_crypto_sha256_hex("abc", 3, hex);
    OP_CHECK_STR(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    op_keys_crypto_sha256_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", 56, hex);
    OP_CHECK_STR(hex, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    char *million = malloc(1000000);
    OP_CHECK(million != NULL);
    memset(million, 'a', 1000000);
    op_keys_crypto_sha256(million, 1000000, md);
    check_hex(md, sizeof(md), "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
    free(million);
    op_keys_crypto_sha256_hex("", 0, hex);
    OP_CHECK_STR(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    op_keys_crypto_sha256("abc", 3, md);
    OP_CHECK_INT(md[0], 0xba);
    OP_CHECK_INT(md[31], 0xad);
    /* Lengths around 256 bytes (where short inputs once took another
     * implementation) and 1000 bytes 0x00, 0x01, ... 0xe7 (mod 256)
     * (`openssl dgst -sha256`). */
    char a[257];
    memset(a, 'a', sizeof(a));
    op_keys_crypto_sha256_hex(a, 256, hex);
    OP_CHECK_STR(hex, "02d7160d77e18c6447be80c2e355c7ed4388545271702c50253b0914c65ce5fe");
    op_keys_crypto_sha256_hex(a, 257, hex);
    OP_CHECK_STR(hex, "e8d95cc2b4bc198c54b40bd214df958afb65f5e73d2c2eafe0593cf5c635c1f0");
    uint8_t pattern[1000];
    for (size_t i = 0; i < sizeof(pattern); i++)
        pattern[i] = (uint8_t)i;
    op_keys_crypto_sha256_hex(pattern, sizeof(pattern), hex);
    OP_CHECK_STR(hex, "a8af099bf2e878609558dbf69d8f88f4a31040a8cf84b549a0cfa912f12ffc3f");
}

/* FIPS 180-4 examples (NIST CSRC "SHA512.pdf"): "abc" and the 896-bit
 * two-block message; and the empty string. */
static void test_sha512(void)
{
    static const char msg896[] = "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmn"
                                 "hijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu";
    uint8_t md[64];

    op_keys_crypto_sha512("abc", 3, md);
    check_hex(md, sizeof(md),
              "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a"
              "2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f");
    OP_CHECK_INT(strlen(msg896), 112);
    op_keys_crypto_sha512(msg896, strlen(msg896), md);
    check_hex(md, sizeof(md),
              "8e959b75dae313da8cf4f72814fc143f8f7779c6eb9f7fa17299aeadb6889018"
              "501d289e4900f7e4331b99dec4b5433ac7d329eeb6dd26545e96e55b874be909");
    op_keys_crypto_sha512("", 0, md);
    check_hex(md, sizeof(md),
              "cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce"
              "47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e");
}

/* HMAC-SHA-256, the test cases of RFC 4231 §4.2 to §4.8: short keys, a
 * key of 25 bytes, data longer than a block, a truncated MAC (§4.6: the
 * first 128 bits), and keys of 131 bytes, longer than the block, which
 * are hashed first (§4.7, §4.8). */
static void test_hmac(void)
{
    uint8_t key[131], data[50], md[32];

    memset(key, 0x0b, 20);
    op_keys_crypto_hmac_sha256(key, 20, "Hi There", 8, md);
    check_hex(md, sizeof(md), "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
    op_keys_crypto_hmac_sha256("Jefe", 4, "what do ya want for nothing?", 28, md);
    check_hex(md, sizeof(md), "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    memset(key, 0xaa, 20);
    memset(data, 0xdd, sizeof(data));
    op_keys_crypto_hmac_sha256(key, 20, data, sizeof(data), md);
    check_hex(md, sizeof(md), "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe");
    for (size_t i = 0; i < 25; i++)
        key[i] = (uint8_t)(i + 1);
    memset(data, 0xcd, sizeof(data));
    op_keys_crypto_hmac_sha256(key, 25, data, sizeof(data), md);
    check_hex(md, sizeof(md), "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b");
    memset(key, 0x0c, 20);
    op_keys_crypto_hmac_sha256(key, 20, "Test With Truncation", 20, md);
    check_hex(md, 16, "a3b6167473100ee06e0c796c2955552b");
    memset(key, 0xaa, sizeof(key));
    op_keys_crypto_hmac_sha256(key, sizeof(key),
                               "Test Using Larger Than Block-Size Key - Hash Key First", 54, md);
    check_hex(md, sizeof(md), "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
    static const char msg7[] = "This is a test using a larger than block-size key and a larger "
                               "than block-size data. The key needs to be hashed before being "
                               "used by the HMAC algorithm.";
    op_keys_crypto_hmac_sha256(key, sizeof(key), msg7, strlen(msg7), md);
    check_hex(md, sizeof(md), "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2");
    /* A key of exactly one block is used as it is, not hashed first. */
    uint8_t kh[32], md2[32];
    memset(key, 0x01, 64);
    op_keys_crypto_hmac_sha256(key, 64, "x", 1, md);
    op_keys_crypto_sha256(key, 64, kh);
    op_keys_crypto_hmac_sha256(kh, sizeof(kh), "x", 1, md2);
    OP_CHECK(memcmp(md, md2, sizeof(md)) != 0);
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
 * bytes of its OKM); with an info, no salt and 32 bytes of OKM, values of
 * `openssl kdf -keylen 32 -kdfopt digest:SHA256 -kdfopt hexkey:... -kdfopt
 * info:... HKDF` (A.1's IKM and info; a session id and its label; an IKM
 * and an info longer than a block); then the property that matters here:
 * one input key, one subkey per label, none equal to the input.
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
    op_keys_crypto_kdf(ikm, sizeof(ikm), "", out);
    OP_CHECK(memcmp(out, okm, sizeof(okm)) == 0);
    op_keys_crypto_kdf(ikm, sizeof(ikm), "\xf0\xf1\xf2\xf3\xf4\xf5\xf6\xf7\xf8\xf9", out);
    check_hex(out, sizeof(out), "abbafb13f5c1bc489d4203135817956dd521b39e3bd61d1cc85cef884d1f8e2e");
    static const char sid[] = "ZGVtby1jbGllbnQ.3q2-7wAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
    op_keys_crypto_kdf(sid, strlen(sid), OP_KDF_INFO_SUB_SID, out);
    check_hex(out, sizeof(out), "22c53eb1c8774170ec14671cf9204d7f0b8ff340865faf609d66dd61b245b64b");
    uint8_t long_ikm[80];
    for (size_t i = 0; i < sizeof(long_ikm); i++)
        long_ikm[i] = (uint8_t)(i + 1);
    op_keys_crypto_kdf(long_ikm, sizeof(long_ikm),
                       "tessera test label, longer than one SHA-256 block of 64 "
                       "bytes: xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
                       out);
    check_hex(out, sizeof(out), "d296c2d3960ff1401657c753cbb67a5ff0e3a9296e4a5c291a84c89257f4626a");
    for (size_t i = 0; i < sizeof(k); i++)
        k[i] = (uint8_t)(i + 1);
    op_keys_crypto_kdf(k, sizeof(k), OP_KDF_INFO_JWK, jwk);
    op_hex_encode(jwk, sizeof(jwk), hex);
    OP_CHECK_STR(hex, "26ace7f41d4c7063ffbe7f5cfe49a6a0dd8fee4eaafc53310d1b8978f91349ca");
    op_keys_crypto_kdf(k, sizeof(k), OP_KDF_INFO_SUB_SID, sub);
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
    {"rand", test_rand},       {"rand_pool", test_rand_pool}, {"rand_fork", test_rand_fork},
    {"threads", test_threads}, {"sha256", test_sha256},       {"sha512", test_sha512},
    {"hmac", test_hmac},       {"ct_equal", test_ct_equal},   {"secret_tag", test_secret_tag},
    {"kdf", test_kdf},         {"seal_open", test_seal_open}, {"open_refuses", test_open_refuses},
};

OP_TEST_MAIN(cases)
