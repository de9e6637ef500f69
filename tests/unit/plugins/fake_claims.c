/*
 * tests/unit/plugins/fake_claims.c - a scriptable claims source for
 * tests/unit/spi/test_op_spi.c, named "fake". Its properties (plugin.fake.*):
 *
 *   claims   comma-separated supported names (default "fake_claim")
 *   mode     how get() answers:
 *              next       on the next loop iteration (host->defer)
 *              sync       inside get()
 *              never      not at all (the host reclaims the call at close)
 *              twice      completes twice (the host must abort)
 *              error      an OAuth error: properties error, desc, status
 *              unavail    OP_SPI_EUNAVAIL
 *              status     the status of property code, as it is (e.g. -2,
 *                         OP_SPI_ENOMEM, or a value the ABI does not define)
 *              notfound   subject unknown
 *              nonobject  an array instead of an object
 *              extra      the names asked plus "<name>#de" and secret_claim
 *              inspect    {"<name>": "<what the request held>"}
 *              fetch      POSTs {"sub", "claims"} to url, answers its body
 *              random     {"<name>": 32 hex digits of random bytes}
 *              fail-init  init fails (after starting a timer)
 *
 * A claim's value is "fake:<name>" unless the mode says otherwise.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "spi/op_spi.h"

#define FAKE_MAX_NAMES 16

typedef struct fake {
    const op_spi_host_t *h;
    const op_spi_config_t *cfg;
    const char *mode;
    char *list; /* the claims property, split in place */
    const char *names[FAKE_MAX_NAMES + 1];
} fake_t;

typedef struct fake_job {
    fake_t *f;
    op_spi_call_t *call;
    const op_spi_claims_req_t *req;
} fake_job_t;

static bool fake_mode(const fake_t *f, const char *mode)
{
    return strcmp(f->mode, mode) == 0;
}

static void fake_nothing(void *arg)
{
    (void)arg;
}

/* Append "<label>=<a,b,c>;" to buf. */
static void fake_list(char *buf, size_t size, const char *label, const char *const *v, size_t n)
{
    size_t used = strlen(buf);
    used += (size_t)snprintf(buf + used, size - used, "%s=", label);
    for (size_t i = 0; i < n && used < size; i++)
        used += (size_t)snprintf(buf + used, size - used, "%s%s", i > 0 ? "," : "", v[i]);
    if (used < size)
        snprintf(buf + used, size - used, ";");
}

/* What the request held, with claims_data as key:type pairs. */
static void fake_inspect(const fake_job_t *job, char *buf, size_t size)
{
    const op_spi_host_t *h = job->f->h;
    const op_spi_claims_req_t *r = job->req;
    const char *data[8];
    char pairs[8][64];
    size_t nd = 0;
    snprintf(buf, size, "sub=%s;", r->sub);
    fake_list(buf, size, "claims", r->claims, r->n_claims);
    fake_list(buf, size, "locales", r->claims_locales, r->n_claims_locales);
    fake_list(buf, size, "scope", r->scope, r->n_scope);
    for (size_t i = 0; i < h->json_len(r->claims_data) && nd < 8; i++) {
        const char *key = NULL;
        const op_spi_json_t *v = h->json_at(r->claims_data, i, &key);
        int64_t n = 0;
        const char *s = h->json_str(v, NULL);
        if (s != NULL)
            snprintf(pairs[nd], sizeof(pairs[nd]), "%s:%s", key, s);
        else if (h->json_int(v, &n))
            snprintf(pairs[nd], sizeof(pairs[nd]), "%s:%lld", key, (long long)n);
        else
            snprintf(pairs[nd], sizeof(pairs[nd]), "%s:type%d", key, (int)h->json_type(v));
        data[nd] = pairs[nd];
        nd++;
    }
    fake_list(buf, size, "data", data, nd);
    size_t used = strlen(buf);
    snprintf(buf + used, size - used, "client=%s;transport=%s",
             r->client_id != NULL ? r->client_id : "-", r->transport != NULL ? r->transport : "-");
}

