/*
 * keys/op_keys_crypto.c - the small crypto helpers of keys/op_keys.h
 * (random bytes and tokens, SHA-256, constant-time comparison, log tags),
 * subkey derivation (HKDF-SHA-256) and sealing (XChaCha20-Poly1305-IETF),
 * used for private keys at rest and the sealed ids of session records.
 *
 * These run on every request (token hashes, sealed ids, log tags, codes
 * and tokens), so what OpenSSL 3.0 does per call matters:
 *
 * - SHA-2 is OpenSSL's (its SHA-256 uses the CPU's SHA extensions, where
 *   libsodium 1.0.18 has portable C only), on methods fetched once and
 *   one context per algorithm that every call re-initialises: no fetch
 *   and no EVP_MD_CTX per call. OpenSSL 3.0 still frees and re-creates
 *   the provider's small digest state at each EVP_DigestInit_ex2
 *   (evp_md_init_internal frees ctx->algctx unconditionally); 3.0 has no
 *   way around that one allocation short of the deprecated SHA256_Init.
 * - HMAC-SHA-256 (RFC 2104) and HKDF (RFC 5869) are written out on that
 *   digest: OpenSSL's HMAC() and EVP_KDF fetch and build contexts per
 *   call, and libsodium 1.0.18 has no HKDF (crypto_kdf_hkdf_* came in
 *   1.0.19) while its crypto_kdf_derive_from_key wants a 32-byte master
 *   key and an 8-byte context, and our inputs and labels are longer.
 * - Random bytes come from OpenSSL's private DRBG, drawn 1 KiB at a time
 *   into a pool that serves the small requests. Not per call: in 3.0
 *   each RAND_priv_bytes costs a getpid(2) (its fork check,
 *   openssl_get_fork_id) and a rekey of the CTR-DRBG, more than the
 *   getrandom(2) it would replace.
 * - libsodium keeps what it is the tool for: the AEAD, the constant-time
 *   comparison and wiping.
 *
 * The cached state (the digest contexts and the pool) belongs to the
 * thread that used it first (the event loop: a server process has one
 * thread, and the workers are processes). Any other thread gets a context
 * of its own per digest and the DRBG directly, so every function is
 * thread-safe. The reuse assumes that two calls never overlap on the
 * owning thread: nothing here calls back out, and a signal handler must
 * not call these functions (OpenSSL allocates: they are not
 * async-signal-safe). Every digest starts from EVP_DigestInit_ex2 and
 * every failure aborts, so no call can leave a half-used context to the
 * next. The contexts and methods live as long as the process (the module
 * has no teardown); they stay reachable, so leak checkers do not count
 * them.
 *
 * Fork: OpenSSL 3 reseeds its DRBGs in a forked child by itself (the fork
 * check above); the pool, which OpenSSL does not know about, is wiped in
 * the child by a pthread_atfork handler, so two workers never hand out the
 * same bytes. Only fork(3) runs that handler: a child made by a raw
 * clone(2) must not draw random bytes before exec.
 *
 * The first use fetches from OpenSSL, so it must come after
 * op_keys_global_init (OpenSSL takes its allocators only before its first
 * allocation).
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <sodium.h>

#include "keys/op_keys_int.h"

#define OP_KEYS_CRYPTO_NONCE crypto_aead_xchacha20poly1305_ietf_NPUBBYTES
#define OP_KEYS_CRYPTO_TAG   crypto_aead_xchacha20poly1305_ietf_ABYTES

/* Stored ciphertexts are private keys: a few KiB. Bound what we decode. */
#define OP_KEYS_CRYPTO_MAX_CT (64 * 1024)

/* The random pool: one DRBG call serves about 30 tokens of 32 bytes.
 * Larger requests go to the DRBG directly. */
#define OP_KEYS_CRYPTO_POOL     1024
#define OP_KEYS_CRYPTO_POOL_MAX (OP_KEYS_CRYPTO_POOL / 4)

#define OP_KEYS_CRYPTO_BLOCK 64 /* SHA-256's block, HMAC's pad length */

