import Foundation
import PARBytes

/// A folder of nkey seeds in wash's layout: files `NAME_ROLE.nk` (`alice_account.nk`,
/// `http-server_service.nk`) holding one seed each, created with mode 0600 (PAR-FORMAT section 5).
///
/// Keys are saved in ``path``; they are looked up there and then in ``olderPaths``, the
/// folders earlier versions of wash used, so keys made by any of them are found.
public struct KeyDirectory: Sendable {
    /// One key file found in the folder.
    public struct Entry: Sendable {
        /// The key's name as wash names it: the file name without `.nk`, such as `alice_account`.
        public let name: String
        /// The key's role, from its seed.
        public let role: NKeyRole
        /// The key's public half.
        public let publicKey: NKeyPublicKey
        /// The file's path.
        public let path: String
    }

    /// The folder keys are saved in, and looked up in first.
    public let path: String
    /// Folders looked up after ``path`` for keys that exist, never written.
    public let olderPaths: [String]

    /// Uses a folder; nothing is created until a key is saved.
    ///
    /// - Parameters:
    ///   - path: The folder's path.
    ///   - olderPaths: Folders to look up existing keys in after `path`.
    public init(path: String, olderPaths: [String] = []) {
        self.path = path
        self.olderPaths = olderPaths.filter { $0 != path }
    }

