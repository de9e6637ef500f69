/*
 * core/proto/op_sub_session.c - subject (SSO) session records and timeouts, the
 * random session ids and their sealing in authorisation session records.
 */
#include <string.h>
#include <time.h>

#include "core/proto/op_sub_session.h"
#include "keys/op_keys.h"

#define OP_SUB_SESSION_SID_CLAIM_BYTES 16 /* 22 base64url chars */
#define OP_SUB_SESSION_ID_BYTES        32
#define OP_SUB_SESSION_SEALED_MAX      256 /* nonce, ".", a sealed 43-char id */

void op_sub_session_key(const char *sub_sid, char key[65])
{
    op_keys_crypto_sha256_hex(sub_sid, strlen(sub_sid), key);
}

const char *op_sub_session_new_id(op_arena_t *a)
{
    return op_keys_crypto_rand_token(a, OP_SUB_SESSION_ID_BYTES);
}

char *op_sub_session_seal_id(op_arena_t *a, const char *sid, const char *sub_sid)
{
    uint8_t key[OP_SUBKEY_LEN];
    char *nonce, *ct;
    op_err_t err;
    int rc;

    op_keys_crypto_kdf(sid, strlen(sid), OP_KDF_INFO_SUB_SID, key);
    rc = op_keys_crypto_seal(key, "", (const uint8_t *)sub_sid, strlen(sub_sid), a, &nonce, &ct,
                             &err);
    explicit_bzero(key, sizeof(key));
    return rc == OP_OK ? op_arena_printf(a, "%s.%s", nonce, ct) : NULL;
}

const char *op_sub_session_open_id(op_arena_t *a, const char *sid, const char *sealed)
{
    const char *dot = strchr(sealed, '.');
    uint8_t key[OP_SUBKEY_LEN], *pt = NULL;
    const char *id = NULL;
    size_t len = 0;
    int rc;

    if (dot == NULL || strlen(sealed) > OP_SUB_SESSION_SEALED_MAX)
        return NULL;
    op_keys_crypto_kdf(sid, strlen(sid), OP_KDF_INFO_SUB_SID, key);
    rc = op_keys_crypto_open(key, "", sealed, (size_t)(dot - sealed), dot + 1, strlen(dot + 1), &pt,
                             &len);
    explicit_bzero(key, sizeof(key));
    if (rc != OP_OK)
        return NULL;
    if (len > 0 && memchr(pt, '\0', len) == NULL)
        id = op_arena_strndup(a, (const char *)pt, len);
    op_keys_crypto_free(pt, len);
    return id;
}

int op_sub_session_new(op_arena_t *a, const op_config_t *cfg, const char *sub, int64_t auth_time,
                       op_sub_session_t *out)
{
    memset(out, 0, sizeof(*out));
    out->sid_claim = op_keys_crypto_rand_token(a, OP_SUB_SESSION_SID_CLAIM_BYTES);
    out->sub = op_arena_strdup(a, sub);
    if (out->sid_claim == NULL || out->sub == NULL)
        return OP_ETOOBIG;
    int64_t now = op_loop_epoch();
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    out->auth_time = auth_time;
    out->creation_time = now;
    out->creation_ms = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
    out->last_used = now;
    out->max_life = cfg->session_max_life_min;
    out->auth_life = cfg->session_auth_life_min;
    out->max_idle = cfg->session_max_idle_min;
    return OP_OK;
}

static int op_sub_session_int(const op_json_t *o, const char *key, int64_t min, int64_t *out)
{
    int64_t v;
    if (!op_json_get_int(o, key, &v) || v < min)
        return OP_EINVAL;
    *out = v;
    return OP_OK;
}

int op_sub_session_read(op_arena_t *a, const char *json, size_t len, op_sub_session_t *out,
                        op_err_t *err)
{
    op_json_t *o;
    memset(out, 0, sizeof(*out));
    int rc = op_json_parse(a, json, len, NULL, &o, err);
    return rc != OP_OK ? rc : op_sub_session_from_json(a, o, out, err);
}

