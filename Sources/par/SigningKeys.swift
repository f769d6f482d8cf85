import Foundation
import PARNKeys

extension KeyOptions {
    /// The name wash gives the issuer's key file: `$USER` (`user` when unset).
    ///
    /// - Throws: ``CLIError`` when `$USER` holds more than letters, digits, `-` and `_`.
    static func userName() throws -> String {
        let name = ProcessInfo.processInfo.environment["USER"] ?? ""
        guard !name.isEmpty else { return "user" }
        guard KeyDirectory.isValidName(name) else {
            throw CLIError("USER (\(name)) is not a key name (letters, digits, '-' and '_'): set USER to one, or pass --issuer SEED|PATH")
        }
        return name
    }

    /// A key given as a seed or a path, or else the one saved under `name` in the key
    /// directory, generated there when missing unless `--disable-keygen`.
    func resolve(_ value: String?, flag: String, role: NKeyRole, name: String, console: Console) throws -> NKeyPair {
        if let value { return try Self.parse(value, flag: flag, role: role) }
        guard KeyDirectory.isValidName(name) else {
            throw CLIError("'\(name)' is not a key name (letters, digits, '-' and '_'), so no key file is named after it: pass \(flag) SEED|PATH")
        }
        let keys = directory.keyDirectory
        let file = keys.filePath(name: name, role: role)
        if disableKeygen {
            guard let pair = try keys.load(name: name, role: role) else {
                throw CLIError("no \(role) key: \(file) does not exist and --disable-keygen is set; pass \(flag) SEED|PATH")
            }
            return pair
        }
        // Another par generating the same key at the same moment is fine: both use the one saved.
        let (pair, generated) = try keys.loadOrGenerate(name: name, role: role)
        if generated {
            console.note("No keypair found in \"\(file)\". We generated one and placed it there. To use other keys, pass \(flag).")
        }
        return pair
    }

    /// A seed, or the path of a file holding one.
    static func parse(_ value: String, flag: String, role: NKeyRole) throws -> NKeyPair {
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: value, isDirectory: &isDirectory) {
            guard !isDirectory.boolValue else { throw CLIError("\(flag) \(value) is a directory: give a seed or a key file") }
            return try KeyDirectory.readSeed(at: value, role: role)
        }
        if value.contains("/") || value.hasSuffix(".nk") {
            throw CLIError("\(flag): the key file \(value) does not exist; check the path, or give the seed itself")
        }
        do {
            return try NKeyPair(seed: value, role: role)
        } catch {
            throw CLIError("\(flag) is not a usable \(role) seed: \(ErrorHints.message(for: error))")
        }
    }
}
