/*
 * core/base/op_mem.c - the out-of-memory policy's one failure path. See
 * core/base/op_mem.h.
 */
#include <stdlib.h>

#include "core/base/op.h"

_Noreturn void op_mem_fail(size_t n)
{
    op_log_error(NULL, "out of memory (%zu bytes): aborting", n);
    abort();
}
