/*
 * spi/op_spi_int.h - private to spi/: the module's structures and the
 * functions its files share.
 *
 *   op_spi_loader.c  op_spi_loader_open / op_spi_loader_close: dlopen, checks, init, fini
 *   op_spi_host.c    the services table plugins get (op_spi_host_table):
 *                    logging, timers, fetches, properties, random bytes
 *   op_spi_call.c    call tokens: completion, the reaper
 *   op_spi_json.c    the JSON values of host->json_*
 *   op_spi_claims.c  op_spi_claims_get: routing, deadline, merging
 *   op_spi_users.c   the built-in users-file claims source (plugin ABI only)
 *
 * Ownership: op_spi_t owns the loaded plugins (op_spi_config_t, in its
 * arena); a plugin record lists the timers, fetches and pending call
 * tokens it owns. A call token owns its arena (the request handed to the
 * plugin, the values made with it, its result) and is freed by the reaper
 * after the claims run it belongs to has taken its result.
 */
#ifndef OP_SPI_INT_H
#define OP_SPI_INT_H

#include "core/base/op.h"
#include "http/op_http.h"
#include "spi/op_spi.h"
#include "spi/op_spi_host.h"

#define OP_SPI_MAX_PLUGINS      64
#define OP_SPI_MAX_PATTERNS     1024 /* supported claim names of one source */
#define OP_SPI_MAX_PATTERNS_ALL 4096 /* of all sources together */
#define OP_SPI_CALL_ARENA_MAX   (16u << 20)
#define OP_SPI_DOC_ARENA_MAX    (64u << 20) /* a standalone JSON document */

/* A JSON value given to plugins: an op_json_t node that knows the arena
 * it and its children live in. Every node of such a tree is an
 * op_spi_json_t, so a child's op_json_t * converts back. Objects and
 * arrays have room for op_spi_json_cap(n) members. */
struct op_spi_json {
    op_json_t v; /* first member */
    op_arena_t *arena;
    bool standalone; /* the root of a document that owns arena */
};

typedef struct op_spi_claims_run op_spi_claims_run_t;
typedef struct op_spi_fetch op_spi_fetch_t;

/* A call token (see op_spi.h). */
struct op_spi_call {
    op_spi_config_t *plugin;
    op_arena_t *arena; /* holds the token itself */
    op_spi_claims_run_t *run;
    size_t index; /* in run */
    const char *req_id;
    const char *const *claims; /* the names asked (for filtering the answer) */
    size_t n_claims;
    bool star; /* "*" was asked */
    /* the plugin's answer */
    bool completed;
    int status;
    const op_spi_json_t *result;
    const char *error; /* a static OAuth error code */
    const char *error_description;
    int http_status;
    op_list_t link; /* on the plugin's pending calls, then on the reaper's queue */
};

/* A timer or a deferred function (once) of a plugin. */
struct op_spi_timer {
    op_spi_config_t *plugin;
    op_timer_t *timer;
    void (*fn)(void *arg);
    void *arg;
    bool once;      /* a deferred function: freed after it ran */
    bool firing;    /* inside fn */
    bool freed;     /* timer_free inside fn: free when it returns */
    op_list_t link; /* on the plugin's timers */
};

/* A loaded plugin: what op_spi.h calls the plugin's handle. */
struct op_spi_config {
    op_spi_t *spi;
    const op_spi_plugin_t *desc;
    void *dl; /* NULL for a built-in */
    void *data;
    const char *name;
    const char *path;            /* "(built-in)" for a built-in */
    const char *builtin_file;    /* the built-in users source's "file" */
    const char *const *patterns; /* supported claim names (copies) */
    size_t n_patterns;
    bool inited;       /* init succeeded: fini is due */
    op_list_t timers;  /* of op_spi_timer_t */
    op_list_t fetches; /* of op_spi_fetch_t */
    op_list_t calls;   /* of op_spi_call_t, pending */
};

struct op_spi {
    op_loop_t *loop;
    op_http_client_t *http;
    const char *(*lookup)(void *arg, const char *key);
    void *lookup_arg;
    op_arena_t *arena;
    op_spi_config_t **plugins;
    size_t n_plugins;
    size_t n_patterns; /* of all sources */
    op_list_t done;    /* of op_spi_call_t, completed, in order */
    op_timer_t *reaper;
    op_list_t runs; /* of op_spi_claims_run_t, claims lookups in progress */
};

/* ---- op_spi_host.c -------------------------------------------------------- */

/* The services table handed to every plugin. */
extern const op_spi_host_t op_spi_host_table;

/* After fini (or a failed init): reclaim the plugin's pending calls as
 * OP_ECANCELED (queued for op_spi_call_reap), free its timers and
 * deferred functions, detach its fetches. */
