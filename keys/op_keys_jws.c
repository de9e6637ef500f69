/*
 * keys/op_keys_jws.c - compact JWS: sign, parse, verify.
 *
 * Signing is the hot path (every ID token and JWT access token): no JSON
 * library work and no allocation beyond the one output buffer. The
 * protected header is assembled from fixed pieces with memcpy (alg name,
 * our kid, a checked typ), base64url-encoded straight into the output,
 * then the signing input is hashed once and signed with the key's
 * precomputed context (op_keys_gen.c). ES256 turns OpenSSL's DER
 * signature into the 64-byte R || S form of RFC 7518 §3.4.
 *
 * Verification is strict and ordered: size cap, three base64url parts
 * (strict decoding), header a strict JSON object (duplicate keys
 * refused), "alg" present and allowed before any key is looked at, no
 * "crit", then key selection, then the signature. EdDSA verifies with
 * libsodium, HS256 with HMAC-SHA256 compared in constant time. RS256,
 * PS256 and ES256 with one of our own keys (op_jws_verify_set: our tokens
 * coming back) verify with the key's verification context prepared once
 * (op_keys_gen.c), like signing; with a foreign JWK set they go through
 * cjose after all of our checks; cjose parses the header again with
 * jansson, so we make sure it sees the same "alg".
 */
#include <string.h>

#include <cjose/cjose.h>
#include <openssl/bn.h>
#include <openssl/ecdsa.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <sodium.h>

#include "keys/op_keys_int.h"

#define OP_KEYS_JWS_TYP_MAX   64
#define OP_KEYS_JWS_HS256_MIN 32   /* RFC 7518 §3.2: >= the hash size */
#define OP_KEYS_JWS_HS256_MAX 4096 /* bound on a shared secret */
/* {"alg":"XXXXX","kid":"<64>","typ":"<64>"} fits with room to spare. */
#define OP_KEYS_JWS_HDR_MAX       192
#define OP_KEYS_JWS_ECDSA_DER_MAX 72 /* SEQUENCE of two 33-byte INTEGERs */

static const char *const op_keys_jws_alg_names[OP_JWS_ALG_MAX] = {
    [OP_JWS_NONE] = "none",   [OP_JWS_RS256] = "RS256", [OP_JWS_PS256] = "PS256",
    [OP_JWS_ES256] = "ES256", [OP_JWS_EDDSA] = "EdDSA", [OP_JWS_HS256] = "HS256",
};

/* Header limits: small, flat but for an embedded "jwk" (DPoP). */
static const op_json_limits_t op_keys_jws_hdr_limits = {
    .max_bytes = 16 * 1024, .max_depth = 4, .max_members = 128};

/* A client's JWK set: a few keys, each a flat object. */
static const op_json_limits_t op_keys_jws_jwks_limits = {
    .max_bytes = 256 * 1024, .max_depth = 4, .max_members = 4096};

const char *op_keys_jws_alg_name(op_jws_alg_t alg)
{
    if ((unsigned)alg >= OP_JWS_ALG_MAX)
        return NULL;
    return op_keys_jws_alg_names[alg];
}

op_jws_alg_t op_keys_jws_alg_parse(const char *name, size_t len)
{
    if (name == NULL)
        return OP_JWS_NONE;
    for (int i = OP_JWS_NONE + 1; i < OP_JWS_ALG_MAX; i++) {
        const char *s = op_keys_jws_alg_names[i];
        if (strlen(s) == len && memcmp(s, name, len) == 0)
            return (op_jws_alg_t)i;
    }
    return OP_JWS_NONE;
}

/* ---- signing ------------------------------------------------------------ */

/* The slot of a JWS digest in set->signed_md. */
static uint8_t *op_keys_jws_signed_slot(const op_keys_set_t *set, const uint8_t md[32])
{
    uint32_t i = (uint32_t)md[0] | (uint32_t)md[1] << 8 | (uint32_t)md[2] << 16;

    return set->signed_md[i & (OP_KEYS_SIGNED_SLOTS - 1)];
}

/* Remember that set signed the compact JWS jws[0..n). */
static void op_keys_jws_remember(const op_keys_set_t *set, const char *jws, size_t n)
{
    uint8_t md[32];

    op_keys_crypto_sha256(jws, n, md);
    memcpy(op_keys_jws_signed_slot(set, md), md, sizeof(md));
}

/* Did set sign exactly jws[0..n) (and still remember it)? SHA-256 is
 * collision resistant: no other text has a digest in the table. */
