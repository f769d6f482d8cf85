import Foundation
import PARTestSupport
import PARBytes
import PARClaims
import PARContainer
import PARNKeys
import ProviderArchiveKit
import Testing

/// Each check of a load fails on a crafted archive, with its own error.
@Suite struct RejectionTests {
    let fixture: Fixture
    let binary = pattern(5000)

    init() throws {
        fixture = try Fixture()
    }

    func load(_ bytes: [UInt8], _ selection: TargetSelection = .all, _ policy: VerificationPolicy = .default) -> ProviderArchiveError? {
        archiveError { _ = try ProviderArchive.load(bytes: bytes, selection: selection, policy: policy) }
    }

    @Test func aValidBaselineLoads() throws {
        let bytes = try fixture.tar([("claims.jwt", Array(try fixture.token(hashes: [linux: binary]).utf8)), ("x86_64-linux.bin", binary)])
        #expect(load(bytes) == nil)
    }

    @Test func aBinaryChangedAfterSigningIsCaught() throws {
        var changed = binary
        changed[100] ^= 1
        let bytes = try fixture.tar([("claims.jwt", Array(try fixture.token(hashes: [linux: binary]).utf8)), ("x86_64-linux.bin", changed)])
        #expect(load(bytes) == .hashMismatch(entry: "x86_64-linux.bin", claimed: sha256(binary), actual: sha256(changed)))
        #expect(load(bytes, .only(linux)) == .hashMismatch(entry: "x86_64-linux.bin", claimed: sha256(binary), actual: sha256(changed)))
        #expect(load(bytes, .worldOnly) == .hashMismatch(entry: "x86_64-linux.bin", claimed: sha256(binary), actual: sha256(changed)))
        #expect(load(bytes)?.description == "x86_64-linux.bin does not match the hash in claims.jwt: the archive was changed after signing")
    }

    @Test func rewrittenClaimsFailTheSignature() throws {
        // The attack the reference lets through: new binary, claims edited to match, old signature.
        let evil = pattern(5000, seed: 66)
        let token = try fixture.token(hashes: [linux: binary])
        let forged = try fixture.token(hashes: [linux: evil])
        let parts = token.split(separator: ".")
        let mixed = [forged.split(separator: ".")[0], forged.split(separator: ".")[1], parts[2]].joined(separator: ".")
        let bytes = try fixture.tar([("claims.jwt", Array(mixed.utf8)), ("x86_64-linux.bin", evil)])
        #expect(load(bytes) == .claims(.badSignature))
    }

    @Test func aSelfSignedArchiveIsRefusedByATrustedIssuerSet() throws {
        let stranger = NKeyPair.generate(role: .account)
        let bytes = try fixture.tar([
            ("claims.jwt", Array(try fixture.token(hashes: [linux: binary], signer: stranger).utf8)), ("x86_64-linux.bin", binary),
        ])
        #expect(load(bytes) == nil)
        #expect(load(bytes, .all, VerificationPolicy(trustedIssuers: [fixture.account.publicKey])) == .claims(.untrustedIssuer(stranger.publicKey)))
    }

    @Test func expiredAndNotYetValidClaimsAreRefusedUnlessAllowed() throws {
        let expired = try fixture.tar([("claims.jwt", Array(try fixture.token(hashes: [linux: binary], expires: 1000).utf8)), ("x86_64-linux.bin", binary)])
        guard case .claims(.expired(1000, _))? = load(expired) else {
            Issue.record("expected expiry")
            return
        }
        #expect(load(expired, .all, VerificationPolicy(allowsExpired: true)) == nil)
        let future = try fixture.tar([("claims.jwt", Array(try fixture.token(hashes: [linux: binary], notBefore: 4_000_000_000).utf8)), ("x86_64-linux.bin", binary)])
        guard case .claims(.notYetValid(4_000_000_000, _))? = load(future) else {
            Issue.record("expected not-yet-valid")
            return
        }
        #expect(load(future, .all, VerificationPolicy(validationTime: Date(timeIntervalSince1970: 4_000_000_001))) == nil)
    }

