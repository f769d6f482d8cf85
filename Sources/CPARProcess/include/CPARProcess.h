#ifndef CPARPROCESS_H
#define CPARPROCESS_H

// Replacing par with a provider in the state a wasmCloud host starts one in (Rust's
// `Command`): an empty signal mask, SIGPIPE and every signal par handles or ignores itself
// back to the default, what par's own parent left ignored still ignored, and no descriptor
// but 0, 1, 2 and the provider's own. Done in C because it must run between blocking every
// signal and exec, with nothing in between that could allocate or take a lock.
#include <stddef.h>
#include <stdint.h>
#include <spawn.h>

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

/// Adds "close every descriptor from `low` up" to a `posix_spawn` file-actions object, where
/// the C library has it (glibc 2.34 and later). Returns 0, or ENOSYS where it does not.
int CPARProcess_spawnClosesFrom(posix_spawn_file_actions_t *actions, int low);

#endif
