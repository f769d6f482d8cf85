import Foundation
import PARBytes
import PARClaims
import PARHost
import PARNKeys
import PARRegistry
import PARTestSupport
import ProviderArchiveKit
import Testing

let linux = try! Target("x86_64-linux")
let mac = try! Target("aarch64-macos")

/// A folder with a cache in it, archives written by the library, and the events the cache
/// reported.
final class CacheBench: Sendable {
    let directory: String
    let cache: ProviderCache
    let issuer = NKeyPair.generate(role: .account)
    private let seen = Monitor<[CacheEvent]>([])

    init() throws {
        directory = try ExternalTools.temporaryDirectory()
        cache = try ProviderCache(root: directory + "/cache")
    }

    deinit {
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// Records every event.
    var events: CacheEvents { { [seen] event in seen.withLock { $0.append(event) } } }

    /// The events so far.
    var reported: [CacheEvent] { seen.value }

    /// Writes a signed archive with `binary` for Linux (and one for macOS when `macOS`).
    @discardableResult
    func archive(_ name: String = "provider.par", binary: [UInt8], macOS: Bool = false, compressed: Bool = true) throws -> String {
        var builder = ProviderArchiveBuilder(name: "cached", vendor: "tests", version: "1.0.0")
        builder.addBinary(binary, for: linux)
        if macOS { builder.addBinary(binary.reversed(), for: mac) }
        let written = try builder.write(
            to: directory + "/" + name, issuer: issuer, subject: NKeyPair.generate(role: .service),
            compression: compressed ? .gzip : .none)
        return try #require(written.path)
    }

    func prepare(
        _ source: ProviderSource, target: Target = linux, policy: VerificationPolicy = .default, offline: Bool = false,
        registry: ProviderRegistry? = nil
    ) async throws(ProviderCacheError) -> PreparedProvider {
        try await cache.prepare(source, target: target, policy: policy, offline: offline, registry: registry, events: events)
    }

    /// The bytes of a file in the cache.
    func read(_ path: String) throws -> [UInt8] {
        Array(try Data(contentsOf: URL(fileURLWithPath: path)))
    }

    func names(_ folder: String) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: cache.root + "/" + folder).sorted()
    }
}

/// The error an async call threw, as a ProviderCacheError, or nil.
func cacheError(_ body: () async throws -> Void) async -> ProviderCacheError? {
    do {
        try await body()
        return nil
    } catch let error as ProviderCacheError {
        return error
    } catch {
        Issue.record("not a ProviderCacheError: \(error)")
        return nil
    }
}

/// The provider cache, in process: prepares of files and references, what it does with
/// tampering and damage, prune, offline, and many prepares of one source at once.
@Suite(.serialized) struct ProviderCacheTests {
    let bench: CacheBench
    init() throws { bench = try CacheBench() }

    @Test func aFileIsExtractedOnceThenServedFromTheCache() async throws {
        let binary = pattern(300_000, seed: 1)
        let path = try bench.archive(binary: binary)
        let first = try await bench.prepare(.file(path))
        #expect(first.binaryHash == SHA256Hash.of(binary))
        #expect(try bench.read(first.path) == binary)
        #expect(first.archiveDigest == SHA256Hash.of(try bench.read(path)))
        #expect(first.path == bench.cache.root + "/binaries/" + SHA256Hash.of(binary).lowercaseHex)
        let modified = try FileManager.default.attributesOfItem(atPath: first.path)[.modificationDate] as? Date
        let second = try await bench.prepare(.file(path))
        #expect(second.path == first.path && second.claims.metadata.name == "cached")
        // Served, not extracted again: the same file, no temporary left, nothing to report.
        #expect(try FileManager.default.attributesOfItem(atPath: first.path)[.systemFileNumber] as? Int != nil)
        #expect(modified != nil)
        #expect(try bench.names("binaries") == [SHA256Hash.of(binary).lowercaseHex])
        #expect(bench.reported.isEmpty)
    }

    @Test func aTamperedBinaryIsNeverServedButExtractedAgain() async throws {
        let binary = pattern(200_000, seed: 2)
        let path = try bench.archive(binary: binary)
        let binaryPath = try await bench.prepare(.file(path)).path
        #expect(chmod(binaryPath, 0o700) == 0)
        try Data([0x7F, 0x45]).write(to: URL(fileURLWithPath: binaryPath))
        let again = try await bench.prepare(.file(path))
        #expect(try bench.read(again.path) == binary)
        #expect(bench.reported == [.refetchingBinary(path: binaryPath, source: .file(path))])
    }

