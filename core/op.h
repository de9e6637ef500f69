/*
 * core/op.h - the runtime interface of core/ that every module includes.
 *
 * core/ has two layers. The runtime layer (status codes, errors, arena,
 * logging, JSON, event loop and async plumbing, flow engine) is declared
 * here and used by every module. The protocol layer (config, clients,
 * endpoints, flows) is private to core/ and only main depends on it.
 *
 * Conventions (see docs/architecture.md):
 *  - action functions return an int status: OP_OK, a negative OP_E* error,
 *    or one of the non-error statuses OP_AGAIN / OP_DECLINED / OP_DONE;
 *  - predicates return bool; the two are never mixed;
 *  - an async start function takes (cb, arg) and calls cb exactly once,
 *    never before it returns, also on error, timeout and shutdown.
 */
#ifndef OP_H
#define OP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/op_arena.h"
#include "core/op_err.h"
#include "core/op_log.h"
#include "core/op_json.h"
#include "core/op_loop.h"
#include "core/op_flow.h"
#include "core/op_util.h"

#endif
