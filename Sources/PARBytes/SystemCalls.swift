#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
internal import CPARProcess

// The package's system layer: every call into the C library above PARBytes goes through
// here (threads through Threads.swift), with the EINTR loops, the `stat` field names and the
// error numbers in one place, so the modules above never import libc.

/// Calls a system function until it does not fail with `EINTR`.
@inline(__always)
package func retryingOnInterrupt<Result: BinaryInteger>(_ call: () -> Result) -> Result {
    while true {
        let result = call()
        if result >= 0 || errno != EINTR { return result }
    }
}

// The C library's read/write collide with the stream protocols' method names inside the classes.
@inline(__always)
func systemRead(_ descriptor: Int32, _ buffer: UnsafeMutableRawPointer, _ count: Int) -> Int {
    read(descriptor, buffer, count)
}

@inline(__always)
func systemWrite(_ descriptor: Int32, _ buffer: UnsafeRawPointer, _ count: Int) -> Int {
    write(descriptor, buffer, count)
}

/// What kind of file a `stat` mode is, such as `a character device`; `nil` for a regular file.
package func fileKind(mode: UInt32) -> String? {
    switch mode_t(mode) & S_IFMT {
    case S_IFREG: nil
    case S_IFDIR: "a directory"
    case S_IFIFO: "a pipe"
    case S_IFCHR: "a character device"
    case S_IFBLK: "a block device"
    case S_IFSOCK: "a socket"
    case S_IFLNK: "a symbolic link"
    default: "a special file"
    }
}

/// What kind of file is at a path (links followed), `nil` for a regular file or nothing.
package func existingFileKind(at path: String) -> String? {
    (try? System.status(at: path))?.kind
}

/// The processors online now: how many threads work that divides well can use.
package var activeProcessorCount: Int {
    max(1, sysconf(Int32(_SC_NPROCESSORS_ONLN)))
}

/// The system error numbers the package tells apart.
package enum Errno {
    package static var current: Int32 { errno }
    package static let notFound = ENOENT
    package static let exists = EEXIST
    package static let interrupted = EINTR
    package static let wouldBlock = EWOULDBLOCK
    package static let tryAgain = EAGAIN
    package static let readOnlyFileSystem = EROFS
    package static let noSuchProcess = ESRCH
    package static let invalidArgument = EINVAL
    package static let inputOutput = EIO
    package static let badDescriptor = EBADF
    package static let fileTooLarge = EFBIG
    package static let permissionDenied = EACCES
    package static let notPermitted = EPERM
    package static let notSupported = EOPNOTSUPP
    package static let isADirectory = EISDIR
    package static let noSpace = ENOSPC
    package static let quotaExceeded = EDQUOT
    /// What `open` with `O_NOFOLLOW` (or on a device or socket) fails with where something
    /// other than a regular file is (ELOOP; EMLINK or EFTYPE on some systems, ...).
    package static let notARegularFile: Set<Int32> = {
        var codes: Set<Int32> = [ELOOP, EMLINK, ENXIO, EOPNOTSUPP, ENODEV, EISDIR]
        #if canImport(Darwin)
        codes.insert(EFTYPE)
        #endif
        return codes
    }()

    /// The system's words for an error number.
    package static func message(_ code: Int32) -> String {
        String(cString: strerror(code))
    }
}

/// What `stat` says of a file, under the same names on Linux and Darwin.
package struct FileStatus: Sendable, Equatable {
    package let device: UInt64
    package let inode: UInt64
    package let mode: UInt32
    package let owner: UInt32
    package let size: UInt64
    /// The last modification, and the last change of content or metadata (seconds, nanoseconds).
    package let modified: (seconds: Int, nanoseconds: Int)
    package let changed: (seconds: Int, nanoseconds: Int)

    init(_ status: stat) {
        #if canImport(Darwin)
        let (modified, changed) = (status.st_mtimespec, status.st_ctimespec)
        #else
        let (modified, changed) = (status.st_mtim, status.st_ctim)
        #endif
        device = UInt64(truncatingIfNeeded: status.st_dev)
        inode = UInt64(truncatingIfNeeded: status.st_ino)
        mode = UInt32(truncatingIfNeeded: status.st_mode)
        owner = UInt32(truncatingIfNeeded: status.st_uid)
        size = UInt64(truncatingIfNeeded: status.st_size)
        self.modified = (Int(modified.tv_sec), Int(modified.tv_nsec))
        self.changed = (Int(changed.tv_sec), Int(changed.tv_nsec))
    }

    package static func == (lhs: FileStatus, rhs: FileStatus) -> Bool {
        (lhs.device, lhs.inode, lhs.mode, lhs.owner, lhs.size) == (rhs.device, rhs.inode, rhs.mode, rhs.owner, rhs.size)
            && lhs.modified == rhs.modified && lhs.changed == rhs.changed
    }

    /// What kind of file it is, such as `a pipe`; `nil` for a regular file.
    package var kind: String? { fileKind(mode: mode) }
    package var isRegularFile: Bool { mode_t(mode) & S_IFMT == S_IFREG }
    package var isDirectory: Bool { mode_t(mode) & S_IFMT == S_IFDIR }
    package var isPipe: Bool { mode_t(mode) & S_IFMT == S_IFIFO }
    /// The permission bits.
    package var permissions: UInt32 { mode & 0o7777 }

    /// Whether both name one file (device and inode).
    package func isSameFile(as other: FileStatus) -> Bool {
        device == other.device && inode == other.inode
    }
}