    @Test func aDamagedClaimsRecordIsRemovedAndRebuilt() async throws {
        let path = try bench.archive(binary: pattern(50_000, seed: 3))
        let prepared = try await bench.prepare(.file(path))
        let record = bench.cache.root + "/claims/" + prepared.archiveDigest.lowercaseHex + ".jwt"
        try Data("not a token".utf8).write(to: URL(fileURLWithPath: record))
        let again = try await bench.prepare(.file(path))
        #expect(again.binaryHash == prepared.binaryHash)
        guard case .rebuildingRecord(let named, _, let source)? = bench.reported.first else {
            Issue.record("no rebuild reported: \(bench.reported)")
            return
        }
        #expect(named == record && source == .file(path))
        #expect(try ClaimsToken(verifying: try bench.read(record)).claims.metadata.name == "cached")
    }

    @Test func aMissingTargetNamesTheTargetsTheArchiveHas() async throws {
        let path = try bench.archive(binary: pattern(10_000, seed: 4))
        let error = await cacheError { _ = try await bench.prepare(.file(path), target: mac) }
        guard case .missingTarget(let missing, let available)? = error else {
            Issue.record("expected a missing target, got \(String(describing: error))")
            return
        }
        #expect(missing == mac && available == [linux])
        #expect(!"\(error!)".contains("--"))
    }

    @Test func anUntrustedIssuerIsRefusedEvenWhenTheBinaryIsCached() async throws {
        let path = try bench.archive(binary: pattern(10_000, seed: 5))
        _ = try await bench.prepare(.file(path))
        let stranger = NKeyPair.generate(role: .account).publicKey
        let error = await cacheError {
            _ = try await bench.prepare(.file(path), policy: VerificationPolicy(trustedIssuers: [stranger]))
        }
        guard case .archive(.claims)? = error else {
            Issue.record("expected the claims refused, got \(String(describing: error))")
            return
        }
    }

    @Test func aDeviceIsRefusedAndAPipeIsSpooledOnce() async throws {
        let error = await cacheError { _ = try await bench.prepare(.file("/dev/zero")) }
        guard case .notAnArchiveFile(let path, let kind)? = error else {
            Issue.record("expected a device refused, got \(String(describing: error))")
            return
        }
        #expect(path == "/dev/zero" && kind == "a character device")
        let binary = pattern(70_000, seed: 6)
        let archive = try bench.archive(binary: binary)
        let pipe = bench.directory + "/fifo"
        #expect(mkfifo(pipe, 0o600) == 0)
        let bytes = try bench.read(archive)
        // The reader first: a named pipe opened before its writer must wait for it, not read
        // as empty. The writer gives up after 10 s without a reader, so a failure never hangs.
        let cache = self.bench
        let preparing = Task { try await cache.prepare(.file(pipe)) }
        try await Task.sleep(for: .milliseconds(300))
        let writer = try WorkerThread {
            var descriptor: Int32 = -1
            let deadline = ContinuousClock.now + .seconds(10)
            while descriptor < 0, ContinuousClock.now < deadline {
                descriptor = open(pipe, O_WRONLY | O_NONBLOCK)
                if descriptor < 0 { usleep(10_000) }
            }
            guard descriptor >= 0 else { return }
            _ = fcntl(descriptor, F_SETFL, 0)
            _ = bytes.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
            close(descriptor)
        }
        let prepared = try await preparing.value
        writer.join()
        #expect(prepared.archiveDigest == SHA256Hash.of(bytes))
        #expect(try bench.read(prepared.path) == binary)
        // The spool was unlinked at once.
        #expect(try bench.names("downloads") == [])
    }

    @Test func somethingThatIsNotARegularFileInTheCacheIsRemoved() async throws {
        let path = try bench.archive(binary: pattern(10_000, seed: 7))
        let digest = SHA256Hash.of(try bench.read(path))
        let record = bench.cache.root + "/claims/" + digest.lowercaseHex + ".jwt"
        #expect(mkfifo(record, 0o600) == 0)
        _ = try await bench.prepare(.file(path))
        #expect(bench.reported.contains(.removedStranger(path: record, kind: "a pipe")))
    }

    @Test func pruneKeepsWhatIsHeldAndRemovesWhatIsNot() async throws {
        let held = try await bench.prepare(.file(try bench.archive("held.par", binary: pattern(40_000, seed: 8))))
        let loose = try await bench.prepare(.file(try bench.archive("loose.par", binary: pattern(60_000, seed: 9))))
        let loosePath = loose.path
        let looseHash = loose.binaryHash
        // Gone from this process: nothing holds the second binary's lock any more.
        _ = consume loose
        let report = try bench.cache.prune(maxSize: 0, events: bench.events)
        #expect(report.binaries.map(\.binaryHash) == [looseHash])
        #expect(report.bytes == 60_000)
        #expect(!FileManager.default.fileExists(atPath: loosePath))
        #expect(FileManager.default.fileExists(atPath: held.path))
        #expect(try bench.cache.entries().map(\.binaryHash) == [held.binaryHash])
    }

