/*
 * core/op_server.h - the root object of a worker process and the
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

#include "core/op.h"
#include "core/op_client.h"
#include "core/op_config.h"
#include "http/op_http.h"
#include "keys/op_keys.h"
#include "spi/op_spi_host.h"
#include "storage/op_store.h"

typedef struct op_discovery op_discovery_t;

typedef struct op_server {
    op_loop_t *loop;
    op_config_t *cfg; /* retained */
    op_store_t *store;
    op_keys_t *keys;
    op_http_t *http;
    op_http_client_t *http_client; /* outbound: plugins, web hooks */
    op_spi_t *spi;
    op_arena_t *clients_arena; /* the clients and their registry */
    op_client_registry_t *clients;
    op_discovery_t *discovery;
    op_timer_t *drain_timer;
    uint64_t drain_deadline_ms;
    bool reuse_port;
    bool stopping;
    int exit_code;
} op_server_t;

/*
 * Run one worker until SIGTERM / SIGINT (exit code 0) or a start-up
 * failure (exit code 1, the reason logged). reuse_port: bind with
 * SO_REUSEPORT (several workers on one port). Consumes nothing: the
 * caller keeps its config reference.
 */
int op_server_run(op_config_t *cfg, bool reuse_port);

/*
 * A flow serving req (core/op_server_flow.c): a new flow of def with a
 * zeroed context of ctx_size bytes in its arena (f->ctx, returned), which
 * holds req until the flow is freed. On OOM it answers 500 itself and
 * returns NULL. The caller fills the context and runs the flow.
 */
void *op_server_flow_new(op_server_t *srv, op_http_req_t *req, const op_flow_def_t *def,
                         size_t arena_max, size_t ctx_size, op_flow_t **out);

/* ---- endpoints (one file each) ---------------------------------------- */

/* /.well-known/openid-configuration and /.well-known/oauth-authorization-server:
 * the metadata built from config, with signed_metadata (RFC 8414 §2.1)
 * re-signed when the key set changes. */
int op_discovery_new(op_server_t *srv, op_discovery_t **out, op_err_t *err);
void op_discovery_free(op_discovery_t *d);
void op_discovery_handle(op_http_req_t *req, void *srv);

/* /jwks.json: the public JWK set, from the key store's cache. */
void op_jwks_handle(op_http_req_t *req, void *srv);

/* authz-sessions/rest/v3[/{sid}[/data]]: the authorisation session API
 * (core/op_authz_session.c). */
void op_authz_session_handle(op_http_req_t *req, void *srv);

/* POST /token: the authorization_code and refresh_token grants
 * (core/op_token_endpoint.c). */
void op_token_endpoint_handle(op_http_req_t *req, void *srv);

/* GET, POST /userinfo (core/op_userinfo.c). */
void op_userinfo_handle(op_http_req_t *req, void *srv);

/* monitor/v1/healthcheck: storage reachable (200) or not (503). */
void op_monitor_healthcheck_handle(op_http_req_t *req, void *srv);

/* True when the request carries (as a bearer token, or as ?access_token=
 * where allow_query) a token whose SHA-256 is in hashes. Constant time
 * per configured hash. */
bool op_api_token_ok(op_http_req_t *req, const uint8_t (*hashes)[32], size_t nhashes,
                     bool allow_query);

/* Reply 401 invalid_token with WWW-Authenticate (RFC 6750 §3). */
void op_api_reply_unauthorized(op_http_req_t *req);

#endif
