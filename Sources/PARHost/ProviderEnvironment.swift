import PARBytes
/// A provider's whole environment, as the wasmCloud host gives it: `RUST_LOG` and every
/// `OTEL_*` variable of the host's own, nothing else.
///
/// Variables are kept as the bytes the system holds, `NAME=VALUE`, never decoded and
/// re-encoded: a value that is not UTF-8 reaches the provider byte for byte.
public struct ProviderEnvironment: Sendable, Equatable {
    /// The variables, each `NAME=VALUE` as bytes, in the order given.
    public let variables: [[UInt8]]

    /// An environment of these variables, each `NAME=VALUE` as bytes; those whose name the
    /// host would not pass on are dropped.
    ///
    /// - Parameter variables: Candidate variables.
    public init(variables: [[UInt8]]) {
        self.variables = variables.filter(Self.isPassedOn)
    }

    /// An environment of these variables, filtered as the host filters its own.
    ///
    /// - Parameter environment: Names and values.
    public init(_ environment: [String: String]) {
        self.init(variables: environment.sorted { $0.key < $1.key }.map { Array("\($0.key)=\($0.value)".utf8) })
    }

    /// What the host passes on of this process's environment, byte for byte.
    public static var inherited: ProviderEnvironment {
        ProviderEnvironment(variables: System.environmentBytes)
    }

    /// Whether the host passes a `NAME=VALUE` on: `RUST_LOG`, or a name starting `OTEL_`.
    private static func isPassedOn(_ variable: [UInt8]) -> Bool {
        guard let equals = variable.firstIndex(of: UInt8(ascii: "=")), !variable.contains(0) else { return false }
        let name = variable[..<equals]
        return name.elementsEqual("RUST_LOG".utf8) || (name.starts(with: "OTEL_".utf8))
    }
}