/* One SHA-2 algorithm: its method and the owning thread's context. */
typedef struct op_keys_crypto_md {
    const char *name;
    EVP_MD *md;
    EVP_MD_CTX *ctx;
} op_keys_crypto_md_t;

static struct {
    pthread_t owner; /* the thread that may use ctx and pool */
    op_keys_crypto_md_t sha256, sha512;
    size_t pool_left; /* unread bytes at the start of pool */
    uint8_t pool[OP_KEYS_CRYPTO_POOL];
} op_keys_crypto_st = {.sha256 = {.name = "SHA256"}, .sha512 = {.name = "SHA512"}};

static pthread_once_t op_keys_crypto_once = PTHREAD_ONCE_INIT;

/* A failure of OpenSSL's SHA-2 or DRBG: the default provider is missing or
 * broken, which no caller can work around and no result may hide (a wrong
 * hash or predictable bytes). Log it, with OpenSSL's reason, and abort, as
 * a failed allocation does (core/base/op_mem.h). */
static _Noreturn void op_keys_crypto_fatal(const char *what)
{
    char reason[256];

    ERR_error_string_n(ERR_peek_last_error(), reason, sizeof(reason));
    op_log_error(NULL, "keys: %s failed (%s): aborting", what, reason);
    abort();
}

/* In a forked child: the parent's pool must not be served twice, and the
 * child's only thread (the one that forked) owns the cached state. */
static void op_keys_crypto_forked(void)
{
    sodium_memzero(op_keys_crypto_st.pool, sizeof(op_keys_crypto_st.pool));
    op_keys_crypto_st.pool_left = 0;
    op_keys_crypto_st.owner = pthread_self();
}

static void op_keys_crypto_md_setup(op_keys_crypto_md_t *m)
{
    m->md = EVP_MD_fetch(NULL, m->name, NULL);
    m->ctx = EVP_MD_CTX_new();
    if (m->md == NULL || m->ctx == NULL)
        op_keys_crypto_fatal(m->name);
}

/* Once per process, at the first use. */
static void op_keys_crypto_setup(void)
{
    op_keys_crypto_md_setup(&op_keys_crypto_st.sha256);
    op_keys_crypto_md_setup(&op_keys_crypto_st.sha512);
    op_keys_crypto_st.owner = pthread_self();
    if (pthread_atfork(NULL, NULL, op_keys_crypto_forked) != 0)
        op_keys_crypto_fatal("pthread_atfork");
}

/* Whether the calling thread may use the cached contexts and the pool. */
static bool op_keys_crypto_mine(void)
{
    pthread_once(&op_keys_crypto_once, op_keys_crypto_setup);
    return pthread_equal(op_keys_crypto_st.owner, pthread_self()) != 0;
}

/* ---- random ------------------------------------------------------------- */

/* n bytes from OpenSSL's private DRBG, the one meant for secrets. The
 * pool serves public values too (nonces): the DRBG's output does not
 * reveal its state, and one source keeps the hot path on the pool. */
static void op_keys_crypto_drbg(void *buf, size_t n)
{
    uint8_t *p = buf;

    while (n > 0) {
        int chunk = n < (1 << 20) ? (int)n : 1 << 20;

        if (RAND_priv_bytes(p, chunk) != 1)
            op_keys_crypto_fatal("the random generator");
        p += chunk;
        n -= (size_t)chunk;
    }
}

/* From the pool when the caller owns it; what is served is wiped there. */
void op_keys_crypto_rand_bytes(void *buf, size_t n)
{
    uint8_t *src;

    if (n == 0)
        return;
    if (n > OP_KEYS_CRYPTO_POOL_MAX || !op_keys_crypto_mine()) {
        op_keys_crypto_drbg(buf, n);
        return;
    }
    if (op_keys_crypto_st.pool_left < n) {
        op_keys_crypto_drbg(op_keys_crypto_st.pool, sizeof(op_keys_crypto_st.pool));
        op_keys_crypto_st.pool_left = sizeof(op_keys_crypto_st.pool);
    }
    op_keys_crypto_st.pool_left -= n;
    src = op_keys_crypto_st.pool + op_keys_crypto_st.pool_left;
    memcpy(buf, src, n);
    sodium_memzero(src, n);
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
    op_keys_crypto_rand_bytes(raw, n);
    tok = op_b64url_encode_arena(a, raw, n);
    sodium_memzero(raw, n);
    return tok;
}

