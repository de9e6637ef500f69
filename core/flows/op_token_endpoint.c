/*
 * core/flows/op_token_endpoint.c - POST /token (RFC 6749 §3.2): the
 * authorization_code grant (§4.1.3, with PKCE, RFC 7636 §4.6) and the
 * refresh_token grant (§6, with rotation and reuse detection, OAuth 2.0
 * Security BCP §4.14.2).
 *
 * One flow per request. The client is authenticated first
 * (core/proto/op_client_auth.c); the grant is then taken from the store, checked,
 * the claims the new tokens carry are fetched, the tokens minted
 * (core/proto/op_token.c) and their records written in one batch before the
 * answer goes out. Store round trips, one step at a time:
 *   code:    take the code and write its used marker -> write at/rt/code-used
 *   refresh: get rt [-> delete it and write its used marker, when rotating]
 *            [-> write at/rt]
 *
 * The states, top to bottom (any of them -> ERROR, which answers f->err):
 *   PARSE -> AUTH -> CODE ----------------------+-> CLAIMS -> MINT -> REPLY
 *                 -> RT [-> RT_TAKEN, rotating] -+
 *   RT -> RT_USED when the token is not there; CODE, RT_USED and RT_TAKEN
 *   -> REVOKED when a grant was used twice (it answers invalid_grant).
 * Only the step functions dispatched by op_token_endpoint_step set the
 * state; the helpers return a status (the error in f->err), and each
 * completion stores its result for the step that the flow waits in.
 *
 * Single use and its detection are one atomic batch: the code (or the
 * rotating refresh token) goes and its used marker, naming the family of
 * tokens the exchange starts or continues, comes in the same step. So a
 * second use finds the marker even while the first exchange is still
 * running, and revokes the family (RFC 6749 §4.1.2, §10.5; Security BCP
 * §4.14.2): its "revoked" record first, then its stored tokens. The
 * first exchange's final batch checks that record before it writes, so no
 * successor is stored into a family revoked meanwhile: it answers
 * invalid_grant. Once the grant is taken, the request deadline stops
 * (op_http_req_commit): the exchange finishes and answers, and never
 * leaves tokens stored that nobody received.
 *
 * Every answer has Cache-Control: no-store and Pragma: no-cache (§5.1);
 * errors are the JSON of §5.2, invalid_client with a 401 and a Basic
 * challenge.
 */
#include <string.h>

#include "core/proto/op_client_auth.h"
#include "core/flows/op_flows.h"
#include "core/proto/op_token.h"
#include "core/flows/op_writes.h"

#define OP_TOKEN_ENDPOINT_MAX_BODY 50000      /* reference §1.1: token request cap */
#define OP_TOKEN_ENDPOINT_ARENA    (1u << 20) /* per request */
#define OP_TOKEN_ENDPOINT_USED_TTL 86400      /* code-used without a refresh token lifetime */
#define OP_TOKEN_ENDPOINT_OPS      4          /* ops of the batch that takes a grant */

typedef enum {
    TE_PARSE,    /* form, grant_type */
    TE_AUTH,     /* client authentication, grant parameters, first store op */
    TE_CODE,     /* the code taken (or found used): check it */
    TE_RT,       /* the refresh token read: check it */
    TE_RT_TAKEN, /* a rotating refresh token deleted (single use) */
    TE_RT_USED,  /* the refresh token was gone: rotated out? */
    TE_REVOKED,  /* the family revoked (a replay or a reuse) */
    TE_CLAIMS,   /* fetch the claims the tokens carry */
    TE_MINT,     /* mint, start the writes */
    TE_REPLY,    /* the writes done: answer */
    TE_ERROR,    /* answer f->err */
    TE_MAX
} op_token_endpoint_state_t;

static const char *const op_token_endpoint_states[TE_MAX] = {
    "parse",   "auth",   "code", "rt",    "rt_taken", "rt_used",
    "revoked", "claims", "mint", "reply", "error",
};

/* One op's outcome of a batch, its value copied. */
typedef struct op_token_endpoint_res {
    int st;
    const char *val;
    size_t len;
} op_token_endpoint_res_t;

typedef struct op_token_endpoint {
    op_server_t *srv;
    op_http_req_t *req;
    const op_params_t *form;
    const op_client_t *client;
    bool refresh; /* the refresh_token grant (else authorization_code) */

    /* the last single store operation */
    int st;
    const char *val; /* its value, copied */
    size_t val_len;

    /* the last batch */
    int batch_st;
    op_token_endpoint_res_t res[OP_TOKEN_ENDPOINT_OPS];
    op_writes_t writes; /* the minted tokens' records */

    /* the grant being exchanged */
    char key[65];    /* sha256hex of the code or refresh token */
    const char *fam; /* the family a code starts */
    op_token_code_t code;
    op_token_refresh_t rt;
    op_grant_t grant; /* what the new tokens carry (scope may be narrowed) */
    const op_token_authn_t *authn;

    /* minting */
    op_strs_t names; /* claim names to fetch */
    const op_json_t *claims;
    int claims_st;       /* of the fetch; OP_OK when there was none */
    op_err_t claims_err; /* the sources' error, when they gave one */
    op_token_minted_t at_out;
    op_token_refresh_t rt_next; /* a new refresh token's record */
    op_token_minted_t rt_out;
    bool rt_issued;
    char *id_token;
    op_store_rec_t recs[3]; /* to write before answering */
    unsigned rec_flags[3];
    size_t nrecs;
} op_token_endpoint_t;