void op_spi_host_release(op_spi_config_t *plugin);

/* ---- op_spi_call.c -------------------------------------------------------- */

/* New call token for plugin, belonging to slot index of run. Never NULL. */
op_spi_call_t *op_spi_call_new(op_spi_config_t *plugin, op_spi_claims_run_t *run, size_t index,
                               const char *req_id);

/* Hand every completed call to its run (op_spi_claims_on_done), then free
 * it. Runs from the reaper timer, and from op_spi_loader_close. */
void op_spi_call_reap(void *spi);

/* End every pending call of plugin as OP_ECANCELED (for the reaper). */
void op_spi_call_cancel_all(op_spi_config_t *plugin);

/* host->call_alloc, host->call_ended, host->complete (see spi/op_spi.h). */
void *op_spi_call_alloc(op_spi_call_t *call, size_t n);
bool op_spi_call_ended(const op_spi_call_t *call);
void op_spi_call_complete(op_spi_call_t *call, int status, const op_spi_json_t *result,
                          const char *error, const char *error_description, int http_status);

/* ---- op_spi_json.c -------------------------------------------------------- */

/* Room of an object or array of n members / items. */
size_t op_spi_json_cap(size_t n);

/* Deep copy of src into a as op_spi_json_t nodes. OP_OK, OP_EINVAL
 * (deeper than OP_SPI_JSON_MAX_DEPTH - depth) or OP_ETOOBIG (over the cap). */
int op_spi_json_copy(op_arena_t *a, const op_json_t *src, size_t depth, op_spi_json_t **out);

/* New empty object in a. NULL on OOM. */
op_spi_json_t *op_spi_json_object(op_arena_t *a);

/* Append the member key[0..key_len): deep copy of value to obj, without
 * looking for the key first (the caller knows it is new). OP_OK,
 * OP_EINVAL (too deep), OP_ETOOBIG (over the cap). */
int op_spi_json_put(op_spi_json_t *obj, const char *key, size_t key_len, const op_json_t *value);

/* host->json_* (see spi/op_spi.h for what each one does and owns). */
op_spi_json_t *op_spi_json_parse(op_spi_call_t *call, const char *buf, size_t len, char *errbuf,
                                 size_t errlen);
op_spi_json_t *op_spi_json_object_new(op_spi_call_t *call);
op_spi_json_t *op_spi_json_array_new(op_spi_call_t *call);
void op_spi_json_free(op_spi_json_t *doc);
int op_spi_json_set(op_spi_json_t *obj, const char *key, const op_spi_json_t *value);
int op_spi_json_set_str(op_spi_json_t *obj, const char *key, const char *s);
int op_spi_json_set_int(op_spi_json_t *obj, const char *key, int64_t v);
int op_spi_json_set_bool(op_spi_json_t *obj, const char *key, bool v);
int op_spi_json_set_null(op_spi_json_t *obj, const char *key);
int op_spi_json_append(op_spi_json_t *arr, const op_spi_json_t *value);
int op_spi_json_append_str(op_spi_json_t *arr, const char *s);
op_spi_json_type_t op_spi_json_type(const op_spi_json_t *v);
const op_spi_json_t *op_spi_json_get(const op_spi_json_t *obj, const char *key);
const char *op_spi_json_str(const op_spi_json_t *v, size_t *len);
bool op_spi_json_int(const op_spi_json_t *v, int64_t *out);
size_t op_spi_json_len(const op_spi_json_t *v);
const op_spi_json_t *op_spi_json_at(const op_spi_json_t *v, size_t i, const char **key);
const char *op_spi_json_serialize(op_spi_call_t *call, const op_spi_json_t *v, size_t *len);

/* ---- op_spi_claims.c ------------------------------------------------------ */

/* Validate and copy a source's supported claim names into spi's arena. */
int op_spi_claims_add_source(op_spi_config_t *plugin, op_err_t *err);

/* OP_EINVAL when two sources support the same claim name (reference
 * §3.0: a claim has one source). */
int op_spi_claims_check_sources(const op_spi_t *spi, op_err_t *err);

/* A completed call comes back to its run (from the reaper). */
void op_spi_claims_on_done(op_spi_call_t *call);

/* The run of call no longer waits for it. */
bool op_spi_claims_ended(const op_spi_call_t *call);

/* op_spi_loader_close: end every run with OP_ECANCELED and detach it from spi. */
void op_spi_claims_close(op_spi_t *spi);

/* ---- op_spi_users.c ------------------------------------------------------- */

/* The built-in users-file claims source (entry point, like a .so's). */
const op_spi_plugin_t *op_spi_users_entry(const op_spi_host_t *host);

#endif
