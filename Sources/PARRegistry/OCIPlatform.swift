import PARClaims

/// The `platform` of one manifest in an image index: the operating system and CPU, spelled
/// as wasmCloud hosts look for them.
///
/// A wasmCloud 1.x host and `wash pull` 0.43 read an index with oci-client 0.15, whose
/// `current_platform_resolver` takes the first entry whose `os` and `architecture` equal
/// its own Rust names passed through `go_os` and `go_arch`: `macos` becomes `darwin`,
/// `x86_64` `amd64`, `aarch64` `arm64`, `x86` `amd`, `powerpc64` `ppc64le`; every other
/// name is kept. ``init(target:)`` writes exactly that, so those hosts find their slice.
/// Two of those spellings are not the OCI spec's (Go's `386` and, for big-endian,
/// `ppc64`); ``matches(_:)`` accepts both, so par also reads indexes other tools wrote.
public struct OCIPlatform: Hashable, Sendable, CustomStringConvertible {
    /// The operating system, such as `linux` or `darwin`.
    public var os: String
    /// The CPU architecture, such as `amd64` or `arm64`.
    public var architecture: String
    /// The CPU variant, such as `v8`; oci-client ignores it, and par writes none.
    public var variant: String?

    /// Creates a platform.
    ///
    /// - Parameters:
    ///   - os: The operating system.
    ///   - architecture: The CPU architecture.
    ///   - variant: The CPU variant, if any.
    public init(os: String, architecture: String, variant: String? = nil) {
        self.os = os
        self.architecture = architecture
        self.variant = variant
    }

    /// The platform a host whose Rust target is `target` looks for, as oci-client 0.15
    /// computes it.
    ///
    /// - Parameter target: A target such as `aarch64-linux`.
    public init(target: Target) {
        let os = String(target.operatingSystem)
        self.init(os: os == "macos" ? "darwin" : os, architecture: Self.ociClientArchitecture(String(target.architecture)))
    }

    /// Whether a host of `target` takes an entry of this platform: the operating system and
    /// architecture as oci-client spells them (or, for `x86` and `powerpc64`, as the OCI
    /// spec does), the variant ignored, as oci-client ignores it.
    ///
    /// - Parameter target: The host's target.
    /// - Returns: Whether they match.
    public func matches(_ target: Target) -> Bool {
        let wanted = OCIPlatform(target: target)
        guard os == wanted.os else { return false }
        if architecture == wanted.architecture { return true }
        switch String(target.architecture) {
        case "x86": return architecture == "386"
        case "powerpc64": return architecture == "ppc64"
        default: return false
        }
    }

    public var description: String { "\(os)/\(architecture)" + (variant.map { "/\($0)" } ?? "") }

    /// oci-client 0.15's `go_arch`, applied to a Rust architecture name.
    private static func ociClientArchitecture(_ rust: String) -> String {
        switch rust {
        case "x86_64": "amd64"
        case "x86": "amd"
        case "aarch64": "arm64"
        case "powerpc64": "ppc64le"
        default: rust
        }
    }
}