/* invalid_grant (RFC 6749 §5.2) into f->err; evaluates to its code. */
#define OP_TOKEN_ENDPOINT_BAD_GRANT(f, ...)                                                        \
    OP_ERR_OAUTH(&(f)->err, OP_EDENIED, "invalid_grant", 400, __VA_ARGS__)

/* The invalid_grant of a grant that is not there (unknown, expired, used
 * or revoked). Returns its code. */
static int op_token_endpoint_gone(op_flow_t *f)
{
    const op_token_endpoint_t *te = f->ctx;

    return OP_TOKEN_ENDPOINT_BAD_GRANT(f, te->refresh ? "invalid, expired or revoked refresh token"
                                                      : "invalid, expired or already used code");
}

/* A store failure into f->err: 503 temporarily_unavailable, or a value
 * over the arena's cap (OP_ETOOBIG). Returns its code. */
static int op_token_endpoint_store_failed(op_flow_t *f, int status, const char *what)
{
    return OP_ERR(&f->err, status == OP_ETOOBIG ? OP_ETOOBIG : OP_EUNAVAIL, "cannot %s: storage %s",
                  what, op_err_status_name(status));
}

/* The family the new tokens belong to. */
static const char *op_token_endpoint_fam(const op_token_endpoint_t *te)
{
    return te->refresh ? te->rt.fam : te->fam;
}

/* The grant is about to be consumed: from here the exchange finishes and
 * answers, so the request deadline stops. OP_ETIMEDOUT (in f->err) when
 * the deadline already answered: then nothing may be consumed. */
static int op_token_endpoint_commit(op_flow_t *f)
{
    op_token_endpoint_t *te = f->ctx;

    if (op_http_req_commit(te->req))
        return OP_OK;
    return OP_ERR_OAUTH(&f->err, OP_ETIMEDOUT, "temporarily_unavailable", 503,
                        "the request took too long");
}

/* ---- store operations ------------------------------------------------------- */

/* Completion of a single operation: keep its status and a copy of its
 * value, then go on. */
static void op_token_endpoint_on_store(int status, const op_store_res_t *res, void *arg)
{
    op_flow_t *f = arg;
    op_token_endpoint_t *te = f->ctx;

    te->st = status;
    te->val = NULL;
    te->val_len = 0;
    if (status == OP_OK && res != NULL && res->value != NULL) {
        te->val = op_arena_memdup(f->arena, res->value, res->value_len);
        te->val_len = res->value_len;
        if (te->val == NULL)
            te->st = OP_ETOOBIG; /* over the arena's cap */
    }
    op_flow_resume(f);
}

/* Completion of a batch: keep each op's status and a copy of its value. */
static void op_token_endpoint_on_batch(int status, const op_store_batch_res_t *results, size_t n,
                                       void *arg)
{
    op_flow_t *f = arg;
    op_token_endpoint_t *te = f->ctx;

    te->batch_st = status;
    for (size_t i = 0; i < n && i < OP_TOKEN_ENDPOINT_OPS; i++) {
        op_token_endpoint_res_t *r = &te->res[i];
        r->st = results[i].status;
        r->val = NULL;
        r->len = results[i].res.value_len;
        if (r->st == OP_OK && results[i].res.value != NULL &&
            (r->val = op_arena_memdup(f->arena, results[i].res.value, r->len)) == NULL)
            te->batch_st = OP_ETOOBIG; /* over the arena's cap */
    }
    op_flow_resume(f);
}

/* Run ops[0..n) as one batch (the store copies them); the completion
 * keeps the results for the step that reads them. OP_AGAIN. */
static int op_token_endpoint_batch(op_flow_t *f, const op_store_batch_op_t *ops, size_t n)
{
    op_token_endpoint_t *te = f->ctx;

    op_flow_hold(f);
    op_store_batch(te->srv->store, ops, n, op_token_endpoint_on_batch, f);
    return OP_AGAIN;
}

/* Start a get of (ns, te->key) for the step that reads it. OP_AGAIN. */
static int op_token_endpoint_read(op_flow_t *f, const char *ns)
{
    op_token_endpoint_t *te = f->ctx;

    op_flow_hold(f);
    op_store_get(te->srv->store, ns, te->key, 64, op_token_endpoint_on_store, f);
    return OP_AGAIN;
}

