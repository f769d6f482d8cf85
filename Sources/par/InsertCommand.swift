import ArgumentParser
import Foundation
import PARBytes
import PARClaims
import PARNKeys
import ProviderArchiveKit

/// `par insert`: add or replace a target in an archive, re-sign, and write it back in place.
struct InsertCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "insert",
        abstract: "Add or replace a target's binary in an archive and re-sign it in place.",
        discussion: """
            The archive is streamed through (every hash checked), rewritten atomically \
            (compressed if it was, with its mode and owner), and left untouched on any failure. \
            Inserts into one archive run one at a time: an insert waits for the archive's lock. \
            Without --subject, the key directory must hold the seed of the archive's current \
            service key, so the provider keeps its identity.
            """
    )

    @Argument(help: "The archive to change.")
    var archive: String

    @Option(name: .shortAndLong, help: "The binary to add.")
    var binary: String

    @Option(name: .shortAndLong, help: "Its target, as ARCH-OS (default: this machine's).", transform: Target.parsing)
    var arch: Target = .native

    @OptionGroup(title: "Keys") var keys: KeyOptions

    @OptionGroup var output: OutputOptions

    func run() throws {
        try output.run { console in
            let target = arch
            let written: WrittenArchive
            do {
                written = try console.withProgress("inserting") { progress in
                    try ProviderArchive.insert(
                        binaryAt: binary, for: target, intoArchiveAt: archive,
                        signingKeys: { claims in try signingKeys(for: claims, console: console) },
                        onWait: { console.note("waiting for another process to finish with \(archive)...") },
                        progress: progress)
                }
            } catch ProviderArchiveError.file(let error) where error.path == binary {
                throw CLIError("--binary: \(ErrorHints.message(for: error))")
            } catch let error as ProviderArchiveError {
                guard case .notARegularFile = error else { throw error }
                throw CLIError("--binary: \(ErrorHints.message(for: error))")
            }
            return CommandResult(
                text: ["Successfully inserted \(binary) into archive \(archive) as \(target)"],
                json: [
                    ("file", .string(archive)), ("target", .string(target.name)),
                    ("targets", .strings(written.targets.keys.sorted().map(\.name))),
                ])
        }
    }

    /// The keys to re-sign with, given the archive's current claims: the service key stays
    /// the provider's identity unless --subject changes it on purpose.
    private func signingKeys(for claims: ProviderClaims, console: Console) throws -> (issuer: NKeyPair, subject: NKeyPair) {
        let directory = keys.directory.keyDirectory
        // The subject first: when it cannot be found, fail before generating any key.
        let subject: NKeyPair
        if let value = keys.subjectValue {
            subject = try KeyOptions.parse(value, flag: "--subject", role: .service)
            if subject.publicKey != claims.subject {
                console.note("note: the archive's service key changes from \(claims.subject) to \(subject.publicKey)")
            }
        } else if let pair = try directory.find(claims.subject) {
            subject = pair
        } else {
            throw CLIError("the key directory \(directory.path) has no seed for the archive's service key \(claims.subject): pass --subject SEED|PATH")
        }
        let issuer: NKeyPair
        if let value = keys.issuerValue {
            issuer = try KeyOptions.parse(value, flag: "--issuer", role: .account)
        } else if let pair = try directory.find(claims.issuer) {
            issuer = pair
        } else {
            issuer = try keys.resolve(nil, flag: "--issuer", role: .account, name: try KeyOptions.userName(), console: console)
        }
        return (issuer, subject)
    }
}
