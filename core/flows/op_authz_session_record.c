/*
 * core/flows/op_authz_session_record.c - the authorisation session's record (see
 * core/flows/op_authz_session.h): its id and key, serialising it (the new
 * subject session's id sealed under the session id), reading it back,
 * and the compare-and-set that makes one session yield one response.
 *
 * The record, in namespace authz-sess under SHA-256 of the sid:
 *   {"stage": "auth" | "consent", "query": "<raw query>", "iat": n,
 *    "sk": "<subject session key>", "sub_new": bool,
 *    "sub_sid": "<sealed id>" (sub_new), "sub": {...} (consent stage),
 *    "data": {...}}
 * Errors go to the flow's f->err.
 */
#include <string.h>

#include "core/flows/op_authz_session.h"

#define OP_AUTHZ_RECORD_SID_BYTES 32

int op_authz_session_record_new(op_authz_session_t *as)
{
    op_arena_t *a = as->flow->arena;
    const char *cid = as->areq.client_id;
    char *tag = op_b64url_encode_arena(a, (const uint8_t *)cid, strlen(cid));
    char *rnd = op_keys_crypto_rand_token(a, OP_AUTHZ_RECORD_SID_BYTES);

    as->sid = tag != NULL && rnd != NULL ? op_arena_printf(a, "%s.%s", tag, rnd) : NULL;
    if (as->sid == NULL)
        return OP_ERR(&as->flow->err, OP_ETOOBIG, "the session id does not fit the flow's arena");
    op_authz_session_record_key(as);
    as->created = op_loop_epoch();
    return OP_OK;
}

void op_authz_session_record_key(op_authz_session_t *as)
{
    op_keys_crypto_sha256_hex(as->sid, strlen(as->sid), as->sess_key);
}

const char *op_authz_session_record_sid_client(op_authz_session_t *as)
{
    const char *dot = strchr(as->sid, '.');
    size_t n = dot != NULL ? (size_t)(dot - as->sid) : 0;
    uint8_t *out = n > 0 ? op_arena_alloc(as->flow->arena, n * 3 / 4 + 1) : NULL;
    size_t len;

    if (out == NULL || !op_b64url_decode(as->sid, n, out, &len))
        return NULL;
    out[len] = '\0';
    return strlen((char *)out) == len ? (char *)out : NULL;
}

/* The record's JSON (see the top of the file) into *json. */
static int op_authz_session_record_write(op_authz_session_t *as, const char *stage,
                                         const char **json, size_t *len)
{
    op_json_w_t *w = op_authz_session_call_writer(as);

    if (w == NULL)
        return OP_ETOOBIG;
    op_json_w_obj_open(w);
    op_json_w_kstr(w, "stage", stage);
    op_json_w_key(w, "query");
    op_json_w_strn(w, as->query, as->query_len);
    op_json_w_kint(w, "iat", as->created);
    if (as->sub_key[0] != '\0')
        op_json_w_kstr(w, "sk", as->sub_key);
    op_json_w_kbool(w, "sub_new", as->sub_new);
    if (as->sub_new) {
        /* The new session's id, for the final answer: sealed under the sid. */
        const char *sealed = op_sub_session_seal_id(as->flow->arena, as->sid, as->sub_sid);
        if (sealed == NULL)
            return OP_ERR(&as->flow->err, OP_ETOOBIG,
                          "the sealed subject session id does not fit the flow's arena");
        op_json_w_kstr(w, "sub_sid", sealed);
    }
    if (as->have_sub && strcmp(stage, "consent") == 0) {
        /* The consent step then needs no read of the subject session. */
        op_json_w_key(w, "sub");
        op_sub_session_write_record(w, &as->sub);
    }
    if (as->data != NULL) {
        op_json_w_key(w, "data");
        op_json_w_value(w, as->data);
    }
    op_json_w_obj_close(w);
    return op_json_w_finish(w, json, len, &as->flow->err);
}

int op_authz_session_record_save(op_authz_session_t *as, const char *stage)
{
    const char *json = NULL;
    size_t len = 0;
    int rc = op_authz_session_record_write(as, stage, &json, &len);

    if (rc != OP_OK)
        return rc;
    int64_t left = as->created + as->srv->cfg->authz_session_lifetime_s - op_loop_epoch();
    op_store_rec_t rec = {
        .ns = OP_AS_NS,
        .key = as->sess_key,
        .key_len = strlen(as->sess_key),
        .value = json,
        .value_len = len,
        .ttl_ms = (uint64_t)(left > 0 ? left : 1) * 1000u,
    };
    as->stage = stage;
    op_writes_put(&as->writes, &rec, 0);
    return OP_OK;
}

void op_authz_session_record_drop(op_authz_session_t *as)
{
    if (as->have_sess)
        op_writes_del(&as->writes, OP_AS_NS, as->sess_key);
}

/* Parse the record's bytes into the session's fields. */
static int op_authz_session_record_parse(op_authz_session_t *as, const char *val, size_t len)
{
    op_flow_t *f = as->flow;
    op_json_t *o;

    if (op_json_parse(f->arena, val, len, NULL, &o, &f->err) != OP_OK)
        return OP_EINVAL;
    const char *sk = op_json_get_str(o, "sk");
    as->stage = op_json_get_str(o, "stage");
    as->query = op_json_get_str(o, "query");
    as->data = op_json_get(o, "data");
    if (as->stage == NULL || as->query == NULL || !op_json_get_int(o, "iat", &as->created) ||
        (sk != NULL && strlen(sk) != 64) || !op_json_get_bool(o, "sub_new", &as->sub_new))
        return OP_ERR(&f->err, OP_ERROR, "authorisation session record is malformed");
    /* A new subject session's id, sealed under the sid (op_authz_session_record_write). */
    const char *sealed = op_json_get_str(o, "sub_sid");
    if (as->sub_new && (sealed == NULL ||
                        (as->sub_sid = op_sub_session_open_id(f->arena, as->sid, sealed)) == NULL))
        return OP_ERR(&f->err, OP_ERROR, "authorisation session record is malformed");
    as->query_len = strlen(as->query);
    if (sk != NULL)
        memcpy(as->sub_key, sk, 65);
    const op_json_t *sub = op_json_get(o, "sub");
    if (sub != NULL && op_sub_session_from_json(f->arena, sub, &as->sub, &f->err) != OP_OK)
        return OP_EINVAL;
    as->have_sub = sub != NULL && op_sub_session_alive(&as->sub, op_loop_epoch());
    as->have_sess = true;
    return OP_OK;
}

int op_authz_session_record_read(op_authz_session_t *as, const op_authz_session_res_t *r)
{
    if (r->st == OP_ENOTFOUND)
        return OP_ERR(&as->flow->err, OP_ENOTFOUND,
                      "no such authorisation session (unknown or expired sid)");
    if (r->st != OP_OK)
        return OP_ERR(&as->flow->err, r->st, "storage: %s", op_err_status_name(r->st));
    as->raw = r->val;
    as->raw_len = r->len;
    return op_authz_session_record_parse(as, r->val, r->len);
}

/*
 * A call that changes or ends the session (a submission, a cancel, new
 * data) writes only if the record is still the one it read: its batch
 * begins with a compare-and-set check of the record's bytes. So a session
 * yields at most one response however many calls race for it (the first
 * batch wins; the others apply nothing), and a call refused before its
 * batch (a 400) leaves the session as it was, for the page to try again.
 */
void op_authz_session_record_guard(op_authz_session_t *as)
{
    op_writes_check(&as->writes, OP_AS_NS, as->sess_key, OP_STORE_XX, as->raw, as->raw_len);
    as->guarded = true;
}
