import ArgumentParser
import Foundation
import PARBytes
import PARClaims
import PARRegistry
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

    @Flag(
        name: [.long, .customLong("world")],
        help: "Print the archive's WIT world (world.wasm) as text, decoded by wasm-tools, instead of its claims.")
    var wit = false

    @Flag(help: "Accepted as in wash: inspect always pulls a reference; it never reads par's provider cache.")
    var noCache = false

    @OptionGroup(title: "Registry (when ARCHIVE is a reference)") var registry: RegistryOptions

    @OptionGroup var output: OutputOptions

    func validate() throws {
        if wit, jwtOnly {
            throw ValidationError("--wit and --jwt-only each choose what to print: pass one")
        }
    }

    func run() async throws {
        try await output.runAsync { console in
            let index = try await imageIndex(console: console)
            // Of an index, this machine's slice if there is one, else the first listed.
            let native = index?.slices.contains { $0.platform.matches(.native) } ?? true
            let platform: PlatformChoice = native ? .native : index?.slices.first?.target.map { .target($0) } ?? .native
            let (file, cleanup, _) = try await localArchive(
                archive, registry: registry, digest: digest, platform: platform, console: console)
            defer { cleanup() }
            if jwtOnly {
                let token = try ProviderArchive.tokenWithoutVerifying(path: file)
                return CommandResult(text: [token], json: [("token", .string(token))])
            }
            if wit {
                // Verifying, reading and waiting for wasm-tools: on a thread of their own.
                return try await offload { [self] in try witText(file) }
            }
            let report: VerifiedArchive?
            let failure: ProviderArchiveError?
            do throws(ProviderArchiveError) {
                // Expiry is shown, not enforced, so an expired archive can still be looked at.
                let policy = VerificationPolicy(allowsExpired: true)
                report = try await console.offloadingWithProgress("verifying") { progress throws(ProviderArchiveError) in
                    do throws(ProviderArchiveError) {
                        return try ProviderArchive.verify(path: file, policy: policy, progress: progress)
                    } catch .platformSlice {
                        // A slice is shown as what it is, not as a broken archive.
                        return try ProviderArchive.verifySlice(path: file, policy: policy)
                    }
                }
                failure = nil
            } catch {
                report = nil
                failure = error
            }
            // A file that cannot be read at all is the error; one that fails verification is shown.
            if case .file? = failure, let failure { throw failure }
            let claims = try report?.claims ?? ProviderArchive.claimsWithoutVerifying(path: file)
            let table = table(claims, report: report, failure: failure) + indexTable(index)
            guard let report else {
                let message = "\(archive) failed verification: \(failure.map(ErrorHints.message(for:)) ?? "unknown")"
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
            var json = washSummary(claims) + details(claims, report: report) + archiveKindDetails(report)
            if let index {
                json.append(("index", .object([("digest", .string(index.indexDigest.ociDigest)), ("slices", sliceDetails(index.slices))])))
            }
            return CommandResult(text: table, json: json)
        }
    }

    /// The archive's WIT world as text, printed by wasm-tools (wash's printer; wasm-tools
    /// adds the packages the world uses after it): the archive is verified first
    /// (world.wasm's hash is signed), then world.wasm alone is read again to be printed.
    private func witText(_ file: String) throws -> CommandResult {
        let policy = VerificationPolicy(allowsExpired: true)
        let report: VerifiedArchive
        do throws(ProviderArchiveError) {
            do throws(ProviderArchiveError) {
                report = try ProviderArchive.verify(path: file, policy: policy)
            } catch .platformSlice {
                report = try ProviderArchive.verifySlice(path: file, policy: policy)
            }
        } catch {
            throw CLIError("\(archive) failed verification: \(ErrorHints.message(for: error))")
        }
        guard let info = report.world else {
            throw CLIError("No wit encoded in PAR: \(archive) has no world.wasm (par create --wit-directory DIR embeds one)")
        }
        // Checked before it is read into memory.
        guard info.size <= UInt64(InputLimits.witWorld) else {
            throw CLIError(
                "\(archive): world.wasm is \(formatBytes(info.size)), more than the \(formatBytes(UInt64(InputLimits.witWorld))) par reads for a WIT world"
            )
        }
        let world: [UInt8]
        do throws(ProviderArchiveError) {
            world = try ProviderArchive.load(path: file, selection: .worldOnly, policy: policy).world ?? []
        } catch {
            throw CLIError("\(archive) failed verification: \(ErrorHints.message(for: error))")
        }
        let text = try WasmTools.locate(for: "--wit").text(of: world)
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        if lines.last == "" { lines.removeLast() }
        return CommandResult(text: lines, json: [("wit", .string(text))])
    }

    /// The platform slices, when ARCHIVE is a reference to an image index.
    private func imageIndex(console: Console) async throws -> (indexDigest: SHA256Hash, slices: [PlatformSliceDescription])? {
        guard let reference = registryReference(archive) else { return nil }
        do {
            return try await registry.withClient(for: reference, console: console) { try await $0.platformSlices(of: reference) }
        } catch {
            throw CLIError(ErrorHints.message(for: error))
        }
    }

    /// The index's slices: platform, target, layer size and manifest digest.
    private func indexTable(_ index: (indexDigest: SHA256Hash, slices: [PlatformSliceDescription])?) -> [String] {
        guard let index else { return [] }
        return ["", "Image Index (\(index.slices.count) platform slices, \(index.indexDigest.ociDigest))"]
            + index.slices.map { slice in
                "  " + slice.platform.description.padding(toLength: 16, withPad: " ", startingAt: 0)
                    + (slice.target?.name ?? "").padding(toLength: 18, withPad: " ", startingAt: 0)
                    + formatBytes(slice.layer.size).padding(toLength: 12, withPad: " ", startingAt: 0) + slice.manifestDigest.ociDigest
                    + (slice.tag.map { "  " + $0 } ?? "")
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
            rows.append(("Archive", report.kind.description))
            rows.append(("Signature", "verified (Ed25519, by the account above)"))
            rows.append(("Hashes", "verified (\(report.targets.count) target\(report.targets.count == 1 ? "" : "s")\(report.world == nil ? "" : " and world.wasm"))"))
        } else if let failure {
            rows.append(("Verification", "FAILED: \(ErrorHints.message(for: failure))"))
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
            } else if report?.kind.isPlatformSlice == true {
                line += "(not in this slice)"
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
