#ifndef CPARZLIB_H
#define CPARZLIB_H

// zlib's deflateInit2 and inflateInit2 are function-like macros, which Swift cannot
// import. These wrappers give them a callable form; nothing else lives here.
#include <zlib.h>

static inline int CPARZlib_deflateInit2(z_streamp strm, int level, int method, int windowBits,
                                        int memLevel, int strategy) {
    return deflateInit2(strm, level, method, windowBits, memLevel, strategy);
}

static inline int CPARZlib_inflateInit2(z_streamp strm, int windowBits) {
    return inflateInit2(strm, windowBits);
}

#endif
