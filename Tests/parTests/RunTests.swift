import Foundation
import PARBytes
import PARClaims
import PARNKeys
import PARTestSupport
import ProviderArchiveKit
import Testing

/// `par run` starts a provider as the wasmCloud 1.x host does, from a verified cache: a test
/// provider compiled here records what it got.
@Suite struct RunTests {
    let provider: RecordingProvider
    var work: Workspace { provider.work }

    init() throws {
        provider = try RecordingProvider()
    }

    var cache: String { work.path("cache") }
    var record: String { provider.record }

    /// An archive holding a test provider for this machine.
    @discardableResult
    func makeArchive(_ name: String = "provider.par", exitCode: Int32 = 7, waits: Bool = false) throws -> String {
        try provider.archive(name, exitCode: exitCode, waits: waits)
    }

    /// What the provider recorded: the raw first line (its bytes up to and without the `\n`),
    /// its arguments, environment and whether its input ended there.
    func recorded() throws -> (line: [UInt8], argv: [String], env: [String], ended: Bool) {
        let bytes = Array(try Data(contentsOf: URL(fileURLWithPath: record)))
        let split = bytes.split(separator: 0x0A, omittingEmptySubsequences: false)
        let lines = split.dropFirst().map { String(decoding: $0, as: UTF8.self) }
        return (
            Array(split.first ?? []), lines.filter { $0.hasPrefix("argv ") }.map { String($0.dropFirst(5)) },
            lines.filter { $0.hasPrefix("env ") }.map { String($0.dropFirst(4)) }, lines.contains("ended 1")
        )
    }

    @Test func theProviderGetsTheHostDataAsTheHostSendsItAndItsExitCodeIsPars() throws {
        try makeArchive()
        let host = NKeyPair.generate(role: .server).publicKey.encoded
        let result = try work.par(
            ["run", "provider.par", "--cache-dir", "cache", "--host-id", host, "--lattice-url", "nats://10.0.0.1:4222",
             "--config", "port=8080", "--config", "mode=test", "--log-level", "debug"],
            environment: ["RUST_LOG": "debug", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector", "SECRET": "do-not-pass"])
        #expect(result.status == 7, "\(result.error)")
        let got = try recorded()
        // One line: base64 (standard, padded), then CRLF, then the end of the input.
        #expect(got.line.last == 0x0D)
        #expect(got.ended)
        let decoded = try #require(Data(base64Encoded: Data(got.line.dropLast())))
        let json = try JSONValue(parsing: Array(decoded))
        guard case .object(let members) = json else {
            Issue.record("host data is not an object")
            return
        }
        #expect(members.map(\.key) == [
            "host_id", "lattice_rpc_prefix", "link_name", "lattice_rpc_user_jwt", "lattice_rpc_user_seed", "lattice_rpc_url",
            "provider_key", "env_values", "instance_id", "link_definitions", "cluster_issuers", "config", "secrets",
            "host_xkey_public_key", "provider_xkey_private_key", "structured_logging", "log_level", "otel_config",
        ])
        #expect(json["provider_key"] == .string(provider.service.publicKey.encoded))
        #expect(json["host_id"] == .string(host))
        #expect(json["link_name"] == .string("default"))
        #expect(json["lattice_rpc_prefix"] == .string("default"))
        #expect(json["lattice_rpc_url"] == .string("nats://10.0.0.1:4222"))
        #expect(json["config"] == .object([("mode", .string("test")), ("port", .string("8080"))]))
        #expect(json["env_values"] == .object([]))
        #expect(json["link_definitions"] == .array([]))
        #expect(json["log_level"] == .string("debug"))
        if case .string(let instance)? = json["instance_id"] {
            #expect(UUID(uuidString: instance) != nil && instance == instance.lowercased())
        } else {
            Issue.record("no instance_id")
        }
        // No arguments but its path; only RUST_LOG and OTEL_* from the environment.
        #expect(got.argv.count == 1)
        #expect(got.env.sorted() == ["OTEL_EXPORTER_OTLP_ENDPOINT=http://collector", "RUST_LOG=debug"])
    }

    @Test func aSignalReachesTheProviderWhichIsParItself() throws {
        try makeArchive(waits: true)
        let running = try work.start(["run", "provider.par", "--cache-dir", "cache"])
        for _ in 0..<200 where !FileManager.default.fileExists(atPath: record) { usleep(50_000) }
        #expect(FileManager.default.fileExists(atPath: record), "the provider did not start")
        running.signal(SIGTERM)
        #expect(running.finish().status == -SIGTERM)
    }

