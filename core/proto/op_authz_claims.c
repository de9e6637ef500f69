/*
 * core/proto/op_authz_claims.c - the claims request parameter (OIDC Core §5.5),
 * the claims each scope value stands for (§5.4), and the consent
 * prompt's claims object (reference §2.1).
 */
#include <string.h>

#include "core/proto/op_authz_req.h"

/* JSON members + array items of the claims parameter, in total: the byte
 * cap bounds it first; this only keeps the reader's own limit in line. */
#define OP_AUTHZ_CLAIMS_MAX_MEMBERS 1024

/* OIDC Core §5.4. */
static const char *const op_authz_claims_profile[] = {
    "name",    "family_name", "given_name", "middle_name", "nickname",  "preferred_username",
    "profile", "picture",     "website",    "gender",      "birthdate", "zoneinfo",
    "locale",  "updated_at"};
static const char *const op_authz_claims_email[] = {"email", "email_verified"};
static const char *const op_authz_claims_address[] = {"address"};
static const char *const op_authz_claims_phone[] = {"phone_number", "phone_number_verified"};

static const struct {
    const char *scope;
    const char *const *claims;
    size_t n;
} op_authz_claims_scopes[] = {
    {"profile", op_authz_claims_profile, OP_NELEMS(op_authz_claims_profile)},
    {"email", op_authz_claims_email, OP_NELEMS(op_authz_claims_email)},
    {"address", op_authz_claims_address, OP_NELEMS(op_authz_claims_address)},
    {"phone", op_authz_claims_phone, OP_NELEMS(op_authz_claims_phone)},
};

/* The login page's placement directives on consented claim names
 * (reference §2.1: id_token:, access_token: with access_token:uip: and
 * access_token:dat:, verified:). Where a claim goes is the login page's
 * decision, never the client's: a requested name with one is refused. */
static const char *const op_authz_claims_directives[] = {"id_token:", "access_token:", "verified:"};

/* Every claim name the scope values can bring, all four scopes together. */
#define OP_AUTHZ_CLAIMS_SCOPED_MAX 19
_Static_assert(OP_NELEMS(op_authz_claims_profile) + OP_NELEMS(op_authz_claims_email) +
                       OP_NELEMS(op_authz_claims_address) + OP_NELEMS(op_authz_claims_phone) ==
                   OP_AUTHZ_CLAIMS_SCOPED_MAX,
               "OP_AUTHZ_CLAIMS_SCOPED_MAX out of date");

const char *const *op_authz_claims_of_scope(const char *scope, size_t *n)
{
    for (size_t i = 0; scope != NULL && i < OP_NELEMS(op_authz_claims_scopes); i++) {
        if (strcmp(op_authz_claims_scopes[i].scope, scope) == 0) {
            *n = op_authz_claims_scopes[i].n;
            return op_authz_claims_scopes[i].claims;
        }
    }
    *n = 0;
    return NULL;
}

/*
 * One member of the claims parameter ("userinfo" or "id_token") into
 * *items / *n, allocated in a. *total counts the entries of both members
 * against OP_AUTHZ_CLAIMS_MAX. Each value is null or a claim request
 * object whose "essential" is a boolean and "values" an array; other
 * members of it are ignored (OIDC Core §5.5.1).
 */
