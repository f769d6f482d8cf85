import Foundation

/// A provider binary for `par run` tests, compiled here with the system's C compiler: it
/// reads one line from standard input as the provider SDK does, and records that line, its
/// arguments, its environment and whether its input then ended to `record`; then it waits
/// for a signal (with `waits`) or exits with `exitCode`.
public enum TestProvider {
    static let source = #"""
        #include <dirent.h>
        #include <signal.h>
        #include <stdio.h>
        #include <stdlib.h>
        #include <string.h>
        #include <unistd.h>
        extern char **environ;
        /* What the kernel says of this process: its signal mask and ignored signals, and each
           open descriptor with what it names (this listing's own is left out). */
        static void recordState(FILE *out) {
            char text[512];
            FILE *status = fopen("/proc/self/status", "r");
            while (status && fgets(text, sizeof text, status)) {
                if (!strncmp(text, "SigBlk:", 7)) fprintf(out, "sigblk %s", text + 8);
                if (!strncmp(text, "SigIgn:", 7)) fprintf(out, "sigign %s", text + 8);
            }
            if (status) fclose(status);
            DIR *folder = opendir("/proc/self/fd");
            struct dirent *entry;
            while (folder && (entry = readdir(folder))) {
                if (entry->d_name[0] == '.' || atoi(entry->d_name) == dirfd(folder)) continue;
                char link[300], target[4096];
                snprintf(link, sizeof link, "/proc/self/fd/%s", entry->d_name);
                ssize_t length = readlink(link, target, sizeof target - 1);
                target[length < 0 ? 0 : length] = 0;
                fprintf(out, "fd %s %s\n", entry->d_name, target);
            }
            if (folder) closedir(folder);
        }
        int main(int argc, char **argv) {
            char *line = NULL;
            size_t capacity = 0;
            ssize_t length = getline(&line, &capacity, stdin);
            int ended = getchar() == EOF;
            FILE *out = fopen(RECORD ".tmp", "w");
            if (!out) return 99;
            fprintf(out, "%s", length > 0 ? line : "");
            fprintf(out, "argc %d\n", argc);
            for (int i = 0; i < argc; i++) fprintf(out, "argv %s\n", argv[i]);
            for (char **e = environ; *e; e++) fprintf(out, "env %s\n", *e);
            fprintf(out, "ended %d\n", ended);
            recordState(out);
            fclose(out);
            rename(RECORD ".tmp", RECORD);
            if (WAITS) for (;;) pause();
            return EXIT_CODE;
        }
        """#

    /// Compiles the provider.
    ///
    /// - Parameters:
    ///   - path: Where to put the executable.
    ///   - record: The file it records what it got in.
    ///   - exitCode: Its exit status.
    ///   - waits: Wait for a signal instead of exiting.
    public static func build(at path: String, record: String, exitCode: Int32 = 0, waits: Bool = false) throws {
        let source = path + ".c"
        try Data(Self.source.utf8).write(to: URL(fileURLWithPath: source))
        let result = try ExternalTools.run([
            "cc", "-O1", "-o", path, source, "-DRECORD=\"\(record)\"", "-DEXIT_CODE=\(exitCode)", "-DWAITS=\(waits ? 1 : 0)",
        ])
        guard result.status == 0 else { throw ToolMissing(message: "cc could not build the test provider: \(result.error)") }
    }
}