    @Test func pruneByAgeGoesByLastUse() async throws {
        let prepared = try await bench.prepare(.file(try bench.archive(binary: pattern(20_000, seed: 10))))
        let path = prepared.path
        _ = consume prepared
        #expect(try bench.cache.prune(olderThan: .seconds(3600)).binaries.isEmpty)
        // Last used two hours ago.
        var times = [timespec(tv_sec: time(nil) - 7200, tv_nsec: 0), timespec(tv_sec: time(nil) - 7200, tv_nsec: 0)]
        #expect(utimensat(AT_FDCWD, path, &times, 0) == 0)
        let entry = try #require(try bench.cache.entries().first)
        #expect(Date().timeIntervalSince(entry.lastUsed) >= 7199)
        #expect(try bench.cache.prune(olderThan: .seconds(3 * 3600)).binaries.isEmpty)
        #expect(try bench.cache.prune(olderThan: .seconds(3600)).binaries.count == 1)
    }

    @Test func entriesListABinaryTwoArchivesShareOnce() async throws {
        let binary = pattern(30_000, seed: 11)
        let first = try await bench.prepare(.file(try bench.archive("a.par", binary: binary)))
        let second = try await bench.prepare(.file(try bench.archive("b.par", binary: binary, compressed: false)))
        #expect(first.archiveDigest != second.archiveDigest)
        let entries = try bench.cache.entries()
        #expect(entries.count == 1)
        #expect(entries.first?.archiveDigests == [first.archiveDigest, second.archiveDigest].sorted { $0.hex < $1.hex })
        #expect(entries.first?.size == 30_000 && entries.first?.target == linux)
    }

    @Test func sixteenConcurrentPreparesOfOneFileExtractOnceAndLeaveTheCooperativePoolFree() async throws {
        let binary = pattern(2_000_000, seed: 12)
        let path = try bench.archive(binary: binary)
        let digest = SHA256Hash.of(try bench.read(path))
        // Hold the archive's lock, as another process filling it would: every prepare waits.
        let lock = open(bench.cache.root + "/locks/" + digest.lowercaseHex, O_RDONLY | O_CREAT | O_CLOEXEC, 0o600)
        #expect(lock >= 0 && flock(lock, LOCK_EX) == 0)
        let bench = self.bench
        let prepares = Task {
            try await withThrowingTaskGroup(of: PreparedProvider.self) { group in
                for _ in 0..<16 { group.addTask { try await bench.prepare(.file(path)) } }
                var prepared: [PreparedProvider] = []
                for try await one in group { prepared.append(one) }
                return prepared
            }
        }
        // A thread, not a task, judges the pool: it can whether or not the pool runs anything.
        // It lets the prepares go (closing the lock) either way, so a blocked pool fails this
        // test instead of hanging it.
        let probeRan = Monitor(false)
        let ranInTime = Monitor<Bool?>(nil)
        let judge = try WorkerThread {
            usleep(300_000)
            _ = Task.detached { probeRan.withLock { $0 = true } }
            let deadline = ContinuousClock.now + .seconds(2)
            while !probeRan.value, ContinuousClock.now < deadline { usleep(1000) }
            ranInTime.withLock { $0 = probeRan.value }
            close(lock)
        }
        let prepared = try await prepares.value
        judge.join()
        // Sixteen prepares waited for the lock, and the cooperative pool still ran other work.
        #expect(ranInTime.value == true)
        #expect(prepared.count == 16)
        #expect(Set(prepared.map(\.path)).count == 1)
        #expect(try bench.read(prepared[0].path) == binary)
        #expect(try bench.names("binaries") == [SHA256Hash.of(binary).lowercaseHex])
    }
}

/// References: pulled once, then served from the cache, offline too; many prepares of one
/// reference at once download it once.
@Suite struct ProviderCacheReferenceTests {
    let bench: CacheBench
    let registry: LocalRegistry
    let client = ProviderRegistry(insecure: true)

    init() throws {
        bench = try CacheBench()
        registry = try LocalRegistry.dedicated()
    }

    /// Pushes an archive and returns its tag reference, its digest-pinned reference and the
    /// archive layer's digest.
    func pushed(_ repository: String, binary: [UInt8]) async throws -> (ImageReference, ImageReference, String) {
        let path = try bench.archive(repository.replacingOccurrences(of: "/", with: "-") + ".par", binary: binary)
        let tag = try ImageReference("\(registry.address)/\(repository):1.0.0")
        let result = try await client.push(archiveAt: path, to: tag)
        let pinned = try ImageReference("\(registry.address)/\(repository)@\(result.manifestDigest.ociDigest)")
        return (tag, pinned, SHA256Hash.of(try bench.read(path)).ociDigest)
    }

