import Foundation
import PARTestSupport
import PARBytes
import PARClaims
import PARContainer
import PARNKeys
import ProviderArchiveKit
import Testing

/// The builder never writes an archive its own load would refuse, and never a wrong one.
@Suite struct BuilderSafetyTests {
    let fixture: Fixture

    init() throws {
        fixture = try Fixture()
    }

    func files() throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: fixture.directory).sorted()
    }

    @Test func pipesAndFifosAreRefusedAsBinaries() throws {
        var builder = ProviderArchiveBuilder(name: "p", vendor: "v")
        let fifo = fixture.path("fifo")
        #expect(mkfifo(fifo, 0o600) == 0)
        // No writer: opening must not wait for one.
        #expect(archiveError { try builder.addBinary(contentsOf: fifo, for: linux) } == .notARegularFile(path: fifo, kind: "a pipe"))
        let pipe = Pipe()
        let stdinLike = "/proc/self/fd/\(pipe.fileHandleForReading.fileDescriptor)"
        #expect(archiveError { try builder.addBinary(contentsOf: stdinLike, for: linux) } == .notARegularFile(path: stdinLike, kind: "a pipe"))
        #expect(archiveError { try builder.addBinary(contentsOf: "/dev/null", for: linux) }
            == .notARegularFile(path: "/dev/null", kind: "a character device"))
        #expect(builder.targets.isEmpty)
    }

    /// The test hook is the public progress handler: it runs between the hash pass and the
    /// pack pass, where it rewrites the binary with other bytes of the same size and puts
    /// the old modification time back, so size and mtime alone would not tell.
    @Test(arguments: [ArchiveCompression.none, .gzip])
    func aSameSizeRewriteBetweenThePassesIsCaught(compression: ArchiveCompression) throws {
        let binary = try fixture.write(pattern(300_000), to: "provider")
        let modified = try #require(try FileManager.default.attributesOfItem(atPath: binary)[.modificationDate] as? Date)
        var builder = ProviderArchiveBuilder(name: "p", vendor: "v")
        try builder.addBinary(contentsOf: binary, for: linux)
        let rewritten = Monitor(false)
        let error = archiveError {
            try builder.write(to: fixture.path("out.par"), issuer: fixture.account, subject: fixture.service, compression: compression) {
                done, _ in
                guard !rewritten.value, done == 300_000 else { return }
                rewritten.withLock { $0 = true }
                try? Data(pattern(300_000, seed: 9)).write(to: URL(fileURLWithPath: binary))
                try? FileManager.default.setAttributes([.modificationDate: modified], ofItemAtPath: binary)
            }
        }
        #expect(rewritten.value)
        #expect(error == .fileChanged(binary))
        #expect(error?.description.contains("changed while the archive was written") == true)
        #expect(try files() == ["provider"])
    }

    /// A plain archive of binaries left alone for a while is written in one read of each:
    /// the progress handler sees each byte once. A binary rewritten during that read (same
    /// size, old modification time put back) is caught by its change time.
    @Test func settledBinariesAreReadOnceAndAChangeDuringTheReadIsCaught() throws {
        let binary = try fixture.write(pattern(3_000_000), to: "provider")
        let world = pattern(100, seed: 3)
        // Older than the settling time: what the one read relies on.
        Thread.sleep(forTimeInterval: Double(ProviderArchiveBuilder.settledSeconds) + 1.2)
        var builder = ProviderArchiveBuilder(name: "p", vendor: "v")
        try builder.addBinary(contentsOf: binary, for: linux)
        builder.addBinary(pattern(1000, seed: 4), for: mac)
        builder.world = world
        let total = Monitor<UInt64>(0)
        let written = try builder.write(to: fixture.path("once.par"), issuer: fixture.account, subject: fixture.service) { _, all in
            total.withLock { $0 = all }
        }
        #expect(total.value == 3_001_000)
        let loaded = try ProviderArchive.load(path: fixture.path("once.par"))
        #expect(loaded.token == written.token)
        #expect(loaded.binary(for: linux) == pattern(3_000_000))
        #expect(loaded.world == world)
        let check = try ExternalTools.runParcheck(["verify", fixture.path("once.par"), "--name", "p"])
        #expect(check.status == 0, "\(check.output)")

        let modified = try #require(try FileManager.default.attributesOfItem(atPath: binary)[.modificationDate] as? Date)
        let rewritten = Monitor(false)
        let error = archiveError {
            try builder.write(to: fixture.path("changed.par"), issuer: fixture.account, subject: fixture.service) { done, _ in
                guard !rewritten.value, done >= 1_000_000 else { return }
                rewritten.withLock { $0 = true }
                try? Data(pattern(3_000_000, seed: 9)).write(to: URL(fileURLWithPath: binary))
                try? FileManager.default.setAttributes([.modificationDate: modified], ofItemAtPath: binary)
            }
        }
        #expect(rewritten.value)
        #expect(error == .fileChanged(binary))
        #expect(try files() == ["once.par", "provider"])
    }

    @Test func claimsOverTheReadersLimitsAreRefusedBeforeWriting() throws {
        var builder = ProviderArchiveBuilder(name: "p", vendor: "v")
        builder.addBinary([1, 2, 3], for: linux)
        let existing = try fixture.write([7], to: "out.par")

        builder.configSchema = .object([("description", .string(String(repeating: "x", count: 800_000)))])
        guard case .claims(.tokenTooLarge(let size, ClaimsToken.maximumSize))? = archiveError({
            try builder.write(to: existing, issuer: fixture.account, subject: fixture.service)
        }) else {
            Issue.record("an 800 KB schema must be refused as too large")
            return
        }
        #expect(size > ClaimsToken.maximumSize)

        // 62 levels of schema inside the claims object and wascap make 64: the most a reader takes.
        builder.configSchema = nested(62)
        #expect(archiveError { try builder.write(to: MemorySink(), issuer: fixture.account, subject: fixture.service) } == nil)
        builder.configSchema = nested(63)
        let error = archiveError { try builder.write(to: existing, issuer: fixture.account, subject: fixture.service) }
        #expect(error == .claims(.nestedTooDeeply(limit: 64)))
        // The same error, and message, as the reader gives for such claims.
        #expect(error?.description.contains("more than 64 levels deep") == true)
        #expect(try fixture.read("out.par") == [7])
        #expect(try files() == ["out.par"])

        let sink = MemorySink()
        builder.configSchema = .number("not a number")
        #expect(archiveError { try builder.write(to: sink, issuer: fixture.account, subject: fixture.service) } != nil)
        #expect(sink.bytes.isEmpty)
    }

    func nested(_ depth: Int) -> JSONValue {
        var value = JSONValue.string("leaf")
        for _ in 0..<depth { value = .array([value]) }
        return value
    }

    @Test func theDestinationCannotBeOneOfTheBinaries() throws {
        let binary = try fixture.write(pattern(1000), to: "provider.par")
        var builder = ProviderArchiveBuilder(name: "p", vendor: "v")
        try builder.addBinary(contentsOf: binary, for: linux)
        #expect(archiveError { try builder.write(to: binary, issuer: fixture.account, subject: fixture.service) } == .destinationIsInput(binary))
        #expect(try fixture.read("provider.par") == pattern(1000))
    }

    @Test func aDestinationNameOf255BytesWorks() throws {
        var builder = ProviderArchiveBuilder(name: "p", vendor: "v")
        builder.addBinary(pattern(100), for: linux)
        let name = String(repeating: "n", count: 251) + ".par"
        let written = try builder.write(to: fixture.path(name), issuer: fixture.account, subject: fixture.service)
        #expect(written.path == fixture.path(name))
        #expect(try ProviderArchive.load(path: fixture.path(name)).binary(for: linux) == pattern(100))
        #expect(try files() == [name])
    }

    /// Many generated archives: every one the builder writes loads, verifies and reads back
    /// as built; every one it refuses leaves nothing behind.
    @Test func everythingTheBuilderWritesLoadsAndVerifies() throws {
        var random = SplitMix64(seed: 0x5EED)
        var written = 0
        for round in 0..<150 {
            var builder = ProviderArchiveBuilder(
                name: random.next() % 5 == 0 ? nil : random.text(), vendor: random.text(),
                revision: random.next() % 3 == 0 ? nil : Int32(truncatingIfNeeded: random.next()),
                version: random.next() % 3 == 0 ? nil : random.text())
            var expected: [Target: [UInt8]] = [:]
            for _ in 0..<(1 + Int(random.next() % 4)) {
                let target = random.target()
                let bytes = random.bytes(count: [0, 1, 511, 512, 513, 5000][Int(random.next() % 6)])
                expected[target] = bytes
                if random.next() % 2 == 0 {
                    builder.addBinary(bytes, for: target)
                } else {
                    try builder.addBinary(contentsOf: try fixture.write(bytes, to: "bin-\(round)-\(target)"), for: target)
                }
            }
            if random.next() % 3 == 0 { builder.world = random.bytes(count: Int(random.next() % 2000)) }
            if random.next() % 2 == 0 { builder.configSchema = random.json(depth: Int(random.next() % 66)) }
            let compression: ArchiveCompression = random.next() % 2 == 0 ? .none : .gzip
            let path = fixture.path("round-\(round).par")
            do {
                let result = try builder.write(to: path, issuer: fixture.account, subject: fixture.service, compression: compression)
                written += 1
                let loaded = try ProviderArchive.load(path: try #require(result.path))
                #expect(loaded.token == result.token)
                #expect(loaded.targets == expected.keys.sorted())
                for (target, bytes) in expected { #expect(loaded.binary(for: target) == bytes) }
                #expect(loaded.world == builder.world)
                // JSON null as a schema means none, as serde reads it.
                #expect(loaded.claims.metadata.configSchema == (builder.configSchema == .null ? nil : builder.configSchema))
                #expect(loaded.claims.metadata.name == builder.name)
                #expect(loaded.claims.metadata.version == builder.version)
                #expect(loaded.claims.metadata.revision == builder.revision)
                #expect(loaded.isCompressed == (compression != .none))
            } catch {
                // The only refusal: a schema nested past what a reader accepts.
                #expect(error as? ProviderArchiveError == .claims(.nestedTooDeeply(limit: 64)), "round \(round): \(error)")
                #expect((builder.configSchema?.depth ?? 0) > 62)
                #expect(!FileManager.default.fileExists(atPath: path) && !FileManager.default.fileExists(atPath: path + ".gz"))
            }
        }
        #expect(written > 100)
        #expect(try files().allSatisfy { !$0.hasPrefix(".par-") })
    }
}

/// A small deterministic generator (SplitMix64), so a failing round can be replayed.
struct SplitMix64 {
    var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    mutating func bytes(count: Int) -> [UInt8] {
        (0..<count).map { _ in UInt8(truncatingIfNeeded: next()) }
    }

    /// Text with what breaks naive writers: quotes, backslashes, control characters, non-ASCII.
    mutating func text() -> String {
        let pieces = ["a", "Z", "0", " ", "\"", "\\", "\n", "\u{1B}[2K", "\u{7F}", "é", "✓", "𝄞", "\u{0301}", "/", "."]
        return (0..<(1 + Int(next() % 12))).map { _ in pieces[Int(next() % UInt64(pieces.count))] }.joined()
    }

    mutating func target() -> Target {
        let architectures = ["x86_64", "aarch64", "riscv64", "arm", "x86"]
        let systems = ["linux", "macos", "windows", "freebsd", "linux-gnu", "unknown-linux-musl"]
        return try! Target(architectures[Int(next() % 5)] + "-" + systems[Int(next() % 6)])
    }

    mutating func json(depth: Int) -> JSONValue {
        guard depth > 0 else {
            switch next() % 5 {
            case 0: return .null
            case 1: return .bool(next() % 2 == 0)
            case 2: return .number(["0", "-1", "3.25", "1e9", "18446744073709551615"][Int(next() % 5)])
            default: return .string(text())
            }
        }
        if next() % 2 == 0 {
            return .array([json(depth: depth - 1)] + (0..<Int(next() % 2)).map { _ in json(depth: 0) })
        }
        return .object([("k\(next() % 100)", json(depth: depth - 1))])
    }
}
