import Foundation
import NIOConcurrencyHelpers
import PARRegistry
import PARTestSupport
import PARBytes
import PARClaims
import PARNKeys
import ProviderArchiveKit
import Testing

/// The client against a registry that misbehaves on purpose (`Tests/Support/bad-registry.py`):
/// credentials stay home, limits hold while bytes arrive, transient failures are retried.
/// How fast each failure comes and how much memory it takes is measured on the built `par`,
/// in a process of its own (`MisbehavingRegistryCommandTests`): this test process shares its
/// threads with every other suite.
@Suite struct MisbehavingRegistryTests {
    let directory: String
    let archive: String
    let events = NIOLockedValueBox<[RegistryEvent]>([])

    init() throws {
        directory = try ExternalTools.temporaryDirectory()
        archive = try makeArchive(in: directory, size: 50_000)
        try FileManager.default.createDirectory(atPath: directory + "/out", withIntermediateDirectories: true)
    }

    /// A client; the stall window is long but in the tests about stalls, so a busy test
    /// machine is never taken for a stalled registry.
    func client(
        insecure: Bool = true, credentials: RegistryCredentials? = nil, tls: RegistryTLS = RegistryTLS(), retries: Int = 3,
        window: Duration = .seconds(60)
    ) -> ProviderRegistry {
        let events = self.events
        return ProviderRegistry(
            insecure: insecure, credentials: credentials, tls: tls, limits: RegistryLimits(window: window),
            retry: RetryPolicy(maximumRetries: retries, initialDelay: .milliseconds(100)),
            events: { event in events.withLockedValue { $0.append(event) } })
    }

    func pull(_ registry: BadRegistry, with client: ProviderRegistry, scheme: String = "") async -> (RegistryError?, Duration) {
        let clock = ContinuousClock()
        let start = clock.now
        let error = await registryError {
            _ = try await client.pull(
                try ImageReference("\(registry.address)/bad/provider:1.0.0"), to: .named(folder: directory + "/out", name: "p"))
        }
        return (error, clock.now - start)
    }

    /// Nothing but the archive the test made is left in the folder: no download, no temp file.
    func expectNothingLeft(sourceLocation: SourceLocation = #_sourceLocation) throws {
        let left = (try? FileManager.default.contentsOfDirectory(atPath: directory + "/out")) ?? []
        #expect(left.isEmpty, "left behind: \(left)", sourceLocation: sourceLocation)
    }

    @Test func aCrossOriginRedirectGetsNoAuthorizationAndThePullSucceeds() async throws {
        let registry = try BadRegistry("redirect", blob: archive)
        let (error, _) = await pull(registry, with: client(credentials: RegistryCredentials(user: "alice", password: "s3cret")))
        #expect(error == nil)
        #expect(try read(directory + "/out/p.par.gz") == read(archive))
        let requests = try registry.requests()
        let other = requests.filter { $0.server == "other" }
        #expect(other.count == 1)
        #expect(other.allSatisfy { !$0.authorization }, "the other origin saw Authorization: \(other)")
        #expect(requests.contains { $0.server == "registry" && $0.authorization })
    }

    @Test func aPlainHTTPTokenRealmFromAnHTTPSRegistryIsRefused() async throws {
        let certificates = try TestCertificates.shared.get()
        let registry = try BadRegistry("http-realm", blob: archive, tls: certificates)
        let secure = client(
            insecure: false, credentials: RegistryCredentials(user: "alice", password: "s3cret"),
            tls: RegistryTLS(certificateAuthorityFiles: [certificates.authority]))
        let (error, _) = await pull(registry, with: secure)
        #expect(error == .insecureTokenEndpoint(realm: "http://\(registry.otherAddress)/token", registry: registry.address))
        #expect(error?.description.contains("http://\(registry.otherAddress)/token") == true)
        #expect(try registry.requests().allSatisfy { $0.server == "registry" }, "the token endpoint was contacted")
        try expectNothingLeft()
    }

    @Test func anEndlessManifestIsCutOffAtTheLimit() async throws {
        let registry = try BadRegistry("endless-manifest", blob: archive)
        let (error, _) = await pull(registry, with: client())
        #expect(error == .answerTooLarge(request: "GET /v2/bad/provider/manifests/1.0.0", limit: 4 << 20))
        try expectNothingLeft()
    }

    @Test(arguments: [("long-blob", 100), ("short-blob", -100)])
    func aBlobLongerOrShorterThanDeclaredIsRefused(scenario: String, excess: Int) async throws {
        let registry = try BadRegistry(scenario, blob: archive)
        let size = UInt64(try read(archive).count)
        let declared = UInt64(Int(size) - excess)
        let (error, _) = await pull(registry, with: client())
        guard case .blobSizeMismatch(_, let reportedDeclared, let received)? = error else {
            Issue.record("expected a size mismatch, got \(String(describing: error))")
            return
        }
        #expect(reportedDeclared == declared)
        #expect(excess > 0 ? received > declared : received == size)
        try expectNothingLeft()
    }

    @Test(arguments: ["stalled-blob", "dripping-blob"])
    func aStalledOrDrippingBlobFailsWithinTheWindow(scenario: String) async throws {
        let registry = try BadRegistry(scenario, blob: archive)
        let (error, _) = await pull(registry, with: client(retries: 1, window: .seconds(2)))
        #expect(error == .stalled(registry: registry.address, window: .seconds(2), minimumBytes: 1024))
        #expect(error?.description.contains("the registry stopped sending data") == true)
        // Retried once from the start, then given up.
        #expect(events.withLockedValue { $0.count } == 1)
        try expectNothingLeft()
    }

    @Test func busyAnswersAreRetriedUntilTheySucceed() async throws {
        let registry = try BadRegistry("flaky", blob: archive)
        let (error, _) = await pull(registry, with: client())
        #expect(error == nil)
        let retries = events.withLockedValue { $0 }.map(\.description)
        #expect(retries.count == 2, "\(retries)")
        #expect(retries.first?.contains("the registry answered 503") == true)
        #expect(try read(directory + "/out/p.par.gz") == read(archive))
    }

    @Test func rateLimitsAreRetriedAfterRetryAfter() async throws {
        let registry = try BadRegistry("rate-limited", blob: archive)
        let (error, elapsed) = await pull(registry, with: client())
        #expect(error == nil)
        guard case .retrying(_, let reason, 1, 3, let delay)? = events.withLockedValue({ $0.first }) else {
            Issue.record("expected one retry")
            return
        }
        #expect(reason == "the registry answered 429")
        #expect(delay == .seconds(1))
        #expect(elapsed >= .seconds(1))
    }
}
