/*
 * tests/unit/plugins/bad_desc.h - a claims plugin whose descriptor is
 * wrong in one way, for the loader's refusals (tests/unit/spi/test_op_spi.c).
 * Each bad_*.c defines one of the macros below, then includes this file.
 */
#ifndef BAD_DESC_H
#define BAD_DESC_H

#include "spi/op_spi.h"

#ifndef BAD_ABI
#define BAD_ABI OP_SPI_ABI_VERSION
#endif
#ifndef BAD_SIZE
#define BAD_SIZE sizeof(op_spi_plugin_t)
#endif
#ifndef BAD_SIG
#define BAD_SIG OP_SPI_BUILD_SIG
#endif
#ifndef BAD_NAME
#define BAD_NAME "bad"
#endif

static const char *const bad_names[] = {"bad_claim", NULL};

static const char *const *bad_supported(void *data)
{
    (void)data;
    return bad_names;
}

static void bad_get(void *data, op_spi_call_t *call, const op_spi_claims_req_t *req)
{
    (void)data;
    (void)call;
    (void)req;
}

static const op_spi_claims_ops_t bad_claims = {bad_supported, bad_get};

static const op_spi_plugin_t bad_plugin = {
    .abi_version = BAD_ABI,
    .struct_size = BAD_SIZE,
    .name = BAD_NAME,
    .kinds = OP_SPI_KIND_CLAIMS,
    .build_sig = BAD_SIG,
    .claims = &bad_claims,
};

const op_spi_plugin_t *op_spi_entry(const op_spi_host_t *host)
{
    (void)host;
    return &bad_plugin;
}

#endif