static int op_authz_claims_member(op_arena_t *a, const op_json_t *top, const char *name,
                                  const op_authz_claim_t **items, size_t *n, size_t *total,
                                  op_err_t *err)
{
    const op_json_t *m = op_json_get(top, name);
    op_authz_claim_t *c;

    if (m == NULL)
        return OP_OK;
    if (!op_json_is(m, OP_JSON_OBJECT))
        return OP_ERR_OAUTH(err, OP_EINVAL, "invalid_request", 400,
                            "claims: %s must be a JSON object", name);
    *total += m->u.obj.n;
    if (*total > OP_AUTHZ_CLAIMS_MAX)
        return OP_ERR_OAUTH(err, OP_ETOOBIG, "invalid_request", 400,
                            "claims: more than %d claims requested", OP_AUTHZ_CLAIMS_MAX);
    c = op_arena_calloc(a, m->u.obj.n, sizeof(*c));
    if (c == NULL)
        return OP_ERR_OAUTH(err, OP_ETOOBIG, "invalid_request", 400,
                            "claims: too large for the request's arena");
    for (size_t i = 0; i < m->u.obj.n; i++) {
        const op_json_t *v = m->u.obj.vals[i];
        const op_json_t *essential, *values;

        if (m->u.obj.key_lens[i] == 0)
            return OP_ERR_OAUTH(err, OP_EINVAL, "invalid_request", 400,
                                "claims: %s has an empty claim name", name);
        for (size_t d = 0; d < OP_NELEMS(op_authz_claims_directives); d++) {
            if (op_str_has_prefix(m->u.obj.keys[i], op_authz_claims_directives[d]))
                return OP_ERR_OAUTH(err, OP_EINVAL, "invalid_request", 400,
                                    "claims: %s: a claim name must not begin with %s", name,
                                    op_authz_claims_directives[d]);
        }
        c[i].name = m->u.obj.keys[i];
        if (op_json_is(v, OP_JSON_NULL))
            continue;
        if (!op_json_is(v, OP_JSON_OBJECT))
            return OP_ERR_OAUTH(err, OP_EINVAL, "invalid_request", 400,
                                "claims: %s: a claim request must be null or an object", name);
        essential = op_json_get(v, "essential");
        values = op_json_get(v, "values");
        if (essential != NULL && !op_json_is(essential, OP_JSON_TRUE) &&
            !op_json_is(essential, OP_JSON_FALSE))
            return OP_ERR_OAUTH(err, OP_EINVAL, "invalid_request", 400,
                                "claims: %s: essential must be a boolean", name);
        if (values != NULL && !op_json_is(values, OP_JSON_ARRAY))
            return OP_ERR_OAUTH(err, OP_EINVAL, "invalid_request", 400,
                                "claims: %s: values must be an array", name);
        c[i].essential = op_json_is(essential, OP_JSON_TRUE);
        c[i].value = op_json_get(v, "value");
        c[i].values = values;
    }
    *items = c;
    *n = m->u.obj.n;
    return OP_OK;
}

/* See core/proto/op_authz_req.h. Unknown top-level members are ignored, as
 * every unknown member of the request (OIDC Core §5.5). */
int op_authz_claims_parse(op_arena_t *a, const char *s, size_t len, op_authz_claims_t *out,
                          op_err_t *err)
{
    static const op_json_limits_t lim = {OP_AUTHZ_CLAIMS_MAX_BYTES, OP_AUTHZ_CLAIMS_MAX_DEPTH,
                                         OP_AUTHZ_CLAIMS_MAX_MEMBERS};
    op_json_t *j = NULL;
    op_err_t jerr;
    size_t total = 0;
    int rc;

    memset(out, 0, sizeof(*out));
    op_err_clear(&jerr);
    rc = op_json_parse(a, s, len, &lim, &j, &jerr);
    if (rc != OP_OK)
        return OP_ERR_OAUTH(err, rc, "invalid_request", 400, "claims: %s", jerr.description);
    if (!op_json_is(j, OP_JSON_OBJECT))
        return OP_ERR_OAUTH(err, OP_EINVAL, "invalid_request", 400,
                            "claims: must be a JSON object");
    rc = op_authz_claims_member(a, j, "userinfo", &out->userinfo, &out->n_userinfo, &total, err);
    if (rc == OP_OK)
        rc =
            op_authz_claims_member(a, j, "id_token", &out->id_token, &out->n_id_token, &total, err);
    if (rc != OP_OK) {
        memset(out, 0, sizeof(*out));
        return rc;
    }
    out->json = j;
    return OP_OK;
}

/* ---- the consent prompt -------------------------------------------------- */

