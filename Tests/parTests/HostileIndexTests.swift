import Foundation
import PARBytes
import PARClaims
import PARNKeys
import PARTestSupport
import Testing

/// Image indexes no honest publisher writes, put into the real registry: each is refused
/// with one line, nothing is left behind, and memory stays bounded.
@Suite struct HostileIndexTests {
    let work: Workspace
    let registry: LocalRegistry
    let repository = "hostile/provider"
    let targets = ["x86_64-linux", "aarch64-linux", "x86_64-macos", "aarch64-macos"]
    /// A target other than this machine's.
    var foreign: String { targets.first { $0 != Target.native.name } ?? "aarch64-macos" }

    init() throws {
        work = try Workspace()
        registry = try LocalRegistry.anonymous.get()
    }

    /// Creates a four-target archive signed with fresh keys, and pushes it with slices under
    /// `tag`; returns each target's slice manifest digest.
    func publishSlices(_ tag: String) throws -> [String: String] {
        let keys = ["-i", NKeyPair.generate(role: .account).seed, "-s", NKeyPair.generate(role: .service).seed]
        for (number, target) in targets.enumerated() { try work.write(pattern(50_000, seed: UInt8(number + 1)), to: "\(tag)-\(target)") }
        #expect(try work.par(
            ["create", "-n", "h", "-v", "v", "-b", "\(tag)-\(targets[0])", "--arch", targets[0], "--destination", "\(tag).par", "--compress"] + keys
        ).status == 0)
        for target in targets.dropFirst() {
            #expect(try work.par(["insert", "\(tag).par.gz", "-b", "\(tag)-\(target)", "--arch", target] + keys).status == 0)
        }
        let pushed = try work.par(["push", "\(registry.address)/\(repository):\(tag)", "\(tag).par.gz", "--insecure", "--platform-slices", "-o", "json"])
        #expect(pushed.status == 0, "\(pushed.error)")
        var slices: [String: String] = [:]
        if case .array(let entries)? = try JSONValue(parsing: Array(pushed.output.utf8))["slices"] {
            for entry in entries {
                if let target = entry["target"]?.stringValue, let digest = entry["manifest_digest"]?.stringValue { slices[target] = digest }
            }
        }
        return slices
    }

    /// The platform oci-client 0.15 computes for a Rust target (go_os, go_arch).
    static func platform(_ target: String) -> JSONValue {
        let parts = target.split(separator: "-").map(String.init)
        let os = parts[1] == "macos" ? "darwin" : parts[1]
        let arch = ["x86_64": "amd64", "aarch64": "arm64"][parts[0]] ?? parts[0]
        return .object([("architecture", .string(arch)), ("os", .string(os))])
    }

    /// An index entry for the manifest `digest` (its size read from the registry).
    func entry(_ digest: String, platform target: String, mediaType: String = "application/vnd.oci.image.manifest.v1+json") throws -> JSONValue {
        let size = try registry.manifest(repository, digest).count
        return .object([
            ("mediaType", .string(mediaType)), ("digest", .string(digest)), ("size", .number(String(size))),
            ("platform", Self.platform(target)),
        ])
    }

    /// Puts an index of these entries under `tag`.
    func putIndex(_ entries: [JSONValue], tag: String) throws {
        let index = JSONValue.object([
            ("schemaVersion", .number("2")), ("mediaType", .string("application/vnd.oci.image.index.v1+json")),
            ("manifests", .array(entries)),
        ])
        try registry.putManifest(Array(index.serialized.utf8), repository, tag, mediaType: "application/vnd.oci.image.index.v1+json")
    }

    /// Pulls `tag`, expecting one line saying `words`, nothing written, bounded memory.
    func expectRefusedPull(_ tag: String, _ extra: [String] = [], saying words: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let (result, rss) = try work.measure(
            ["pull", "\(registry.address)/\(repository):\(tag)", "--insecure", "--destination", "out-\(tag).par.gz"] + extra)
        expectFailure(result, saying: words, sourceLocation: sourceLocation)
        #expect(rss < 64 << 20, "peak RSS \(rss >> 20) MiB", sourceLocation: sourceLocation)
        #expect(!work.exists("out-\(tag).par.gz"), sourceLocation: sourceLocation)
        #expect(try work.leftovers().isEmpty, sourceLocation: sourceLocation)
    }

    @Test func hostileIndexesAreRefusedWithOneLine() throws {
        let honest = try publishSlices("honest")
        let native = Target.native.name

        // A descriptor whose platform is this machine's, over another target's slice.
        try putIndex([try entry(honest[foreign] ?? "", platform: native)], tag: "mislabelled")
        try expectRefusedPull("mislabelled", saying: "holds \(foreign).bin instead")

        // Unannotated entries with two platforms swapped: rebuilding all is refused too.
        let swapped = try targets.map { target in
            try entry(honest[target == targets[0] ? targets[1] : target == targets[1] ? targets[0] : target] ?? "", platform: target)
        }
        try putIndex(swapped, tag: "swapped")
        try expectRefusedPull("swapped", ["--all-targets"], saying: "published under the wrong platform")

        // A "slice" with two binaries: a plain push of a two-target archive.
        try work.write(pattern(1000, seed: 7), to: "two-a")
        try work.write(pattern(1000, seed: 8), to: "two-b")
        let keys = ["-i", NKeyPair.generate(role: .account).seed, "-s", NKeyPair.generate(role: .service).seed]
        #expect(try work.par(["create", "-n", "two", "-v", "v", "-b", "two-a", "--arch", native, "--destination", "two.par", "--compress"] + keys).status == 0)
        #expect(try work.par(["insert", "two.par.gz", "-b", "two-b", "--arch", foreign] + keys).status == 0)
        let pushed = try work.par(["push", "\(registry.address)/\(repository):two", "two.par.gz", "--insecure", "-o", "json"])
        let twoDigest = try JSONValue(parsing: Array(pushed.output.utf8))["digest"]?.stringValue ?? ""
        try putIndex([try entry(twoDigest, platform: native)], tag: "two-binaries")
        try expectRefusedPull("two-binaries", saying: "a platform slice holds exactly one")

        // Slices of two different signings: each valid alone, not one archive together.
        let other = try publishSlices("other")
        try putIndex(
            try targets.map { target in try entry((target == native ? other : honest)[target] ?? "", platform: target) }, tag: "mixed")
        try expectRefusedPull("mixed", ["--all-targets"], saying: "carries another claims.jwt than the other slices")

        // 10,000 entries: more than any archive has targets.
        let one = try entry(honest[native] ?? "", platform: native)
        try putIndex(Array(repeating: one, count: 10_000), tag: "huge")
        try expectRefusedPull("huge", saying: "lists 10000 manifests, more than the 1023")

        // An index inside an index.
        let honestIndex = "sha256:" + (try ExternalTools.run(["sha256sum"], input: try registry.manifest(repository, "honest")).output.prefix(64))
        try putIndex([try entry(honestIndex, platform: native, mediaType: "application/vnd.oci.image.index.v1+json")], tag: "nested")
        try expectRefusedPull("nested", saying: "lists another index")
        // The same, with the inner index's media type hidden in the outer descriptor.
        try putIndex([try entry(honestIndex, platform: native)], tag: "nested-hidden")
        try expectRefusedPull("nested-hidden", saying: "lists another index")

        // The honest index still pulls.
        #expect(try work.par(["pull", "\(registry.address)/\(repository):honest", "--insecure", "--destination", "ok.par.gz"]).status == 0)
    }
}
