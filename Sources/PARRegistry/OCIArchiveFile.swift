import Foundation
import PARBytes
import PARContainer

/// `oci-archive:` layouts: a tar of an image layout, unpacked into a private temporary
/// folder to be read, and packed from one into a temporary file renamed over the
/// destination to be written (under a lock on an existing file, so two copies into one
/// archive both land). `oci:` layouts are used in place.
///
/// A tar is untrusted: only the layout's own names are unpacked (`oci-layout`, `index.json`,
/// `blobs/sha256/` and 64 hex digits), as regular files; an absolute name, a `..`, a link or
/// a device fails the copy, and other names are skipped. Blobs stream to disk.
enum OCIArchiveFile {
    /// Runs `body` with the folder of `layout`: itself, or an archive unpacked.
    static func reading<Result: Sendable>(
        _ layout: OCILayoutReference, _ body: (String) async throws(RegistryError) -> Result
    ) async throws(RegistryError) -> Result {
        guard layout.kind == .archive else { return try await body(layout.path) }
        let folder = try await offload { () throws(RegistryError) in try temporaryFolder() }
        defer { try? FileManager.default.removeItem(atPath: folder) }
        try await offload { () throws(RegistryError) in try unpack(layout.path, into: folder) }
        return try await body(folder)
    }

    /// Runs `body` with a folder to write `layout` into: itself, or for an archive, a folder
    /// holding what the archive held, packed back and renamed over it when `body` succeeds.
    static func writing<Result: Sendable>(
        _ layout: OCILayoutReference, _ body: (String) async throws(RegistryError) -> Result
    ) async throws(RegistryError) -> Result {
        guard layout.kind == .archive else { return try await body(layout.path) }
        let folder = try await offload { () throws(RegistryError) in try temporaryFolder() }
        defer { try? FileManager.default.removeItem(atPath: folder) }
        // An existing archive is kept locked from unpacking to the rename of its successor.
        let lock = try await offload { () throws(RegistryError) -> HandedOver<FileLock?> in
            guard (try? System.status(at: layout.path)) != nil else { return HandedOver(nil) }
            let lock: FileLock
            do throws(FileError) {
                lock = try FileLock(path: layout.path)
            } catch {
                throw .file(error)
            }
            try unpack(layout.path, into: folder)
            return HandedOver(lock)
        }
        let result = try await body(folder)
        try await offload { () throws(RegistryError) in
            try pack(folder, to: layout.path)
            withExtendedLifetime(lock) {}
        }
        return result
    }

    private static func temporaryFolder() throws(RegistryError) -> String {
        let parent = ProcessInfo.processInfo.environment["TMPDIR"].flatMap { $0.isEmpty ? nil : $0 } ?? "/tmp"
        do {
            return try System.makeTemporaryFolder(prefix: parent + "/par-layout-")
        } catch {
            throw .file(error)
        }
    }

    /// The layout-relative path a tar entry name stands for, `nil` to skip it.
    static func layoutPath(of name: String, archive: String) throws(RegistryError) -> String? {
        var name = Substring(name)
        while name.hasPrefix("./") { name = name.dropFirst(2) }
        let parts = name.split(separator: "/", omittingEmptySubsequences: false)
        if name.hasPrefix("/") || parts.contains("..") { throw .invalidLayout(path: archive, problem: .unsafeEntry(String(name))) }
        let path = parts.filter { !$0.isEmpty && $0 != "." }.joined(separator: "/")
        if path == "oci-layout" || path == "index.json" { return path }
        if parts.count == 3, parts[0] == "blobs", parts[1] == "sha256", parts[2].count == 64,
            parts[2].allSatisfy({ $0.isHexDigit && !$0.isUppercase })
        {
            return path
        }
        return nil
    }

    private static func unpack(_ archive: String, into folder: String) throws(RegistryError) {
        do {
            let tar = TarReader(try FileSource(path: archive))
            _ = try System.makeFolder(folder + "/blobs", permissions: 0o755)
            _ = try System.makeFolder(folder + "/blobs/sha256", permissions: 0o755)
            while let entry = try tar.nextEntry() {
                switch entry.kind {
                case .directory:
                    _ = try layoutPath(of: entry.name, archive: archive)
                    continue
                case .regularFile:
                    guard let path = try layoutPath(of: entry.name, archive: archive) else { continue }
                    let sink = try AtomicFileSink(destination: folder + "/" + path, mode: 0o644)
                    do {
                        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 16)
                        defer { buffer.deallocate() }
                        while true {
                            let count = try tar.readContent(into: buffer)
                            if count == 0 { break }
                            try sink.write(UnsafeRawBufferPointer(rebasing: buffer[..<count]))
                        }
                        try sink.commit()
                    } catch {
                        sink.discard()
                        throw error
                    }
                default:
                    throw RegistryError.invalidLayout(path: archive, problem: .unsafeEntry(entry.name))
                }
            }
        } catch let error as RegistryError {
            throw error
        } catch let error as FileError {
            throw .file(error)
        } catch {
            throw .invalidLayout(path: archive, problem: .malformedIndex("the tar cannot be read: \(error)"))
        }
    }

    /// Packs a layout folder into a tar that replaces `archive`: `oci-layout`, `index.json`,
    /// then every blob, in name order.
    private static func pack(_ folder: String, to archive: String) throws(RegistryError) {
        do {
            let sink = try AtomicFileSink(destination: archive, mode: 0o644)
            do {
                let tar = TarWriter(sink)
                let blobs = try FileManager.default.contentsOfDirectory(atPath: folder + "/blobs/sha256").sorted()
                for name in ["oci-layout", "index.json"] + blobs.map({ "blobs/sha256/" + $0 }) {
                    let source = try FileSource(path: folder + "/" + name)
                    let size = try System.status(at: folder + "/" + name).size
                    try tar.beginFile(name: name, size: size, mode: 0o644)
                    let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 16)
                    defer { buffer.deallocate() }
                    while true {
                        let count = try source.read(into: buffer)
                        if count == 0 { break }
                        try tar.writeContent(UnsafeRawBufferPointer(rebasing: buffer[..<count]))
                    }
                }
                try tar.finish()
                try sink.commit()
            } catch {
                sink.discard()
                throw error
            }
        } catch let error as FileError {
            throw .file(error)
        } catch {
            throw .file(FileError(operation: "write", path: archive, code: Errno.inputOutput))
        }
    }
}
