/*
 * keys/op_keys.h - the server's JWK set, JWS signing and verification, and
 * the small crypto helpers (random tokens, hashes, constant-time compare).
 *
 * The JWK set lives in the store (namespace "keys", key "op"), shared by
 * every worker: the first worker to start generates it (RSA 2048, EC
 * P-256, Ed25519) and writes it create-only; a worker that loses that race
 * loads the winner's set. Private parts are encrypted at rest with
 * XChaCha20-Poly1305 under a subkey derived from the 256-bit key of
 * keyStore.encJWK (op_keys_crypto_kdf). Each worker caches the set and re-reads the
 * record every refresh_ms; a record whose content differs from the one the
 * worker holds replaces its set, so a rotation made by another worker
 * reaches all of them. A worker that finds the record missing (the store
 * lost it) writes its own set again, create-only, and adopts the stored
 * one when another worker was first: all workers end on the stored set.
 *
 * A key set snapshot (op_keys_set_t) is refcounted: a request that signs
 * retains the current one for its whole life, so a refresh cannot free
 * a key under it.
 *
 * Algorithms: RS256, PS256, ES256 (OpenSSL), EdDSA (Ed25519, libsodium),
 * HS256 (client secrets). Verification of a foreign JWS checks its "alg"
 * against the caller's allow-list before anything else, then picks the
 * key by "kid" (or the only key of a matching type), then verifies.
 */
#ifndef OP_KEYS_H
#define OP_KEYS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/base/op.h"
#include "storage/op_store.h"

typedef enum {
    OP_JWS_NONE = 0, /* never accepted, never produced */
    OP_JWS_RS256,
    OP_JWS_PS256,
    OP_JWS_ES256,
    OP_JWS_EDDSA,
    OP_JWS_HS256,
    OP_JWS_ALG_MAX
} op_jws_alg_t;

/* "RS256" <-> OP_JWS_RS256. Parse returns OP_JWS_NONE when unknown. */
const char *op_keys_jws_alg_name(op_jws_alg_t alg);
op_jws_alg_t op_keys_jws_alg_parse(const char *name, size_t len);

/* Library setup, once at start before anything else here: sodium_init,
 * the allocators of cjose and OpenSSL (the out-of-memory policy,
 * core/base/op_mem.h). Returns OP_OK or OP_ERROR. */
int op_keys_global_init(void);

/* ---- the server key store ------------------------------------------- */

typedef struct op_keys op_keys_t;
typedef struct op_keys_set op_keys_set_t;

typedef struct op_keys_config {
    const uint8_t *enc_key; /* 32 bytes: encrypts private JWKs at rest */
    uint64_t refresh_ms;    /* re-read interval, 0: never */
    int rsa_bits;           /* 2048 by default */
} op_keys_config_t;

/*
 * Load the JWK set from the store, generating and storing one on first
 * start. cb gets OP_OK and the key store, or an error with err filled
 * (bad encryption key, store down, corrupt record). The config is copied.
 */
typedef void (*op_keys_open_cb)(int status, op_keys_t *keys, const op_err_t *err, void *arg);
void op_keys_open(op_loop_t *loop, op_store_t *store, const op_keys_config_t *cfg,
                  op_keys_open_cb cb, void *arg);

/* Stop the refresh timer and drop the cached set (requests that retained
 * it keep theirs). */
void op_keys_close(op_keys_t *keys);

/* The current set, retained: release with op_keys_set_release. */
op_keys_set_t *op_keys_current(op_keys_t *keys);
void op_keys_set_retain(op_keys_set_t *set);
void op_keys_set_release(op_keys_set_t *set);

/* The public JWK set as JSON ({"keys":[...]}), built once per set
 * change. Borrowed from the set. */
const char *op_keys_set_jwks(const op_keys_set_t *set, size_t *len);

/* The kid used to sign with alg, or NULL if the set has no such key. */
const char *op_keys_set_kid(const op_keys_set_t *set, op_jws_alg_t alg);

/* ---- JWS ------------------------------------------------------------- */

/*
 * Compact JWS over payload with the set's current key for alg (RS256,
 * PS256, ES256, EdDSA). Header: {"alg":..,"kid":..[,"typ":typ]}. typ may
 * be NULL. The result is NUL-terminated in a.
 */
int op_keys_jws_sign(const op_keys_set_t *set, op_jws_alg_t alg, const char *typ,
                     const char *payload, size_t payload_len, op_arena_t *a, char **out,
                     op_err_t *err);

/* HS256 with a shared secret (client_secret_jwt). */
int op_keys_jws_sign_hs256(const uint8_t *secret, size_t secret_len, const char *typ,
                           const char *payload, size_t payload_len, op_arena_t *a, char **out,
                           op_err_t *err);

/* A parsed compact JWS (the three parts decoded, header parsed). */
typedef struct op_jws {
    op_jws_alg_t alg;
    const char *kid; /* NULL when absent */
    const char *typ; /* NULL when absent */
    const op_json_t *header;
    const char *payload; /* decoded, NUL-terminated copy */
    size_t payload_len;
} op_jws_t;

/* Upper bound on a compact JWS we accept anywhere. */
#define OP_JWS_MAX_LEN (64 * 1024)

/*
 * Parse a compact JWS without verifying it, rejecting: over
 * OP_JWS_MAX_LEN, not three base64url parts, a header that is not a
 * strict JSON object (duplicate keys refused), "alg" missing or not in
 * `allowed` (bit set of 1u << op_jws_alg_t; "none" never passes), "crit".
 * The alg check comes first, before any key is looked at.
 */
