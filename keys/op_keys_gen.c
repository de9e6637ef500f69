/*
 * keys/op_keys_gen.c - the server's own keys: generation (OpenSSL EVP),
 * the public JWK and kid derived from the key pair, the signing state
 * precomputed once per key, and PKCS#8 DER for storage at rest.
 *
 * Signing state: for RSA and EC an EVP_PKEY_CTX on which EVP_PKEY_sign_init
 * and the padding / digest parameters are set once; OpenSSL 3.0 allows any
 * number of EVP_PKEY_sign calls after one init (the provider's sign
 * function keeps no per-call state), so the hot path only hashes and
 * signs. Ed25519 signs with libsodium from its 64-byte secret key, derived
 * here from the seed that OpenSSL holds.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <sodium.h>

#include "keys/op_keys_int.h"

/* Arena cleanup of a key: contexts, key pair, libsodium secret key. */
static void op_keys_gen_key_free(void *p)
{
    op_keys_key_t *key = p;

    for (size_t i = 0; i < OP_NELEMS(key->ctx); i++) {
        EVP_PKEY_CTX_free(key->ctx[i]);
        EVP_PKEY_CTX_free(key->vctx[i]);
    }
    EVP_PKEY_free(key->pkey);
    sodium_memzero(key->ed_sk, sizeof(key->ed_sk));
}

int op_keys_gen_pkey(op_keys_kty_t kty, int rsa_bits, EVP_PKEY **out, op_err_t *err)
{
    EVP_PKEY *pkey = NULL;

    switch (kty) {
    case OP_KEYS_KTY_RSA:
        pkey = EVP_RSA_gen((unsigned)rsa_bits);
        break;
    case OP_KEYS_KTY_EC:
        pkey = EVP_EC_gen("P-256");
        break;
    case OP_KEYS_KTY_OKP:
        pkey = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
        break;
    }
    if (pkey == NULL) {
        ERR_clear_error();
        return OP_ERR(err, OP_ERROR, "key generation failed");
    }
    *out = pkey;
    return OP_OK;
}

/*
 * A big-number parameter of pkey as base64url in a: unpadded, or
 * left-padded to pad bytes. NULL when absent, too big or on OOM.
 */
static char *op_keys_gen_bn(op_arena_t *a, const EVP_PKEY *pkey, const char *name, int pad)
{
    uint8_t buf[OP_KEYS_RSA_GEN_MAX_BITS / 8];
    BIGNUM *bn = NULL;
    char *s = NULL;
    int n;

    if (EVP_PKEY_get_bn_param(pkey, name, &bn) != 1)
        return NULL;
    n = pad != 0 ? pad : BN_num_bytes(bn);
    if (n > 0 && n <= (int)sizeof(buf) && BN_bn2binpad(bn, buf, n) == n)
        s = op_b64url_encode_arena(a, buf, (size_t)n);
    BN_free(bn);
    return s;
}

/*
 * A signing (or, with verify, a verification) context for pkey,
 * initialised once: SHA-256 as the signature digest, and for RSA the
 * padding (PSS: salt = digest length, MGF1 with SHA-256, as RFC 7518 §3.5
 * requires). padding 0 for EC. NULL on error.
 */
static EVP_PKEY_CTX *op_keys_gen_ctx(EVP_PKEY *pkey, int padding, bool verify)
{
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL);

    if (ctx == NULL)
        return NULL;
    if ((verify ? EVP_PKEY_verify_init(ctx) : EVP_PKEY_sign_init(ctx)) != 1)
        goto out_free_ctx;
    if (padding != 0 && EVP_PKEY_CTX_set_rsa_padding(ctx, padding) != 1)
        goto out_free_ctx;
    if (EVP_PKEY_CTX_set_signature_md(ctx, EVP_sha256()) != 1)
        goto out_free_ctx;
    if (padding == RSA_PKCS1_PSS_PADDING &&
        (EVP_PKEY_CTX_set_rsa_pss_saltlen(ctx, RSA_PSS_SALTLEN_DIGEST) != 1 ||
         EVP_PKEY_CTX_set_rsa_mgf1_md(ctx, EVP_sha256()) != 1))
        goto out_free_ctx;
    return ctx;
out_free_ctx:
    EVP_PKEY_CTX_free(ctx);
    return NULL;
}

