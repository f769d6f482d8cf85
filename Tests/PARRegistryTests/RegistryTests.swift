import Foundation
import PARTestSupport
import PARBytes
import PARClaims
import PARNKeys
import ProviderArchiveKit
import Testing

@testable import PARRegistry

/// Push and pull against a real registry server on loopback, anonymous.
@Suite struct RegistryRoundTripTests {
    let registry: LocalRegistry
    let client = ProviderRegistry(insecure: true)
    let directory: String

    init() throws {
        registry = try LocalRegistry.anonymous.get()
        directory = try ExternalTools.temporaryDirectory()
    }

    func reference(_ repository: String, _ tag: String) throws -> ImageReference {
        try ImageReference("\(registry.address)/\(repository):\(tag)")
    }

    @Test(arguments: [true, false])
    func pushThenPullIsByteIdenticalAndVerified(compressed: Bool) async throws {
        let path = try makeArchive(in: directory, compressed: compressed)
        let repository = compressed ? "providers/http-gz" : "providers/http"
        let pushed = try await client.push(archiveAt: path, to: try reference(repository, "0.1.0"))
        #expect(pushed.tag == "0.1.0")
        #expect(pushed.uploadedBlobs == 2)
        #expect(SHA256Hash(ociDigest: pushed.manifestDigest.ociDigest) == pushed.manifestDigest)

        let pulled = try await client.pull(try reference(repository, "0.1.0"), to: .named(folder: directory, name: "pulled"))
        #expect(pulled.path == directory + (compressed ? "/pulled.par.gz" : "/pulled.par"))
        #expect(try read(pulled.path) == read(path))
        #expect(pulled.manifestDigest == pushed.manifestDigest)
        #expect(pulled.archive.claims.metadata.name == "provider")
        #expect(try await client.tags(of: try reference(repository, "x")) == ["0.1.0"])
    }

    @Test func aSecondPushUploadsNoBlobAgain() async throws {
        let path = try makeArchive(in: directory)
        let first = try await client.push(archiveAt: path, to: try reference("providers/again", "1.0.0"))
        let second = try await client.push(archiveAt: path, to: try reference("providers/again", "1.0.1"))
        #expect(first.uploadedBlobs == 2 && first.existingBlobs == 0)
        #expect(second.uploadedBlobs == 0 && second.existingBlobs == 2)
        #expect(first.manifestDigest == second.manifestDigest)
    }

    @Test func theManifestHasExactlyTheShapeWashPushes() async throws {
        let path = try makeArchive(in: directory)
        let pushed = try await client.push(
            archiveAt: path, to: try reference("providers/shape", "2.0.0"),
            annotations: [("org.opencontainers.image.version", "2.0.0"), ("vendor", "tests")])
        let (status, body, headers) = try await httpRequest(
            "GET", "http://\(registry.address)/v2/providers/shape/manifests/2.0.0",
            headers: ["Accept": "application/vnd.oci.image.manifest.v1+json"])
        #expect(status == 200)
        #expect(headers["content-type"] == "application/vnd.oci.image.manifest.v1+json")
        #expect(headers["docker-content-digest"] == pushed.manifestDigest.description)
        let manifest = try JSONValue(parsing: Array(body))
        guard case .object(let members) = manifest else {
            Issue.record("not an object")
            return
        }
        #expect(members.map(\.key) == ["schemaVersion", "mediaType", "config", "layers", "annotations"])
        #expect(manifest["schemaVersion"] == .number("2"))
        #expect(manifest["mediaType"] == .string("application/vnd.oci.image.manifest.v1+json"))
        // The config is the two bytes {}.
        #expect(manifest["config"]?["mediaType"] == .string("application/vnd.wasmcloud.provider.archive.config"))
        #expect(manifest["config"]?["digest"] == .string("sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"))
        #expect(manifest["config"]?["size"] == .number("2"))
        guard case .array(let layers)? = manifest["layers"] else {
            Issue.record("no layers")
            return
        }
        #expect(layers.count == 1)
        let bytes = try read(path)
        let digest = try ExternalTools.run(["sha256sum"], input: bytes).output.prefix(64)
        #expect(layers[0]["mediaType"] == .string("application/vnd.wasmcloud.provider.archive.layer.v1+par"))
        #expect(layers[0]["digest"] == .string("sha256:" + digest))
        #expect(layers[0]["size"] == .number(String(bytes.count)))
        #expect(manifest["annotations"]?["org.opencontainers.image.version"] == .string("2.0.0"))
        // The layer is the archive file byte for byte.
        let (blobStatus, blob, _) = try await httpRequest("GET", "http://\(registry.address)/v2/providers/shape/blobs/sha256:\(digest)")
        #expect(blobStatus == 200)
        #expect(Array(blob) == bytes)
    }

