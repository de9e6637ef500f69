/*
 * spi/op_spi_users.c - the built-in claims source "users-file": claims of
 * demo or test users from a JSON file.
 *
 * It is written against the plugin ABI only (spi/op_spi.h: host table,
 * descriptor, call tokens) and registered by the loader from a static
 * descriptor instead of a .so, so it doubles as an example of a plugin
 * that answers on the next loop iteration. (spi/op_spi_int.h is included
 * for the prototype of its entry point, nothing else.)
 *
 * The file, read once at start-up (blocking, like all of init), is an
 * object keyed by subject; each value is an object of that user's claims:
 *
 *   {"alice": {"name": "Alice Adams", "name#de": "Alice Adams",
 *              "email": "alice@example.com", "email_verified": true, ...},
 *    "bob": {...}}
 *
 * Claim names with a language tag ("name#de", OpenID Connect Core §5.2)
 * are members of their own. A request for a plain name returns the plain
 * member, a request for a tagged name the tagged member (claims_locales
 * is not used to pick variants); "*" returns every member of the user.
 * The source supports the untagged names found in the file. Passwords do
 * not belong here: the login page has its own users file.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "spi/op_spi.h"
#include "spi/op_spi_int.h"

#define OP_SPI_USERS_MAX_BYTES  (1024 * 1024) /* the file */
#define OP_SPI_USERS_MAX_NAMES  256           /* distinct untagged claim names */
#define OP_SPI_USERS_MAX_CLAIMS 1024          /* claims of one user, tagged ones too */

typedef struct op_spi_users {
    const op_spi_host_t *host;
    const op_spi_config_t *cfg;
    op_spi_json_t *doc; /* the file, a standalone document */
    char **names;       /* supported names, NULL-terminated */
    size_t n_names;
} op_spi_users_t;

/* One get() waiting for the next loop iteration; in the call's arena. */
typedef struct op_spi_users_job {
    op_spi_users_t *u;
    op_spi_call_t *call;
    const op_spi_claims_req_t *req;
} op_spi_users_job_t;

/* Read the whole file into a malloc'd NUL-terminated buffer (start-up
 * only: blocking). NULL with why set on failure. */
static char *op_spi_users_read(const char *path, size_t *len, const char **why)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        *why = "cannot open it";
        return NULL;
    }
    char *buf = op_malloc(OP_SPI_USERS_MAX_BYTES + 1);
    size_t n = fread(buf, 1, OP_SPI_USERS_MAX_BYTES + 1, f);
    if (ferror(f)) {
        *why = "cannot read it";
    } else if (n > OP_SPI_USERS_MAX_BYTES) {
        *why = "it is over 1 MiB";
    } else {
        fclose(f);
        buf[n] = '\0';
        *len = n;
        return buf;
    }
    fclose(f);
    free(buf);
    return NULL;
}

/* Add the untagged part of claim name key to the supported names, once. */
static int op_spi_users_add_name(op_spi_users_t *u, const char *key)
{
    size_t len = strcspn(key, "#");
    for (size_t i = 0; i < u->n_names; i++) {
        if (strlen(u->names[i]) == len && memcmp(u->names[i], key, len) == 0)
            return OP_SPI_OK;
    }
    if (u->n_names == OP_SPI_USERS_MAX_NAMES)
        return OP_SPI_ETOOBIG;
    char *name = op_malloc(len + 1);
    memcpy(name, key, len);
    name[len] = '\0';
    u->names[u->n_names++] = name;
    return OP_SPI_OK;
}

/*
 * Check the document (an object of objects, claim names without '*' and
 * with a name before any '#') and collect the supported names. Returns a
 * static reason on failure, NULL when all is well.
 */
static const char *op_spi_users_index(op_spi_users_t *u)
{
    const op_spi_host_t *h = u->host;
    if (h->json_type(u->doc) != OP_SPI_JSON_OBJECT)
        return "the file must hold a JSON object keyed by subject";
    for (size_t i = 0; i < h->json_len(u->doc); i++) {
        const char *sub = NULL;
        const op_spi_json_t *user = h->json_at(u->doc, i, &sub);
        if (sub[0] == '\0' || h->json_type(user) != OP_SPI_JSON_OBJECT)
            return "each user must be a non-empty subject with an object of claims";
        if (h->json_len(user) > OP_SPI_USERS_MAX_CLAIMS)
            return "a user has more than 1024 claims";
        for (size_t k = 0; k < h->json_len(user); k++) {
            const char *claim = NULL;
            h->json_at(user, k, &claim);
            if (claim[0] == '#' || claim[0] == '\0' || strchr(claim, '*') != NULL)
                return "a claim name is empty, starts with '#' or has a '*'";
            if (op_spi_users_add_name(u, claim) != OP_SPI_OK)
                return "more than 256 different claim names";
        }
    }
    return NULL;
}

