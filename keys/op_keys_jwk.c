/*
 * keys/op_keys_jwk.c - public JWKs: validation and import of foreign keys
 * (a client's "jwks") and of our own public keys, RFC 7638 thumbprints,
 * export for the published JWK set, and key selection for verification.
 *
 * Every public key, ours or foreign, goes through op_keys_jwk_pub_init,
 * which checks the members itself before cjose sees them: cjose 0.6.2.1
 * accepts an EC point that is not on the curve and RSA keys of any size.
 * cjose then gets only the RFC 7638 canonical JSON we build from the
 * validated members, never the JWK text a client sent, so its jansson
 * parser cannot read anything our strict reader did not check.
 */
#include <string.h>

#include <cjose/cjose.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/obj_mac.h>
#include <sodium.h>

#include "keys/op_keys_int.h"

/* Largest member we decode: an 8192-bit modulus (plus a leading zero). */
#define OP_KEYS_JWK_MAX_MEMBER (OP_KEYS_RSA_MAX_BITS / 8 + 1)
#define OP_KEYS_JWK_MAX_E      8 /* bytes of the RSA public exponent */

static const char *const op_keys_jwk_kty_names[] = {"RSA", "EC", "OKP"};

/* The public members of each type, in op_keys_pub_t.mem order. */
static const char *const op_keys_jwk_members[][2] = {
    [OP_KEYS_KTY_RSA] = {"n", "e"},
    [OP_KEYS_KTY_EC] = {"x", "y"},
    [OP_KEYS_KTY_OKP] = {"x", NULL},
};

int op_keys_jwk_kty_for(op_jws_alg_t alg)
{
    switch (alg) {
    case OP_JWS_RS256:
    case OP_JWS_PS256:
        return OP_KEYS_KTY_RSA;
    case OP_JWS_ES256:
        return OP_KEYS_KTY_EC;
    case OP_JWS_EDDSA:
        return OP_KEYS_KTY_OKP;
    default:
        return -1;
    }
}

/*
 * Strict base64url decode of a member into out (cap bytes). Returns the
 * decoded length, or 0 when absent, malformed or too long.
 */
static size_t op_keys_jwk_decode(const char *s, uint8_t *out, size_t cap)
{
    size_t len, n = 0;

    if (s == NULL)
        return 0;
    len = strlen(s);
    if (len == 0 || len > op_b64url_encoded_len(cap))
        return 0;
    if (!op_b64url_decode(s, len, out, &n))
        return 0;
    return n;
}

/* Is (x, y) a point of P-256 other than infinity? */
static bool op_keys_jwk_on_p256(const uint8_t x[32], const uint8_t y[32])
{
    uint8_t oct[65];
    EC_GROUP *group;
    EC_POINT *point = NULL;
    bool ok = false;

    oct[0] = POINT_CONVERSION_UNCOMPRESSED;
    memcpy(oct + 1, x, 32);
    memcpy(oct + 33, y, 32);
    group = EC_GROUP_new_by_curve_name(NID_X9_62_prime256v1);
    if (group == NULL)
        goto out;
    point = EC_POINT_new(group);
    if (point == NULL)
        goto out_free_group;
    ok = EC_POINT_oct2point(group, point, oct, sizeof(oct), NULL) == 1 &&
         EC_POINT_is_on_curve(group, point, NULL) == 1 && !EC_POINT_is_at_infinity(group, point);
    EC_POINT_free(point);
out_free_group:
    EC_GROUP_free(group);
out:
    ERR_clear_error();
    return ok;
}

/* Bits of a big-endian unsigned integer, leading zero bytes ignored. */
static size_t op_keys_jwk_bits(const uint8_t *p, size_t n, size_t *bytes)
{
    size_t bits;
    uint8_t top;

    while (n > 0 && p[0] == 0) {
        p++;
        n--;
    }
    *bytes = n;
    if (n == 0)
        return 0;
    bits = (n - 1) * 8;
    for (top = p[0]; top != 0; top >>= 1)
        bits++;
    return bits;
}

