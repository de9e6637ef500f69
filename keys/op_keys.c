/*
 * keys/op_keys.c - the key store: library setup, refcounted key sets, the
 * stored record, and the open / refresh / close lifecycle.
 *
 * The record (namespace "keys", key "op") is JSON:
 *
 *   {"format":2,"version":3,"created":1732249539,"keys":[
 *     {"kid":"<RFC 7638 thumbprint>","alg":"RS256","created":1732249539,
 *      "jwk":{<public JWK>},"nonce":"<b64url>","enc":"<b64url>"}, ...]}
 *
 * "enc" is the key's PKCS#8 DER sealed with XChaCha20-Poly1305-IETF under
 * op_keys_crypto_kdf(keyStore.encJWK, OP_KDF_INFO_JWK), with a random 24-byte "nonce"
 * and the kid as associated data (so a ciphertext cannot be moved to
 * another entry). Format 1 (no "format" member, written before subkeys)
 * sealed under keyStore.encJWK itself; it is still read, and kept as it is
 * (the raw key then serves that one purpose only). Loading trusts only
 * what decrypts: each key is rebuilt from its private part and its
 * thumbprint must equal the stored kid; "jwk" is there for tools (and the
 * key store API) that list public keys without the encryption key.
 *
 * Identity: a set is the record it was loaded from or stored as, byte for
 * byte. A refresh compares the SHA-256 of the stored record with the
 * current set's: any difference (another worker's set, a rotation, an
 * edit) loads the stored one. "version" counts changes for people and
 * tools; it is not an identity, since two workers that each generate a
 * set both start at 1.
 *
 * Lost record: a refresh that finds no record writes the current set's
 * record again, create-only; if that loses to another worker's write, it
 * reads the record again and adopts it. So every worker ends on the
 * stored set, and none keeps signing with keys nobody publishes.
 *
 * Publication: the RSA key is one JWK without "alg" ("use":"sig", kid =
 * its thumbprint) and signs both RS256 and PS256. An "alg":"RS256" member
 * would make JWK set clients that filter on it (jose's createLocalJWKSet /
 * createRemoteJWKSet, used by openid-client) refuse PS256 tokens, and two
 * entries for the same key would need two kids for one thumbprint.
 * The EC and Ed25519 keys carry "alg" ES256 / EdDSA.
 */
#include <stdlib.h>
#include <string.h>

#include <cjose/cjose.h>
#include <sodium.h>

#include "keys/op_keys_int.h"

#define OP_KEYS_SET_ARENA_MAX (1024 * 1024)
_Static_assert(OP_KEYS_SIGNED_SLOTS * 32 + 4096 < OP_KEYS_SET_ARENA_MAX,
               "a new set's own allocations fit its arena, so op_keys_set_new cannot fail");
#define OP_KEYS_OPEN_ATTEMPTS 3 /* generate / lose the race / read again */
#define OP_KEYS_REC_FORMAT    2 /* what we write; 1 is still read */

/* The stored record: a few KiB, flat but for the public JWKs. */
static const op_json_limits_t op_keys_rec_limits = {
    .max_bytes = OP_STORE_MAX_VALUE, .max_depth = 4, .max_members = 1024};

/*
 * Once per process: libsodium (a failure is fatal for the caller) and
 * cjose's allocators, which are process-global and must be set before any
 * other cjose call. OpenSSL 3 initialises itself.
 */
int op_keys_global_init(void)
{
    static bool cjose_done;

    if (sodium_init() < 0) {
        op_log_error(NULL, "keys: libsodium failed to initialise");
        return OP_ERROR;
    }
    if (!cjose_done) {
        op_keys_mem_init();
        cjose_done = true;
    }
    return OP_OK;
}

/* ---- sets --------------------------------------------------------------- */

op_keys_set_t *op_keys_set_new(int64_t version, int64_t created)
{
    op_arena_t *a = op_arena_new(OP_KEYS_SET_ARENA_MAX);
    op_keys_set_t *set = op_arena_calloc(a, 1, sizeof(*set));

    set->arena = a;
    set->refs = 1;
    set->version = version;
    set->created = created;
    set->signed_md = op_arena_calloc(a, OP_KEYS_SIGNED_SLOTS, sizeof(*set->signed_md));
    return set;
}

void op_keys_set_retain(op_keys_set_t *set)
{
    if (set != NULL)
        set->refs++;
}

/* At zero the arena goes, and with it (by its cleanups) every EVP_PKEY,
 * signing context, cjose handle and libsodium secret key of the set. */