static void op_spi_users_fini(void *plugin_data)
{
    op_spi_users_t *u = plugin_data;
    if (u == NULL)
        return;
    for (size_t i = 0; i < u->n_names; i++)
        free(u->names[i]);
    free(u->names);
    u->host->json_free(u->doc);
    free(u);
}

/* Read and check the file named by the property "file". */
static int op_spi_users_init(const op_spi_host_t *host, const op_spi_config_t *cfg,
                             void **plugin_data)
{
    const char *path = host->config_get(cfg, "file");
    if (path == NULL) {
        host->log(cfg, OP_SPI_LOG_ERROR, NULL, "no users file given");
        return OP_SPI_EINVAL;
    }
    op_spi_users_t *u = op_calloc(1, sizeof(*u));
    char **names = op_calloc(OP_SPI_USERS_MAX_NAMES + 1, sizeof(*names));
    u->host = host;
    u->cfg = cfg;
    u->names = names;
    size_t len = 0;
    const char *why = NULL;
    char errbuf[256];
    char *text = op_spi_users_read(path, &len, &why);
    if (text != NULL) {
        u->doc = host->json_parse(NULL, text, len, errbuf, sizeof(errbuf));
        free(text);
        why = u->doc == NULL ? errbuf : op_spi_users_index(u);
    }
    if (why != NULL) {
        host->log(cfg, OP_SPI_LOG_ERROR, NULL, "users file %s: %s", path, why);
        op_spi_users_fini(u);
        return OP_SPI_EINVAL;
    }
    host->log(cfg, OP_SPI_LOG_INFO, NULL, "users file %s: %zu users, %zu claim names", path,
              host->json_len(u->doc), u->n_names);
    *plugin_data = u;
    return OP_SPI_OK;
}

static const char *const *op_spi_users_supported(void *plugin_data)
{
    const op_spi_users_t *u = plugin_data;
    return (const char *const *)u->names;
}

/* The deferred half of get(): copy the requested members of the user into
 * a new object of the call, and complete the call. */
static void op_spi_users_answer(void *arg)
{
    op_spi_users_job_t *job = arg;
    const op_spi_host_t *h = job->u->host;
    const op_spi_claims_req_t *req = job->req;
    const op_spi_json_t *user = h->json_get(job->u->doc, req->sub);
    if (user == NULL) {
        h->complete(job->call, OP_SPI_ENOTFOUND, NULL, NULL, NULL, 0);
        return;
    }
    op_spi_json_t *out = h->json_object_new(job->call);
    int rc = out != NULL ? OP_SPI_OK : OP_SPI_ETOOBIG;
    for (size_t i = 0; rc == OP_SPI_OK && i < req->n_claims; i++) {
        const char *name = req->claims[i];
        if (strcmp(name, "*") == 0) {
            for (size_t k = 0; rc == OP_SPI_OK && k < h->json_len(user); k++) {
                const char *key = NULL;
                const op_spi_json_t *v = h->json_at(user, k, &key);
                rc = h->json_set(out, key, v);
            }
        } else if (h->json_get(user, name) != NULL) {
            rc = h->json_set(out, name, h->json_get(user, name));
        }
    }
    if (rc != OP_SPI_OK)
        h->complete(job->call, OP_SPI_ERROR, NULL, "server_error", "cannot build the claims", 500);
    else
        h->complete(job->call, OP_SPI_OK, out, NULL, NULL, 0);
}

/* get(): answer on the next loop iteration, like a source that asks a
 * database would (the job lives in the call's arena). */
static void op_spi_users_get(void *plugin_data, op_spi_call_t *call, const op_spi_claims_req_t *req)
{
    op_spi_users_t *u = plugin_data;
    const op_spi_host_t *h = u->host;
    op_spi_users_job_t *job = h->call_alloc(call, sizeof(*job));
    if (job == NULL) {
        h->complete(call, OP_SPI_ETOOBIG, NULL, NULL, NULL, 0);
        return;
    }
    job->u = u;
    job->call = call;
    job->req = req;
    if (h->defer(u->cfg, op_spi_users_answer, job) != OP_SPI_OK)
        h->complete(call, OP_SPI_ERROR, NULL, "server_error", "cannot schedule the answer", 500);
}

static const op_spi_claims_ops_t op_spi_users_claims = {
    .supported_claims = op_spi_users_supported,
    .get = op_spi_users_get,
};

static const op_spi_plugin_t op_spi_users_plugin = {
    OP_SPI_PLUGIN_HEADER,      .name = "users-file",      .kinds = OP_SPI_KIND_CLAIMS,
    .init = op_spi_users_init, .fini = op_spi_users_fini, .claims = &op_spi_users_claims,
};

const op_spi_plugin_t *op_spi_users_entry(const op_spi_host_t *host)
{
    (void)host;
    return &op_spi_users_plugin;
}