/* Check an RSA public key: 2048..8192-bit modulus, odd exponent > 1. */
static int op_keys_jwk_check_rsa(op_keys_pub_t *pub, op_err_t *err)
{
    uint8_t n[OP_KEYS_JWK_MAX_MEMBER + 3], e[OP_KEYS_JWK_MAX_E + 3];
    size_t nlen, elen, nbytes, ebytes, bits;

    nlen = op_keys_jwk_decode(pub->mem[0], n, OP_KEYS_JWK_MAX_MEMBER);
    elen = op_keys_jwk_decode(pub->mem[1], e, OP_KEYS_JWK_MAX_E);
    if (nlen == 0 || elen == 0)
        return OP_ERR(err, OP_EDENIED,
                      "RSA JWK: \"n\" or \"e\" missing, not base64url "
                      "or too long");
    bits = op_keys_jwk_bits(n, nlen, &nbytes);
    if (bits < OP_KEYS_RSA_MIN_BITS || bits > OP_KEYS_RSA_MAX_BITS)
        return OP_ERR(err, OP_EDENIED, "RSA JWK: modulus of %zu bits, %d to %d required", bits,
                      OP_KEYS_RSA_MIN_BITS, OP_KEYS_RSA_MAX_BITS);
    if (op_keys_jwk_bits(e, elen, &ebytes) < 2 || (e[elen - 1] & 1) == 0)
        return OP_ERR(err, OP_EDENIED, "RSA JWK: bad public exponent");
    pub->sig_len = nbytes;
    return OP_OK;
}

static int op_keys_jwk_check_ec(op_keys_pub_t *pub, op_err_t *err)
{
    uint8_t x[32 + 3], y[32 + 3];

    if (op_keys_jwk_decode(pub->mem[0], x, 32) != 32 ||
        op_keys_jwk_decode(pub->mem[1], y, 32) != 32)
        return OP_ERR(err, OP_EDENIED,
                      "EC JWK: \"x\" and \"y\" must be 32 bytes of "
                      "base64url");
    if (!op_keys_jwk_on_p256(x, y))
        return OP_ERR(err, OP_EDENIED, "EC JWK: the point is not on P-256");
    pub->sig_len = 64;
    return OP_OK;
}

static int op_keys_jwk_check_okp(op_keys_pub_t *pub, op_err_t *err)
{
    uint8_t x[32 + 3];

    if (op_keys_jwk_decode(pub->mem[0], x, 32) != 32)
        return OP_ERR(err, OP_EDENIED, "OKP JWK: \"x\" must be 32 bytes of base64url");
    /* On the curve, in the main subgroup, not of small order. */
    if (crypto_core_ed25519_is_valid_point(x) != 1)
        return OP_ERR(err, OP_EDENIED, "OKP JWK: \"x\" is not a valid Ed25519 key");
    memcpy(pub->ed_pk, x, 32);
    pub->sig_len = 64;
    return OP_OK;
}

/*
 * RFC 7638 §3: the required members in lexicographic order, no
 * whitespace. Values are base64url (checked), so nothing needs escaping.
 */
static char *op_keys_jwk_canonical(const op_keys_pub_t *pub, op_arena_t *a)
{
    switch (pub->kty) {
    case OP_KEYS_KTY_RSA:
        return op_arena_printf(a, "{\"e\":\"%s\",\"kty\":\"RSA\",\"n\":\"%s\"}", pub->mem[1],
                               pub->mem[0]);
    case OP_KEYS_KTY_EC:
        return op_arena_printf(a,
                               "{\"crv\":\"P-256\",\"kty\":\"EC\",\"x\":\"%s\","
                               "\"y\":\"%s\"}",
                               pub->mem[0], pub->mem[1]);
    case OP_KEYS_KTY_OKP:
        return op_arena_printf(a,
                               "{\"crv\":\"Ed25519\",\"kty\":\"OKP\","
                               "\"x\":\"%s\"}",
                               pub->mem[0]);
    }
    return NULL;
}

static void op_keys_jwk_release(void *p)
{
    cjose_jwk_release(p);
}