/* The value of one claim in the current mode. */
static int fake_value(fake_job_t *job, op_spi_json_t *out, const char *name)
{
    const op_spi_host_t *h = job->f->h;
    char buf[512];
    if (fake_mode(job->f, "inspect")) {
        fake_inspect(job, buf, sizeof(buf));
    } else if (fake_mode(job->f, "random")) {
        unsigned char r[16];
        h->random_bytes(r, sizeof(r));
        for (size_t i = 0; i < sizeof(r); i++)
            snprintf(buf + 2 * i, 3, "%02x", r[i]);
    } else {
        snprintf(buf, sizeof(buf), "fake:%s", name);
    }
    int rc = h->json_set_str(out, name, buf);
    if (rc == OP_SPI_OK && fake_mode(job->f, "extra")) {
        char tagged[256];
        snprintf(tagged, sizeof(tagged), "%s#de", name);
        rc = h->json_set_str(out, tagged, "fake:de");
        if (rc == OP_SPI_OK)
            rc = h->json_set_str(out, "secret_claim", "must be dropped");
    }
    return rc;
}

/* Answer with the claims asked ("*": every supported name). */
static void fake_answer(fake_job_t *job)
{
    const op_spi_host_t *h = job->f->h;
    op_spi_call_t *call = job->call;
    op_spi_json_t *out = h->json_object_new(call);
    int rc = out != NULL ? OP_SPI_OK : OP_SPI_ENOMEM;
    for (size_t i = 0; rc == OP_SPI_OK && i < job->req->n_claims; i++) {
        const char *name = job->req->claims[i];
        if (strcmp(name, "*") != 0) {
            rc = fake_value(job, out, name);
            continue;
        }
        for (size_t k = 0; rc == OP_SPI_OK && job->f->names[k] != NULL; k++)
            rc = fake_value(job, out, job->f->names[k]);
    }
    h->complete(call, rc, rc == OP_SPI_OK ? out : NULL, NULL, NULL, 0);
}

static void fake_on_fetch(int status, const op_spi_http_resp_t *resp, const char *desc, void *arg)
{
    fake_job_t *job = arg;
    const op_spi_host_t *h = job->f->h;
    if (status != OP_SPI_OK) {
        h->log(job->f->cfg, OP_SPI_LOG_INFO, job->call, "fetch failed: %s", desc);
        h->complete(job->call, status, NULL, NULL, desc, 0);
        return;
    }
    char err[128];
    op_spi_json_t *body = h->json_parse(job->call, resp->body, resp->body_len, err, sizeof(err));
    if (body == NULL)
        h->complete(job->call, OP_SPI_ERROR, NULL, "server_error", err, 502);
    else
        h->complete(job->call, OP_SPI_OK, body, NULL, NULL, 0);
}

/* POST {"sub": ..., "claims": [...]} to the url property. */
static void fake_fetch(fake_job_t *job)
{
    const op_spi_host_t *h = job->f->h;
    op_spi_json_t *body = h->json_object_new(job->call);
    op_spi_json_t *claims = h->json_array_new(job->call);
    int rc = body != NULL && claims != NULL ? OP_SPI_OK : OP_SPI_ENOMEM;
    for (size_t i = 0; rc == OP_SPI_OK && i < job->req->n_claims; i++)
        rc = h->json_append_str(claims, job->req->claims[i]);
    if (rc == OP_SPI_OK)
        rc = h->json_set_str(body, "sub", job->req->sub);
    if (rc == OP_SPI_OK)
        rc = h->json_set(body, "claims", claims);
    size_t len = 0;
    const char *text = rc == OP_SPI_OK ? h->json_serialize(job->call, body, &len) : NULL;
    if (text == NULL) {
        h->complete(job->call, OP_SPI_ERROR, NULL, "server_error", "cannot build the body", 500);
        return;
    }
    op_spi_http_header_t hdr = {"Accept", "application/json"};
    op_spi_http_req_t req = {
        .method = OP_SPI_HTTP_POST,
        .url = h->config_get(job->f->cfg, "url"),
        .headers = &hdr,
        .n_headers = 1,
        .body = text,
        .body_len = len,
        .content_type = "application/json",
    };
    h->http_fetch(job->f->cfg, &req, fake_on_fetch, job);
}

