import PARBytes
import PARClaims
import PARHost
import PARNKeys
import PARRegistry
import ProviderArchiveKit
import Testing

@testable import par

/// The libraries state faults; par adds its flags. The line printed is the one par printed
/// when the advice was in the libraries' messages.
@Suite struct ErrorHintsTests {
    @Test func registryErrorsGetParsAdvice() throws {
        let latest = try ImageReference("localhost:5000/providers/p:latest")
        let cases: [(RegistryError, String)] = [
            (.latestRefused(latest), "localhost:5000/providers/p:latest uses the tag 'latest' or none: name a version tag, or pass --allow-latest on purpose"),
            (.unreachable(registry: "r", reason: "refused"), "cannot reach the registry r (refused): check the address, and use --insecure for a plain-HTTP registry"),
            (.untrustedCertificate(registry: "r", reason: "x"), "the registry r failed TLS verification (x): if it uses a private CA, pass --ca-file CA.pem"),
            (.stalled(registry: "r", window: .seconds(30), minimumBytes: 1024), "the registry stopped sending data: r moved less than 1024 bytes in 30 s; try again later, or allow more with --timeout"),
            (.unauthorized(registry: "r", credentialsGiven: true), "the registry r refused the credentials (401): check --user and the password, or your docker login"),
            (.unauthorized(registry: "r", credentialsGiven: false), "the registry r requires credentials (401): pass --user and --password-stdin (or WASH_REG_USER, WASH_REG_PASSWORD), or docker login"),
            (.credentialHelper(name: "pass", reason: "exit 1"), "the docker credential helper pass failed: exit 1; check the helper, or pass --user and --password-stdin"),
            (.noSliceForTarget(try Target("riscv64-linux"), available: []), "the image index has no slice for riscv64-linux (linux/riscv64); it has none: choose one with --target"),
            (
                .latestNameRefused(OCILayoutReference(kind: .folder, path: "d", tag: "latest")),
                "oci:d:latest names the entry 'latest': name a version, or pass --allow-latest on purpose"
            ),
            (
                .invalidLayout(path: "d", problem: .destinationNameNeeded),
                RegistryError.invalidLayout(path: "d", problem: .destinationNameNeeded).description + ": give one (oci:PATH:NAME, oci-archive:FILE:NAME)"
            ),
        ]
        for (error, line) in cases {
            #expect(ErrorHints.message(for: error) == line)
            // The library's own words are the fact alone.
            #expect(line.hasPrefix(error.description) && !error.description.contains("--"))
        }
    }

    @Test func wrappedErrorsKeepTheirAdvice() throws {
        let slice = ProviderArchiveError.platformSlice(try Target("x86_64-linux"), signedTargets: 2)
        #expect(
            ErrorHints.message(for: RegistryError.invalidArchive(slice))
                == "the archive is not valid: the archive is a platform slice: it holds 1 of the 2 signed targets (x86_64-linux), and a full archive is needed here; rebuild it from all the slices (par pull --all-targets)")
        #expect(ErrorHints.message(for: ProviderArchiveError.claimsTooLate(limit: 64 << 20)).hasSuffix(
            "or repack it with claims.jwt first (par create and par insert write it first)"))
        #expect(
            ErrorHints.message(for: KeyFileError.notAFolder("/k"))
                == "the key directory /k is not a folder: point -d/--directory or WASH_KEYS at a folder")
        #expect(ErrorHints.message(for: RegistryError.forbidden(registry: "r")) == RegistryError.forbidden(registry: "r").description)
    }

    @Test func cacheErrorsGetParsAdvice() throws {
        let linux = try Target("x86_64-linux")
        let cases: [(ProviderCacheError, String)] = [
            (.unsafeFolder(path: "/c", problem: .notAFolder), "the cache folder /c is not a folder, so a binary in it could be replaced by someone else: remove it, or set PAR_CACHE_DIR to another folder"),
            (.unsafeFolder(path: "/c", problem: .ownedByAnotherUser(owner: 7, thisUser: 0)), "the cache folder /c belongs to user 7, not to this user (0), so a binary in it could be replaced by someone else: use a cache folder of your own (PAR_CACHE_DIR), or chown it to yourself"),
            (.unsafeFolder(path: "/c", problem: .writableByOthers(mode: 0o40777)), "the cache folder /c is writable by its group or by others (mode 777), so a binary in it could be replaced by someone else: chmod 700 /c"),
            (.missingTarget(try Target("riscv64-linux"), available: [linux]), "the archive has no binary for riscv64-linux, which this machine needs; it has x86_64-linux: pass --target to run another, or add this one with par insert"),
            (.notCached("r/p:1"), "r/p:1 is not in the cache, and the registry may not be reached (offline): run it once online first"),
            (.damagedRecord(path: "/c/refs/x", reason: "not a digest"), "the cache record /c/refs/x was damaged (not a digest): it was removed, and cannot be rebuilt offline; run once online"),
            (.notAnArchiveFile(path: "/dev/zero", kind: "a character device"), "/dev/zero is a character device, not an archive file: give an archive file, a pipe or a registry reference"),
            (.changedWhileRead(path: "p.par"), "p.par changed while it was read: run again once it is written"),
        ]
        for (error, line) in cases {
            #expect(ErrorHints.message(for: error) == line)
            #expect(line.hasPrefix(error.description) && !error.description.contains("--") && !error.description.contains("PAR_"))
        }
    }
}
