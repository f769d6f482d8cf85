import Foundation
import PARBytes
import PARClaims
import PARNKeys
import PARTestSupport
import ProviderArchiveKit
import Testing

/// `par cp` between a real registry on loopback and OCI image layouts, with skopeo, which we
/// did not write, reading what par writes and writing what par reads.
@Suite struct CopyCommandTests {
    let work: Workspace
    let account = NKeyPair.generate(role: .account)
    let service = NKeyPair.generate(role: .service)
    let targets = ["x86_64-linux", "aarch64-linux", "x86_64-macos", "aarch64-macos"]

    init() throws {
        work = try Workspace()
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/skopeo") else {
            throw ToolMissing(message: "the copy tests need skopeo: apt-get install skopeo")
        }
    }

    /// A four-target archive, compressed.
    func makeArchive(_ name: String) throws -> String {
        for (number, target) in targets.enumerated() {
            try work.write(pattern(150_000, seed: UInt8(number + 1)), to: "\(name)-\(target)")
        }
        let keys = ["-i", account.seed, "-s", service.seed]
        let created = try work.par(
            ["create", "-n", "Carried", "-v", "tests", "-b", "\(name)-\(targets[0])", "--arch", targets[0], "--destination", "\(name).par",
             "--compress"] + keys)
        #expect(created.status == 0, "\(created.error)")
        for target in targets.dropFirst() {
            #expect(try work.par(["insert", "\(name).par.gz", "-b", "\(name)-\(target)", "--arch", target] + keys).status == 0)
        }
        return "\(name).par.gz"
    }

    /// The digest of the manifest or index a location names, as skopeo reads it raw.
    func rawDigest(_ location: String) throws -> String {
        let raw = try ExternalTools.run(["skopeo", "inspect", "--raw", "--tls-verify=false", location])
        #expect(raw.status == 0, "\(raw.error)")
        return "sha256:" + SHA256Hash.of(raw.outputBytes).lowercaseHex
    }

    func copy(_ source: String, _ destination: String, _ extra: [String] = []) throws -> (status: Int32, json: JSONValue?, error: String) {
        let result = try work.par(["cp", source, destination, "--insecure", "-o", "json"] + extra)
        return (result.status, try? JSONValue(parsing: Array(result.output.utf8)), result.error)
    }

    /// An index of four slices: registry to layout to tar to registry, and through skopeo,
    /// with the index's digest the same everywhere and every copy verified.
    @Test func anIndexOfSlicesTravelsThroughLayoutsWithItsDigest() throws {
        let registry = try LocalRegistry.anonymous.get()
        let archive = try makeArchive("sliced")
        let source = "\(registry.address)/carry/sliced:1.0.0"
        let pushed = try work.par(["push", source, archive, "--insecure", "--platform-slices", "--slice-tags", "-o", "json"])
        #expect(pushed.status == 0, "\(pushed.error)")
        let pushJSON = try JSONValue(parsing: Array(pushed.output.utf8))
        let digest = try #require(pushJSON["digest"]?.stringValue)
        // Each slice tagged TAG-OS-ARCH: what a host can pull as a plain manifest.
        var sliceTags: [String: String] = [:]
        if case .array(let slices)? = pushJSON["slices"] {
            for slice in slices {
                if let tag = slice["tag"]?.stringValue, let manifest = slice["manifest_digest"]?.stringValue { sliceTags[tag] = manifest }
            }
        }
        #expect(sliceTags.keys.sorted() == ["1.0.0-darwin-amd64", "1.0.0-darwin-arm64", "1.0.0-linux-amd64", "1.0.0-linux-arm64"])
        #expect(try rawDigest("docker://\(registry.address)/carry/sliced:1.0.0-linux-arm64") == sliceTags["1.0.0-linux-arm64"])
        #expect(try work.par(["inspect", source, "--insecure"]).output.contains("1.0.0-linux-amd64"))
        let one = try work.par(["pull", "\(source)-linux-arm64", "--insecure", "--destination", "one.par.gz", "-o", "json"])
        #expect(one.status == 0, "\(one.error)")

        let toLayout = try copy(source, "oci:\(work.path("layout"))")
        #expect(toLayout.status == 0, "\(toLayout.error)")
        #expect(toLayout.json?["digest"]?.stringValue == digest)
        #expect(toLayout.json?["name"]?.stringValue == "1.0.0")
        #expect(toLayout.json?["archives"] == .number("4"))
        #expect(try rawDigest("oci:\(work.path("layout")):1.0.0") == digest)
        for (tag, manifest) in sliceTags { #expect(try rawDigest("oci:\(work.path("layout")):\(tag)") == manifest) }

        // skopeo takes the layout on to the registry, every slice, and par reads what it put there.
        let viaSkopeo = "\(registry.address)/carry/via-skopeo:1.0.0"
        let skopeo = try ExternalTools.run([
            "skopeo", "copy", "-q", "--all", "--preserve-digests", "--dest-tls-verify=false", "oci:\(work.path("layout")):1.0.0",
            "docker://\(viaSkopeo)",
        ])
        #expect(skopeo.status == 0, "\(skopeo.error)")
        #expect(try rawDigest("docker://\(viaSkopeo)") == digest)
        let pulled = try work.par(["pull", viaSkopeo, "--insecure", "--all-targets", "--destination", "whole.par.gz"])
        #expect(pulled.status == 0, "\(pulled.error)")

        // Into a tar of a layout, and from it to another repository.
        #expect(try copy("oci:\(work.path("layout")):1.0.0", "oci-archive:\(work.path("carry.tar"))").status == 0)
        #expect(try rawDigest("oci-archive:\(work.path("carry.tar")):1.0.0") == digest)
        let back = "\(registry.address)/carry/back:2.0.0"
        let fromTar = try copy("oci-archive:\(work.path("carry.tar")):1.0.0", back)
        #expect(fromTar.status == 0, "\(fromTar.error)")
        #expect(try rawDigest("docker://\(back)") == digest)
        // The slice tags travelled too, renamed after the destination's tag.
        #expect(try rawDigest("docker://\(back)-linux-arm64") == sliceTags["1.0.0-linux-arm64"])
        #expect(try work.par(["verify", back, "--insecure", "--target", Target.native.name]).status == 0)

        // A second copy into the layout sends nothing again, and the layout keeps one entry per name.
        let again = try copy(source, "oci:\(work.path("layout"))")
        #expect(again.json?["copied_blobs"] == .number("0"))
        let index = try JSONValue(parsing: try work.read("layout/index.json"))
        guard case .array(let entries)? = index["manifests"] else { throw ToolMissing(message: "no manifests in index.json") }
        #expect(entries.count == 5)
    }

    /// Layouts skopeo wrote, a folder and a tar, read by par and carried to a registry.
    @Test func parCarriesLayoutsSkopeoWrote() throws {
        let registry = try LocalRegistry.anonymous.get()
        let archive = try makeArchive("plain")
        let source = "\(registry.address)/carry/plain:0.1.0"
        #expect(try work.par(["push", source, archive, "--insecure"]).status == 0)
        let digest = try rawDigest("docker://\(source)")
        for (location, destination) in [
            ("oci:\(work.path("skopeo-layout")):0.1.0", "\(registry.address)/carry/from-folder:0.1.0"),
            ("oci-archive:\(work.path("skopeo.tar")):0.1.0", "\(registry.address)/carry/from-tar:0.1.0"),
        ] {
            let skopeo = try ExternalTools.run(["skopeo", "copy", "-q", "--src-tls-verify=false", "docker://\(source)", location])
            #expect(skopeo.status == 0, "\(skopeo.error)")
            let copied = try copy(location, destination, ["--trusted-issuer", account.publicKey.encoded])
            #expect(copied.status == 0, "\(copied.error)")
            #expect(copied.json?["digest"]?.stringValue == digest)
            let pulled = try work.par(["pull", destination, "--insecure", "--destination", "p.par.gz"])
            #expect(pulled.status == 0, "\(pulled.error)")
            #expect(try work.read("p.par.gz") == work.read(archive))
        }
    }

    /// What fails verification is not copied: the destination never names it.
    @Test func anUntrustedOrTamperedProviderIsNotNamed() throws {
        let registry = try LocalRegistry.anonymous.get()
        let archive = try makeArchive("guarded")
        let source = "\(registry.address)/carry/guarded:1.0.0"
        #expect(try work.par(["push", source, archive, "--insecure"]).status == 0)
        let stranger = NKeyPair.generate(role: .account)

        let untrusted = try work.par(["cp", source, "oci:\(work.path("out"))", "--insecure", "--trusted-issuer", stranger.publicKey.encoded])
        expectFailure(untrusted, saying: "which is not one of the trusted issuers")
        #expect(!work.exists("out"), "a layout it made for a failed copy is removed")

        // A layout whose archive layer was changed after it was written.
        #expect(try copy(source, "oci:\(work.path("layout"))").status == 0)
        let manifestDigest = try rawDigest("oci:\(work.path("layout")):1.0.0")
        let manifest = try JSONValue(parsing: try work.read("layout/blobs/sha256/\(manifestDigest.dropFirst(7))"))
        guard case .array(let layers)? = manifest["layers"], let layer = layers.first?["digest"]?.stringValue else {
            throw ToolMissing(message: "no layer")
        }
        var bytes = try work.read("layout/blobs/sha256/\(layer.dropFirst(7))")
        bytes[bytes.count / 2] ^= 1
        try work.write(bytes, to: "layout/blobs/sha256/\(layer.dropFirst(7))")
        let tampered = "\(registry.address)/carry/tampered:1.0.0"
        expectFailure(try work.par(["cp", "oci:\(work.path("layout")):1.0.0", tampered, "--insecure"]), saying: "the archive is not valid")
        expectFailure(try work.par(["pull", tampered, "--insecure"]), saying: "not found")
    }

    /// push, pull, verify and inspect take layouts as they take registry references.
    @Test func pushPullVerifyAndInspectTakeLayouts() throws {
        let registry = try LocalRegistry.anonymous.get()
        let archive = try makeArchive("local")
        let pushed = try work.par(["push", "oci:\(work.path("pushed")):1.0", archive, "--platform-slices", "--slice-tags", "-o", "json"])
        #expect(pushed.status == 0, "\(pushed.error)")
        let digest = try #require(try JSONValue(parsing: Array(pushed.output.utf8))["digest"]?.stringValue)
        #expect(try rawDigest("oci:\(work.path("pushed")):1.0") == digest)
        #expect(try rawDigest("oci:\(work.path("pushed")):1.0-linux-amd64").hasPrefix("sha256:"))
        let skopeo = try ExternalTools.run([
            "skopeo", "copy", "-q", "--all", "--preserve-digests", "--dest-tls-verify=false", "oci:\(work.path("pushed")):1.0",
            "docker://\(registry.address)/carry/local:1.0",
        ])
        #expect(skopeo.status == 0, "\(skopeo.error)")

        let plain = try work.par(["push", "oci-archive:\(work.path("plain.tar")):2.0", archive, "-o", "json"])
        #expect(plain.status == 0, "\(plain.error)")
        #expect(try rawDigest("oci-archive:\(work.path("plain.tar")):2.0") == JSONValue(parsing: Array(plain.output.utf8))["digest"]?.stringValue)

        let slice = try work.par(["pull", "oci:\(work.path("pushed")):1.0", "--destination", "slice.par.gz"])
        #expect(slice.status == 0, "\(slice.error)")
        #expect(slice.output.contains("From an image index: platform slice"))
        let whole = try work.par(["pull", "oci:\(work.path("pushed")):1.0", "--all-targets", "--destination", "whole.par.gz"])
        #expect(whole.status == 0, "\(whole.error)")
        #expect(try ProviderArchive.verify(path: work.path("whole.par.gz")).targets.count == 4)
        let fromTar = try work.par(["pull", "oci-archive:\(work.path("plain.tar")):2.0", "--destination", "fromtar.par.gz"])
        #expect(fromTar.status == 0, "\(fromTar.error)")
        #expect(try work.read("fromtar.par.gz") == work.read(archive))
        #expect(try work.par(["verify", "oci-archive:\(work.path("plain.tar")):2.0"]).status == 0)
        #expect(try work.par(["verify", "oci:\(work.path("pushed")):1.0"]).status == 0)
        #expect(try work.par(["inspect", "oci:\(work.path("pushed")):1.0"]).output.contains("Carried - Provider Archive"))
        expectFailure(try work.par(["pull", "oci:\(work.path("pushed")):9.9"]), saying: "it has no entry named 9.9")
    }

    /// A slice that fails verification after others were copied: the destination names
    /// nothing, neither the index nor any slice tag.
    @Test func aLaterSliceFailingNamesNothing() throws {
        let registry = try LocalRegistry.anonymous.get()
        let archive = try makeArchive("late")
        #expect(try work.par(["push", "oci:\(work.path("layout")):1.0", archive, "--platform-slices", "--slice-tags"]).status == 0)
        // The last slice's layer is changed.
        let index = try JSONValue(parsing: try work.read("layout/blobs/sha256/\(try rawDigest("oci:\(work.path("layout")):1.0").dropFirst(7))"))
        guard case .array(let entries)? = index["manifests"], let last = entries.last?["digest"]?.stringValue else {
            throw ToolMissing(message: "no entries")
        }
        let manifest = try JSONValue(parsing: try work.read("layout/blobs/sha256/\(last.dropFirst(7))"))
        guard case .array(let layers)? = manifest["layers"], let layer = layers.first?["digest"]?.stringValue else { throw ToolMissing(message: "no layer") }
        var bytes = try work.read("layout/blobs/sha256/\(layer.dropFirst(7))")
        bytes[bytes.count - 20] ^= 0xFF
        try work.write(bytes, to: "layout/blobs/sha256/\(layer.dropFirst(7))")

        let destination = "\(registry.address)/carry/late:1.0"
        expectFailure(try work.par(["cp", "oci:\(work.path("layout")):1.0", destination, "--insecure"]), saying: "the slice for darwin/amd64")
        let tags = try ExternalTools.run(["skopeo", "list-tags", "--tls-verify=false", "docker://\(registry.address)/carry/late"])
        #expect(!tags.output.contains("1.0"), "\(tags.output)")
    }

    /// Two copies at once into one new tar and into one new layout folder: both names land.
    /// A tar that is not a layout is never replaced.
    @Test func concurrentCopiesBothLandAndOtherTarsAreKept() throws {
        let archive = try makeArchive("twice")
        #expect(try work.par(["push", "oci:\(work.path("source")):a", archive]).status == 0)
        #expect(try work.par(["push", "oci:\(work.path("source")):b", archive, "--platform-slices"]).status == 0)
        for destination in ["oci-archive:\(work.path("shared.tar"))", "oci:\(work.path("shared"))"] {
            let first = try work.start(["cp", "oci:\(work.path("source")):a", destination + ":a"])
            let second = try work.start(["cp", "oci:\(work.path("source")):b", destination + ":b"])
            let results = [first.finish(), second.finish()]
            #expect(results.allSatisfy { $0.status == 0 }, "\(results.map(\.error))")
            let location = destination.hasPrefix("oci-archive") ? destination : destination
            #expect(try rawDigest(location + ":a").hasPrefix("sha256:"))
            #expect(try rawDigest(location + ":b").hasPrefix("sha256:"))
        }
        let other = try ExternalTools.run(["tar", "-cf", work.path("other.tar"), "-C", work.path("source"), "oci-layout"])
        #expect(other.status == 0)
        try work.write(Array("not a layout".utf8), to: "note.txt")
        #expect(try ExternalTools.run(["tar", "-rf", work.path("other.tar"), "-C", work.directory, "note.txt"]).status == 0)
        let before = try work.read("other.tar")
        expectFailure(try work.par(["cp", "oci:\(work.path("source")):a", "oci-archive:\(work.path("other.tar")):a"]), saying: "note.txt, which is not part of an image layout")
        #expect(try work.read("other.tar") == before)
    }

    /// Each side its own registry flags: a plain-HTTP anonymous source, a TLS destination
    /// with a private CA, and one with a password.
    @Test func eachSideTakesItsOwnRegistryFlags() throws {
        let plain = try LocalRegistry.anonymous.get()
        let tls = try LocalRegistry.withTLS.get()
        let guarded = try LocalRegistry.withPassword.get()
        let certificates = try TestCertificates.shared.get()
        let archive = try makeArchive("sides")
        let source = "\(plain.address)/carry/sides:1.0"
        #expect(try work.par(["push", source, archive, "--insecure"]).status == 0)

        let toTLS = try work.par(["cp", source, "\(tls.address)/carry/sides:1.0", "--src-insecure", "--dest-ca-file", certificates.authority])
        #expect(toTLS.status == 0, "\(toTLS.error)")
        expectFailure(try work.par(["cp", source, "\(tls.address)/carry/other:1.0", "--src-insecure"]), saying: "--ca-file")

        let toGuarded = "\(guarded.address)/carry/sides:1.0"
        expectFailure(try work.par(["cp", source, toGuarded, "--insecure"]), saying: "credentials")
        let withPassword = try work.par(["cp", source, toGuarded, "--insecure", "--dest-user", "alice", "--dest-password", "s3cret"])
        #expect(withPassword.status == 0, "\(withPassword.error)")
        expectUsageError(try work.par(["cp", source, toGuarded, "--dest-password", "s3cret"]), saying: "--dest-password needs --dest-user")
        // --password-stdin is read once, for whichever side has no user of its own.
        let fromStdin = try work.par(
            ["cp", source, "\(guarded.address)/carry/stdin:1.0", "--insecure", "-u", "alice", "--password-stdin"], input: Array("s3cret\n".utf8))
        #expect(fromStdin.status == 0, "\(fromStdin.error)")
    }

    /// Within one registry the blobs are mounted, not sent; every archive is still verified.
    @Test func withinOneRegistryBlobsAreMounted() throws {
        let registry = try LocalRegistry.anonymous.get()
        let archive = try makeArchive("mounted")
        let source = "\(registry.address)/carry/mount-source:1.0"
        #expect(try work.par(["push", source, archive, "--insecure", "--platform-slices"]).status == 0)
        let copied = try copy(source, "\(registry.address)/carry/mount-destination:1.0")
        #expect(copied.status == 0, "\(copied.error)")
        #expect(copied.json?["copied_blobs"] == .number("0"), "\(String(describing: copied.json))")
        #expect(copied.json?["archives"] == .number("4"))
        #expect(try rawDigest("docker://\(registry.address)/carry/mount-destination:1.0") == rawDigest("docker://\(source)"))
        let pulled = try work.par(["pull", "\(registry.address)/carry/mount-destination:1.0", "--insecure", "--all-targets", "--destination", "m.par.gz"])
        #expect(pulled.status == 0, "\(pulled.error)")
    }

    /// A 300 MB archive through a layout and back: memory stays under 64 MiB, every way.
    @Test func largeCopiesKeepMemoryBounded() throws {
        let registry = try LocalRegistry.anonymous.get()
        try work.writeMachineCode(300_000_000, to: "big")
        #expect(try work.par(["create", "-n", "big", "-v", "v", "-b", "big", "--destination", "big.par"]).status == 0)
        try FileManager.default.removeItem(atPath: work.path("big"))
        let source = "\(registry.address)/carry/big:1.0"
        #expect(try work.par(["push", source, "big.par", "--insecure"]).status == 0)
        for (from, to) in [
            (source, "oci:\(work.path("big-layout"))"), ("oci:\(work.path("big-layout")):1.0", "\(registry.address)/carry/big-back:1.0"),
            ("oci:\(work.path("big-layout")):1.0", "oci-archive:\(work.path("big.tar"))"),
        ] {
            let copied = try work.peakRSS(["cp", from, to, "--insecure"])
            #expect(copied.status == 0, "\(copied.error)")
            #expect(copied.rss < 64 << 20, "cp \(from) \(to): peak RSS \(copied.rss >> 20) MiB")
        }
    }

    /// The registry's rule for `latest` holds for a layout's entry names: pushing, copying,
    /// pulling and running `oci:DIR:latest` need --allow-latest, and are refused before
    /// anything is written; an unnamed layout of one entry is read as it is.
    @Test func aLayoutEntryNamedLatestIsTakenOnlyOnPurpose() throws {
        let registry = try LocalRegistry.anonymous.get()
        let archive = try makeArchive("moving")
        let source = "\(registry.address)/carry/moving:1.0.0"
        #expect(try work.par(["push", source, archive, "--insecure"]).status == 0)
        let latest = "oci:\(work.path("moving")):latest"
        expectFailure(try work.par(["push", latest, archive]), saying: "names the entry 'latest': name a version, or pass --allow-latest on purpose")
        expectFailure(try work.par(["cp", source, latest, "--insecure"]), saying: "names the entry 'latest'")
        #expect(!work.exists("moving"))
        #expect(try work.par(["push", latest, archive, "--allow-latest"]).status == 0)
        for refused in [["pull", latest, "--destination", "m.par.gz"], ["inspect", latest], ["verify", latest], ["cp", latest, "oci:\(work.path("other")):1"]] {
            expectFailure(try work.par(refused), saying: "names the entry 'latest'")
        }
        expectFailure(try work.par(["run", latest, "--offline"], environment: ["PAR_CACHE_DIR": work.path("cache")]), saying: "names the entry 'latest'")
        #expect(!work.exists("m.par.gz") && !work.exists("other"))
        #expect(try work.par(["pull", latest, "--destination", "m.par.gz", "--allow-latest"]).status == 0)
        // No name: the layout's one entry, whatever it is called.
        #expect(try work.par(["verify", "oci:\(work.path("moving"))"]).status == 0)
        let copied = try copy("oci:\(work.path("moving")):latest", "\(registry.address)/carry/moving:2.0.0", ["--allow-latest"])
        #expect(copied.status == 0, "\(copied.error)")
    }

    /// Pushes an archive and copies it into the layout `good`, named 1.0.0.
    private func makeGoodLayout() throws {
        let registry = try LocalRegistry.anonymous.get()
        let archive = try makeArchive("hostile")
        let source = "\(registry.address)/carry/hostile:1.0.0"
        #expect(try work.par(["push", source, archive, "--insecure"]).status == 0)
        #expect(try copy(source, "oci:\(work.path("good"))").status == 0)
    }

    /// Hostile layouts: one line each, exit 1, nothing written at the destination.
    @Test func hostileLayoutsAreRefusedWithOneLine() throws {
        try makeGoodLayout()
        let goodIndex = try work.read("good/index.json")

        func variant(_ name: String, _ change: (String) throws -> Void) throws -> String {
            let folder = work.path(name)
            #expect(try ExternalTools.run(["cp", "-a", work.path("good"), folder]).status == 0)
            try change(folder)
            return "oci:\(folder):1.0.0"
        }
        let cases: [(String, String)] = [
            (try variant("not-json") { try Data("{not json".utf8).write(to: URL(fileURLWithPath: $0 + "/index.json")) }, "is not an image index"),
            (
                try variant("huge") { try Data(repeating: 0x20, count: 5 << 20).write(to: URL(fileURLWithPath: $0 + "/index.json")) },
                "larger than 4 MiB"
            ),
            (try variant("no-version") { try FileManager.default.removeItem(atPath: $0 + "/oci-layout") }, "not an OCI image layout"),
            (
                try variant("twice") { folder in
                    var json = try JSONValue(parsing: goodIndex)
                    if case .array(let entries)? = json["manifests"], case .object(var members) = json {
                        members = members.map { $0.key == "manifests" ? ($0.key, .array(entries + entries)) : $0 }
                        json = .object(members)
                    }
                    try Data(json.serialized.utf8).write(to: URL(fileURLWithPath: folder + "/index.json"))
                }, "two entries of its index.json are named 1.0.0"
            ),
            (
                try variant("missing") { folder in
                    let index = try JSONValue(parsing: goodIndex)
                    guard case .array(let entries)? = index["manifests"], let digest = entries.first?["digest"]?.stringValue else { return }
                    try FileManager.default.removeItem(atPath: folder + "/blobs/sha256/" + digest.dropFirst(7))
                }, "is missing"
            ),
        ]
        for (location, words) in cases {
            expectFailure(try work.par(["cp", location, "oci:\(work.path("dest"))"]), saying: words)
            #expect(!work.exists("dest"), "\(location)")
        }
    }

    /// A foreign image, a linked blobs/ folder and tars with climbing or linked entries: one
    /// line each, nothing written at the destination or where a link leads.
    @Test func foreignImagesLinksAndClimbingTarsAreRefused() throws {
        try makeGoodLayout()
        // A layout whose entry is an image that is not a provider.
        let image = try ExternalTools.run(["python3", "-c", Self.imageLayoutScript, work.path("image")])
        #expect(image.status == 0, "\(image.error)")
        expectFailure(try work.par(["cp", "oci:\(work.path("image")):img", "oci:\(work.path("dest"))"]), saying: "not a provider archive")
        #expect(!work.exists("dest"))
        expectFailure(try work.par(["cp", "oci:\(work.path("good"))", "oci:\(work.path("dest"))"]), saying: "no name to write under was given, and the source has none to take: give one (oci:PATH:NAME")

        // A destination whose blobs/ is a link: refused before anything is made where it leads.
        try FileManager.default.createDirectory(atPath: work.path("elsewhere"), withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: work.path("linked"), withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: work.path("linked/blobs"), withDestinationPath: work.path("elsewhere"))
        expectFailure(try work.par(["cp", "oci:\(work.path("good"))", "oci:\(work.path("linked")):x"]), saying: "its entry blobs could land outside")
        #expect(try FileManager.default.contentsOfDirectory(atPath: work.path("elsewhere")).isEmpty)

        // Tars with an entry that climbs out, is absolute, or is a link.
        for (name, kind) in [("../evil", "file"), ("/etc/evil", "file"), ("blobs/sha256/link", "symlink"), ("oci-layout-copy", "hardlink")] {
            let made = try ExternalTools.run(["python3", "-c", Self.hostileTarScript, work.path("hostile.tar"), name, kind])
            #expect(made.status == 0, "\(made.error)")
            expectFailure(try work.par(["cp", "oci-archive:\(work.path("hostile.tar"))", "oci:\(work.path("dest")):x"]), saying: "could land outside the layout")
            #expect(!work.exists("dest"))
        }
        #expect(!FileManager.default.fileExists(atPath: work.path("evil")))
    }

    /// Writes a layout holding one ordinary container image named `img`.
    static let imageLayoutScript = #"""
        import hashlib, json, os, sys
        root = sys.argv[1]
        os.makedirs(root + "/blobs/sha256")
        def blob(data):
            digest = hashlib.sha256(data).hexdigest()
            open(root + "/blobs/sha256/" + digest, "wb").write(data)
            return {"digest": "sha256:" + digest, "size": len(data)}
        config = dict(mediaType="application/vnd.oci.image.config.v1+json", **blob(b"{}"))
        layer = dict(mediaType="application/vnd.oci.image.layer.v1.tar", **blob(b"\0" * 1024))
        manifest = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json", "config": config, "layers": [layer]}).encode()
        entry = dict(mediaType="application/vnd.oci.image.manifest.v1+json", annotations={"org.opencontainers.image.ref.name": "img"}, **blob(manifest))
        open(root + "/oci-layout", "w").write('{"imageLayoutVersion":"1.0.0"}')
        open(root + "/index.json", "w").write(json.dumps({"schemaVersion": 2, "manifests": [entry]}))
        """#

    /// Writes a tar with a layout's first file and then one hostile entry.
    static let hostileTarScript = #"""
        import io, sys, tarfile
        path, name, kind = sys.argv[1:4]
        with tarfile.open(path, "w") as tar:
            data = b'{"imageLayoutVersion":"1.0.0"}'
            info = tarfile.TarInfo("oci-layout"); info.size = len(data); tar.addfile(info, io.BytesIO(data))
            info = tarfile.TarInfo(name)
            if kind == "symlink":
                info.type = tarfile.SYMTYPE; info.linkname = "/etc/passwd"; tar.addfile(info)
            elif kind == "hardlink":
                info.type = tarfile.LNKTYPE; info.linkname = "oci-layout"; tar.addfile(info)
            else:
                info.size = 4; tar.addfile(info, io.BytesIO(b"evil"))
        """#
}
