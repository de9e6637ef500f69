/*
 * core/server/op_server.c - one worker: start-up sequence, routes, shutdown.
 * The endpoints come from the caller (core/flows/op_flows.h): the server
 * names none of them.
 *
 * Start-up is asynchronous like everything else on the loop:
 *   op_store_open -> op_keys_open -> clients written to the store ->
 *   plugins -> every endpoint's init -> HTTP bound -> "ready"
 * Any failure logs why and ends the worker with exit code 1. SIGTERM or
 * SIGINT stop accepting, wait for requests in flight (at most
 * http.shutdownGrace), close the key store and drain the store, then end
 * the loop with exit code 0.
 */
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "core/proto/op_client.h"
#include "core/server/op_server.h"

#define OP_SERVER_DRAIN_POLL_MS 20

static void op_server_fail(op_server_t *srv, const char *what, const op_err_t *err)
{
    op_log_error(NULL, "start-up failed: %s: %s", what,
                 err != NULL && err->description[0] ? err->description : "unknown error");
    srv->exit_code = 1;
    op_loop_stop(srv->loop);
}

static void op_server_listen(op_server_t *srv)
{
    const op_config_t *cfg = srv->cfg;
    op_err_t err;
    op_err_clear(&err);
    op_http_route_t routes[OP_SERVER_ENDPOINTS_MAX * OP_ENDPOINT_ROUTES_MAX];
    size_t nroutes = 0;
    for (size_t i = 0; i < srv->n_endpoints; i++) {
        const op_endpoint_t *ep = srv->endpoints[i];
        void *ctx = srv;
        if (ep->init != NULL) {
            if (ep->init(srv, &srv->endpoint_state[i], &err) != OP_OK) {
                op_server_fail(srv, ep->name, &err);
                return;
            }
            ctx = srv->endpoint_state[i];
        }
        for (size_t j = 0; j < OP_ENDPOINT_ROUTES_MAX && ep->routes[j].path != NULL; j++) {
            routes[nroutes] = ep->routes[j];
            routes[nroutes++].ctx = ctx;
        }
    }
    op_http_config_t hc = {
        .address = cfg->http_address,
        .port = cfg->http_port,
        .fd = -1,
        .reuse_port = srv->reuse_port,
        .max_body = cfg->http_max_body,
        .max_headers = cfg->http_max_headers,
        .idle_timeout_s = cfg->http_idle_timeout_s,
        .read_timeout_ms = cfg->http_read_timeout_ms,
        .max_connections = cfg->http_max_connections,
        .request_timeout_ms = cfg->http_request_timeout_ms,
        .arena_max = cfg->http_max_body * 4 + 256 * 1024,
        .cors_origins = cfg->http_cors_origins,
    };
    srv->http = op_http_new(srv->loop, &hc, routes, nroutes, &err);
    if (srv->http == NULL) {
        op_server_fail(srv, "http", &err);
        return;
    }
    op_log_info(NULL, "ready: %s on %s:%d (store: %s, pid %d)", cfg->issuer, cfg->http_address,
                op_http_port(srv->http), op_store_kind_name(srv->store), (int)getpid());
}

/* ---- clients ------------------------------------------------------------ */

static void op_server_open_plugins(op_server_t *srv);

typedef struct op_server_clients {
    op_server_t *srv;
    op_arena_t *arena;
    size_t pending;
    int status;
} op_server_clients_t;

static void op_server_on_client_put(int status, const op_store_res_t *res, void *arg)
{
    OP_UNUSED(res);
    op_server_clients_t *c = arg;
    if (status != OP_OK && c->status == OP_OK)
        c->status = status;
    if (--c->pending > 0)
        return;
    op_server_t *srv = c->srv;
    int st = c->status;
    op_arena_free(c->arena);
    free(c);
    if (st != OP_OK) {
        op_err_t err;
        OP_ERR(&err, st, "cannot write the clients to the store (%s)", op_err_status_name(st));
        op_server_fail(srv, "clients", &err);
        return;
    }
    op_server_open_plugins(srv);
}