    @Test func aClaimedTargetMissingFromTheArchiveIsCaught() throws {
        let bytes = try fixture.tar([("claims.jwt", Array(try fixture.token(hashes: [linux: binary, mac: [1]]).utf8)), ("x86_64-linux.bin", binary)])
        // One binary of two signed: a platform slice, said as such.
        #expect(load(bytes) == .platformSlice(linux, signedTargets: 2))
        #expect(load(bytes, .only(linux)) == nil)
        #expect(load(bytes, .only(mac)) == .targetNotFound(mac, available: [linux]))
    }

    @Test func aBinaryWithoutAClaimIsCaughtWhereverTheClaimsAre() throws {
        let token = Array(try fixture.token(hashes: [linux: binary]).utf8)
        let claimsFirst = try fixture.tar([("claims.jwt", token), ("x86_64-linux.bin", binary), ("aarch64-macos.bin", [1])])
        let claimsLast = try fixture.tar([("aarch64-macos.bin", [1]), ("x86_64-linux.bin", binary), ("claims.jwt", token)])
        for bytes in [claimsFirst, claimsLast] {
            #expect(load(bytes) == .unclaimedEntry("aarch64-macos.bin"))
            #expect(load(bytes, .only(linux)) == .unclaimedEntry("aarch64-macos.bin"))
        }
    }

