/*
 * spi/op_spi_call.c - call tokens (op_spi_call_t): the exactly-once
 * completion handle a plugin gets with every SPI call (host->call_alloc,
 * host->call_ended, host->complete), and their hand-over to the claims
 * runs.
 *
 * A completed token is queued and handed to its claims run from a
 * zero-delay timer (the reaper), never from inside the plugin's own stack:
 * the token stays valid until then, which is what lets host->complete
 * catch a second completion. A token owns its arena (the request handed
 * to the plugin, the values made with it, its result); the reaper frees it.
 */
#include <stdlib.h>
#include <string.h>

#include "spi/op_spi_int.h"

#define OP_SPI_CALL_DESC_MAX (OP_ERR_DESC_MAX - 1)

/* The OAuth error codes a plugin may answer: RFC 6749 §4.1.2.1 and §5.2,
 * RFC 6750 §3.1, OpenID Connect Core §3.1.2.6. Static strings, so an
 * op_err_t that points at one may be copied and kept. */
static const char *const op_spi_call_oauth_errors[] = {
    "invalid_request",
    "invalid_client",
    "invalid_grant",
    "unauthorized_client",
    "unsupported_grant_type",
    "invalid_scope",
    "access_denied",
    "unsupported_response_type",
    "server_error",
    "temporarily_unavailable",
    "invalid_token",
    "insufficient_scope",
    "interaction_required",
    "login_required",
    "account_selection_required",
    "consent_required",
    "invalid_request_uri",
    "invalid_request_object",
    "request_not_supported",
    "request_uri_not_supported",
    "registration_not_supported",
};

op_spi_call_t *op_spi_call_new(op_spi_config_t *plugin, op_spi_claims_run_t *run, size_t index,
                               const char *req_id)
{
    op_arena_t *a = op_arena_new(OP_SPI_CALL_ARENA_MAX);
    /* The first allocation of a fresh arena, far under its cap. */
    op_spi_call_t *call = op_arena_calloc(a, 1, sizeof(*call));
    call->arena = a;
    call->plugin = plugin;
    call->run = run;
    call->index = index;
    call->req_id = req_id != NULL ? op_arena_strdup(a, req_id) : NULL;
    op_list_insert_tail(&plugin->calls, &call->link);
    return call;
}

/* Mark a call completed and queue it for the reaper. */
static void op_spi_call_done(op_spi_call_t *call, int status)
{
    op_spi_t *spi = call->plugin->spi;
    call->completed = true;
    call->status = status;
    op_list_remove(&call->link);
    op_list_insert_tail(&spi->done, &call->link);
    op_timer_start(spi->reaper, 0);
}

void op_spi_call_reap(void *arg)
{
    op_spi_t *spi = arg;
    op_list_t *first;
    while ((first = op_list_first(&spi->done)) != NULL) {
        op_spi_call_t *call = OP_LIST_ENTRY(first, op_spi_call_t, link);
        op_list_remove(first);
        op_spi_claims_on_done(call);
        op_arena_free(call->arena);
    }
}

void *op_spi_call_alloc(op_spi_call_t *call, size_t n)
{
    if (call == NULL || call->completed)
        return NULL;
    return op_arena_calloc(call->arena, 1, n);
}

bool op_spi_call_ended(const op_spi_call_t *call)
{
    return call == NULL || call->completed || op_spi_claims_ended(call);
}

/* The static copy of a plugin's OAuth error code ("server_error" when
 * unknown). */
static const char *op_spi_call_oauth_error(const char *code)
{
    for (size_t i = 0; code != NULL && i < OP_NELEMS(op_spi_call_oauth_errors); i++) {
        if (strcmp(code, op_spi_call_oauth_errors[i]) == 0)
            return op_spi_call_oauth_errors[i];
    }
    return "server_error";
}

/* RFC 6749 §5.2 error_description: %x20-21 / %x23-5B / %x5D-7E. */
static bool op_spi_call_desc_ok(const char *s)
{
    size_t n = 0;
    for (; s[n] != '\0'; n++) {
        unsigned char c = (unsigned char)s[n];
        if (c < 0x20 || c > 0x7e || c == '"' || c == '\\' || n >= OP_SPI_CALL_DESC_MAX)
            return false;
    }
    return true;
}

/*
 * What a plugin's status means to the server. The ABI's values are the
 * server's own and pass through; a plugin that ran out of memory
 * (OP_SPI_ENOMEM) or answers a value the ABI does not define has failed:
 * OP_ERROR, server_error.
 */
static int op_spi_call_status(int status)
{
    switch (status) {
    case OP_SPI_OK:
    case OP_SPI_ERROR:
    case OP_SPI_EINVAL:
    case OP_SPI_ENOTFOUND:
    case OP_SPI_ETIMEDOUT:
    case OP_SPI_ECANCELED:
    case OP_SPI_EUNAVAIL:
    case OP_SPI_ETOOBIG:
        return status;
    default:
        return OP_SPI_ERROR;
    }
}

/*
 * host->complete: record the plugin's answer (copying what is not the
 * call's own) and queue the call. A second completion of the same call is
 * a plugin bug that would otherwise become a use-after-free: stop here.
 */
void op_spi_call_complete(op_spi_call_t *call, int status, const op_spi_json_t *result,
                          const char *error, const char *error_description, int http_status)
{
    if (call == NULL) {
        op_log_error(NULL, "spi: complete without a call");
        return;
    }
    if (call->completed) {
        op_log_error(call->req_id, "spi: plugin %s completed a call twice (plugin bug); aborting",
                     call->plugin->name);
        abort();
    }
    status = op_spi_call_status(status);
    if (status == OP_SPI_OK && result != NULL) {
        if (result->arena == call->arena) {
            call->result = result;
        } else {
            op_spi_json_t *copy = NULL;
            int rc = op_spi_json_copy(call->arena, &result->v, 0, &copy);
            if (rc != OP_OK) {
                status = rc;
                error_description = "cannot copy the claims";
            }
            call->result = copy;
        }
    }
    if (status == OP_SPI_ERROR) {
        call->error = op_spi_call_oauth_error(error);
        call->http_status = http_status >= 400 && http_status <= 599 ? http_status : 500;
    }
    if (error_description != NULL && op_spi_call_desc_ok(error_description))
        call->error_description = op_arena_strdup(call->arena, error_description);
    op_spi_call_done(call, status);
}

/* After fini (op_spi_host_release): every call p did not complete ends
 * as OP_ECANCELED, queued for the reaper like any other. */
void op_spi_call_cancel_all(op_spi_config_t *p)
{
    op_list_t *first;
    while ((first = op_list_first(&p->calls)) != NULL)
        op_spi_call_done(OP_LIST_ENTRY(first, op_spi_call_t, link), OP_ECANCELED);
}
