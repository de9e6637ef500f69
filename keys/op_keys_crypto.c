/*
 * keys/op_keys_crypto.c - the small crypto helpers of keys/op_keys.h
 * (random bytes and tokens, SHA-256, constant-time comparison, log tags),
 * subkey derivation (HKDF-SHA-256) and sealing (XChaCha20-Poly1305-IETF),
 * used for private keys at rest and the sealed ids of session records.
 *
 * HKDF comes from OpenSSL 3 (EVP_KDF "HKDF") rather than libsodium: the
 * libsodium of Debian 12 (1.0.18) has no HKDF (crypto_kdf_hkdf_* came in
 * 1.0.19), and its crypto_kdf_derive_from_key wants a uniformly random
 * 32-byte master key and an 8-byte context, while some of our inputs are
 * session ids of another length and our labels are longer. HKDF takes any
 * input key material and any label, and is the standard (RFC 5869).
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/kdf.h>
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

/* The one-shot SHA256() is the fastest path in OpenSSL 3.0 (no provider
 * fetch per call) and is not deprecated, unlike SHA256_Init. */
void op_keys_crypto_sha256(const void *data, size_t n, uint8_t out[32])
{
    SHA256(data, n, out);
}

void op_keys_crypto_sha512(const void *data, size_t n, uint8_t out[64])
{
    SHA512(data, n, out);
}

void op_keys_crypto_hmac_sha256(const void *key, size_t key_len, const void *data, size_t n,
                                uint8_t out[32])
{
    unsigned int len = 32;

    HMAC(EVP_sha256(), key, (int)key_len, data, n, out, &len);
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
 * The HKDF method is fetched per call: OpenSSL 3 keeps fetched methods in
 * its store, so a fetch is a lookup, and nothing of ours outlives the call
 * (no global to free at exit). OSSL_PARAM has non-const pointers because
 * it serves reads and writes; a derive only reads these.
 */
int op_keys_crypto_kdf(const void *ikm, size_t ikm_len, const char *info,
                       uint8_t out[OP_SUBKEY_LEN])
{
    EVP_KDF *kdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
    EVP_KDF_CTX *ctx = kdf != NULL ? EVP_KDF_CTX_new(kdf) : NULL;
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, (char *)(uintptr_t) "SHA256", 0),
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, (void *)(uintptr_t)ikm, ikm_len),
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, (void *)(uintptr_t)info,
                                          strlen(info)),
        OSSL_PARAM_construct_end(),
    };
    int rc = ctx != NULL && EVP_KDF_derive(ctx, out, OP_SUBKEY_LEN, params) == 1 ? OP_OK : OP_ERROR;

    EVP_KDF_CTX_free(ctx);
    EVP_KDF_free(kdf);
    if (rc != OP_OK) {
        ERR_clear_error();
        sodium_memzero(out, OP_SUBKEY_LEN);
    }
    return rc;
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
        return OP_ERR(err, OP_ENOMEM, "out of memory sealing a key");
    randombytes_buf(npub, sizeof(npub));
    crypto_aead_xchacha20poly1305_ietf_encrypt(c, &clen, pt, n, (const uint8_t *)ad, strlen(ad),
                                               NULL, npub, key);
    *nonce = op_b64url_encode_arena(a, npub, sizeof(npub));
    *ct = op_b64url_encode_arena(a, c, (size_t)clen);
    if (*nonce == NULL || *ct == NULL)
        return OP_ERR(err, OP_ENOMEM, "out of memory sealing a key");
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
    c = malloc(ct_len * 3 / 4 + 1);
    if (c == NULL)
        return OP_ENOMEM;
    if (!op_b64url_decode(ct, ct_len, c, &clen) || clen < OP_KEYS_CRYPTO_TAG)
        goto out_free_c;
    m = malloc(clen - OP_KEYS_CRYPTO_TAG + 1);
    if (m == NULL) {
        rc = OP_ENOMEM;
        goto out_free_c;
    }
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
