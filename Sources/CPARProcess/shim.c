#define _GNU_SOURCE
#include "CPARProcess.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <pthread.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef NSIG
#define NSIG 65
#endif

#if defined(__APPLE__)
#include <crt_externs.h>
#define environ (*_NSGetEnviron())  // a dylib or bundle cannot link environ itself there
#else
extern char **environ;
#endif

static unsigned char ignoredAtStart[NSIG];

// Runs before main, so before anything in par (NIO, the cleanup handlers, SIGXFSZ) changes a
// disposition: what is ignored now is what par's parent chose.
__attribute__((constructor)) static void recordInheritedDispositions(void) {
    for (int number = 1; number < NSIG; number++) {
        struct sigaction current;
        if (sigaction(number, NULL, &current) == 0 && current.sa_handler == SIG_IGN) ignoredAtStart[number] = 1;
    }
}

int CPARProcess_inheritedIgnored(int signal) {
    return signal > 0 && signal < NSIG && ignoredAtStart[signal];
}

int CPARProcess_memoryFile(const uint8_t *bytes, size_t count) {
#if defined(__linux__) && defined(MFD_CLOEXEC)
    int descriptor = memfd_create("par-host-data", MFD_CLOEXEC | MFD_ALLOW_SEALING);
    if (descriptor < 0) return -1;
    size_t offset = 0;
    while (offset < count) {
        ssize_t written = write(descriptor, bytes + offset, count - offset);
        if (written < 0 && errno == EINTR) continue;
        if (written <= 0) {
            int code = written < 0 ? errno : EIO;
            close(descriptor);
            errno = code;
            return -1;
        }
        offset += (size_t)written;
    }
    // Sealed: the provider reads what par wrote, and nothing can change it.
    (void)fcntl(descriptor, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL);
    if (lseek(descriptor, 0, SEEK_SET) != 0) {
        int code = errno;
        close(descriptor);
        errno = code;
        return -1;
    }
    return descriptor;
#else
    (void)bytes;
    (void)count;
    errno = ENOSYS;
    return -1;
#endif
}

/// Marks every descriptor from `low` to `high` (inclusive) close-on-exec.
static void closeOnExec(unsigned low, unsigned high) {
    if (low > high) return;
#if defined(SYS_close_range) && defined(CLOSE_RANGE_CLOEXEC)
    if (syscall(SYS_close_range, low, high, CLOSE_RANGE_CLOEXEC) == 0) return;
#endif
    // Older kernels: each open descriptor, as /proc lists them.
    DIR *folder = opendir("/proc/self/fd");
    if (folder == NULL) {
        long limit = sysconf(_SC_OPEN_MAX);
        unsigned last = limit > 0 && (unsigned long)limit - 1 < high ? (unsigned)limit - 1 : high;
        for (unsigned descriptor = low; descriptor <= last; descriptor++) {
            int flags = fcntl((int)descriptor, F_GETFD);
            if (flags >= 0) (void)fcntl((int)descriptor, F_SETFD, flags | FD_CLOEXEC);
        }
        return;
    }
    int own = dirfd(folder);
    struct dirent *entry;
    while ((entry = readdir(folder)) != NULL) {
        char *end = NULL;
        long descriptor = strtol(entry->d_name, &end, 10);
        if (end == entry->d_name || *end != 0 || descriptor == own) continue;
        if (descriptor < (long)low || descriptor > (long)high) continue;
        int flags = fcntl((int)descriptor, F_GETFD);
        if (flags >= 0) (void)fcntl((int)descriptor, F_SETFD, flags | FD_CLOEXEC);
    }
    closedir(folder);
}