    @Test func aChangedCachedBinaryIsNeverRunAndIsFetchedAgain() throws {
        try makeArchive()
        #expect(try work.par(["run", "provider.par", "--cache-dir", "cache"]).status == 7)
        let binaries = try FileManager.default.contentsOfDirectory(atPath: cache + "/binaries")
        #expect(binaries.count == 1)
        let binary = cache + "/binaries/" + binaries[0]
        var bytes = try Array(Data(contentsOf: URL(fileURLWithPath: binary)))
        bytes[bytes.count / 2] ^= 0xFF
        try Data(bytes).write(to: URL(fileURLWithPath: binary))
        try FileManager.default.removeItem(atPath: record)
        let again = try work.par(["run", "provider.par", "--cache-dir", "cache"])
        #expect(again.status == 7, "\(again.error)")
        #expect(again.error.contains("no longer matches its signed hash"))
        // What ran is the archive's binary again, not the changed one.
        #expect(try Array(Data(contentsOf: URL(fileURLWithPath: binary))) != bytes)
    }

    @Test func aMissingTargetSaysWhatTheArchiveHasAndWhatIsNeeded() throws {
        try makeArchive()
        expectFailure(
            try work.par(["run", "provider.par", "--cache-dir", "cache", "--target", "riscv64-linux"]),
            saying: "has no binary for riscv64-linux, which this machine needs; it has \(Target.native)")
    }

    @Test func aCacheOthersCouldChangeIsRefused() throws {
        try makeArchive()
        try FileManager.default.createDirectory(atPath: cache, withIntermediateDirectories: false)
        #expect(chmod(cache, 0o777) == 0)
        expectFailure(try work.par(["run", "provider.par", "--cache-dir", "cache"]), saying: "chmod 700")
        #expect(!FileManager.default.fileExists(atPath: record))
    }

    /// Giving a folder to another user takes root.
    @Test(.enabled(if: getuid() == 0, "giving the cache folder to another user needs root; run the tests as root to check it"))
    func aCacheAnotherUserOwnsIsRefused() throws {
        try makeArchive()
        try FileManager.default.createDirectory(atPath: cache, withIntermediateDirectories: false)
        #expect(chown(cache, 65534, 65534) == 0)
        expectFailure(try work.par(["run", "provider.par", "--cache-dir", "cache"]), saying: "belongs to user 65534")
        expectFailure(try work.par(["run", "provider.par", "--cache-dir", "cache"]), saying: "chown it to yourself")
        #expect(!FileManager.default.fileExists(atPath: record))
    }

    @Test func pruneKeepsWhatARunningProviderUses() throws {
        try makeArchive("other.par")
        #expect(try work.par(["run", "other.par", "--cache-dir", "cache"]).status == 7)
        try FileManager.default.removeItem(atPath: record)
        try makeArchive("waiting.par", waits: true)
        let running = try work.start(["run", "waiting.par", "--cache-dir", "cache"])
        for _ in 0..<200 where !FileManager.default.fileExists(atPath: record) { usleep(50_000) }
        let pruned = try work.par(["cache", "prune", "--max-size", "0", "--cache-dir", "cache", "-o", "json"])
        #expect(pruned.status == 0, "\(pruned.error)")
        let left = try FileManager.default.contentsOfDirectory(atPath: cache + "/binaries")
        #expect(left.count == 1, "left: \(left)")
        // The running provider is still there, and signals still reach it.
        running.signal(SIGTERM)
        #expect(running.finish().status == -SIGTERM)
        let listed = try JSONValue(parsing: Array(try work.par(["cache", "list", "--cache-dir", "cache", "-o", "json"]).output.utf8))
        guard case .array(let entries)? = listed["entries"] else {
            Issue.record("no entries")
            return
        }
        #expect(entries.count == 1)
        #expect(try work.par(["cache", "dir", "--cache-dir", "cache"]).output == "cache\n")
    }