    @Test func digestsCanBePinned() async throws {
        let path = try makeArchive(in: directory)
        let pushed = try await client.push(archiveAt: path, to: try reference("providers/pinned", "1.0.0"))
        let hex = String(pushed.manifestDigest.description.dropFirst(7))
        for text in [pushed.manifestDigest.description, hex, hex.uppercased()] {
            let pulled = try await client.pull(
                try reference("providers/pinned", "1.0.0"), to: .path(directory + "/p.par.gz"), expectedDigest: SHA256Hash(pinning: text))
            #expect(pulled.manifestDigest == pushed.manifestDigest)
        }
        let wrong = try #require(SHA256Hash(ociDigest: "sha256:" + String(repeating: "0", count: 64)))
        #expect(await registryError {
            _ = try await client.pull(try reference("providers/pinned", "1.0.0"), to: .path(directory + "/w.par.gz"), expectedDigest: wrong)
        } == .digestMismatch(what: "manifest", expected: wrong, actual: pushed.manifestDigest))
        #expect(!FileManager.default.fileExists(atPath: directory + "/w.par.gz"))

        let byDigest = try ImageReference("\(registry.address)/providers/pinned@\(pushed.manifestDigest)")
        #expect(try await client.pull(byDigest, to: .path(directory + "/d.par.gz")).manifestDigest == pushed.manifestDigest)
        let unknown = try ImageReference("\(registry.address)/providers/pinned@\(wrong)")
        guard case .notFound? = await registryError({ _ = try await client.pull(unknown, to: .path(directory + "/u.par.gz")) }) else {
            Issue.record("expected notFound")
            return
        }
    }

    @Test func callsShareOneHTTPClientUntilShutdown() async throws {
        let path = try makeArchive(in: directory)
        let session = ProviderRegistry(insecure: true)
        let target = try reference("providers/shared", "1.0.0")
        let pushed = try await session.push(archiveAt: path, to: target)
        _ = try await session.pull(target, to: .path(directory + "/shared.par.gz"))
        #expect(try await session.resolve(target) == pushed.manifestDigest)
        #expect(session.connections.count == 1)
        // A copy changed in what its client is built from gets a client of its own.
        var patient = session
        patient.limits.window = .seconds(60)
        _ = try await patient.tags(of: target)
        #expect(session.connections.count == 2)
        await session.shutdown()
        #expect(session.connections.count == 0)
        // After a shutdown, a call opens a new client.
        #expect(try await session.tags(of: target) == ["1.0.0"])
        #expect(session.connections.count == 1)
        await session.shutdown()
    }

    @Test func latestIsRefusedUnlessAllowed() async throws {
        let path = try makeArchive(in: directory)
        let latest = try reference("providers/latest", "latest")
        let untagged = try ImageReference("\(registry.address)/providers/latest")
        #expect(await registryError { _ = try await client.push(archiveAt: path, to: latest) } == .latestRefused(latest))
        #expect(await registryError { _ = try await client.push(archiveAt: path, to: untagged) } == .latestRefused(untagged))
        #expect(await registryError { _ = try await client.pushSlices(archiveAt: path, to: latest) } == .latestRefused(latest))
        let allowing = ProviderRegistry(insecure: true, allowsLatest: true)
        #expect(try await allowing.push(archiveAt: path, to: untagged).tag == "latest")
        #expect(await registryError { _ = try await client.pull(latest, to: .path(directory + "/l.par.gz")) } == .latestRefused(latest))
        #expect(await registryError { _ = try await client.resolve(untagged) } == .latestRefused(untagged))
        #expect(await registryError { _ = try await client.platformSlices(of: latest) } == .latestRefused(latest))
        let pulled = try await allowing.pull(latest, to: .path(directory + "/l.par.gz"))
        #expect(pulled.path == directory + "/l.par.gz")
        #expect(try await allowing.resolve(untagged) == pulled.manifestDigest)
        // A digest pins the content: never refused when read, but a push writes under a tag.
        let pinned = try ImageReference("\(registry.address)/providers/latest@\(pulled.manifestDigest)")
        #expect(try await client.resolve(pinned) == pulled.manifestDigest)
        #expect(try await client.pull(pinned, to: .path(directory + "/p.par.gz")).manifestDigest == pulled.manifestDigest)
        #expect(await registryError { _ = try await client.push(archiveAt: path, to: pinned) } == .latestRefused(pinned))
        #expect(throws: RegistryError.latestRefused(latest)) { try ProviderRegistry.checkTag(of: latest, allowsLatest: false) }
        #expect(try ProviderRegistry.checkTag(of: pinned, allowsLatest: false) == pulled.manifestDigest.description)
        #expect(try ProviderRegistry.checkTag(of: untagged, allowsLatest: true, forPush: true) == "latest")
        await allowing.shutdown()
    }

    @Test func anInvalidArchiveIsRefusedBeforeAnythingIsSent() async throws {
        let path = try makeArchive(in: directory, compressed: false)
        var bytes = try read(path)
        bytes[bytes.count - 1024 - 600] ^= 0xFF
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        guard case .invalidArchive(.hashMismatch)? = await registryError({
            _ = try await client.push(archiveAt: path, to: try reference("providers/bad", "1.0.0"))
        }) else {
            Issue.record("expected invalidArchive")
            return
        }
        guard case .notFound? = await registryError({ _ = try await client.tags(of: try reference("providers/bad", "1.0.0")) }) else {
            Issue.record("the repository should not exist")
            return
        }
    }

    @Test func anImageThatIsNotAProviderArchiveIsRefused() async throws {
        let path = try makeArchive(in: directory)
        _ = try await client.push(archiveAt: path, to: try reference("providers/other", "1.0.0"))
        // The same blobs under an ordinary image layer type.
        let (_, body, _) = try await httpRequest(
            "GET", "http://\(registry.address)/v2/providers/other/manifests/1.0.0",
            headers: ["Accept": "application/vnd.oci.image.manifest.v1+json"])
        let text = String(decoding: body, as: UTF8.self)
            .replacingOccurrences(of: ProviderRegistry.layerMediaType, with: "application/vnd.oci.image.layer.v1.tar+gzip")
        let (status, _, _) = try await httpRequest(
            "PUT", "http://\(registry.address)/v2/providers/other/manifests/image",
            headers: ["Content-Type": "application/vnd.oci.image.manifest.v1+json"], body: Data(text.utf8))
        #expect(status == 201)
        #expect(await registryError {
            _ = try await client.pull(try reference("providers/other", "image"), to: .path(directory + "/o.par.gz"))
        } == .notAProviderArchive(mediaTypes: ["application/vnd.oci.image.layer.v1.tar+gzip"]))
        #expect(!FileManager.default.fileExists(atPath: directory + "/o.par.gz"))
    }

    @Test func missingTagsAndUnreachableRegistriesAreNamed() async throws {
        #expect(await registryError {
            _ = try await client.pull(try reference("providers/none", "1.0.0"), to: .path(directory + "/n.par"))
        } == .notFound("\(registry.address)/providers/none:1.0.0"))
        let port = try LocalRegistry.freePort()
        guard case .unreachable? = await registryError({
            _ = try await client.pull(try ImageReference("127.0.0.1:\(port)/providers/x:1.0.0"), to: .path(directory + "/n.par"))
        }) else {
            Issue.record("expected unreachable")
            return
        }
        // HTTPS against a plain-HTTP registry: unreachable, said as a fact, with no tool's flag in it.
        let secure = ProviderRegistry(insecure: false)
        let error = await registryError {
            _ = try await secure.pull(try reference("providers/none", "1.0.0"), to: .path(directory + "/n.par"))
        }
        guard case .unreachable(let name, _)? = error else {
            Issue.record("expected unreachable, got \(String(describing: error))")
            return
        }
        #expect(name == registry.address)
        #expect(error?.description.hasPrefix("cannot reach the registry \(registry.address) (") == true)
        #expect(error?.description.contains("--") == false)
    }
}

