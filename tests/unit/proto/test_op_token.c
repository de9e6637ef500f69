/*
 * tests/unit/proto/test_op_token.c - core/proto/op_token.c: ID token claims and
 * signature, at_hash / c_hash against the OpenID Connect Core examples
 * and independent OpenSSL digests, JWT access tokens (RFC 9068) and
 * identifier access tokens (hashing, record, TTL, indexes), the access
 * token check of UserInfo (valid, expired, wrong issuer, wrong typ,
 * tampered, alg not allowed, unknown identifier; exactly one callback,
 * never before the call returns), refresh token families and rotation,
 * codes, PKCE (RFC 7636 Appendix B), the used-records, and the claims
 * writer (presets win, protocol claims are never replaced).
 */
#include <openssl/evp.h>

#include "core/proto/op_token.h"
#include "keys/op_keys_int.h"
#include "tests/unit/op_test.h"

#define NOW 1800000000
#define ISS "https://op.example.com"

static op_keys_set_t *new_set(void)
{
    op_keys_set_t *set = NULL;
    op_err_t err;

    op_err_clear(&err);
    OP_CHECK_INT(op_keys_global_init(), OP_OK);
    OP_CHECK_INT(op_keys_gen_set(2048, NOW - 100, &set, &err), OP_OK);
    return set;
}

static void config(op_config_t *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->issuer = ISS;
    cfg->id_token_algs[0] = OP_JWS_RS256;
    cfg->id_token_algs[1] = OP_JWS_ES256;
    cfg->n_id_token_algs = 2;
    cfg->id_token_lifetime_s = 900;
    cfg->authz_code_lifetime_s = 300;
    cfg->at_lifetime_s = 600;
    cfg->at_encoding = OP_AT_SELF_CONTAINED;
    cfg->at_jws_alg = OP_JWS_PS256;
    cfg->rt_lifetime_s = 86400;
    cfg->rt_max_idle_s = 3600;
    cfg->rt_rotate = true;
}

static op_json_t *json(op_arena_t *a, const char *text)
{
    op_json_t *v = NULL;
    op_err_t err;

    op_err_clear(&err);
    OP_CHECK_INT(op_json_parse(a, text, strlen(text), NULL, &v, &err), OP_OK);
    return v;
}

static void strs(op_arena_t *a, op_strs_t *l, const char *space_separated)
{
    OP_CHECK_INT(op_token_scope_parse(a, space_separated, l), OP_OK);
}

/* A grant for alice and client-1 with the config's defaults. */
static void grant(op_arena_t *a, const op_config_t *cfg, op_grant_t *g)
{
    op_grant_defaults(g, cfg);
    g->sub = "alice";
    g->cid = "client-1";
    strs(a, &g->scp, "openid profile email");
    strs(a, &g->clm, "name email");
    strs(a, &g->idc, "name");
    strs(a, &g->cll, "de en");
}

/* Verify a JWS of ours and return its parsed claims; *typ and *alg out. */
static const op_json_t *claims_of(const op_keys_set_t *set, op_arena_t *a, const char *jws,
                                  const char **typ, op_jws_alg_t *alg)
{
    op_jws_t out;
    op_err_t err;

    op_err_clear(&err);
    OP_CHECK_INT(op_keys_jws_verify_set(set, jws, strlen(jws), 0xffu, a, &out, &err), OP_OK);
    if (typ != NULL)
        *typ = out.typ;
    if (alg != NULL)
        *alg = out.alg;
    return json(a, out.payload);
}

static int64_t int_of(const op_json_t *v, const char *key)
{
    int64_t i = -1;

    OP_CHECK(op_json_get_int(v, key, &i));
    return i;
}

/* base64url of the left half of digest(value), by OpenSSL. */
static char *half_hash(op_arena_t *a, const EVP_MD *md, const char *value)
{
    unsigned char d[EVP_MAX_MD_SIZE];
    unsigned int n = 0;

    OP_CHECK(EVP_Digest(value, strlen(value), d, &n, md, NULL) == 1);
    return op_b64url_encode_arena(a, d, n / 2);
}

/* ---- ID tokens --------------------------------------------------------- */

/* OIDC Core §2 claims: iss, sub, aud, exp, iat, auth_time, nonce, acr,
 * amr, sid; no azp with a single audience; typ JWT; the default alg. */
static void test_id_token_claims(void)
{
    op_keys_set_t *set = new_set();
    op_arena_t *a = op_arena_new(4 << 20);
    op_config_t cfg;
    op_grant_t g;
    op_token_authn_t au = {.auth_time = NOW - 60, .acr = "urn:acr:pwd", .sid = "sid-1"};
    const op_client_t client = {.client_id = "client-1"};
    const char *typ = NULL;
    op_jws_alg_t alg;
    char *jwt = NULL;
    op_err_t err;

    config(&cfg);
    grant(a, &cfg, &g);
    strs(a, &au.amr, "pwd otp");
    op_token_ctx_t ctx = {&cfg, set, NOW};
    op_token_id_req_t r = {.client = &client, .grant = &g, .authn = &au, .nonce = "n-0S6"};
    op_err_clear(&err);
    OP_CHECK_INT(op_token_id_mint(&ctx, &r, a, &jwt, &err), OP_OK);
    const op_json_t *c = claims_of(set, a, jwt, &typ, &alg);
    OP_CHECK_STR(typ, "JWT");
    OP_CHECK_INT(alg, OP_JWS_RS256);
    OP_CHECK_STR(op_json_get_str(c, "iss"), ISS);
    OP_CHECK_STR(op_json_get_str(c, "sub"), "alice");
    const op_json_t *aud = op_json_get(c, "aud");
    OP_CHECK(op_json_is(aud, OP_JSON_ARRAY) && aud->u.arr.n == 1);
    OP_CHECK_STR(aud->u.arr.items[0]->u.str.s, "client-1");
    OP_CHECK_INT(int_of(c, "iat"), NOW);
    OP_CHECK_INT(int_of(c, "exp"), NOW + 900);
    OP_CHECK_INT(int_of(c, "auth_time"), NOW - 60);
    OP_CHECK_STR(op_json_get_str(c, "nonce"), "n-0S6");
    OP_CHECK_STR(op_json_get_str(c, "acr"), "urn:acr:pwd");
    OP_CHECK_STR(op_json_get_str(c, "sid"), "sid-1");
    const op_json_t *amr = op_json_get(c, "amr");
    OP_CHECK(op_json_is(amr, OP_JSON_ARRAY) && amr->u.arr.n == 2);
    OP_CHECK(op_json_get(c, "azp") == NULL);
    OP_CHECK(op_json_get(c, "at_hash") == NULL);
    OP_CHECK(op_json_get(c, "c_hash") == NULL);

    /* The grant's ID token lifetime; no nonce, no auth info when absent. */
    op_token_authn_t none = {0};
    g.it_lifetime_s = 120;
    r = (op_token_id_req_t){.client = &client, .grant = &g, .authn = &none};
    OP_CHECK_INT(op_token_id_mint(&ctx, &r, a, &jwt, &err), OP_OK);
    c = claims_of(set, a, jwt, NULL, NULL);
    OP_CHECK_INT(int_of(c, "exp"), NOW + 120);
    OP_CHECK(op_json_get(c, "nonce") == NULL);
    OP_CHECK(op_json_get(c, "auth_time") == NULL);
    OP_CHECK(op_json_get(c, "acr") == NULL);
    OP_CHECK(op_json_get(c, "amr") == NULL);
    OP_CHECK(op_json_get(c, "sid") == NULL);
    op_arena_free(a);
    op_keys_set_release(set);
}

