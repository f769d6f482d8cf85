import ArgumentParser
import Foundation
import ProviderArchiveKit

/// `par inspect`: show what an archive claims and whether it verified.
struct InspectCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspect",
        abstract: "Show an archive's claims and targets, and whether its signature and hashes verified.",
        discussion: "Exits 1 when the archive fails verification, after showing what it claims."
    )

    @Argument(help: "The archive to inspect: a file, or a registry reference (REGISTRY/REPOSITORY:TAG).")
    var archive: String

    @OptionGroup(title: "Registry (when ARCHIVE is a reference)")
    var registry: RegistryOptions

    @OptionGroup var output: OutputOptions

    func run() async throws {
        let console = Console(format: output.format)
        try await console.run {
            let (file, cleanup) = try await localArchive(archive, registry: registry, console: console)
            defer { cleanup() }
            let report: VerifiedArchive?
            let failure: ProviderArchiveError?
            let progress = console.progress("verifying")
            do throws(ProviderArchiveError) {
                defer { progress.finish() }
                // Expiry is shown, not enforced, so an expired archive can still be looked at.
                report = try ProviderArchive.verify(
                    path: file, policy: VerificationPolicy(allowsExpired: true), progress: { progress.update($0, of: $1) })
                failure = nil
            } catch {
                report = nil
                failure = error
            }
            let claims = try report?.claims ?? ProviderArchive.claimsWithoutVerifying(from: FileSource(path: file))
            switch console.format {
            case .text: printTable(claims, report: report, failure: failure, console: console)
            case .json: printJSON(claims, report: report, failure: failure, console: console)
            }
            if let failure { throw CLIError("\(archive) failed verification: \(failure)") }
        }
    }

    private func printTable(_ claims: ProviderClaims, report: VerifiedArchive?, failure: ProviderArchiveError?, console: Console) {
        let metadata = claims.metadata
        let now = UInt64(Date().timeIntervalSince1970)
        var rows: [(String, String)] = [
            ("Account", claims.issuer.encoded),
            ("Service", claims.subject.encoded),
            ("Vendor", metadata.vendor),
            ("Version", metadata.version ?? "None"),
            ("Revision", metadata.revision.map(String.init) ?? "None"),
            ("Issued", relativeTime(claims.issuedAt)),
            ("Expires", claims.expires.map { relativeTime($0) + ($0 < now ? " (EXPIRED)" : "") } ?? "never"),
            ("Can Be Used", claims.notBefore.map { $0 > now ? relativeTime($0) + " (NOT YET)" : relativeTime($0) } ?? "immediately"),
        ]
        if let report {
            rows.append(("Signature", "verified (Ed25519, by the account above)"))
            rows.append(("Hashes", "verified (\(report.targets.count) target\(report.targets.count == 1 ? "" : "s")\(report.world == nil ? "" : " and world.wasm"))"))
        } else if let failure {
            rows.append(("Verification", "FAILED: \(failure)"))
        }
        if metadata.configSchema != nil { rows.append(("Config Schema", "yes")) }
        let title = "\(metadata.name ?? "Unnamed Provider") - Provider Archive"
        console.print(title)
        for (label, value) in rows {
            console.print("  " + label.padding(toLength: 16, withPad: " ", startingAt: 0) + value)
        }
        console.print("")
        console.print("Supported Architecture Targets")
        for target in metadata.targetHashes.keys.sorted() {
            var line = "  " + target.name.padding(toLength: 24, withPad: " ", startingAt: 0)
            if let info = report?.targets[target] {
                line += formatBytes(info.size).padding(toLength: 12, withPad: " ", startingAt: 0) + "sha256:" + info.hash.hex
            }
            console.print(line)
        }
    }

    private func printJSON(_ claims: ProviderClaims, report: VerifiedArchive?, failure: ProviderArchiveError?, console: Console) {
        var members = washSummary(claims)
        members.append(("verified", .bool(report != nil)))
        if let failure { members.append(("error", .string(failure.description))) }
        members.append(("issued_at", .integer(claims.issuedAt)))
        members.append(("expires", .optional(claims.expires)))
        members.append(("not_before", .optional(claims.notBefore)))
        if let report {
            members.append(("compressed", .bool(report.isCompressed)))
            members.append(("target_details", entryDetails(report)))
            if let world = report.world {
                members.append(("world", .object([("size", .integer(world.size)), ("sha256", .string(world.hash.hex))])))
            }
        }
        console.printJSON(.object(members))
    }
}
