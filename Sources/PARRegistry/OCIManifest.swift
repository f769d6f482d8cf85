import PARBytes

/// What a manifest says of one blob: its media type, digest and size (OCI image spec,
/// `descriptor.md`).
public struct OCIDescriptor: Equatable, Sendable {
    /// The blob's media type.
    public var mediaType: String
    /// The blob's digest.
    public var digest: SHA256Hash
    /// The blob's size in bytes: a download that passes it, or ends short of it, fails.
    public var size: UInt64

    /// Creates a descriptor.
    ///
    /// - Parameters:
    ///   - mediaType: The blob's media type.
    ///   - digest: Its digest.
    ///   - size: Its size in bytes.
    public init(mediaType: String, digest: SHA256Hash, size: UInt64) {
        self.mediaType = mediaType
        self.digest = digest
        self.size = size
    }

    var json: JSONValue {
        .object([("mediaType", .string(mediaType)), ("digest", .string(digest.ociDigest)), ("size", .number(String(size)))])
    }

    init(json: JSONValue, what: String) throws(RegistryError) {
        guard case .string(let mediaType)? = json["mediaType"] else {
            throw .unexpectedResponse(status: 200, request: "GET manifest", detail: "\(what) has no mediaType")
        }
        guard case .string(let text)? = json["digest"], let digest = SHA256Hash(ociDigest: text) else {
            throw .unexpectedResponse(status: 200, request: "GET manifest", detail: "\(what) has no sha256 digest")
        }
        guard case .number(let literal)? = json["size"], let size = UInt64(literal) else {
            throw .unexpectedResponse(status: 200, request: "GET manifest", detail: "\(what) has no size")
        }
        self.init(mediaType: mediaType, digest: digest, size: size)
    }
}

/// An OCI image manifest (`application/vnd.oci.image.manifest.v1+json`): a config blob, the
/// layers, and annotations. For a provider archive, the shape `wash push` writes: a `{}`
/// config and one archive layer (PAR-FORMAT section 6).
public struct OCIManifest: Sendable {
    /// The manifest's media type.
    public var mediaType: String
    /// The config blob.
    public var config: OCIDescriptor
    /// The layers, in order.
    public var layers: [OCIDescriptor]
    /// Annotations, in order; keys are unique.
    public var annotations: [(key: String, value: String)]

    /// Creates a manifest.
    ///
    /// - Parameters:
    ///   - mediaType: The manifest's media type.
    ///   - config: The config blob.
    ///   - layers: The layers.
    ///   - annotations: Annotations; a repeated key keeps its first value.
    public init(
        mediaType: String = ProviderRegistry.manifestMediaType, config: OCIDescriptor, layers: [OCIDescriptor],
        annotations: [(key: String, value: String)] = []
    ) {
        self.mediaType = mediaType
        self.config = config
        self.layers = layers
        var seen = Set<String>()
        self.annotations = annotations.filter { seen.insert($0.key).inserted }
    }

    /// Reads a manifest a registry sent.
    ///
    /// - Parameter bytes: The manifest's JSON.
    /// - Throws: ``RegistryError/unexpectedResponse(status:request:detail:)`` when it is not
    ///   an image manifest.
    public init(parsing bytes: [UInt8]) throws(RegistryError) {
        guard let json = try? JSONValue(parsing: bytes), case .array(let layers)? = json["layers"],
            let config = json["config"]
        else {
            throw .unexpectedResponse(status: 200, request: "GET manifest", detail: "not an image manifest")
        }
        var mediaType = Self.dockerManifestMediaType
        if case .string(let type)? = json["mediaType"] { mediaType = type }
        let annotations = stringMembers(json["annotations"])
        self.init(
            mediaType: mediaType, config: try OCIDescriptor(json: config, what: "the config"),
            layers: try layers.enumerated().map { index, layer throws(RegistryError) in
                try OCIDescriptor(json: layer, what: "layer \(index + 1)")
            },
            annotations: annotations)
    }

    /// The manifest as JSON, keys in the order wash writes them.
    public var json: JSONValue {
        var members: [(key: String, value: JSONValue)] = [
            ("schemaVersion", .number("2")), ("mediaType", .string(mediaType)), ("config", config.json),
            ("layers", .array(layers.map(\.json))),
        ]
        if !annotations.isEmpty {
            members.append(("annotations", .object(annotations.map { ($0.key, .string($0.value)) })))
        }
        return .object(members)
    }

    /// The bytes pushed, and hashed for the manifest's digest.
    public var serialized: [UInt8] { Array(json.serialized.utf8) }

    /// The first layer that is a provider archive.
    public var archiveLayer: OCIDescriptor? {
        layers.first { $0.mediaType == ProviderRegistry.layerMediaType }
    }

    static let dockerManifestMediaType = "application/vnd.docker.distribution.manifest.v2+json"
}
