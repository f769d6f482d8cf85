import Foundation
import PARTestSupport
import PARBytes
import PARClaims
import PARNKeys
import ProviderArchiveKit
import Testing

@testable import PARRegistry

/// The registry module's types: references (Docker Hub's names), manifests, retry
/// delays, and docker's saved credentials.
@Suite struct RegistryTypesTests {
    @Test func dockerHubIsNamedAsDockerClientsNameIt() throws {
        for text in ["docker.io/alpine:3", "index.docker.io/alpine:3"] {
            let hub = try ImageReference(text)
            #expect(hub.isDockerHub)
            #expect(hub.repository == "library/alpine")
            #expect(hub.apiHost == "registry-1.docker.io")
            #expect(hub.credentialKey == "https://index.docker.io/v1/")
        }
        let org = try ImageReference("docker.io/wasmcloud/http-server:0.23.0")
        #expect(org.repository == "wasmcloud/http-server")
        let other = try ImageReference("ghcr.io/wasmcloud/http:1")
        #expect(!other.isDockerHub && other.apiHost == "ghcr.io" && other.credentialKey == "ghcr.io")
    }

    @Test func manifestsRoundTripInWashsShape() throws {
        let layer = OCIDescriptor(mediaType: ProviderRegistry.layerMediaType, digest: .of([1]), size: 1)
        let manifest = OCIManifest(
            config: OCIDescriptor(mediaType: ProviderRegistry.configMediaType, digest: .of(Array("{}".utf8)), size: 2),
            layers: [layer], annotations: [("a", "1"), ("a", "2"), ("b", "3")])
        let parsed = try OCIManifest(parsing: manifest.serialized)
        #expect(parsed.layers == [layer])
        #expect(parsed.archiveLayer == layer)
        #expect(parsed.annotations.map(\.key) == ["a", "b"])
        #expect(parsed.serialized == manifest.serialized)
        #expect(throws: RegistryError.self) { try OCIManifest(parsing: Array(#"{"layers":[{"digest":"md5:x"}]}"#.utf8)) }
    }

    /// The platforms written are oci-client 0.15's `go_os`/`go_arch` of the Rust names;
    /// reading also accepts the OCI spec's spelling where the two differ.
    @Test func platformsAreSpelledAsOCIClientLooksForThem() throws {
        let cases: [(String, String)] = [
            ("x86_64-linux", "linux/amd64"), ("aarch64-linux", "linux/arm64"), ("x86_64-macos", "darwin/amd64"),
            ("aarch64-macos", "darwin/arm64"), ("x86_64-windows", "windows/amd64"), ("x86-linux", "linux/amd"),
            ("powerpc64-linux", "linux/ppc64le"), ("riscv64-linux", "linux/riscv64"), ("s390x-linux", "linux/s390x"),
            ("arm-linux", "linux/arm"),
        ]
        for (name, expected) in cases {
            let target = try Target(name)
            #expect(OCIPlatform(target: target).description == expected)
            #expect(OCIPlatform(target: target).matches(target))
        }
        #expect(OCIPlatform(os: "linux", architecture: "386").matches(try Target("x86-linux")))
        #expect(OCIPlatform(os: "linux", architecture: "ppc64").matches(try Target("powerpc64-linux")))
        #expect(!OCIPlatform(os: "linux", architecture: "arm64").matches(try Target("x86_64-linux")))
        #expect(!OCIPlatform(os: "macos", architecture: "arm64").matches(try Target("aarch64-macos")))
        // The variant is ignored, as oci-client ignores it.
        #expect(OCIPlatform(os: "linux", architecture: "arm64", variant: "v8").matches(try Target("aarch64-linux")))
    }