static bool op_keys_jws_signed(const op_keys_set_t *set, const char *jws, size_t n)
{
    uint8_t md[32];

    op_keys_crypto_sha256(jws, n, md);
    return sodium_memcmp(op_keys_jws_signed_slot(set, md), md, sizeof(md)) == 0;
}

/* A typ we can put in the header without escaping (e.g. "at+jwt"). */
static bool op_keys_jws_typ_ok(const char *typ)
{
    size_t n = 0;

    for (; typ[n] != '\0'; n++) {
        unsigned char c = (unsigned char)typ[n];
        if (n >= OP_KEYS_JWS_TYP_MAX || c < 0x21 || c > 0x7e || c == '"' || c == '\\')
            return false;
    }
    return n > 0;
}

static char *op_keys_jws_cat(char *p, const char *s)
{
    size_t n = strlen(s);

    memcpy(p, s, n);
    return p + n;
}

/*
 * The protected header {"alg":..[,"kid":..][,"typ":..]} into out, whose
 * size OP_KEYS_JWS_HDR_MAX the caller's checks guarantee (alg <= 5,
 * kid: our 43-char thumbprint, typ <= OP_KEYS_JWS_TYP_MAX, all escape-free).
 */
static size_t op_keys_jws_header(char out[OP_KEYS_JWS_HDR_MAX], op_jws_alg_t alg, const char *kid,
                                 const char *typ)
{
    char *p = out;

    p = op_keys_jws_cat(p, "{\"alg\":\"");
    p = op_keys_jws_cat(p, op_keys_jws_alg_names[alg]);
    if (kid != NULL) {
        p = op_keys_jws_cat(p, "\",\"kid\":\"");
        p = op_keys_jws_cat(p, kid);
    }
    if (typ != NULL) {
        p = op_keys_jws_cat(p, "\",\"typ\":\"");
        p = op_keys_jws_cat(p, typ);
    }
    p = op_keys_jws_cat(p, "\"}");
    return (size_t)(p - out);
}

/*
 * Allocate the whole compact JWS in a and write "header.payload" into it,
 * leaving room for ".signature" of sig_len bytes. *input_len is the
 * length of the signing input.
 */
static int op_keys_jws_begin(op_jws_alg_t alg, const char *kid, const char *typ,
                             const char *payload, size_t payload_len, size_t sig_len, op_arena_t *a,
                             char **out, size_t *input_len, op_err_t *err)
{
    char hdr[OP_KEYS_JWS_HDR_MAX];
    size_t hlen, total;
    char *buf, *p;

    if (typ != NULL && !op_keys_jws_typ_ok(typ))
        return OP_ERR(err, OP_EINVAL,
                      "JWS typ must be 1 to %d printable "
                      "characters without quotes or backslashes",
                      OP_KEYS_JWS_TYP_MAX);
    if (payload == NULL || payload_len > OP_JWS_MAX_LEN)
        return OP_ERR(err, OP_ETOOBIG, "JWS payload missing or over %d bytes", OP_JWS_MAX_LEN);
    hlen = op_keys_jws_header(hdr, alg, kid, typ);
    total = op_b64url_encoded_len(hlen) + 1 + op_b64url_encoded_len(payload_len) + 1 +
            op_b64url_encoded_len(sig_len) + 1;
    buf = op_arena_alloc(a, total);
    if (buf == NULL)
        return OP_ERR(err, OP_ETOOBIG, "the JWS is too large for the arena");
    p = buf + op_b64url_encode((const uint8_t *)hdr, hlen, buf);
    *p++ = '.';
    p += op_b64url_encode((const uint8_t *)payload, payload_len, p);
    *out = buf;
    *input_len = (size_t)(p - buf);
    return OP_OK;
}

/* Append ".signature" after the signing input (the buffer has room). */
static void op_keys_jws_end(char *buf, size_t input_len, const uint8_t *sig, size_t sig_len)
{
    buf[input_len] = '.';
    op_b64url_encode(sig, sig_len, buf + input_len + 1);
}

