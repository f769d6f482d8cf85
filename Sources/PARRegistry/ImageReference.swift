/// Where an archive lives in a registry: `REGISTRY[:PORT]/REPOSITORY[:TAG][@sha256:DIGEST]`,
/// such as `localhost:5000/providers/http-server:0.23.0` (PAR-FORMAT section 6).
public struct ImageReference: Equatable, Sendable, CustomStringConvertible {
    /// The registry's host and optional port, such as `localhost:5000` or `ghcr.io`.
    public let registry: String
    /// The repository path, such as `providers/http-server`.
    public let repository: String
    /// The tag, such as `0.23.0`; `nil` when the reference has none.
    public let tag: String?
    /// The pinned manifest digest, such as `sha256:4f3c...`; `nil` when not pinned.
    public let digest: String?

    /// Parses a reference.
    ///
    /// - Parameter text: The reference; the registry part is required.
    /// - Throws: ``RegistryError/invalidReference(_:reason:)`` saying what is wrong.
    public init(_ text: String) throws(RegistryError) {
        var rest = Substring(text)
        var digest: String?
        if let at = rest.firstIndex(of: "@") {
            digest = String(rest[rest.index(after: at)...])
            rest = rest[..<at]
            guard let value = digest, Self.isDigest(value) else {
                throw .invalidReference(text, reason: "the digest after @ must be sha256: and 64 lowercase hex characters")
            }
        }
        guard let slash = rest.firstIndex(of: "/") else {
            throw .invalidReference(text, reason: "it names no registry; write REGISTRY/REPOSITORY:TAG, such as localhost:5000/providers/name:1.0.0")
        }
        let registry = String(rest[..<slash])
        guard registry.contains(".") || registry.contains(":") || registry == "localhost", Self.isHost(registry) else {
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
        self.repository = String(path)
        self.tag = tag
        self.digest = digest
    }

    public var description: String {
        registry + "/" + repository + (tag.map { ":" + $0 } ?? "") + (digest.map { "@" + $0 } ?? "")
    }

    /// Tells whether `text` looks like a reference rather than a file path, for commands that
    /// take either.
    public static func looksLikeReference(_ text: String) -> Bool {
        guard !text.hasPrefix("/"), !text.hasPrefix("."), (try? ImageReference(text)) != nil else { return false }
        return true
    }

    static func isDigest(_ text: String) -> Bool {
        guard text.hasPrefix("sha256:") else { return false }
        let hex = text.dropFirst(7)
        return hex.count == 64 && hex.allSatisfy { ("0"..."9").contains($0) || ("a"..."f").contains($0) }
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