int op_keys_jws_parse(const char *jws, size_t len, unsigned allowed, op_arena_t *a, op_jws_t *out,
                      op_err_t *err);

/*
 * Parse (as above) and verify against a JWK set given as JSON text (a
 * client's "jwks", or the server's public set). The key is the one whose
 * "kid" matches, or, without a kid, the only key usable with the alg.
 * Returns OP_OK, OP_EINVAL (malformed), or OP_EDENIED (bad signature,
 * no usable key).
 */
int op_keys_jws_verify_jwks(const char *jws, size_t len, unsigned allowed, const char *jwks_json,
                            size_t jwks_len, op_arena_t *a, op_jws_t *out, op_err_t *err);

/* Verify against the server's own set (its public keys). */
int op_keys_jws_verify_set(const op_keys_set_t *set, const char *jws, size_t len, unsigned allowed,
                           op_arena_t *a, op_jws_t *out, op_err_t *err);

/* Verify an HS256 JWS with a shared secret. */
int op_keys_jws_verify_hs256(const char *jws, size_t len, const uint8_t *secret, size_t secret_len,
                             op_arena_t *a, op_jws_t *out, op_err_t *err);

/* ---- crypto helpers ---------------------------------------------------- */

/*
 * The helpers below are thread-safe but not async-signal-safe (OpenSSL
 * allocates): never call them from a signal handler. A failure of
 * OpenSSL's SHA-2 or random generator aborts the process, as running out
 * of memory does (core/base/op_mem.h), so they return no error. Call
 * op_keys_global_init first: OpenSSL takes its allocators only before its
 * first allocation.
 */

/* Cryptographically secure random bytes (OpenSSL's private DRBG), fit for
 * secrets; a forked child never repeats its parent's. */
void op_keys_crypto_rand_bytes(void *buf, size_t n);
/* n random bytes as base64url, NUL-terminated, in a. */
char *op_keys_crypto_rand_token(op_arena_t *a, size_t n);

/* SHA-256 (32 bytes out). */
void op_keys_crypto_sha256(const void *data, size_t n, uint8_t out[32]);
/* SHA-256 as 64 lowercase hex chars + NUL. */
void op_keys_crypto_sha256_hex(const void *data, size_t n, char out[65]);

/* SHA-512 (64 bytes out). */
void op_keys_crypto_sha512(const void *data, size_t n, uint8_t out[64]);

/* HMAC-SHA-256 (RFC 2104). */
void op_keys_crypto_hmac_sha256(const void *key, size_t key_len, const void *data, size_t n,
                                uint8_t out[32]);

/* Constant-time equality of two byte strings (lengths compared too,
 * without an early exit on the contents). */
bool op_keys_crypto_ct_equal(const void *a, size_t alen, const void *b, size_t blen);

/*
 * A tag for logs of a bearer secret (session id, code, token): the first
 * OP_SECRET_TAG_LEN lowercase hex digits of its SHA-256, so log lines of
 * one secret can be told apart and matched with its store key (the
 * sha256hex of the same value) without the log revealing it. Only for
 * secrets of 128 random bits or more: the tag of a guessable value (a
 * password) can be searched for.
 */
#define OP_SECRET_TAG_LEN 8
void op_keys_crypto_secret_tag(const void *secret, size_t n, char out[OP_SECRET_TAG_LEN + 1]);

/* ---- key derivation and sealing ---------------------------------------- */

/*
 * One key, one purpose: every use of a key of ours goes through a subkey
 * op_keys_crypto_kdf derives for that use, named by one of these labels (RFC 5869
 * "info"). The labels are all here, so that they stay distinct.
 */
#define OP_KDF_INFO_JWK     "tessera keys v1: private JWKs at rest"
#define OP_KDF_INFO_SUB_SID "tessera authz-sess v1: sealed sub_sid"

#define OP_SUBKEY_LEN 32

/*
 * HKDF-SHA-256 (RFC 5869, no salt) of the input key material ikm for the
 * purpose named by info: a 32-byte subkey. ikm must be a secret of 128
 * random bits or more (a key, a session id). Does not fail (a failure of
 * the hash aborts, see the crypto helpers above).
 */
void op_keys_crypto_kdf(const void *ikm, size_t ikm_len, const char *info,
                        uint8_t out[OP_SUBKEY_LEN]);

/*
 * XChaCha20-Poly1305-IETF seal of pt under key with a random 24-byte nonce
 * and ad as associated data. *nonce and *ct are base64url strings in a.
 */
int op_keys_crypto_seal(const uint8_t key[OP_SUBKEY_LEN], const char *ad, const uint8_t *pt,
                        size_t n, op_arena_t *a, char **nonce, char **ct, op_err_t *err);

/*
 * Open what op_keys_crypto_seal made. OP_EINVAL when nonce or ct are not
 * well-formed base64url of the right size, OP_EDENIED when they do not
 * decrypt under key and ad (wrong key or tampering). On OP_OK
 * the caller frees *pt with op_keys_crypto_free(*pt, *pt_len).
 */
int op_keys_crypto_open(const uint8_t key[OP_SUBKEY_LEN], const char *ad, const char *nonce,
                        size_t nonce_len, const char *ct, size_t ct_len, uint8_t **pt,
                        size_t *pt_len);

/* Wipe and free a secret buffer (NULL is a no-op). */
void op_keys_crypto_free(void *p, size_t n);

#endif
