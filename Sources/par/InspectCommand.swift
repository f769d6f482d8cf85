import ArgumentParser
import Foundation
import PARBytes
import PARClaims
import ProviderArchiveKit

/// `par inspect`: show what an archive claims and whether it verified, as `wash inspect`
/// and `wash par inspect` do.
struct InspectCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspect",
        abstract: "Show an archive's claims and targets, and whether its signature and hashes verified.",
        discussion: "Exits 1 when the archive fails verification, after showing what it claims."
    )

    @Argument(help: "The archive to inspect: a file, or a registry reference (REGISTRY/REPOSITORY:TAG).")
    var archive: String

    @Option(
        name: .shortAndLong, help: "The manifest digest to require (when ARCHIVE is a reference).",
        transform: SHA256Hash.parsing)
    var digest: SHA256Hash?

    @Flag(help: "Print only the raw claims.jwt (not verified).")
    var jwtOnly = false

    @Flag(help: "wash's: print the WIT world; not supported (par has no WIT decoder).")
    var wit = false

    @Flag(help: "Accepted as in wash; par keeps no cache, so every reference is pulled.")
    var noCache = false

    @OptionGroup(title: "Registry (when ARCHIVE is a reference)") var registry: RegistryOptions

    @OptionGroup var output: OutputOptions

    func validate() throws {
        if wit {
            throw ValidationError("--wit needs a WIT decoder, which par does not have: extract world.wasm with `tar -xzf ARCHIVE world.wasm` and run `wasm-tools component wit world.wasm`")
        }
    }

    func run() async throws {
        try await output.runAsync { console in
            let (file, cleanup) = try await localArchive(archive, registry: registry, digest: digest, console: console)
            defer { cleanup() }
            if jwtOnly {
                let token = try ProviderArchive.tokenWithoutVerifying(path: file)
                return CommandResult(text: [token], json: [("token", .string(token))])
            }
            let report: VerifiedArchive?
            let failure: ProviderArchiveError?
            do throws(ProviderArchiveError) {
                // Expiry is shown, not enforced, so an expired archive can still be looked at.
                report = try console.withProgress("verifying") { progress throws(ProviderArchiveError) in
                    try ProviderArchive.verify(path: file, policy: VerificationPolicy(allowsExpired: true), progress: progress)
                }
                failure = nil
            } catch {
                report = nil
                failure = error
            }
            // A file that cannot be read at all is the error; one that fails verification is shown.
            if case .file? = failure, let failure { throw failure }
            let claims = try report?.claims ?? ProviderArchive.claimsWithoutVerifying(path: file)
            let table = table(claims, report: report, failure: failure)
            guard let report else {
                let message = "\(archive) failed verification: \(failure.map { "\($0)" } ?? "unknown")"
                if console.format == .text {
                    for line in table { try console.print(line) }
                    throw CLIError(message)
                }
                // wash's failure shape, with what the archive claims (unverified) beside it.
                let line = JSONValue.object([
                    ("success", .bool(false)), ("error", .string(message)),
                    ("unverified_claims", .object(washSummary(claims))),
                ]).serialized
                StandardStreams.writeMessage(line + "\n")
                throw ExitCode.failure
            }
            return CommandResult(text: table, json: washSummary(claims) + details(claims, report: report))
        }
    }

    /// The claims and what verification found, as `wash inspect` lays them out.
    private func table(_ claims: ProviderClaims, report: VerifiedArchive?, failure: ProviderArchiveError?) -> [String] {
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
        var lines = ["\(metadata.name ?? "Unnamed Provider") - Provider Archive"]
        for (label, value) in rows {
            lines.append("  " + label.padding(toLength: 16, withPad: " ", startingAt: 0) + value)
        }
        lines += ["", "Supported Architecture Targets"]
        for target in metadata.targetHashes.keys.sorted() {
            var line = "  " + target.name.padding(toLength: 24, withPad: " ", startingAt: 0)
            if let info = report?.targets[target] {
                // A labelled hash is an OCI-style digest: sha256: and lowercase hex.
                line += formatBytes(info.size).padding(toLength: 12, withPad: " ", startingAt: 0) + info.hash.ociDigest
            }
            lines.append(line)
        }
        return lines
    }

    /// par's facts beyond wash's keys: verification, dates, compression, sizes and hashes.
    private func details(_ claims: ProviderClaims, report: VerifiedArchive) -> [(key: String, value: JSONValue)] {
        var members: [(key: String, value: JSONValue)] = [
            ("verified", .bool(true)), ("issued_at", .integer(claims.issuedAt)), ("expires", .optional(claims.expires)),
            ("not_before", .optional(claims.notBefore)), ("compressed", .bool(report.isCompressed)),
            ("target_details", entryDetails(report)),
        ]
        if let world = report.world {
            members.append(("world", .object([("size", .integer(world.size)), ("sha256", .string(world.hash.hex))])))
        }
        return members
    }
}
