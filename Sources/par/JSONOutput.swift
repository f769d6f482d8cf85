import PARBytes
import PARClaims
import PARRegistry
import ProviderArchiveKit

extension JSONValue {
    static func integer(_ value: some BinaryInteger) -> JSONValue { .number(String(value)) }
    static func optional(_ value: String?) -> JSONValue { value.map(JSONValue.string) ?? .null }
    static func optional(_ value: (some BinaryInteger)?) -> JSONValue {
        guard let value else { return .null }
        return .integer(value)
    }
    static func strings(_ values: [String]) -> JSONValue { .array(values.map(JSONValue.string)) }
}

/// The keys `wash inspect -o json` prints, with wash's types: name, issuer, service, vendor,
/// version, revision (strings, `"None"` when absent, as wash writes them), targets, and
/// schema when there is one.
func washSummary(_ claims: ProviderClaims) -> [(key: String, value: JSONValue)] {
    let metadata = claims.metadata
    var members: [(key: String, value: JSONValue)] = [
        ("name", .string(metadata.name ?? "None")),
        ("issuer", .string(claims.issuer.encoded)),
        ("service", .string(claims.subject.encoded)),
        ("vendor", .string(metadata.vendor)),
        ("version", .string(metadata.version ?? "None")),
        ("revision", .string(metadata.revision.map(String.init) ?? "None")),
        ("targets", .strings(metadata.targetHashes.keys.sorted().map(\.name))),
    ]
    if let schema = metadata.configSchema { members.append(("schema", schema)) }
    return members
}

/// Each entry's size and hash, as verification found them.
func entryDetails(_ report: VerifiedArchive) -> JSONValue {
    .object(report.targets.sorted { $0.key < $1.key }.map { target, info in
        (target.name, .object([("size", .integer(info.size)), ("sha256", .string(info.hash.hex))]))
    })
}

/// Whether the archive is full or a platform slice, and how many targets its claims sign:
/// `archive_kind` is `full`, `platform_slice` or `incomplete`.
func archiveKindDetails(_ report: VerifiedArchive) -> [(key: String, value: JSONValue)] {
    let kind: String
    switch report.kind {
    case .full: kind = "full"
    case .platformSlice: kind = "platform_slice"
    case .incomplete: kind = "incomplete"
    }
    return [("archive_kind", .string(kind)), ("signed_targets", .integer(report.signedTargets.count))]
}

/// The slices of an image index: platform, target, manifest and layer digests, layer size.
func sliceDetails(_ slices: [PlatformSliceDescription]) -> JSONValue {
    .array(slices.map { slice in
        .object([
            ("os", .string(slice.platform.os)), ("architecture", .string(slice.platform.architecture)),
            ("target", .optional(slice.target?.name)), ("manifest_digest", .string(slice.manifestDigest.ociDigest)),
            ("layer_digest", .string(slice.layer.digest.ociDigest)), ("size", .integer(slice.layer.size)),
            ("tag", .optional(slice.tag)),
        ])
    })
}
