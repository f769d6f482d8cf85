#ifndef CPARSIGNALS_H
#define CPARSIGNALS_H

// Removing temporary files when the process is told to stop (SIGINT, SIGTERM, SIGHUP).
//
// A signal handler may only call async-signal-safe functions and touch lock-free state, so
// the table of paths lives here, in C, as fixed slots with atomic states: the handler
// unlinks every live slot's path and exits with 128 + the signal's number, as shells report
// a process ended by a signal.

/// Records a path to remove if a termination signal arrives. Returns a slot to pass to
/// CPARSignals_forget, or -1 when the table is full or the path too long (the file is then
/// simply not removed on a signal).
int CPARSignals_remember(const char *path);

/// Stops tracking a slot returned by CPARSignals_remember; -1 is ignored.
void CPARSignals_forget(int slot);

/// Installs the handler for SIGINT, SIGTERM and SIGHUP, once, and unblocks them in the
/// calling thread (a mask inherited blocked would keep them pending forever). A signal the
/// process inherited as ignored (nohup, background jobs) stays ignored. Returns 0, or -1
/// when sigaction or pthread_sigmask failed.
int CPARSignals_installHandlers(void);

#endif
