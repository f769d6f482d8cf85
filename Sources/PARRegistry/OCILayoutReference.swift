/// An OCI image layout named the way skopeo and the containers tools name one:
/// `oci:PATH[:TAG]` for a layout folder, `oci-archive:PATH[:TAG]` for a tar of one. The
/// path runs to the first `:` after the transport; the tag is the name in the layout's
/// `index.json` (`org.opencontainers.image.ref.name`).
public struct OCILayoutReference: Equatable, Sendable, CustomStringConvertible {
    /// How the layout is kept.
    public enum Kind: String, Sendable {
        /// A folder: `oci-layout`, `index.json`, `blobs/sha256/`.
        case folder = "oci"
        /// A tar file of such a folder.
        case archive = "oci-archive"
    }

    /// A folder or a tar file.
    public let kind: Kind
    /// The folder's, or the tar file's, path.
    public let path: String
    /// The name in `index.json`; `nil` when none was given.
    public let tag: String?

    /// Parses `oci:PATH[:TAG]` or `oci-archive:PATH[:TAG]`.
    ///
    /// - Parameter text: The reference.
    /// - Returns: `nil` when `text` starts with neither transport.
    /// - Throws: ``RegistryError/invalidReference(_:reason:)`` for an empty path or a bad tag.
    public init?(_ text: String) throws(RegistryError) {
        let kind: Kind
        if text.hasPrefix("oci:") {
            kind = .folder
        } else if text.hasPrefix("oci-archive:") {
            kind = .archive
        } else {
            return nil
        }
        let rest = text.dropFirst(kind.rawValue.count + 1)
        let path: Substring
        var tag: String?
        if let colon = rest.firstIndex(of: ":") {
            path = rest[..<colon]
            tag = String(rest[rest.index(after: colon)...])
        } else {
            path = rest
        }
        guard !path.isEmpty else { throw .invalidReference(text, reason: "it names no path; write \(kind.rawValue):PATH[:TAG]") }
        if let tag, !Self.isName(tag) {
            throw .invalidReference(text, reason: "the name after the path must be 1 to 128 of A-Z a-z 0-9 _ . - and not start with . or -")
        }
        self.kind = kind
        self.path = String(path)
        self.tag = tag
    }

    /// Creates a reference.
    public init(kind: Kind, path: String, tag: String?) {
        self.kind = kind
        self.path = path
        self.tag = tag
    }

    public var description: String { "\(kind.rawValue):\(path)" + (tag.map { ":" + $0 } ?? "") }

    /// A name a layout entry may carry: what a registry tag may be.
    static func isName(_ text: String) -> Bool {
        guard let first = text.first, first != ".", first != "-", text.count <= 128 else { return false }
        return text.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_" || $0 == "." || $0 == "-") }
    }
}

/// Where providers are kept: a repository of a registry, or an OCI image layout.
public enum ProviderLocation: Equatable, Sendable, CustomStringConvertible {
    /// A registry reference.
    case registry(ImageReference)
    /// An image layout, a folder or a tar of one.
    case layout(OCILayoutReference)

    /// Parses a layout reference (`oci:`, `oci-archive:`) or a registry reference.
    ///
    /// - Parameters:
    ///   - text: The location.
    ///   - defaultRegistry: The registry of a registry reference that names none.
    /// - Throws: ``RegistryError/invalidReference(_:reason:)``.
    public init(_ text: String, defaultRegistry: String? = nil) throws(RegistryError) {
        if let layout = try OCILayoutReference(text) {
            self = .layout(layout)
        } else {
            self = .registry(try ImageReference(text, defaultRegistry: defaultRegistry))
        }
    }

    public var description: String {
        switch self {
        case .registry(let reference): reference.description
        case .layout(let layout): layout.description
        }
    }
}
