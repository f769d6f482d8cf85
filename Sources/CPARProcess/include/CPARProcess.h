#ifndef CPARPROCESS_H
#define CPARPROCESS_H

// Replacing par with a provider in the state a wasmCloud host starts one in (Rust's
// `Command`): an empty signal mask, SIGPIPE and every signal par handles or ignores itself
// back to the default, what par's own parent left ignored still ignored, and no descriptor
// but 0, 1, 2 and the provider's own. Done in C because it must run between blocking every
// signal and exec, with nothing in between that could allocate or take a lock.
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/// Whether `signal` was ignored when the process started (recorded before main runs).
int CPARProcess_inheritedIgnored(int signal);

/// A sealed in-memory file holding `count` bytes of `bytes`, its offset at 0, close-on-exec:
/// the provider's standard input, written nowhere on disk. -1 with errno when it could not
/// be made (no memfd on this system: the caller falls back to a file).
int CPARProcess_memoryFile(const uint8_t *bytes, size_t count);

/// Replaces the process with the program open at `program` (fexecve), `input` becoming its
/// standard input, `argv` its arguments and `envp` its whole environment (NULL-terminated
/// arrays of byte strings, passed as they are). Every signal is blocked while the process's
/// state is reset, and the mask is emptied just before exec; only 0, 1, 2 and `program`
/// stay open. Returns only on failure, with the error number: the dispositions and
/// descriptors are then already changed, so the caller should end the process.
int CPARProcess_exec(int program, int input, char *const argv[], char *const envp[]);

/// Makes a pipe whose two ends are close-on-exec (atomically, with `pipe2`, where there is
/// one). Returns 0, or -1 with errno.
int CPARProcess_closeOnExecPipe(int ends[2]);

/// Starts the program at `path` with `posix_spawn` (`argv` its arguments, the process's own
/// environment): `input` (or /dev/null when it is -1), `output` and `errors` become its
/// descriptors 0, 1 and 2, and no other descriptor is passed where the C library can close
/// the rest (glibc 2.34 and later, Darwin); its signal mask is empty and every signal is at
/// its default. Stores the process id in `process` and returns 0, or the error number.
int CPARProcess_spawn(const char *path, char *const argv[], int input, int output, int errors, pid_t *process);

#endif