/* The revocation logs its own failure; the answer is invalid_grant
 * either way (TE_REVOKED), so there is nothing to keep. */
static void op_token_endpoint_on_revoked(int status, void *arg)
{
    OP_UNUSED(status);
    op_flow_resume(arg);
}

/* Start the revocation of family fam (its access tokens live atl_s, 0:
 * unknown): see op_token_revoke_family. f->err is the invalid_grant the
 * request ends with, whatever happens. OP_AGAIN. */
static int op_token_endpoint_revoke(op_flow_t *f, const char *fam, int64_t atl_s)
{
    op_token_endpoint_t *te = f->ctx;

    op_token_endpoint_gone(f);
    op_flow_hold(f);
    op_token_revoke_family(te->srv->store, fam, atl_s, f->req_id, op_token_endpoint_on_revoked, f);
    return OP_AGAIN;
}

/*
 * The grant was gone: a code taken before, a refresh token rotated out
 * (or never there). If the previous use left its used marker (st, val,
 * len: the outcome of its read), the family it names is revoked (RFC
 * 6749 §4.1.2; Security BCP §4.14.2): OP_AGAIN. Otherwise the code of
 * f->err, invalid_grant either way.
 */
static int op_token_endpoint_replayed(op_flow_t *f, int st, const char *val, size_t len)
{
    op_token_endpoint_t *te = f->ctx;
    op_token_used_t used;
    op_err_t e;

    if (st != OP_OK) {
        if (st != OP_ENOTFOUND)
            op_log_warn(f->req_id, "token: cannot check for a %s: storage %s",
                        te->refresh ? "refresh token reuse" : "code replay",
                        op_err_status_name(st));
        return op_token_endpoint_gone(f);
    }
    op_err_clear(&e);
    if (op_token_used_read(f->arena, val, len, &used, &e) != OP_OK) {
        op_log_error(f->req_id, "token: corrupt %s record: %s",
                     te->refresh ? "rt-used" : "code-used", e.description);
        return op_token_endpoint_gone(f);
    }
    op_log_warn(f->req_id, "token: %s by client %s: revoking family %s",
                te->refresh ? "rotated-out refresh token presented" : "code replayed",
                te->client->client_id, used.fam);
    return op_token_endpoint_revoke(f, used.fam, used.atl_s);
}

/* ---- parsing and client authentication ---------------------------------------- */

static const op_client_t *op_token_endpoint_lookup(const void *arg, const char *client_id)
{
    return op_client_registry_find(arg, client_id);
}

/* The form, bounded, and its grant_type. OP_OK, or an error in f->err. */
static int op_token_endpoint_form(op_flow_t *f)
{
    op_token_endpoint_t *te = f->ctx;
    size_t len = 0;
    int rc;

    op_http_req_body(te->req, &len);
    if (len > OP_TOKEN_ENDPOINT_MAX_BODY)
        return OP_ERR_OAUTH(&f->err, OP_ETOOBIG, "invalid_request", 400,
                            "the request body is over %d bytes", OP_TOKEN_ENDPOINT_MAX_BODY);
    if ((rc = op_http_req_form(te->req, &te->form, &f->err)) != OP_OK)
        return rc;
    const char *gt = op_params_get(te->form, "grant_type");
    if (gt == NULL)
        return OP_ERR_OAUTH(&f->err, OP_EINVAL, "invalid_request", 400, "grant_type required");
    if (strcmp(gt, "refresh_token") != 0 && strcmp(gt, "authorization_code") != 0)
        return OP_ERR_OAUTH(&f->err, OP_EINVAL, "unsupported_grant_type", 400,
                            "unsupported grant_type (authorization_code and refresh_token "
                            "are supported)");
    te->refresh = strcmp(gt, "refresh_token") == 0;
    return OP_OK;
}

static int op_token_endpoint_parse(op_flow_t *f)
{
    op_flow_set_state(f, op_token_endpoint_form(f) == OP_OK ? TE_AUTH : TE_ERROR);
    return OP_OK;
}

/* The client authenticated, registered for the grant, and the grant's
 * secret given: te->key is its store key. OP_OK, or an error in f->err. */
static int op_token_endpoint_client(op_flow_t *f)
{
    op_token_endpoint_t *te = f->ctx;
    const char *param = te->refresh ? "refresh_token" : "code";
    unsigned grant =
        te->refresh ? OP_CLIENT_GRANT_REFRESH_TOKEN : OP_CLIENT_GRANT_AUTHORIZATION_CODE;
    int rc = op_client_auth_check(f->arena, op_http_req_header(te->req, "Authorization"), te->form,
                                  op_token_endpoint_lookup, te->srv->clients, &te->client, &f->err);

    if (rc != OP_OK)
        return rc;
    if (!op_client_has_grant(te->client, grant))
        return OP_ERR_OAUTH(&f->err, OP_EDENIED, "unauthorized_client", 400,
                            "the client is not registered for the %s grant",
                            te->refresh ? "refresh_token" : "authorization_code");
    const char *secret = op_params_get(te->form, param);
    if (secret == NULL || *secret == '\0')
        return OP_ERR_OAUTH(&f->err, OP_EINVAL, "invalid_request", 400, "%s required", param);
    op_keys_crypto_sha256_hex(secret, strlen(secret), te->key);
    return OP_OK;
}

