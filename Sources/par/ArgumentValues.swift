import ArgumentParser
import Foundation
import PARBytes
import PARClaims
import PARNKeys
import PARRegistry

// Every value par takes is parsed where its option is declared: a bad one is a usage error
// (exit 64) with the parser's message and the reason, before any file or network is touched.
// Options use `transform: T.parsing` so the reason reaches the message; the conformance to
// `ExpressibleByArgument` serves help, completions and plain `@Argument`s.

/// A value read from the command line whose refusal says why.
protocol CommandLineValue: ExpressibleByArgument {
    /// Parses a value as a person writes it.
    ///
    /// - Throws: An error whose description says what is wrong and what to write instead.
    init(commandLine text: String) throws
}

extension CommandLineValue {
    init?(argument: String) {
        try? self.init(commandLine: argument)
    }

    /// For `@Option(transform:)`: the value, or the reason it is refused.
    @Sendable static func parsing(_ text: String) throws -> Self {
        try Self(commandLine: text)
    }
}

/// `--target`, `--arch`: ARCH-OS as Rust names them, or `native`.
extension Target: CommandLineValue {
    public init?(argument: String) {
        try? self.init(commandLine: argument)
    }

    init(commandLine text: String) throws {
        self = text == "native" ? .native : try Target(text)
    }
}

/// `--trusted-issuer`: a public key (its role is checked by the option group's `validate()`).
extension NKeyPublicKey: CommandLineValue {
    public init?(argument: String) {
        try? self.init(commandLine: argument)
    }

    init(commandLine text: String) throws {
        try self.init(text)
    }
}

/// `--digest`: a SHA-256 digest as a person types it, `sha256:` optional, either case.
extension SHA256Hash: CommandLineValue {
    public init?(argument: String) {
        try? self.init(commandLine: argument)
    }

    init(commandLine text: String) throws {
        guard let digest = SHA256Hash(pinning: text) else {
            throw CLIError("not a SHA-256 digest: give sha256: and 64 hex digits, or the 64 digits")
        }
        self = digest
    }
}

/// `keys gen TYPE`, `keys generate ROLE`: a key type as wash names them, aliases included.
extension NKeyRole: CommandLineValue {
    public init?(argument: String) {
        try? self.init(commandLine: argument)
    }

    private static let aliases = ["component": "module", "provider": "service", "host": "server", "x25519": "curve"]

    init(commandLine text: String) throws {
        let name = text.lowercased()
        guard let role = NKeyRole(name: Self.aliases[name] ?? name) else {
            throw CLIError("unknown key type: use account, user, module (or component), service (or provider), server (or host), operator, cluster or curve (or x25519)")
        }
        self = role
    }

    public static var allValueStrings: [String] { allCases.map(\.name) }
}

/// A registry reference as a person writes it, lowercased and trimmed as wash does. One that
/// names no registry (`REPOSITORY:TAG`) is completed with `-r/--registry` or `WASH_REG_URL`
/// by ``resolved(registry:)``.
struct ReferenceText: CommandLineValue {
    /// The reference's text, lowercased (a layout's as written).
    let text: String
    /// The OCI image layout the text names (`oci:PATH[:NAME]`, `oci-archive:PATH[:NAME]`),
    /// when it names one rather than a registry.
    let layout: OCILayoutReference?

    init(commandLine text: String) throws {
        if let layout = try OCILayoutReference(text) {
            (self.text, self.layout) = (text, layout)
            return
        }
        layout = nil
        self.text = text.trimmingCharacters(in: .whitespaces).lowercased()
        // The syntax is checked now, with a stand-in for a registry still to be named.
        do {
            _ = try ImageReference(self.text, defaultRegistry: "localhost")
        } catch RegistryError.invalidReference(_, let reason) {
            throw RegistryError.invalidReference(text, reason: reason)
        }
    }

    /// Whether the text names its registry.
    var namesRegistry: Bool { ImageReference.namesRegistry(text) }

    /// The reference, with `registry` in front when the text names none.
    ///
    /// - Throws: ``RegistryError`` when no registry is named anywhere.
    func resolved(registry: String?) throws -> ImageReference {
        if layout != nil { throw RegistryError.invalidReference(text, reason: "it names an image layout, not a registry") }
        return try ImageReference(text, defaultRegistry: registry?.trimmingCharacters(in: .whitespaces).lowercased())
    }
}

/// A registry reference (which must name its registry), `oci:PATH[:NAME]` or
/// `oci-archive:PATH[:NAME]`: where `par cp` reads or writes.
struct LocationText: CommandLineValue {
    let location: ProviderLocation

    init(commandLine text: String) throws {
        location = try ProviderLocation(text)
    }
}
