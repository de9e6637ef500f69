/*
 * tests/unit/keys/test_op_keys.c - opening keys/op_keys.c's key store on the
 * memory store: first open generates and stores, later opens load the
 * same kids, wrong encryption key and tampered records fail clearly, the
 * create-only race between two opens, records of format 1, private parts
 * under a subkey, store errors, bad config. Refreshes are in
 * test_op_keys_refresh.c.
 */
#include "tests/unit/op_test_keys.h"

/* ---- cases -------------------------------------------------------------- */

static void test_generate_and_store(void)
{
    env_t e;
    opener_t o;
    op_keys_set_t *set;

    env_init(&e, 1);
    open_keys(&e, 0, key1, &o);
    OP_CHECK_INT(o.status, OP_OK);
    set = op_keys_current(o.keys);
    OP_CHECK_INT(set->nkeys, 3);
    OP_CHECK_INT(set->version, 1);
    OP_CHECK(op_keys_set_jwks(set, NULL) != NULL);
    /* The record names every kid, holds sealed private parts only. */
    check_record_names(&e, 0, set);
    OP_CHECK(strncmp(e.value, "{\"format\":2,\"version\":1,", 24) == 0);
    OP_CHECK(strstr(e.value, "\"enc\":\"") != NULL);
    OP_CHECK(strstr(e.value, "\"nonce\":\"") != NULL);
    OP_CHECK(strstr(e.value, "\"alg\":\"RS256\"") != NULL);
    OP_CHECK(strstr(e.value, "\"d\"") == NULL);
    OP_CHECK(strstr(e.value, "\"p\"") == NULL);
    op_keys_set_release(set);
    op_keys_close(o.keys);
    env_free(&e);
}

static void test_reload_same_kids(void)
{
    env_t e;
    opener_t a, b;
    char *ka, *kb, *rec;

    env_init(&e, 1);
    open_keys(&e, 0, key1, &a);
    read_record(&e, 0);
    rec = strdup(e.value);
    ka = kids(a.keys);
    op_keys_close(a.keys);
    open_keys(&e, 0, key1, &b);
    OP_CHECK_INT(b.status, OP_OK);
    kb = kids(b.keys);
    OP_CHECK_STR(kb, ka);
    /* Nothing new was generated or written. */
    read_record(&e, 0);
    OP_CHECK_STR(e.value, rec);
    /* A token of the first instance verifies with the second. */
    op_keys_set_t *set = op_keys_current(b.keys);
    OP_CHECK(op_keys_set_kid(set, OP_JWS_ES256) != NULL);
    op_keys_set_release(set);
    free(ka);
    free(kb);
    free(rec);
    op_keys_close(b.keys);
    env_free(&e);
}

static void test_wrong_enc_key(void)
{
    env_t e;
    opener_t a, b;

    env_init(&e, 1);
    open_keys(&e, 0, key1, &a);
    op_keys_close(a.keys);
    open_keys(&e, 0, key2, &b);
    OP_CHECK_INT(b.status, OP_EDENIED);
    OP_CHECK(b.keys == NULL);
    OP_CHECK(strstr(b.desc, "keyStore.encJWK does not decrypt the stored key set (kid ") != NULL);
    env_free(&e);
}

/* Open a store holding value; expect failure with code and text. */
static void expect_open_fails(env_t *e, const char *value, int code, const char *text)
{
    opener_t o;

    write_record(e, 0, value);
    open_keys(e, 0, key1, &o);
    if (o.status != code || strstr(o.desc, text) == NULL)
        fprintf(stderr, "open: %d \"%s\", expected %d \"%s\"\n", o.status, o.desc, code, text);
    OP_CHECK_INT(o.status, code);
    OP_CHECK(strstr(o.desc, text) != NULL);
}

/* The record rec with its first `from` replaced by `to` fails to open as
 * expect_open_fails says. */
static void expect_edit_fails(env_t *e, const char *rec, const char *from, const char *to, int code,
                              const char *text)
{
    char *bad = replace(rec, from, to);

    expect_open_fails(e, bad, code, text);
    free(bad);
}