/* ECDSA: SHA-256 then sign, DER to R || S (32 bytes each). */
static bool op_keys_jws_sign_ec(const op_keys_key_t *key, const uint8_t md[32], uint8_t sig[64])
{
    uint8_t der[OP_KEYS_JWS_ECDSA_DER_MAX];
    const unsigned char *p = der;
    size_t der_len = sizeof(der);
    const BIGNUM *r, *s;
    ECDSA_SIG *es;
    bool ok;

    if (EVP_PKEY_sign(key->ctx[0], der, &der_len, md, 32) != 1)
        return false;
    es = d2i_ECDSA_SIG(NULL, &p, (long)der_len);
    if (es == NULL)
        return false;
    ECDSA_SIG_get0(es, &r, &s);
    ok = BN_bn2binpad(r, sig, 32) == 32 && BN_bn2binpad(s, sig + 32, 32) == 32;
    ECDSA_SIG_free(es);
    return ok;
}

/* The signature of input[0..n) with key for alg into sig (sig_len bytes). */
static bool op_keys_jws_sig(const op_keys_key_t *key, op_jws_alg_t alg, const char *input, size_t n,
                            uint8_t *sig)
{
    uint8_t md[32];
    size_t len = key->pub.sig_len;

    if (alg == OP_JWS_EDDSA)
        return crypto_sign_detached(sig, NULL, (const unsigned char *)input, n, key->ed_sk) == 0;
    op_keys_crypto_sha256(input, n, md);
    if (alg == OP_JWS_ES256)
        return op_keys_jws_sign_ec(key, md, sig);
    return EVP_PKEY_sign(key->ctx[alg == OP_JWS_PS256], sig, &len, md, sizeof(md)) == 1 &&
           len == key->pub.sig_len;
}

int op_keys_jws_sign(const op_keys_set_t *set, op_jws_alg_t alg, const char *typ,
                     const char *payload, size_t payload_len, op_arena_t *a, char **out,
                     op_err_t *err)
{
    uint8_t sig[OP_KEYS_MAX_SIG];
    const op_keys_key_t *key;
    size_t input_len;
    char *buf;
    int rc;

    if (set == NULL || (unsigned)alg >= OP_JWS_ALG_MAX || (key = set->sign[alg]) == NULL)
        return OP_ERR(err, OP_EINVAL, "no signing key for JWS alg %s",
                      op_keys_jws_alg_name(alg) ? op_keys_jws_alg_name(alg) : "?");
    rc = op_keys_jws_begin(alg, key->pub.kid, typ, payload, payload_len, key->pub.sig_len, a, &buf,
                           &input_len, err);
    if (rc != OP_OK)
        return rc;
    if (!op_keys_jws_sig(key, alg, buf, input_len, sig)) {
        ERR_clear_error();
        return OP_ERR(err, OP_ERROR, "JWS signing with %s failed", op_keys_jws_alg_name(alg));
    }
    op_keys_jws_end(buf, input_len, sig, key->pub.sig_len);
    op_keys_jws_remember(set, buf, input_len + 1 + op_b64url_encoded_len(key->pub.sig_len));
    *out = buf;
    return OP_OK;
}

static int op_keys_jws_secret_ok(const uint8_t *secret, size_t secret_len, op_err_t *err)
{
    if (secret == NULL || secret_len < OP_KEYS_JWS_HS256_MIN || secret_len > OP_KEYS_JWS_HS256_MAX)
        return OP_ERR(err, OP_EINVAL, "HS256 needs a secret of %d to %d bytes (RFC 7518 §3.2)",
                      OP_KEYS_JWS_HS256_MIN, OP_KEYS_JWS_HS256_MAX);
    return OP_OK;
}

int op_keys_jws_sign_hs256(const uint8_t *secret, size_t secret_len, const char *typ,
                           const char *payload, size_t payload_len, op_arena_t *a, char **out,
                           op_err_t *err)
{
    uint8_t mac[32];
    size_t input_len;
    char *buf;
    int rc;

    rc = op_keys_jws_secret_ok(secret, secret_len, err);
    if (rc != OP_OK)
        return rc;
    rc = op_keys_jws_begin(OP_JWS_HS256, NULL, typ, payload, payload_len, sizeof(mac), a, &buf,
                           &input_len, err);
    if (rc != OP_OK)
        return rc;
    op_keys_crypto_hmac_sha256(secret, secret_len, buf, input_len, mac);
    op_keys_jws_end(buf, input_len, mac, sizeof(mac));
    sodium_memzero(mac, sizeof(mac));
    *out = buf;
    return OP_OK;
}

/* ---- parsing ------------------------------------------------------------ */

/* A parsed JWS plus what verification needs. */
typedef struct op_keys_jws_parts {
    const char *compact;
    size_t len;
    size_t input_len; /* header.payload */
    uint8_t *sig;
    size_t sig_len;
} op_keys_jws_parts_t;