/// Basic auth with htpasswd: no credentials, wrong ones, right ones.
@Suite struct RegistryCredentialTests {
    @Test func credentialsAreRequiredAndChecked() async throws {
        let registry = try LocalRegistry.withPassword.get()
        let directory = try ExternalTools.temporaryDirectory()
        let path = try makeArchive(in: directory)
        let reference = try ImageReference("\(registry.address)/providers/auth:1.0.0")

        #expect(await registryError { _ = try await ProviderRegistry(insecure: true).push(archiveAt: path, to: reference) }
            == .unauthorized(registry: registry.address, credentialsGiven: false))
        let wrong = ProviderRegistry(insecure: true, credentials: RegistryCredentials(user: "alice", password: "nope"))
        #expect(await registryError { _ = try await wrong.push(archiveAt: path, to: reference) }
            == .unauthorized(registry: registry.address, credentialsGiven: true))
        let right = ProviderRegistry(insecure: true, credentials: RegistryCredentials(user: "alice", password: "s3cret"))
        #expect(try await right.push(archiveAt: path, to: reference).uploadedBlobs == 2)
        #expect(try read(try await right.pull(reference, to: .path(directory + "/a.par.gz")).path) == read(path))
        #expect(await registryError { _ = try await ProviderRegistry(insecure: true).pull(reference, to: .path(directory + "/x.par.gz")) }
            == .unauthorized(registry: registry.address, credentialsGiven: false))
    }
}