    /// The key directory wash would use, wash 0.43 and older alike:
    ///
    /// 1. `$WASH_KEYS` (what `-d/--directory` sets), alone;
    /// 2. wash 0.43's: `$WASH_KEYS_DIR`, else `$WASH_DATA_DIR/keys`, else the XDG data
    ///    folder's `wash/keys` (`$XDG_DATA_HOME`, default `~/.local/share`);
    /// 3. wash 0.42 and older's `~/.wash/keys`.
    ///
    /// New keys go to wash 0.43's folder, unless it does not exist yet and the older one
    /// does: a user of an older wash keeps one key folder. Both are looked up for keys.
    ///
    /// - Parameter environment: The environment to read the variables and `HOME` from.
    /// - Returns: The key directory.
    public static func standard(environment: [String: String] = ProcessInfo.processInfo.environment) -> KeyDirectory {
        func value(_ name: String) -> String? { environment[name].flatMap { $0.isEmpty ? nil : $0 } }
        if let path = value("WASH_KEYS") { return KeyDirectory(path: path) }
        let home = value("HOME") ?? NSHomeDirectory()
        let current = value("WASH_KEYS_DIR")
            ?? value("WASH_DATA_DIR").map { $0 + "/keys" }
            ?? (value("XDG_DATA_HOME") ?? home + "/.local/share") + "/wash/keys"
        let legacy = home + "/.wash/keys"
        let isFolder = { (path: String) -> Bool in
            var isDirectory: ObjCBool = false
            return FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) && isDirectory.boolValue
        }
        if !isFolder(current), isFolder(legacy) { return KeyDirectory(path: legacy, olderPaths: [current]) }
        return KeyDirectory(path: current, olderPaths: [legacy])
    }

    /// Every folder looked up, ``path`` first.
    public var searchedPaths: [String] { [path] + olderPaths }

    /// The path of the key file for a name and role, such as `KEYS/alice_account.nk`.
    ///
    /// - Parameters:
    ///   - name: The key's name.
    ///   - role: The key's role.
    /// - Returns: The file's path, whether or not it exists.
    public func filePath(name: String, role: NKeyRole) -> String {
        path + "/" + name + "_" + role.name + ".nk"
    }

    /// Loads the key saved under a name and role.
    ///
    /// - Parameters:
    ///   - name: The key's name.
    ///   - role: The role the key must have.
    /// - Returns: The key pair, or `nil` when there is no such file.
    /// - Throws: ``KeyFileError`` when the file exists but does not hold a seed of that role.
    public func load(name: String, role: NKeyRole) throws(KeyFileError) -> NKeyPair? {
        for folder in searchedPaths {
            let file = folder + "/" + name + "_" + role.name + ".nk"
            if FileManager.default.fileExists(atPath: file) { return try Self.readSeed(at: file, role: role) }
        }
        return nil
    }

    /// The file of a key by its name as ``list()`` gives it (`alice_account`, with or
    /// without `.nk`), in the first folder that has it.
    ///
    /// - Parameter name: The key's name.
    /// - Returns: The file's path, or `nil` when no folder has it.
    public func file(named name: String) -> String? {
        let fileName = name.hasSuffix(".nk") ? name : name + ".nk"
        guard !fileName.contains("/") else { return nil }
        return searchedPaths.map { $0 + "/" + fileName }.first { FileManager.default.fileExists(atPath: $0) }
    }

    /// Saves a key as `NAME_ROLE.nk` with mode 0600, creating the folder (0700) if needed.
    /// An existing file is never overwritten.
    ///
    /// - Parameters:
    ///   - pair: The key to save.
    ///   - name: The name part of the file name.
    /// - Returns: The file's path.
    /// - Throws: ``KeyFileError`` when the file exists or cannot be written.
    @discardableResult
    public func save(_ pair: NKeyPair, name: String) throws(KeyFileError) -> String {
        guard Self.isValidName(name) else { throw .invalidName(name) }
        let file = filePath(name: name, role: pair.role)
        do {
            try FileManager.default.createDirectory(
                atPath: path, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        } catch {
            throw .unwritable(path: path, reason: (error as NSError).localizedDescription)
        }
        guard !FileManager.default.fileExists(atPath: file) else { throw .alreadyExists(file) }
        do {
            let sink = try AtomicFileSink(destination: file, mode: 0o600, syncsToDisk: true)
            try sink.write(Array(pair.seed.utf8))
            // Link, not rename: fails instead of replacing a file created meanwhile.
            try sink.commit(replacingExisting: false)
        } catch let error as FileError where error.code == Errno.exists && error.kind == nil {
            throw .alreadyExists(file)
        } catch let error as FileError {
            throw .file(error)
        } catch {
            throw .file(FileError(operation: "write", path: file, code: Errno.inputOutput))
        }
        return file
    }

    /// Loads the key saved under a name and role, or generates and saves one when there is
    /// none. When another process saves the same key at the same moment, its key is loaded
    /// and used: both end up signing with the one key on disk.
    ///
    /// - Parameters:
    ///   - name: The key's name.
    ///   - role: The key's role.
    /// - Returns: The key pair, and whether this call generated it.
    /// - Throws: ``KeyFileError`` when the file exists but is not a seed of that role, or
    ///   cannot be written.
    public func loadOrGenerate(name: String, role: NKeyRole) throws(KeyFileError) -> (pair: NKeyPair, generated: Bool) {
        if let pair = try load(name: name, role: role) { return (pair, false) }
        let pair = NKeyPair.generate(role: role)
        do {
            try save(pair, name: name)
            return (pair, true)
        } catch .alreadyExists {
            // Lost the race: the winner's key is the one to use.
            guard let winner = try load(name: name, role: role) else { throw .unreadable(path: filePath(name: name, role: role)) }
            return (winner, false)
        }
    }

    /// Finds the key with a given public key among the folder's files.
    ///
    /// - Parameter publicKey: The public key to look for.
    /// - Returns: The key pair, or `nil` when no file holds its seed.
    /// - Throws: ``KeyFileError`` when a folder cannot be listed.
    public func find(_ publicKey: NKeyPublicKey) throws(KeyFileError) -> NKeyPair? {
        for entry in try list() where entry.publicKey == publicKey {
            if let pair = try? Self.readSeed(at: entry.path, role: entry.role) { return pair }
        }
        return nil
    }

    /// Every readable key file in the folders, sorted by name; a name in ``path`` hides the
    /// same name in an older folder. Files that do not hold a valid seed, or whose name is not
    /// a key name, are skipped; a folder that does not exist holds no keys.
    ///
    /// - Throws: ``KeyFileError/notAFolder(_:)`` or ``KeyFileError/unreadableFolder(_:)``
    ///   when a folder's path names a file, or a folder that cannot be listed.
    public func list() throws(KeyFileError) -> [Entry] {
        var seen = Set<String>()
        var entries: [Entry] = []
        for folder in searchedPaths {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: folder, isDirectory: &isDirectory) else { continue }
            guard isDirectory.boolValue else { throw .notAFolder(folder) }
            guard let names = try? FileManager.default.contentsOfDirectory(atPath: folder) else {
                throw .unreadableFolder(folder)
            }
            for fileName in names.sorted() where fileName.hasSuffix(".nk") {
                let name = String(fileName.dropLast(3))
                let file = folder + "/" + fileName
                guard Self.isValidName(name), !seen.contains(name), let pair = try? Self.readSeed(at: file, role: nil) else {
                    continue
                }
                seen.insert(name)
                entries.append(Entry(name: name, role: pair.role, publicKey: pair.publicKey, path: file))
            }
        }
        return entries.sorted { $0.name < $1.name }
    }

    /// The most bytes a key file is read up to: a seed is 58 characters.
    public static let maximumKeyFileSize = 4096

    /// Whether a name can name a key: ASCII letters, digits, `-` and `_`, as wash's key file
    /// names are made of. Anything else could hide a path, a control character or a line end.
    ///
    /// - Parameter name: A key name, such as `alice` or `alice_account`.
    /// - Returns: Whether it is one.
    public static func isValidName(_ name: some StringProtocol) -> Bool {
        !name.isEmpty && name.utf8.allSatisfy { byte in
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "_"):
                true
            default:
                false
            }
        }
    }

    /// Reads a seed from a file and checks its role.
    ///
    /// - Parameters:
    ///   - file: The file's path.
    ///   - role: The role the key must have, or `nil` for any.
    /// - Returns: The key pair.
    /// - Throws: ``KeyFileError`` naming the file and what is wrong with it.
    public static func readSeed(at file: String, role: NKeyRole?) throws(KeyFileError) -> NKeyPair {
        let bytes: [UInt8]?
        do {
            // Bounded while reading: a huge file, or a device that never ends, is refused.
            bytes = try FileSource(path: file).readAll(limit: maximumKeyFileSize)
        } catch {
            throw .unreadable(path: file)
        }
        guard let bytes else { throw .tooLarge(path: file, limit: maximumKeyFileSize) }
        // Bytes that are not UTF-8 become U+FFFD, which the seed's base32 check refuses.
        let text = String(decoding: bytes, as: UTF8.self)
        do {
            if let role { return try NKeyPair(seed: text, role: role) }
            return try NKeyPair(seed: text)
        } catch {
            throw .invalidKey(path: file, error)
        }
    }
}