/* RSA: published once without "alg", signs RS256 and PS256. */
static int op_keys_gen_rsa(op_keys_key_t *key, op_arena_t *a, op_err_t *err)
{
    const char *n = op_keys_gen_bn(a, key->pkey, OSSL_PKEY_PARAM_RSA_N, 0);
    const char *e = op_keys_gen_bn(a, key->pkey, OSSL_PKEY_PARAM_RSA_E, 0);
    int rc;

    if (n == NULL || e == NULL)
        return OP_ERR(err, OP_EINVAL, "RSA key unreadable or over %d bits",
                      OP_KEYS_RSA_GEN_MAX_BITS);
    rc = op_keys_jwk_pub_init(&key->pub, OP_KEYS_KTY_RSA, n, e, a, err);
    if (rc != OP_OK)
        return rc;
    for (int v = 0; v < 2; v++) {
        EVP_PKEY_CTX **c = v ? key->vctx : key->ctx;
        c[0] = op_keys_gen_ctx(key->pkey, RSA_PKCS1_PADDING, v);
        c[1] = op_keys_gen_ctx(key->pkey, RSA_PKCS1_PSS_PADDING, v);
    }
    if (key->ctx[0] == NULL || key->ctx[1] == NULL || key->vctx[0] == NULL || key->vctx[1] == NULL)
        return OP_ERR(err, OP_ERROR, "cannot prepare RSA signing");
    return OP_OK;
}

static int op_keys_gen_ec(op_keys_key_t *key, op_arena_t *a, op_err_t *err)
{
    char group[32];
    const char *x, *y;
    int rc;

    if (EVP_PKEY_get_utf8_string_param(key->pkey, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group),
                                       NULL) != 1 ||
        strcmp(group, SN_X9_62_prime256v1) != 0)
        return OP_ERR(err, OP_EINVAL, "EC key is not on P-256");
    x = op_keys_gen_bn(a, key->pkey, OSSL_PKEY_PARAM_EC_PUB_X, 32);
    y = op_keys_gen_bn(a, key->pkey, OSSL_PKEY_PARAM_EC_PUB_Y, 32);
    if (x == NULL || y == NULL)
        return OP_ERR(err, OP_EINVAL, "EC public key unreadable");
    rc = op_keys_jwk_pub_init(&key->pub, OP_KEYS_KTY_EC, x, y, a, err);
    if (rc != OP_OK)
        return rc;
    key->pub.alg = OP_JWS_ES256;
    key->ctx[0] = op_keys_gen_ctx(key->pkey, 0, false);
    key->vctx[0] = op_keys_gen_ctx(key->pkey, 0, true);
    if (key->ctx[0] == NULL || key->vctx[0] == NULL)
        return OP_ERR(err, OP_ERROR, "cannot prepare ECDSA signing");
    return OP_OK;
}

static int op_keys_gen_ed25519(op_keys_key_t *key, op_arena_t *a, op_err_t *err)
{
    uint8_t seed[32], pk[32];
    size_t len = sizeof(seed);
    const char *x;
    int rc;

    if (EVP_PKEY_get_raw_private_key(key->pkey, seed, &len) != 1 || len != sizeof(seed))
        return OP_ERR(err, OP_EINVAL, "Ed25519 private key unreadable");
    crypto_sign_seed_keypair(pk, key->ed_sk, seed);
    sodium_memzero(seed, sizeof(seed));
    x = op_b64url_encode_arena(a, pk, sizeof(pk));
    if (x == NULL)
        return OP_ERR(err, OP_ETOOBIG, "the key is too large for the set's arena");
    rc = op_keys_jwk_pub_init(&key->pub, OP_KEYS_KTY_OKP, x, NULL, a, err);
    if (rc != OP_OK)
        return rc;
    key->pub.alg = OP_JWS_EDDSA;
    return OP_OK;
}

