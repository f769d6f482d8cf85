import Foundation
import PARBytes
import PARNKeys
import PARTestSupport
import Testing

/// A test provider in an archive, and what it recorded of the process it found itself in.
struct RecordingProvider {
    let work: Workspace
    let account = NKeyPair.generate(role: .account)
    let service = NKeyPair.generate(role: .service)

    init() throws {
        work = try Workspace()
    }

    var record: String { work.path("record") }

    /// An archive holding a test provider for this machine.
    @discardableResult
    func archive(_ name: String = "provider.par", exitCode: Int32 = 7, waits: Bool = false, providerName: String = "Test Provider") throws -> String {
        let binary = "provider-bin-\(exitCode)-\(waits)"
        try TestProvider.build(at: work.path(binary), record: record, exitCode: exitCode, waits: waits)
        let created = try work.par(
            ["create", "-n", providerName, "-v", "tests", "-b", binary, "--destination", name, "-i", account.seed, "-s", service.seed])
        #expect(created.status == 0, "\(created.error)")
        return work.path(name)
    }

    /// The lines the provider recorded (bytes), after its first (the host data).
    func lines() throws -> [[UInt8]] {
        let bytes = try work.read("record")
        return Array(bytes.split(separator: 0x0A, omittingEmptySubsequences: false).dropFirst().map(Array.init))
    }

    /// The provider's signal mask and ignored signals (bit N-1 for signal N), and its open
    /// descriptors with what each names.
    func state() throws -> (blocked: UInt64, ignored: UInt64, descriptors: [Int: String]) {
        var blocked: UInt64 = .max
        var ignored: UInt64 = .max
        var descriptors: [Int: String] = [:]
        for line in try lines().map({ String(decoding: $0, as: UTF8.self) }) {
            let fields = line.split(separator: " ", maxSplits: 2).map(String.init)
            switch fields.first {
            case "sigblk": blocked = UInt64(fields[1], radix: 16) ?? .max
            case "sigign": ignored = UInt64(fields[1], radix: 16) ?? .max
            case "fd" where fields.count == 3: descriptors[Int(fields[1]) ?? -1] = fields[2]
            default: break
            }
        }
        return (blocked, ignored, descriptors)
    }

    /// Runs `par ARGUMENTS` under `Tests/Support/start-provider.py` (a parent that blocks and
    /// ignores signals par must not pass on), removing the last record first.
    func start(_ arguments: [String], signal: Bool = false, environmentHex: String = "") throws -> String {
        try? FileManager.default.removeItem(atPath: record)
        let script = ExternalTools.repositoryRoot.appendingPathComponent("Tests/Support/start-provider.py").path
        let result = try ExternalTools.run(
            ["python3", script, signal ? "signal" : "wait", record, parExecutable] + arguments, directory: work.directory,
            environment: work.environment(["PAR_TEST_ENV_HEX": environmentHex]))
        return result.line + (result.error.isEmpty ? "" : " " + result.error)
    }

    /// Checks the state the provider recorded: what the host's `Command` gives a provider.
    func expectStartedAsTheHostStartsIt(_ context: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let state = try state()
        #expect(state.blocked == 0, "\(context): SigBlk \(String(state.blocked, radix: 16))", sourceLocation: sourceLocation)
        // What par's parent ignored (SIGHUP, and whatever the test runner ignores) stays
        // ignored; SIGPIPE, ignored too, is the default again.
        let inherited = UInt64(String(decoding: try work.read("record.inherited"), as: UTF8.self), radix: 16) ?? 0
        let hangUp: UInt64 = 1 << (UInt64(SIGHUP) - 1)
        let brokenPipe: UInt64 = 1 << (UInt64(SIGPIPE) - 1)
        #expect(inherited & (hangUp | brokenPipe) == hangUp | brokenPipe, "\(context): the parent did not ignore SIGHUP and SIGPIPE")
        // Signals 32 and 33 are glibc's own (thread cancellation, setxid): the C library sets
        // them up in every process, par and the host alike, and no program may change them.
        let glibcInternal: UInt64 = 1 << 31 | 1 << 32
        #expect(
            state.ignored & ~glibcInternal == inherited & ~brokenPipe & ~glibcInternal,
            "\(context): SigIgn \(String(state.ignored, radix: 16))", sourceLocation: sourceLocation)
        // Besides 0, 1 and 2, only the binary's descriptor (and the test provider's own record file).
        let others = state.descriptors.filter { $0.key > 2 && !$0.value.hasSuffix("/record.tmp") }
        #expect(others.count == 1, "\(context): descriptors \(state.descriptors)", sourceLocation: sourceLocation)
        #expect(others.values.allSatisfy { $0.contains("/binaries/") }, "\(context): \(others)", sourceLocation: sourceLocation)
        #expect(state.descriptors[0]?.hasPrefix("/memfd:") == true, "\(context): \(state.descriptors)", sourceLocation: sourceLocation)
    }
}

