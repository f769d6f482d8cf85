#include "CFuzzerDriver.h"

// SwiftPM needs a source file in a C target; an empty one trips SR-12939.
int CFuzzerDriver_present(void) { return 1; }