void op_keys_set_release(op_keys_set_t *set)
{
    if (set != NULL && --set->refs == 0)
        op_arena_free(set->arena);
}

int op_keys_set_seal(op_keys_set_t *set, op_err_t *err)
{
    op_arena_t *tmp = op_arena_new(OP_KEYS_SET_ARENA_MAX);
    op_json_w_t *w;
    const char *json;
    size_t len;
    int rc;

    for (size_t i = 0; i < set->nkeys; i++)
        for (int alg = OP_JWS_NONE + 1; alg < OP_JWS_ALG_MAX; alg++)
            if (set->sign[alg] == NULL &&
                op_keys_jwk_fits(&set->keys[i]->pub, (op_jws_alg_t)alg, NULL))
                set->sign[alg] = set->keys[i];
    w = op_json_w_new(tmp, false);
    if (w == NULL) {
        rc = OP_ERR(err, OP_ETOOBIG, "the JWK set is too large for its arena");
        goto out_free_tmp;
    }
    op_json_w_obj_open(w);
    op_json_w_key(w, "keys");
    op_json_w_arr_open(w);
    for (size_t i = 0; i < set->nkeys; i++)
        op_keys_jwk_write(w, &set->keys[i]->pub);
    op_json_w_arr_close(w);
    op_json_w_obj_close(w);
    rc = op_json_w_finish(w, &json, &len, err);
    if (rc != OP_OK)
        goto out_free_tmp;
    set->jwks = op_arena_strndup(set->arena, json, len);
    set->jwks_len = len;
    if (set->jwks == NULL)
        rc = OP_ERR(err, OP_ETOOBIG, "the JWK set is too large for the set's arena");
out_free_tmp:
    op_arena_free(tmp);
    return rc;
}

/* The set is (now) the record rec: keep its bytes and digest. */
static int op_keys_set_bind(op_keys_set_t *set, const char *rec, size_t len, op_err_t *err)
{
    set->rec = op_arena_strndup(set->arena, rec, len);
    if (set->rec == NULL)
        return OP_ERR(err, OP_ETOOBIG, "the key record is too large for the set's arena");
    set->rec_len = len;
    op_keys_crypto_sha256(rec, len, set->digest);
    op_hex_encode(set->digest, OP_SECRET_TAG_LEN / 2, set->tag);
    return OP_OK;
}

const char *op_keys_set_jwks(const op_keys_set_t *set, size_t *len)
{
    if (len != NULL)
        *len = set->jwks_len;
    return set->jwks;
}

const char *op_keys_set_kid(const op_keys_set_t *set, op_jws_alg_t alg)
{
    if (set == NULL || (unsigned)alg >= OP_JWS_ALG_MAX || set->sign[alg] == NULL)
        return NULL;
    return set->sign[alg]->pub.kid;
}

/* ---- the stored record -------------------------------------------------- */

/* The alg a key is recorded under: RSA keys as RS256 (they also sign
 * PS256), the others as their JWK's alg. */
static op_jws_alg_t op_keys_rec_alg(const op_keys_key_t *key)
{
    return key->pub.kty == OP_KEYS_KTY_RSA ? OP_JWS_RS256 : key->pub.alg;
}

/* One key entry: metadata, public JWK, sealed PKCS#8. */
static int op_keys_rec_write_key(op_json_w_t *w, const op_keys_key_t *key, const uint8_t *seal_key,
                                 op_arena_t *a, op_err_t *err)
{
    char *nonce, *ct;
    uint8_t *der;
    size_t der_len;
    int rc;

    rc = op_keys_gen_pkcs8_export(key, &der, &der_len, err);
    if (rc != OP_OK)
        return rc;
    rc = op_keys_crypto_seal(seal_key, key->pub.kid, der, der_len, a, &nonce, &ct, err);
    op_keys_crypto_free(der, der_len);
    if (rc != OP_OK)
        return rc;
    op_json_w_obj_open(w);
    op_json_w_kstr(w, "kid", key->pub.kid);
    op_json_w_kstr(w, "alg", op_keys_jws_alg_name(op_keys_rec_alg(key)));
    op_json_w_kint(w, "created", key->created);
    op_json_w_key(w, "jwk");
    op_keys_jwk_write(w, &key->pub);
    op_json_w_kstr(w, "nonce", nonce);
    op_json_w_kstr(w, "enc", ct);
    op_json_w_obj_close(w);
    return OP_OK;
}

