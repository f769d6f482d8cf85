import Foundation
import PARBytes

/// An OCI image layout folder (image-spec `image-layout.md`), as skopeo reads and writes one:
/// `oci-layout` (`{"imageLayoutVersion":"1.0.0"}`), `index.json` (an image index whose
/// entries are named by the `org.opencontainers.image.ref.name` annotation) and every blob,
/// manifests included, under `blobs/sha256/HEX`.
///
/// Nothing in a layout is trusted: `index.json` is read up to 4 MiB, a blob is found only by
/// a digest (so by 64 hex digits, never a path the layout chose), and every blob read is
/// held to its descriptor's size and digest. Writes never show a half-written file: each
/// blob is written under a temporary name beside its place and renamed there once its
/// digest is checked, and `index.json` is replaced by rename while its lock is held, so two
/// copies into one layout both land. The calls block: async callers offload them.
struct OCILayout: Sendable {
    static let nameAnnotation = "org.opencontainers.image.ref.name"
    static let maximumIndexSize = 4 << 20
    static let versionDocument = Array(#"{"imageLayoutVersion":"1.0.0"}"#.utf8)

    /// The layout's folder.
    let folder: String

    /// One entry of `index.json`: its descriptor, its name, and its JSON as written (kept
    /// whole when the index is rewritten).
    struct Entry {
        var descriptor: OCIDescriptor
        var name: String?
        var json: JSONValue
    }

    /// Opens an existing layout.
    ///
    /// - Throws: ``OCILayoutProblem/notALayout`` when `oci-layout` is missing or says another version.
    init(existingAt folder: String) throws(RegistryError) {
        self.folder = folder
        let version: [UInt8]
        do {
            version = try Self.read(folder + "/oci-layout", limit: 4096) ?? []
        } catch {
            if error.isNotFound { throw .invalidLayout(path: folder, problem: .notALayout) }
            throw .file(error)
        }
        guard let json = try? JSONValue(parsing: version), json["imageLayoutVersion"]?.stringValue == "1.0.0" else {
            throw .invalidLayout(path: folder, problem: .notALayout)
        }
    }

    /// Opens a layout to write into, making the folder, `oci-layout`, an empty `index.json`
    /// and `blobs/sha256/` when they are missing.
    static func creating(at folder: String) throws(RegistryError) -> OCILayout {
        do throws(FileError) {
            // Each folder checked before the next is made in it: a link could lead outside.
            for path in [folder, folder + "/blobs", folder + "/blobs/sha256"] {
                _ = try System.makeFolder(path, permissions: 0o755)
                if path != folder, try !System.status(at: path, followingLinks: false).isDirectory {
                    throw FileError(operation: "create", path: path, code: Errno.exists)
                }
            }
            for (name, content) in [("oci-layout", versionDocument), ("index.json", emptyIndex)] {
                try createIfAbsent(folder + "/" + name, content)
            }
        } catch {
            if error.code == Errno.exists, error.path.hasSuffix("blobs") || error.path.hasSuffix("sha256") {
                throw .invalidLayout(path: folder, problem: .unsafeEntry(String(error.path.dropFirst(folder.count + 1))))
            }
            throw .file(error)
        }
        return try OCILayout(existingAt: folder)
    }

    /// Writes a small file unless one is there (another copy made it first, and it is kept):
    /// linked into place from a temporary file, or where the file system has no links (FAT,
    /// some SMB shares), renamed there once it is still absent.
    private static func createIfAbsent(_ path: String, _ content: [UInt8]) throws(FileError) {
        for replacing in [false, true] {
            if replacing, (try? System.status(at: path)) != nil { return }
            let sink = try AtomicFileSink(destination: path, mode: 0o644)
            do {
                try sink.write(content)
            } catch {
                sink.discard()
                throw error as? FileError ?? FileError(operation: "write", path: path, code: Errno.inputOutput)
            }
            do {
                try sink.commit(replacingExisting: replacing)
                return
            } catch where error.code == Errno.exists {
                return
            } catch where !replacing && [Errno.notPermitted, Errno.notSupported].contains(error.code) {
                continue
            }
        }
    }

    private static let emptyIndex = Array(
        JSONValue.object([("schemaVersion", .number("2")), ("mediaType", .string(OCIImageIndex.mediaType)), ("manifests", .array([]))])
            .serialized.utf8)

    /// Removes a layout folder a failed write made, unless something is named in it by now
    /// (another copy into the same new folder that finished).
    static func removeIfUnnamed(_ folder: String) {
        guard let layout = try? OCILayout(existingAt: folder), let entries = try? layout.entries(), entries.isEmpty else { return }
        try? FileManager.default.removeItem(atPath: folder)
    }

    // MARK: Reading

    /// The entries of `index.json`, in order.
    func entries() throws(RegistryError) -> [Entry] {
        let path = folder + "/index.json"
        let bytes: [UInt8]?
        do {
            bytes = try Self.read(path, limit: Self.maximumIndexSize)
        } catch {
            throw error.isNotFound ? .invalidLayout(path: folder, problem: .malformedIndex("there is none")) : .file(error)
        }
        return try parseEntries(bytes)
    }

    /// The entries of an `index.json` read whole (`nil`: it was too large).
    private func parseEntries(_ bytes: [UInt8]?) throws(RegistryError) -> [Entry] {
        guard let bytes else { throw .invalidLayout(path: folder, problem: .indexTooLarge(limit: Self.maximumIndexSize)) }
        guard let json = try? JSONValue(parsing: bytes), case .array(let items)? = json["manifests"] else {
            throw .invalidLayout(path: folder, problem: .malformedIndex("no manifests array"))
        }
        guard items.count <= OCIImageIndex.maximumEntries else {
            throw .invalidLayout(path: folder, problem: .malformedIndex("more than \(OCIImageIndex.maximumEntries) entries"))
        }
        return try items.enumerated().map { number, item throws(RegistryError) in
            let descriptor: OCIDescriptor
            do {
                descriptor = try OCIDescriptor(json: item, what: "entry \(number + 1)")
            } catch {
                throw .invalidLayout(path: folder, problem: .malformedIndex("entry \(number + 1) is not a descriptor"))
            }
            return Entry(descriptor: descriptor, name: item["annotations"]?[Self.nameAnnotation]?.stringValue, json: item)
        }
    }

    /// The entry a name picks: the one entry with it, or with no name, the only entry.
    func entry(named name: String?) throws(RegistryError) -> OCIDescriptor {
        let all = try entries()
        let names = all.compactMap(\.name)
        guard let name else {
            guard all.count == 1 else { throw .invalidLayout(path: folder, problem: .nameNeeded(available: names)) }
            return all[0].descriptor
        }
        let matching = all.filter { $0.name == name }
        guard matching.count < 2 else { throw .invalidLayout(path: folder, problem: .ambiguousName(name)) }
        guard let found = matching.first else { throw .invalidLayout(path: folder, problem: .nameNotFound(name, available: names)) }
        return found.descriptor
    }

    /// Where a blob is kept.
    func blobPath(_ digest: SHA256Hash) -> String {
        folder + "/blobs/sha256/" + digest.lowercaseHex
    }

    /// Whether the layout has a blob of this size, a regular file (not a link).
    func hasBlob(_ blob: OCIDescriptor) -> Bool {
        guard let status = try? System.status(at: blobPath(blob.digest), followingLinks: false) else { return false }
        return status.isRegularFile && status.size == blob.size
    }

    /// Whether the layout has a blob with exactly these bytes: a writer skips only such a
    /// one, so a damaged blob already there is replaced, not named.
    func hasIntactBlob(_ blob: OCIDescriptor) -> Bool {
        guard hasBlob(blob), let source = try? FileSource(path: blobPath(blob.digest)),
            let (size, digest) = try? DigestingSource.digest(of: source)
        else { return false }
        return size == blob.size && digest == blob.digest
    }

    /// A blob small enough to hold (a manifest, a config), checked against its descriptor.
    func smallBlob(_ blob: OCIDescriptor, limit: Int) throws(RegistryError) -> [UInt8] {
        guard blob.size <= UInt64(limit) else { throw .answerTooLarge(request: "blob \(blob.digest.ociDigest) of \(folder)", limit: limit) }
        let bytes: [UInt8]
        do {
            guard let read = try Self.read(blobPath(blob.digest), limit: limit) else {
                throw RegistryError.answerTooLarge(request: "blob \(blob.digest.ociDigest) of \(folder)", limit: limit)
            }
            bytes = read
        } catch let error as RegistryError {
            throw error
        } catch let error as FileError {
            throw error.isNotFound ? .invalidLayout(path: folder, problem: .missingBlob(blob.digest)) : .file(error)
        } catch {
            throw .file(FileError(operation: "read", path: blobPath(blob.digest), code: Errno.inputOutput))
        }
        guard UInt64(bytes.count) == blob.size else {
            throw .blobSizeMismatch(digest: blob.digest, declared: blob.size, received: UInt64(bytes.count))
        }
        let actual = SHA256Hash.of(bytes)
        guard actual == blob.digest else { throw .digestMismatch(what: "blob in \(folder)", expected: blob.digest, actual: actual) }
        return bytes
    }

    /// A blob's bytes, to be read through ``checked(_:)`` or hashed by the caller.
    func blobSource(_ blob: OCIDescriptor) throws(RegistryError) -> FileSource {
        do {
            return try FileSource(path: blobPath(blob.digest))
        } catch {
            throw error.isNotFound ? .invalidLayout(path: folder, problem: .missingBlob(blob.digest)) : .file(error)
        }
    }

    // MARK: Writing

    /// Writes a blob from a stream, unless the layout has it: under a temporary name, held
    /// to the descriptor's size and digest, then renamed into place.
    func writeBlob(_ blob: OCIDescriptor, from source: any ByteSource) throws(RegistryError) {
        if hasIntactBlob(blob) { return }
        let destination = blobPath(blob.digest)
        let sink: AtomicFileSink
        do {
            sink = try AtomicFileSink(destination: destination, mode: 0o644)
        } catch {
            throw .file(error)
        }
        do {
            let digesting = DigestingSink(sink)
            try source.forEachChunk { chunk in
                guard digesting.size + UInt64(chunk.count) <= blob.size else {
                    throw RegistryError.blobSizeMismatch(digest: blob.digest, declared: blob.size, received: digesting.size + UInt64(chunk.count))
                }
                try digesting.write(chunk)
            }
            guard digesting.size == blob.size else {
                throw RegistryError.blobSizeMismatch(digest: blob.digest, declared: blob.size, received: digesting.size)
            }
            guard digesting.digest == blob.digest else {
                throw RegistryError.digestMismatch(what: "blob", expected: blob.digest, actual: digesting.digest)
            }
            try sink.commit()
        } catch {
            sink.discard()
            throw Self.registryError(error, path: destination)
        }
    }

    /// Writes a blob held in memory, unless the layout has it.
    func writeBlob(_ bytes: [UInt8], as blob: OCIDescriptor) throws(RegistryError) {
        try writeBlob(blob, from: MemorySource(bytes))
    }

    /// Names `descriptor` `name` in `index.json`: any entry that had the name loses it (as
    /// skopeo does), the new entry goes last. Read, changed and replaced under the index's
    /// lock, so concurrent writers each land.
    func setName(_ name: String, for descriptor: OCIDescriptor) throws(RegistryError) {
        let path = folder + "/index.json"
        do {
            let lock = try FileLock(path: path)
            let contents = try lock.contents()
            let old = try contents.readAll(limit: Self.maximumIndexSize)
            var kept = try parseEntries(old).filter { $0.name != name }.map(\.json)
            kept.append(.object(descriptorMembers(descriptor) + [("annotations", .object([(Self.nameAnnotation, .string(name))]))]))
            // Everything else in index.json (its annotations, say) is kept as it was.
            var members: [(key: String, value: JSONValue)] = [("schemaVersion", .number("2"))]
            if case .object(let existing)? = old.flatMap({ try? JSONValue(parsing: $0) }) {
                members = existing.filter { $0.key != "manifests" }
            }
            let index = JSONValue.object(members + [("manifests", .array(kept))])
            let sink = try AtomicFileSink(replacing: path, keeping: try contents.ownership())
            do {
                try sink.write(Array(index.serialized.utf8))
                try sink.commit()
            } catch {
                sink.discard()
                throw error
            }
            withExtendedLifetime(lock) {}
        } catch {
            throw Self.registryError(error, path: path)
        }
    }

    private func descriptorMembers(_ descriptor: OCIDescriptor) -> [(key: String, value: JSONValue)] {
        if case .object(let members) = descriptor.json { return members }
        return []
    }

    /// A whole small file, or `nil` when it is larger than `limit`.
    private static func read(_ path: String, limit: Int) throws(FileError) -> [UInt8]? {
        do {
            return try FileSource(path: path).readAll(limit: limit)
        } catch let error as FileError {
            throw error
        } catch {
            throw FileError(operation: "read", path: path, code: Errno.inputOutput)
        }
    }

    private static func registryError(_ error: any Error, path: String) -> RegistryError {
        switch error {
        case let error as RegistryError: error
        case let error as FileError: .file(error)
        default: .file(FileError(operation: "write", path: path, code: Errno.inputOutput))
        }
    }
}
