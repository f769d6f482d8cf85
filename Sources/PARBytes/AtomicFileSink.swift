internal import CPARSignals

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A file written under a temporary name beside its destination and renamed into place
/// only on ``commit()``: readers never see a half-written file, and a failure leaves the
/// destination as it was.
///
/// The temporary name is short whatever the destination's length (a 255-byte file name
/// works) and says whose it is: `.par-HASH-PID-RANDOM.tmp`, where HASH is taken from the
/// destination's name. Creating one first removes the temporary files a killed process left
/// for the same destination, when that process is gone. After
/// ``removeTemporaryFilesOnTerminationSignals()``, SIGINT, SIGTERM and SIGHUP remove every
/// temporary file still open before the process exits.
///
/// Only a regular file (or nothing) is replaced: a device, pipe, socket or folder at the
/// destination is refused before anything is written. Errors name the destination, never
/// the temporary file.
package final class AtomicFileSink: ByteSink {
    /// Where the file lands on ``commit()``.
    package let destination: String
    /// The temporary file's path.
    package let path: String
    private let descriptor: Int32
    /// Whether ``commit()`` flushes the data to disk before the rename.
    package let syncsToDisk: Bool
    private let keeping: FileOwnership?
    private let signalSlot: Int32
    private var finished = false

    /// Creates the temporary file beside `destination`.
    ///
    /// - Parameters:
    ///   - destination: The final path.
    ///   - mode: The permissions of the file, before the process's umask.
    ///   - syncsToDisk: Whether ``commit()`` calls `fsync` first, so the content survives a
    ///     power loss, not just a crash. Off by default, as tar and gzip do: the rename alone
    ///     already keeps readers from ever seeing a half-written file.
    /// - Throws: ``FileError`` when the folder does not exist or cannot be written.
    package convenience init(destination: String, mode: UInt32 = 0o644, syncsToDisk: Bool = false) throws(FileError) {
        try self.init(destination: destination, creationMode: mode, keeping: nil, syncsToDisk: syncsToDisk)
    }

    /// Creates a temporary file that replaces an existing one: readable by its owner only
    /// while it is written, given the old file's owner, group and mode on ``commit()``.
    package convenience init(replacing destination: String, keeping ownership: FileOwnership) throws(FileError) {
        try self.init(destination: destination, creationMode: 0o600, keeping: ownership, syncsToDisk: false)
    }

    private init(destination: String, creationMode: UInt32, keeping: FileOwnership?, syncsToDisk: Bool) throws(FileError) {
        self.destination = destination
        self.syncsToDisk = syncsToDisk
        self.keeping = keeping
        try Self.checkReplaceable(destination)
        let (folder, prefix) = Self.temporaryPrefix(for: destination)
        Self.removeAbandoned(in: folder, prefix: prefix)
        var generator = SystemRandomNumberGenerator()
        var descriptor: Int32 = -1
        var temporary = ""
        var slot: Int32 = -1
        for _ in 0..<16 {
            let suffix = String(UInt32.random(in: 0 ... .max, using: &generator), radix: 36)
            temporary = "\(folder)\(prefix)\(getpid())-\(suffix).tmp"
            // Known to the signal handler before it exists, so no moment is left uncovered.
            slot = CPARSignals_remember(temporary)
            descriptor = retryingOnInterrupt {
                open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode_t(creationMode))
            }
            if descriptor >= 0 { break }
            let code = errno
            CPARSignals_forget(slot)
            errno = code
            if code != EEXIST { break }
        }
        guard descriptor >= 0 else { throw FileError(operation: "create", path: destination, code: errno) }
        self.signalSlot = slot
        self.descriptor = descriptor
        self.path = temporary
    }

    deinit {
        close(descriptor)
        if !finished { unlink(path) }
        CPARSignals_forget(signalSlot)
    }

    package func write(_ bytes: UnsafeRawBufferPointer) throws {
        guard var base = bytes.baseAddress else { return }
        var remaining = bytes.count
        while remaining > 0 {
            let count = retryingOnInterrupt { systemWrite(descriptor, base, remaining) }
            guard count > 0 else {
                throw FileError(operation: "write", path: destination, code: count < 0 ? errno : EIO)
            }
            remaining -= count
            base += count
        }
    }

    /// Writes `bytes` at `offset` of the temporary file, over what is there, leaving the
    /// position for ``write(_:)`` where it was: to fill in a part reserved earlier.
    package func overwrite(_ bytes: UnsafeRawBufferPointer, at offset: UInt64) throws(FileError) {
        guard var base = bytes.baseAddress else { return }
        var remaining = bytes.count
        var position = off_t(offset)
        while remaining > 0 {
            let count = retryingOnInterrupt { pwrite(descriptor, base, remaining, position) }
            guard count > 0 else { throw FileError(operation: "write", path: destination, code: count < 0 ? errno : EIO) }
            remaining -= count
            base += count
            position += off_t(count)
        }
    }

    /// Refuses a destination that is not a regular file, so a device node, pipe, socket or
    /// folder is never replaced by a file (nor written through).
    private static func checkReplaceable(_ destination: String) throws(FileError) {
        if let kind = existingFileKind(at: destination) {
            throw FileError(operation: "replace", path: destination, code: EEXIST, kind: kind)
        }
    }

    /// Makes SIGINT, SIGTERM and SIGHUP remove every temporary file of this kind still being
    /// written, then end the process with status 128 + the signal's number. Signals the
    /// process inherited as ignored (under `nohup`) stay ignored. Call it once, early, in a
    /// program; a library should leave the choice to its program.
    package static func removeTemporaryFilesOnTerminationSignals() {
        _ = CPARSignals_installHandlers()
    }

    /// Moves the file to its destination, flushing it to disk first when ``syncsToDisk``.
    ///
    /// - Parameter replacingExisting: When `false`, fails with `EEXIST` rather than replace a
    ///   file already at the destination (the move is a hard link then, which cannot clobber).
    /// - Throws: ``FileError`` when the data cannot be flushed or the move fails; the
    ///   temporary file is removed then.
    package func commit(replacingExisting: Bool = true) throws(FileError) {
        guard !finished else { return }
        finished = true
        defer { CPARSignals_forget(signalSlot) }
        if let keeping {
            // Owner first: chown clears set-id bits, and the mode must be exactly the old one.
            // Someone who may not give the file away keeps it as theirs, with the old mode.
            if fchown(descriptor, uid_t(keeping.owner), gid_t(keeping.group)) != 0 {
                _ = fchown(descriptor, uid_t.max, gid_t(keeping.group))
            }
            guard fchmod(descriptor, mode_t(keeping.mode)) == 0 else {
                let code = errno
                unlink(path)
                throw FileError(operation: "chmod", path: destination, code: code)
            }
        }
        guard !syncsToDisk || fsync(descriptor) == 0 || errno == EINVAL else {
            let code = errno
            unlink(path)
            throw FileError(operation: "write", path: destination, code: code)
        }
        // Checked again at the last moment: something else may have appeared meanwhile.
        do {
            try Self.checkReplaceable(destination)
        } catch {
            unlink(path)
            throw error
        }
        if !replacingExisting {
            let linked = link(path, destination) == 0
            let code = errno
            unlink(path)
            guard linked else { throw FileError(operation: "create", path: destination, code: code) }
            return
        }
        guard rename(path, destination) == 0 else {
            let code = errno
            unlink(path)
            throw FileError(operation: "rename", path: destination, code: code)
        }
    }

    /// Removes the temporary file; the destination is left untouched.
    package func discard() {
        guard !finished else { return }
        finished = true
        unlink(path)
        CPARSignals_forget(signalSlot)
    }

    /// The folder (with its trailing `/`, or empty) and the name prefix every temporary file
    /// for `destination` starts with: `.par-` and 16 hex digits of the name's FNV-1a hash.
    package static func temporaryPrefix(for destination: String) -> (folder: String, prefix: String) {
        let slash = destination.utf8.lastIndex(of: UInt8(ascii: "/"))
        let folder = slash.map { String(destination[...$0]) } ?? ""
        let name = slash.map { destination.utf8[destination.utf8.index(after: $0)...] } ?? destination.utf8[...]
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in name {
            hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01B3
        }
        let hex = String(hash, radix: 16)
        return (folder, ".par-" + String(repeating: "0", count: 16 - hex.count) + hex + "-")
    }

    /// Removes `PREFIX PID-RANDOM.tmp` files whose process no longer exists. Best effort:
    /// a file that cannot be removed is left for the next time.
    private static func removeAbandoned(in folder: String, prefix: String) {
        guard let directory = opendir(folder.isEmpty ? "." : folder) else { return }
        defer { closedir(directory) }
        while let entry = readdir(directory) {
            // Read in place: a record can be shorter than `struct dirent`, so copying the
            // whole d_name array out can read past the end of the directory buffer.
            let offset = MemoryLayout<dirent>.offset(of: \dirent.d_name) ?? 0
            let name = String(cString: (UnsafeRawPointer(entry) + offset).assumingMemoryBound(to: CChar.self))
            guard name.hasPrefix(prefix), name.hasSuffix(".tmp") else { continue }
            let owner = name.dropFirst(prefix.count).prefix(while: { $0 != "-" })
            guard let pid = pid_t(owner), pid > 0, pid != getpid() else { continue }
            // ESRCH: no such process. EPERM means it lives under another user: leave it.
            if kill(pid, 0) != 0, errno == ESRCH {
                unlink(folder + name)
            }
        }
    }
}

/// A file's owner, group and permission bits, to give a replacement file the same.
package struct FileOwnership: Equatable, Sendable {
    package let mode: UInt32
    package let owner: UInt32
    package let group: UInt32
}
