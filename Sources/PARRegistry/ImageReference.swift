import PARBytes

/// Where an archive lives in a registry: `REGISTRY[:PORT]/REPOSITORY[:TAG][@sha256:DIGEST]`,
/// such as `localhost:5000/providers/http-server:0.23.0` (PAR-FORMAT section 6).
///
/// Docker Hub is named as docker clients name it: `docker.io` and `index.docker.io` are
/// served by `registry-1.docker.io`, a one-part repository is in `library/`, and its
/// credentials are saved under `https://index.docker.io/v1/`.
public struct ImageReference: Equatable, Sendable, CustomStringConvertible {
    /// The registry's host and optional port, such as `localhost:5000` or `ghcr.io`, as written.
    public let registry: String
    /// The repository path, such as `providers/http-server` (`library/NAME` on Docker Hub).
    public let repository: String
    /// The tag, such as `0.23.0`; `nil` when the reference has none.
    public let tag: String?
    /// The pinned manifest digest; `nil` when not pinned.
    public let digest: SHA256Hash?

    /// Whether this is Docker Hub.
    public var isDockerHub: Bool { Self.dockerHubNames.contains(registry) }

    /// The host (and port) that serves the registry API: `registry-1.docker.io` for Docker Hub.
    public var apiHost: String { isDockerHub ? "registry-1.docker.io" : registry }

    /// The key docker saves this registry's credentials under.
    public var credentialKey: String { isDockerHub ? "https://index.docker.io/v1/" : registry }

    static let dockerHubNames: Set<String> = ["docker.io", "index.docker.io", "registry-1.docker.io"]

    /// Parses a reference.
    ///
    /// - Parameters:
    ///   - text: The reference.
    ///   - defaultRegistry: The registry of a reference that names none (`REPOSITORY:TAG`);
    ///     without one, the registry part is required.
    /// - Throws: ``RegistryError/invalidReference(_:reason:)`` saying what is wrong.
    public init(_ text: String, defaultRegistry: String? = nil) throws(RegistryError) {
        var text = text
        if let defaultRegistry, !defaultRegistry.isEmpty, !Self.namesRegistry(text) {
            text = defaultRegistry + "/" + text
        }
        var rest = Substring(text)
        var digest: SHA256Hash?
        if let at = rest.firstIndex(of: "@") {
            digest = SHA256Hash(ociDigest: String(rest[rest.index(after: at)...]))
            rest = rest[..<at]
            guard digest != nil else {
                throw .invalidReference(text, reason: "the digest after @ must be sha256: and 64 lowercase hex characters")
            }
        }
        guard let slash = rest.firstIndex(of: "/") else {
            throw .invalidReference(text, reason: "it names no registry; write REGISTRY/REPOSITORY:TAG, such as localhost:5000/providers/name:1.0.0")
        }
        let registry = String(rest[..<slash])
        guard Self.namesRegistry(rest), Self.isHost(registry) else {
            throw .invalidReference(text, reason: "'\(registry)' is not a registry host; write REGISTRY/REPOSITORY:TAG, such as localhost:5000/providers/name:1.0.0")
        }
        var path = rest[rest.index(after: slash)...]
        var tag: String?
        if let colon = path.lastIndex(of: ":") {
            tag = String(path[path.index(after: colon)...])
            path = path[..<colon]
            guard let value = tag, Self.isTag(value) else {
                throw .invalidReference(text, reason: "the tag must be 1 to 128 of A-Z a-z 0-9 _ . - and not start with . or -")
            }
        }
        guard Self.isRepository(path) else {
            throw .invalidReference(text, reason: "the repository must be lowercase path parts of a-z 0-9 separated by . _ - or /")
        }
        self.registry = registry
        self.repository = Self.dockerHubNames.contains(registry) && !path.contains("/") ? "library/" + path : String(path)
        self.tag = tag
        self.digest = digest
    }

    public var description: String {
        registry + "/" + repository + (tag.map { ":" + $0 } ?? "") + (digest.map { "@" + $0.ociDigest } ?? "")
    }

    /// Tells whether `text` looks like a reference rather than a file path, for commands that
    /// take either.
    public static func looksLikeReference(_ text: String) -> Bool {
        guard !text.hasPrefix("/"), !text.hasPrefix("."), (try? ImageReference(text)) != nil else { return false }
        return true
    }

    /// Whether a reference starts with a registry host, as docker decides: its first part
    /// (before the first `/`) has a `.` or a `:`, or is `localhost`.
    ///
    /// - Parameter text: A reference.
    /// - Returns: `false` for `REPOSITORY:TAG`, `true` for `localhost:5000/REPOSITORY:TAG`.
    public static func namesRegistry(_ text: some StringProtocol) -> Bool {
        guard let slash = text.firstIndex(of: "/") else { return false }
        let first = text[..<slash]
        return first.contains(".") || first.contains(":") || first == "localhost"
    }

    private static func isHost(_ text: String) -> Bool {
        !text.isEmpty && text.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "." || $0 == "-" || $0 == ":") }
    }

    private static func isTag(_ text: String) -> Bool {
        guard let first = text.first, first != ".", first != "-", text.count <= 128 else { return false }
        return text.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_" || $0 == "." || $0 == "-") }
    }

    private static func isRepository(_ path: Substring) -> Bool {
        let parts = path.split(separator: "/", omittingEmptySubsequences: false)
        return !parts.isEmpty && parts.allSatisfy { part in
            guard let first = part.first, let last = part.last else { return false }
            let alphanumeric: (Character) -> Bool = { $0.isASCII && (("a"..."z").contains($0) || ("0"..."9").contains($0)) }
            return alphanumeric(first) && alphanumeric(last)
                && part.allSatisfy { alphanumeric($0) || $0 == "." || $0 == "_" || $0 == "-" }
        }
    }
}