/* The client's id_token_signed_response_alg (OIDC Registration §2). */
static void test_id_token_client_alg(void)
{
    op_keys_set_t *set = new_set();
    op_arena_t *a = op_arena_new(4 << 20);
    static const op_jws_alg_t algs[] = {OP_JWS_ES256, OP_JWS_EDDSA, OP_JWS_PS256, OP_JWS_RS256};
    op_config_t cfg;
    op_grant_t g;
    op_token_authn_t au = {0};
    op_err_t err;

    config(&cfg);
    grant(a, &cfg, &g);
    op_token_ctx_t ctx = {&cfg, set, NOW};
    for (size_t i = 0; i < OP_NELEMS(algs); i++) {
        op_client_t client = {.client_id = "client-1", .id_token_signed_response_alg = algs[i]};
        op_token_id_req_t r = {.client = &client, .grant = &g, .authn = &au};
        op_jws_alg_t alg;
        char *jwt = NULL;
        op_err_clear(&err);
        OP_CHECK_INT(op_token_id_mint(&ctx, &r, a, &jwt, &err), OP_OK);
        claims_of(set, a, jwt, NULL, &alg);
        OP_CHECK_INT(alg, algs[i]);
    }
    /* No algorithm configured at all: a clear error, no token. */
    cfg.n_id_token_algs = 0;
    op_client_t client = {.client_id = "client-1"};
    op_token_id_req_t r = {.client = &client, .grant = &g, .authn = &au};
    char *jwt = NULL;
    OP_CHECK_INT(op_token_id_mint(&ctx, &r, a, &jwt, &err), OP_ERROR);
    op_arena_free(a);
    op_keys_set_release(set);
}

/* OIDC Core §3.3.2.11 / §3.2.2.9: at_hash and c_hash. The values of OIDC
 * Core Appendix A.4 (RS256) and OpenSSL's SHA-512 for EdDSA, as
 * oauth4webapi checks them. */
static void test_half_hash(void)
{
    op_arena_t *a = op_arena_new(1 << 20);
    const char *at = "jHkWEdUXMU1BwAsC4vtUsZwnNvTIxEl0z9K3vx5KF0Y";
    const char *code = "Qcb0Orv1zh30vL1MPRsbm-diHiMwcLyZvn1arpZv-Jxf_11jnpEX3Tgfvk";
    char *h = NULL;
    op_err_t err;

    op_err_clear(&err);
    OP_CHECK_INT(op_token_half_hash(OP_JWS_RS256, at, a, &h, &err), OP_OK);
    OP_CHECK_STR(h, "77QmUPtjPfzWtF2AnpK9RQ");
    OP_CHECK_INT(op_token_half_hash(OP_JWS_RS256, code, a, &h, &err), OP_OK);
    OP_CHECK_STR(h, "LDktKdoQak3Pk0cnXxCltA");
    OP_CHECK_INT(op_token_half_hash(OP_JWS_ES256, at, a, &h, &err), OP_OK);
    OP_CHECK_STR(h, half_hash(a, EVP_sha256(), at));
    OP_CHECK_INT(op_token_half_hash(OP_JWS_PS256, at, a, &h, &err), OP_OK);
    OP_CHECK_STR(h, half_hash(a, EVP_sha256(), at));
    OP_CHECK_INT(op_token_half_hash(OP_JWS_EDDSA, at, a, &h, &err), OP_OK);
    OP_CHECK_STR(h, half_hash(a, EVP_sha512(), at));
    OP_CHECK_INT(strlen(h), 43); /* 32 bytes */
    OP_CHECK_INT(op_token_half_hash(OP_JWS_HS256, at, a, &h, &err), OP_EINVAL);
    op_arena_free(a);
}

/* at_hash / c_hash in an ID token issued with a token and a code, each
 * for the alg that signs it. */
static void test_id_token_hashes(void)
{
    op_keys_set_t *set = new_set();
    op_arena_t *a = op_arena_new(4 << 20);
    op_config_t cfg;
    op_grant_t g;
    op_token_authn_t au = {0};
    op_err_t err;

    config(&cfg);
    grant(a, &cfg, &g);
    op_token_ctx_t ctx = {&cfg, set, NOW};
    for (int eddsa = 0; eddsa < 2; eddsa++) {
        op_client_t client = {.client_id = "client-1",
                              .id_token_signed_response_alg = eddsa ? OP_JWS_EDDSA : OP_JWS_NONE};
        op_token_id_req_t r = {.client = &client,
                               .grant = &g,
                               .authn = &au,
                               .nonce = "n",
                               .access_token = "the-access-token",
                               .code = "the-code"};
        char *jwt = NULL;
        op_err_clear(&err);
        OP_CHECK_INT(op_token_id_mint(&ctx, &r, a, &jwt, &err), OP_OK);
        const op_json_t *c = claims_of(set, a, jwt, NULL, NULL);
        const EVP_MD *md = eddsa ? EVP_sha512() : EVP_sha256();
        OP_CHECK_STR(op_json_get_str(c, "at_hash"), half_hash(a, md, "the-access-token"));
        OP_CHECK_STR(op_json_get_str(c, "c_hash"), half_hash(a, md, "the-code"));
    }
    op_arena_free(a);
    op_keys_set_release(set);
}

/* Presets win over fetched claims; only the wanted names of the fetched
 * ones (with their language-tagged forms, OIDC Core §5.2) are added; the
 * protocol claims are never replaced (OIDC Core §2). */
