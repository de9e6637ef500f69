/*
 * spi/op_spi_host.h - the server side of the plugin module: load the
 * plugins (and the built-in users-file claims source), ask the claims
 * sources, unload. core/ includes this header; plugins include only
 * spi/op_spi.h.
 *
 * Plugins are loaded at start-up (op_spi_loader_open: dlopen, checks, init) and
 * unloaded at shutdown (op_spi_loader_close: fini, dlclose). Every call into a
 * plugin goes through an exactly-once token with a deadline; see
 * spi/op_spi.h for the plugin's side of the contract.
 */
#ifndef OP_SPI_HOST_H
#define OP_SPI_HOST_H

#include <stddef.h>
#include <stdint.h>

#include "core/base/op.h"
#include "http/op_http.h"

typedef struct op_spi op_spi_t;

/*
 * What the server tells the loader, filled from its configuration:
 *  - paths: the .so files of `spi.plugins`, in order (each must contain a
 *    '/', so that dlopen never searches the library path);
 *  - lookup(lookup_arg, "plugin.<name>.<key>"): the value of a plugin's
 *    property, or NULL when unset. The returned strings must stay valid
 *    until op_spi_loader_close.
 * Everything is borrowed during op_spi_loader_open only (lookup and its argument
 * until op_spi_loader_close).
 */
typedef struct op_spi_settings {
    const char *const *paths;
    size_t n;
    const char *(*lookup)(void *lookup_arg, const char *key);
    void *lookup_arg;
} op_spi_settings_t;

/*
 * Load the plugins: the built-in claims source reading users_file (NULL:
 * none; its name is "users-file"), then each path of s (s may be NULL:
 * no plugins). For each: dlopen(RTLD_NOW | RTLD_LOCAL), op_spi_entry,
 * checks (ABI version, descriptor size, build signature, kinds, a valid
 * and unique name), init, and for claims sources supported_claims. Then
 * no claim name may be supported by two sources (reference §3.0).
 *
 * Blocking (start-up only). On OP_OK *out is the module (free it with
 * op_spi_loader_close). On failure every plugin loaded so far is unloaded, the
 * reason is logged and in err (OP_EINVAL for a refused plugin or a bad
 * users file, OP_ETOOBIG), *out is NULL. http may be NULL (plugins'
 * fetches then fail with OP_SPI_EUNAVAIL); loop and http must outlive
 * the module.
 */
int op_spi_loader_open(op_loop_t *loop, op_http_client_t *http, const op_spi_settings_t *s,
                       const char *users_file, op_spi_t **out, op_err_t *err);

/*
 * Unload: claims requests still waiting end with OP_ECANCELED (from the
 * loop); each plugin's fini runs (last loaded first); the calls it did
 * not complete are reclaimed, the timers, deferred functions and fetches
 * it left are freed or detached; then dlclose. NULL is a no-op. Not from
 * inside a plugin.
 */
void op_spi_loader_close(op_spi_t *spi);

/* ---- claims ------------------------------------------------------------ */

/* Bounds of a claims query (longer / more: OP_EINVAL). */
#define OP_SPI_CLAIMS_MAX_NAMES 256  /* claim names */
#define OP_SPI_CLAIMS_MAX_LIST  64   /* claims_locales, scope values */
#define OP_SPI_CLAIMS_MAX_LEN   1024 /* bytes of one name, sub, client_id, scope value */

/*
 * What to look up. Borrowed during op_spi_claims_get only (the module
 * copies what it keeps). claims: the names (see op_spi_claims_req_t in
 * spi/op_spi.h: plain, "name#lang", "verified:name", "*"); transport:
 * "userinfo", "id_token" or NULL; claims_data: the consent's claims_data
 * object or NULL; req_id: for the logs, may be NULL.
 */
typedef struct op_spi_claims_query {
    const char *sub;
    const char *const *claims;
    size_t n_claims;
    const char *const *claims_locales;
    size_t n_claims_locales;
    const char *client_id;
    const char *transport;
    const char *const *scope;
    size_t n_scope;
    const op_json_t *claims_data;
    const char *req_id;
} op_spi_claims_query_t;

/*
 * The answer, exactly once, from the loop (never inside
 * op_spi_claims_get):
 *  - OP_OK: claims is the merged object of every source's claims (possibly
 *    empty: no source supports the names asked), borrowed, valid only
 *    during the callback; err is NULL;
 *  - OP_ENOTFOUND: every source asked said the subject is unknown;
 *  - OP_ETIMEDOUT: a source did not answer within deadline_ms (its late
 *    answer is dropped); the caller decides (UserInfo: 503
 *    temporarily_unavailable);
 *  - OP_EINVAL: bad query; OP_ECANCELED: the module is closing;
 *  - the error a source answered (the first one): its OAuth error code and
 *    HTTP status are in err (OP_ERROR, or OP_EUNAVAIL for 503).
 * claims is NULL and err set on every error. err is borrowed too; its
 * oauth_error is always a static string, so a copy of *err may be kept.
 */
typedef void (*op_spi_claims_cb)(int status, const op_json_t *claims, const op_err_t *err,
                                 void *arg);

/*
 * Ask each claims source for the names it supports among q->claims, in
 * parallel, and merge the answers. deadline_ms bounds the whole lookup
 * (0: none). cb runs exactly once (see op_spi_claims_cb).
 */
void op_spi_claims_get(op_spi_t *spi, const op_spi_claims_query_t *q, uint64_t deadline_ms,
                       op_spi_claims_cb cb, void *arg);

#endif