/*
 * One batch takes the code and marks it used, naming the family this
 * exchange starts (op_token_used_record; its access token lifetime comes
 * with the final write, once the code is read), and reads the marker a
 * previous use left: a replay is told from an unknown code in the same
 * round trip. The marker is written only if the code was there.
 * OP_AGAIN, or an error in f->err (nothing consumed).
 */
static int op_token_endpoint_take_code(op_flow_t *f)
{
    op_token_endpoint_t *te = f->ctx;
    op_token_used_t used = {NULL, 0};
    op_store_rec_t marker;
    const op_store_rec_t code = {.ns = OP_TOKEN_NS_CODE, .key = te->key, .key_len = 64};
    const op_store_rec_t old = {.ns = OP_TOKEN_NS_CODE_USED, .key = te->key, .key_len = 64};
    int rc;

    if ((used.fam = te->fam = op_token_fam_new(f->arena)) == NULL)
        return OP_ERR(&f->err, OP_ETOOBIG, "request too large");
    rc = op_token_used_record(OP_TOKEN_NS_CODE_USED, te->key, &used, OP_TOKEN_ENDPOINT_USED_TTL,
                              f->arena, &marker, &f->err);
    if (rc == OP_OK)
        rc = op_token_endpoint_commit(f);
    if (rc != OP_OK)
        return rc;
    const op_store_batch_op_t ops[] = {
        {OP_STORE_BATCH_GET, old, 0},
        {OP_STORE_BATCH_CHECK, code, OP_STORE_XX},
        {OP_STORE_BATCH_TAKE, code, 0},
        {OP_STORE_BATCH_PUT, marker, 0},
    };
    return op_token_endpoint_batch(f, ops, OP_NELEMS(ops));
}

/* Authenticate the client, check the grant's parameters, start the first
 * store operation. */
static int op_token_endpoint_auth(op_flow_t *f)
{
    op_token_endpoint_t *te = f->ctx;
    int rc = op_token_endpoint_client(f);

    if (rc == OP_OK && te->refresh) {
        op_flow_set_state(f, TE_RT);
        return op_token_endpoint_read(f, OP_TOKEN_NS_RT);
    }
    if (rc == OP_OK)
        rc = op_token_endpoint_take_code(f);
    op_flow_set_state(f, rc == OP_AGAIN ? TE_CODE : TE_ERROR);
    return rc == OP_AGAIN ? OP_AGAIN : OP_OK;
}

/* ---- authorization_code ----------------------------------------------------------- */

/* The code was taken (and marked used): it must be this client's, for
 * this redirect_uri (RFC 6749 §4.1.3) and this code_verifier (RFC 7636
 * §4.6); then its grant is the new tokens'. OP_OK, or an error in
 * f->err. */
static int op_token_endpoint_code_check(op_flow_t *f)
{
    op_token_endpoint_t *te = f->ctx;
    const op_token_endpoint_res_t *taken = &te->res[2];
    int st = te->batch_st != OP_OK ? te->batch_st : taken->st != OP_OK ? taken->st : te->res[3].st;
    op_err_t e;

    if (st != OP_OK)
        return op_token_endpoint_store_failed(f, st, "take the code");
    op_err_clear(&e);
    if (op_token_code_read(f->arena, taken->val, taken->len, te->srv->cfg, &te->code, &e) !=
        OP_OK) {
        op_log_error(f->req_id, "token: corrupt code record: %s", e.description);
        return OP_ERR(&f->err, OP_ERROR, "corrupt code record");
    }
    const char *ruri = op_params_get(te->form, "redirect_uri");
    if (strcmp(te->code.grant.cid, te->client->client_id) != 0)
        return OP_TOKEN_ENDPOINT_BAD_GRANT(f, "the code was issued to another client");
    if (!op_str_eq(ruri, te->code.ruri))
        return OP_TOKEN_ENDPOINT_BAD_GRANT(f, ruri == NULL ? "redirect_uri required"
                                                           : "redirect_uri differs from the one "
                                                             "of the authorisation request");
    st = op_token_pkce_check(te->code.cc, te->code.ccm, op_params_get(te->form, "code_verifier"),
                             &f->err);
    if (st != OP_OK)
        return st;
    te->grant = te->code.grant;
    te->authn = &te->code.authn;
    return OP_OK;
}

/* The batch that took the code: a code that was gone may be a replay
 * (its marker, read in the same batch, names the family to revoke). */