static void test_id_token_extra_claims(void)
{
    op_keys_set_t *set = new_set();
    op_arena_t *a = op_arena_new(4 << 20);
    op_config_t cfg;
    op_grant_t g;
    op_token_authn_t au = {.sid = "sid-1"};
    const op_client_t client = {.client_id = "client-1"};
    op_err_t err;
    char *jwt = NULL;

    config(&cfg);
    grant(a, &cfg, &g);
    strs(a, &g.idc, "name email sub iss");
    op_token_ctx_t ctx = {&cfg, set, NOW};
    op_token_id_req_t r = {
        .client = &client,
        .grant = &g,
        .authn = &au,
        .preset = json(a, "{\"email\":\"preset@example.com\",\"aud\":\"evil\",\"x\":1}"),
        .claims = json(a, "{\"name\":\"Alice\",\"name#de\":\"Alicia\",\"email\":\"a@example.com\","
                          "\"phone_number\":\"+1\",\"sub\":\"mallory\",\"iss\":\"evil\","
                          "\"sid\":\"evil\",\"nam\":\"no\"}"),
    };
    op_err_clear(&err);
    OP_CHECK_INT(op_token_id_mint(&ctx, &r, a, &jwt, &err), OP_OK);
    const op_json_t *c = claims_of(set, a, jwt, NULL, NULL);
    OP_CHECK_STR(op_json_get_str(c, "sub"), "alice");
    OP_CHECK_STR(op_json_get_str(c, "iss"), ISS);
    OP_CHECK_STR(op_json_get_str(c, "sid"), "sid-1");
    OP_CHECK(op_json_is(op_json_get(c, "aud"), OP_JSON_ARRAY));
    OP_CHECK_STR(op_json_get_str(c, "name"), "Alice");
    OP_CHECK_STR(op_json_get_str(c, "name#de"), "Alicia");
    OP_CHECK_STR(op_json_get_str(c, "email"), "preset@example.com");
    OP_CHECK_INT(int_of(c, "x"), 1);
    OP_CHECK(op_json_get(c, "phone_number") == NULL);
    OP_CHECK(op_json_get(c, "nam") == NULL);
    op_arena_free(a);
    op_keys_set_release(set);
}

/* ---- access tokens ---------------------------------------------------- */

/* RFC 9068 §2: typ at+jwt, iss, exp, aud, sub, client_id, iat, jti, scope;
 * our members for UserInfo; the grant's atc claims at the top level. */
static void test_at_jwt(void)
{
    op_keys_set_t *set = new_set();
    op_arena_t *a = op_arena_new(4 << 20);
    op_config_t cfg;
    op_grant_t g;
    op_token_minted_t m;
    const char *typ = NULL;
    op_jws_alg_t alg;
    op_err_t err;

    config(&cfg);
    grant(a, &cfg, &g);
    strs(a, &g.atc, "email_verified iss fam");
    g.uip = json(a, "{\"nickname\":\"al\"}");
    op_token_ctx_t ctx = {&cfg, set, NOW};
    const op_json_t *claims = json(a, "{\"email_verified\":true,\"iss\":\"evil\",\"fam\":\"evil\","
                                      "\"name\":\"not asked\"}");
    op_err_clear(&err);
    OP_CHECK_INT(op_token_at_mint(&ctx, &g, "sid-1", "fam-1", claims, a, &m, &err), OP_OK);
    OP_CHECK(m.rec.ns == NULL);
    OP_CHECK(m.key == NULL);
    OP_CHECK_INT(m.lifetime_s, 600);
    const op_json_t *c = claims_of(set, a, m.token, &typ, &alg);
    OP_CHECK_STR(typ, "at+jwt");
    OP_CHECK_INT(alg, OP_JWS_PS256);
    OP_CHECK_STR(op_json_get_str(c, "iss"), ISS);
    OP_CHECK_INT(int_of(c, "exp"), NOW + 600);
    OP_CHECK_INT(int_of(c, "iat"), NOW);
    OP_CHECK_STR(op_json_get_str(c, "aud"), "client-1");
    OP_CHECK_STR(op_json_get_str(c, "sub"), "alice");
    OP_CHECK_STR(op_json_get_str(c, "client_id"), "client-1");
    OP_CHECK_STR(op_json_get_str(c, "scope"), "openid profile email");
    OP_CHECK_INT(strlen(op_json_get_str(c, "jti")), 22);
    OP_CHECK_STR(op_json_get_str(c, "sid"), "sid-1");
    OP_CHECK_STR(op_json_get_str(c, "fam"), "fam-1"); /* ours, not the source's */
    OP_CHECK(op_json_get(c, "clm")->u.arr.n == 2);
    OP_CHECK(op_json_get(c, "cll")->u.arr.n == 2);
    OP_CHECK_STR(op_json_get_str(op_json_get(c, "uip"), "nickname"), "al");
    bool b = false;
    OP_CHECK(op_json_get_bool(c, "email_verified", &b) && b);
    OP_CHECK(op_json_get(c, "name") == NULL);

    /* aud: one value is a string, more an array (RFC 7519 §4.1.3); the
     * grant's lifetime. */
    strs(a, &g.aud, "https://api.example.com");
    g.at_lifetime_s = 60;
    OP_CHECK_INT(op_token_at_mint(&ctx, &g, NULL, NULL, NULL, a, &m, &err), OP_OK);
    c = claims_of(set, a, m.token, NULL, NULL);
    OP_CHECK_STR(op_json_get_str(c, "aud"), "https://api.example.com");
    OP_CHECK_INT(int_of(c, "exp"), NOW + 60);
    OP_CHECK(op_json_get(c, "sid") == NULL);
    OP_CHECK(op_json_get(c, "fam") == NULL);
    strs(a, &g.aud, "https://a.example.com https://b.example.com");
    OP_CHECK_INT(op_token_at_mint(&ctx, &g, NULL, NULL, NULL, a, &m, &err), OP_OK);
    c = claims_of(set, a, m.token, NULL, NULL);
    OP_CHECK(op_json_get(c, "aud")->u.arr.n == 2);
    op_arena_free(a);
    op_keys_set_release(set);
}

/* An identifier: 32 random bytes, stored under sha256hex (never in
 * clear), TTL = lifetime, indexes sub and cid (docs/records.md). */
