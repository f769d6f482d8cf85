import ArgumentParser
import Foundation
import ProviderArchiveKit

/// `par insert`: add or replace a target in an archive, re-sign, and write it back in place.
struct InsertCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "insert",
        abstract: "Add or replace a target's binary in an archive and re-sign it in place.",
        discussion: """
            The archive is verified first, rewritten atomically (compressed if it was), and left \
            untouched on any failure. Without --subject, the key directory must hold the seed of \
            the archive's current service key, so the provider keeps its identity.
            """
    )

    @Argument(help: "The archive to change.")
    var archive: String

    @Option(name: .shortAndLong, help: "The binary to add.")
    var binary: String

    @Option(name: .shortAndLong, help: "Its target, as ARCH-OS (default: this machine's).")
    var arch: String?

    @OptionGroup(title: "Keys")
    var keys: KeyOptions

    @OptionGroup var output: OutputOptions

    func run() throws {
        let console = Console(format: output.format)
        try console.run {
            let target = try parseTarget(arch)
            // Expired claims are re-signed here, so only the signature and hashes must hold.
            var loaded = try ProviderArchive.load(path: archive, policy: VerificationPolicy(allowsExpired: true))
            guard let claims = loaded.claims else { throw CLIError("\(archive) has no claims") }
            let wasCompressed = try GzipReader.isGzip(FileSource(path: archive).readFully(count: 2))
            try loaded.addBinary(binary, for: target)

            let directory = keys.keyDirectory
            // The subject first: when it cannot be found, fail before generating any key.
            let subject: NKeyPair
            if let value = keys.subjectValue {
                subject = try KeyOptions.parse(value, flag: "--subject", role: .service)
                if subject.publicKey != claims.subject {
                    console.note("note: the archive's service key changes from \(claims.subject) to \(subject.publicKey)")
                }
            } else if let pair = directory.find(claims.subject) {
                subject = pair
            } else {
                throw CLIError("the key directory \(directory.path) has no seed for the archive's service key \(claims.subject): pass --subject SEED|PATH")
            }

            let issuer: NKeyPair
            if let value = keys.issuerValue {
                issuer = try KeyOptions.parse(value, flag: "--issuer", role: .account)
            } else if let pair = directory.find(claims.issuer) {
                issuer = pair
            } else {
                issuer = try keys.resolve(nil, flag: "--issuer", role: .account, name: KeyOptions.userName, console: console)
            }
            let progress = console.progress("packing")
            let sink = try AtomicFileSink(destination: archive, mode: 0o644)
            try loaded.write(
                to: sink, issuer: issuer, subject: subject, compression: wasCompressed ? .gzip : .none,
                progress: { progress.update($0, of: $1) })
            try sink.commit()
            progress.finish()
            switch console.format {
            case .text:
                console.print("Successfully inserted \(binary) as \(target) into \(archive)")
            case .json:
                console.printJSON(.object([
                    ("file", .string(archive)), ("target", .string(target.name)),
                    ("targets", .strings(loaded.targets.map(\.name))),
                ]))
            }
        }
    }
}

extension ByteSource {
    /// Up to `count` first bytes.
    func readFully(count: Int) throws -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: count)
        let read = try bytes.withUnsafeMutableBytes { try readFully(into: $0) }
        return Array(bytes[..<read])
    }
}
