import Foundation
import PARTestSupport
import Testing

/// Every value par takes is parsed where its option is declared: a bad one is a usage error
/// (exit 64) with the parser's message, before any file is written or any request is sent.
@Suite struct CommandLineValueTests {
    /// A registry that logs every request; none may reach it.
    let registry: BadRegistry
    let work: Workspace
    let reference: String

    init() throws {
        work = try Workspace()
        try work.write(pattern(2000), to: "provider")
        registry = try BadRegistry("flaky", blob: work.path("provider"))
        reference = "\(registry.address)/bad/provider:1.0.0"
    }

    /// Runs `par`, expecting a usage error naming `words`, with nothing written and no request sent.
    func expectRefusedUpFront(_ arguments: [String], saying words: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let before = try work.files()
        expectUsageError(try work.par(arguments), saying: words, sourceLocation: sourceLocation)
        #expect(try work.files() == before, "\(arguments) wrote a file", sourceLocation: sourceLocation)
        #expect(try registry.requests().isEmpty, "\(arguments) sent a request", sourceLocation: sourceLocation)
    }

    @Test func aBadTargetIsRefusedBeforeAPullOrAWrite() throws {
        let why = "is not a target name: use ARCH-OS"
        try expectRefusedUpFront(["verify", reference, "--insecure", "--target", "nonsense"], saying: why)
        try expectRefusedUpFront(["create", "-n", "p", "-v", "v", "-b", "provider", "--arch", "x86_64"], saying: why)
        try expectRefusedUpFront(["extract", "provider.par", "--target", "linux"], saying: why)
        try expectRefusedUpFront(["insert", "provider.par", "-b", "provider", "--arch", "X86_64-linux"], saying: why)
    }

    @Test func aBadTrustedIssuerIsRefusedBeforeAPull() throws {
        try expectRefusedUpFront(
            ["pull", reference, "--insecure", "--trusted-issuer", "ABCD"], saying: "an nkey public key has 56")
        // A valid key of another role: claims are signed by accounts.
        let service = try #require(try work.par(["keys", "gen", "service", "-o", "json"]).output
            .split(separator: "\"").first { $0.hasPrefix("V") && $0.count == 56 })
        try expectRefusedUpFront(
            ["verify", reference, "--insecure", "--trusted-issuer", String(service)], saying: "is a service key")
    }

    @Test func aBadDigestIsRefusedBeforeAPull() throws {
        let why = "not a SHA-256 digest"
        try expectRefusedUpFront(["pull", reference, "--insecure", "--digest", "sha256:1234"], saying: why)
        try expectRefusedUpFront(["inspect", reference, "--insecure", "-d", String(repeating: "g", count: 64)], saying: why)
    }

    @Test func aBadKeyTypeIsRefusedBeforeAKeyIsSaved() throws {
        let why = "unknown key type: use account, user"
        try expectRefusedUpFront(["keys", "gen", "acount"], saying: why)
        try expectRefusedUpFront(["keys", "generate", "admin", "--name", "ci"], saying: why)
        #expect(!work.exists("keys"))
    }

    @Test func aBadReferenceIsRefusedBeforeAPushOrPull() throws {
        try expectRefusedUpFront(["push", "\(registry.address)/Bad Name:1.0", "provider"], saying: "not a registry reference")
        try expectRefusedUpFront(["pull", "\(registry.address)/bad/provider@sha256:12", "--insecure"], saying: "the digest after @")
        // A reference that names no registry needs -r or WASH_REG_URL.
        try expectRefusedUpFront(["pull", "bad/provider:1.0.0"], saying: "is not a registry host")
        try expectRefusedUpFront(["push", "bad/provider:1.0.0", "provider", "-r", registry.address + "/x:y"], saying: "registry reference")
    }

    @Test func numbersOutOfRangeAreRefused() throws {
        try expectRefusedUpFront(["pull", reference, "--insecure", "--timeout", "9223372037"], saying: "--timeout must be")
        try expectRefusedUpFront(["pull", reference, "--insecure", "--timeout", "0"], saying: "--timeout must be")
    }
}
