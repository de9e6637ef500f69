/* A plugin whose name cannot be part of a property key. */
#define BAD_NAME "bad.name"
#include "tests/unit/plugins/bad_desc.h"
