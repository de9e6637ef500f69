/*
 * core/server/op_server.h - the root object of a worker process and the
 * endpoints it serves (core-internal: only core/ and main use it).
 *
 * op_server_t owns everything a worker has: the loop, the config, the
 * store, the key store, the clients, the plugins, the HTTP front-end and
 * the cached documents. There are no other globals. Start order: store ->
 * keys -> clients -> plugins -> HTTP; stop order: stop accepting -> finish
 * requests in flight (up to http.shutdownGrace) -> keys -> store
 * (drained) -> plugins -> HTTP -> loop.
 */
#ifndef OP_SERVER_H
#define OP_SERVER_H

#include "core/base/op.h"
#include "core/proto/op_client.h"
#include "core/config/op_config.h"
#include "http/op_http.h"
#include "keys/op_keys.h"
#include "spi/op_spi_host.h"
#include "storage/op_store.h"

/*
 * An endpoint, as the flows above this layer describe it to the server:
 * its routes, what it prepares before the server listens (init, NULL when
 * nothing) and what it releases when the worker ends (fini, NULL when
 * nothing; also called when init failed or never ran, with state NULL).
 * Its handlers get the endpoint's state as ctx: what init stored, or the
 * server itself when there is no init.
 */
#define OP_ENDPOINT_ROUTES_MAX 2

typedef struct op_server op_server_t;

typedef struct op_endpoint {
    const char *name; /* in start-up errors */
    int (*init)(op_server_t *srv, void **state, op_err_t *err);
    void (*fini)(void *state);
    op_http_route_t routes[OP_ENDPOINT_ROUTES_MAX]; /* the unused ones: path NULL */
} op_endpoint_t;

/* At most this many endpoints. */
#define OP_SERVER_ENDPOINTS_MAX 32

struct op_server {
    op_loop_t *loop;
    op_config_t *cfg; /* retained */
    op_store_t *store;
    op_keys_t *keys;
    op_http_t *http;
    op_http_client_t *http_client; /* outbound: plugins, web hooks */
    op_spi_t *spi;
    op_arena_t *clients_arena; /* the clients and their registry */
    op_client_registry_t *clients;
    const op_endpoint_t *const *endpoints;
    size_t n_endpoints;
    void *endpoint_state[OP_SERVER_ENDPOINTS_MAX];
    op_timer_t *drain_timer;
    uint64_t drain_deadline_ms;
    bool reuse_port;
    bool stopping;
    int exit_code;
};

/*
 * Run one worker until SIGTERM / SIGINT (exit code 0) or a start-up
 * failure (exit code 1, the reason logged), serving endpoints[0..n).
 * reuse_port: bind with SO_REUSEPORT (several workers on one port).
 * Consumes nothing: the caller keeps its config reference.
 */
int op_server_run(op_config_t *cfg, bool reuse_port, const op_endpoint_t *const *endpoints,
                  size_t n);

/*
 * A flow serving req (core/server/op_server_flow.c): a new flow of def with a
 * zeroed context of ctx_size bytes in its arena (f->ctx, returned), which
 * holds req until the flow is freed. When arena_max cannot hold it, it
 * answers 413 (OP_ETOOBIG) itself and returns NULL. The caller fills the context and runs the flow.
 */
void *op_server_flow_new(op_server_t *srv, op_http_req_t *req, const op_flow_def_t *def,
                         size_t arena_max, size_t ctx_size, op_flow_t **out);

/* ---- the integration APIs' bearer tokens (core/server/op_server_api.c) ---- */

/* True when the request carries (as a bearer token, or as ?access_token=
 * where allow_query) a token whose SHA-256 is in hashes. Constant time
 * per configured hash. */
bool op_server_api_token_ok(op_http_req_t *req, const uint8_t (*hashes)[32], size_t nhashes,
                            bool allow_query);

/* Reply 401 invalid_token with WWW-Authenticate (RFC 6750 §3). */
void op_server_api_unauthorized(op_http_req_t *req);

#endif
