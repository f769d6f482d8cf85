import Foundation
import PARTestSupport
import PARBytes
import PARClaims
import PARNKeys
import ProviderArchiveKit
import Testing

/// `par push`/`pull` over TLS with a private CA, with credentials from every source, and
/// against skopeo, an OCI client we did not write.
@Suite struct RegistryTrustTests {
    let work: Workspace

    init() throws {
        work = try Workspace()
        try work.write(pattern(200_000), to: "provider")
        let created = try work.par(["create", "-n", "Trusted", "-v", "v", "--version", "1.0.0", "-b", "provider", "--compress"])
        #expect(created.status == 0, "\(created.error)")
    }

    @Test func aPrivateCAIsTrustedWithCaFileAndOnlyThen() throws {
        let registry = try LocalRegistry.withTLS.get()
        let certificates = try TestCertificates.shared.get()
        let reference = "\(registry.address)/providers/tls:1.0.0"

        let refused = try work.par(["push", reference, "provider.par.gz"])
        expectFailure(refused, saying: "pass --ca-file")
        #expect(!refused.error.contains("--insecure "))

        let pushed = try work.par(["push", reference, "provider.par.gz", "--ca-file", certificates.authority])
        #expect(pushed.status == 0, "\(pushed.error)")
        let pulled = try work.par(["pull", reference, "--destination", "pulled.par.gz"], environment: ["WASH_REG_CA_FILE": certificates.authority])
        #expect(pulled.status == 0, "\(pulled.error)")
        #expect(try work.read("pulled.par.gz") == work.read("provider.par.gz"))

        let skipped = try work.par(["pull", reference, "--destination", "skipped.par.gz", "--insecure-skip-tls-verify"])
        #expect(skipped.status == 0, "\(skipped.error)")
        #expect(skipped.error.hasPrefix("warning: --insecure-skip-tls-verify"))
        expectFailure(try work.par(["pull", reference, "--ca-file", "provider"]), saying: "is not usable")
    }

