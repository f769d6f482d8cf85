import Foundation

/// A folder of nkey seeds in wash's layout: files `NAME_ROLE.nk` (`alice_account.nk`,
/// `http-server_service.nk`) holding one seed each, created with mode 0600 (PAR-FORMAT section 5).
public struct KeyDirectory: Sendable {
    /// One key file found in the folder.
    public struct Entry: Sendable {
        /// The name part, such as `alice`.
        public let name: String
        /// The key's role, from its seed.
        public let role: NKeyRole
        /// The key's public half.
        public let publicKey: NKeyPublicKey
        /// The file's path.
        public let path: String
    }

    /// The folder's path.
    public let path: String

    /// Uses a folder; nothing is created until a key is saved.
    ///
    /// - Parameter path: The folder's path.
    public init(path: String) {
        self.path = path
    }

    /// The folder wash uses: `$WASH_KEYS`, else `~/.wash/keys`.
    ///
    /// - Parameter environment: The environment to read `WASH_KEYS` and `HOME` from.
    /// - Returns: The default key directory.
    public static func standard(environment: [String: String] = ProcessInfo.processInfo.environment) -> KeyDirectory {
        if let path = environment["WASH_KEYS"], !path.isEmpty { return KeyDirectory(path: path) }
        let home = environment["HOME"] ?? NSHomeDirectory()
        return KeyDirectory(path: home + "/.wash/keys")
    }

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
        let file = filePath(name: name, role: role)
        guard FileManager.default.fileExists(atPath: file) else { return nil }
        return try Self.readSeed(at: file, role: role)
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
        guard !name.isEmpty, !name.contains("/") else { throw .invalidName(name) }
        let file = filePath(name: name, role: pair.role)
        do {
            try FileManager.default.createDirectory(
                atPath: path, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        } catch {
            throw .unwritable(path: path, reason: "cannot create the folder")
        }
        guard !FileManager.default.fileExists(atPath: file) else { throw .alreadyExists(file) }
        do {
            let sink = try AtomicFileSink(destination: file, mode: 0o600, syncsToDisk: true)
            try sink.write(Array(pair.seed.utf8))
            // Link, not rename: fails instead of replacing a file created meanwhile.
            try sink.commit(replacingExisting: false)
        } catch let error as FileError where error.code == EEXIST {
            throw .alreadyExists(file)
        } catch {
            throw .unwritable(path: file, reason: String(describing: error))
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
    public func find(_ publicKey: NKeyPublicKey) -> NKeyPair? {
        for entry in list() where entry.publicKey == publicKey {
            if let pair = try? Self.readSeed(at: entry.path, role: entry.role) { return pair }
        }
        return nil
    }

    /// Every readable key file in the folder, sorted by file name. Files that do not hold a
    /// valid seed are skipped.
    public func list() -> [Entry] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []
        return names.sorted().compactMap { fileName -> Entry? in
            guard fileName.hasSuffix(".nk"), let underscore = fileName.lastIndex(of: "_") else { return nil }
            let file = path + "/" + fileName
            guard let text = try? String(contentsOfFile: file, encoding: .utf8),
                let pair = try? NKeyPair(seed: text)
            else { return nil }
            return Entry(name: String(fileName[..<underscore]), role: pair.role, publicKey: pair.publicKey, path: file)
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
        let text: String
        do {
            text = try String(contentsOfFile: file, encoding: .utf8)
        } catch {
            throw .unreadable(path: file)
        }
        do {
            if let role { return try NKeyPair(seed: text, role: role) }
            return try NKeyPair(seed: text)
        } catch {
            throw .invalidKey(path: file, error)
        }
    }
}

/// What can be wrong with a key file.
public enum KeyFileError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The file cannot be read.
    case unreadable(path: String)
    /// The file does not hold a valid seed of the required role.
    case invalidKey(path: String, NKeyError)
    /// A key file of that name already exists.
    case alreadyExists(String)
    /// The folder or file cannot be written.
    case unwritable(path: String, reason: String)
    /// The key name is empty or contains `/`.
    case invalidName(String)

    public var description: String {
        switch self {
        case .unreadable(let path):
            "cannot read the key file \(path): check that it exists and is readable"
        case .invalidKey(let path, let error):
            "the key in \(path) is not usable: \(error)"
        case .alreadyExists(let path):
            "\(path) already exists: choose another name; the existing key stays as it is"
        case .unwritable(let path, let reason):
            "cannot write \(path) (\(reason)): check the folder's permissions"
        case .invalidName(let name):
            "'\(name)' is not a key name: use letters, digits, '-' or '_'"
        }
    }
}