static void test_at_identifier(void)
{
    op_keys_set_t *set = new_set();
    op_arena_t *a = op_arena_new(4 << 20);
    op_config_t cfg;
    op_grant_t g;
    op_token_minted_t m, m2;
    char hex[65];
    op_err_t err;

    config(&cfg);
    grant(a, &cfg, &g);
    g.at_encoding = OP_AT_IDENTIFIER;
    op_token_ctx_t ctx = {&cfg, set, NOW};
    op_err_clear(&err);
    OP_CHECK_INT(op_token_at_mint(&ctx, &g, "sid-1", NULL, NULL, a, &m, &err), OP_OK);
    OP_CHECK_INT(op_token_at_mint(&ctx, &g, "sid-1", NULL, NULL, a, &m2, &err), OP_OK);
    OP_CHECK_INT(strlen(m.token), 43);
    OP_CHECK(strcmp(m.token, m2.token) != 0);
    op_keys_crypto_sha256_hex(m.token, strlen(m.token), hex);
    OP_CHECK_STR(m.key, hex);
    OP_CHECK_STR(m.rec.ns, "at");
    OP_CHECK_STR(m.rec.key, hex);
    OP_CHECK_INT(m.rec.key_len, 64);
    OP_CHECK_INT(m.rec.ttl_ms, 600000);
    OP_CHECK_INT(m.rec.nindexes, 2);
    OP_CHECK_STR(m.rec.indexes[0].name, "sub");
    OP_CHECK_STR(m.rec.indexes[0].value, "alice");
    OP_CHECK_STR(m.rec.indexes[1].name, "cid");
    OP_CHECK_STR(m.rec.indexes[1].value, "client-1");
    OP_CHECK(memmem(m.rec.value, m.rec.value_len, m.token, strlen(m.token)) == NULL);
    /* Of a family: indexed by it too, so revoking the family finds it. */
    OP_CHECK_INT(op_token_at_mint(&ctx, &g, "sid-1", "fam-1", NULL, a, &m2, &err), OP_OK);
    OP_CHECK_INT(m2.rec.nindexes, 3);
    OP_CHECK_STR(m2.rec.indexes[2].name, "fam");
    OP_CHECK_STR(m2.rec.indexes[2].value, "fam-1");
    const op_json_t *v = json(a, op_arena_strndup(a, m.rec.value, m.rec.value_len));
    OP_CHECK_STR(op_json_get_str(v, "sub"), "alice");
    OP_CHECK_STR(op_json_get_str(v, "sid"), "sid-1");
    OP_CHECK_INT(int_of(v, "exp"), NOW + 600);
    OP_CHECK_INT(int_of(v, "iat"), NOW);
    OP_CHECK(op_json_get_str(v, "jti") != NULL);
    op_arena_free(a);
    op_keys_set_release(set);
}

/* ---- the access token check ----------------------------------------------- */

typedef struct fx {
    op_loop_t *loop;
    op_store_t *store;
    op_keys_set_t *set;
    op_arena_t *a;
    op_config_t cfg;
    int store_status;
    int64_t ttl_ms;
} fx_t;

static void on_store_open(int status, op_store_t *store, const op_err_t *err, void *arg)
{
    fx_t *fx = arg;

    OP_UNUSED(err);
    OP_CHECK_INT(status, OP_OK);
    fx->store = store;
    op_loop_stop(fx->loop);
}

static void fx_init(fx_t *fx)
{
    op_store_config_t sc = {.kind = OP_STORE_MEMORY};

    memset(fx, 0, sizeof(*fx));
    fx->set = new_set();
    fx->a = op_arena_new(8 << 20);
    fx->loop = op_loop_new();
    OP_CHECK(fx->a != NULL && fx->loop != NULL);
    config(&fx->cfg);
    op_store_open(fx->loop, &sc, on_store_open, fx);
    OP_CHECK_INT(op_loop_run(fx->loop), OP_OK);
    OP_CHECK(fx->store != NULL);
}

static void on_store_closed(void *arg)
{
    fx_t *fx = arg;

    fx->store = NULL;
    op_loop_stop(fx->loop);
}

static void fx_free(fx_t *fx)
{
    op_store_close(fx->store, on_store_closed, fx);
    OP_CHECK_INT(op_loop_run(fx->loop), OP_OK);
    OP_CHECK(fx->store == NULL);
    op_loop_free(fx->loop);
    op_arena_free(fx->a);
    op_keys_set_release(fx->set);
}

static void on_put(int status, const op_store_res_t *res, void *arg)
{
    fx_t *fx = arg;

    OP_UNUSED(res);
    fx->store_status = status;
    op_loop_stop(fx->loop);
}

static void put(fx_t *fx, const op_store_rec_t *rec)
{
    fx->store_status = OP_ERROR;
    op_store_put(fx->store, rec, 0, on_put, fx);
    OP_CHECK_INT(op_loop_run(fx->loop), OP_OK);
    OP_CHECK_INT(fx->store_status, OP_OK);
}

static uint64_t store_ops(const fx_t *fx)
{
    op_store_stats_t st;

    op_store_get_stats(fx->store, &st);
    return st.ops;
}

typedef struct checked {
    op_loop_t *loop;
    int calls;
    bool returned; /* op_token_access_check has returned */
    int status;
    op_token_access_t at;
    op_err_t err;
} checked_t;

static void on_check(int status, const op_token_access_t *at, const op_err_t *err, void *arg)
{
    checked_t *c = arg;

    OP_CHECK(c->returned); /* never inside the call */
    c->calls++;
    c->status = status;
    if (status == OP_OK)
        c->at = *at;
    else
        c->err = *err;
    op_loop_stop(c->loop);
}

/* One check, run to its single callback. */
static void check(fx_t *fx, const op_config_t *cfg, int64_t now, const char *token, checked_t *c)
{
    op_token_ctx_t ctx = {cfg, fx->set, now};

    memset(c, 0, sizeof(*c));
    c->loop = fx->loop;
    op_token_access_check(fx->loop, fx->store, &ctx, token, fx->a, on_check, c);
    c->returned = true;
    OP_CHECK_INT(op_loop_run(fx->loop), OP_OK);
    OP_CHECK_INT(c->calls, 1);
}

/* RFC 6750 §3.1 invalid_token. */
static void check_invalid(fx_t *fx, const op_config_t *cfg, int64_t now, const char *token)
{
    checked_t c;

    check(fx, cfg, now, token, &c);
    OP_CHECK_INT(c.status, OP_EDENIED);
    OP_CHECK_STR(c.err.oauth_error, "invalid_token");
    OP_CHECK_INT(c.err.http_status, 401);
}