    @Test func indexesRoundTripAndRefuseWhatNoHostReads() throws {
        let slice = OCIDescriptor(mediaType: ProviderRegistry.manifestMediaType, digest: .of([1]), size: 400)
        let index = OCIImageIndex(
            manifests: [
                .init(manifest: slice, platform: OCIPlatform(target: try Target("aarch64-linux")),
                      annotations: [(OCIImageIndex.targetAnnotation, "aarch64-linux")]),
                .init(manifest: slice, platform: nil),
            ],
            annotations: [("team", "edge")])
        let read = try OCIImageIndex(parsing: index.serialized)
        #expect(read.serialized == index.serialized)
        #expect(read.manifests[0].target == (try Target("aarch64-linux")))
        #expect(read.entry(for: try Target("aarch64-linux"))?.manifest == slice)
        #expect(read.entry(for: try Target("x86_64-linux")) == nil)
        #expect(OCIImageIndex.isIndex(index.serialized))

        func parsingError(_ json: String) -> RegistryError? {
            do {
                _ = try OCIImageIndex(parsing: Array(json.utf8))
                return nil
            } catch {
                return error
            }
        }
        let entry = #"{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"\#(slice.digest)","size":1}"#
        let many = "{\"manifests\":[" + Array(repeating: entry, count: 1024).joined(separator: ",") + "]}"
        #expect(parsingError(many) == .indexTooLarge(entries: 1024, limit: 1023))
        let nested = entry.replacingOccurrences(of: "image.manifest.v1", with: "image.index.v1")
        #expect(parsingError("{\"manifests\":[\(nested)]}") == .nestedIndex(slice.digest))
        #expect(parsingError("{\"manifests\":[{}]}") != nil)
    }

    @Test func retryDelaysDoubleAndRetryAfterIsCapped() {
        let policy = RetryPolicy(maximumRetries: 3, initialDelay: .milliseconds(500), maximumDelay: .seconds(30))
        #expect(policy.delay(forRetry: 1, retryAfter: nil) == .milliseconds(500))
        #expect(policy.delay(forRetry: 3, retryAfter: nil) == .seconds(2))
        #expect(policy.delay(forRetry: 1, retryAfter: .seconds(2)) == .seconds(2))
        #expect(policy.delay(forRetry: 1, retryAfter: .seconds(3600)) == .seconds(30))
    }

    @Test func credentialsNeverPrintTheirSecret() {
        let basic = RegistryCredentials(user: "alice", password: "hunter2-secret")
        #expect(!basic.description.contains("hunter2"))
        #expect(!String(describing: basic).contains("hunter2"))
        #expect(!RegistryCredentials(identityToken: "eyJ-secret").description.contains("eyJ"))
    }

    @Test func dockerConfigAuthsAreReadAsDockerWritesThem() throws {
        let folder = try ExternalTools.temporaryDirectory()
        let config = #"""
            {"auths": {
              "https://index.docker.io/v1/": {"auth": "\#(Data("hub:pw1".utf8).base64EncodedString())"},
              "ghcr.io": {"username": "gh", "password": "pw2"},
              "https://myregistry.azurecr.io/v2/": {"auth": "", "identitytoken": "refresh-token"},
              "localhost:5000": {}
            }}
            """#
        try Data(config.utf8).write(to: URL(fileURLWithPath: folder + "/config.json"))
        let store = try #require(try DockerCredentials.standard(environment: ["DOCKER_CONFIG": folder]))
        #expect(try store.credentials(for: ImageReference("docker.io/library/alpine:3")) == RegistryCredentials(user: "hub", password: "pw1"))
        #expect(try store.credentials(for: ImageReference("ghcr.io/a/b:1")) == RegistryCredentials(user: "gh", password: "pw2"))
        #expect(try store.credentials(for: ImageReference("myregistry.azurecr.io/a:1")) == RegistryCredentials(identityToken: "refresh-token"))
        #expect(try store.credentials(for: ImageReference("localhost:5000/a:1")) == nil)
        #expect(try store.credentials(for: ImageReference("quay.io/a:1")) == nil)
        #expect(try DockerCredentials.standard(environment: ["DOCKER_CONFIG": folder + "/none"]) == nil)

        try Data("{not json".utf8).write(to: URL(fileURLWithPath: folder + "/config.json"))
        #expect(throws: RegistryError.dockerConfig(path: folder + "/config.json", reason: "it is not a JSON object")) {
            _ = try DockerCredentials.standard(environment: ["DOCKER_CONFIG": folder])
        }
    }
}
