import PARBytes
import PARClaims
import PARContainer

/// Why an archive could not be loaded, verified, extracted or written.
///
/// Every case is a fact about the archive or the request; its message says what is wrong,
/// and what to do where no tool's flag is involved (a command-line tool adds its own). Lower layers' errors are wrapped whole, so a program can match them too.
public enum ProviderArchiveError: Error, Equatable, Sendable, CustomStringConvertible {
    /// A file could not be opened, read, written or renamed.
    case file(FileError)
    /// The tar container is malformed.
    case tar(TarError)
    /// The gzip compression is damaged.
    case gzip(GzipError)
    /// claims.jwt is malformed, badly signed, untrusted, expired or not yet valid.
    case claims(ClaimsError)
    /// The archive has no claims.jwt.
    case missingClaims
    /// An entry name appears more than once.
    case duplicateEntry(String)
    /// An entry is a link, directory, device or other non-regular file.
    case unsupportedEntry(name: String, kind: TarEntry.Kind)
    /// An entry's path is absolute, contains `..`, or is not at the archive root.
    case unsafePath(String)
    /// An entry is none of claims.jwt, world.wasm or TARGET.bin.
    case unexpectedEntry(String)
    /// The archive (or the archive being written) has no target binary.
    case noTargets
    /// A binary's SHA-256 differs from the hash in the claims.
    case hashMismatch(entry: String, claimed: SHA256Hash, actual: SHA256Hash)
    /// A binary (or world.wasm) has no hash in the claims.
    case unclaimedEntry(String)
    /// The claims name a target whose binary is not in the archive.
    case missingTarget(Target)
    /// A full archive was needed, and this is a platform slice: one of several signed targets.
    case platformSlice(Target, signedTargets: Int)
    /// A platform slice was needed, and the archive holds several binaries.
    case notASlice(targets: [Target])
    /// A platform slice holds another target than the one it stands for.
    case wrongSliceTarget(expected: Target, actual: Target)
    /// Platform slices to put together carry different claims.jwt: they are not of one archive.
    case slicesDisagree(String)
    /// Two platform slices to put together hold the same target.
    case duplicateSlice(Target)
    /// The claims hold a hash for world.wasm but the archive has none.
    case missingWorld
    /// The bytes given as the WIT world are not a WebAssembly component.
    case worldNotAComponent(WorldEncoding)
    /// The requested target is not in the archive.
    case targetNotFound(Target, available: [Target])
    /// A binary's file changed between hashing and packing, or the archive while it was updated.
    case fileChanged(String)
    /// A binary is a pipe, device or socket: it cannot be read twice (to hash, then to pack).
    case notARegularFile(path: String, kind: String)
    /// The file to write is one of the files being read (the archive, or a binary).
    case destinationIsInput(String)
    /// The archive has more entries than any provider archive needs.
    case tooManyEntries(limit: Int)
    /// An archive to write would have more targets than a reader accepts.
    case tooManyTargets(count: Int, limit: Int)
    /// More binary bytes come before claims.jwt than a load holds before the signature is known.
    case claimsTooLate(limit: Int)
    /// A builder was asked to copy an archive loaded with only some of its binaries.
    case incompleteLoad(TargetSelection)
    /// Reading from or writing to a caller's stream failed.
    case stream(String)

    public var description: String {
        switch self {
        case .file(let error):
            error.description
        case .tar(let error):
            error.description
        case .gzip(let error):
            error.description
        case .claims(let error):
            error.description
        case .missingClaims:
            "the archive has no claims.jwt: it is not a signed provider archive"
        case .duplicateEntry(let name):
            "the archive holds \(name) more than once: it was tampered with or built wrongly"
        case .unsupportedEntry(let name, let kind):
            "the archive entry \(name) is a \(kind); a provider archive holds regular files only"
        case .unsafePath(let name):
            "the archive entry \(name) is not a plain file name at the archive root; refusing it"
        case .unexpectedEntry(let name):
            "the archive entry \(name) is none of claims.jwt, world.wasm or ARCH-OS.bin"
        case .noTargets:
            "the archive has no target binary: add at least one ARCH-OS.bin"
        case .hashMismatch(let entry, _, _):
            "\(entry) does not match the hash in claims.jwt: the archive was changed after signing"
        case .unclaimedEntry(let name):
            "\(name) has no hash in claims.jwt: it was added after signing; re-sign the archive if you trust it"
        case .missingTarget(let target):
            "claims.jwt names the target \(target), but the archive has no \(target.entryName): the archive is incomplete"
        case .platformSlice(let target, let signed):
            "the archive is a platform slice: it holds 1 of the \(signed) signed targets (\(target)), and a full archive is needed here"
        case .notASlice(let targets):
            "the archive holds \(targets.count) binaries (\(targets.map(\.name).joined(separator: ", "))); a platform slice holds exactly one"
        case .wrongSliceTarget(let expected, let actual):
            "the platform slice for \(expected) holds \(actual.entryName) instead: it was published under the wrong platform"
        case .slicesDisagree(let name):
            "the slice \(name) carries another claims.jwt than the other slices: they are not slices of one signed archive"
        case .duplicateSlice(let target):
            "two slices hold \(target.entryName): an archive holds each target once"
        case .missingWorld:
            "claims.jwt has a hash for world.wasm, but the archive has none: the archive is incomplete"
        case .worldNotAComponent(let encoding):
            "a WIT world must be a WebAssembly component (starting \\0asm 0d 00 01 00); these bytes are \(encoding)"
        case .targetNotFound(let target, let available):
            "the archive has no \(target) binary; it has \(available.isEmpty ? "none" : available.map(\.name).joined(separator: ", "))"
        case .fileChanged(let path):
            "\(path) changed while the archive was written: write the archive again once the file is stable"
        case .notARegularFile(let path, let kind):
            "\(path) is \(kind), not a regular file: write it to a file first, then give that file"
        case .destinationIsInput(let path):
            "\(path) is also an input of this command: choose another destination, so the input is not overwritten"
        case .tooManyEntries(let limit):
            "the archive has more than \(limit) entries, more than a provider archive has: it was not built as one"
        case .tooManyTargets(let count, let limit):
            "\(count) targets are more than the \(limit) a provider archive may hold (readers accept \(ArchiveReader.maximumEntries) entries, claims.jwt and world.wasm included): split them over several archives"
        case .claimsTooLate(let limit):
            "more than \(limit >> 20) MiB of binaries come before claims.jwt, more than a load keeps unverified: verify or extract the archive instead, or repack it with claims.jwt first"
        case .incompleteLoad(let selection):
            "the archive was loaded with \(selection) only, so writing it back would drop the other targets: load it with .all to copy it"
        case .stream(let reason):
            "the byte stream failed: \(reason)"
        }
    }

    /// Wraps any error from a lower layer or a caller's stream.
    static func wrapping(_ error: any Error) -> ProviderArchiveError {
        switch error {
        case let error as ProviderArchiveError: error
        case let error as FileError: .file(error)
        case let error as TarError: .tar(error)
        case let error as GzipError: .gzip(error)
        case let error as ClaimsError: .claims(error)
        default: .stream(String(describing: error))
        }
    }
}