/// How ``System/open(_:_:permissions:)`` opens a file: for reading unless `writeOnly`.
package struct OpenOptions: OptionSet, Sendable {
    package let rawValue: Int32
    package init(rawValue: Int32) { self.rawValue = rawValue }

    package static let writeOnly = OpenOptions(rawValue: O_WRONLY)
    package static let create = OpenOptions(rawValue: O_CREAT)
    package static let exclusive = OpenOptions(rawValue: O_EXCL)
    /// Fail on a symbolic link instead of following it.
    package static let noFollow = OpenOptions(rawValue: O_NOFOLLOW)
    /// Never wait to open (a FIFO with no writer, a device).
    package static let nonBlocking = OpenOptions(rawValue: O_NONBLOCK)
    package static let noControllingTerminal = OpenOptions(rawValue: O_NOCTTY)
    /// Closed in a program this process execs; every descriptor par opens has it.
    package static let closeOnExec = OpenOptions(rawValue: O_CLOEXEC)
}

/// The C library's calls, each once, with EINTR retried and failures as ``FileError``s or
/// error numbers.
package enum System {
    /// Standard input, output and error.
    package static let standardInput: Int32 = 0
    package static let standardOutput: Int32 = 1
    package static let standardError: Int32 = 2

    // MARK: Descriptors

    /// Opens `path`.
    ///
    /// - Throws: ``FileError`` (operation "open"), with the error number.
    package static func open(_ path: String, _ options: OpenOptions, permissions: UInt32 = 0o600) throws(FileError) -> Int32 {
        let descriptor = retryingOnInterrupt { openPath(path, options.rawValue, mode_t(permissions)) }
        guard descriptor >= 0 else { throw FileError(operation: "open", path: path, code: errno) }
        return descriptor
    }

    /// Closes a descriptor.
    package static func close(_ descriptor: Int32) {
        _ = closeDescriptor(descriptor)
    }

    /// What `fstat` says of an open file.
    package static func status(of descriptor: Int32, path: String) throws(FileError) -> FileStatus {
        var status = stat()
        guard fstat(descriptor, &status) == 0 else { throw FileError(operation: "open", path: path, code: errno) }
        return FileStatus(status)
    }

    /// Takes a `flock` on an open file.
    ///
    /// - Parameters:
    ///   - shared: A shared lock, else an exclusive one.
    ///   - wait: Wait for other holders; else give up at once.
    /// - Returns: `false` when `wait` is false and someone else holds it.
    /// - Throws: ``FileError`` (operation "lock") for any other failure.
    @discardableResult
    package static func lock(_ descriptor: Int32, path: String, shared: Bool, wait: Bool = true) throws(FileError) -> Bool {
        let operation = (shared ? LOCK_SH : LOCK_EX) | (wait ? 0 : LOCK_NB)
        guard retryingOnInterrupt({ flock(descriptor, operation) }) == 0 else {
            if errno == EWOULDBLOCK, !wait { return false }
            throw FileError(operation: "lock", path: path, code: errno)
        }
        return true
    }

    /// Makes reads and writes of an open file wait again (it was opened non-blocking).
    package static func setBlocking(_ descriptor: Int32) {
        _ = fcntl(descriptor, F_SETFL, fcntl(descriptor, F_GETFL) & ~O_NONBLOCK)
    }

    /// Whether a descriptor is open.
    package static func isOpen(_ descriptor: Int32) -> Bool {
        fcntl(descriptor, F_GETFD) != -1 || errno != EBADF
    }

    /// Sets an open file's permission bits.
    package static func setPermissions(_ descriptor: Int32, _ permissions: UInt32) -> Bool {
        fchmod(descriptor, mode_t(permissions)) == 0
    }

    /// Sets an open file's access and modification times to now.
    package static func touch(_ descriptor: Int32) {
        _ = futimens(descriptor, nil)
    }

    /// Moves an open file's offset back to its start.
    package static func rewind(_ descriptor: Int32, path: String) throws(FileError) {
        guard lseek(descriptor, 0, SEEK_SET) == 0 else { throw FileError(operation: "seek", path: path, code: errno) }
    }

    /// Writes all of `bytes`, retrying short writes and EINTR: the one write loop.
    ///
    /// - Returns: 0, or the error number (EIO when the system wrote nothing, without one).
    package static func writeAll(_ descriptor: Int32, _ bytes: UnsafeRawBufferPointer) -> Int32 {
        var offset = 0
        while offset < bytes.count {
            let count = retryingOnInterrupt { systemWrite(descriptor, bytes.baseAddress! + offset, bytes.count - offset) }
            guard count > 0 else { return count < 0 ? errno : EIO }
            offset += count
        }
        return 0
    }

    /// Waits until a pipe has bytes to read or its writers are gone: a named pipe opened
    /// before its writer reads as ended until then.
    package static func waitUntilReadable(_ descriptor: Int32) {
        var entry = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
        _ = retryingOnInterrupt { poll(&entry, 1, -1) }
    }

    /// Whether a descriptor is a terminal.
    package static func isTerminal(_ descriptor: Int32) -> Bool {
        isatty(descriptor) == 1
    }

    /// Opens `/dev/null` on any of descriptors 0, 1 and 2 that is closed, so no file opened
    /// later takes one of their numbers.
    package static func reopenClosedStandardDescriptors() {
        for descriptor: Int32 in 0...2 where !isOpen(descriptor) {
            let opened = openPath("/dev/null", descriptor == 0 ? O_RDONLY : O_WRONLY, 0)
            if opened >= 0, opened != descriptor {
                dup2(opened, descriptor)
                _ = closeDescriptor(opened)
            }
        }
    }

    // MARK: Paths

    /// What `stat` (or, not following a last link, `lstat`) says of the file at `path`.
    package static func status(at path: String, followingLinks: Bool = true) throws(FileError) -> FileStatus {
        var status = stat()
        let result = followingLinks ? stat(path, &status) : lstat(path, &status)
        guard result == 0 else { throw FileError(operation: "open", path: path, code: errno) }
        return FileStatus(status)
    }

    /// The path with every symbolic link resolved, or the path itself when it cannot be.
    package static func resolvingLinks(_ path: String) -> String {
        guard let resolved = realpath(path, nil) else { return path }
        defer { free(resolved) }
        return String(cString: resolved)
    }

    /// Removes a file's name; `false` (with ``Errno/current`` set) when it could not.
    @discardableResult
    package static func unlink(_ path: String) -> Bool {
        unlinkPath(path) == 0
    }

    /// Removes an empty folder; `false` when it could not.
    @discardableResult
    package static func removeFolder(_ path: String) -> Bool {
        rmdir(path) == 0
    }

    /// Renames a file, replacing what is at `destination`.
    package static func rename(_ source: String, to destination: String) throws(FileError) {
        guard renamePath(source, destination) == 0 else { throw FileError(operation: "rename", path: destination, code: errno) }
    }

    /// Creates a folder.
    ///
    /// - Returns: `false` when something was there already.
    /// - Throws: ``FileError`` (operation "create") for any other failure.
    @discardableResult
    package static func makeFolder(_ path: String, permissions: UInt32) throws(FileError) -> Bool {
        guard mkdir(path, mode_t(permissions)) == 0 else {
            if errno == EEXIST { return false }
            throw FileError(operation: "create", path: path, code: errno)
        }
        return true
    }

    /// Creates a new file `prefix` + six random characters, 0600 and close-on-exec, and
    /// removes its name at once when `unlinked`: a scratch file nothing can leave behind.
    ///
    /// - Returns: The open file and the name it was created under.
    package static func makeTemporaryFile(prefix: String, unlinked: Bool) throws(FileError) -> (descriptor: Int32, path: String) {
        var template = Array((prefix + "XXXXXX").utf8CString)
        let descriptor = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        guard descriptor >= 0 else { throw FileError(operation: "create", path: prefix, code: errno) }
        let path = template.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
        if unlinked { _ = unlinkPath(path) }
        _ = fcntl(descriptor, F_SETFD, FD_CLOEXEC)
        return (descriptor, path)
    }

    /// Where temporary files go: `TMPDIR` when set and not empty, else `/tmp`.
    package static var temporaryFolder: String {
        getenv("TMPDIR").map { String(cString: $0) }.flatMap { $0.isEmpty ? nil : $0 } ?? "/tmp"
    }

    /// Creates a new folder `prefix` + six random characters, 0700.
    ///
    /// - Returns: Its path.
    package static func makeTemporaryFolder(prefix: String) throws(FileError) -> String {
        var template = Array((prefix + "XXXXXX").utf8CString)
        let made = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        guard made != nil else { throw FileError(operation: "create", path: prefix, code: errno) }
        return template.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
    }

    /// A descriptor reading `bytes` from their start, for another program's standard input:
    /// a sealed memory file, else an unlinked temporary file (0600) in `TMPDIR` or `/tmp`.
    ///
    /// - Throws: ``FileError`` when neither could be made and written.
    package static func readableCopy(of bytes: [UInt8]) throws(FileError) -> Int32 {
        let memory = bytes.withUnsafeBufferPointer { CPARProcess_memoryFile($0.baseAddress, $0.count) }
        if memory >= 0 { return memory }
        let folder = temporaryFolder
        let file = try makeTemporaryFile(prefix: folder + "/par-input-", unlinked: true).descriptor
        let written = bytes.withUnsafeBytes { writeAll(file, $0) }
        do throws(FileError) {
            guard written == 0 else { throw FileError(operation: "write", path: folder, code: written) }
            try rewind(file, path: folder)
        } catch {
            close(file)
            throw error
        }
        return file
    }

    // MARK: Processes

    /// This process's id.
    package static var processID: Int32 { getpid() }

    /// The user this process acts as.
    package static var effectiveUserID: UInt32 { UInt32(geteuid()) }

    /// Whether a process is known to have ended (`kill(pid, 0)` fails with ESRCH).
    package static func hasEnded(process: Int32) -> Bool {
        kill(pid_t(process), 0) != 0 && errno == ESRCH
    }

    /// Ignores SIGXFSZ, so a write past `ulimit -f` fails with EFBIG, an ordinary error,
    /// instead of ending the process.
    package static func ignoreFileSizeSignal() {
        signal(SIGXFSZ, SIG_IGN)
    }

    /// This process's environment, byte for byte, as `environ` holds it.
    package static var environmentBytes: [[UInt8]] {
        var variables: [[UInt8]] = []
        var entry = environ
        while let pointer = entry.pointee {
            variables.append(Array(UnsafeRawBufferPointer(start: pointer, count: strlen(pointer))))
            entry += 1
        }
        return variables
    }
}