static int op_token_endpoint_code(op_flow_t *f)
{
    op_token_endpoint_t *te = f->ctx;
    const op_token_endpoint_res_t *old = &te->res[0];

    if (te->batch_st == OP_OK && te->res[1].st == OP_ECONFLICT) {
        int rc = op_token_endpoint_replayed(f, old->st, old->val, old->len);
        op_flow_set_state(f, rc == OP_AGAIN ? TE_REVOKED : TE_ERROR);
        return rc == OP_AGAIN ? OP_AGAIN : OP_OK;
    }
    op_flow_set_state(f, op_token_endpoint_code_check(f) == OP_OK ? TE_CLAIMS : TE_ERROR);
    return OP_OK;
}

/* ---- refresh_token ----------------------------------------------------------------- */

/* A scope parameter must not add to the refresh token's scope (RFC 6749
 * §6): the new tokens get the narrowed grant. */
static int op_token_endpoint_scope(op_flow_t *f)
{
    op_token_endpoint_t *te = f->ctx;
    const char *scope = op_params_get(te->form, "scope");
    op_strs_t want;

    te->grant = te->rt.grant;
    if (scope == NULL || *scope == '\0')
        return OP_OK;
    if (op_token_scope_parse(f->arena, scope, &want) != OP_OK)
        return OP_ERR(&f->err, OP_ETOOBIG, "scope: too large");
    for (size_t i = 0; i < want.n; i++) {
        if (!op_strs_has(&te->rt.grant.scp, want.items[i]))
            return OP_ERR_OAUTH(&f->err, OP_EDENIED, "invalid_scope", 400,
                                "the scope asked for exceeds the granted scope");
    }
    te->grant.scp = want;
    return OP_OK;
}

/* The refresh token read: it must be this client's, unexpired, and the
 * scope asked for within its own (RFC 6749 §6). OP_OK, or an error in
 * f->err. */
static int op_token_endpoint_rt_check(op_flow_t *f)
{
    op_token_endpoint_t *te = f->ctx;
    op_err_t e;

    if (te->st != OP_OK)
        return op_token_endpoint_store_failed(f, te->st, "read the refresh token");
    op_err_clear(&e);
    if (op_token_rt_read(f->arena, te->val, te->val_len, te->srv->cfg, &te->rt, &e) != OP_OK) {
        op_log_error(f->req_id, "token: corrupt refresh token record: %s", e.description);
        return OP_ERR(&f->err, OP_ERROR, "corrupt refresh token record");
    }
    if (strcmp(te->rt.grant.cid, te->client->client_id) != 0)
        return OP_TOKEN_ENDPOINT_BAD_GRANT(f, "the refresh token was issued to another client");
    if (te->rt.exp > 0 && te->rt.exp <= op_loop_epoch())
        return op_token_endpoint_gone(f);
    te->authn = &te->rt.authn;
    return op_token_endpoint_scope(f);
}

/*
 * Rotation: the old token is single-use. One batch deletes it and writes
 * its rt-used marker, only if it is still there: whoever runs it first
 * wins, and a second use - read before or after - is a reuse. OP_AGAIN,
 * or an error in f->err (nothing consumed).
 */
static int op_token_endpoint_take_rt(op_flow_t *f)
{
    op_token_endpoint_t *te = f->ctx;
    int64_t atl = op_token_at_lifetime(te->srv->cfg, &te->rt.grant);
    const op_store_rec_t rt = {.ns = OP_TOKEN_NS_RT, .key = te->key, .key_len = 64};
    op_store_rec_t marker;
    int rc;

    rc =
        op_token_rt_used_record(op_loop_epoch(), &te->rt, atl, te->key, f->arena, &marker, &f->err);
    if (rc == OP_OK)
        rc = op_token_endpoint_commit(f);
    if (rc != OP_OK)
        return rc;
    const op_store_batch_op_t ops[] = {
        {OP_STORE_BATCH_CHECK, rt, OP_STORE_XX},
        {OP_STORE_BATCH_DEL, rt, 0},
        {OP_STORE_BATCH_PUT, marker, 0},
    };
    return op_token_endpoint_batch(f, ops, OP_NELEMS(ops));
}

/* The refresh token read: a missing one may have been rotated out (its
 * marker says); a good one goes on, through its rotation if it rotates. */
static int op_token_endpoint_rt(op_flow_t *f)
{
    op_token_endpoint_t *te = f->ctx;
    int rc;

    if (te->st == OP_ENOTFOUND) {
        op_flow_set_state(f, TE_RT_USED);
        return op_token_endpoint_read(f, OP_TOKEN_NS_RT_USED);
    }
    rc = op_token_endpoint_rt_check(f);
    if (rc == OP_OK && !te->rt.grant.rt_rotate) {
        op_flow_set_state(f, TE_CLAIMS);
        return OP_OK;
    }
    if (rc == OP_OK)
        rc = op_token_endpoint_take_rt(f);
    op_flow_set_state(f, rc == OP_AGAIN ? TE_RT_TAKEN : TE_ERROR);
    return rc == OP_AGAIN ? OP_AGAIN : OP_OK;
}