    @Test func aTagIsPulledOnceThenServedOfflineAndDamageOfflineIsNamed() async throws {
        let binary = pattern(100_000, seed: 20)
        let (tag, _, layer) = try await pushed("cache/offline", binary: binary)
        let missing = await cacheError { _ = try await bench.prepare(.reference(tag), offline: true) }
        guard case .notCached(let named)? = missing else {
            Issue.record("expected not cached, got \(String(describing: missing))")
            return
        }
        #expect(named == tag.description)
        let first = try await bench.prepare(.reference(tag), registry: client)
        #expect(try bench.read(first.path) == binary)
        let warm = try await bench.prepare(.reference(tag), registry: client)
        #expect(warm.path == first.path)
        #expect(try registry.blobDownloads(layer) == 1)
        let offline = try await bench.prepare(.reference(tag), offline: true)
        #expect(offline.binaryHash == first.binaryHash)
        // A damaged manifest record offline: named, removed, refused.
        for name in try bench.names("refs") {
            try Data("garbage".utf8).write(to: URL(fileURLWithPath: bench.cache.root + "/refs/" + name))
        }
        let damaged = await cacheError { _ = try await bench.prepare(.reference(tag), offline: true) }
        guard case .damagedRecord(let path, let reason)? = damaged else {
            Issue.record("expected a damaged record, got \(String(describing: damaged))")
            return
        }
        #expect(path.hasPrefix(bench.cache.root + "/refs/") && reason == "not a digest")
        // Online, it is rebuilt, with one more download.
        _ = try await bench.prepare(.reference(tag), registry: client)
        #expect(try registry.blobDownloads(layer) == 2)
    }

    @Test func sixteenConcurrentPreparesOfOneReferenceDownloadOnce() async throws {
        let binary = pattern(1_500_000, seed: 21)
        let (_, pinned, layer) = try await pushed("cache/concurrent", binary: binary)
        let (bench, client) = (self.bench, self.client)
        let prepared = try await withThrowingTaskGroup(of: PreparedProvider.self) { group in
            for _ in 0..<16 { group.addTask { try await bench.prepare(.reference(pinned), registry: client) } }
            var prepared: [PreparedProvider] = []
            for try await one in group { prepared.append(one) }
            return prepared
        }
        #expect(prepared.count == 16 && Set(prepared.map(\.path)).count == 1)
        #expect(try bench.read(prepared[0].path) == binary)
        #expect(try registry.blobDownloads(layer) == 1)
    }
}

/// The registry's rule reaches a host that embeds the cache: a moving `latest` is taken only
/// when the registry client allows it.
@Suite struct ProviderCacheLatestTests {
    @Test func aLatestTagIsRefusedByDefaultBeforeAnyRequest() async throws {
        let bench = try CacheBench()
        // Nothing listens there: the refusal comes before any request.
        let client = ProviderRegistry(insecure: true)
        for text in ["127.0.0.1:9/providers/p:latest", "127.0.0.1:9/providers/p"] {
            let error = await cacheError { _ = try await bench.prepare(.reference(try ImageReference(text)), registry: client) }
            guard case .registry(.latestRefused(let reference))? = error else {
                Issue.record("expected latest refused, got \(String(describing: error))")
                continue
            }
            #expect(reference.description.hasPrefix("127.0.0.1:9/providers/p"))
        }
        // Offline, with no client: refused too, unless the caller allows it.
        let latest = try ImageReference("127.0.0.1:9/providers/p:latest")
        let offline = await cacheError { _ = try await bench.prepare(.reference(latest), offline: true) }
        guard case .registry(.latestRefused)? = offline else {
            Issue.record("expected latest refused offline, got \(String(describing: offline))")
            return
        }
        let allowed = await cacheError {
            _ = try await bench.cache.prepare(.reference(latest), offline: true, allowsLatest: true)
        }
        guard case .notCached? = allowed else {
            Issue.record("expected not cached, got \(String(describing: allowed))")
            return
        }
        await client.shutdown()
    }

    /// A layout's entry named `latest` moves as the tag does: refused by default before the
    /// layout is read; allowed, the layout is read (here it is missing).
    @Test func aLayoutEntryNamedLatestIsRefusedByDefault() async throws {
        let bench = try CacheBench()
        let layout = OCILayoutReference(kind: .folder, path: bench.directory + "/no-layout", tag: "latest")
        let refused = await cacheError { _ = try await bench.cache.prepare(.layout(layout)) }
        guard case .registry(.latestNameRefused(layout))? = refused else {
            Issue.record("expected latest refused, got \(String(describing: refused))")
            return
        }
        let allowed = await cacheError { _ = try await bench.cache.prepare(.layout(layout), allowsLatest: true) }
        guard case .registry(.invalidLayout)? = allowed else {
            Issue.record("expected the missing layout, got \(String(describing: allowed))")
            return
        }
    }
}
