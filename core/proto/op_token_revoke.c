/*
 * core/proto/op_token_revoke.c - revoking a token family (RFC 6749 §4.1.2,
 * §10.5; OAuth 2.0 Security BCP §4.14.2): its revocation record first,
 * then the deletion of its stored tokens. See core/proto/op_token.h.
 *
 * The order is what makes it complete. The record is written before the
 * family is listed, and every write of a new token of the family checks
 * for the record in the same atomic batch (core/flows/op_token_endpoint.c). So
 * a token stored before the record is in the listing and deleted, and
 * one that would be stored after it never is. Self-contained access
 * tokens cannot be deleted: the record is what refuses them
 * (core/proto/op_token_access.c), for as long as they can live.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/proto/op_token.h"

/* Where a family's stored tokens live (index "fam" of each). */
static const char *const op_token_revoke_ns[] = {OP_TOKEN_NS_RT, OP_TOKEN_NS_AT};

/* A revocation in flight (malloc'd, freed after its callback). */
typedef struct op_token_revoke_job {
    op_store_t *store;
    op_token_revoke_cb cb;
    void *arg;
    int pending; /* store operations in flight */
    int status;  /* their first failure */
    char req_id[32];
    char fam[]; /* NUL-terminated copy */
} op_token_revoke_job_t;

/* One operation done: the job ends with the last one. */
static void op_token_revoke_done(op_token_revoke_job_t *j, int status)
{
    if (status != OP_OK && status != OP_ENOTFOUND && j->status == OP_OK)
        j->status = status;
    if (--j->pending > 0)
        return;
    if (j->status != OP_OK)
        op_log_error(j->req_id, "token: revocation of family %s incomplete: storage %s", j->fam,
                     op_err_status_name(j->status));
    j->cb(j->status, j->arg);
    free(j);
}

static void op_token_revoke_on_del(int status, const op_store_res_t *res, void *arg)
{
    OP_UNUSED(res);
    op_token_revoke_done(arg, status);
}

/* A listing of the family in one namespace: delete what it found (the
 * store copies each key as the delete starts). */
static void op_token_revoke_listed(op_token_revoke_job_t *j, const char *ns, int status,
                                   const op_store_res_t *res)
{
    for (size_t i = 0; status == OP_OK && i < res->nkeys; i++) {
        j->pending++;
        op_store_del(j->store, ns, res->keys[i].ptr, res->keys[i].len, op_token_revoke_on_del, j);
    }
    op_token_revoke_done(j, status);
}

static void op_token_revoke_on_rt(int status, const op_store_res_t *res, void *arg)
{
    op_token_revoke_listed(arg, op_token_revoke_ns[0], status, res);
}

static void op_token_revoke_on_at(int status, const op_store_res_t *res, void *arg)
{
    op_token_revoke_listed(arg, op_token_revoke_ns[1], status, res);
}

/* The record is written (or failed: the family's tokens go anyway):
 * list the family in each namespace. */
static void op_token_revoke_on_record(int status, const op_store_res_t *res, void *arg)
{
    op_token_revoke_job_t *j = arg;
    const op_store_cb listed[] = {op_token_revoke_on_rt, op_token_revoke_on_at};

    OP_UNUSED(res);
    if (status != OP_OK)
        op_log_error(j->req_id, "token: revocation record of family %s not written: storage %s",
                     j->fam, op_err_status_name(status));
    for (size_t i = 0; i < OP_NELEMS(op_token_revoke_ns); i++) {
        j->pending++;
        op_store_index(j->store, op_token_revoke_ns[i], "fam", j->fam, strlen(j->fam), 0, listed[i],
                       j);
    }
    op_token_revoke_done(j, status);
}

/* See core/proto/op_token.h. The record is {"iat": now}; its TTL covers the
 * family's access tokens and every exchange of it still running. */
void op_token_revoke_family(op_store_t *store, const char *fam, int64_t atl_s, const char *req_id,
                            op_token_revoke_cb cb, void *arg)
{
    size_t n = strlen(fam);
    op_token_revoke_job_t *j = op_calloc(1, sizeof(*j) + n + 1);
    char value[32];

    memcpy(j->fam, fam, n);
    snprintf(j->req_id, sizeof(j->req_id), "%s", req_id != NULL ? req_id : "-");
    j->store = store;
    j->cb = cb;
    j->arg = arg;
    j->pending = 1;
    int64_t life = atl_s > 0 ? atl_s : OP_TOKEN_AT_LIFETIME_MAX;
    int len = snprintf(value, sizeof(value), "{\"iat\":%" PRId64 "}", op_loop_epoch());
    const op_store_rec_t rec = {
        .ns = OP_TOKEN_NS_REVOKED,
        .key = j->fam,
        .key_len = n,
        .value = value,
        .value_len = (size_t)len,
        .ttl_ms = (uint64_t)(life + OP_TOKEN_REVOKED_SLACK_S) * 1000u,
    };
    op_store_put(store, &rec, 0, op_token_revoke_on_record, j);
}
