#ifndef CPARISAL_H
#define CPARISAL_H

// ISA-L's streaming gzip inflate, loaded at run time: libisal.so.2 is opened with dlopen the
// first time it is asked for, so a binary built here needs ISA-L only where it is installed,
// and falls back to zlib elsewhere. Built without ISA-L's header (libisal-dev), every call
// reports it unavailable. Nothing else lives here.
#include <stddef.h>
#include <stdint.h>

typedef struct CPARIsalInflater CPARIsalInflater;

/// 1 when libisal.so.2 was found and has the functions used, else 0. Checked once.
int CPARIsal_available(void);

/// A gzip inflater, or NULL when ISA-L is unavailable or memory is short.
CPARIsalInflater *CPARIsal_create(void);

/// Frees an inflater.
void CPARIsal_destroy(CPARIsalInflater *inflater);

/// Starts the next raw deflate stream (of the next gzip member) after one ended.
void CPARIsal_reset(CPARIsalInflater *inflater);

/// The gzip CRC-32 of everything the current stream has produced.
uint32_t CPARIsal_crc(const CPARIsalInflater *inflater);

/// After the deflate data ended: the whole bytes ISA-L read ahead past its end (the start of
/// the gzip trailer), at most 8, copied to `bytes`; returns how many.
int CPARIsal_takeHeldBytes(CPARIsalInflater *inflater, uint8_t bytes[8]);

/// Inflates raw deflate data (a gzip member's body: the caller reads the header and the
/// trailer) from `input` into `output`. Returns ISA-L's status (0 when no error, negative
/// for damaged data); sets the bytes consumed and produced, and `ended` to 1 once the
/// final block ended and all its output was given (the bytes after it are not consumed).
int CPARIsal_inflate(CPARIsalInflater *inflater, const uint8_t *input, size_t inputCount, uint8_t *output,
                     size_t outputCount, size_t *consumed, size_t *produced, int *ended);

#endif