/* Strict base64url decode of s[0..n) into a new NUL-terminated buffer. */
static uint8_t *op_keys_jws_decode(const char *s, size_t n, op_arena_t *a, size_t *out_len)
{
    uint8_t *buf = op_arena_alloc(a, n * 3 / 4 + 1);

    if (buf == NULL || !op_b64url_decode(s, n, buf, out_len))
        return NULL;
    buf[*out_len] = '\0';
    return buf;
}

/* A header member that must be a string when present. */
static bool op_keys_jws_hdr_str(const op_json_t *hdr, const char *name, const char **out)
{
    const op_json_t *v = op_json_get(hdr, name);

    *out = NULL;
    if (v == NULL)
        return true;
    if (v->type != OP_JSON_STRING)
        return false;
    *out = v->u.str.s;
    return true;
}

/* Header checks, in order: strict JSON object, alg allowed, no crit. */
static int op_keys_jws_hdr(const uint8_t *raw, size_t n, unsigned allowed, op_arena_t *a,
                           op_jws_t *out, op_err_t *err)
{
    const op_json_t *hdr, *alg;
    op_json_t *tree;
    op_err_t sub;
    int rc;

    op_err_clear(&sub);
    rc = op_json_parse(a, (const char *)raw, n, &op_keys_jws_hdr_limits, &tree, &sub);
    if (rc != OP_OK)
        return OP_ERR(err, rc, "JWS header is not strict JSON: %s", sub.description);
    hdr = tree;
    if (!op_json_is(hdr, OP_JSON_OBJECT))
        return OP_ERR(err, OP_EINVAL, "JWS header is not a JSON object");
    alg = op_json_get(hdr, "alg");
    if (!op_json_is(alg, OP_JSON_STRING))
        return OP_ERR(err, OP_EINVAL, "JWS header has no alg string");
    out->alg = op_keys_jws_alg_parse(alg->u.str.s, alg->u.str.len);
    if (out->alg == OP_JWS_NONE)
        return OP_ERR(err, OP_EINVAL, "JWS alg is none or unsupported");
    if ((allowed & (1u << out->alg)) == 0)
        return OP_ERR(err, OP_EINVAL, "JWS alg %s is not allowed here",
                      op_keys_jws_alg_name(out->alg));
    if (op_json_get(hdr, "crit") != NULL)
        return OP_ERR(err, OP_EINVAL, "JWS header has crit: no extension is understood");
    if (!op_keys_jws_hdr_str(hdr, "kid", &out->kid) || !op_keys_jws_hdr_str(hdr, "typ", &out->typ))
        return OP_ERR(err, OP_EINVAL, "JWS kid and typ must be strings");
    out->header = hdr;
    return OP_OK;
}

/*
 * Parse into out and parts. Nothing in out is meaningful unless OP_OK.
 * The order of the checks is the contract of op_keys_jws_parse.
 */
static int op_keys_jws_split(const char *jws, size_t len, unsigned allowed, op_arena_t *a,
                             op_jws_t *out, op_keys_jws_parts_t *parts, op_err_t *err)
{
    const char *d1, *d2;
    size_t hlen, plen, slen, n;
    uint8_t *raw;
    int rc;

    if (jws == NULL || a == NULL || out == NULL)
        return OP_ERR(err, OP_EINVAL, "no JWS");
    memset(out, 0, sizeof(*out));
    if (len > OP_JWS_MAX_LEN)
        return OP_ERR(err, OP_ETOOBIG, "JWS over %d bytes", OP_JWS_MAX_LEN);
    d1 = memchr(jws, '.', len);
    d2 = d1 != NULL ? memchr(d1 + 1, '.', len - (size_t)(d1 + 1 - jws)) : NULL;
    if (d2 == NULL || memchr(d2 + 1, '.', len - (size_t)(d2 + 1 - jws)) != NULL)
        return OP_ERR(err, OP_EINVAL, "JWS is not three dot-separated parts");
    hlen = (size_t)(d1 - jws);
    plen = (size_t)(d2 - d1 - 1);
    slen = len - (size_t)(d2 + 1 - jws);
    if (hlen == 0 || slen == 0)
        return OP_ERR(err, OP_EINVAL, "JWS header or signature is empty");
    raw = op_keys_jws_decode(jws, hlen, a, &n);
    if (raw == NULL)
        return OP_ERR(err, OP_EINVAL, "JWS header is not base64url");
    rc = op_keys_jws_hdr(raw, n, allowed, a, out, err);
    if (rc != OP_OK)
        return rc;
    raw = op_keys_jws_decode(d1 + 1, plen, a, &out->payload_len);
    if (raw == NULL)
        return OP_ERR(err, OP_EINVAL, "JWS payload is not base64url");
    out->payload = (const char *)raw;
    parts->sig = op_keys_jws_decode(d2 + 1, slen, a, &parts->sig_len);
    if (parts->sig == NULL)
        return OP_ERR(err, OP_EINVAL, "JWS signature is not base64url");
    parts->compact = jws;
    parts->len = len;
    parts->input_len = (size_t)(d2 - jws);
    return OP_OK;
}

