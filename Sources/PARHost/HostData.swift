import Foundation
import PARBytes

/// What a wasmCloud 1.x host hands a provider on standard input: `HostData` of
/// `crates/core/src/host.rs` (`release-1.9.x`), its fields in order with serde's names and
/// defaults, as the compact JSON the host writes.
public struct HostData: Sendable {
    /// The host's server public key (`N...`).
    public var hostID: String
    /// The lattice, `default` by default.
    public var latticePrefix = "default"
    /// The link name; the host always sends `default`.
    public var linkName = "default"
    /// The NATS URL of the lattice.
    public var latticeURL = "nats://127.0.0.1:4222"
    /// The provider's service public key: the claims' subject.
    public var providerKey: String
    /// A new UUID v4 per start.
    public var instanceID = UUID().uuidString.lowercased()
    /// The initial links, as the host serializes `InterfaceLinkDefinition`s.
    public var linkDefinitions: [JSONValue] = []
    /// The provider's configuration.
    public var config: [String: String] = [:]
    /// The log level: error, warn, info, debug, trace or critical.
    public var logLevel = "info"
    /// Whether the provider should log structured JSON.
    public var structuredLogging = false

    /// Host data for a provider, with the host's defaults.
    ///
    /// - Parameters:
    ///   - hostID: The host's server public key.
    ///   - providerKey: The provider's service public key.
    public init(hostID: String, providerKey: String) {
        self.hostID = hostID
        self.providerKey = providerKey
    }

    /// The document, as the host serializes it: every field of `HostData` in order,
    /// `env_values` an object, `default_rpc_timeout_ms` left out when none, `log_level`
    /// lowercase, `otel_config` with its defaults.
    public var json: JSONValue {
        .object([
            ("host_id", .string(hostID)),
            ("lattice_rpc_prefix", .string(latticePrefix)),
            ("link_name", .string(linkName)),
            ("lattice_rpc_user_jwt", .string("")),
            ("lattice_rpc_user_seed", .string("")),
            ("lattice_rpc_url", .string(latticeURL)),
            ("provider_key", .string(providerKey)),
            ("env_values", .object([])),
            ("instance_id", .string(instanceID)),
            ("link_definitions", .array(linkDefinitions)),
            ("cluster_issuers", .array([])),
            ("config", .object(config.sorted { $0.key < $1.key }.map { ($0.key, JSONValue.string($0.value)) })),
            ("secrets", .object([])),
            ("host_xkey_public_key", .string("")),
            ("provider_xkey_private_key", .string("")),
            ("structured_logging", .bool(structuredLogging)),
            ("log_level", .string(logLevel)),
            ("otel_config", .object([
                ("enable_observability", .bool(false)), ("protocol", .string("Http")),
                ("additional_ca_paths", .array([])), ("trace_level", .string("info")),
            ])),
        ])
    }
}
