import Foundation

/// A provider binary for `par run` tests, compiled here with the system's C compiler: it
/// reads one line from standard input as the provider SDK does, and records that line, its
/// arguments, its environment and whether its input then ended to `record`; then it waits
/// for a signal (with `waits`) or exits with `exitCode`.
public enum TestProvider {
    static let source = #"""
        #include <signal.h>
        #include <stdio.h>
        #include <stdlib.h>
        #include <unistd.h>
        extern char **environ;
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