int op_keys_jws_parse(const char *jws, size_t len, unsigned allowed, op_arena_t *a, op_jws_t *out,
                      op_err_t *err)
{
    op_keys_jws_parts_t parts;

    return op_keys_jws_split(jws, len, allowed, a, out, &parts, err);
}

/* ---- verification ------------------------------------------------------- */

/*
 * RS256, PS256, ES256 through cjose. Our parse has passed, so the header
 * has no duplicate keys and jansson reads the same members; we still
 * check that cjose sees our alg before it picks its verifier from it.
 */
static int op_keys_jws_check_cjose(const op_keys_jws_parts_t *parts, op_jws_alg_t alg,
                                   const op_keys_pub_t *pub, op_err_t *err)
{
    cjose_jws_t *cj;
    cjose_err cerr;
    const char *calg;
    int rc = OP_EDENIED;

    memset(&cerr, 0, sizeof(cerr));
    cj = cjose_jws_import(parts->compact, parts->len, &cerr);
    if (cj == NULL) {
        OP_ERR(err, OP_EDENIED, "JWS rejected by cjose: %s",
               cerr.message ? cerr.message : "import failed");
        goto out;
    }
    memset(&cerr, 0, sizeof(cerr));
    calg = cjose_header_get(cjose_jws_get_protected(cj), CJOSE_HDR_ALG, &cerr);
    if (!op_str_eq(calg, op_keys_jws_alg_name(alg))) {
        OP_ERR(err, OP_EDENIED, "JWS header read differently by cjose");
        goto out_release_jws;
    }
    memset(&cerr, 0, sizeof(cerr));
    if (!cjose_jws_verify(cj, pub->cjose, &cerr)) {
        OP_ERR(err, OP_EDENIED, "JWS signature is invalid");
        goto out_release_jws;
    }
    rc = OP_OK;
out_release_jws:
    cjose_jws_release(cj);
out:
    ERR_clear_error();
    return rc;
}

/* Verify the parsed JWS with pub (which fits its alg). */
static int op_keys_jws_check(const op_keys_jws_parts_t *parts, op_jws_alg_t alg,
                             const op_keys_pub_t *pub, op_err_t *err)
{
    if (parts->sig_len != pub->sig_len)
        return OP_ERR(err, OP_EDENIED, "JWS signature has the wrong length");
    if (alg != OP_JWS_EDDSA)
        return op_keys_jws_check_cjose(parts, alg, pub, err);
    if (crypto_sign_verify_detached(parts->sig, (const unsigned char *)parts->compact,
                                    parts->input_len, pub->ed_pk) != 0)
        return OP_ERR(err, OP_EDENIED, "JWS signature is invalid");
    return OP_OK;
}

/* ECDSA: R || S (32 bytes each, RFC 7518 §3.4) to DER into der, whose
 * length goes to *len; false when it does not encode. */
static bool op_keys_jws_ec_der(const uint8_t sig[64], uint8_t der[OP_KEYS_JWS_ECDSA_DER_MAX],
                               size_t *len)
{
    ECDSA_SIG *es = ECDSA_SIG_new();
    BIGNUM *r = BN_bin2bn(sig, 32, NULL), *s = BN_bin2bn(sig + 32, 32, NULL);
    unsigned char *p = der;
    int n = -1;

    if (es != NULL && r != NULL && s != NULL && ECDSA_SIG_set0(es, r, s) == 1) {
        r = s = NULL; /* es owns them */
        if (i2d_ECDSA_SIG(es, NULL) <= OP_KEYS_JWS_ECDSA_DER_MAX)
            n = i2d_ECDSA_SIG(es, &p);
    }
    BN_free(r);
    BN_free(s);
    ECDSA_SIG_free(es);
    *len = n > 0 ? (size_t)n : 0;
    return n > 0;
}