static int op_token_endpoint_rt_taken(op_flow_t *f)
{
    op_token_endpoint_t *te = f->ctx;

    if (te->batch_st == OP_OK && te->res[0].st == OP_ECONFLICT) {
        /* Another request took it between our read and our take: a
         * reuse (Security BCP §4.14.2), whether its exchange is still
         * running or done. The family goes. */
        op_log_warn(f->req_id, "token: refresh token of client %s used twice: revoking family %s",
                    te->client->client_id, te->rt.fam);
        op_flow_set_state(f, TE_REVOKED);
        return op_token_endpoint_revoke(f, te->rt.fam,
                                        op_token_at_lifetime(te->srv->cfg, &te->rt.grant));
    }
    int st = te->batch_st != OP_OK    ? te->batch_st
             : te->res[1].st != OP_OK ? te->res[1].st
                                      : te->res[2].st;
    if (st != OP_OK)
        op_token_endpoint_store_failed(f, st, "rotate the refresh token");
    op_flow_set_state(f, st == OP_OK ? TE_CLAIMS : TE_ERROR);
    return OP_OK;
}

/* The refresh token was not there: a rotated-out one revokes its family
 * (OAuth 2.0 Security BCP §4.14.2). Either way: invalid_grant. */
static int op_token_endpoint_rt_used(op_flow_t *f)
{
    op_token_endpoint_t *te = f->ctx;
    int rc = op_token_endpoint_replayed(f, te->st, te->val, te->val_len);

    op_flow_set_state(f, rc == OP_AGAIN ? TE_REVOKED : TE_ERROR);
    return rc == OP_AGAIN ? OP_AGAIN : OP_OK;
}

/* ---- claims, minting, answer ----------------------------------------------------------- */

/* The claims the new tokens carry, fetched: kept with the status and
 * error for TE_MINT, which logs what was left out. */
static void op_token_endpoint_on_claims(int status, const op_json_t *claims, const op_err_t *err,
                                        void *arg)
{
    op_flow_t *f = arg;
    op_token_endpoint_t *te = f->ctx;

    te->claims_st = status;
    te->claims = status == OP_OK ? claims : NULL;
    if (err != NULL)
        te->claims_err = *err;
    op_flow_resume(f);
}

static bool op_token_endpoint_wants_id_token(const op_token_endpoint_t *te)
{
    return op_strs_has(&te->grant.scp, "openid");
}

/* The names of the claims of the ID token (the grant's idc) and of a JWT
 * access token (the grant's atc), for one query. OP_OK, or OP_ETOOBIG
 * over the arena's cap. */
static int op_token_endpoint_claim_names(op_flow_t *f)
{
    op_token_endpoint_t *te = f->ctx;
    const op_grant_t *g = &te->grant;
    bool id = op_token_endpoint_wants_id_token(te);

    for (size_t i = 0; id && i < g->idc.n; i++) {
        if (op_strs_add(f->arena, &te->names, g->idc.items[i]) != OP_OK)
            return OP_ETOOBIG;
    }
    for (size_t i = 0; g->at_encoding == OP_AT_SELF_CONTAINED && i < g->atc.n; i++) {
        if (op_strs_add(f->arena, &te->names, g->atc.items[i]) != OP_OK)
            return OP_ETOOBIG;
    }
    return OP_OK;
}

/* Fetch the claims the new tokens carry, when there are any to fetch (the
 * tokens go out without them when their names pass the arena's cap). */
static int op_token_endpoint_claims(op_flow_t *f)
{
    op_token_endpoint_t *te = f->ctx;
    const op_grant_t *g = &te->grant;

    op_flow_set_state(f, TE_MINT);
    if (op_token_endpoint_claim_names(f) != OP_OK || te->names.n == 0 || te->srv->spi == NULL)
        return OP_OK;
    op_flow_hold(f);
    op_token_claims_fetch(te->srv->spi, te->srv->cfg->spi_timeout_ms, g, &te->names,
                          op_token_endpoint_wants_id_token(te) && g->idc.n > 0 ? "id_token" : NULL,
                          f->req_id, f->arena, op_token_endpoint_on_claims, f);
    return OP_AGAIN;
}

/* The refresh token a code issues (it starts the code's family), or that
 * replaces a rotating one (same family, same end). OP_DECLINED when
 * none. */
