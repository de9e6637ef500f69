/*
 * core/flows/op_flows.h - the endpoints of the server, one state machine
 * (or a small group of them) per file, each on core/server's worker.
 *
 * op_flows_endpoints lists everything main hands to op_server_run; each
 * entry is defined at the end of its own file, with its routes and its
 * init/fini hooks (core/server/op_server.h).
 */
#ifndef OP_FLOWS_H
#define OP_FLOWS_H

#include "core/server/op_server.h"

/* Every endpoint, in route order. */
extern const op_endpoint_t *const op_flows_endpoints[];
extern const size_t op_flows_n_endpoints;

/* /.well-known/openid-configuration and /.well-known/oauth-authorization-server
 * (core/flows/op_discovery.c). */
extern const op_endpoint_t op_discovery_endpoint;

/* /jwks.json: the public JWK set (core/flows/op_jwks.c). */
extern const op_endpoint_t op_jwks_endpoint;

/* monitor/v1/healthcheck (core/flows/op_monitor.c). */
extern const op_endpoint_t op_monitor_endpoint;

/* POST /token: the authorization_code and refresh_token grants
 * (core/flows/op_token_endpoint.c). */
extern const op_endpoint_t op_token_endpoint;

/* GET, POST /userinfo (core/flows/op_userinfo.c). */
extern const op_endpoint_t op_userinfo_endpoint;

/* authz-sessions/rest/v3[/{sid}[/data]]: the authorisation session API
 * (core/flows/op_authz_session.c). */
extern const op_endpoint_t op_authz_session_endpoint;

#endif
