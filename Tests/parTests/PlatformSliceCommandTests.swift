import Foundation
import PARBytes
import PARClaims
import PARNKeys
import PARTestSupport
import ProviderArchiveKit
import Testing

/// `par push --platform-slices` and the readers of what it pushes: skopeo, oci-client 0.15's
/// platform matching (as wasmCloud hosts and wash 0.43 pull), and par pull, inspect, verify
/// and run. Against the real registry on loopback.
@Suite struct PlatformSliceCommandTests {
    let work: Workspace
    let account = NKeyPair.generate(role: .account)
    let service = NKeyPair.generate(role: .service)
    /// The four targets of the archive; this machine's is one of them.
    let targets = ["x86_64-linux", "aarch64-linux", "x86_64-macos", "aarch64-macos"]

    init() throws {
        work = try Workspace()
    }

    var keys: [String] { ["-i", account.seed, "-s", service.seed] }

    /// A compressed archive of the four targets, each binary `size` bytes of its own pattern
    /// (or of random bytes, which do not compress), this machine's being `native` when given.
    func makeArchive(_ name: String, size: Int = 200_000, random: Bool = false, native: String? = nil) throws -> String {
        for (number, target) in targets.enumerated() {
            if target == Target.native.name, let native {
                try FileManager.default.copyItem(atPath: native, toPath: work.path("\(name)-\(target)"))
            } else if random {
                let noise = try FileHandle(forReadingFrom: URL(fileURLWithPath: "/dev/urandom")).read(upToCount: size) ?? Data()
                try work.write(Array(noise), to: "\(name)-\(target)")
            } else {
                try work.write(pattern(size, seed: UInt8(number + 1)), to: "\(name)-\(target)")
            }
        }
        let created = try work.par(
            ["create", "-n", "Sliced", "-v", "tests", "--version", "1.0.0", "-b", "\(name)-\(targets[0])", "--arch", targets[0],
             "--destination", "\(name).par", "--compress"] + keys)
        #expect(created.status == 0, "\(created.error)")
        for target in targets.dropFirst() {
            let inserted = try work.par(["insert", "\(name).par.gz", "-b", "\(name)-\(target)", "--arch", target] + keys)
            #expect(inserted.status == 0, "\(inserted.error)")
        }
        return work.path("\(name).par.gz")
    }

    /// Pushes with slices; returns the index digest and each target's slice manifest digest.
    func pushSlices(_ archive: String, to reference: String) throws -> (index: String, slices: [String: String]) {
        let pushed = try work.par(["push", reference, archive, "--insecure", "--platform-slices", "-o", "json"])
        #expect(pushed.status == 0, "\(pushed.error)")
        let json = try JSONValue(parsing: Array(pushed.output.utf8))
        var slices: [String: String] = [:]
        if case .array(let entries)? = json["slices"] {
            for entry in entries {
                if let target = entry["target"]?.stringValue, let digest = entry["manifest_digest"]?.stringValue { slices[target] = digest }
            }
        }
        return (json["digest"]?.stringValue ?? "", slices)
    }

    /// The entries of a gzip tar, listed by GNU tar.
    func listing(_ path: String) throws -> [String] {
        try ExternalTools.run(["tar", "-tzf", path]).output.split(separator: "\n").map(String.init)
    }

    /// skopeo's copy of an image to a folder, and the path of its one layer.
    func skopeoCopy(_ source: String, to folder: String, platform: (os: String, arch: String)? = nil) throws -> String {
        var arguments = ["skopeo", "copy", "-q", "--src-tls-verify=false"]
        if let platform { arguments += ["--override-os", platform.os, "--override-arch", platform.arch] }
        let copied = try ExternalTools.run(arguments + ["docker://\(source)", "dir:\(work.path(folder))"])
        #expect(copied.status == 0, "\(copied.error)")
        let manifest = try JSONValue(parsing: try work.read("\(folder)/manifest.json"))
        guard case .array(let layers)? = manifest["layers"], let digest = layers.first?["digest"]?.stringValue else {
            throw ToolMissing(message: "skopeo copied no layer")
        }
        return work.path("\(folder)/\(digest.dropFirst("sha256:".count))")
    }