static void test_tampered_record(void)
{
    env_t e;
    opener_t o;
    char *rec, *bad, *at;

    env_init(&e, 1);
    open_keys(&e, 0, key1, &o);
    op_keys_close(o.keys);
    read_record(&e, 0);
    rec = strdup(e.value);

    /* One ciphertext character changed. */
    bad = strdup(rec);
    at = strstr(bad, "\"enc\":\"") + 20;
    *at = *at == 'A' ? 'B' : 'A';
    expect_open_fails(&e, bad, OP_EDENIED, "keyStore.encJWK does not decrypt");
    free(bad);
    /* A ciphertext moved to another kid (the kid is the associated data). */
    expect_edit_fails(&e, rec, "\"kid\":\"", "\"kid\":\"X", OP_EDENIED,
                      "keyStore.encJWK does not decrypt");
    /* Not JSON, no version, no keys, a key without its ciphertext. */
    expect_open_fails(&e, "not json", OP_EINVAL, "stored key set is corrupt");
    expect_open_fails(&e, "{\"version\":1,\"version\":2}", OP_EINVAL, "corrupt");
    expect_edit_fails(&e, rec, "\"version\":1", "\"versio\":1", OP_EINVAL, "corrupt: no version");
    expect_open_fails(&e, "{\"version\":1,\"created\":1,\"keys\":[]}", OP_EINVAL, "corrupt");
    expect_edit_fails(&e, rec, "\"enc\":", "\"Enc\":", OP_EINVAL, "corrupt");
    expect_edit_fails(&e, rec, "\"alg\":\"RS256\"", "\"alg\":\"ES256\"", OP_EINVAL,
                      "does not match");
    expect_edit_fails(&e, rec, "\"nonce\":\"", "\"nonce\":\"AAAA", OP_EINVAL, "bad nonce");
    /* A format from the future, or not a number; format 1 is another key. */
    expect_edit_fails(&e, rec, "\"format\":2", "\"format\":3", OP_EINVAL,
                      "record format this server does not know");
    expect_edit_fails(&e, rec, "\"format\":2", "\"format\":\"2\"", OP_EINVAL, "record format");
    expect_edit_fails(&e, rec, "\"format\":2", "\"format\":1", OP_EDENIED,
                      "keyStore.encJWK does not decrypt");
    /* The genuine record still opens. */
    write_record(&e, 0, rec);
    open_keys(&e, 0, key1, &o);
    OP_CHECK_INT(o.status, OP_OK);
    op_keys_close(o.keys);
    free(rec);
    env_free(&e);
}

static void test_nx_race(void)
{
    env_t e;
    opener_t a, b;

    env_init(&e, 1);
    start_open(&e, 0, key1, 0, &a);
    start_open(&e, 0, key1, 0, &b);
    OP_CHECK_INT(op_loop_run(e.loop), OP_OK);
    OP_CHECK_INT(a.calls, 1);
    OP_CHECK_INT(b.calls, 1);
    OP_CHECK(!a.early && !b.early);
    OP_CHECK_INT(a.status, OP_OK);
    OP_CHECK_INT(b.status, OP_OK);
    check_same_kids(a.keys, b.keys);
    /* And they are the stored ones. */
    check_record_names_current(&e, 0, a.keys);
    op_keys_close(a.keys);
    op_keys_close(b.keys);
    env_free(&e);
}

/* tests/data/keys/record-v1.json as a C string (the caller frees it). */
static char *read_v1_record(void)
{
    FILE *f = fopen("tests/data/keys/record-v1.json", "r");
    char *buf = malloc(OP_STORE_MAX_VALUE);
    size_t n;

    OP_CHECK(f != NULL && buf != NULL);
    n = fread(buf, 1, OP_STORE_MAX_VALUE - 1, f);
    fclose(f);
    while (n > 0 && buf[n - 1] == '\n')
        n--;
    buf[n] = '\0';
    return buf;
}

/*
 * Records of format 1 (no "format" member; private parts sealed under
 * keyStore.encJWK itself, as written before subkeys) still open, and are
 * kept byte for byte: also when a worker stores one again after a loss.
 * The file was written by the server of that time with key1.
 */
static void test_record_v1_still_opens(void)
{
    env_t e;
    opener_t o;
    char *rec = read_v1_record();
    op_keys_set_t *set;
    watch_t w;

    OP_CHECK(strncmp(rec, "{\"version\":1,", 13) == 0);
    env_init(&e, 1);
    write_record(&e, 0, rec);
    open_polled(&e, 0, key1, 10, &o);
    set = op_keys_current(o.keys);
    OP_CHECK_INT(set->nkeys, 3);
    for (size_t i = 0; i < set->nkeys; i++)
        OP_CHECK(strstr(rec, set->keys[i]->pub.kid) != NULL);
    op_keys_set_release(set);
    start_delete(&e, 0);
    w = (watch_t){.keys = o.keys, .refreshes = o.keys->refreshes + 3};
    poll_until(&e, refreshed, &w);
    read_record(&e, 0);
    OP_CHECK_STR(e.value, rec);
    op_keys_close(o.keys);
    /* With another key, it does not open. */
    open_keys(&e, 0, key2, &o);
    OP_CHECK_INT(o.status, OP_EDENIED);
    free(rec);
    env_free(&e);
}

