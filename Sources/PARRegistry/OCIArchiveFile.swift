import Foundation
import PARBytes
import PARContainer

/// `oci-archive:` layouts: a tar of an image layout, unpacked into a private temporary
/// folder to be read; written by staging into a private folder and merging that into the
/// archive under a lock on it (see ``writing(_:_:)``), so two copies into one archive both
/// land. `oci:` layouts are used in place.
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
        return try await withTemporaryFolder { folder throws(RegistryError) in
            try await offload { () throws(RegistryError) in try unpack(layout.path, into: folder) }
            return try await body(folder)
        }
    }

    /// Runs `body` with a folder to write `layout` into: itself, or for an archive, a private
    /// folder that is merged into the archive once `body` succeeds. The merge runs under a
    /// lock on the archive: its current content is unpacked (it must be a layout, every
    /// entry kept), the new blobs and names are added, and a new tar is renamed over it. A
    /// new archive is linked into place, never over one another copy made meanwhile.
    static func writing<Result: Sendable>(
        _ layout: OCILayoutReference, _ body: (String) async throws(RegistryError) -> Result
    ) async throws(RegistryError) -> Result {
        guard layout.kind == .archive else { return try await body(layout.path) }
        // An archive that is there but not a layout is refused before anything is done.
        if let status = try? System.status(at: layout.path), status.size > 0 {
            try await withTemporaryFolder { probe throws(RegistryError) in
                try await offload { () throws(RegistryError) in try unpack(layout.path, into: probe, keepingEverything: true) }
            }
        }
        return try await withTemporaryFolder { staged throws(RegistryError) in
            let result = try await body(staged)
            try await offload { () throws(RegistryError) in try merge(staged, into: layout.path) }
            return result
        }
    }

    /// Runs `body` with a new private temporary folder, removed afterwards whether `body`
    /// returned or threw; making and removing it (a tree of blobs) run on a thread of their own.
    private static func withTemporaryFolder<Result: Sendable>(
        _ body: (String) async throws(RegistryError) -> Result
    ) async throws(RegistryError) -> Result {
        let folder = try await offload { () throws(RegistryError) in try temporaryFolder() }
        let outcome: Swift.Result<Result, RegistryError>
        do throws(RegistryError) {
            outcome = .success(try await body(folder))
        } catch {
            outcome = .failure(error)
        }
        await offload { try? FileManager.default.removeItem(atPath: folder) }
        return try outcome.get()
    }

    /// Puts a staged layout's blobs and names into the archive at `path`, or makes it. A new
    /// archive starts as an empty file created exclusively (no link needed, so a FAT or SMB
    /// file system serves too), locked like an existing one; an empty archive is an empty
    /// layout.
    private static func merge(_ staged: String, into path: String) throws(RegistryError) {
        do {
            if (try? System.status(at: path)) == nil {
                do throws(FileError) {
                    System.close(try System.open(path, [.writeOnly, .create, .exclusive, .closeOnExec], permissions: 0o644))
                } catch {
                    // Another copy made it first: its lock orders the two.
                    if error.code != Errno.exists { throw error }
                }
            }
            let lock = try FileLock(path: path)
            let current = try temporaryFolder()
            defer { try? FileManager.default.removeItem(atPath: current) }
            if try System.status(at: path).size > 0 {
                try unpack(path, into: current, keepingEverything: true)
            }
            let target = try OCILayout.creating(at: current)
            let source = try OCILayout(existingAt: staged)
            // Staged blobs were checked as they were written: they replace what the archive
            // held under the same name, damaged or not.
            for name in (try? FileManager.default.contentsOfDirectory(atPath: staged + "/blobs/sha256")) ?? [] {
                try System.rename(staged + "/blobs/sha256/" + name, to: current + "/blobs/sha256/" + name)
            }
            for entry in try source.entries() {
                if let name = entry.name { try target.setName(name, for: entry.descriptor) }
            }
            try pack(current, to: path)
            withExtendedLifetime(lock) {}
        } catch let error as RegistryError {
            throw error
        } catch {
            throw .file(error as? FileError ?? FileError(operation: "write", path: path, code: Errno.inputOutput))
        }
    }

    private static func temporaryFolder() throws(RegistryError) -> String {
        do {
            return try System.makeTemporaryFolder(prefix: System.temporaryFolder + "/par-layout-")
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
            parts[2].allSatisfy({ ("0"..."9").contains($0) || ("a"..."f").contains($0) })
        {
            return path
        }
        return nil
    }

    /// Unpacks the layout's own entries of a tar into `folder`. With `keepingEverything` (an
    /// archive about to be rewritten) an entry that would be dropped is refused instead, and
    /// the tar must be a layout.
    private static func unpack(_ archive: String, into folder: String, keepingEverything: Bool = false) throws(RegistryError) {
        do {
            let tar = TarReader(try FileSource(path: archive))
            _ = try System.makeFolder(folder + "/blobs", permissions: 0o755)
            _ = try System.makeFolder(folder + "/blobs/sha256", permissions: 0o755)
            var seen = Set<String>()
            while let entry = try tar.nextEntry() {
                switch entry.kind {
                case .directory:
                    _ = try layoutPath(of: entry.name, archive: archive)
                    continue
                case .regularFile:
                    guard let path = try layoutPath(of: entry.name, archive: archive) else {
                        if keepingEverything {
                            throw RegistryError.invalidLayout(
                                path: archive, problem: .unreadableArchive("it holds \(entry.name), which is not part of an image layout"))
                        }
                        continue
                    }
                    guard seen.insert(path).inserted else {
                        throw RegistryError.invalidLayout(path: archive, problem: .unreadableArchive("it holds \(path) twice"))
                    }
                    let sink = try AtomicFileSink(destination: folder + "/" + path, mode: 0o644)
                    do {
                        try tar.forEachChunk { try sink.write($0) }
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
            throw .invalidLayout(path: archive, problem: .unreadableArchive("\(error)"))
        }
        if keepingEverything, (try? System.status(at: folder + "/oci-layout")) == nil {
            throw .invalidLayout(path: archive, problem: .notALayout)
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
                    // The size of the file open, not of whatever the name holds a moment later.
                    let source = try FileSource(path: folder + "/" + name)
                    try tar.beginFile(name: name, size: source.size ?? 0, mode: 0o644)
                    // TarWriter refuses content longer or shorter than declared.
                    try source.forEachChunk { try tar.writeContent($0) }
                }
                try tar.finish()
            } catch {
                sink.discard()
                throw error
            }
            try sink.commit()
        } catch let error as FileError {
            throw .file(error)
        } catch {
            throw .file(FileError(operation: "write", path: archive, code: Errno.inputOutput))
        }
    }
}