// The C library's names, which `System`'s own hide inside it.
private func openPath(_ path: String, _ flags: Int32, _ mode: mode_t) -> Int32 { open(path, flags, mode) }
private func closeDescriptor(_ descriptor: Int32) -> Int32 { close(descriptor) }
private func unlinkPath(_ path: String) -> Int32 { unlink(path) }
private func renamePath(_ source: String, _ destination: String) -> Int32 { rename(source, destination) }

/// How a child process ended.
package enum ProcessExit: Sendable, Equatable {
    /// It exited with this status.
    case exited(status: Int32)
    /// This signal ended it.
    case signaled(Int32)
}

// Starting a program and waiting for it: ChildProcess's calls into the C library.
extension System {
    /// Whether `path` is a file this process may execute.
    package static func isExecutable(_ path: String) -> Bool {
        access(path, X_OK) == 0
    }

    /// A pipe whose two ends are close-on-exec, or `nil` (with ``Errno/current``).
    package static func closeOnExecPipe() -> (read: Int32, write: Int32)? {
        var ends: [Int32] = [-1, -1]
        guard CPARProcess_closeOnExecPipe(&ends) == 0 else { return nil }
        return (ends[0], ends[1])
    }

    /// Makes reads of an open file return at once when it has nothing.
    package static func setNonBlocking(_ descriptor: Int32) {
        _ = fcntl(descriptor, F_SETFL, fcntl(descriptor, F_GETFL) | O_NONBLOCK)
    }

