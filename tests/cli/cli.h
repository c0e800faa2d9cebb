// CLI tests run the real binary; the helpers live in tests/support.h.
#pragma once

#include "support.h"
