import PARBytes
import PARNKeys

/// The claims of a capability provider, as a wascap JWT carries them (PAR-FORMAT section 3).
///
/// Field names follow what they mean; the JSON names are in each field's documentation.
public struct ProviderClaims: Equatable, Sendable {
    /// When the claims expire, in seconds since 1970 (`exp`); `nil` for never.
    public var expires: UInt64?
    /// A unique id of this token (`jti`).
    public var id: String
    /// When the claims were issued, in seconds since 1970 (`iat`).
    public var issuedAt: UInt64
    /// The account that signed the claims (`iss`).
    public var issuer: NKeyPublicKey
    /// The service key that identifies the provider (`sub`).
    public var subject: NKeyPublicKey
    /// When the claims become valid, in seconds since 1970 (`nbf`); `nil` for immediately.
    public var notBefore: UInt64?
    /// The provider's own metadata (`wascap`).
    public var metadata: ProviderMetadata
    /// The wascap claims revision (`wascap_revision`); the reference writes 3.
    public var wascapRevision: UInt32?

    /// The wascap revision this package writes.
    public static let currentWascapRevision: UInt32 = 3

    /// Creates claims. `id` defaults to a fresh NUID-style id and `issuedAt` to now.
    ///
    /// - Parameters:
    ///   - issuer: The account key that will sign the claims.
    ///   - subject: The provider's service key.
    ///   - metadata: Name, vendor, versions, hashes and schema.
    ///   - issuedAt: Seconds since 1970; now when `nil`.
    ///   - expires: Seconds since 1970 after which the claims are refused; `nil` for never.
    ///   - notBefore: Seconds since 1970 before which the claims are refused; `nil` for immediately.
    ///   - id: The token id; a fresh one when `nil`.
    public init(
        issuer: NKeyPublicKey,
        subject: NKeyPublicKey,
        metadata: ProviderMetadata,
        issuedAt: UInt64? = nil,
        expires: UInt64? = nil,
        notBefore: UInt64? = nil,
        id: String? = nil
    ) {
        self.expires = expires
        self.id = id ?? TokenID.generate()
        self.issuedAt = issuedAt ?? VerificationPolicy.unixTimeNow()
        self.issuer = issuer
        self.subject = subject
        self.notBefore = notBefore
        self.metadata = metadata
        self.wascapRevision = Self.currentWascapRevision
    }
}

/// The `wascap` section of a provider's claims.
public struct ProviderMetadata: Equatable, Sendable {
    /// The provider's name (`name`); `nil` shows as "Unnamed Provider".
    public var name: String?
    /// Who made the provider (`vendor`).
    public var vendor: String
    /// A monotonically increasing revision (`rev`).
    public var revision: Int32?
    /// A human-friendly version, such as `0.23.0` (`ver`).
    public var version: String?
    /// The SHA-256 of each target's binary (`target_hashes`).
    public var targetHashes: [Target: SHA256Hash]
    /// The SHA-256 of `world.wasm` (`target_hashes["world.wasm"]`), when the archive has one.
    public var worldHash: SHA256Hash?
    /// The JSON schema of the provider's configuration (`config_schema`). JSON `null` means
    /// none, as serde reads `"config_schema":null`, so it is stored as `nil`: the claims
    /// written are then the claims read back.
    public var configSchema: JSONValue? {
        didSet { if configSchema == .null { configSchema = nil } }
    }

    /// The key under which `target_hashes` holds the hash of the WIT world.
    public static let worldHashKey = "world.wasm"

    /// Creates provider metadata.
    ///
    /// - Parameters:
    ///   - name: The provider's name.
    ///   - vendor: The provider's vendor.
    ///   - revision: The revision, if any.
    ///   - version: The version, if any.
    ///   - targetHashes: The SHA-256 of each target's binary.
    ///   - worldHash: The SHA-256 of `world.wasm`, if any.
    ///   - configSchema: The config schema, if any.
    public init(
        name: String?,
        vendor: String,
        revision: Int32? = nil,
        version: String? = nil,
        targetHashes: [Target: SHA256Hash] = [:],
        worldHash: SHA256Hash? = nil,
        configSchema: JSONValue? = nil
    ) {
        self.name = name
        self.vendor = vendor
        self.revision = revision
        self.version = version
        self.targetHashes = targetHashes
        self.worldHash = worldHash
        self.configSchema = configSchema == .null ? nil : configSchema
    }
}