/* One requested claim as the prompt shows it. */
typedef struct op_authz_claims_item {
    const char *name; /* not NUL-terminated at len when it had a tag */
    size_t len;       /* without the "#lang" tag */
    bool essential;
} op_authz_claims_item_t;

typedef struct op_authz_claims_set {
    op_authz_claims_item_t items[OP_AUTHZ_CLAIMS_SCOPED_MAX + OP_AUTHZ_CLAIMS_MAX];
    size_t n;
} op_authz_claims_set_t;

/* Length of a claim name without its language tag (OIDC Core §5.2). */
static size_t op_authz_claims_base_len(const char *name)
{
    const char *hash = strchr(name, '#');
    return hash != NULL ? (size_t)(hash - name) : strlen(name);
}

static bool op_authz_claims_same(const char *a, size_t alen, const char *b, size_t blen)
{
    return alen == blen && memcmp(a, b, alen) == 0;
}

/* Add a requested name to the set, merging repeats (essential wins).
 * "sub" and names that are only a tag are left out. */
static void op_authz_claims_add(op_authz_claims_set_t *set, const char *name, bool essential)
{
    size_t len = op_authz_claims_base_len(name);

    if (len == 0 || op_authz_claims_same(name, len, "sub", 3))
        return;
    for (size_t i = 0; i < set->n; i++) {
        if (op_authz_claims_same(set->items[i].name, set->items[i].len, name, len)) {
            set->items[i].essential |= essential;
            return;
        }
    }
    if (set->n < OP_NELEMS(set->items))
        set->items[set->n++] = (op_authz_claims_item_t){name, len, essential};
}

/* Is the name among the consented ones (tags ignored on both sides)? */
static bool op_authz_claims_consented(const op_authz_claims_item_t *it,
                                      const char *const *consented, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (op_authz_claims_same(it->name, it->len, consented[i],
                                 op_authz_claims_base_len(consented[i])))
            return true;
    }
    return false;
}

/* See core/proto/op_authz_req.h. The set is bounded by construction (scope
 * claims + OP_AUTHZ_CLAIMS_MAX) and lives on the stack. */
void op_authz_claims_prompt(const op_authz_req_t *req, const char *const *consented, size_t n,
                            op_json_w_t *w)
{
    static const char *const groups[] = {"new", "consented"};
    static const char *const kinds[] = {"essential", "voluntary"};
    op_authz_claims_set_t set;

    set.n = 0;
    if (op_authz_req_has_scope(req, "openid")) {
        for (size_t i = 0; i < req->scope.n; i++) {
            size_t k;
            const char *const *names = op_authz_claims_of_scope(req->scope.items[i], &k);

            for (size_t j = 0; j < k; j++)
                op_authz_claims_add(&set, names[j], false);
        }
        for (size_t i = 0; i < req->claims.n_userinfo; i++)
            op_authz_claims_add(&set, req->claims.userinfo[i].name,
                                req->claims.userinfo[i].essential);
        for (size_t i = 0; i < req->claims.n_id_token; i++)
            op_authz_claims_add(&set, req->claims.id_token[i].name,
                                req->claims.id_token[i].essential);
    }
    op_json_w_obj_open(w);
    for (size_t g = 0; g < OP_NELEMS(groups); g++) {
        op_json_w_key(w, groups[g]);
        op_json_w_obj_open(w);
        for (size_t k = 0; k < OP_NELEMS(kinds); k++) {
            op_json_w_key(w, kinds[k]);
            op_json_w_arr_open(w);
            for (size_t i = 0; i < set.n; i++) {
                const op_authz_claims_item_t *it = &set.items[i];

                if (op_authz_claims_consented(it, consented, n) == (g == 1) &&
                    it->essential == (k == 0))
                    op_json_w_strn(w, it->name, it->len);
            }
            op_json_w_arr_close(w);
        }
        op_json_w_obj_close(w);
    }
    op_json_w_obj_close(w);
}