    /// Starts `executable` with `arguments` (argv[1...]) and this process's environment:
    /// `standardInput` (or /dev/null), `output` and `errors` become its 0, 1 and 2, and
    /// nothing else is passed where the C library can close the rest; empty signal mask,
    /// every signal at its default. An inherited "ignore SIGCHLD", which would have the
    /// kernel reap it before ``reap(_:waiting:)`` can, is undone first.
    ///
    /// - Returns: The process id, or 0 and the error number.
    package static func spawn(
        _ executable: String, arguments: [String], standardInput: Int32?, output: Int32, errors: Int32
    ) -> (process: Int32, code: Int32) {
        signal(SIGCHLD, SIG_DFL)
        var process: pid_t = 0
        let code = withCStrings(([executable] + arguments).map { Array($0.utf8) }) { argv in
            CPARProcess_spawn(executable, argv, standardInput ?? -1, output, errors, &process)
        }
        return (code == 0 ? process : 0, code)
    }

    /// Replaces this process with the program open at `program` (see `CPARProcess_exec`:
    /// every signal blocked while its state is reset, the mask emptied just before exec, only
    /// 0, 1, 2 and `program` left open), `input` becoming its standard input.
    ///
    /// - Parameters:
    ///   - arguments: Its whole argument vector, byte strings passed as they are.
    ///   - environment: Its whole environment, `NAME=VALUE` byte strings.
    /// - Returns: Only on failure: the error number. The signal dispositions and descriptors
    ///   are already changed then, so the caller should end the process.
    package static func exec(_ program: Int32, input: Int32, arguments: [[UInt8]], environment: [[UInt8]]) -> Int32 {
        withCStrings(arguments) { argv in
            withCStrings(environment) { envp in CPARProcess_exec(program, input, argv, envp) }
        }
    }

