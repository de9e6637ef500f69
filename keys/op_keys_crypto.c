/*
 * keys/op_keys_crypto.c - the small crypto helpers of keys/op_keys.h
 * (random bytes and tokens, SHA-256, constant-time comparison, log tags),
 * subkey derivation (HKDF-SHA-256) and sealing (XChaCha20-Poly1305-IETF),
 * used for private keys at rest and the sealed ids of session records.
 *
 * These run on every request (sealed ids, token hashes, log tags), so they
 * avoid OpenSSL 3's per-call method fetch and context allocation where
 * libsodium has the same function with its state on the stack. HKDF is
 * written out from HMAC-SHA-256 (RFC 5869): the libsodium of Debian 12
 * (1.0.18) has no HKDF (crypto_kdf_hkdf_* came in 1.0.19), and its
 * crypto_kdf_derive_from_key wants a uniformly random 32-byte master key
 * and an 8-byte context, while some of our inputs are session ids of
 * another length and our labels are longer.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/sha.h>
#include <sodium.h>

#include "keys/op_keys_int.h"

#define OP_KEYS_CRYPTO_NONCE crypto_aead_xchacha20poly1305_ietf_NPUBBYTES
#define OP_KEYS_CRYPTO_TAG   crypto_aead_xchacha20poly1305_ietf_ABYTES

/* Stored ciphertexts are private keys: a few KiB. Bound what we decode. */
#define OP_KEYS_CRYPTO_MAX_CT (64 * 1024)

void op_keys_crypto_rand_bytes(void *buf, size_t n)
{
    randombytes_buf(buf, n);
}

/*
 * n random bytes, base64url-encoded into a. The raw bytes are wiped; the
 * token itself is the caller's secret.
 */
char *op_keys_crypto_rand_token(op_arena_t *a, size_t n)
{
    uint8_t *raw = op_arena_alloc(a, n);
    char *tok;

    if (raw == NULL)
        return NULL;
    randombytes_buf(raw, n);
    tok = op_b64url_encode_arena(a, raw, n);
    sodium_memzero(raw, n);
    return tok;
}

/* Below this many bytes libsodium's SHA-256 (plain C, state on the
 * stack) is the faster: OpenSSL 3's one-shot SHA256() fetches the method
 * and allocates a context per call (about 1 us), which its faster
 * compression function wins back only on longer inputs (JWS signing
 * input, records). Both are the same function (FIPS 180-4). */
#define OP_KEYS_CRYPTO_SHORT 256

void op_keys_crypto_sha256(const void *data, size_t n, uint8_t out[32])
{
    if (n <= OP_KEYS_CRYPTO_SHORT)
        crypto_hash_sha256(out, data, n);
    else
        SHA256(data, n, out);
}

void op_keys_crypto_sha512(const void *data, size_t n, uint8_t out[64])
{
    SHA512(data, n, out);
}

/* HMAC-SHA-256 (RFC 2104) of the data pieces d[0..k) with libsodium: its
 * state lives on the stack, where OpenSSL 3's HMAC() fetches and allocates
 * per call. Any key length (a long key is hashed first, as RFC 2104 says). */
static void op_keys_crypto_hmac(const void *key, size_t key_len, const void *const *d,
                                const size_t *n, size_t k, uint8_t out[32])
{
    crypto_auth_hmacsha256_state st;

    crypto_auth_hmacsha256_init(&st, key, key_len);
    for (size_t i = 0; i < k; i++)
        crypto_auth_hmacsha256_update(&st, d[i], n[i]);
    crypto_auth_hmacsha256_final(&st, out);
    sodium_memzero(&st, sizeof(st));
}

void op_keys_crypto_hmac_sha256(const void *key, size_t key_len, const void *data, size_t n,
                                uint8_t out[32])
{
    op_keys_crypto_hmac(key, key_len, &data, &n, 1, out);
}

void op_keys_crypto_sha256_hex(const void *data, size_t n, char out[65])
{
    uint8_t md[32];

    op_keys_crypto_sha256(data, n, md);
    op_hex_encode(md, sizeof(md), out);
}

/* Lengths are not secret; the contents are compared in constant time. */
bool op_keys_crypto_ct_equal(const void *a, size_t alen, const void *b, size_t blen)
{
    if (alen != blen)
        return false;
    return sodium_memcmp(a, b, alen) == 0;
}

void op_keys_crypto_secret_tag(const void *secret, size_t n, char out[OP_SECRET_TAG_LEN + 1])
{
    uint8_t md[32];

    op_keys_crypto_sha256(secret, n, md);
    op_hex_encode(md, OP_SECRET_TAG_LEN / 2, out);
}

/* ---- key derivation ------------------------------------------------------ */

