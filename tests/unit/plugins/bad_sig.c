/* A plugin built with another data model (its build signature differs). */
#define BAD_SIG "op-spi/1/p4/l4/i4/le"
#include "tests/unit/plugins/bad_desc.h"
