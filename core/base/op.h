/*
 * core/base/op.h - the runtime every module includes: status codes,
 * errors, arena, logging, JSON, event loop and async plumbing, flow engine.
 * core/base includes nothing of the project outside core/base.
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

#define OP_UNUSED(x) ((void)(x))
#define OP_NELEMS(a) (sizeof(a) / sizeof((a)[0]))

#include "core/base/op_mem.h"
#include "core/base/op_list.h"
#include "core/base/op_arena.h"
#include "core/base/op_err.h"
#include "core/base/op_log.h"
#include "core/base/op_json.h"
#include "core/base/op_loop.h"
#include "core/base/op_timer.h"
#include "core/base/op_call.h"
#include "core/base/op_flow.h"
#include "core/base/op_str.h"
#include "core/base/op_strs.h"
#include "core/base/op_b64url.h"
#include "core/base/op_hex.h"

#endif