/*
 * HKDF-SHA-256 (RFC 5869) for one block of output: PRK = HMAC(salt, IKM)
 * with the default salt (HashLen zero bytes, §2.2), then T(1) = HMAC(PRK,
 * info || 0x01) (§2.3), which is the whole OKM since OP_SUBKEY_LEN is the
 * hash length. Two HMACs on the stack, where OpenSSL's EVP_KDF fetches the
 * method and builds a context per call (4.5 us). The PRK is wiped.
 */
int op_keys_crypto_kdf(const void *ikm, size_t ikm_len, const char *info,
                       uint8_t out[OP_SUBKEY_LEN])
{
    static const uint8_t salt[32], one = 0x01;
    uint8_t prk[32];
    const void *d[2] = {info, &one};
    size_t n[2] = {strlen(info), 1};

    _Static_assert(OP_SUBKEY_LEN == 32, "op_keys_crypto_kdf writes one HKDF-SHA-256 block");
    op_keys_crypto_hmac_sha256(salt, sizeof(salt), ikm, ikm_len, prk);
    op_keys_crypto_hmac(prk, sizeof(prk), d, n, 2, out);
    sodium_memzero(prk, sizeof(prk));
    return OP_OK;
}

/* ---- at-rest encryption ------------------------------------------------- */

int op_keys_crypto_seal(const uint8_t key[OP_SUBKEY_LEN], const char *ad, const uint8_t *pt,
                        size_t n, op_arena_t *a, char **nonce, char **ct, op_err_t *err)
{
    uint8_t npub[OP_KEYS_CRYPTO_NONCE];
    unsigned long long clen = 0;
    uint8_t *c;

    if (n > OP_KEYS_CRYPTO_MAX_CT - OP_KEYS_CRYPTO_TAG)
        return OP_ERR(err, OP_ETOOBIG, "private key too large to store");
    c = op_arena_alloc(a, n + OP_KEYS_CRYPTO_TAG);
    if (c == NULL)
        return OP_ERR(err, OP_ETOOBIG, "the sealed key is too large for the record's arena");
    randombytes_buf(npub, sizeof(npub));
    crypto_aead_xchacha20poly1305_ietf_encrypt(c, &clen, pt, n, (const uint8_t *)ad, strlen(ad),
                                               NULL, npub, key);
    *nonce = op_b64url_encode_arena(a, npub, sizeof(npub));
    *ct = op_b64url_encode_arena(a, c, (size_t)clen);
    if (*nonce == NULL || *ct == NULL)
        return OP_ERR(err, OP_ETOOBIG, "the sealed key is too large for the record's arena");
    return OP_OK;
}

/*
 * Decode strictly, then decrypt into a malloc'd buffer that the caller
 * wipes and frees. The ciphertext copy is not secret (it is stored as is).
 */
int op_keys_crypto_open(const uint8_t key[OP_SUBKEY_LEN], const char *ad, const char *nonce,
                        size_t nonce_len, const char *ct, size_t ct_len, uint8_t **pt,
                        size_t *pt_len)
{
    uint8_t npub[OP_KEYS_CRYPTO_NONCE + 3];
    unsigned long long mlen = 0;
    size_t nlen = 0, clen = 0;
    uint8_t *c = NULL, *m = NULL;
    int rc = OP_EINVAL;

    if (nonce_len != op_b64url_encoded_len(OP_KEYS_CRYPTO_NONCE) ||
        !op_b64url_decode(nonce, nonce_len, npub, &nlen) || nlen != OP_KEYS_CRYPTO_NONCE ||
        ct_len > op_b64url_encoded_len(OP_KEYS_CRYPTO_MAX_CT))
        return OP_EINVAL;
    c = op_malloc(ct_len * 3 / 4 + 1);
    if (!op_b64url_decode(ct, ct_len, c, &clen) || clen < OP_KEYS_CRYPTO_TAG)
        goto out_free_c;
    m = op_malloc(clen - OP_KEYS_CRYPTO_TAG + 1);
    if (crypto_aead_xchacha20poly1305_ietf_decrypt(m, &mlen, NULL, c, clen, (const uint8_t *)ad,
                                                   strlen(ad), npub, key) != 0) {
        rc = OP_EDENIED;
        op_keys_crypto_free(m, clen - OP_KEYS_CRYPTO_TAG + 1);
        goto out_free_c;
    }
    *pt = m;
    *pt_len = (size_t)mlen;
    rc = OP_OK;
out_free_c:
    free(c);
    return rc;
}

void op_keys_crypto_free(void *p, size_t n)
{
    if (p == NULL)
        return;
    sodium_memzero(p, n);
    free(p);
}