    @Test func theWorldIsCheckedLikeABinary() throws {
        let world = pattern(64, seed: 4)
        let token = Array(try fixture.token(hashes: [linux: binary], world: world).utf8)
        #expect(load(try fixture.tar([("claims.jwt", token), ("world.wasm", world), ("x86_64-linux.bin", binary)])) == nil)
        #expect(load(try fixture.tar([("claims.jwt", token), ("world.wasm", [0]), ("x86_64-linux.bin", binary)]))
            == .hashMismatch(entry: "world.wasm", claimed: sha256(world), actual: sha256([0])))
        #expect(load(try fixture.tar([("claims.jwt", token), ("x86_64-linux.bin", binary)])) == .missingWorld)
        let noWorldToken = Array(try fixture.token(hashes: [linux: binary]).utf8)
        #expect(load(try fixture.tar([("claims.jwt", noWorldToken), ("world.wasm", world), ("x86_64-linux.bin", binary)]))
            == .unclaimedEntry("world.wasm"))
    }

    @Test func archivesWithoutClaimsOrTargetsAreRefused() throws {
        #expect(load(try fixture.tar([("x86_64-linux.bin", binary)])) == .missingClaims)
        #expect(load(try fixture.tar([("claims.jwt", Array(try fixture.token(hashes: [:]).utf8))])) == .noTargets)
        #expect(load(endOfArchive) == .missingClaims)
        #expect(load([]) == .missingClaims)
    }

    @Test func duplicateEntriesAreRefused() throws {
        let token = Array(try fixture.token(hashes: [linux: binary]).utf8)
        #expect(load(try fixture.tar([("claims.jwt", token), ("x86_64-linux.bin", binary), ("x86_64-linux.bin", binary)]))
            == .duplicateEntry("x86_64-linux.bin"))
        #expect(load(try fixture.tar([("claims.jwt", token), ("./claims.jwt", token), ("x86_64-linux.bin", binary)]))
            == .duplicateEntry("claims.jwt"))
    }

    @Test func entriesThatAreNotRootRegularFilesAreRefused() throws {
        let token = Array(try fixture.token(hashes: [linux: binary]).utf8)
        let valid = rawEntry(name: "claims.jwt", content: token) + rawEntry(name: "x86_64-linux.bin", content: binary)
        let cases: [([UInt8], ProviderArchiveError)] = [
            (rawHeader(name: "x86_64-linux.bin", type: "2", linkName: "/etc/passwd"), .unsupportedEntry(name: "x86_64-linux.bin", kind: .symbolicLink)),
            (rawHeader(name: "hard.bin", type: "1", linkName: "claims.jwt"), .unsupportedEntry(name: "hard.bin", kind: .hardLink)),
            (rawHeader(name: "sub/", type: "5"), .unsupportedEntry(name: "sub/", kind: .directory)),
            (rawHeader(name: "dev", type: "3"), .unsupportedEntry(name: "dev", kind: .characterDevice)),
            (rawHeader(name: "fifo", type: "6"), .unsupportedEntry(name: "fifo", kind: .fifo)),
            (rawEntry(name: "../x86_64-windows.bin", content: [1]), .unsafePath("../x86_64-windows.bin")),
            (rawEntry(name: "/etc/x86_64-windows.bin", content: [1]), .unsafePath("/etc/x86_64-windows.bin")),
            (rawEntry(name: "nested/x86_64-windows.bin", content: [1]), .unsafePath("nested/x86_64-windows.bin")),
            (rawEntry(name: "..", content: [1]), .unsafePath("..")),
            (rawEntry(name: "README.md", content: [1]), .unexpectedEntry("README.md")),
            (rawEntry(name: "X86-Linux.bin", content: [1]), .unexpectedEntry("X86-Linux.bin")),
            (rawEntry(name: "x86_64-linux.so", content: [1]), .unexpectedEntry("x86_64-linux.so")),
        ]
        for (bad, expected) in cases {
            #expect(load(valid + bad + endOfArchive) == expected)
            #expect(load(bad + valid + endOfArchive, .only(linux)) == expected)
        }
        // The ./ directory entry of `tar -cf x.par .` is fine.
        #expect(load(rawHeader(name: "./", type: "5") + valid + endOfArchive) == nil)
    }

    @Test func anOversizedClaimsEntryIsRefusedWithoutReadingIt() throws {
        let big = [UInt8](repeating: UInt8(ascii: "a"), count: ClaimsToken.maximumSize + 1)
        #expect(load(try fixture.tar([("claims.jwt", big)])) == .claims(.tokenTooLarge(size: big.count, limit: ClaimsToken.maximumSize)))
    }

    @Test func damagedContainersAreReportedAsSuch() throws {
        let fixture = try Fixture()
        let compressed = try fixture.archive(binarySize: 100_000, compression: .gzip)
        guard case .gzip(.truncated)? = load(Array(compressed.prefix(compressed.count - 10))) else {
            Issue.record("expected truncated gzip")
            return
        }
        guard case .gzip? = load(Array(compressed.prefix(20)) + [UInt8](repeating: 0x55, count: 100)) else {
            Issue.record("expected corrupt gzip")
            return
        }
        let plain = try fixture.archive(binarySize: 100_000, compression: .none)
        #expect(load(Array(plain.prefix(3000))) == .tar(.truncated))
        #expect(load(plain + [1]) == .tar(.trailingData(offset: UInt64(plain.count))))
        #expect(load(Array("not an archive at all".utf8) + [UInt8](repeating: 0, count: 600)) == .tar(.truncated) || load(Array("not an archive at all".utf8) + [UInt8](repeating: 0, count: 600)) == .tar(.badChecksum(headerOffset: 0)))
    }

    @Test func errorsTellWhatToDo() {
        #expect(ProviderArchiveError.unclaimedEntry("x86_64-linux.bin").description.contains("re-sign"))
        #expect(ProviderArchiveError.missingTarget(mac).description.contains("aarch64-macos.bin"))
        #expect(ProviderArchiveError.claims(.badSignature).description.contains("changed after signing"))
    }
}