    /// Runs `body` with a NULL-terminated array of C strings holding `strings`, byte for byte.
    private static func withCStrings<Result>(
        _ strings: [[UInt8]], _ body: (UnsafePointer<UnsafeMutablePointer<CChar>?>) -> Result
    ) -> Result {
        var pointers: [UnsafeMutablePointer<CChar>?] = strings.map { bytes in
            let copy = UnsafeMutablePointer<CChar>.allocate(capacity: bytes.count + 1)
            bytes.withUnsafeBytes { raw in
                UnsafeMutableRawPointer(copy).copyMemory(from: raw.baseAddress ?? UnsafeRawPointer(copy), byteCount: bytes.count)
            }
            copy[bytes.count] = 0
            return copy
        }
        pointers.append(nil)
        defer { pointers.forEach { $0?.deallocate() } }
        return pointers.withUnsafeBufferPointer { body($0.baseAddress!) }
    }

    /// Waits up to `milliseconds` for any of `descriptors` to have bytes or be closed.
    ///
    /// - Returns: Those that are ready (none after a timeout or a signal), or the error number.
    package static func waitForReadable(_ descriptors: [Int32], milliseconds: Int32) -> Result<[Int32], FileError> {
        var entries = descriptors.map { pollfd(fd: $0, events: Int16(POLLIN), revents: 0) }
        if poll(&entries, nfds_t(entries.count), milliseconds) < 0 {
            if errno == EINTR { return .success([]) }
            return .failure(FileError(operation: "poll", path: "", code: errno))
        }
        return .success(entries.filter { $0.revents != 0 }.map(\.fd))
    }

    /// Collects a child that has ended: how it ended, or `nil` while it runs (when not
    /// `waiting`).
    package static func reap(_ process: Int32, waiting: Bool) -> Result<ProcessExit?, FileError> {
        var status: Int32 = 0
        let waited = retryingOnInterrupt { waitpid(process, &status, waiting ? 0 : WNOHANG) }
        if waited < 0 { return .failure(FileError(operation: "wait for", path: "process \(process)", code: errno)) }
        guard waited == process else { return .success(nil) }
        // WIFEXITED and WTERMSIG are macros Swift does not import: the status's low 7 bits.
        return .success(status & 0x7F == 0 ? .exited(status: (status >> 8) & 0xFF) : .signaled(status & 0x7F))
    }

    /// Kills a child and waits for it, so no zombie is left.
    package static func killAndReap(_ process: Int32) {
        kill(process, SIGKILL)
        _ = reap(process, waiting: true)
    }
}