/* The record of set, in a. */
static int op_keys_rec_build(const op_keys_set_t *set, const uint8_t *seal_key, op_arena_t *a,
                             const char **out, size_t *len, op_err_t *err)
{
    op_json_w_t *w = op_json_w_new(a, false);
    int rc;

    if (w == NULL)
        return OP_ERR(err, OP_ETOOBIG, "the key record is too large for its arena");
    op_json_w_obj_open(w);
    op_json_w_kint(w, "format", OP_KEYS_REC_FORMAT);
    op_json_w_kint(w, "version", set->version);
    op_json_w_kint(w, "created", set->created);
    op_json_w_key(w, "keys");
    op_json_w_arr_open(w);
    for (size_t i = 0; i < set->nkeys; i++) {
        rc = op_keys_rec_write_key(w, set->keys[i], seal_key, a, err);
        if (rc != OP_OK)
            return rc;
    }
    op_json_w_arr_close(w);
    op_json_w_obj_close(w);
    return op_json_w_finish(w, out, len, err);
}

/*
 * Parse the record, read its version (>= 1) and pick the key its private
 * parts are sealed under by its format: the subkey (2), or keyStore.encJWK
 * itself (1, no "format" member).
 */
static int op_keys_rec_parse(const op_keys_t *keys, const char *buf, size_t len, op_arena_t *a,
                             const op_json_t **root, int64_t *version, const uint8_t **seal_key,
                             op_err_t *err)
{
    op_json_t *tree;
    int64_t format = 1;
    op_err_t sub;
    int rc;

    op_err_clear(&sub);
    rc = op_json_parse(a, buf, len, &op_keys_rec_limits, &tree, &sub);
    if (rc != OP_OK)
        return OP_ERR(err, OP_EINVAL, "stored key set is corrupt: %s", sub.description);
    if (!op_json_get_int(tree, "version", version) || *version < 1)
        return OP_ERR(err, OP_EINVAL, "stored key set is corrupt: no version");
    if (op_json_get(tree, "format") != NULL &&
        (!op_json_get_int(tree, "format", &format) || format < 1 || format > OP_KEYS_REC_FORMAT))
        return OP_ERR(err, OP_EINVAL,
                      "stored key set has a record format this server does not know "
                      "(it reads 1 to %d)",
                      OP_KEYS_REC_FORMAT);
    *seal_key = format == 1 ? keys->enc_key : keys->jwk_key;
    *root = tree;
    return OP_OK;
}

/*
 * Decrypt one entry and add its key to set. The kid binds everything: it
 * is the associated data of the seal, and the thumbprint of the key that
 * comes out must equal it.
 */
static int op_keys_rec_read_key(op_keys_set_t *set, const op_json_t *e, const uint8_t *seal_key,
                                op_err_t *err)
{
    const op_json_t *nonce = op_json_get(e, "nonce");
    const op_json_t *ct = op_json_get(e, "enc");
    const char *kid = op_json_get_str(e, "kid");
    const char *alg = op_json_get_str(e, "alg");
    struct evp_pkey_st *pkey;
    op_keys_key_t *key;
    int64_t created;
    uint8_t *der;
    size_t der_len;
    int rc;

    if (kid == NULL || alg == NULL || !op_json_is(nonce, OP_JSON_STRING) ||
        !op_json_is(ct, OP_JSON_STRING) || !op_json_get_int(e, "created", &created))
        return OP_ERR(err, OP_EINVAL,
                      "stored key set is corrupt: a key misses kid, alg, "
                      "created, nonce or enc");
    rc = op_keys_crypto_open(seal_key, kid, nonce->u.str.s, nonce->u.str.len, ct->u.str.s,
                             ct->u.str.len, &der, &der_len);
    if (rc == OP_EDENIED)
        return OP_ERR(err, OP_EDENIED,
                      "keyStore.encJWK does not decrypt the stored key set "
                      "(kid %.64s): wrong key or tampered record",
                      kid);
    if (rc != OP_OK)
        return OP_ERR(err, rc,
                      "stored key set is corrupt: key %.64s has a bad "
                      "nonce or ciphertext",
                      kid);
    rc = op_keys_gen_pkcs8_import(der, der_len, &pkey, err);
    op_keys_crypto_free(der, der_len);
    if (rc != OP_OK)
        return rc;
    rc = op_keys_gen_add(set, pkey, created, &key, err);
    if (rc != OP_OK)
        return rc;
    if (!op_str_eq(key->pub.kid, kid) ||
        op_keys_jws_alg_parse(alg, strlen(alg)) != op_keys_rec_alg(key))
        return OP_ERR(err, OP_EINVAL,
                      "stored key set is corrupt: key %.64s does not match "
                      "its kid or alg",
                      kid);
    return OP_OK;
}

