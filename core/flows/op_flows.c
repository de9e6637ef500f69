/*
 * core/flows/op_flows.c - the route table: every endpoint main serves.
 */
#include "core/flows/op_flows.h"

const op_endpoint_t *const op_flows_endpoints[] = {
    &op_discovery_endpoint, &op_jwks_endpoint,     &op_monitor_endpoint,
    &op_token_endpoint,     &op_userinfo_endpoint, &op_authz_session_endpoint,
};

const size_t op_flows_n_endpoints = OP_NELEMS(op_flows_endpoints);
