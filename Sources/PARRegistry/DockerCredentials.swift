import Foundation
import PARBytes

/// The credentials docker clients saved: `$DOCKER_CONFIG/config.json`, else
/// `~/.docker/config.json`, read as docker reads it, so a `docker login` (or an ECR, GCR or
/// ACR credential helper) serves `par` too.
///
/// For a registry, in this order: the helper `credHelpers` names for it; else the
/// `credsStore` helper; else (or when the helper has nothing for it) its `auths` entry,
/// holding `auth` (base64 of `user:password`), `username` and `password`, or
/// `identitytoken`. A helper is run as docker runs it: `docker-credential-NAME get`, the
/// server URL on standard input, JSON on standard output.
public struct DockerCredentials: Sendable {
    /// The config file's path.
    public let path: String
    private let auths: [String: Entry]
    private let helpers: [String: String]
    private let store: String?

    private struct Entry: Sendable {
        var auth: String?
        var username: String?
        var password: String?
        var identityToken: String?
    }

    /// The config of the environment: `$DOCKER_CONFIG/config.json` or `~/.docker/config.json`.
    ///
    /// - Parameter environment: Where to read `DOCKER_CONFIG` and `HOME`.
    /// - Returns: The config, or `nil` when there is no such file.
    /// - Throws: ``RegistryError/dockerConfig(path:reason:)`` when the file is not valid JSON.
    public static func standard(
        environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws(RegistryError) -> DockerCredentials? {
        let folder = environment["DOCKER_CONFIG"].flatMap { $0.isEmpty ? nil : $0 }
            ?? (environment["HOME"] ?? NSHomeDirectory()) + "/.docker"
        let path = folder + "/config.json"
        guard FileManager.default.fileExists(atPath: path) else { return nil }
        return try DockerCredentials(path: path)
    }

    /// Reads a docker config file.
    ///
    /// - Parameter path: The file.
    /// - Throws: ``RegistryError/dockerConfig(path:reason:)`` when it cannot be read or parsed.
    public init(path: String) throws(RegistryError) {
        let data: [UInt8]
        do {
            // Bounded while reading: docker's configs are a few KiB.
            guard let bytes = try FileSource(path: path).readAll(limit: Self.maximumSize) else {
                throw RegistryError.dockerConfig(path: path, reason: "it is larger than \(Self.maximumSize >> 20) MiB")
            }
            data = bytes
        } catch let error as RegistryError {
            throw error
        } catch {
            throw .dockerConfig(path: path, reason: "it cannot be read")
        }
        guard let json = try? JSONValue(parsing: data), case .object = json else {
            throw .dockerConfig(path: path, reason: "it is not a JSON object")
        }
        self.path = path
        var auths: [String: Entry] = [:]
        if case .object(let members)? = json["auths"] {
            for (key, value) in members {
                func text(_ name: String) -> String? {
                    if case .string(let text)? = value[name], !text.isEmpty { text } else { nil }
                }
                auths[Self.hostname(key)] = Entry(
                    auth: text("auth"), username: text("username"), password: text("password"),
                    identityToken: text("identitytoken"))
            }
        }
        var helpers: [String: String] = [:]
        if case .object(let members)? = json["credHelpers"] {
            for case (let key, .string(let helper)) in members { helpers[Self.hostname(key)] = helper }
        }
        self.auths = auths
        self.helpers = helpers
        if case .string(let store)? = json["credsStore"], !store.isEmpty { self.store = store } else { self.store = nil }
    }

    /// The credentials saved for a registry.
    ///
    /// - Parameter reference: Any reference to the registry.
    /// - Returns: The credentials, or `nil` when none are saved for it.
    /// - Throws: ``RegistryError/credentialHelper(name:reason:)`` when a helper fails other
    ///   than by having nothing for the registry; ``RegistryError/dockerConfig(path:reason:)``
    ///   for an `auth` that is not base64 of `user:password`.
    public func credentials(for reference: ImageReference) throws(RegistryError) -> RegistryCredentials? {
        let host = Self.hostname(reference.credentialKey)
        if let helper = helpers[host] ?? store, let found = try Self.ask(helper: helper, server: reference.credentialKey) {
            return found
        }
        guard let entry = auths[host] else { return nil }
        if let token = entry.identityToken { return RegistryCredentials(identityToken: token) }
        if let user = entry.username, let password = entry.password { return RegistryCredentials(user: user, password: password) }
        if let auth = entry.auth {
            guard let decoded = Data(base64Encoded: auth).flatMap({ String(data: $0, encoding: .utf8) }),
                let colon = decoded.firstIndex(of: ":")
            else { throw .dockerConfig(path: path, reason: "the auth for \(host) is not base64 of user:password") }
            return RegistryCredentials(user: String(decoded[..<colon]), password: String(decoded[decoded.index(after: colon)...]))
        }
        return nil
    }

    /// A config key's host: `https://index.docker.io/v1/` -> `index.docker.io`, as docker
    /// matches them.
    static func hostname(_ key: String) -> String {
        var text = Substring(key)
        for scheme in ["https://", "http://"] where text.hasPrefix(scheme) { text = text.dropFirst(scheme.count) }
        return String(text.prefix(while: { $0 != "/" })).lowercased()
    }

    /// The most bytes read of a docker config file or of a credential helper's answer.
    static let maximumSize = 4 << 20
    /// How long a credential helper may take to answer (one that asks a person, a keychain
    /// prompt, has time; one that hangs does not hang par).
    static let helperTimeLimit: Duration = .seconds(120)

    /// Runs `docker-credential-HELPER get` for a server.
    private static func ask(helper: String, server: String) throws(RegistryError) -> RegistryCredentials? {
        guard helper.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" || $0 == "." }) else {
            throw .credentialHelper(name: helper, reason: "the name has characters a program name does not")
        }
        let program = "docker-credential-" + helper
        guard let executable = ChildProcess.locate(program, searchPath: ProcessInfo.processInfo.environment["PATH"]) else {
            throw .credentialHelper(name: helper, reason: "\(program) is not installed")
        }
        let outcome: ChildProcess.Outcome
        do {
            // Bounded while reading and in time: a helper that answers without end, or never, is stopped.
            outcome = try ChildProcess.run(
                executable, arguments: ["get"], standardInput: Array(server.utf8), timeLimit: helperTimeLimit, outputLimit: maximumSize)
        } catch .outputTooLarge {
            throw .credentialHelper(name: helper, reason: "\(program) get answered more than \(maximumSize >> 20) MiB")
        } catch .timedOut {
            throw .credentialHelper(name: helper, reason: "\(program) get did not answer in \(helperTimeLimit.components.seconds) s")
        } catch {
            throw .credentialHelper(name: helper, reason: "\(program) cannot be run")
        }
        let answer = outcome.output
        guard outcome.succeeded else {
            // The helpers' own words for "nothing saved": docker treats it as no credentials.
            if String(decoding: answer, as: UTF8.self).lowercased().contains("credentials not found") { return nil }
            let ending = outcome.status.map { "exited with \($0)" } ?? "was killed by signal \(outcome.signal ?? 0)"
            throw .credentialHelper(name: helper, reason: "\(program) get \(ending)")
        }
        guard let json = try? JSONValue(parsing: Array(answer)), case .string(let secret)? = json["Secret"] else {
            throw .credentialHelper(name: helper, reason: "docker-credential-\(helper) get answered something other than its JSON")
        }
        let user: String
        if case .string(let name)? = json["Username"] { user = name } else { user = "" }
        // docker's convention: the user "<token>" marks an identity token.
        return user == "<token>" ? RegistryCredentials(identityToken: secret) : RegistryCredentials(user: user, password: secret)
    }
}