/// `par run` starts a provider in the state the wasmCloud host gives it, whatever par did
/// before (a registry client, signal handlers, worker threads), for every kind of source,
/// warm and cold. CI runs this suite a second time with the release build.
@Suite(.serialized) struct ProviderStartTests {
    let provider: RecordingProvider
    var work: Workspace { provider.work }

    init() throws {
        provider = try RecordingProvider()
    }

    static let rounds = 20

    @Test func aFileSourceStartsCleanWarmAndCold() throws {
        try provider.archive()
        for round in 0..<Self.rounds {
            // Cold: a new cache; then warm, from the same one.
            for (kind, cache) in [("cold", "cache-\(round)"), ("warm", "cache-\(round)")] {
                #expect(try provider.start(["run", "provider.par", "--cache-dir", cache]) == "7", "\(kind) \(round)")
                try provider.expectStartedAsTheHostStartsIt("file, \(kind), round \(round)")
            }
        }
    }

    @Test func registrySourcesStartCleanWarmAndCold() throws {
        let registry = try LocalRegistry.dedicated()
        try provider.archive(exitCode: 4)
        let reference = "\(registry.address)/providers/start:1.0.0"
        let pushed = try work.par(["push", reference, "provider.par", "--insecure", "-o", "json"])
        #expect(pushed.status == 0, "\(pushed.error)")
        guard case .string(let digest)? = try JSONValue(parsing: Array(pushed.output.utf8))["digest"] else {
            Issue.record("no digest")
            return
        }
        let pinned = "\(registry.address)/providers/start@\(digest)"
        for round in 0..<Self.rounds {
            for (kind, source, cache) in [
                ("tag cold", reference, "tag-\(round)"), ("tag warm", reference, "tag-\(round)"),
                ("digest cold", pinned, "digest-\(round)"), ("digest warm", pinned, "digest-\(round)"),
            ] {
                #expect(try provider.start(["run", source, "--insecure", "--cache-dir", cache]) == "4", "\(kind) \(round)")
                try provider.expectStartedAsTheHostStartsIt("\(kind), round \(round)")
            }
        }
    }

    @Test func sigtermToParReachesTheProviderEveryTime() throws {
        try provider.archive(waits: true)
        for round in 0..<Self.rounds {
            #expect(try provider.start(["run", "provider.par", "--cache-dir", "cache"], signal: true) == "-15", "round \(round)")
        }
    }

    @Test func rustLogAndOtelReachTheProviderByteForByte() throws {
        try provider.archive()
        // RUST_LOG=a\xffb (not UTF-8), OTEL_X=1, and SECRET, which is not passed on.
        #expect(try provider.start(["run", "provider.par", "--cache-dir", "cache"], environmentHex: "RUST_LOG=61ff62,OTEL_X=31,SECRET=73") == "7")
        let variables = try provider.lines().filter { $0.starts(with: Array("env ".utf8)) }.map { Array($0.dropFirst(4)) }
        #expect(variables.sorted { $0.lexicographicallyPrecedes($1) } == [Array("OTEL_X=1".utf8), Array("RUST_LOG=a".utf8) + [0xFF, 0x62]])
    }
}
