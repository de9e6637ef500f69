/* A plugin built for another plugin ABI version. */
#define BAD_ABI 999
#include "tests/unit/plugins/bad_desc.h"
