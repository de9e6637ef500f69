/*
 * keys/op_keys_int.h - private to keys/ (and its tests and benchmark): the
 * key, set and key store structures and the helpers the module's files
 * share. Nothing outside keys/, tests/ and the bench includes this file.
 *
 * Who does what:
 *   op_keys.c         key store lifecycle: open, generate, store, refresh,
 *                     close; refcounted sets; the stored record
 *   op_keys_gen.c     key generation and the server's own keys (EVP_PKEY,
 *                     precomputed signing contexts, PKCS#8 at rest)
 *   op_keys_jwk.c     public JWKs: validation and import of foreign keys,
 *                     RFC 7638 thumbprints, export, key selection
 *   op_keys_jws.c     JWS sign, parse, verify
 *   op_keys_crypto.c  random, SHA-256, constant-time compare, log tags,
 *                     HKDF, at-rest AEAD
 *   op_keys_mem.c     cjose's and OpenSSL's allocators under the out-of-memory
 *                     policy (core/base/op_mem.h)
 *
 * Third-party types are named through forward declarations (OpenSSL) or
 * void * (cjose) so this header includes none of their headers.
 */
#ifndef OP_KEYS_INT_H
#define OP_KEYS_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "keys/op_keys.h"

struct evp_pkey_st;     /* EVP_PKEY */
struct evp_pkey_ctx_st; /* EVP_PKEY_CTX */

#define OP_KEYS_NS      "keys" /* store namespace and key of the record */
#define OP_KEYS_REC_KEY "op"

#define OP_KEYS_ENC_KEY_LEN      32 /* keyStore.encJWK: op_keys_crypto_kdf input */
#define OP_KEYS_MAX_KEYS         16 /* keys in one set */
#define OP_KEYS_RSA_MIN_BITS     2048
#define OP_KEYS_RSA_MAX_BITS     8192 /* foreign verification keys */
#define OP_KEYS_RSA_GEN_MAX_BITS 4096 /* keys we generate */
#define OP_KEYS_MAX_SIG          (OP_KEYS_RSA_MAX_BITS / 8)
/* Slots of a set's table of the JWSs it signed (a power of two). */
#define OP_KEYS_SIGNED_SLOTS 2048

typedef enum {
    OP_KEYS_KTY_RSA = 0,
    OP_KEYS_KTY_EC, /* P-256 only */
    OP_KEYS_KTY_OKP /* Ed25519 only */
} op_keys_kty_t;

/*
 * A public verification key: one of the server's own, or imported from a
 * foreign JWK. Everything it points to lives in the arena it was built in
 * (the cjose handle is released by an arena cleanup).
 */
typedef struct op_keys_pub {
    op_keys_kty_t kty;
    op_jws_alg_t alg;   /* the JWK's "alg"; OP_JWS_NONE: any alg of kty */
    const char *kid;    /* NULL when a foreign JWK has none */
    const char *mem[2]; /* base64url members: RSA n, e; EC x, y; OKP x */
    const char *canon;  /* RFC 7638 canonical JSON of the members */
    size_t sig_len;     /* exact signature length: modulus bytes or 64 */
    void *cjose;        /* cjose_jwk_t * (RSA, EC), for verification */
    uint8_t ed_pk[32];  /* OKP */
} op_keys_pub_t;

/* One of the server's own keys: public part, then what signs. */
typedef struct op_keys_key {
    op_keys_pub_t pub;
    int64_t created; /* epoch seconds */
    struct evp_pkey_st *pkey;
    /* Signing contexts initialised once (EVP_PKEY_sign_init + params):
     * RSA [0] PKCS#1 v1.5, [1] PSS; EC [0]; none for Ed25519. vctx: the
     * same for verification (our own tokens, op_jws_verify_set). */
    struct evp_pkey_ctx_st *ctx[2];
    struct evp_pkey_ctx_st *vctx[2];
    uint8_t ed_sk[64]; /* libsodium secret key (seed || pk), Ed25519 */
} op_keys_key_t;

/*
 * An immutable snapshot of the key set, refcounted. Lives in its arena.
 * Its identity is the stored record it came from (or was stored as):
 * rec holds those bytes, digest their SHA-256. Two sets are the same only
 * when their records are; "version" is the record's counter, which two
 * sets generated apart can share.
 */
struct op_keys_set {
    int refs;
    op_arena_t *arena;
    int64_t version; /* the stored record's counter */
    int64_t created;
    const char *rec; /* the record, byte for byte */
    size_t rec_len;
    uint8_t digest[32];                    /* SHA-256 of rec */
    char tag[OP_SECRET_TAG_LEN + 1];       /* its first hex digits, for logs */
    op_keys_key_t *keys[OP_KEYS_MAX_KEYS]; /* record order */
    size_t nkeys;
    const op_keys_key_t *sign[OP_JWS_ALG_MAX]; /* signing key per alg */
    const char *jwks;                          /* public JWK set JSON */
    size_t jwks_len;
    /* SHA-256 of the compact JWSs this set signed lately, one per slot (by
     * the digest's first bytes; a newer one takes the slot): a JWS of ours
     * coming back (an access token at UserInfo) whose digest is here is
     * exactly what we signed, so its signature needs no check. In the
     * set's arena; writable through a const set (it is not its meaning). */
    uint8_t (*signed_md)[32];
};