int op_keys_gen_add(op_keys_set_t *set, EVP_PKEY *pkey, int64_t created, op_keys_key_t **out,
                    op_err_t *err)
{
    op_arena_t *a = set->arena;
    op_keys_key_t *key = NULL;
    int rc;

    if (set->nkeys >= OP_KEYS_MAX_KEYS) {
        EVP_PKEY_free(pkey);
        return OP_ERR(err, OP_ETOOBIG, "more than %d keys in a set", OP_KEYS_MAX_KEYS);
    }
    key = op_arena_calloc(a, 1, sizeof(*key));
    if (key == NULL || op_arena_cleanup_add(a, op_keys_gen_key_free, key) != OP_OK) {
        EVP_PKEY_free(pkey);
        return OP_ERR(err, OP_ETOOBIG, "the key is too large for the set's arena");
    }
    key->pkey = pkey; /* freed with the set from here on */
    key->created = created;
    switch (EVP_PKEY_get_base_id(pkey)) {
    case EVP_PKEY_RSA:
        rc = op_keys_gen_rsa(key, a, err);
        break;
    case EVP_PKEY_EC:
        rc = op_keys_gen_ec(key, a, err);
        break;
    case EVP_PKEY_ED25519:
        rc = op_keys_gen_ed25519(key, a, err);
        break;
    default:
        rc = OP_ERR(err, OP_EINVAL, "unsupported private key type");
    }
    ERR_clear_error();
    if (rc != OP_OK)
        return rc;
    key->pub.kid = op_keys_jwk_thumbprint(&key->pub, a);
    if (key->pub.kid == NULL)
        return OP_ERR(err, OP_ETOOBIG, "the key is too large for the set's arena");
    set->keys[set->nkeys++] = key;
    if (out != NULL)
        *out = key;
    return OP_OK;
}

int op_keys_gen_set(int rsa_bits, int64_t now, op_keys_set_t **out, op_err_t *err)
{
    static const op_keys_kty_t types[] = {OP_KEYS_KTY_RSA, OP_KEYS_KTY_EC, OP_KEYS_KTY_OKP};
    op_keys_set_t *set;
    EVP_PKEY *pkey;
    int rc;

    if (rsa_bits < OP_KEYS_RSA_MIN_BITS || rsa_bits > OP_KEYS_RSA_GEN_MAX_BITS)
        return OP_ERR(err, OP_EINVAL, "RSA key size %d outside %d..%d", rsa_bits,
                      OP_KEYS_RSA_MIN_BITS, OP_KEYS_RSA_GEN_MAX_BITS);
    set = op_keys_set_new(1, now);
    for (size_t i = 0; i < OP_NELEMS(types); i++) {
        rc = op_keys_gen_pkey(types[i], rsa_bits, &pkey, err);
        if (rc != OP_OK)
            goto out_release_set;
        rc = op_keys_gen_add(set, pkey, now, NULL, err);
        if (rc != OP_OK)
            goto out_release_set;
    }
    rc = op_keys_set_seal(set, err);
    if (rc != OP_OK)
        goto out_release_set;
    *out = set;
    return OP_OK;
out_release_set:
    op_keys_set_release(set);
    return rc;
}

/* DER into a buffer of our own malloc, so op_keys_crypto_free frees it. */
int op_keys_gen_pkcs8_export(const op_keys_key_t *key, uint8_t **der, size_t *len, op_err_t *err)
{
    PKCS8_PRIV_KEY_INFO *p8 = EVP_PKEY2PKCS8(key->pkey);
    uint8_t *buf = NULL, *p;
    int n = 0, rc = OP_ERROR;

    if (p8 == NULL)
        goto out;
    n = i2d_PKCS8_PRIV_KEY_INFO(p8, NULL);
    if (n <= 0)
        goto out_free_p8;
    buf = op_malloc((size_t)n);
    p = buf;
    if (i2d_PKCS8_PRIV_KEY_INFO(p8, &p) != n) {
        op_keys_crypto_free(buf, (size_t)n);
        goto out_free_p8;
    }
    *der = buf;
    *len = (size_t)n;
    rc = OP_OK;
out_free_p8:
    PKCS8_PRIV_KEY_INFO_free(p8); /* cleanses the key octets */
out:
    ERR_clear_error();
    if (rc != OP_OK)
        return OP_ERR(err, rc, "cannot encode a private key");
    return OP_OK;
}

int op_keys_gen_pkcs8_import(const uint8_t *der, size_t len, EVP_PKEY **out, op_err_t *err)
{
    const unsigned char *p = der;
    PKCS8_PRIV_KEY_INFO *p8;
    EVP_PKEY *pkey = NULL;

    p8 = d2i_PKCS8_PRIV_KEY_INFO(NULL, &p, (long)len);
    if (p8 != NULL && p == der + len)
        pkey = EVP_PKCS82PKEY(p8);
    PKCS8_PRIV_KEY_INFO_free(p8);
    ERR_clear_error();
    if (pkey == NULL)
        return OP_ERR(err, OP_EINVAL, "not a PKCS#8 private key");
    *out = pkey;
    return OP_OK;
}