/* A JWT access token of ours reads back as its grant. */
static void test_check_jwt(void)
{
    fx_t fx;
    op_grant_t g;
    op_token_minted_t m;
    checked_t c;
    op_err_t err;

    fx_init(&fx);
    grant(fx.a, &fx.cfg, &g);
    g.uip = json(fx.a, "{\"nickname\":\"al\"}");
    strs(fx.a, &g.aud, "https://api.example.com");
    op_token_ctx_t ctx = {&fx.cfg, fx.set, NOW};
    op_err_clear(&err);
    OP_CHECK_INT(op_token_at_mint(&ctx, &g, "sid-1", NULL, NULL, fx.a, &m, &err), OP_OK);
    uint64_t ops = store_ops(&fx);
    check(&fx, &fx.cfg, NOW, m.token, &c);
    OP_CHECK_INT(c.status, OP_OK);
    OP_CHECK_STR(c.at.grant.sub, "alice");
    OP_CHECK_STR(c.at.grant.cid, "client-1");
    OP_CHECK_INT(c.at.grant.scp.n, 3);
    OP_CHECK(op_strs_has(&c.at.grant.scp, "openid"));
    OP_CHECK_INT(c.at.grant.clm.n, 2);
    OP_CHECK(op_strs_has(&c.at.grant.clm, "email"));
    OP_CHECK_INT(c.at.grant.cll.n, 2);
    OP_CHECK_STR(c.at.grant.cll.items[0], "de");
    OP_CHECK_STR(op_json_get_str(c.at.grant.uip, "nickname"), "al");
    OP_CHECK_INT(c.at.grant.aud.n, 1);
    OP_CHECK_STR(c.at.sid, "sid-1");
    OP_CHECK_INT(c.at.exp, NOW + 600);
    OP_CHECK_INT(c.at.iat, NOW);
    OP_CHECK(c.at.jti != NULL);
    /* A JWT needs no store round trip. */
    OP_CHECK_INT(store_ops(&fx), ops);
    /* RFC 7519 §4.1.4: not accepted "on or after" exp, with no leeway. */
    check(&fx, &fx.cfg, NOW + 599, m.token, &c);
    OP_CHECK_INT(c.status, OP_OK);
    check_invalid(&fx, &fx.cfg, NOW + 600, m.token);
    fx_free(&fx);
}

/* RFC 9068 §4: what a resource server must refuse. */
static void test_check_jwt_rejected(void)
{
    fx_t fx;
    op_grant_t g;
    op_token_minted_t m;
    op_config_t other;
    op_err_t err;
    char *jws = NULL;

    fx_init(&fx);
    grant(fx.a, &fx.cfg, &g);
    op_token_ctx_t ctx = {&fx.cfg, fx.set, NOW};
    op_err_clear(&err);
    OP_CHECK_INT(op_token_at_mint(&ctx, &g, NULL, NULL, NULL, fx.a, &m, &err), OP_OK);
    const char *payload_b64 = strchr(m.token, '.') + 1;
    size_t plen = (size_t)(strchr(payload_b64, '.') - payload_b64);
    uint8_t *payload = op_arena_alloc(fx.a, plen);
    size_t n = 0;
    OP_CHECK(op_b64url_decode(payload_b64, plen, payload, &n));

    /* Another issuer (RFC 9068 §4 step 3). */
    other = fx.cfg;
    other.issuer = "https://other.example.com";
    check_invalid(&fx, &other, NOW, m.token);
    /* Another typ: an ID token, or no typ (RFC 9068 §4 step 1, RFC 8725
     * §3.11). */
    OP_CHECK_INT(
        op_keys_jws_sign(fx.set, OP_JWS_RS256, "JWT", (char *)payload, n, fx.a, &jws, &err), OP_OK);
    check_invalid(&fx, &fx.cfg, NOW, jws);
    OP_CHECK_INT(op_keys_jws_sign(fx.set, OP_JWS_ES256, NULL, (char *)payload, n, fx.a, &jws, &err),
                 OP_OK);
    check_invalid(&fx, &fx.cfg, NOW, jws);
    /* The same claims with typ at+jwt and another allowed alg pass. */
    OP_CHECK_INT(
        op_keys_jws_sign(fx.set, OP_JWS_EDDSA, "at+jwt", (char *)payload, n, fx.a, &jws, &err),
        OP_OK);
    checked_t c;
    check(&fx, &fx.cfg, NOW, jws, &c);
    OP_CHECK_INT(c.status, OP_OK);
    /* Tampered claims: one character of the payload changed. */
    char *t = op_arena_strdup(fx.a, m.token);
    t[payload_b64 - m.token + 5] = t[payload_b64 - m.token + 5] == 'A' ? 'B' : 'A';
    check_invalid(&fx, &fx.cfg, NOW, t);
    /* Tampered signature. */
    t = op_arena_strdup(fx.a, m.token);
    t[strlen(t) - 3] = t[strlen(t) - 3] == 'A' ? 'B' : 'A';
    check_invalid(&fx, &fx.cfg, NOW, t);
    /* An alg not in the allow-list: HS256 (RFC 8725 §3.1), and "none". */
    OP_CHECK_INT(op_keys_jws_sign_hs256((const uint8_t *)"0123456789abcdef0123456789abcdef", 32,
                                        "at+jwt", (char *)payload, n, fx.a, &jws, &err),
                 OP_OK);
    check_invalid(&fx, &fx.cfg, NOW, jws);
    const char *none = "{\"alg\":\"none\",\"typ\":\"at+jwt\"}";
    char *none_hdr = op_b64url_encode_arena(fx.a, (const uint8_t *)none, strlen(none));
    check_invalid(&fx, &fx.cfg, NOW,
                  op_arena_printf(fx.a, "%s.%.*s.", none_hdr, (int)plen, payload_b64));
    /* Signed by keys that are not ours. */
    op_keys_set_t *foreign = new_set();
    OP_CHECK_INT(
        op_keys_jws_sign(foreign, OP_JWS_RS256, "at+jwt", (char *)payload, n, fx.a, &jws, &err),
        OP_OK);
    op_keys_set_release(foreign);
    check_invalid(&fx, &fx.cfg, NOW, jws);
    /* Malformed: never a store lookup. */
    uint64_t ops = store_ops(&fx);
    check_invalid(&fx, &fx.cfg, NOW, "a.b");
    check_invalid(&fx, &fx.cfg, NOW, "a.b.c.d");
    check_invalid(&fx, &fx.cfg, NOW, "");
    check_invalid(&fx, &fx.cfg, NOW, "with space");
    check_invalid(&fx, &fx.cfg, NOW, "a+b/c=");
    OP_CHECK_INT(store_ops(&fx), ops);
    char *huge = op_arena_alloc(fx.a, OP_TOKEN_MAX_LEN + 2);
    memset(huge, 'a', OP_TOKEN_MAX_LEN + 1);
    huge[OP_TOKEN_MAX_LEN + 1] = '\0';
    check_invalid(&fx, &fx.cfg, NOW, huge);
    OP_CHECK_INT(store_ops(&fx), ops);
    fx_free(&fx);
}

