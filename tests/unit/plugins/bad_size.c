/* A plugin whose descriptor is smaller than the ABI's. */
#define BAD_SIZE 16
#include "tests/unit/plugins/bad_desc.h"