/* "plugin.<name>.<key>" -> its value, for the plugin loader. */
static const char *op_server_plugin_prop(void *arg, const char *key)
{
    const op_config_t *cfg = arg;
    const char *name = key + (op_str_has_prefix(key, "plugin.") ? strlen("plugin.") : 0);
    const char *dot = strchr(name, '.');
    char plugin[64];
    if (name == key || dot == NULL || (size_t)(dot - name) >= sizeof(plugin))
        return NULL;
    memcpy(plugin, name, (size_t)(dot - name));
    plugin[dot - name] = '\0';
    return op_config_plugin_prop(cfg, plugin, dot + 1);
}

/* Plugins and claims sources; then listen. */
static void op_server_open_plugins(op_server_t *srv)
{
    const op_config_t *cfg = srv->cfg;
    op_err_t err;
    op_err_clear(&err);
    op_http_client_config_t hc = {.user_agent = "tessera"};
    srv->http_client = op_http_client_new(srv->loop, &hc, &err);
    op_spi_settings_t s = {
        .paths = cfg->spi_plugins,
        .n = cfg->n_spi_plugins,
        .lookup = op_server_plugin_prop,
        .lookup_arg = srv->cfg,
    };
    if (srv->http_client == NULL ||
        op_spi_loader_open(srv->loop, srv->http_client, &s, cfg->claims_users_file, &srv->spi,
                           &err) != OP_OK) {
        op_server_fail(srv, "plugins", &err);
        return;
    }
    op_server_listen(srv);
}

/*
 * Load the clients file (validated) into the in-memory registry every
 * request looks clients up in, and write each client to the store (the
 * shared copy the store APIs and other workers see).
 */
static void op_server_load_clients(op_server_t *srv)
{
    op_err_t err;
    op_err_clear(&err);
    op_server_clients_t *c = op_calloc(1, sizeof(*c));
    srv->clients_arena = op_arena_new(16u << 20);
    c->arena = op_arena_new(16u << 20);
    c->srv = srv;
    op_client_t *clients = NULL;
    size_t n = 0;
    if ((srv->cfg->clients_file != NULL &&
         op_client_load_file(srv->cfg->clients_file, srv->clients_arena, &clients, &n, &err) !=
             OP_OK) ||
        op_client_check_config(clients, n, srv->cfg, &err) != OP_OK ||
        op_client_registry_new(clients, n, srv->clients_arena, &srv->clients, &err) != OP_OK) {
        op_arena_free(c->arena);
        free(c);
        op_server_fail(srv, "clients", &err);
        return;
    }
    if (n == 0) {
        op_arena_free(c->arena);
        free(c);
        op_server_open_plugins(srv);
        return;
    }
    c->pending = n;
    for (size_t i = 0; i < n; i++) {
        const char *json = NULL;
        size_t len = 0;
        op_client_to_json(&clients[i], c->arena, &json, &len, &err);
        op_store_rec_t rec = {
            .ns = "client",
            .key = clients[i].client_id,
            .key_len = strlen(clients[i].client_id),
            .value = json,
            .value_len = len,
        };
        op_store_put(srv->store, &rec, 0, op_server_on_client_put, c);
    }
    op_log_info(NULL, "clients: %zu loaded from %s", n, srv->cfg->clients_file);
}

/* ---- keys and store ------------------------------------------------------ */

static void op_server_on_keys(int status, op_keys_t *keys, const op_err_t *err, void *arg)
{
    op_server_t *srv = arg;
    if (status != OP_OK) {
        op_server_fail(srv, "keys", err);
        return;
    }
    srv->keys = keys;
    op_server_load_clients(srv);
}

static void op_server_on_store(int status, op_store_t *store, const op_err_t *err, void *arg)
{
    op_server_t *srv = arg;
    if (status != OP_OK) {
        op_server_fail(srv, "storage", err);
        return;
    }
    srv->store = store;
    const op_config_t *cfg = srv->cfg;
    op_keys_config_t kc = {
        .enc_key = cfg->keys_enc_key,
        .refresh_ms = (uint64_t)cfg->keys_refresh_s * 1000u,
        .rsa_bits = cfg->keys_rsa_bits,
    };
    op_keys_open(srv->loop, store, &kc, op_server_on_keys, srv);
}