/*
 * One key, one purpose: what the record seals is under a subkey of
 * keyStore.encJWK (HKDF, label OP_KDF_INFO_JWK), not under that key
 * itself, which then serves no other use directly.
 */
static void test_sealed_under_subkey(void)
{
    env_t e;
    opener_t o;
    op_arena_t *a = op_arena_new(1 << 20);
    uint8_t sub[OP_SUBKEY_LEN], *pt;
    size_t pt_len;
    op_json_t *root;
    const op_json_t *k;
    op_err_t err;

    env_init(&e, 1);
    open_keys(&e, 0, key1, &o);
    OP_CHECK_INT(o.status, OP_OK);
    read_record(&e, 0);
    op_err_clear(&err);
    OP_CHECK_INT(op_json_parse(a, e.value, e.value_len, NULL, &root, &err), OP_OK);
    op_keys_crypto_kdf(key1, sizeof(key1), OP_KDF_INFO_JWK, sub);
    k = op_json_get(root, "keys");
    OP_CHECK(op_json_is(k, OP_JSON_ARRAY) && k->u.arr.n == 3);
    for (size_t i = 0; i < k->u.arr.n; i++) {
        const op_json_t *n = op_json_get(k->u.arr.items[i], "nonce");
        const op_json_t *c = op_json_get(k->u.arr.items[i], "enc");
        const char *kid = op_json_get_str(k->u.arr.items[i], "kid");

        OP_CHECK_INT(op_keys_crypto_open(key1, kid, n->u.str.s, n->u.str.len, c->u.str.s,
                                         c->u.str.len, &pt, &pt_len),
                     OP_EDENIED);
        OP_CHECK_INT(op_keys_crypto_open(sub, kid, n->u.str.s, n->u.str.len, c->u.str.s,
                                         c->u.str.len, &pt, &pt_len),
                     OP_OK);
        op_keys_crypto_free(pt, pt_len);
    }
    op_keys_close(o.keys);
    op_arena_free(a);
    env_free(&e);
}

/*
 * The store fails under open: it is closed right after open started, so
 * the read completes (not found) and the create-only write of the new set
 * is refused with OP_ECANCELED. Open reports it through its callback.
 */
static void test_store_error(void)
{
    env_t e;
    opener_t o;

    env_init(&e, 1);
    start_open(&e, 0, key1, 0, &o);
    op_store_close(e.store[0], on_store_closed, NULL);
    e.store[0] = NULL;
    OP_CHECK_INT(op_loop_run(e.loop), OP_OK);
    OP_CHECK_INT(o.calls, 1);
    OP_CHECK(!o.early);
    OP_CHECK_INT(o.status, OP_ECANCELED);
    OP_CHECK(strstr(o.desc, "cannot store the new key set") != NULL);
    env_free(&e);
}

/* op_keys_open on store with cfg is refused as OP_EINVAL, its callback run
 * once and after the call returned, the description naming text. */
static void expect_bad_config(env_t *e, op_store_t *store, const op_keys_config_t *cfg,
                              const char *text)
{
    opener_t o;

    memset(&o, 0, sizeof(o));
    op_keys_open(e->loop, store, cfg, on_open, &o);
    o.returned = true;
    OP_CHECK_INT(op_loop_run(e->loop), OP_OK);
    OP_CHECK_INT(o.calls, 1);
    OP_CHECK(!o.early);
    OP_CHECK_INT(o.status, OP_EINVAL);
    OP_CHECK(strstr(o.desc, text) != NULL);
}

static void test_bad_config(void)
{
    env_t e;
    op_keys_config_t cfg = {.enc_key = key1, .rsa_bits = 1024};

    env_init(&e, 1);
    expect_bad_config(&e, e.store[0], NULL, "keyStore.encJWK");
    expect_bad_config(&e, e.store[0], &cfg, "RSA key size 1024");
    expect_bad_config(&e, NULL, &cfg, "no store");
    env_free(&e);
}

static const op_test_case_t cases[] = {
    {"generate_and_store", test_generate_and_store},
    {"reload_same_kids", test_reload_same_kids},
    {"wrong_enc_key", test_wrong_enc_key},
    {"tampered_record", test_tampered_record},
    {"nx_race", test_nx_race},
    {"record_v1_still_opens", test_record_v1_still_opens},
    {"sealed_under_subkey", test_sealed_under_subkey},
    {"store_error", test_store_error},
    {"bad_config", test_bad_config},
};

OP_TEST_MAIN(cases)
