import PARBytes
import PARClaims

/// An OCI image index (`application/vnd.oci.image.index.v1+json`): one tag that names a
/// manifest per platform. par publishes a provider as an index of platform slices (see
/// ``ProviderRegistry/pushSlices(archiveAt:to:config:annotations:sliceTags:progress:)``).
public struct OCIImageIndex: Sendable {
    /// The media type par writes.
    public static let mediaType = "application/vnd.oci.image.index.v1+json"
    /// Docker's manifest list, read as an index.
    static let dockerManifestListMediaType = "application/vnd.docker.distribution.manifest.list.v2+json"
    /// The annotation naming the Rust target a slice holds, on each entry and slice manifest.
    public static let targetAnnotation = "com.wasmcloud.provider.target"
    /// The most entries read: one per target of the largest archive a reader accepts.
    public static let maximumEntries = 1023

    /// One manifest of the index.
    public struct Entry: Sendable {
        /// The manifest's descriptor.
        public var manifest: OCIDescriptor
        /// Its platform; an entry without one is never chosen, as in oci-client.
        public var platform: OCIPlatform?
        /// Its annotations, in order.
        public var annotations: [(key: String, value: String)]

        /// Creates an entry.
        ///
        /// - Parameters:
        ///   - manifest: The manifest's descriptor.
        ///   - platform: Its platform.
        ///   - annotations: Its annotations.
        public init(manifest: OCIDescriptor, platform: OCIPlatform?, annotations: [(key: String, value: String)] = []) {
            self.manifest = manifest
            self.platform = platform
            self.annotations = annotations
        }

        /// The target the entry's annotation names, when it names a valid one.
        public var target: Target? {
            annotations.first { $0.key == OCIImageIndex.targetAnnotation }.flatMap { try? Target($0.value) }
        }

        var json: JSONValue {
            var members = objectMembers(manifest.json)
            if let platform {
                var fields: [(key: String, value: JSONValue)] = [
                    ("architecture", .string(platform.architecture)), ("os", .string(platform.os)),
                ]
                if let variant = platform.variant { fields.append(("variant", .string(variant))) }
                members.append(("platform", .object(fields)))
            }
            if !annotations.isEmpty { members.append(("annotations", .object(annotations.map { ($0.key, .string($0.value)) }))) }
            return .object(members)
        }
    }

    /// The manifests, in order.
    public var manifests: [Entry]
    /// Annotations of the index itself, in order.
    public var annotations: [(key: String, value: String)]

    /// Creates an index.
    ///
    /// - Parameters:
    ///   - manifests: The entries.
    ///   - annotations: The index's annotations.
    public init(manifests: [Entry], annotations: [(key: String, value: String)] = []) {
        self.manifests = manifests
        self.annotations = annotations
    }

    /// Reads an index a registry sent, refusing more than ``maximumEntries`` entries and
    /// any entry that is itself an index.
    ///
    /// - Parameter bytes: The index's JSON.
    /// - Throws: ``RegistryError``.
    public init(parsing bytes: [UInt8]) throws(RegistryError) {
        guard let json = try? JSONValue(parsing: bytes), case .array(let entries)? = json["manifests"] else {
            throw .unexpectedResponse(status: 200, request: "GET manifest", detail: "not an image index")
        }
        guard entries.count <= Self.maximumEntries else { throw .indexTooLarge(entries: entries.count, limit: Self.maximumEntries) }
        manifests = try entries.enumerated().map { index, entry throws(RegistryError) in
            let descriptor = try OCIDescriptor(json: entry, what: "index entry \(index + 1)")
            if Self.isIndex(mediaType: descriptor.mediaType) { throw .nestedIndex(descriptor.digest) }
            var platform: OCIPlatform?
            if case .string(let os)? = entry["platform"]?["os"], case .string(let architecture)? = entry["platform"]?["architecture"] {
                platform = OCIPlatform(os: os, architecture: architecture, variant: entry["platform"]?["variant"]?.stringValue)
            }
            return Entry(manifest: descriptor, platform: platform, annotations: stringMembers(entry["annotations"]))
        }
        annotations = stringMembers(json["annotations"])
    }

    /// The index as JSON.
    public var json: JSONValue {
        var members: [(key: String, value: JSONValue)] = [
            ("schemaVersion", .number("2")), ("mediaType", .string(Self.mediaType)), ("manifests", .array(manifests.map(\.json))),
        ]
        if !annotations.isEmpty { members.append(("annotations", .object(annotations.map { ($0.key, .string($0.value)) }))) }
        return .object(members)
    }

    /// The bytes pushed, and hashed for the index's digest.
    public var serialized: [UInt8] { Array(json.serialized.utf8) }

    /// The first entry a host of `target` takes, as oci-client's resolver picks it.
    ///
    /// - Parameter target: The host's target.
    /// - Returns: The entry, or `nil` when none matches.
    public func entry(for target: Target) -> Entry? {
        manifests.first { $0.platform?.matches(target) == true }
    }

    /// Whether a media type is an index (OCI's, or Docker's manifest list).
    static func isIndex(mediaType: String) -> Bool {
        mediaType == Self.mediaType || mediaType == dockerManifestListMediaType
    }

    /// Whether a manifest's JSON is an index: by its media type, or by having `manifests`.
    static func isIndex(_ bytes: [UInt8]) -> Bool {
        guard let json = try? JSONValue(parsing: bytes) else { return false }
        if let type = json["mediaType"]?.stringValue { return isIndex(mediaType: type) }
        if case .array? = json["manifests"] { return true }
        return false
    }
}

/// A descriptor's members, to which an index entry adds its own.
private func objectMembers(_ json: JSONValue) -> [(key: String, value: JSONValue)] {
    if case .object(let members) = json { return members }
    return []
}

/// The string members of a JSON object, such as annotations; others are skipped.
func stringMembers(_ json: JSONValue?) -> [(key: String, value: String)] {
    guard case .object(let members)? = json else { return [] }
    return members.compactMap { member in
        if case .string(let value) = member.value { (member.key, value) } else { nil }
    }
}