/// Loading one target keeps memory bounded: a 1 GiB binary streams by without being held.
@Suite struct BoundedMemoryTests {
    /// A tar stream generated on the fly: a prefix (claims.jwt and a header), a large binary of
    /// repeated blocks (a multiple of 512 bytes), then a suffix (more entries, the end marker).
    final class GeneratedArchive: ByteSource {
        let prefix: [UInt8]
        let block: [UInt8]
        let size: Int
        let suffix: [UInt8]
        var position = 0

        init(prefix: [UInt8], block: [UInt8], size: Int, suffix: [UInt8]) {
            self.prefix = prefix
            self.block = block
            self.size = size
            self.suffix = suffix
        }

        var total: Int { prefix.count + size + suffix.count }

        func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
            var written = 0
            while written < buffer.count, position < total {
                let byte: UInt8
                if position < prefix.count {
                    byte = prefix[position]
                } else if position < prefix.count + size {
                    // Copy a run of the repeated block in one go.
                    let offset = (position - prefix.count) % block.count
                    let run = min(block.count - offset, buffer.count - written, prefix.count + size - position)
                    block.withUnsafeBytes {
                        UnsafeMutableRawBufferPointer(rebasing: buffer[written..<written + run])
                            .copyMemory(from: UnsafeRawBufferPointer(rebasing: $0[offset..<offset + run]))
                    }
                    written += run
                    position += run
                    continue
                } else {
                    byte = suffix[position - prefix.count - size]
                }
                buffer[written] = byte
                written += 1
                position += 1
            }
            return written
        }
    }

    @Test func verifyingAndLoadingBesideAGiBTargetDoesNotHoldIt() throws {
        let fixture = try Fixture()
        let block = pattern(1 << 20, seed: 11)
        let size = 1 << 30
        var hash = StreamingHashForTests()
        for _ in 0..<(size / block.count) { hash.update(block) }
        let small = pattern(700, seed: 12)
        let metadata = ProviderMetadata(name: "big", vendor: "v", targetHashes: [linux: hash.finalize(), mac: sha256(small)])
        let claims = ProviderClaims(issuer: fixture.account.publicKey, subject: fixture.service.publicKey, metadata: metadata)
        let token = try ClaimsToken(signing: claims, with: fixture.account)
        let head = MemorySink()
        let writer = TarWriter(head)
        try writer.addFile(name: "claims.jwt", contents: Array(token.encoded.utf8), mode: 0o644)
        try writer.beginFile(name: "x86_64-linux.bin", size: UInt64(size), mode: 0o755)

        let tail = MemorySink()
        let tailWriter = TarWriter(tail)
        try tailWriter.addFile(name: "aarch64-macos.bin", contents: small, mode: 0o755)
        try tailWriter.finish()
        let archive = { GeneratedArchive(prefix: head.bytes, block: block, size: size, suffix: tail.bytes) }

        let before = peakResidentBytes()
        let report = try ProviderArchive.verify(from: archive())
        #expect(report.targets[linux]?.size == UInt64(size))
        let loaded = try ProviderArchive.load(from: archive(), selection: .only(mac))
        #expect(loaded.binary(for: mac) == small)
        let after = peakResidentBytes()
        // Holding the binary would add 1 GiB to the peak; streaming adds a few MiB at most.
        #expect(after < before + 256 << 20, "peak RSS grew from \(before >> 20) MiB to \(after >> 20) MiB")
    }
}

/// SHA-256 by the system's sha256sum, fed through a pipe: an independent hash of a stream.
struct StreamingHashForTests {
    private let process = Process()
    private let pipe = Pipe()
    private let output = Pipe()

    init() {
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["sha256sum"]
        process.standardInput = pipe
        process.standardOutput = output
        try? process.run()
    }

    mutating func update(_ bytes: [UInt8]) {
        pipe.fileHandleForWriting.write(Data(bytes))
    }

    func finalize() -> SHA256Hash {
        try? pipe.fileHandleForWriting.close()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return SHA256Hash(hex: String(decoding: data.prefix(64), as: UTF8.self))!
    }
}