/* The deferred half of get(). */
static void fake_run(void *arg)
{
    fake_job_t *job = arg;
    const op_spi_host_t *h = job->f->h;
    fake_t *f = job->f;
    if (fake_mode(f, "twice")) {
        h->complete(job->call, OP_SPI_ENOTFOUND, NULL, NULL, NULL, 0);
        h->complete(job->call, OP_SPI_ENOTFOUND, NULL, NULL, NULL, 0);
    } else if (fake_mode(f, "error")) {
        const char *status = h->config_get(f->cfg, "status");
        h->complete(job->call, OP_SPI_ERROR, NULL, h->config_get(f->cfg, "error"),
                    h->config_get(f->cfg, "desc"),
                    status != NULL ? (int)strtol(status, NULL, 10) : 0);
    } else if (fake_mode(f, "unavail")) {
        h->complete(job->call, OP_SPI_EUNAVAIL, NULL, NULL, "backend down", 0);
    } else if (fake_mode(f, "status")) {
        const char *code = h->config_get(f->cfg, "code");
        h->complete(job->call, code != NULL ? (int)strtol(code, NULL, 10) : 0, NULL, NULL, NULL, 0);
    } else if (fake_mode(f, "notfound")) {
        h->complete(job->call, OP_SPI_ENOTFOUND, NULL, NULL, NULL, 0);
    } else if (fake_mode(f, "nonobject")) {
        h->complete(job->call, OP_SPI_OK, h->json_array_new(job->call), NULL, NULL, 0);
    } else if (fake_mode(f, "fetch")) {
        fake_fetch(job);
    } else {
        fake_answer(job);
    }
}

static void fake_get(void *data, op_spi_call_t *call, const op_spi_claims_req_t *req)
{
    fake_t *f = data;
    const op_spi_host_t *h = f->h;
    if (fake_mode(f, "never"))
        return;
    fake_job_t *job = h->call_alloc(call, sizeof(*job));
    if (job == NULL) {
        h->complete(call, OP_SPI_ENOMEM, NULL, NULL, NULL, 0);
        return;
    }
    job->f = f;
    job->call = call;
    job->req = req;
    if (fake_mode(f, "sync")) {
        fake_answer(job);
    } else if (h->defer(f->cfg, fake_run, job) != OP_SPI_OK) {
        h->complete(call, OP_SPI_ENOMEM, NULL, NULL, NULL, 0);
    }
}

static const char *const *fake_supported(void *data)
{
    const fake_t *f = data;
    return f->names;
}

static void fake_fini(void *data)
{
    fake_t *f = data;
    free(f->list);
    free(f);
}

static int fake_init(const op_spi_host_t *h, const op_spi_config_t *cfg, void **data)
{
    fake_t *f = calloc(1, sizeof(*f));
    const char *claims = h->config_get(cfg, "claims");
    if (f == NULL || (f->list = strdup(claims != NULL ? claims : "fake_claim")) == NULL) {
        free(f);
        return OP_SPI_ENOMEM;
    }
    f->h = h;
    f->cfg = cfg;
    f->mode = h->config_get(cfg, "mode") != NULL ? h->config_get(cfg, "mode") : "next";
    size_t n = 0;
    for (char *p = f->list; p != NULL && n < FAKE_MAX_NAMES;) {
        char *comma = strchr(p, ',');
        if (comma != NULL)
            *comma = '\0';
        f->names[n++] = p;
        p = comma != NULL ? comma + 1 : NULL;
    }
    *data = f;
    if (fake_mode(f, "fail-init")) {
        h->timer_start(h->timer_new(cfg, fake_nothing, NULL), 1000);
        h->log(cfg, OP_SPI_LOG_ERROR, NULL, "failing init as told");
        fake_fini(f);
        return OP_SPI_EINVAL;
    }
    return OP_SPI_OK;
}

static const op_spi_claims_ops_t fake_claims = {fake_supported, fake_get};

static const op_spi_plugin_t fake_plugin = {
    OP_SPI_PLUGIN_HEADER, .name = "fake",    .kinds = OP_SPI_KIND_CLAIMS,
    .init = fake_init,    .fini = fake_fini, .claims = &fake_claims,
};

const op_spi_plugin_t *op_spi_entry(const op_spi_host_t *host)
{
    (void)host;
    return &fake_plugin;
}
