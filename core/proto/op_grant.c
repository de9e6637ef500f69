/*
 * core/proto/op_grant.c - the authorisation ("grant") object: defaults, the
 * JSON members of docs/records.md.
 */
#include <stdio.h>
#include <string.h>

#include "core/proto/op_grant.h"
#include "keys/op_keys.h"

void op_grant_defaults(op_grant_t *g, const op_config_t *cfg)
{
    memset(g, 0, sizeof(*g));
    g->at_lifetime_s = cfg->at_lifetime_s;
    g->at_encoding = cfg->at_encoding;
    g->rt_issue = true;
    g->rt_lifetime_s = cfg->rt_lifetime_s;
    g->rt_max_idle_s = cfg->rt_max_idle_s;
    g->rt_rotate = cfg->rt_rotate;
    g->it_lifetime_s = cfg->id_token_lifetime_s;
}

static void op_grant_write_list(op_json_w_t *w, const char *key, const op_strs_t *l)
{
    if (l->n == 0)
        return;
    op_json_w_key(w, key);
    op_strs_write(w, l);
}

static void op_grant_write_obj(op_json_w_t *w, const char *key, const op_json_t *v)
{
    if (v == NULL)
        return;
    op_json_w_key(w, key);
    op_json_w_value(w, v);
}

void op_grant_write(op_json_w_t *w, const op_grant_t *g)
{
    op_json_w_kstr(w, "sub", g->sub);
    op_json_w_kstr(w, "cid", g->cid);
    op_grant_write_list(w, "scp", &g->scp);
    op_grant_write_list(w, "clm", &g->clm);
    op_grant_write_list(w, "idc", &g->idc);
    op_grant_write_list(w, "atc", &g->atc);
    op_grant_write_list(w, "cll", &g->cll);
    op_grant_write_list(w, "aud", &g->aud);
    op_grant_write_obj(w, "uip", g->uip);
    op_grant_write_obj(w, "idp", g->idp);
    op_grant_write_obj(w, "dat", g->dat);
    op_json_w_kbool(w, "ll", g->long_lived);
    op_json_w_key(w, "at");
    op_json_w_obj_open(w);
    op_json_w_kint(w, "lifetime", g->at_lifetime_s);
    op_json_w_kstr(w, "encoding",
                   g->at_encoding == OP_AT_IDENTIFIER ? "IDENTIFIER" : "SELF_CONTAINED");
    op_json_w_obj_close(w);
    op_json_w_key(w, "rt");
    op_json_w_obj_open(w);
    op_json_w_kbool(w, "issue", g->rt_issue);
    op_json_w_kint(w, "lifetime", g->rt_lifetime_s);
    op_json_w_kint(w, "max_idle", g->rt_max_idle_s);
    op_json_w_kbool(w, "rotate", g->rt_rotate);
    op_json_w_obj_close(w);
    op_json_w_key(w, "it");
    op_json_w_obj_open(w);
    op_json_w_kint(w, "lifetime", g->it_lifetime_s);
    op_json_w_obj_close(w);
}

/* An optional object member: absent or null -> NULL; another type -> error. */
static int op_grant_read_obj(const op_json_t *obj, const char *key, const op_json_t **out)
{
    const op_json_t *v = op_json_get(obj, key);
    *out = NULL;
    if (v == NULL || v->type == OP_JSON_NULL)
        return OP_OK;
    if (v->type != OP_JSON_OBJECT)
        return OP_EINVAL;
    *out = v;
    return OP_OK;
}

/* An optional integer member of a spec object, within [min, max]. */
static int op_grant_read_int(const op_json_t *spec, const char *key, int64_t min, int64_t max,
                             int *out)
{
    const op_json_t *v = op_json_get(spec, key);
    if (v == NULL)
        return OP_OK;
    if (v->type != OP_JSON_NUMBER || !v->u.num.is_int || v->u.num.i < min || v->u.num.i > max)
        return OP_EINVAL;
    *out = (int)v->u.num.i;
    return OP_OK;
}

static int op_grant_read_bool(const op_json_t *spec, const char *key, bool *out)
{
    const op_json_t *v = op_json_get(spec, key);
    if (v == NULL)
        return OP_OK;
    if (v->type != OP_JSON_TRUE && v->type != OP_JSON_FALSE)
        return OP_EINVAL;
    *out = v->type == OP_JSON_TRUE;
    return OP_OK;
}

int op_grant_read(op_arena_t *a, const op_json_t *obj, const op_config_t *cfg, op_grant_t *out,
                  op_err_t *err)
{
    op_grant_defaults(out, cfg);
    out->sub = op_json_get_str(obj, "sub");
    out->cid = op_json_get_str(obj, "cid");
    const char *bad = NULL;
    static const struct {
        const char *key;
        size_t off;
    } lists[] = {
        {"scp", offsetof(op_grant_t, scp)}, {"clm", offsetof(op_grant_t, clm)},
        {"idc", offsetof(op_grant_t, idc)}, {"atc", offsetof(op_grant_t, atc)},
        {"cll", offsetof(op_grant_t, cll)}, {"aud", offsetof(op_grant_t, aud)},
    };
    for (size_t i = 0; i < OP_NELEMS(lists) && bad == NULL; i++) {
        op_strs_t *l = (op_strs_t *)((char *)out + lists[i].off);
        if (op_strs_from_json(a, op_json_get(obj, lists[i].key), l) != OP_OK)
            bad = lists[i].key;
    }
    if (bad == NULL && op_grant_read_obj(obj, "uip", &out->uip) != OP_OK)
        bad = "uip";
    if (bad == NULL && op_grant_read_obj(obj, "idp", &out->idp) != OP_OK)
        bad = "idp";
    if (bad == NULL && op_grant_read_obj(obj, "dat", &out->dat) != OP_OK)
        bad = "dat";
    if (bad == NULL && op_grant_read_bool(obj, "ll", &out->long_lived) != OP_OK)
        bad = "ll";
    if (bad == NULL)
        bad = op_grant_read_specs(out, op_json_get(obj, "at"), op_json_get(obj, "rt"),
                                  op_json_get(obj, "it"));
    if (bad != NULL)
        return OP_ERR(err, OP_EINVAL, "authorisation record: bad member %s", bad);
    if (out->sub == NULL || out->cid == NULL)
        return OP_ERR(err, OP_EINVAL, "authorisation record: sub and cid required");
    return OP_OK;
}

