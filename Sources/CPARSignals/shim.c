#include "CPARSignals.h"

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <unistd.h>

#ifndef PATH_MAX
#define PATH_MAX 4096
#endif

enum { slotCount = 64 };
enum { slotFree = 0, slotWriting = 1, slotLive = 2 };

static _Atomic int states[slotCount];
static char paths[slotCount][PATH_MAX];
static atomic_flag installed = ATOMIC_FLAG_INIT;

int CPARSignals_remember(const char *path) {
    size_t length = strlen(path);
    if (length >= PATH_MAX) return -1;
    for (int slot = 0; slot < slotCount; slot++) {
        int expected = slotFree;
        if (atomic_compare_exchange_strong(&states[slot], &expected, slotWriting)) {
            memcpy(paths[slot], path, length + 1);
            atomic_store(&states[slot], slotLive);
            return slot;
        }
    }
    return -1;
}

void CPARSignals_forget(int slot) {
    if (slot < 0 || slot >= slotCount) return;
    atomic_store(&states[slot], slotFree);
}

static void removeAndExit(int signal) {
    for (int slot = 0; slot < slotCount; slot++) {
        if (atomic_load(&states[slot]) == slotLive) unlink(paths[slot]);
    }
    _exit(128 + signal);
}

int CPARSignals_installHandlers(void) {
    if (atomic_flag_test_and_set(&installed)) return 0;
    const int signals[] = {SIGINT, SIGTERM, SIGHUP};
    for (unsigned index = 0; index < sizeof signals / sizeof signals[0]; index++) {
        struct sigaction current;
        if (sigaction(signals[index], NULL, &current) != 0) return -1;
        if (current.sa_handler == SIG_IGN) continue;
        struct sigaction action;
        memset(&action, 0, sizeof action);
        action.sa_handler = removeAndExit;
        sigfillset(&action.sa_mask);
        if (sigaction(signals[index], &action, NULL) != 0) return -1;
    }
    // A mask inherited blocked (a parent's worker thread spawned us) would keep the signal
    // pending forever: the handler is only worth installing if the signal can arrive.
    sigset_t wanted;
    sigemptyset(&wanted);
    for (unsigned index = 0; index < sizeof signals / sizeof signals[0]; index++) {
        struct sigaction current;
        if (sigaction(signals[index], NULL, &current) == 0 && current.sa_handler == removeAndExit) {
            sigaddset(&wanted, signals[index]);
        }
    }
    return pthread_sigmask(SIG_UNBLOCK, &wanted, NULL) == 0 ? 0 : -1;
}