static int op_token_endpoint_mint_rt(op_flow_t *f, int64_t now)
{
    op_token_endpoint_t *te = f->ctx;

    if (te->refresh && !te->rt.grant.rt_rotate)
        return OP_DECLINED;
    if (!te->refresh &&
        (!te->grant.rt_issue || !op_client_has_grant(te->client, OP_CLIENT_GRANT_REFRESH_TOKEN)))
        return OP_DECLINED;
    if (te->refresh) {
        te->rt_next = te->rt;
    } else {
        te->rt_next.grant = te->grant;
        te->rt_next.authn = *te->authn;
        te->rt_next.fam = te->fam;
    }
    te->rt_issued = true;
    return op_token_rt_mint(now, !te->refresh, &te->rt_next, f->arena, &te->rt_out, &f->err);
}

/* The record to write besides the new tokens': the code-used marker
 * again, now with the access token lifetime and kept as long as what the
 * code issued may live; or the refreshed idle time of a refresh token
 * that does not rotate. (A rotated-out token's marker was written with
 * its deletion.) */
static int op_token_endpoint_bookkeeping(op_flow_t *f, int64_t now, op_store_rec_t *rec)
{
    op_token_endpoint_t *te = f->ctx;

    if (!te->refresh) {
        const op_token_used_t used = {te->fam, te->at_out.lifetime_s};
        int64_t ttl = te->rt_issued && te->rt_next.exp > 0 ? te->rt_next.exp - now
                                                           : OP_TOKEN_ENDPOINT_USED_TTL;
        if (ttl < te->at_out.lifetime_s)
            ttl = te->at_out.lifetime_s;
        return op_token_used_record(OP_TOKEN_NS_CODE_USED, te->key, &used, ttl, f->arena, rec,
                                    &f->err);
    }
    if (!te->rt_issued && te->rt.grant.rt_max_idle_s > 0)
        return op_token_rt_record(now, &te->rt, te->key, f->arena, rec, &f->err);
    return OP_DECLINED;
}

/* Mint the access token, the refresh token and the ID token, and prepare
 * every record to write. */
static int op_token_endpoint_mint_all(op_flow_t *f, const op_token_ctx_t *ctx)
{
    op_token_endpoint_t *te = f->ctx;
    int rc = op_token_at_mint(ctx, &te->grant, te->authn->sid, op_token_endpoint_fam(te),
                              te->claims, f->arena, &te->at_out, &f->err);

    if (rc != OP_OK)
        return rc;
    if (te->at_out.rec.ns != NULL)
        te->recs[te->nrecs++] = te->at_out.rec;
    rc = op_token_endpoint_mint_rt(f, ctx->now);
    if (rc == OP_OK)
        te->recs[te->nrecs++] = te->rt_out.rec;
    else if (rc != OP_DECLINED)
        return rc;
    rc = op_token_endpoint_bookkeeping(f, ctx->now, &te->recs[te->nrecs]);
    if (rc == OP_OK) {
        /* A refresh token that stays must not come back if it was
         * revoked meanwhile: replace only. */
        te->rec_flags[te->nrecs++] = te->refresh && !te->rt_issued ? OP_STORE_XX : 0;
    } else if (rc != OP_DECLINED)
        return rc;
    if (!op_token_endpoint_wants_id_token(te))
        return OP_OK;
    /* A refreshed ID token has no nonce and no preset claims (reference
     * §2.1 preset_claims: "not re-issued on ID-token refresh"). */
    op_token_id_req_t r = {
        .client = te->client,
        .grant = &te->grant,
        .authn = te->authn,
        .nonce = te->refresh ? NULL : te->code.nonce,
        .preset = te->refresh ? NULL : te->grant.idp,
        .claims = te->claims,
    };
    return op_token_id_mint(ctx, &r, f->arena, &te->id_token, &f->err);
}

static int op_token_endpoint_mint(op_flow_t *f)
{
    op_token_endpoint_t *te = f->ctx;
    op_keys_set_t *keys;

    /* As the reference's op.idToken.ignoreClaimsSourceErrors (default
     * true): the tokens go out without the claims the sources failed on. */
    if (te->claims_st != OP_OK && te->claims_st != OP_ENOTFOUND)
        op_log_warn(f->req_id, "token: claims for the tokens left out: %s",
                    te->claims_err.description[0] != '\0' ? te->claims_err.description
                                                          : op_err_status_name(te->claims_st));
    keys = op_keys_current(te->srv->keys);
    op_token_ctx_t ctx = {te->srv->cfg, keys, op_loop_epoch()};
    int rc = op_token_endpoint_mint_all(f, &ctx);

    op_keys_set_release(keys);
    if (rc != OP_OK) {
        op_flow_set_state(f, TE_ERROR);
        return OP_OK;
    }
    /* Every record in one batch (one round trip), written only if the
     * family was not revoked meanwhile; the answer waits for it. */
    op_flow_set_state(f, TE_REPLY);
    if (te->nrecs > 0)
        op_writes_check(&te->writes, OP_TOKEN_NS_REVOKED, op_token_endpoint_fam(te), OP_STORE_NX,
                        NULL, 0);
    for (size_t i = 0; i < te->nrecs; i++)
        op_writes_put(&te->writes, &te->recs[i], te->rec_flags[i]);
    return op_writes_flush(&te->writes, te->srv->store, f) ? OP_AGAIN : OP_OK;
}