/* Import the canonical JSON into cjose; the arena releases the handle. */
static int op_keys_jwk_cjose(op_keys_pub_t *pub, op_arena_t *a, op_err_t *err)
{
    cjose_err cerr;
    cjose_jwk_t *jwk;

    memset(&cerr, 0, sizeof(cerr));
    jwk = cjose_jwk_import(pub->canon, strlen(pub->canon), &cerr);
    if (jwk == NULL) {
        ERR_clear_error();
        return OP_ERR(err, OP_EDENIED, "JWK not usable: %s",
                      cerr.message ? cerr.message : "cjose error");
    }
    if (op_arena_cleanup_add(a, op_keys_jwk_release, jwk) != OP_OK) {
        cjose_jwk_release(jwk);
        return OP_ERR(err, OP_ETOOBIG, "the JWK is too large for the arena");
    }
    pub->cjose = jwk;
    return OP_OK;
}

int op_keys_jwk_pub_init(op_keys_pub_t *pub, op_keys_kty_t kty, const char *m0, const char *m1,
                         op_arena_t *a, op_err_t *err)
{
    int rc;

    memset(pub, 0, sizeof(*pub));
    pub->kty = kty;
    pub->mem[0] = m0;
    pub->mem[1] = m1;
    switch (kty) {
    case OP_KEYS_KTY_RSA:
        rc = op_keys_jwk_check_rsa(pub, err);
        break;
    case OP_KEYS_KTY_EC:
        rc = op_keys_jwk_check_ec(pub, err);
        break;
    case OP_KEYS_KTY_OKP:
        rc = op_keys_jwk_check_okp(pub, err);
        break;
    default:
        rc = OP_ERR(err, OP_EDENIED, "unsupported key type");
    }
    if (rc != OP_OK)
        return rc;
    pub->canon = op_keys_jwk_canonical(pub, a);
    if (pub->canon == NULL)
        return OP_ERR(err, OP_ETOOBIG, "the JWK is too large for the arena");
    if (kty == OP_KEYS_KTY_OKP)
        return OP_OK; /* verified with libsodium, no cjose handle */
    return op_keys_jwk_cjose(pub, a, err);
}

char *op_keys_jwk_thumbprint(const op_keys_pub_t *pub, op_arena_t *a)
{
    uint8_t md[32];

    op_keys_crypto_sha256(pub->canon, strlen(pub->canon), md);
    return op_b64url_encode_arena(a, md, sizeof(md));
}

void op_keys_jwk_write(op_json_w_t *w, const op_keys_pub_t *pub)
{
    op_json_w_obj_open(w);
    op_json_w_kstr(w, "kty", op_keys_jwk_kty_names[pub->kty]);
    switch (pub->kty) {
    case OP_KEYS_KTY_RSA:
        op_json_w_kstr(w, "n", pub->mem[0]);
        op_json_w_kstr(w, "e", pub->mem[1]);
        break;
    case OP_KEYS_KTY_EC:
        op_json_w_kstr(w, "crv", "P-256");
        op_json_w_kstr(w, "x", pub->mem[0]);
        op_json_w_kstr(w, "y", pub->mem[1]);
        break;
    case OP_KEYS_KTY_OKP:
        op_json_w_kstr(w, "crv", "Ed25519");
        op_json_w_kstr(w, "x", pub->mem[0]);
        break;
    }
    op_json_w_kstr(w, "use", "sig");
    if (pub->alg != OP_JWS_NONE)
        op_json_w_kstr(w, "alg", op_keys_jws_alg_name(pub->alg));
    if (pub->kid != NULL)
        op_json_w_kstr(w, "kid", pub->kid);
    op_json_w_obj_close(w);
}

bool op_keys_jwk_fits(const op_keys_pub_t *pub, op_jws_alg_t alg, const char *kid)
{
    if (kid != NULL && !op_str_eq(kid, pub->kid))
        return false;
    if (pub->alg != OP_JWS_NONE && pub->alg != alg)
        return false;
    return op_keys_jwk_kty_for(alg) == (int)pub->kty;
}

int op_keys_jwk_one(size_t matches, op_err_t *err)
{
    if (matches == 0)
        return OP_ERR(err, OP_EDENIED, "no key in the JWK set fits the JWS alg and kid");
    if (matches > 1)
        return OP_ERR(err, OP_EDENIED, "several keys in the JWK set fit the JWS alg and kid");
    return OP_OK;
}