/* The key store of one process. */
struct op_keys {
    op_loop_t *loop;
    op_store_t *store;
    uint8_t enc_key[OP_KEYS_ENC_KEY_LEN]; /* keyStore.encJWK: format 1 records */
    uint8_t jwk_key[OP_SUBKEY_LEN];       /* op_keys_crypto_kdf(enc_key, OP_KDF_INFO_JWK) */
    uint64_t refresh_ms;
    int rsa_bits;
    op_keys_set_t *current;
    op_timer_t *timer; /* refresh; NULL when refresh_ms == 0 */
    op_keys_open_cb open_cb;
    void *open_arg;
    op_keys_set_t *pending; /* generated, waiting for its create-only put */
    int attempts;           /* generations tried while opening */
    bool refreshing;        /* a refresh round is in flight */
    bool restoring;         /* ... and wrote the set again: the record was lost */
    bool closed;            /* closed while refreshing: free on return */
    bool warned;            /* the current refresh failure was logged */
    uint64_t refreshes;     /* refresh rounds completed (tests) */
    op_err_t err;
};

/* ---- op_keys.c: sets ---------------------------------------------------- */

/* New empty set with one reference, in its own arena. Does not fail. */
op_keys_set_t *op_keys_set_new(int64_t version, int64_t created);

/* After the keys are added: choose the signing key per alg (the first key
 * of each type in record order) and build the public JWK set JSON. */
int op_keys_set_seal(op_keys_set_t *set, op_err_t *err);

/*
 * Start a refresh round now: read the record; adopt it when it differs
 * from the current set; when it is missing, store the current set again
 * (create-only) and, if another worker stored one first, read and adopt
 * that. The refresh timer does this every refresh_ms; tests call it to
 * order a round against their own store operations. No-op while a round
 * is in flight.
 */
void op_keys_refresh(op_keys_t *keys);

/* ---- op_keys_gen.c: the server's own keys ------------------------------- */

/* Generate a key pair (rsa_bits for RSA). Caller owns *out. */
int op_keys_gen_pkey(op_keys_kty_t kty, int rsa_bits, struct evp_pkey_st **out, op_err_t *err);

/*
 * Add a key pair to set: derive its public JWK and kid, precompute the
 * signing contexts. Consumes pkey (freed with the set, also on failure).
 * *out (may be NULL) is borrowed from the set.
 */
int op_keys_gen_add(op_keys_set_t *set, struct evp_pkey_st *pkey, int64_t created,
                    op_keys_key_t **out, op_err_t *err);

/* Generate a whole sealed set (RSA rsa_bits, EC P-256, Ed25519) with
 * version 1, in memory. Caller releases *out. */
int op_keys_gen_set(int rsa_bits, int64_t now, op_keys_set_t **out, op_err_t *err);

/* The private key as PKCS#8 DER. Caller frees *der with
 * op_keys_crypto_free(*der, *len) (it is wiped). */
int op_keys_gen_pkcs8_export(const op_keys_key_t *key, uint8_t **der, size_t *len, op_err_t *err);
/* PKCS#8 DER to a key pair (exact length, nothing trailing). Caller owns
 * *out. */
int op_keys_gen_pkcs8_import(const uint8_t *der, size_t len, struct evp_pkey_st **out,
                             op_err_t *err);

/* ---- op_keys_jwk.c: public JWKs ----------------------------------------- */

/* The kty that signs alg, or -1 (HS256, none). */
int op_keys_jwk_kty_for(op_jws_alg_t alg);

/*
 * Validate public key members (base64url strings, NUL-terminated, kept by
 * reference) and fill pub: RSA n >= 2048 bits and e odd; EC x, y 32 bytes
 * and on P-256; OKP x a valid Ed25519 point. Imports RSA and EC keys into
 * cjose (released when a is freed). pub->alg and pub->kid are left for
 * the caller. OP_EDENIED with the reason when the key is not usable.
 */
int op_keys_jwk_pub_init(op_keys_pub_t *pub, op_keys_kty_t kty, const char *m0, const char *m1,
                         op_arena_t *a, op_err_t *err);

/* RFC 7638 SHA-256 thumbprint of pub, base64url, in a. NULL on OOM. */
char *op_keys_jwk_thumbprint(const op_keys_pub_t *pub, op_arena_t *a);

/* Write pub as a public JWK object ("use":"sig", "alg" unless NONE, kid). */
void op_keys_jwk_write(op_json_w_t *w, const op_keys_pub_t *pub);

/* Can pub verify a JWS with alg and kid (kid NULL: any)? */
bool op_keys_jwk_fits(const op_keys_pub_t *pub, op_jws_alg_t alg, const char *kid);

/* Exactly one candidate is required: OP_OK, or OP_EDENIED saying why. */
int op_keys_jwk_one(size_t matches, op_err_t *err);

/*
 * Find the one key of a parsed JWK set ({"keys":[...]}) that can verify a
 * JWS with alg and kid (kid NULL: the only usable key), and import it into
 * *out (its memory in a). Keys with "use" other than "sig", "key_ops"
 * without "verify", another "alg", or of another type are skipped; "oct"
 * keys never verify. OP_EINVAL: not a JWK set; OP_EDENIED: no usable key.
 */
int op_keys_jwk_find(const op_json_t *jwks, op_jws_alg_t alg, const char *kid, op_arena_t *a,
                     op_keys_pub_t *out, op_err_t *err);

/* ---- op_keys_mem.c ---------------------------------------------------- */

/* Point cjose (and jansson) and OpenSSL at the out-of-memory policy
 * (core/base/op_mem.h). Once, from op_keys_global_init, which main calls
 * before anything uses OpenSSL (OpenSSL takes allocators only before its
 * first allocation). */
void op_keys_mem_init(void);

#endif