    @Test func credentialsComeFromFlagsStandardInputEnvironmentAndDockerConfig() throws {
        let registry = try LocalRegistry.withPassword.get()
        let reference = "\(registry.address)/providers/creds:1.0.0"
        let secret = "s3cret"

        // --password-stdin keeps the password out of the process list.
        let stdin = try work.par(["push", reference, "provider.par.gz", "--insecure", "-u", "alice", "--password-stdin"], input: Array("s3cret\n".utf8))
        #expect(stdin.status == 0, "\(stdin.error)")
        let wrong = try work.par(["push", reference, "provider.par.gz", "--insecure", "-u", "alice", "--password-stdin"], input: Array("n0pe-password\n".utf8))
        expectFailure(wrong, saying: "refused the credentials")
        #expect(!wrong.error.contains("n0pe-password") && !wrong.output.contains("n0pe-password"))

        // docker login's auths entry, as base64 user:password.
        let folder = work.path("docker")
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let auth = Data("alice:\(secret)".utf8).base64EncodedString()
        try work.write(Array(#"{"auths":{"http://\#(registry.address)":{"auth":"\#(auth)"}}}"#.utf8), to: "docker/config.json")
        let fromConfig = try work.par(["pull", reference, "--insecure", "--destination", "a.par.gz"])
        #expect(fromConfig.status == 0, "\(fromConfig.error)")

        // A credential helper, run as docker runs it: the server on stdin, JSON on stdout.
        let bin = work.path("bin")
        try FileManager.default.createDirectory(atPath: bin, withIntermediateDirectories: true)
        try work.write(Array("""
            #!/bin/sh
            [ "$1" = get ] || exit 2
            cat > "\(work.path("helper-asked"))"
            printf '{"ServerURL":"x","Username":"alice","Secret":"\(secret)"}'

            """.utf8), to: "bin/docker-credential-partest")
        #expect(chmod(work.path("bin/docker-credential-partest"), 0o755) == 0)
        try work.write(Array(#"{"credHelpers":{"\#(registry.address)":"partest"}}"#.utf8), to: "docker/config.json")
        let path = bin + ":" + (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin")
        let fromHelper = try work.par(["pull", reference, "--insecure", "--destination", "b.par.gz"], environment: ["PATH": path])
        #expect(fromHelper.status == 0, "\(fromHelper.error)")
        #expect(try String(contentsOfFile: work.path("helper-asked"), encoding: .utf8) == registry.address)

        // Flags come before the config: a wrong --password is refused even with a good helper.
        expectFailure(try work.par(["pull", reference, "--insecure", "-u", "alice", "-p", "bad"], environment: ["PATH": path]),
                      saying: "refused the credentials")
    }

    @Test func transientFailuresAreRetriedWithOneLineEach() throws {
        let registry = try BadRegistry("flaky", blob: work.path("provider.par.gz"))
        let pulled = try work.par(["pull", "\(registry.address)/bad/provider:1.0.0", "--insecure", "--destination", "p.par.gz"])
        #expect(pulled.status == 0, "\(pulled.error)")
        let lines = pulled.error.split(separator: "\n")
        #expect(lines.count == 2, "\(pulled.error)")
        #expect(lines.allSatisfy { $0.hasPrefix("retrying ") && $0.contains("503") })
    }

    @Test func skopeoReadsWhatParPushesAndParPullsWhatSkopeoCopies() throws {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/skopeo") else {
            throw ToolMissing(message: "the interop tests need skopeo: apt-get install skopeo")
        }
        let registry = try LocalRegistry.anonymous.get()
        let source = "\(registry.address)/providers/skopeo:1.0.0"
        #expect(try work.par(["push", source, "provider.par.gz", "--insecure"]).status == 0)

        // skopeo reads the image par pushed: its layer is the archive, byte for byte.
        let copied = try ExternalTools.run(
            ["skopeo", "copy", "--src-tls-verify=false", "docker://\(source)", "dir:\(work.path("skopeo-dir"))"])
        #expect(copied.status == 0, "\(copied.error)")
        let archive = try work.read("provider.par.gz")
        let digest = try ExternalTools.run(["sha256sum"], input: archive).output.prefix(64)
        #expect(try work.read("skopeo-dir/\(digest)") == archive)

        // par pulls, and verifies, what skopeo copied to another repository.
        let target = "\(registry.address)/providers/copied:2.0.0"
        let again = try ExternalTools.run(
            ["skopeo", "copy", "--src-tls-verify=false", "--dest-tls-verify=false", "docker://\(source)", "docker://\(target)"])
        #expect(again.status == 0, "\(again.error)")
        let pulled = try work.par(["pull", target, "--insecure", "--destination", "from-skopeo.par.gz"])
        #expect(pulled.status == 0, "\(pulled.error)")
        #expect(try work.read("from-skopeo.par.gz") == archive)
    }
}

/// How fast `par` gives up on a misbehaving registry, and with how much memory, measured on
/// the child process alone.
@Suite struct MisbehavingRegistryCommandTests {
    let work: Workspace

    init() throws {
        work = try Workspace()
        try work.write(pattern(100_000), to: "provider")
        #expect(try work.par(["create", "-n", "p", "-v", "v", "-b", "provider", "--compress"]).status == 0)
        try FileManager.default.createDirectory(atPath: work.path("out"), withIntermediateDirectories: true)
    }

    func pull(_ registry: BadRegistry, _ extra: [String] = []) throws -> (status: Int32, rss: Int, seconds: Double, error: String) {
        try work.peakRSS(["pull", "\(registry.address)/bad/provider:1.0.0", "--insecure", "--destination", work.path("out/p.par.gz")] + extra)
    }

    @Test func anEndlessManifestFailsFastWithBoundedMemory() throws {
        let registry = try BadRegistry("endless-manifest", blob: work.path("provider.par.gz"))
        let result = try pull(registry)
        #expect(result.status == 1)
        #expect(result.error.contains("larger than 4194304 bytes"), "\(result.error)")
        #expect(result.seconds < 10, "took \(result.seconds) s")
        #expect(result.rss < 64 << 20, "peak RSS \(result.rss >> 20) MiB")
        #expect(try FileManager.default.contentsOfDirectory(atPath: work.path("out")).isEmpty)
    }

    @Test(arguments: ["stalled-blob", "dripping-blob"])
    func stalledAndDrippingBlobsAreGivenUpOnWithinTheTimeout(scenario: String) throws {
        let registry = try BadRegistry(scenario, blob: work.path("provider.par.gz"))
        let result = try pull(registry, ["--timeout", "2"])
        #expect(result.status == 1)
        let lines = result.error.split(separator: "\n")
        // Three retries (after 0.5, 1 and 2 s), then the error: four attempts of a 2 s window.
        #expect(lines.filter { $0.hasPrefix("retrying the download") }.count == 3, "\(result.error)")
        #expect(lines.last?.contains("the registry stopped sending data") == true, "\(result.error)")
        #expect(result.seconds < 25, "took \(result.seconds) s")
        #expect(try FileManager.default.contentsOfDirectory(atPath: work.path("out")).isEmpty)
    }
}
