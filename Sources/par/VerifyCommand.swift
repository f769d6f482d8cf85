import ArgumentParser
import ProviderArchiveKit

/// `par verify`: exit 0 when an archive is valid, 1 with the reason when not.
struct VerifyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Verify an archive: signature, issuer, every hash, every claimed target, expiry.",
        discussion: "Exits 0 when valid; 1 with one line on stderr saying what failed."
    )

    @Argument(help: "The archive to verify: a file, or a registry reference (REGISTRY/REPOSITORY:TAG).")
    var archive: String

    @OptionGroup(title: "Registry (when ARCHIVE is a reference)")
    var registry: RegistryOptions

    @Option(name: .customLong("issuer"), help: "An account public key to trust; repeat for several. Default: any.")
    var issuers: [String] = []

    @Option(name: .customLong("target"), help: "A target that must be present (ARCH-OS or native); repeat for several.")
    var targets: [String] = []

    @Flag(help: "Accept claims that have expired or are not valid yet.")
    var allowExpired = false

    @OptionGroup var output: OutputOptions

    func run() async throws {
        let console = Console(format: output.format)
        try await console.run {
            let (file, cleanup) = try await localArchive(archive, registry: registry, console: console)
            defer { cleanup() }
            let trusted = try parseTrustedIssuers(issuers)
            let required = try targets.map(parseTarget)
            let policy = VerificationPolicy(trustedIssuers: trusted, allowsExpired: allowExpired)
            let report: VerifiedArchive
            let progress = console.progress("verifying")
            do throws(ProviderArchiveError) {
                defer { progress.finish() }
                report = try ProviderArchive.verify(
                    path: file, requiredTargets: required, policy: policy, progress: { progress.update($0, of: $1) })
            } catch {
                if console.format == .json {
                    console.printJSON(.object([("file", .string(archive)), ("valid", .bool(false)), ("error", .string(error.description))]))
                }
                throw CLIError("\(archive): \(error)")
            }
            let claims = report.claims
            switch console.format {
            case .text:
                let name = claims.metadata.name ?? "Unnamed Provider"
                let version = claims.metadata.version.map { " \($0)" } ?? ""
                console.print("\(archive): valid (\(name)\(version), signed by \(claims.issuer), targets: \(report.targets.keys.sorted().map(\.name).joined(separator: ", ")))")
            case .json:
                var members: [(key: String, value: JSONValue)] = [("file", .string(archive)), ("valid", .bool(true))]
                members += washSummary(claims)
                members.append(("target_details", entryDetails(report)))
                console.printJSON(.object(members))
            }
        }
    }
}
