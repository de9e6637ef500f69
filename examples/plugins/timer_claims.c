/*
 * examples/plugins/timer_claims.c - an example claims source plugin that
 * answers from a timer, as a plugin waiting for a database or a web
 * service would.
 *
 * Build (the Makefile does it for `make all`):
 *
 *   cc -std=c11 -I. -Wall -Wextra -Werror -fPIC -shared \
 *      examples/plugins/timer_claims.c -o build/release/plugins/timer_claims.so
 *
 * Use (tessera.properties):
 *
 *   spi.plugins = build/release/plugins/timer_claims.so
 *   plugin.timer-claims.delayMs = 10
 *
 * It supports the claims under https://example.com/claims/ (a prefix
 * pattern) and knows two of them for two subjects:
 *
 *   subject  loyalty_tier  points
 *   alice    "gold"        1200
 *   bob      "silver"      300
 *
 * What it shows:
 *  - the descriptor and the entry point every plugin has;
 *  - init reading a property (plugin.timer-claims.delayMs) and keeping the
 *    host table and the plugin's handle for later;
 *  - an asynchronous get(): the call is completed later, from a timer,
 *    never by blocking the loop;
 *  - the exactly-once rule: every call is completed once, also when the
 *    server stopped waiting for it (call_ended) and at shutdown (fini);
 *  - memory: per-call state comes from the call's arena (call_alloc) and
 *    goes with the call; only the plugin's own state is malloc'd;
 *  - logging through host->log (never printf: the server's log has the
 *    request id and masks secrets).
 *
 * It includes spi/op_spi.h and the C library only, as every plugin must.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "spi/op_spi.h"

#define TC_PREFIX        "https://example.com/claims/"
#define TC_DEFAULT_DELAY 10
#define TC_MAX_DELAY     60000

/* The plugin's own state, made by init, freed by fini. */
typedef struct tc_plugin {
    const op_spi_host_t *host;  /* the services table: valid until fini */
    const op_spi_config_t *cfg; /* our handle: timers, logs, properties */
    uint64_t delay_ms;
    struct tc_job *pending; /* calls not completed yet, for fini */
} tc_plugin_t;

/* One get() waiting for its timer. It lives in the call's arena, so it
 * must not be touched after the call is completed. */
typedef struct tc_job {
    tc_plugin_t *tc;
    op_spi_call_t *call;
    const op_spi_claims_req_t *req; /* borrowed until the call completes */
    op_spi_timer_t *timer;
    struct tc_job *prev, *next;
} tc_job_t;

/* What this source knows. */
typedef struct tc_user {
    const char *sub;
    const char *tier;
    int64_t points;
} tc_user_t;

static const tc_user_t tc_users[] = {
    {"alice", "gold", 1200},
    {"bob", "silver", 300},
};

/* The names we support: one prefix pattern. The host copies the list. */
static const char *const tc_supported[] = {TC_PREFIX "*", NULL};

/* ---- the job list -------------------------------------------------------- */

static void tc_job_link(tc_job_t *job)
{
    tc_plugin_t *tc = job->tc;
    job->prev = NULL;
    job->next = tc->pending;
    if (tc->pending != NULL)
        tc->pending->prev = job;
    tc->pending = job;
}

static void tc_job_unlink(tc_job_t *job)
{
    if (job->prev != NULL)
        job->prev->next = job->next;
    else
        job->tc->pending = job->next;
    if (job->next != NULL)
        job->next->prev = job->prev;
}

/* ---- answering ----------------------------------------------------------- */

static const tc_user_t *tc_find(const char *sub)
{
    for (size_t i = 0; i < sizeof(tc_users) / sizeof(tc_users[0]); i++) {
        if (strcmp(tc_users[i].sub, sub) == 0)
            return &tc_users[i];
    }
    return NULL;
}

/*
 * Put the claim `name` of user into out, if we have it. "*" asks for
 * everything we have. Values are set with the host's JSON helpers; they
 * are allocated in the call's arena.
 */
static int tc_add(const op_spi_host_t *h, op_spi_json_t *out, const tc_user_t *user,
                  const char *name)
{
    bool all = strcmp(name, "*") == 0;
    int rc = OP_SPI_OK;
    if (all || strcmp(name, TC_PREFIX "loyalty_tier") == 0)
        rc = h->json_set_str(out, TC_PREFIX "loyalty_tier", user->tier);
    if (rc == OP_SPI_OK && (all || strcmp(name, TC_PREFIX "points") == 0))
        rc = h->json_set_int(out, TC_PREFIX "points", user->points);
    return rc;
}

/*
 * The timer fired: complete the call. The order matters: take what we
 * need from the job, free the timer (allowed inside its own function),
 * and complete last, because completing frees the call's arena and with
 * it the job.
 */
