/*
 * spi/op_spi_loader.c - loading and unloading plugins: op_spi_loader_open and
 * op_spi_loader_close (spi/op_spi_host.h).
 *
 * A .so is opened with RTLD_NOW | RTLD_LOCAL (unresolved symbols fail
 * here, at start-up, and plugins cannot see each other's symbols), its
 * op_spi_entry is called with the host services table, and the
 * descriptor it returns is checked before any of its functions runs:
 * ABI version, descriptor size, build signature, kinds and their tables,
 * a valid and unique name (c-style rule 18). The built-in users-file
 * source goes through the same checks from a static descriptor.
 */
#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>

#include "spi/op_spi_int.h"

#define OP_SPI_LOADER_NAME_MAX 64
#define OP_SPI_LOADER_BUILTIN  "(built-in)"

typedef const op_spi_plugin_t *(*op_spi_loader_entry_fn)(const op_spi_host_t *host);

/* A plugin name: 1..64 of A-Z a-z 0-9 - _ (it is part of property keys). */
static bool op_spi_loader_name_ok(const char *name)
{
    size_t n = 0;
    for (; name[n] != '\0'; n++) {
        char c = name[n];
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '-' || c == '_';
        if (!ok || n >= OP_SPI_LOADER_NAME_MAX)
            return false;
    }
    return n > 0;
}

/* The checks of a descriptor, before anything of it is called. */
static int op_spi_loader_check(const op_spi_t *spi, const op_spi_plugin_t *d, const char *path,
                               op_err_t *err)
{
    if (d == NULL)
        return OP_ERR(err, OP_EINVAL, "plugin %s refused to load (op_spi_entry returned NULL)",
                      path);
    if (d->abi_version != OP_SPI_ABI_VERSION)
        return OP_ERR(err, OP_EINVAL,
                      "plugin %s was built for plugin ABI %u, the server speaks ABI %d", path,
                      (unsigned)d->abi_version, OP_SPI_ABI_VERSION);
    if (d->struct_size < offsetof(op_spi_plugin_t, spare))
        return OP_ERR(
            err, OP_EINVAL, "plugin %s: its descriptor has %u bytes, ABI %d needs at least %zu",
            path, (unsigned)d->struct_size, OP_SPI_ABI_VERSION, offsetof(op_spi_plugin_t, spare));
    if (d->build_sig == NULL ||
        strncmp(d->build_sig, OP_SPI_BUILD_SIG, sizeof(OP_SPI_BUILD_SIG)) != 0)
        return OP_ERR(err, OP_EINVAL,
                      "plugin %s: build signature \"%.40s\" is not the server's \"%s\" "
                      "(rebuild it against this spi/op_spi.h)",
                      path, d->build_sig != NULL ? d->build_sig : "", OP_SPI_BUILD_SIG);
    if (d->name == NULL || !op_spi_loader_name_ok(d->name))
        return OP_ERR(err, OP_EINVAL, "plugin %s: its name must be 1 to %d of A-Z a-z 0-9 - _",
                      path, OP_SPI_LOADER_NAME_MAX);
    for (size_t i = 0; i < spi->n_plugins; i++) {
        if (strcmp(spi->plugins[i]->name, d->name) == 0)
            return OP_ERR(err, OP_EINVAL, "plugin %s: the name %s is taken by %s", path, d->name,
                          spi->plugins[i]->path);
    }
    if (d->kinds == 0 || (d->kinds & ~(uint32_t)OP_SPI_KIND_CLAIMS) != 0)
        return OP_ERR(err, OP_EINVAL, "plugin %s (%s): unknown or no SPI kinds (0x%x)", path,
                      d->name, (unsigned)d->kinds);
    if ((d->kinds & OP_SPI_KIND_CLAIMS) != 0 &&
        (d->claims == NULL || d->claims->supported_claims == NULL || d->claims->get == NULL))
        return OP_ERR(err, OP_EINVAL, "plugin %s (%s): a claims source without its functions", path,
                      d->name);
    return OP_OK;
}

/*
 * Check a descriptor, record the plugin, init it and take what its SPIs
 * support. dl (may be NULL) is consumed: on failure it is closed, after
 * the plugin's leftovers are freed. The record joins spi->plugins before
 * init so that op_spi_loader_close can unload it whatever happens next.
 */