int CPARProcess_exec(int program, int input, char *const argv[], char *const envp[]) {
    sigset_t all, previous;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &previous);

    // Dispositions: a handler is reset by exec anyway, but an ignored signal stays ignored,
    // so par's own (SIGXFSZ, SIGPIPE from the network code) go back to the default; what
    // par's parent ignored stays ignored, as the host's exec would keep it. SIGPIPE is
    // always the default, as Rust's Command makes it.
    for (int number = 1; number < NSIG; number++) {
        if (number == SIGKILL || number == SIGSTOP) continue;
        struct sigaction current;
        if (sigaction(number, NULL, &current) != 0) continue;
        int keepIgnored = ignoredAtStart[number] && number != SIGPIPE;
        struct sigaction wanted;
        memset(&wanted, 0, sizeof wanted);
        sigemptyset(&wanted.sa_mask);
        wanted.sa_handler = keepIgnored ? SIG_IGN : SIG_DFL;
        if (current.sa_handler != wanted.sa_handler || (current.sa_flags & SA_SIGINFO)) (void)sigaction(number, &wanted, NULL);
    }

    int code = 0;
    if (input != STDIN_FILENO) {
        if (dup2(input, STDIN_FILENO) != STDIN_FILENO) code = errno;
    } else {
        int flags = fcntl(STDIN_FILENO, F_GETFD);
        if (flags >= 0) (void)fcntl(STDIN_FILENO, F_SETFD, flags & ~FD_CLOEXEC);
    }
    if (code == 0) {
        // The program's descriptor stays open (it holds the lock that keeps prune away);
        // everything else above 2 closes on exec.
        int flags = fcntl(program, F_GETFD);
        if (flags < 0 || fcntl(program, F_SETFD, flags & ~FD_CLOEXEC) != 0) code = errno;
    }
    if (code == 0) {
        if (program > 3) closeOnExec(3, (unsigned)program - 1);
        closeOnExec((unsigned)program + 1, ~0U);
    }
    if (code == 0) {
        // exec takes the calling thread's mask: empty, as the host gives it.
        sigset_t none;
        sigemptyset(&none);
        pthread_sigmask(SIG_SETMASK, &none, NULL);
#if defined(__APPLE__)
        // Darwin has no fexecve: its /dev/fd names the open descriptor itself.
        char path[32];
        snprintf(path, sizeof path, "/dev/fd/%d", program);
        execve(path, argv, envp);
#else
        fexecve(program, argv, envp);
#endif
        code = errno;
    }
    pthread_sigmask(SIG_SETMASK, &previous, NULL);
    return code;
}

int CPARProcess_spawn(const char *path, char *const argv[], int input, int output, int errors, pid_t *process) {
    posix_spawn_file_actions_t actions;
    posix_spawnattr_t attributes;
    int code = posix_spawn_file_actions_init(&actions);
    if (code != 0) return code;
    code = posix_spawnattr_init(&attributes);
    if (code != 0) {
        posix_spawn_file_actions_destroy(&actions);
        return code;
    }
    if (input >= 0) {
        code = posix_spawn_file_actions_adddup2(&actions, input, 0);
    } else {
        code = posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
    }
    if (code == 0) code = posix_spawn_file_actions_adddup2(&actions, output, 1);
    if (code == 0) code = posix_spawn_file_actions_adddup2(&actions, errors, 2);
    short flags = POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF;
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 34))
    // Only its own three: a descriptor someone opened without close-on-exec stays here.
    if (code == 0) (void)posix_spawn_file_actions_addclosefrom_np(&actions, 3);
#elif defined(__APPLE__)
    flags |= POSIX_SPAWN_CLOEXEC_DEFAULT;  // Darwin's way to pass only the dup2'd descriptors.
#endif
    sigset_t empty, defaults;
    sigemptyset(&empty);
    // Every signal back to its default in the child, whatever par or its parent chose.
    sigfillset(&defaults);
    sigdelset(&defaults, SIGKILL);
    sigdelset(&defaults, SIGSTOP);
    if (code == 0) code = posix_spawnattr_setsigmask(&attributes, &empty);
    if (code == 0) code = posix_spawnattr_setsigdefault(&attributes, &defaults);
    if (code == 0) code = posix_spawnattr_setflags(&attributes, flags);
    if (code == 0) code = posix_spawn(process, path, &actions, &attributes, argv, environ);
    posix_spawnattr_destroy(&attributes);
    posix_spawn_file_actions_destroy(&actions);
    return code;
}

int CPARProcess_closeOnExecPipe(int ends[2]) {
#if defined(__linux__)
    return pipe2(ends, O_CLOEXEC);
#else
    if (pipe(ends) != 0) return -1;
    (void)fcntl(ends[0], F_SETFD, FD_CLOEXEC);
    (void)fcntl(ends[1], F_SETFD, FD_CLOEXEC);
    return 0;
#endif
}