@Suite struct ReferenceParsingTests {
    @Test func referencesParse() throws {
        let full = try ImageReference("localhost:5000/providers/http-server:0.23.0")
        #expect(full.registry == "localhost:5000")
        #expect(full.repository == "providers/http-server")
        #expect(full.tag == "0.23.0")
        #expect(full.digest == nil)
        let pinned = try ImageReference("ghcr.io/wasmcloud/http@sha256:" + String(repeating: "a", count: 64))
        #expect(pinned.tag == nil)
        #expect(pinned.digest?.description == "sha256:" + String(repeating: "a", count: 64))
        #expect(try ImageReference("registry.example.com:443/a/b/c:v1@sha256:" + String(repeating: "0", count: 64)).tag == "v1")
        for bad in ["providers/http:1.0", "http-server", "localhost:5000/Upper:1", "localhost:5000/a:-bad", "localhost:5000/a@sha256:xyz", "localhost:5000/a//b:1"] {
            #expect(throws: RegistryError.self) { try ImageReference(bad) }
        }
        #expect(ImageReference.looksLikeReference("localhost:5000/a:1"))
        #expect(!ImageReference.looksLikeReference("./a.par"))
        #expect(!ImageReference.looksLikeReference("a.par"))
    }

    @Test func bearerChallengesParse() {
        let (scheme, parameters) = RegistrySession.parseChallenge(
            #"Bearer realm="https://auth.example.com/token",service="registry.example.com",scope="repository:a/b:pull,push""#)
        #expect(scheme == "bearer")
        #expect(parameters == ["realm": "https://auth.example.com/token", "service": "registry.example.com", "scope": "repository:a/b:pull,push"])
        #expect(RegistrySession.parseChallenge(#"Basic realm="x""#).scheme == "basic")
    }
}

/// The bearer token dance public registries use, against a small local token endpoint that
/// fronts the real registry (Tests/Support/token-proxy.py).
@Suite struct RegistryBearerTokenTests {
    final class TokenProxy: @unchecked Sendable {
        let address: String
        private let process = Process()
        private let lifeline = Pipe()

        init(upstream: String) throws {
            let output = Pipe()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            process.arguments = [
                "python3", ExternalTools.repositoryRoot.appendingPathComponent("Tests/Support/token-proxy.py").path,
                upstream, "bob", "hunter2",
            ]
            process.standardInput = lifeline
            process.standardOutput = output
            try process.run()
            let line = String(decoding: output.fileHandleForReading.availableData, as: UTF8.self)
            address = "127.0.0.1:" + line.trimmingCharacters(in: .whitespacesAndNewlines)
        }

        deinit {
            try? lifeline.fileHandleForWriting.close()
        }
    }

    @Test func pushAndPullThroughABearerChallenge() async throws {
        let registry = try LocalRegistry.anonymous.get()
        let proxy = try TokenProxy(upstream: registry.address)
        let directory = try ExternalTools.temporaryDirectory()
        let path = try makeArchive(in: directory)
        let reference = try ImageReference("\(proxy.address)/providers/bearer:1.0.0")

        #expect(await registryError { _ = try await ProviderRegistry(insecure: true).push(archiveAt: path, to: reference) }
            == .unauthorized(registry: proxy.address, credentialsGiven: false))
        let wrong = ProviderRegistry(insecure: true, credentials: RegistryCredentials(user: "bob", password: "wrong"))
        #expect(await registryError { _ = try await wrong.push(archiveAt: path, to: reference) }
            == .unauthorized(registry: proxy.address, credentialsGiven: true))

        let client = ProviderRegistry(insecure: true, credentials: RegistryCredentials(user: "bob", password: "hunter2"))
        let pushed = try await client.push(archiveAt: path, to: reference)
        #expect(pushed.uploadedBlobs == 2)
        let pulled = try await client.pull(reference, to: .path(directory + "/bearer.par.gz"))
        #expect(pulled.manifestDigest == pushed.manifestDigest)
        #expect(try read(pulled.path) == read(path))
    }
}