const char *op_grant_read_specs(op_grant_t *out, const op_json_t *at, const op_json_t *rt,
                                const op_json_t *it)
{
    const char *bad = NULL;
    if ((at != NULL && at->type != OP_JSON_OBJECT) || (rt != NULL && rt->type != OP_JSON_OBJECT) ||
        (it != NULL && it->type != OP_JSON_OBJECT))
        return "token spec (not an object)";
    if (bad == NULL && at != NULL) {
        const char *enc = op_json_get_str(at, "encoding");
        if (op_grant_read_int(at, "lifetime", 1, 86400 * 365, &out->at_lifetime_s) != OP_OK)
            bad = "at.lifetime";
        else if (enc != NULL && strcmp(enc, "IDENTIFIER") == 0)
            out->at_encoding = OP_AT_IDENTIFIER;
        else if (enc != NULL && strcmp(enc, "SELF_CONTAINED") == 0)
            out->at_encoding = OP_AT_SELF_CONTAINED;
        else if (enc != NULL || op_json_get(at, "encoding") != NULL)
            bad = "at.encoding";
    }
    if (bad == NULL && rt != NULL &&
        (op_grant_read_bool(rt, "issue", &out->rt_issue) != OP_OK ||
         op_grant_read_int(rt, "lifetime", 0, 86400 * 3650, &out->rt_lifetime_s) != OP_OK ||
         op_grant_read_int(rt, "max_idle", 0, 86400 * 3650, &out->rt_max_idle_s) != OP_OK ||
         op_grant_read_bool(rt, "rotate", &out->rt_rotate) != OP_OK))
        bad = "rt";
    if (bad == NULL && it != NULL &&
        op_grant_read_int(it, "lifetime", 1, 86400, &out->it_lifetime_s) != OP_OK)
        bad = "it.lifetime";
    return bad;
}

int op_grant_key(const char *sub, const char *cid, char key[65])
{
    /* "255:" sub "128:" cid, NUL */
    char buf[4 + OP_GRANT_SUB_MAX + 4 + OP_CLIENT_ID_MAX + 1];
    size_t ls = sub != NULL ? strnlen(sub, OP_GRANT_SUB_MAX + 1) : 0;
    size_t lc = cid != NULL ? strnlen(cid, OP_CLIENT_ID_MAX + 1) : 0;

    key[0] = '\0';
    if (ls == 0 || ls > OP_GRANT_SUB_MAX || lc == 0 || lc > OP_CLIENT_ID_MAX)
        return OP_EINVAL;
    /* fits: the lengths are checked above */
    int n = snprintf(buf, sizeof(buf), "%zu:%s%zu:%s", ls, sub, lc, cid);
    op_keys_crypto_sha256_hex(buf, (size_t)n, key);
    return OP_OK;
}

/*
 * The members of a, then those of b that a does not have: a new object in
 * arena (the values are shared, not copied). NULL when both are NULL or
 * empty, or over the arena's cap (the caller then goes without b).
 */
static const op_json_t *op_grant_merge(op_arena_t *arena, const op_json_t *a, const op_json_t *b)
{
    size_t na = a != NULL ? a->u.obj.n : 0, nb = b != NULL ? b->u.obj.n : 0;
    if (nb == 0)
        return a;
    op_json_t *o = op_arena_calloc(arena, 1, sizeof(*o));
    const char **keys = op_arena_calloc(arena, na + nb, sizeof(*keys));
    size_t *lens = op_arena_calloc(arena, na + nb, sizeof(*lens));
    op_json_t **vals = op_arena_calloc(arena, na + nb, sizeof(*vals));
    if (o == NULL || keys == NULL || lens == NULL || vals == NULL)
        return a;
    o->type = OP_JSON_OBJECT;
    o->u.obj.keys = keys;
    o->u.obj.key_lens = lens;
    o->u.obj.vals = vals;
    for (size_t i = 0; i < na + nb; i++) {
        const op_json_t *from = i < na ? a : b;
        size_t j = i < na ? i : i - na;
        if (i >= na && op_json_get(a, from->u.obj.keys[j]) != NULL)
            continue;
        keys[o->u.obj.n] = from->u.obj.keys[j];
        lens[o->u.obj.n] = from->u.obj.key_lens[j];
        vals[o->u.obj.n++] = from->u.obj.vals[j];
    }
    return o;
}

void op_grant_add_session_claims(op_arena_t *a, op_grant_t *g, const op_json_t *claims)
{
    if (claims != NULL && claims->type == OP_JSON_OBJECT)
        g->idp = op_grant_merge(a, g->idp, claims);
}