static void tc_on_timer(void *arg)
{
    tc_job_t *job = arg;
    tc_plugin_t *tc = job->tc;
    const op_spi_host_t *h = tc->host;
    op_spi_call_t *call = job->call;
    const op_spi_claims_req_t *req = job->req;

    tc_job_unlink(job);
    h->timer_free(job->timer);

    /* The server may have given up (its deadline passed): the result
     * would be dropped, so skip the work, but still complete the call. */
    if (h->call_ended(call)) {
        h->log(tc->cfg, OP_SPI_LOG_DEBUG, call, "late for %s, the server stopped waiting",
               req->sub);
        h->complete(call, OP_SPI_ECANCELED, NULL, NULL, NULL, 0);
        return;
    }

    const tc_user_t *user = tc_find(req->sub);
    if (user == NULL) {
        h->complete(call, OP_SPI_ENOTFOUND, NULL, NULL, NULL, 0);
        return;
    }
    op_spi_json_t *out = h->json_object_new(call);
    int rc = out != NULL ? OP_SPI_OK : OP_SPI_ETOOBIG; /* the call's memory cap */
    for (size_t i = 0; rc == OP_SPI_OK && i < req->n_claims; i++)
        rc = tc_add(h, out, user, req->claims[i]);
    if (rc != OP_SPI_OK) {
        h->complete(call, OP_SPI_ERROR, NULL, "server_error", "cannot build the claims", 500);
        return;
    }
    h->complete(call, OP_SPI_OK, out, NULL, NULL, 0);
}

/*
 * get(): remember the call and start a timer. Returning without
 * completing is the normal, asynchronous case. Errors found right here
 * may be completed right here: the host never calls the server back
 * from inside get().
 */
static void tc_get(void *plugin_data, op_spi_call_t *call, const op_spi_claims_req_t *req)
{
    tc_plugin_t *tc = plugin_data;
    const op_spi_host_t *h = tc->host;
    tc_job_t *job = h->call_alloc(call, sizeof(*job));
    if (job == NULL) {
        h->complete(call, OP_SPI_ERROR, NULL, "server_error", "over the call's memory cap", 500);
        return;
    }
    job->tc = tc;
    job->call = call;
    job->req = req;
    job->timer = h->timer_new(tc->cfg, tc_on_timer, job);
    if (job->timer == NULL) {
        h->complete(call, OP_SPI_ERROR, NULL, "server_error", "cannot make a timer", 500);
        return;
    }
    tc_job_link(job);
    h->timer_start(job->timer, tc->delay_ms);
    h->log(tc->cfg, OP_SPI_LOG_DEBUG, call, "%zu claims of %s in %llu ms", req->n_claims, req->sub,
           (unsigned long long)tc->delay_ms);
}

static const char *const *tc_supported_claims(void *plugin_data)
{
    (void)plugin_data;
    return tc_supported;
}

/* ---- life cycle ---------------------------------------------------------- */

/* delayMs: digits only, 0..TC_MAX_DELAY. */
static bool tc_parse_delay(const char *s, uint64_t *out)
{
    if (s[0] < '0' || s[0] > '9')
        return false;
    char *end = NULL;
    errno = 0;
    unsigned long v = strtoul(s, &end, 10);
    if (errno != 0 || *end != '\0' || v > TC_MAX_DELAY)
        return false;
    *out = v;
    return true;
}

static int tc_init(const op_spi_host_t *host, const op_spi_config_t *cfg, void **plugin_data)
{
    /* A newer host has more services, an older one fewer: check those we
     * use beyond the first version of the table. (All of these are in
     * it; the check is here to show how.) */
    if (!OP_SPI_HOST_HAS(host, call_ended))
        return OP_SPI_EINVAL;

    uint64_t delay = TC_DEFAULT_DELAY;
    const char *prop = host->config_get(cfg, "delayMs");
    if (prop != NULL && !tc_parse_delay(prop, &delay)) {
        host->log(cfg, OP_SPI_LOG_ERROR, NULL, "delayMs must be 0..%d milliseconds", TC_MAX_DELAY);
        return OP_SPI_EINVAL;
    }
    tc_plugin_t *tc = calloc(1, sizeof(*tc));
    if (tc == NULL)
        return OP_SPI_ENOMEM;
    tc->host = host;
    tc->cfg = cfg;
    tc->delay_ms = delay;
    *plugin_data = tc;
    host->log(cfg, OP_SPI_LOG_INFO, NULL, "ready: claims " TC_PREFIX "... after %llu ms",
              (unsigned long long)delay);
    return OP_SPI_OK;
}

/*
 * Shutdown. Complete every call still waiting (exactly once holds here
 * too; the host would reclaim them otherwise, but a plugin that owns
 * resources per call should end them itself), free the timers, then the
 * plugin's state.
 */
static void tc_fini(void *plugin_data)
{
    tc_plugin_t *tc = plugin_data;
    const op_spi_host_t *h = tc->host;
    while (tc->pending != NULL) {
        tc_job_t *job = tc->pending;
        op_spi_call_t *call = job->call;
        tc_job_unlink(job);
        h->timer_free(job->timer);
        h->complete(call, OP_SPI_ECANCELED, NULL, NULL, NULL, 0);
    }
    free(tc);
}

/* ---- the descriptor and the entry point ---------------------------------- */

static const op_spi_claims_ops_t tc_claims = {
    .supported_claims = tc_supported_claims,
    .get = tc_get,
};

static const op_spi_plugin_t tc_plugin = {
    OP_SPI_PLUGIN_HEADER, /* ABI version, descriptor size, build signature */
    .name = "timer-claims", .kinds = OP_SPI_KIND_CLAIMS, .init = tc_init,
    .fini = tc_fini,        .claims = &tc_claims,
};

/* The one symbol the server looks up. */
const op_spi_plugin_t *op_spi_entry(const op_spi_host_t *host)
{
    /* Refuse a host of another ABI (the host checks us too). */
    if (host->abi_version != OP_SPI_ABI_VERSION)
        return NULL;
    return &tc_plugin;
}