/* ---- hashes ------------------------------------------------------------- */

/* The digest of the pieces d[0..k) concatenated, into out (the digest's
 * size). After it the context holds the final chaining value, which is
 * out itself: nothing the caller does not have. */
static void op_keys_crypto_digest(op_keys_crypto_md_t *m, const void *const *d, const size_t *n,
                                  size_t k, uint8_t *out)
{
    EVP_MD_CTX *ctx = op_keys_crypto_mine() ? m->ctx : EVP_MD_CTX_new();
    bool ok = ctx != NULL && EVP_DigestInit_ex2(ctx, m->md, NULL) == 1;

    for (size_t i = 0; ok && i < k; i++)
        ok = EVP_DigestUpdate(ctx, d[i], n[i]) == 1;
    ok = ok && EVP_DigestFinal_ex(ctx, out, NULL) == 1;
    if (ctx != m->ctx)
        EVP_MD_CTX_free(ctx);
    if (!ok)
        op_keys_crypto_fatal(m->name);
}

void op_keys_crypto_sha256(const void *data, size_t n, uint8_t out[32])
{
    op_keys_crypto_digest(&op_keys_crypto_st.sha256, &data, &n, 1, out);
}

void op_keys_crypto_sha512(const void *data, size_t n, uint8_t out[64])
{
    op_keys_crypto_digest(&op_keys_crypto_st.sha512, &data, &n, 1, out);
}

/*
 * HMAC-SHA-256 (RFC 2104) of the data pieces d[0..k) (k <= 2):
 * H((K ^ opad) || H((K ^ ipad) || data)), K the key padded with zeros to
 * the block, or its hash when it is longer than the block (RFC 2104 §2).
 * The padded keys, the key's hash and the inner hash are wiped.
 */
static void op_keys_crypto_hmac(const void *key, size_t key_len, const void *const *d,
                                const size_t *n, size_t k, uint8_t out[32])
{
    uint8_t pad[OP_KEYS_CRYPTO_BLOCK], kh[32], inner[32];
    const uint8_t *kb = key;
    const void *p[3] = {pad};
    size_t pn[3] = {sizeof(pad)};

    if (key_len > sizeof(pad)) {
        op_keys_crypto_sha256(key, key_len, kh);
        kb = kh;
        key_len = sizeof(kh);
    }
    memset(pad, 0x36, sizeof(pad));
    for (size_t i = 0; i < key_len; i++)
        pad[i] ^= kb[i];
    if (k > 2)
        abort(); /* a bug in this file: two pieces at most */
    for (size_t i = 0; i < k; i++) {
        p[i + 1] = d[i];
        pn[i + 1] = n[i];
    }
    op_keys_crypto_digest(&op_keys_crypto_st.sha256, p, pn, k + 1, inner);
    for (size_t i = 0; i < sizeof(pad); i++)
        pad[i] ^= 0x36 ^ 0x5c;
    p[1] = inner;
    pn[1] = sizeof(inner);
    op_keys_crypto_digest(&op_keys_crypto_st.sha256, p, pn, 2, out);
    sodium_memzero(pad, sizeof(pad));
    sodium_memzero(kh, sizeof(kh));
    sodium_memzero(inner, sizeof(inner));
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
 * hash length. Four digests on the cached context (the zero salt's padded
 * keys are not kept as prepared states: copying an EVP_MD_CTX in 3.0
 * allocates as much as initialising one). The PRK is wiped.
 */
void op_keys_crypto_kdf(const void *ikm, size_t ikm_len, const char *info,
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
    op_keys_crypto_rand_bytes(npub, sizeof(npub));
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
