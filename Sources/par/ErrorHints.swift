import PARContainer
import PARHost
import PARNKeys
import PARRegistry
import ProviderArchiveKit

/// The line `par` prints for a failure: the library's statement of the fault, then what to
/// do about it with par's own flags, environment variables and commands. The libraries
/// state facts only; the advice that names a par flag lives here, in one place.
enum ErrorHints {
    /// The message for `error`: its description, with par's advice added after it.
    ///
    /// - Parameter error: Any error a command threw.
    /// - Returns: One line, as `par` prints it after `error: `.
    static func message(for error: any Error) -> String {
        // The library names the value; which variable held it is par's to say.
        let variable = error is InflateBackendError ? "PAR_INFLATE=" : ""
        return variable + "\(error)" + (hint(for: error) ?? "")
    }

    /// What par adds after an error's description, when it has advice; errors that wrap
    /// another end with its description, so the wrapped error's advice follows it.
    ///
    /// - Parameter error: Any error a command threw.
    /// - Returns: The text to append, starting with its own punctuation, or `nil`.
    static func hint(for error: any Error) -> String? {
        switch error {
        case let error as RegistryError: hint(for: error)
        case let error as ProviderArchiveError: hint(for: error)
        case let error as KeyFileError: hint(for: error)
        case let error as ProviderCacheError: hint(for: error)
        case is InflateBackendError: ": set it to zlib or isal, or unset it"
        default: nil
        }
    }

    private static func hint(for error: ProviderCacheError) -> String? {
        switch error {
        case .registry(let error): hint(for: error)
        case .archive(let error): hint(for: error)
        case .unsafeFolder(_, .notAFolder): ": remove it, or set PAR_CACHE_DIR to another folder"
        case .unsafeFolder(_, .ownedByAnotherUser): ": use a cache folder of your own (PAR_CACHE_DIR), or chown it to yourself"
        case .unsafeFolder(let path, .writableByOthers): ": chmod 700 \(path)"
        case .missingTarget: ": pass --target to run another, or add this one with par insert"
        case .notCached: ": run it once online first"
        case .tampered, .damagedRecord: "; run once online"
        case .notAnArchiveFile: ": give an archive file, a pipe or a registry reference"
        case .changedWhileRead: ": run again once it is written"
        case .notARegularFile: ": remove it by hand"
        default: nil
        }
    }

    private static func hint(for error: RegistryError) -> String? {
        switch error {
        case .latestRefused: ": name a version tag, or pass --allow-latest on purpose"
        case .latestNameRefused: ": name a version, or pass --allow-latest on purpose"
        case .invalidLayout(_, .destinationNameNeeded): ": give one (oci:PATH:NAME, oci-archive:FILE:NAME)"
        case .unreachable: ": check the address, and use --insecure for a plain-HTTP registry"
        case .untrustedCertificate: ": if it uses a private CA, pass --ca-file CA.pem"
        case .stalled: ", or allow more with --timeout"
        case .unauthorized(_, credentialsGiven: true): ": check --user and the password, or your docker login"
        case .unauthorized(_, credentialsGiven: false):
            ": pass --user and --password-stdin (or WASH_REG_USER, WASH_REG_PASSWORD), or docker login"
        case .credentialHelper: ", or pass --user and --password-stdin"
        case .dockerConfig: "; fix it, or set DOCKER_CONFIG to another folder"
        case .noSliceForTarget: ": choose one with --target"
        case .invalidArchive(let archive), .invalidSlice(_, _, let archive): hint(for: archive)
        default: nil
        }
    }

    private static func hint(for error: ProviderArchiveError) -> String? {
        switch error {
        case .platformSlice: "; rebuild it from all the slices (par pull --all-targets)"
        case .claimsTooLate: " (par create and par insert write it first)"
        default: nil
        }
    }

    private static func hint(for error: KeyFileError) -> String? {
        switch error {
        case .notAFolder: ": point -d/--directory or WASH_KEYS at a folder"
        default: nil
        }
    }
}