    /// oci-client 0.15's `current_platform_resolver`, transcribed from its source
    /// (src/client.rs): the first entry whose os and architecture equal the host's Rust names
    /// through `go_os` and `go_arch`, exactly; entries without a platform skipped.
    static func ociClientResolve(_ index: JSONValue, rustArch: String, rustOS: String) -> String? {
        let goOS = rustOS == "macos" ? "darwin" : rustOS
        let goArch = ["x86_64": "amd64", "x86": "amd", "aarch64": "arm64", "powerpc64": "ppc64le"][rustArch] ?? rustArch
        guard case .array(let entries)? = index["manifests"] else { return nil }
        return entries.first { entry in
            entry["platform"]?["os"]?.stringValue == goOS && entry["platform"]?["architecture"]?.stringValue == goArch
        }?["digest"]?.stringValue
    }

    @Test func anIndexOfSlicesIsReadBySkopeoAndByOCIClientsPlatformMatching() throws {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/skopeo") else {
            throw ToolMissing(message: "the slice tests need skopeo: apt-get install skopeo")
        }
        let registry = try LocalRegistry.anonymous.get()
        let archive = try makeArchive("four")
        let reference = "\(registry.address)/providers/sliced:1.0.0"
        let (indexDigest, slices) = try pushSlices(archive, to: reference)
        #expect(slices.count == 4)

        // skopeo sees an OCI image index with the four platforms, each annotated with its target.
        let raw = try ExternalTools.run(["skopeo", "inspect", "--raw", "--tls-verify=false", "docker://\(reference)"])
        let index = try JSONValue(parsing: raw.outputBytes)
        #expect(index["mediaType"] == .string("application/vnd.oci.image.index.v1+json"))
        guard case .array(let entries)? = index["manifests"] else {
            Issue.record("no manifests in \(raw.output)")
            return
        }
        let platforms = Set(entries.compactMap { entry in
            entry["platform"].map { "\($0["os"]?.stringValue ?? "")/\($0["architecture"]?.stringValue ?? "")" }
        })
        #expect(platforms == ["linux/amd64", "linux/arm64", "darwin/amd64", "darwin/arm64"])
        #expect(Set(entries.compactMap { $0["annotations"]?["com.wasmcloud.provider.target"]?.stringValue }) == Set(targets))
        #expect("sha256:" + (try ExternalTools.run(["sha256sum"], input: raw.outputBytes).output.prefix(64)) == indexDigest)

        // skopeo's platform override fetches the arm64 slice: claims.jwt byte for byte the
        // original's and aarch64-linux.bin, nothing else; par verifies it as a slice only.
        let layer = try skopeoCopy(reference, to: "arm64", platform: ("linux", "arm64"))
        #expect(try listing(layer) == ["claims.jwt", "aarch64-linux.bin"])
        let original = try ExternalTools.run(["tar", "-xzOf", archive, "claims.jwt"]).outputBytes
        #expect(try ExternalTools.run(["tar", "-xzOf", layer, "claims.jwt"]).outputBytes == original)
        let slice = try work.par(["verify", layer, "--slice", "--trusted-issuer", account.publicKey.encoded])
        #expect(slice.status == 0, "\(slice.error)")
        #expect(slice.output.contains("valid platform slice: 1 of 4 signed targets (aarch64-linux)"))
        expectFailure(try work.par(["verify", layer]), saying: "platform slice")
        expectFailure(try work.par(["verify", layer]), saying: "--slice")
        expectFailure(try work.par(["verify", layer, "--slice", "--target", "x86_64-linux"]), saying: "holds aarch64-linux.bin instead")
        try work.write(pattern(100), to: "extra")
        expectFailure(try work.par(["insert", layer, "-b", "extra", "--arch", "x86_64-linux"] + keys), saying: "platform slice")
        #expect(try listing(layer) == ["claims.jwt", "aarch64-linux.bin"])