/* RS256, PS256, ES256 with one of our own keys: SHA-256 of the signing
 * input, then the key's verification context. */
static int op_keys_jws_check_own(const op_keys_jws_parts_t *parts, op_jws_alg_t alg,
                                 const op_keys_key_t *key, op_err_t *err)
{
    uint8_t md[32], der[OP_KEYS_JWS_ECDSA_DER_MAX];
    const uint8_t *sig = parts->sig;
    size_t sig_len = parts->sig_len;
    bool ok;

    if (sig_len != key->pub.sig_len)
        return OP_ERR(err, OP_EDENIED, "JWS signature has the wrong length");
    op_keys_crypto_sha256(parts->compact, parts->input_len, md);
    if (alg == OP_JWS_ES256 && !op_keys_jws_ec_der(parts->sig, der, &sig_len))
        ok = false;
    else
        ok = EVP_PKEY_verify(key->vctx[alg == OP_JWS_PS256], alg == OP_JWS_ES256 ? der : sig,
                             sig_len, md, sizeof(md)) == 1;
    ERR_clear_error();
    if (!ok)
        return OP_ERR(err, OP_EDENIED, "JWS signature is invalid");
    return OP_OK;
}

int op_keys_jws_verify_jwks(const char *jws, size_t len, unsigned allowed, const char *jwks_json,
                            size_t jwks_len, op_arena_t *a, op_jws_t *out, op_err_t *err)
{
    op_keys_jws_parts_t parts;
    op_keys_pub_t pub;
    op_json_t *jwks;
    op_err_t sub;
    int rc;

    rc = op_keys_jws_split(jws, len, allowed, a, out, &parts, err);
    if (rc != OP_OK)
        return rc;
    if (jwks_json == NULL)
        return OP_ERR(err, OP_EDENIED, "no JWK set to verify the JWS with");
    op_err_clear(&sub);
    rc = op_json_parse(a, jwks_json, jwks_len, &op_keys_jws_jwks_limits, &jwks, &sub);
    if (rc != OP_OK)
        return OP_ERR(err, rc, "JWK set is not strict JSON: %s", sub.description);
    rc = op_keys_jwk_find(jwks, out->alg, out->kid, a, &pub, err);
    if (rc != OP_OK)
        return rc;
    return op_keys_jws_check(&parts, out->alg, &pub, err);
}

int op_keys_jws_verify_set(const op_keys_set_t *set, const char *jws, size_t len, unsigned allowed,
                           op_arena_t *a, op_jws_t *out, op_err_t *err)
{
    op_keys_jws_parts_t parts;
    const op_keys_key_t *key = NULL;
    size_t matches = 0;
    int rc;

    rc = op_keys_jws_split(jws, len, allowed, a, out, &parts, err);
    if (rc != OP_OK)
        return rc;
    for (size_t i = 0; set != NULL && i < set->nkeys; i++) {
        if (op_keys_jwk_fits(&set->keys[i]->pub, out->alg, out->kid)) {
            key = set->keys[i];
            matches++;
        }
    }
    rc = op_keys_jwk_one(matches, err);
    if (rc != OP_OK)
        return rc;
    /* All checks above hold for a JWS we signed too; its signature is ours. */
    if (op_keys_jws_signed(set, jws, len))
        return OP_OK;
    if (out->alg == OP_JWS_EDDSA)
        return op_keys_jws_check(&parts, out->alg, &key->pub, err);
    return op_keys_jws_check_own(&parts, out->alg, key, err);
}

int op_keys_jws_verify_hs256(const char *jws, size_t len, const uint8_t *secret, size_t secret_len,
                             op_arena_t *a, op_jws_t *out, op_err_t *err)
{
    op_keys_jws_parts_t parts;
    uint8_t mac[32];
    bool ok;
    int rc;

    rc = op_keys_jws_secret_ok(secret, secret_len, err);
    if (rc != OP_OK)
        return rc;
    rc = op_keys_jws_split(jws, len, 1u << OP_JWS_HS256, a, out, &parts, err);
    if (rc != OP_OK)
        return rc;
    op_keys_crypto_hmac_sha256(secret, secret_len, parts.compact, parts.input_len, mac);
    ok = op_keys_crypto_ct_equal(mac, sizeof(mac), parts.sig, parts.sig_len);
    sodium_memzero(mac, sizeof(mac));
    if (!ok)
        return OP_ERR(err, OP_EDENIED, "JWS signature is invalid");
    return OP_OK;
}