/* An identifier is looked up by its hash, one store operation each. */
static void test_check_identifier(void)
{
    fx_t fx;
    op_grant_t g;
    op_token_minted_t m;
    checked_t c;
    op_err_t err;

    fx_init(&fx);
    grant(fx.a, &fx.cfg, &g);
    g.at_encoding = OP_AT_IDENTIFIER;
    g.uip = json(fx.a, "{\"nickname\":\"al\"}");
    op_token_ctx_t ctx = {&fx.cfg, fx.set, NOW};
    op_err_clear(&err);
    OP_CHECK_INT(op_token_at_mint(&ctx, &g, "sid-1", NULL, NULL, fx.a, &m, &err), OP_OK);
    put(&fx, &m.rec);
    uint64_t ops = store_ops(&fx);
    check(&fx, &fx.cfg, NOW, m.token, &c);
    OP_CHECK_INT(store_ops(&fx), ops + 1);
    OP_CHECK_INT(c.status, OP_OK);
    OP_CHECK_STR(c.at.grant.sub, "alice");
    OP_CHECK_STR(c.at.grant.cid, "client-1");
    OP_CHECK_INT(c.at.grant.scp.n, 3);
    OP_CHECK_INT(c.at.grant.clm.n, 2);
    OP_CHECK_STR(op_json_get_str(c.at.grant.uip, "nickname"), "al");
    OP_CHECK_STR(c.at.sid, "sid-1");
    OP_CHECK_INT(c.at.exp, NOW + 600);
    /* Unknown (or revoked) identifier. */
    check_invalid(&fx, &fx.cfg, NOW, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
    OP_CHECK_INT(store_ops(&fx), ops + 2);
    /* The record's exp counts, not only the store's TTL. */
    check_invalid(&fx, &fx.cfg, NOW + 600, m.token);
    /* A corrupt record is a server error, not a valid token. */
    op_store_rec_t bad = m.rec;
    bad.value = "{\"sub\":1}";
    bad.value_len = strlen(bad.value);
    put(&fx, &bad);
    check(&fx, &fx.cfg, NOW, m.token, &c);
    OP_CHECK_INT(c.status, OP_ERROR);
    OP_CHECK_INT(c.err.http_status, 500);
    fx_free(&fx);
}

static void on_revoked(int status, void *arg)
{
    fx_t *fx = arg;

    fx->store_status = status;
    op_loop_stop(fx->loop);
}

static void revoke_family(fx_t *fx, const char *fam, int64_t atl_s)
{
    fx->store_status = OP_ERROR;
    op_token_revoke_family(fx->store, fam, atl_s, "r-test", on_revoked, fx);
    OP_CHECK_INT(op_loop_run(fx->loop), OP_OK);
    OP_CHECK_INT(fx->store_status, OP_OK);
}

static void on_get_ttl(int status, const op_store_res_t *res, void *arg)
{
    fx_t *fx = arg;

    fx->store_status = status;
    fx->ttl_ms = res->ttl_ms;
    op_loop_stop(fx->loop);
}

/* Status (and fx->ttl_ms) of a get of (ns, key). */
static int lookup(fx_t *fx, const char *ns, const char *key)
{
    op_store_get(fx->store, ns, key, strlen(key), on_get_ttl, fx);
    OP_CHECK_INT(op_loop_run(fx->loop), OP_OK);
    return fx->store_status;
}

/* RFC 6749 §4.1.2, §10.5 and Security BCP §4.14.2: revoking a family
 * (a replayed code, a reused refresh token) refuses its self-contained
 * access tokens - there is nothing to delete - for as long as they live
 * (its revocation record, one store read per check), deletes its stored
 * identifiers and refresh tokens, and leaves other families alone. */
static void test_check_revoked_family(void)
{
    fx_t fx;
    op_grant_t g;
    op_token_minted_t jwt, other, ident, rtm;
    op_token_refresh_t rt = {0};
    checked_t c;
    op_err_t err;

    fx_init(&fx);
    grant(fx.a, &fx.cfg, &g);
    op_token_ctx_t ctx = {&fx.cfg, fx.set, NOW};
    op_err_clear(&err);
    OP_CHECK_INT(op_token_at_mint(&ctx, &g, NULL, "fam-1", NULL, fx.a, &jwt, &err), OP_OK);
    OP_CHECK_INT(op_token_at_mint(&ctx, &g, NULL, "fam-2", NULL, fx.a, &other, &err), OP_OK);
    g.at_encoding = OP_AT_IDENTIFIER;
    OP_CHECK_INT(op_token_at_mint(&ctx, &g, NULL, "fam-1", NULL, fx.a, &ident, &err), OP_OK);
    put(&fx, &ident.rec);
    rt.grant = g;
    rt.fam = "fam-1";
    OP_CHECK_INT(op_token_rt_mint(NOW, true, &rt, fx.a, &rtm, &err), OP_OK);
    put(&fx, &rtm.rec);

    uint64_t ops = store_ops(&fx);
    check(&fx, &fx.cfg, NOW, jwt.token, &c);
    OP_CHECK_INT(c.status, OP_OK);
    OP_CHECK_STR(c.at.fam, "fam-1");
    OP_CHECK_INT(store_ops(&fx), ops + 1); /* the revocation record, absent */

    revoke_family(&fx, "fam-1", 600);
    check_invalid(&fx, &fx.cfg, NOW, jwt.token);
    check_invalid(&fx, &fx.cfg, NOW, ident.token);
    OP_CHECK_INT(lookup(&fx, OP_TOKEN_NS_RT, rtm.key), OP_ENOTFOUND);
    check(&fx, &fx.cfg, NOW, other.token, &c);
    OP_CHECK_INT(c.status, OP_OK);
    /* The record lasts as long as the family's access tokens, plus the
     * time an exchange of the family may still be running. */
    OP_CHECK_INT(lookup(&fx, OP_TOKEN_NS_REVOKED, "fam-1"), OP_OK);
    OP_CHECK(fx.ttl_ms > 600 * 1000 && fx.ttl_ms <= (600 + OP_TOKEN_REVOKED_SLACK_S) * 1000);
    /* Their lifetime unknown: the longest an access token can have. */
    revoke_family(&fx, "fam-3", 0);
    OP_CHECK_INT(lookup(&fx, OP_TOKEN_NS_REVOKED, "fam-3"), OP_OK);
    OP_CHECK(fx.ttl_ms > (int64_t)OP_TOKEN_AT_LIFETIME_MAX * 1000);
    fx_free(&fx);
}

/* ---- refresh tokens, codes, PKCE --------------------------------------------- */

/* A family: exp from the grant's lifetime, TTL min(left, max idle),
 * indexes sub, cid, fam; rotation keeps family and end (docs/records.md). */
static void test_rt_family(void)
{
    op_arena_t *a = op_arena_new(4 << 20);
    op_config_t cfg;
    op_token_refresh_t rt = {0}, back, next;
    op_token_minted_t m, m2;
    char hex[65];
    op_err_t err;

    config(&cfg);
    grant(a, &cfg, &rt.grant);
    rt.authn = (op_token_authn_t){.auth_time = NOW - 5, .acr = "1", .sid = "sid-1"};
    strs(a, &rt.authn.amr, "pwd");
    op_err_clear(&err);
    rt.fam = op_token_fam_new(a);
    OP_CHECK(rt.fam != NULL && strlen(rt.fam) == 22);
    OP_CHECK_INT(op_token_rt_mint(NOW, true, &rt, a, &m, &err), OP_OK);
    OP_CHECK_INT(rt.exp, NOW + 86400);
    OP_CHECK_INT(rt.iat, NOW);
    OP_CHECK_INT(strlen(m.token), 43);
    op_keys_crypto_sha256_hex(m.token, strlen(m.token), hex);
    OP_CHECK_STR(m.key, hex);
    OP_CHECK_STR(m.rec.ns, "rt");
    OP_CHECK_STR(m.rec.key, hex);
    OP_CHECK_INT(m.rec.ttl_ms, 3600 * 1000);
    OP_CHECK_INT(m.rec.nindexes, 3);
    OP_CHECK_STR(m.rec.indexes[2].name, "fam");
    OP_CHECK_STR(m.rec.indexes[2].value, rt.fam);
    OP_CHECK_INT(op_token_rt_read(a, m.rec.value, m.rec.value_len, &cfg, &back, &err), OP_OK);
    OP_CHECK_STR(back.fam, rt.fam);
    OP_CHECK_INT(back.exp, NOW + 86400);
    OP_CHECK_INT(back.iat, NOW);
    OP_CHECK_STR(back.grant.sub, "alice");
    OP_CHECK_INT(back.grant.scp.n, 3);
    OP_CHECK_INT(back.authn.auth_time, NOW - 5);
    OP_CHECK_STR(back.authn.acr, "1");
    OP_CHECK_STR(back.authn.sid, "sid-1");
    OP_CHECK_INT(back.authn.amr.n, 1);

    /* Rotation near the end: same family and end, TTL the time left. */
    next = back;
    OP_CHECK_INT(op_token_rt_mint(NOW + 86000, false, &next, a, &m2, &err), OP_OK);
    OP_CHECK_STR(next.fam, rt.fam);
    OP_CHECK_INT(next.exp, NOW + 86400);
    OP_CHECK_INT(m2.rec.ttl_ms, 400 * 1000);
    OP_CHECK(strcmp(m2.token, m.token) != 0);
    /* The family's lifetime is over. */
    next = back;
    OP_CHECK_INT(op_token_rt_mint(NOW + 86400, false, &next, a, &m2, &err), OP_EDENIED);
    OP_CHECK_STR(err.oauth_error, "invalid_grant");
    /* Its idle time starts again on use (same record, new TTL). */
    op_store_rec_t rec;
    OP_CHECK_INT(op_token_rt_record(NOW + 100, &back, m.key, a, &rec, &err), OP_OK);
    OP_CHECK_STR(rec.key, m.key);
    OP_CHECK_INT(rec.ttl_ms, 3600 * 1000);

    /* rt-used: kept while the family may live, naming it and the
     * lifetime of its access tokens. */
    op_token_used_t used;
    OP_CHECK_INT(op_token_rt_used_record(NOW + 400, &back, 600, m.key, a, &rec, &err), OP_OK);
    OP_CHECK_STR(rec.ns, "rt-used");
    OP_CHECK_STR(rec.key, m.key);
    OP_CHECK_INT(rec.ttl_ms, 86000 * 1000ull);
    OP_CHECK_INT(op_token_used_read(a, rec.value, rec.value_len, &used, &err), OP_OK);
    OP_CHECK_STR(used.fam, rt.fam);
    OP_CHECK_INT(used.atl_s, 600);

    /* No lifetime and no idle limit: no expiry at all. */
    op_token_refresh_t forever = {0};
    grant(a, &cfg, &forever.grant);
    forever.grant.rt_lifetime_s = 0;
    forever.grant.rt_max_idle_s = 0;
    forever.fam = "fam-2";
    OP_CHECK_INT(op_token_rt_mint(NOW, true, &forever, a, &m, &err), OP_OK);
    OP_CHECK_INT(forever.exp, 0);
    OP_CHECK_INT(m.rec.ttl_ms, 0);
    OP_CHECK_INT(m.lifetime_s, 0);
    /* Corrupt records. */
    const char *no_fam = "{\"sub\":\"a\",\"cid\":\"c\"}";
    OP_CHECK_INT(op_token_rt_read(a, no_fam, strlen(no_fam), &cfg, &back, &err), OP_EINVAL);
    OP_CHECK_INT(op_token_rt_read(a, "[]", 2, &cfg, &back, &err), OP_EINVAL);
    op_arena_free(a);
}

static void test_code(void)
{
    op_arena_t *a = op_arena_new(4 << 20);
    op_config_t cfg;
    op_token_code_t c = {0}, back;
    op_token_minted_t m;
    char hex[65];
    op_err_t err;

    config(&cfg);
    grant(a, &cfg, &c.grant);
    c.ruri = "https://rp.example.com/cb";
    c.nonce = "n-0S6";
    c.cc = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
    c.ccm = "S256";
    c.authn = (op_token_authn_t){.auth_time = NOW - 5, .sid = "sid-1"};
    op_err_clear(&err);
    OP_CHECK_INT(op_token_code_mint(&cfg, NOW, &c, a, &m, &err), OP_OK);
    op_keys_crypto_sha256_hex(m.token, strlen(m.token), hex);
    OP_CHECK_STR(m.rec.ns, "code");
    OP_CHECK_STR(m.rec.key, hex);
    OP_CHECK_INT(m.rec.ttl_ms, 300 * 1000);
    OP_CHECK_INT(m.rec.nindexes, 0);
    OP_CHECK_INT(op_token_code_read(a, m.rec.value, m.rec.value_len, &cfg, &back, &err), OP_OK);
    OP_CHECK_STR(back.grant.sub, "alice");
    OP_CHECK_STR(back.grant.cid, "client-1");
    OP_CHECK_STR(back.ruri, c.ruri);
    OP_CHECK_STR(back.nonce, "n-0S6");
    OP_CHECK_STR(back.cc, c.cc);
    OP_CHECK_STR(back.ccm, "S256");
    OP_CHECK_INT(back.authn.auth_time, NOW - 5);
    OP_CHECK_STR(back.authn.sid, "sid-1");
    OP_CHECK_INT(back.iat, NOW);
    const char *bad_cc = "{\"sub\":\"a\",\"cid\":\"c\",\"cc\":1}";
    OP_CHECK_INT(op_token_code_read(a, bad_cc, strlen(bad_cc), &cfg, &back, &err), OP_EINVAL);

    /* The family a code started (docs/records.md code-used), revoked on
     * replay; the access token lifetime comes once the code was read. */
    op_store_rec_t rec;
    op_token_used_t used = {"fam-1", 0}, got;
    OP_CHECK_INT(op_token_used_record("code-used", hex, &used, 600, a, &rec, &err), OP_OK);
    OP_CHECK_STR(rec.ns, "code-used");
    OP_CHECK_STR(rec.key, hex);
    OP_CHECK_INT(rec.ttl_ms, 600 * 1000);
    OP_CHECK_INT(rec.nindexes, 0);
    OP_CHECK_INT(op_token_used_read(a, rec.value, rec.value_len, &got, &err), OP_OK);
    OP_CHECK_STR(got.fam, "fam-1");
    OP_CHECK_INT(got.atl_s, 0);
    used.atl_s = 3600;
    OP_CHECK_INT(op_token_used_record("code-used", hex, &used, 600, a, &rec, &err), OP_OK);
    OP_CHECK_INT(op_token_used_read(a, rec.value, rec.value_len, &got, &err), OP_OK);
    OP_CHECK_INT(got.atl_s, 3600);
    const char *const bad[] = {"{}", "[]", "{\"fam\":1}", "{\"fam\":\"f\",\"atl\":\"x\"}",
                               "{\"fam\":\"f\",\"atl\":-1}"};
    for (size_t i = 0; i < OP_NELEMS(bad); i++)
        OP_CHECK_INT(op_token_used_read(a, bad[i], strlen(bad[i]), &got, &err), OP_EINVAL);
    op_arena_free(a);
}

/* RFC 7636 §4.6 and the example of Appendix B. */
static void test_pkce(void)
{
    const char *v = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    const char *cc = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
    char v42[43], v129[130];
    op_err_t err;

    memset(v42, 'a', 42);
    v42[42] = '\0';
    memset(v129, 'a', 129);
    v129[129] = '\0';
    op_err_clear(&err);
    OP_CHECK_INT(op_token_pkce_check(cc, "S256", v, &err), OP_OK);
    OP_CHECK_INT(op_token_pkce_check(cc, NULL, v, &err), OP_OK);
    OP_CHECK_INT(op_token_pkce_check(NULL, NULL, NULL, &err), OP_OK);
    OP_CHECK_INT(op_token_pkce_check(v, "plain", v, &err), OP_OK);
    /* Each refusal is invalid_grant (§4.6). */
    const struct {
        const char *cc, *ccm, *v;
    } bad[] = {
        {cc, "S256", "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXj"}, /* mismatch */
        {cc, "S256", NULL},                                          /* verifier missing */
        {NULL, NULL, v},                                             /* no challenge */
        {cc, "S256", v42},                                           /* §4.1: 43 at least */
        {cc, "S256", v129},                                          /* 128 at most */
        {cc, "S256", "dBjftJeZ4CVP+mB92K27uhbUJU1p1r_wW1gFWFOEjXk"}, /* not unreserved */
        {cc, "S512", v},                                             /* unknown method */
        {v, "plain", "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXj"}, /* plain mismatch */
    };
    for (size_t i = 0; i < OP_NELEMS(bad); i++) {
        op_err_clear(&err);
        OP_CHECK_INT(op_token_pkce_check(bad[i].cc, bad[i].ccm, bad[i].v, &err), OP_EDENIED);
        OP_CHECK_STR(err.oauth_error, "invalid_grant");
        OP_CHECK_INT(err.http_status, 400);
    }
}

/* RFC 6749 §3.3 scope strings; the UserInfo form of the claims writer
 * (only "sub" is reserved). */
static void test_scope_and_claims(void)
{
    op_arena_t *a = op_arena_new(1 << 20);
    op_strs_t l;
    op_json_w_t *w = op_json_w_new(a, false);
    const char *out = NULL;
    op_err_t err;

    strs(a, &l, "openid  profile openid email");
    OP_CHECK_INT(l.n, 3);
    OP_CHECK_STR(op_token_scope_str(a, &l), "openid profile email");
    strs(a, &l, "");
    OP_CHECK_INT(l.n, 0);
    OP_CHECK_STR(op_token_scope_str(a, &l), "");

    strs(a, &l, "name email");
    op_json_w_obj_open(w);
    op_json_w_kstr(w, "sub", "alice");
    op_token_claims_write(w, json(a, "{\"email\":\"p@x\",\"sub\":\"x\"}"),
                          json(a, "{\"name\":\"A\",\"email\":\"f@x\",\"acr\":\"1\",\"x\":2}"), &l,
                          false);
    op_token_claims_write(w, NULL, NULL, NULL, false);
    op_json_w_obj_close(w);
    op_err_clear(&err);
    OP_CHECK_INT(op_json_w_finish(w, &out, NULL, &err), OP_OK);
    OP_CHECK_STR(out, "{\"sub\":\"alice\",\"email\":\"p@x\",\"name\":\"A\"}");
    op_arena_free(a);
}

static const op_test_case_t cases[] = {
    {"id_token_claims", test_id_token_claims},
    {"id_token_client_alg", test_id_token_client_alg},
    {"half_hash", test_half_hash},
    {"id_token_hashes", test_id_token_hashes},
    {"id_token_extra_claims", test_id_token_extra_claims},
    {"at_jwt", test_at_jwt},
    {"at_identifier", test_at_identifier},
    {"check_jwt", test_check_jwt},
    {"check_jwt_rejected", test_check_jwt_rejected},
    {"check_identifier", test_check_identifier},
    {"check_revoked_family", test_check_revoked_family},
    {"rt_family", test_rt_family},
    {"code", test_code},
    {"pkce", test_pkce},
    {"scope_and_claims", test_scope_and_claims},
};

OP_TEST_MAIN(cases)