/* ---- shutdown -------------------------------------------------------------- */

static void op_server_on_store_closed(void *arg)
{
    op_server_t *srv = arg;
    srv->store = NULL;
    op_loop_stop(srv->loop);
}

static void op_server_drain(void *arg)
{
    op_server_t *srv = arg;
    size_t left = srv->http != NULL ? op_http_in_flight(srv->http) : 0;
    if (left > 0 && op_loop_now_ms() < srv->drain_deadline_ms) {
        op_timer_start(srv->drain_timer, OP_SERVER_DRAIN_POLL_MS);
        return;
    }
    if (left > 0)
        op_log_warn(NULL, "shutdown: %zu requests still in flight after the grace period", left);
    if (srv->keys != NULL) {
        op_keys_close(srv->keys);
        srv->keys = NULL;
    }
    /* Plugins go while the loop still runs, so the cancellations they
     * queue are delivered. */
    op_spi_loader_close(srv->spi);
    srv->spi = NULL;
    if (srv->store != NULL)
        op_store_close(srv->store, op_server_on_store_closed, srv);
    else
        op_loop_stop(srv->loop);
}

static void op_server_on_signal(void *arg)
{
    op_server_t *srv = arg;
    if (srv->stopping)
        return;
    srv->stopping = true;
    op_log_info(NULL, "shutdown: stop accepting, finishing requests in flight");
    if (srv->http != NULL)
        op_http_stop_accepting(srv->http);
    srv->drain_deadline_ms = op_loop_now_ms() + (uint64_t)srv->cfg->http_shutdown_grace_s * 1000u;
    op_server_drain(srv);
}

int op_server_run(op_config_t *cfg, bool reuse_port, const op_endpoint_t *const *endpoints,
                  size_t n)
{
    if (n > OP_SERVER_ENDPOINTS_MAX) {
        op_log_error(NULL, "%zu endpoints: at most %d", n, OP_SERVER_ENDPOINTS_MAX);
        return 1;
    }
    op_server_t srv = {
        .cfg = cfg, .reuse_port = reuse_port, .endpoints = endpoints, .n_endpoints = n};
    srv.loop = op_loop_new();
    if (srv.loop == NULL) {
        op_log_error(NULL, "cannot create the event loop");
        return 1;
    }
    srv.drain_timer = op_timer_new(srv.loop, op_server_drain, &srv);
    if (op_loop_signal(srv.loop, SIGTERM, op_server_on_signal, &srv) ||
        op_loop_signal(srv.loop, SIGINT, op_server_on_signal, &srv)) {
        op_log_error(NULL, "cannot set up signal handling");
        op_timer_free(srv.drain_timer);
        op_loop_free(srv.loop);
        return 1;
    }
    op_store_config_t sc = {
        .kind = cfg->storage_kind,
        .redis_address = cfg->storage_redis_address,
        .redis_password = cfg->storage_redis_password,
        .redis_database = cfg->storage_redis_database,
        .prefix = cfg->storage_prefix,
        .timeout_ms = cfg->storage_timeout_ms,
        .connect_timeout_ms = cfg->storage_connect_timeout_ms,
        .backoff_min_ms = cfg->storage_backoff_min_ms,
        .backoff_max_ms = cfg->storage_backoff_max_ms,
    };
    op_store_open(srv.loop, &sc, op_server_on_store, &srv);
    op_loop_run(srv.loop);

    /* A start-up failure stops the loop with parts still open. */
    if (srv.keys != NULL)
        op_keys_close(srv.keys);
    op_spi_loader_close(srv.spi);
    srv.spi = NULL;
    if (srv.store != NULL) {
        op_store_close(srv.store, op_server_on_store_closed, &srv);
        op_loop_run(srv.loop);
    }
    op_http_free(srv.http);
    op_http_client_free(srv.http_client);
    op_arena_free(srv.clients_arena);
    for (size_t i = n; i-- > 0;)
        if (endpoints[i]->fini != NULL)
            endpoints[i]->fini(srv.endpoint_state[i]);
    op_timer_free(srv.drain_timer);
    op_loop_free(srv.loop);
    return srv.exit_code;
}
