#include "CPARZlib.h"

// SwiftPM needs a source file in a C target; an empty one trips SR-12939.
int CPARZlib_version_major(void) { return ZLIB_VERNUM >> 12; }