/* A sealed set from a parsed record. Caller releases *out. */
static int op_keys_rec_load(const op_json_t *root, int64_t version, const uint8_t *seal_key,
                            op_keys_set_t **out, op_err_t *err)
{
    const op_json_t *keys = op_json_get(root, "keys");
    op_keys_set_t *set;
    int64_t created;
    int rc;

    if (!op_json_is(keys, OP_JSON_ARRAY) || keys->u.arr.n == 0 ||
        keys->u.arr.n > OP_KEYS_MAX_KEYS || !op_json_get_int(root, "created", &created))
        return OP_ERR(err, OP_EINVAL,
                      "stored key set is corrupt: no created time, or not "
                      "1 to %d keys",
                      OP_KEYS_MAX_KEYS);
    set = op_keys_set_new(version, created);
    for (size_t i = 0; i < keys->u.arr.n; i++) {
        rc = op_keys_rec_read_key(set, keys->u.arr.items[i], seal_key, err);
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

/* Parse the record buf and load it: a sealed set bound to buf. Caller
 * releases *out. */
static int op_keys_rec_read(const op_keys_t *keys, const char *buf, size_t len, op_keys_set_t **out,
                            op_err_t *err)
{
    op_arena_t *tmp = op_arena_new(8 * OP_STORE_MAX_VALUE);
    const uint8_t *seal_key = NULL;
    const op_json_t *root = NULL;
    op_keys_set_t *set = NULL;
    int64_t version;
    int rc;

    rc = op_keys_rec_parse(keys, buf, len, tmp, &root, &version, &seal_key, err);
    if (rc == OP_OK)
        rc = op_keys_rec_load(root, version, seal_key, &set, err);
    if (rc == OP_OK)
        rc = op_keys_set_bind(set, buf, len, err);
    op_arena_free(tmp);
    if (rc != OP_OK) {
        op_keys_set_release(set);
        return rc;
    }
    *out = set;
    return OP_OK;
}

/* ---- refresh and close --------------------------------------------------- */

static void op_keys_read(op_keys_t *keys, op_store_cb cb)
{
    op_store_get(keys->store, OP_KEYS_NS, OP_KEYS_REC_KEY, sizeof(OP_KEYS_REC_KEY) - 1, cb, keys);
}

/* Write set's record create-only (the store copies it at the call). */
static void op_keys_put_nx(op_keys_t *keys, const op_keys_set_t *set, op_store_cb cb)
{
    op_store_rec_t rec = {.ns = OP_KEYS_NS,
                          .key = OP_KEYS_REC_KEY,
                          .key_len = sizeof(OP_KEYS_REC_KEY) - 1,
                          .value = set->rec,
                          .value_len = set->rec_len};

    op_store_put(keys->store, &rec, OP_STORE_NX, cb, keys);
}

static void op_keys_free(op_keys_t *keys)
{
    if (keys->timer != NULL)
        op_timer_free(keys->timer);
    op_keys_set_release(keys->current);
    op_keys_set_release(keys->pending);
    sodium_memzero(keys->enc_key, sizeof(keys->enc_key));
    sodium_memzero(keys->jwk_key, sizeof(keys->jwk_key));
    free(keys);
}

/*
 * The stored record came back: when it is not the current set's, load it
 * and swap it in. The old set goes when its last user releases it. On any
 * error the current set stays.
 */
static int op_keys_refresh_apply(op_keys_t *keys, const op_store_res_t *res, op_err_t *err)
{
    op_keys_set_t *set, *old = keys->current;
    uint8_t digest[32];
    int rc;

    op_keys_crypto_sha256(res->value, res->value_len, digest);
    if (memcmp(digest, old->digest, sizeof(digest)) == 0)
        return OP_OK;
    rc = op_keys_rec_read(keys, res->value, res->value_len, &set, err);
    if (rc != OP_OK)
        return rc;
    keys->current = set;
    op_log_info(NULL, "keys: key set %s (version %lld) replaces %s (version %lld)", set->tag,
                (long long)set->version, old->tag, (long long)old->version);
    op_keys_set_release(old);
    return OP_OK;
}

/*
 * End of a refresh round. A failure is logged once until a round works
 * again; the timer is re-armed after every round, so rounds never
 * overlap.
 */
static void op_keys_refresh_done(op_keys_t *keys, int rc, const op_err_t *err)
{
    keys->refreshing = false;
    keys->restoring = false;
    keys->refreshes++;
    if (rc != OP_OK && !keys->warned) {
        op_log_warn(NULL, "keys: refresh failed, keeping key set %s (version %lld): %s",
                    keys->current->tag, (long long)keys->current->version, err->description);
        keys->warned = true;
    } else if (rc == OP_OK && keys->warned) {
        op_log_info(NULL, "keys: refresh works again");
        keys->warned = false;
    }
    if (keys->timer != NULL)
        op_timer_start(keys->timer, keys->refresh_ms);
}

/* Closed while the round was in flight: free it now (true), or go on. */
static bool op_keys_refresh_gone(op_keys_t *keys)
{
    if (!keys->closed)
        return false;
    op_keys_free(keys);
    return true;
}

static void op_keys_on_restore(int status, const op_store_res_t *res, void *arg);

/*
 * A read of the round came back. Missing the first time: the store lost
 * the record, so store ours again. Missing after that write lost to
 * another's: the record went again meanwhile; the next round retries.
 */
static void op_keys_on_refresh(int status, const op_store_res_t *res, void *arg)
{
    op_keys_t *keys = arg;
    op_err_t err;
    int rc;

    if (op_keys_refresh_gone(keys))
        return;
    if (status == OP_ENOTFOUND && !keys->restoring) {
        keys->restoring = true;
        op_keys_put_nx(keys, keys->current, op_keys_on_restore);
        return;
    }
    op_err_clear(&err);
    if (status == OP_OK)
        rc = op_keys_refresh_apply(keys, res, &err);
    else if (status == OP_ENOTFOUND)
        rc = OP_ERR(&err, OP_ECONFLICT, "the key record was stored by another worker, then lost");
    else
        rc = OP_ERR(&err, status, "cannot read the key set: %s", op_err_status_name(status));
    op_keys_refresh_done(keys, rc, &err);
}

/* The create-only write of the current set after the record was lost:
 * stored, or another worker's set is there now (read and adopt it). */
static void op_keys_on_restore(int status, const op_store_res_t *res, void *arg)
{
    op_keys_t *keys = arg;
    op_err_t err;

    OP_UNUSED(res);
    if (op_keys_refresh_gone(keys))
        return;
    if (status == OP_EEXIST) {
        op_keys_read(keys, op_keys_on_refresh);
        return;
    }
    op_err_clear(&err);
    if (status == OP_OK)
        op_log_warn(NULL, "keys: the stored key set was missing: stored key set %s again",
                    keys->current->tag);
    else
        OP_ERR(&err, status, "the key record is missing and cannot be stored again: %s",
               op_err_status_name(status));
    op_keys_refresh_done(keys, status, &err);
}

void op_keys_refresh(op_keys_t *keys)
{
    if (keys->refreshing || keys->closed)
        return;
    keys->refreshing = true;
    op_keys_read(keys, op_keys_on_refresh);
}

static void op_keys_on_timer(void *arg)
{
    op_keys_refresh(arg);
}

/* With a refresh round in flight, freeing waits for its completion. */
void op_keys_close(op_keys_t *keys)
{
    if (keys == NULL)
        return;
    if (keys->timer != NULL)
        op_timer_stop(keys->timer);
    if (keys->refreshing) {
        keys->closed = true;
        return;
    }
    op_keys_free(keys);
}

op_keys_set_t *op_keys_current(op_keys_t *keys)
{
    op_keys_set_retain(keys->current);
    return keys->current;
}

/* ---- open --------------------------------------------------------------- */

/*
 * End of open: hand the key store over (starting the refresh timer), or
 * report the error in keys->err and free it. The callback is the last
 * thing that touches keys on success: it may close it at once.
 */
static void op_keys_open_done(op_keys_t *keys, int status)
{
    if (status != OP_OK) {
        keys->open_cb(status, NULL, &keys->err, keys->open_arg);
        op_keys_free(keys);
        return;
    }
    op_err_clear(&keys->err);
    if (keys->timer != NULL)
        op_timer_start(keys->timer, keys->refresh_ms);
    op_log_info(NULL, "keys: key set %s (version %lld, %zu keys) loaded", keys->current->tag,
                (long long)keys->current->version, keys->current->nkeys);
    keys->open_cb(OP_OK, keys, &keys->err, keys->open_arg);
}

static void op_keys_open_fail(void *arg)
{
    op_keys_t *keys = arg;

    op_keys_open_done(keys, keys->err.code);
}

static void op_keys_on_get(int status, const op_store_res_t *res, void *arg);

static void op_keys_on_put(int status, const op_store_res_t *res, void *arg)
{
    op_keys_t *keys = arg;

    OP_UNUSED(res);
    if (status == OP_OK) {
        keys->current = keys->pending;
        keys->pending = NULL;
        op_log_info(NULL, "keys: generated and stored a new key set");
        op_keys_open_done(keys, OP_OK);
        return;
    }
    op_keys_set_release(keys->pending);
    keys->pending = NULL;
    if (status == OP_EEXIST) {
        /* Another worker stored its set first: use that one. */
        op_keys_read(keys, op_keys_on_get);
        return;
    }
    OP_ERR(&keys->err, status, "cannot store the new key set: %s", op_err_status_name(status));
    op_keys_open_done(keys, status);
}

/* First start: generate a set, bind it to its record and store that
 * create-only. */
static void op_keys_generate(op_keys_t *keys)
{
    op_arena_t *tmp;
    const char *rec;
    size_t len;
    int rc;

    if (++keys->attempts > OP_KEYS_OPEN_ATTEMPTS) {
        OP_ERR(&keys->err, OP_ECONFLICT, "the stored key set keeps disappearing while opening");
        op_keys_open_done(keys, OP_ECONFLICT);
        return;
    }
    rc = op_keys_gen_set(keys->rsa_bits, op_loop_epoch(), &keys->pending, &keys->err);
    if (rc != OP_OK) {
        op_keys_open_done(keys, rc);
        return;
    }
    tmp = op_arena_new(2 * OP_STORE_MAX_VALUE);
    rc = op_keys_rec_build(keys->pending, keys->jwk_key, tmp, &rec, &len, &keys->err);
    if (rc == OP_OK)
        rc = op_keys_set_bind(keys->pending, rec, len, &keys->err);
    op_arena_free(tmp);
    if (rc != OP_OK) {
        op_keys_open_done(keys, rc);
        return;
    }
    op_keys_put_nx(keys, keys->pending, op_keys_on_put);
}

static void op_keys_on_get(int status, const op_store_res_t *res, void *arg)
{
    op_keys_t *keys = arg;

    if (status == OP_ENOTFOUND) {
        op_keys_generate(keys);
        return;
    }
    if (status != OP_OK) {
        OP_ERR(&keys->err, status, "cannot read the key set: %s", op_err_status_name(status));
        op_keys_open_done(keys, status);
        return;
    }
    op_keys_open_done(
        keys, op_keys_rec_read(keys, res->value, res->value_len, &keys->current, &keys->err));
}

void op_keys_open(op_loop_t *loop, op_store_t *store, const op_keys_config_t *cfg,
                  op_keys_open_cb cb, void *arg)
{
    op_keys_t *keys = op_calloc(1, sizeof(*keys));

    keys->loop = loop;
    keys->store = store;
    keys->open_cb = cb;
    keys->open_arg = arg;
    if (store == NULL) {
        OP_ERR(&keys->err, OP_EINVAL, "no store to keep the key set in");
    } else if (cfg == NULL || cfg->enc_key == NULL) {
        OP_ERR(&keys->err, OP_EINVAL, "keyStore.encJWK is not set");
    } else {
        memcpy(keys->enc_key, cfg->enc_key, sizeof(keys->enc_key));
        op_keys_crypto_kdf(keys->enc_key, sizeof(keys->enc_key), OP_KDF_INFO_JWK, keys->jwk_key);
        keys->refresh_ms = cfg->refresh_ms;
        keys->rsa_bits = cfg->rsa_bits != 0 ? cfg->rsa_bits : OP_KEYS_RSA_MIN_BITS;
        if (keys->err.code == OP_OK &&
            (keys->rsa_bits < OP_KEYS_RSA_MIN_BITS || keys->rsa_bits > OP_KEYS_RSA_GEN_MAX_BITS))
            OP_ERR(&keys->err, OP_EINVAL, "RSA key size %d outside %d..%d", keys->rsa_bits,
                   OP_KEYS_RSA_MIN_BITS, OP_KEYS_RSA_GEN_MAX_BITS);
    }
    if (keys->err.code == OP_OK && keys->refresh_ms != 0)
        keys->timer = op_timer_new(loop, op_keys_on_timer, keys);
    if (keys->err.code == OP_OK) {
        op_keys_read(keys, op_keys_on_get);
        return;
    }
    op_loop_defer(loop, op_keys_open_fail, keys);
}