static int op_spi_loader_add(op_spi_t *spi, op_spi_loader_entry_fn entry, void *dl,
                             const char *path, const char *builtin_file, op_err_t *err)
{
    const op_spi_plugin_t *d = entry(&op_spi_host_table);
    int rc = op_spi_loader_check(spi, d, path, err);
    if (rc != OP_OK)
        goto out_close_dl;
    op_spi_config_t *p = op_arena_calloc(spi->arena, 1, sizeof(*p));
    if (p == NULL || (p->name = op_arena_strdup(spi->arena, d->name)) == NULL ||
        (p->path = op_arena_strdup(spi->arena, path)) == NULL ||
        (builtin_file != NULL &&
         (p->builtin_file = op_arena_strdup(spi->arena, builtin_file)) == NULL)) {
        rc = OP_ERR(err, OP_ETOOBIG, "spi: too many or too long plugin names");
        goto out_close_dl;
    }
    p->spi = spi;
    op_list_init(&p->timers);
    op_list_init(&p->fetches);
    op_list_init(&p->calls);
    p->desc = d;
    p->dl = dl;
    spi->plugins[spi->n_plugins++] = p;
    if (d->init != NULL) {
        rc = d->init(&op_spi_host_table, p, &p->data);
        if (rc != OP_SPI_OK)
            return OP_ERR(err, OP_EINVAL, "plugin %s (%s): init failed (%s)", path, p->name,
                          op_err_status_name(rc));
    }
    p->inited = true;
    if ((d->kinds & OP_SPI_KIND_CLAIMS) != 0 && (rc = op_spi_claims_add_source(p, err)) != OP_OK)
        return rc;
    op_log_info(NULL, "spi: loaded plugin %s from %s (claims source, %zu names)", p->name, path,
                p->n_patterns);
    return OP_OK;
out_close_dl:
    if (dl != NULL)
        dlclose(dl);
    return rc;
}

/* dlopen a plugin and hand its entry point to op_spi_loader_add. */
static int op_spi_loader_load(op_spi_t *spi, const char *path, op_err_t *err)
{
    if (path == NULL || path[0] == '\0' || strchr(path, '/') == NULL)
        return OP_ERR(err, OP_EINVAL,
                      "plugin path \"%.64s\" must name a file with a '/' (e.g. ./x.so)",
                      path != NULL ? path : "");
    void *dl = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (dl == NULL) {
        const char *why = dlerror();
        return OP_ERR(err, OP_EINVAL, "cannot load plugin %s: %s", path,
                      why != NULL ? why : "unknown error");
    }
    dlerror();
    void *sym = dlsym(dl, "op_spi_entry");
    if (sym == NULL) {
        dlclose(dl);
        return OP_ERR(err, OP_EINVAL, "plugin %s has no op_spi_entry function", path);
    }
    op_spi_loader_entry_fn entry;
    _Static_assert(sizeof(entry) == sizeof(sym), "function and data pointers differ");
    memcpy(&entry, &sym, sizeof(entry)); /* POSIX: dlsym's result is the function */
    return op_spi_loader_add(spi, entry, dl, path, NULL, err);
}

int op_spi_loader_open(op_loop_t *loop, op_http_client_t *http, const op_spi_settings_t *s,
                       const char *users_file, op_spi_t **out, op_err_t *err)
{
    op_err_t local;
    if (err == NULL)
        err = &local;
    if (out != NULL)
        *out = NULL;
    if (loop == NULL || out == NULL)
        return OP_ERR(err, OP_EINVAL, "spi: no loop or output");
    size_t n = s != NULL ? s->n : 0;
    if (n > OP_SPI_MAX_PLUGINS || (n > 0 && s->paths == NULL))
        return OP_ERR(err, OP_EINVAL, "spi: at most %d plugins", OP_SPI_MAX_PLUGINS);
    op_spi_t *spi = op_calloc(1, sizeof(*spi));
    spi->loop = loop;
    spi->http = http;
    spi->lookup = s != NULL ? s->lookup : NULL;
    spi->lookup_arg = s != NULL ? s->lookup_arg : NULL;
    op_list_init(&spi->done);
    op_list_init(&spi->runs);
    spi->arena = op_arena_new(4u << 20);
    spi->reaper = op_timer_new(loop, op_spi_call_reap, spi);
    /* n <= OP_SPI_MAX_PLUGINS: far under the cap */
    spi->plugins = op_arena_calloc(spi->arena, n + 1, sizeof(*spi->plugins));
    int rc = OP_OK;
    if (users_file != NULL)
        rc = op_spi_loader_add(spi, op_spi_users_entry, NULL, OP_SPI_LOADER_BUILTIN, users_file,
                               err);
    for (size_t i = 0; rc == OP_OK && i < n; i++)
        rc = op_spi_loader_load(spi, s->paths[i], err);
    if (rc == OP_OK)
        rc = op_spi_claims_check_sources(spi, err);
    if (rc != OP_OK) {
        op_log_error(NULL, "spi: %s", err->description);
        op_spi_loader_close(spi);
        return rc;
    }
    *out = spi;
    return OP_OK;
}

void op_spi_loader_close(op_spi_t *spi)
{
    if (spi == NULL)
        return;
    op_spi_claims_close(spi);
    for (size_t i = spi->n_plugins; i-- > 0;) {
        op_spi_config_t *p = spi->plugins[i];
        if (p->inited && p->desc->fini != NULL)
            p->desc->fini(p->data);
        p->inited = false;
    }
    for (size_t i = 0; i < spi->n_plugins; i++)
        op_spi_host_release(spi->plugins[i]);
    op_spi_call_reap(spi);
    for (size_t i = spi->n_plugins; i-- > 0;) {
        if (spi->plugins[i]->dl != NULL)
            dlclose(spi->plugins[i]->dl);
    }
    op_timer_free(spi->reaper);
    op_arena_free(spi->arena);
    free(spi);
}
