#include "CPARIsal.h"

#if __has_include(<isa-l/igzip_lib.h>)
#include <dlfcn.h>
#include <isa-l/igzip_lib.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

struct CPARIsalInflater {
    // Trailer bytes ISA-L 2.31 and later hand back by moving next_in before the buffer it was
    // given (bytes it had read in an earlier call): kept here, as that buffer is gone.
    uint8_t returned[8];
    int returnedCount;
    struct inflate_state state;
};

static void (*isal_inflate_init_fn)(struct inflate_state *);
static void (*isal_inflate_reset_fn)(struct inflate_state *);
static int (*isal_inflate_fn)(struct inflate_state *);
static int loaded;
static pthread_once_t once = PTHREAD_ONCE_INIT;

// A library whose state layout differs from the header this was built with must not be
// used: allocations carry slack, and a known stream must inflate exactly before ISA-L is.
#define CPARISAL_SLACK 65536

static int selfTestPasses(void) {
    static const uint8_t stream[] = {
        0x1f, 0x8b, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x03, 0xcb, 0x2c, 0x4e, 0xd4, 0xcd, 0x51, 0x28, 0x4e,
        0xcd, 0x49, 0xd3, 0x2d, 0x49, 0x2d, 0x2e, 0xb1, 0x52, 0x28, 0x48, 0x2c, 0x02, 0x00, 0xea, 0xb0, 0x57, 0x2e,
        0x14, 0x00, 0x00, 0x00};
    static const char expected[] = "isa-l self-test: par";
    struct inflate_state *state = calloc(1, sizeof(struct inflate_state) + CPARISAL_SLACK);
    if (state == NULL) return 0;
    uint8_t output[64];
    isal_inflate_init_fn(state);
    state->crc_flag = ISAL_GZIP;
    state->next_in = (uint8_t *)stream;
    state->avail_in = sizeof(stream);
    state->next_out = output;
    state->avail_out = sizeof(output);
    int status = isal_inflate_fn(state);
    int passes = status == ISAL_DECOMP_OK && state->block_state == ISAL_BLOCK_FINISH && state->avail_in == 0
        && sizeof(output) - state->avail_out == sizeof(expected) - 1 && memcmp(output, expected, sizeof(expected) - 1) == 0;
    free(state);
    return passes;
}

static void load(void) {
    void *library = dlopen("libisal.so.2", RTLD_NOW | RTLD_LOCAL);
    if (library == NULL) return;
    isal_inflate_init_fn = (void (*)(struct inflate_state *))dlsym(library, "isal_inflate_init");
    isal_inflate_reset_fn = (void (*)(struct inflate_state *))dlsym(library, "isal_inflate_reset");
    isal_inflate_fn = (int (*)(struct inflate_state *))dlsym(library, "isal_inflate");
    loaded = isal_inflate_init_fn != NULL && isal_inflate_reset_fn != NULL && isal_inflate_fn != NULL && selfTestPasses();
}

int CPARIsal_available(void) {
    pthread_once(&once, load);
    return loaded;
}

CPARIsalInflater *CPARIsal_create(void) {
    if (!CPARIsal_available()) return NULL;
    CPARIsalInflater *inflater = calloc(1, sizeof(CPARIsalInflater) + CPARISAL_SLACK);
    if (inflater == NULL) return NULL;
    isal_inflate_init_fn(&inflater->state);
    // Raw deflate with the gzip CRC kept: par reads the gzip header and trailer itself, the
    // same way for both backends.
    inflater->state.crc_flag = ISAL_GZIP_NO_HDR;
    return inflater;
}

void CPARIsal_destroy(CPARIsalInflater *inflater) { free(inflater); }

void CPARIsal_reset(CPARIsalInflater *inflater) {
    inflater->returnedCount = 0;
    isal_inflate_reset_fn(&inflater->state);
    inflater->state.crc_flag = ISAL_GZIP_NO_HDR;
}