int op_sub_session_from_json(op_arena_t *a, const op_json_t *o, op_sub_session_t *out,
                             op_err_t *err)
{
    memset(out, 0, sizeof(*out));
    int64_t ml, al, mi;
    out->sub = op_json_get_str(o, "sub");
    out->acr = op_json_get_str(o, "acr");
    out->sid_claim = op_json_get_str(o, "sid");
    out->data = op_json_get(o, "data");
    out->claims = op_json_get(o, "claims");
    if (out->sub == NULL || out->sid_claim == NULL ||
        op_sub_session_int(o, "auth_time", 0, &out->auth_time) != OP_OK ||
        op_sub_session_int(o, "creation_time", 0, &out->creation_time) != OP_OK ||
        op_sub_session_int(o, "last_used", 0, &out->last_used) != OP_OK ||
        op_sub_session_int(o, "max_life", -1, &ml) != OP_OK ||
        op_sub_session_int(o, "auth_life", -1, &al) != OP_OK ||
        op_sub_session_int(o, "max_idle", -1, &mi) != OP_OK ||
        op_strs_from_json(a, op_json_get(o, "amr"), &out->amr) != OP_OK ||
        op_strs_from_json(a, op_json_get(o, "rps"), &out->rps) != OP_OK ||
        (out->data != NULL && out->data->type != OP_JSON_OBJECT) ||
        (out->claims != NULL && out->claims->type != OP_JSON_OBJECT))
        return OP_ERR(err, OP_EINVAL, "subject session record is malformed");
    out->max_life = (int)ml;
    out->auth_life = (int)al;
    out->max_idle = (int)mi;
    if (!op_json_get_int(o, "ctm", &out->creation_ms))
        out->creation_ms = out->creation_time * 1000;
    return OP_OK;
}

void op_sub_session_write_api(op_json_w_t *w, const op_sub_session_t *s, const char *sid)
{
    if (sid != NULL)
        op_json_w_kstr(w, "sid", sid);
    op_json_w_kstr(w, "sub", s->sub);
    op_json_w_kint(w, "auth_time", s->auth_time);
    op_json_w_kint(w, "creation_time", s->creation_time);
    if (s->acr != NULL)
        op_json_w_kstr(w, "acr", s->acr);
    if (s->amr.n > 0) {
        op_json_w_key(w, "amr");
        op_strs_write(w, &s->amr);
    }
    op_json_w_kint(w, "max_life", s->max_life);
    op_json_w_kint(w, "auth_life", s->auth_life);
    op_json_w_kint(w, "max_idle", s->max_idle);
    op_json_w_key(w, "rps");
    op_strs_write(w, &s->rps);
    if (s->data != NULL) {
        op_json_w_key(w, "data");
        op_json_w_value(w, s->data);
    }
    if (s->claims != NULL) {
        op_json_w_key(w, "claims");
        op_json_w_value(w, s->claims);
    }
    op_json_w_kstr(w, "ctx", "web");
}

void op_sub_session_write_record(op_json_w_t *w, const op_sub_session_t *s)
{
    op_json_w_obj_open(w);
    op_sub_session_write_api(w, s, NULL);
    op_json_w_kint(w, "last_used", s->last_used);
    op_json_w_kint(w, "ctm", s->creation_ms);
    op_json_w_kstr(w, "sid", s->sid_claim);
    op_json_w_obj_close(w);
}

int op_sub_session_write(op_arena_t *a, const op_sub_session_t *s, const char **out, size_t *len,
                         op_err_t *err)
{
    op_json_w_t *w = op_json_w_new(a, false);
    if (w == NULL)
        return OP_ERR(err, OP_ETOOBIG, "subject session too large");
    op_sub_session_write_record(w, s);
    return op_json_w_finish(w, out, len, err);
}

bool op_sub_session_alive(const op_sub_session_t *s, int64_t now)
{
    if (s->max_life >= 0 && now >= s->creation_time + (int64_t)s->max_life * 60)
        return false;
    if (s->max_idle >= 0 && now >= s->last_used + (int64_t)s->max_idle * 60)
        return false;
    return true;
}

bool op_sub_session_auth_fresh(const op_sub_session_t *s, int64_t now)
{
    return s->auth_life < 0 || now < s->auth_time + (int64_t)s->auth_life * 60;
}

uint64_t op_sub_session_ttl_ms(const op_sub_session_t *s, int64_t now)
{
    int64_t ttl = INT64_MAX;
    if (s->max_life >= 0)
        ttl = s->creation_time + (int64_t)s->max_life * 60 - now;
    if (s->max_idle >= 0 && (int64_t)s->max_idle * 60 < ttl)
        ttl = (int64_t)s->max_idle * 60;
    if (ttl == INT64_MAX)
        return 0;
    return ttl <= 0 ? 1 : (uint64_t)ttl * 1000u; /* already over: expire at once */
}