/* RFC 6749 §5.1: the answer, once the tokens are stored (a family
 * revoked meanwhile stored nothing). OP_OK with the document in
 * *body and *len, or an error in f->err. */
static int op_token_endpoint_answer(op_flow_t *f, const char **body, size_t *len)
{
    op_token_endpoint_t *te = f->ctx;

    if (te->writes.status == OP_ECONFLICT) {
        op_log_warn(f->req_id,
                    "token: family %s revoked while client %s exchanged a grant of it: nothing "
                    "issued",
                    op_token_endpoint_fam(te), te->client->client_id);
        return OP_TOKEN_ENDPOINT_BAD_GRANT(f, "the grant was revoked (a replayed code or a "
                                              "reused refresh token)");
    }
    if (te->writes.status != OP_OK)
        return op_token_endpoint_store_failed(f, te->writes.status, "store the tokens");
    op_json_w_t *w = op_json_w_new(f->arena, false);
    char *scope = op_token_scope_str(f->arena, &te->grant.scp);
    if (w == NULL || scope == NULL)
        return OP_ERR(&f->err, OP_ETOOBIG, "request too large");
    op_json_w_obj_open(w);
    op_json_w_kstr(w, "access_token", te->at_out.token);
    op_json_w_kstr(w, "token_type", "Bearer");
    op_json_w_kint(w, "expires_in", te->at_out.lifetime_s);
    if (te->grant.scp.n > 0)
        op_json_w_kstr(w, "scope", scope);
    if (te->rt_issued)
        op_json_w_kstr(w, "refresh_token", te->rt_out.token);
    if (te->id_token != NULL)
        op_json_w_kstr(w, "id_token", te->id_token);
    op_json_w_obj_close(w);
    return op_json_w_finish(w, body, len, &f->err);
}

static int op_token_endpoint_reply(op_flow_t *f)
{
    op_token_endpoint_t *te = f->ctx;
    const char *body = NULL;
    size_t len = 0;

    if (op_token_endpoint_answer(f, &body, &len) != OP_OK) {
        op_flow_set_state(f, TE_ERROR);
        return OP_OK;
    }
    op_http_reply_json(te->req, 200, body, len, OP_REPLY_NO_STORE);
    return OP_DONE;
}

/* RFC 6749 §5.2: invalid_client is a 401, which needs a challenge (RFC
 * 9110 §11.6.1); Basic is the scheme of client_secret_basic. */
static void op_token_endpoint_reply_error(op_flow_t *f)
{
    op_token_endpoint_t *te = f->ctx;

    if (f->err.http_status == 401) {
        /* The issuer is a validated URL: no quote or backslash to escape. */
        char *ch = op_arena_printf(f->arena, "Basic realm=\"%s\"", te->srv->cfg->issuer);
        if (ch != NULL)
            op_http_reply_header(te->req, "WWW-Authenticate", ch);
    }
    op_http_reply_error(te->req, &f->err);
}

static int op_token_endpoint_step(op_flow_t *f)
{
    switch ((op_token_endpoint_state_t)f->state) {
    case TE_PARSE:
        return op_token_endpoint_parse(f);
    case TE_AUTH:
        return op_token_endpoint_auth(f);
    case TE_CODE:
        return op_token_endpoint_code(f);
    case TE_RT:
        return op_token_endpoint_rt(f);
    case TE_RT_TAKEN:
        return op_token_endpoint_rt_taken(f);
    case TE_RT_USED:
        return op_token_endpoint_rt_used(f);
    case TE_CLAIMS:
        return op_token_endpoint_claims(f);
    case TE_MINT:
        return op_token_endpoint_mint(f);
    case TE_REPLY:
        return op_token_endpoint_reply(f);
    case TE_REVOKED: /* invalid_grant; an incomplete revocation was logged */
    case TE_ERROR:
    case TE_MAX:
        break;
    }
    op_token_endpoint_reply_error(f);
    return OP_DONE;
}

static const op_flow_def_t op_token_endpoint_flow = {
    "token", TE_MAX, op_token_endpoint_states, op_token_endpoint_step, NULL,
};

static void op_token_endpoint_handle(op_http_req_t *req, void *arg)
{
    op_server_t *srv = arg;
    op_flow_t *f;
    op_token_endpoint_t *te = op_server_flow_new(srv, req, &op_token_endpoint_flow,
                                                 OP_TOKEN_ENDPOINT_ARENA, sizeof(*te), &f);
    if (te == NULL)
        return;
    te->srv = srv;
    te->req = req;
    op_flow_run(f);
}

const op_endpoint_t op_token_endpoint = {
    .name = "token",
    .routes = {{OP_HTTP_POST, "/token", OP_ROUTE_CORS, op_token_endpoint_handle, NULL}},
};