/* True when the JSON array v holds the string s. */
static bool op_keys_jwk_has(const op_json_t *v, const char *s)
{
    for (size_t i = 0; i < v->u.arr.n; i++) {
        const op_json_t *it = v->u.arr.items[i];
        if (it->type == OP_JSON_STRING && op_str_eq(it->u.str.s, s))
            return true;
    }
    return false;
}

/*
 * Read a foreign JWK's metadata into a pub (members not yet validated).
 * False when it is not an object, its type is not one we verify with
 * (oct among them), or "use" / "key_ops" / "alg" / "crv" rule it out.
 * Members of the wrong JSON type rule the key out too.
 */
static bool op_keys_jwk_meta(const op_json_t *jwk, op_keys_pub_t *pub)
{
    const op_json_t *v;
    const char *kty, *crv;
    size_t k;

    memset(pub, 0, sizeof(*pub));
    if (!op_json_is(jwk, OP_JSON_OBJECT))
        return false;
    kty = op_json_get_str(jwk, "kty");
    for (k = 0; k < OP_NELEMS(op_keys_jwk_kty_names); k++)
        if (op_str_eq(kty, op_keys_jwk_kty_names[k]))
            break;
    if (k == OP_NELEMS(op_keys_jwk_kty_names))
        return false;
    pub->kty = (op_keys_kty_t)k;
    crv = op_json_get_str(jwk, "crv");
    if ((pub->kty == OP_KEYS_KTY_EC && !op_str_eq(crv, "P-256")) ||
        (pub->kty == OP_KEYS_KTY_OKP && !op_str_eq(crv, "Ed25519")))
        return false;
    if ((v = op_json_get(jwk, "use")) != NULL &&
        !(v->type == OP_JSON_STRING && op_str_eq(v->u.str.s, "sig")))
        return false;
    if ((v = op_json_get(jwk, "key_ops")) != NULL &&
        !(v->type == OP_JSON_ARRAY && op_keys_jwk_has(v, "verify")))
        return false;
    if ((v = op_json_get(jwk, "alg")) != NULL) {
        if (v->type != OP_JSON_STRING)
            return false;
        pub->alg = op_keys_jws_alg_parse(v->u.str.s, v->u.str.len);
        if (pub->alg == OP_JWS_NONE)
            return false; /* an alg we do not verify with */
    }
    if ((v = op_json_get(jwk, "kid")) != NULL) {
        if (v->type != OP_JSON_STRING)
            return false;
        pub->kid = v->u.str.s;
    }
    return true;
}

int op_keys_jwk_find(const op_json_t *jwks, op_jws_alg_t alg, const char *kid, op_arena_t *a,
                     op_keys_pub_t *out, op_err_t *err)
{
    const op_json_t *keys = op_json_get(jwks, "keys");
    const op_json_t *found = NULL;
    op_keys_pub_t meta, chosen = {0};
    const char *m1;
    size_t matches = 0;
    int rc;

    if (!op_json_is(keys, OP_JSON_ARRAY))
        return OP_ERR(err, OP_EINVAL, "not a JWK set: no \"keys\" array");
    for (size_t i = 0; i < keys->u.arr.n; i++) {
        const op_json_t *jwk = keys->u.arr.items[i];
        if (!op_keys_jwk_meta(jwk, &meta) || !op_keys_jwk_fits(&meta, alg, kid))
            continue;
        found = jwk;
        chosen = meta;
        matches++;
    }
    rc = op_keys_jwk_one(matches, err);
    if (rc != OP_OK)
        return rc;
    m1 = op_keys_jwk_members[chosen.kty][1];
    rc = op_keys_jwk_pub_init(out, chosen.kty,
                              op_json_get_str(found, op_keys_jwk_members[chosen.kty][0]),
                              m1 != NULL ? op_json_get_str(found, m1) : NULL, a, err);
    if (rc != OP_OK)
        return rc;
    out->alg = chosen.alg;
    out->kid = chosen.kid;
    return OP_OK;
}