uint32_t CPARIsal_crc(const CPARIsalInflater *inflater) { return inflater->state.crc; }

int CPARIsal_takeHeldBytes(CPARIsalInflater *inflater, uint8_t bytes[8]) {
    // ISA-L reads ahead into a 64-bit bit buffer: at the end of the deflate data, the bits
    // left of the last byte are padding, and the whole bytes after them are the trailer's.
    // ISA-L 2.31 and later give them back themselves (next_in moved back): only those that
    // came from an earlier call's buffer are kept here, and read_in is empty.
    struct inflate_state *state = &inflater->state;
    int count = inflater->returnedCount;
    memcpy(bytes, inflater->returned, (size_t)count);
    inflater->returnedCount = 0;
    int length = state->read_in_length < 0 ? 0 : state->read_in_length;
    int padding = length % 8;
    for (int index = 0; index < length / 8 && count < 8; index++) bytes[count++] = (uint8_t)(state->read_in >> (padding + 8 * index));
    state->read_in = 0;
    state->read_in_length = 0;
    return count;
}

int CPARIsal_inflate(CPARIsalInflater *inflater, const uint8_t *input, size_t inputCount, uint8_t *output,
                     size_t outputCount, size_t *consumed, size_t *produced, int *ended) {
    struct inflate_state *state = &inflater->state;
    // ISA-L counts in 32 bits; callers pass buffers far smaller.
    uint32_t inputLimit = inputCount > UINT32_MAX ? UINT32_MAX : (uint32_t)inputCount;
    uint32_t outputLimit = outputCount > UINT32_MAX ? UINT32_MAX : (uint32_t)outputCount;
    state->next_in = (uint8_t *)input;
    state->avail_in = inputLimit;
    state->next_out = output;
    state->avail_out = outputLimit;
    uint64_t savedBits = state->read_in;
    int32_t savedLength = state->read_in_length;
    int status = isal_inflate_fn(state);
    if (state->avail_in > inputLimit) {
        // ISA-L 2.31+ gave back, at the end of the deflate data, whole bytes it had loaded
        // before this call: the last `excess` bytes of its bit buffer as it was then.
        uint32_t excess = state->avail_in - inputLimit;
        inflater->returnedCount = 0;
        if (excess <= 8 && savedLength >= 8 * (int32_t)excess) {
            for (uint32_t index = 0; index < excess; index++) {
                inflater->returned[index] = (uint8_t)(savedBits >> (savedLength - 8 * (int32_t)(excess - index)));
            }
            inflater->returnedCount = (int)excess;
        }
        *consumed = 0;
    } else {
        *consumed = inputLimit - state->avail_in;
    }
    *produced = outputLimit - state->avail_out;
    *ended = state->block_state == ISAL_BLOCK_FINISH;
    state->next_in = NULL;
    state->avail_in = 0;
    state->next_out = NULL;
    state->avail_out = 0;
    return status;
}

#else

int CPARIsal_available(void) { return 0; }
CPARIsalInflater *CPARIsal_create(void) { return NULL; }
void CPARIsal_destroy(CPARIsalInflater *inflater) { (void)inflater; }
void CPARIsal_reset(CPARIsalInflater *inflater) { (void)inflater; }
uint32_t CPARIsal_crc(const CPARIsalInflater *inflater) { (void)inflater; return 0; }
int CPARIsal_takeHeldBytes(CPARIsalInflater *inflater, uint8_t bytes[8]) { (void)inflater; (void)bytes; return 0; }
int CPARIsal_inflate(CPARIsalInflater *inflater, const uint8_t *input, size_t inputCount, uint8_t *output,
                     size_t outputCount, size_t *consumed, size_t *produced, int *ended) {
    (void)inflater; (void)input; (void)inputCount; (void)output; (void)outputCount;
    *consumed = 0;
    *produced = 0;
    *ended = 0;
    return -100;
}

#endif