    @Test func eightRunsOfOneReferenceDownloadOnceAndDigestsStartOffline() throws {
        let registry = try LocalRegistry.dedicated()
        try makeArchive("provider.par", exitCode: 3)
        let reference = "\(registry.address)/providers/run-test:1.0.0"
        let pushed = try work.par(["push", reference, "provider.par", "--insecure", "-o", "json"])
        #expect(pushed.status == 0, "\(pushed.error)")
        let layer = try ExternalTools.run(["skopeo", "inspect", "--raw", "--tls-verify=false", "docker://\(reference)"])
        let manifest = try JSONValue(parsing: layer.outputBytes)
        guard case .array(let layers)? = manifest["layers"], case .string(let layerDigest)? = layers.first?["digest"],
            case .string(let manifestDigest)? = try JSONValue(parsing: Array(pushed.output.utf8))["digest"]
        else {
            Issue.record("no layer or manifest digest")
            return
        }
        let runs = try (0..<8).map { _ in try work.start(["run", reference, "--insecure", "--cache-dir", "cache"]) }
        for run in runs {
            let result = run.finish()
            #expect(result.status == 3, "\(result.error)")
        }
        #expect(try registry.blobDownloads(layerDigest) == 1)

        registry.stop()
        let byDigest = try work.par(["run", "\(registry.address)/providers/run-test@\(manifestDigest)", "--cache-dir", "cache"])
        #expect(byDigest.status == 3, "\(byDigest.error)")
        let offline = try work.par(["run", reference, "--offline", "--cache-dir", "cache"])
        #expect(offline.status == 3, "\(offline.error)")
        // Offline, a cached binary that changed cannot be fetched again: it is refused, not run.
        let binaries = try FileManager.default.contentsOfDirectory(atPath: cache + "/binaries")
        #expect(binaries.count == 1)
        try Data(pattern(100)).write(to: URL(fileURLWithPath: cache + "/binaries/" + binaries[0]))
        try FileManager.default.removeItem(atPath: record)
        expectFailure(try work.par(["run", reference, "--offline", "--cache-dir", "cache"]), saying: "it was removed, not run")
        #expect(!FileManager.default.fileExists(atPath: record))
        // `latest` only on purpose, as pull.
        expectFailure(try work.par(["run", "\(registry.address)/providers/run-test", "--offline", "--cache-dir", "cache"]), saying: "--allow-latest")
        // A tag never resolved is not in the cache: offline refuses it, in one line.
        expectFailure(
            try work.par(["run", "\(registry.address)/providers/run-test:2.0.0", "--offline", "--cache-dir", "cache"]),
            saying: "is not in the cache")
    }

    /// From an image layout (a folder or a tar, a plain manifest or slices): cached by the
    /// manifest's digest, so the second start pulls nothing out of the layout again.
    @Test func runStartsFromImageLayouts() throws {
        try makeArchive()
        for (layout, flags) in [("oci:\(work.path("layout")):1.0", ["--platform-slices"]), ("oci-archive:\(work.path("layout.tar")):2.0", [])] {
            #expect(try work.par(["push", layout, "provider.par"] + flags).status == 0)
            let first = try work.par(["run", layout, "--cache-dir", "cache"])
            #expect(first.status == 7, "\(first.error)")
            let downloads = try FileManager.default.contentsOfDirectory(atPath: work.path("cache/downloads"))
            #expect(downloads.filter { !$0.hasPrefix(".") && $0 != "spool" }.isEmpty, "\(downloads)")
            if layout.hasPrefix("oci:") {
                // The archive layers go: the second start reads the layout's index.json only.
                let blobs = work.path("layout/blobs/sha256")
                for name in try FileManager.default.contentsOfDirectory(atPath: blobs)
                where try FileManager.default.attributesOfItem(atPath: blobs + "/" + name)[.size] as? Int ?? 0 > 4096 {
                    try FileManager.default.removeItem(atPath: blobs + "/" + name)
                }
            }
            let second = try work.par(["run", layout, "--cache-dir", "cache"])
            #expect(second.status == 7, "\(second.error)")
        }
        expectFailure(try work.par(["run", "oci:\(work.path("layout")):9.9", "--cache-dir", "cache"]), saying: "it has no entry named 9.9")
    }

    @Test func aKilledDownloadLeavesNothingALaterRunTrusts() throws {
        let archive = try makeArchive(exitCode: 5)
        let dripping = try BadRegistry("dripping-blob", blob: archive)
        let running = try work.start(["run", "\(dripping.address)/bad/provider:1.0.0", "--insecure", "--cache-dir", "cache"])
        for _ in 0..<200 where !(try dripping.requests().contains { $0.method == "GET" && $0.path.contains("/blobs/") }) {
            usleep(50_000)
        }
        usleep(1_500_000)
        running.signal(SIGKILL)
        #expect(running.finish().status == -SIGKILL)
        for folder in ["binaries", "claims", "refs"] {
            #expect(try FileManager.default.contentsOfDirectory(atPath: cache + "/" + folder).isEmpty, "\(folder) holds something")
        }
        // The next run fetches again, from another registry serving the same archive, and starts it.
        let flaky = try BadRegistry("flaky", blob: archive)
        let result = try work.par(["run", "\(flaky.address)/bad/provider:1.0.0", "--insecure", "--cache-dir", "cache"])
        #expect(result.status == 5, "\(result.error)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: cache + "/binaries").count == 1)
    }
}
