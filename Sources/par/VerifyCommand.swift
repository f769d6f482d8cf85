import ArgumentParser
import PARBytes
import PARClaims
import PARRegistry
import ProviderArchiveKit

/// `par verify`: exit 0 when an archive is valid, 1 with the reason when not. wash has no
/// such command.
struct VerifyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Verify an archive: signature, issuer, every hash, every claimed target, expiry.",
        discussion: """
            Exits 0 when valid; 1 with one line on stderr saying what failed. A platform slice (one signed target of several, as an image index of slices holds) is refused unless --slice is given; a reference to such an index verifies this machine's slice (or --target's).
            """
    )

    @Argument(help: "The archive to verify: a file, or a registry reference (REGISTRY/REPOSITORY:TAG).")
    var archive: String

    @OptionGroup(title: "Registry (when ARCHIVE is a reference)") var registry: RegistryOptions

    @Option(
        name: .customLong("target"), help: "A target that must be present (ARCH-OS or native); repeat for several.",
        transform: Target.parsing)
    var targets: [Target] = []

    @Flag(help: "Accept a platform slice: exactly one binary of the signed targets (that of --target, if given).")
    var slice = false

    @OptionGroup(title: "Trust") var trust: TrustOptions

    @OptionGroup var output: OutputOptions

    func validate() throws {
        if targets.count > 1, slice || registryReference(archive) != nil {
            throw ValidationError("a platform slice holds one target: give --target once")
        }
    }

    func run() async throws {
        try await output.runAsync { console in
            let platform: PlatformChoice = targets.first.map { .target($0) } ?? .native
            let (file, cleanup, pulled) = try await localArchive(
                archive, registry: registry, digest: nil, platform: platform, console: console)
            defer { cleanup() }
            // A slice an index lists is what the index promises: verified as one.
            let acceptsSlice = slice || pulled?.slices.isEmpty == false
            let report: VerifiedArchive
            do throws(ProviderArchiveError) {
                report = try await console.offloadingWithProgress("verifying") { progress throws(ProviderArchiveError) in
                    if acceptsSlice {
                        try ProviderArchive.verifySlice(path: file, target: targets.first, policy: trust.policy, progress: progress)
                    } else {
                        try ProviderArchive.verify(path: file, requiredTargets: targets, policy: trust.policy, progress: progress)
                    }
                }
            } catch .platformSlice(let target, let signed) {
                throw CLIError(
                    "\(archive): \(ErrorHints.message(for: ProviderArchiveError.platformSlice(target, signedTargets: signed))); to verify it as a slice, pass --slice")
            } catch {
                throw CLIError("\(archive): \(ErrorHints.message(for: error))")
            }
            let claims = report.claims
            let name = claims.metadata.name ?? "Unnamed Provider"
            let version = claims.metadata.version.map { " \($0)" } ?? ""
            let targetList = report.targets.keys.sorted().map(\.name).joined(separator: ", ")
            let kind = report.kind.isPlatformSlice ? "valid \(report.kind)" : "valid"
            return CommandResult(
                text: ["\(archive): \(kind) (\(name)\(version), signed by \(claims.issuer), targets: \(targetList))"],
                json: [("file", .string(archive)), ("valid", .bool(true))] + washSummary(claims)
                    + [("target_details", entryDetails(report))] + archiveKindDetails(report))
        }
    }
}