        // oci-client 0.15 on each of the four hosts picks the slice holding its own binary.
        for target in targets {
            let parts = target.split(separator: "-").map(String.init)
            let digest = try #require(Self.ociClientResolve(index, rustArch: parts[0], rustOS: parts[1]))
            #expect(digest == slices[target])
            let picked = try skopeoCopy("\(reference.split(separator: ":").dropLast().joined(separator: ":"))@\(digest)", to: "picked-\(target)")
            #expect(try listing(picked) == ["claims.jwt", "\(target).bin"])
        }
    }

    @Test func pullTakesThisMachinesSliceOrRebuildsTheFullArchive() throws {
        let registry = try LocalRegistry.anonymous.get()
        let archive = try makeArchive("pulled")
        let reference = "\(registry.address)/providers/sliced-pull:1.0.0"
        let (indexDigest, slices) = try pushSlices(archive, to: reference)
        let native = Target.native.name

        let pulled = try work.par(["pull", reference, "--insecure", "--destination", "native.par.gz", "-o", "json"])
        #expect(pulled.status == 0, "\(pulled.error)")
        #expect(try listing(work.path("native.par.gz")) == ["claims.jwt", "\(native).bin"])
        let json = try JSONValue(parsing: Array(pulled.output.utf8))
        #expect(json["archive_kind"] == .string("platform_slice"))
        #expect(json["signed_targets"] == .number("4"))
        #expect(json["digest"] == .string(indexDigest))

        // --digest pins the index, or the slice taken; anything else is refused.
        #expect(try work.par(["pull", reference, "--insecure", "--destination", "a.par.gz", "--digest", indexDigest]).status == 0)
        #expect(try work.par(["pull", reference, "--insecure", "--destination", "b.par.gz", "--digest", slices[native] ?? ""]).status == 0)
        expectFailure(
            try work.par(["pull", reference, "--insecure", "--destination", "c.par.gz", "--digest", slices["aarch64-macos"] ?? ""]),
            saying: "digest")
        #expect(!work.exists("c.par.gz"))

        let other = try work.par(["pull", reference, "--insecure", "--destination", "mac.par.gz", "--target", "aarch64-macos"])
        #expect(other.status == 0, "\(other.error)")
        #expect(try listing(work.path("mac.par.gz")) == ["claims.jwt", "aarch64-macos.bin"])
        expectFailure(try work.par(["pull", reference, "--insecure", "--target", "riscv64-linux"]), saying: "no slice for riscv64-linux")
        expectUsageError(try work.par(["pull", reference, "--insecure", "--target", "x86_64-linux", "--all-targets"]), saying: "exclude")

        // All slices, put back together: the original targets and claims, verified whole by
        // par and by the independent checker.
        let whole = try work.par(["pull", reference, "--insecure", "--destination", "whole.par.gz", "--all-targets"])
        #expect(whole.status == 0, "\(whole.error)")
        #expect(whole.output.contains("Rebuilt from an image index of 4 platform slices: full archive: 4 of 4 signed targets"))
        #expect(try listing(work.path("whole.par.gz")) == ["claims.jwt"] + targets.sorted().map { "\($0).bin" })
        let original = try ExternalTools.run(["tar", "-xzOf", archive, "claims.jwt"]).outputBytes
        #expect(try ExternalTools.run(["tar", "-xzOf", work.path("whole.par.gz"), "claims.jwt"]).outputBytes == original)
        #expect(try work.par(["verify", "whole.par.gz"]).status == 0)
        let check = try ExternalTools.runParcheck(["verify", work.path("whole.par.gz"), "--name", "Sliced", "--ver", "1.0.0"])
        #expect(check.status == 0, "\(check.output)")
        for target in targets {
            let mine = try ExternalTools.run(["tar", "-xzOf", archive, "\(target).bin"]).outputBytes
            #expect(try ExternalTools.run(["tar", "-xzOf", work.path("whole.par.gz"), "\(target).bin"]).outputBytes == mine)
        }
        #expect(try work.leftovers().isEmpty)

        // inspect shows the index and this machine's slice; verify takes that slice.
        let inspected = try work.par(["inspect", reference, "--insecure"])
        #expect(inspected.status == 0, "\(inspected.error)")
        #expect(inspected.output.contains("Image Index (4 platform slices, \(indexDigest))"))
        for line in ["linux/amd64", "linux/arm64", "darwin/amd64", "darwin/arm64"] { #expect(inspected.output.contains(line)) }
        #expect(inspected.output.contains("platform slice: 1 of 4 signed targets (\(native))"))
        let verified = try work.par(["verify", reference, "--insecure"])
        #expect(verified.output.contains("valid platform slice: 1 of 4 signed targets (\(native))"), "\(verified.error)")
    }

    /// Bytes counted in the registry's access log: a pull of an index downloads this machine's
    /// slice and manifests, under 1.1 times the slice, not the whole archive.
    @Test func pullDownloadsOnlyTheNativeSlice() throws {
        let registry = try LocalRegistry.dedicated()
        defer { registry.stop() }
        let archive = try makeArchive("counted", size: 2_000_000, random: true)
        let reference = "\(registry.address)/providers/counted:1.0.0"
        _ = try pushSlices(archive, to: reference)
        let before = try registry.loggedRequests().count
        let pulled = try work.par(["pull", reference, "--insecure", "--destination", "counted-native.par.gz"])
        #expect(pulled.status == 0, "\(pulled.error)")
        let sliceSize = try FileManager.default.attributesOfItem(atPath: work.path("counted-native.par.gz"))[.size] as? Int ?? 0
        let archiveSize = try FileManager.default.attributesOfItem(atPath: archive)[.size] as? Int ?? 0
        let sent = try registry.sentBytes(afterLine: before)
        let total = sent.reduce(0) { $0 + $1.bytes }
        #expect(sent.filter { $0.path.contains("/blobs/") }.count == 1, "\(sent)")
        #expect(Double(total) < 1.1 * Double(sliceSize), "\(total) bytes sent for a \(sliceSize)-byte slice")
        #expect(sliceSize * 3 < archiveSize)
    }

    @Test func runStartsThisMachinesSliceFromAnIndex() throws {
        let registry = try LocalRegistry.dedicated()
        defer { registry.stop() }
        try TestProvider.build(at: work.path("test-provider"), record: work.path("record"), exitCode: 5)
        let archive = try makeArchive("runnable", native: work.path("test-provider"))
        let reference = "\(registry.address)/providers/runnable:1.0.0"
        let (_, slices) = try pushSlices(archive, to: reference)
        let host = NKeyPair.generate(role: .server).publicKey.encoded
        let run = try work.par(["run", reference, "--insecure", "--cache-dir", "cache", "--host-id", host])
        #expect(run.status == 5, "\(run.error)")
        #expect(FileManager.default.fileExists(atPath: work.path("record")))
        // Only this machine's slice came down.
        let manifest = try JSONValue(parsing: try registry.manifest("providers/runnable", slices[Target.native.name] ?? ""))
        guard case .array(let layers)? = manifest["layers"], let layer = layers.first?["digest"]?.stringValue else {
            Issue.record("no layer in the native slice's manifest")
            return
        }
        #expect(try registry.blobDownloads(layer) == 1)
        let blobs = try registry.sentBytes(afterLine: 0).filter { $0.path.contains("/blobs/") && !$0.path.contains("/uploads/") }
        #expect(blobs.count == 1, "\(blobs)")
    }

    /// Slicing streams: pushing 300 MB as slices, and rebuilding it from them, stay under
    /// 64 MiB of peak RSS.
    @Test func slicingKeepsMemoryBounded() throws {
        let registry = try LocalRegistry.anonymous.get()
        for target in ["x86_64-linux", "aarch64-linux"] {
            let made = try ExternalTools.run(["sh", "-c", "head -c 150000000 /dev/urandom > \"$0\"", work.path("big-\(target)")])
            #expect(made.status == 0)
        }
        #expect(try work.par(["create", "-n", "big", "-v", "v", "-b", "big-x86_64-linux", "--arch", "x86_64-linux", "--destination", "big.par"] + keys).status == 0)
        #expect(try work.par(["insert", "big.par", "-b", "big-aarch64-linux", "--arch", "aarch64-linux"] + keys).status == 0)
        for target in ["x86_64-linux", "aarch64-linux"] { try FileManager.default.removeItem(atPath: work.path("big-\(target)")) }
        let reference = "\(registry.address)/providers/big-sliced:1.0.0"
        let push = try work.peakRSS(["push", reference, work.path("big.par"), "--insecure", "--platform-slices"])
        #expect(push.status == 0, "\(push.error)")
        let pull = try work.peakRSS(["pull", reference, "--insecure", "--all-targets", "--destination", work.path("rebuilt.par")])
        #expect(pull.status == 0, "\(pull.error)")
        #expect(push.rss < 64 << 20 && pull.rss < 64 << 20, "push \(push.rss >> 20) MiB, pull \(pull.rss >> 20) MiB")
        #expect(try work.par(["verify", "rebuilt.par"]).status == 0)
    }
}
