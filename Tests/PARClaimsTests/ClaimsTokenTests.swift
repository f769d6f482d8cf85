import Foundation
import PARBytes
import PARNKeys
import Testing

@testable import PARClaims

/// Builds a token by hand, so tests can make ones our encoder never would.
func handMadeToken(header: String = #"{"typ":"jwt","alg":"Ed25519"}"#, claims: String, signer: NKeyPair) -> String {
    let input = Base64URL.encode(Array(header.utf8)) + "." + Base64URL.encode(Array(claims.utf8))
    return input + "." + Base64URL.encode(signer.sign(Array(input.utf8)))
}

func sampleMetadata() throws -> ProviderMetadata {
    ProviderMetadata(
        name: "HTTP Server", vendor: "acme", revision: 7, version: "0.23.0",
        targetHashes: [
            try Target("x86_64-linux"): SHA256Hash(hex: String(repeating: "AB", count: 32))!,
            try Target("aarch64-macos"): SHA256Hash(hex: String(repeating: "01", count: 32))!,
        ],
        worldHash: SHA256Hash(hex: String(repeating: "FF", count: 32))!,
        configSchema: try JSONValue(parsing: Array(#"{"type":"object","required":["port"],"x":1.50}"#.utf8)))
}

@Suite struct ClaimsEncodingTests {
    let account = NKeyPair.generate(role: .account)
    let service = NKeyPair.generate(role: .service)

    @Test func claimsAreWrittenInTheReferenceKeyOrder() throws {
        let claims = ProviderClaims(
            issuer: account.publicKey, subject: service.publicKey, metadata: try sampleMetadata(),
            issuedAt: 1_700_000_000, expires: 1_900_000_000, notBefore: 1_600_000_000, id: "JTI")
        let token = try ClaimsToken(signing: claims, with: account)
        let segments = token.encoded.split(separator: ".")
        #expect(segments.count == 3)
        #expect(String(decoding: Base64URL.decode(segments[0].utf8)!, as: UTF8.self) == #"{"typ":"jwt","alg":"Ed25519"}"#)
        let json = String(decoding: Base64URL.decode(segments[1].utf8)!, as: UTF8.self)
        let expected =
            #"{"exp":1900000000,"jti":"JTI","iat":1700000000,"iss":"\#(account.publicKey)","sub":"\#(service.publicKey)","nbf":1600000000,"#
            + #""wascap":{"name":"HTTP Server","vendor":"acme","rev":7,"ver":"0.23.0","target_hashes":{"aarch64-macos":"\#(String(repeating: "01", count: 32))","world.wasm":"\#(String(repeating: "FF", count: 32))","x86_64-linux":"\#(String(repeating: "AB", count: 32))"},"#
            + #""config_schema":{"type":"object","required":["port"],"x":1.50}},"wascap_revision":3}"#
        #expect(json == expected)
    }

    @Test func optionalFieldsAreOmittedAndANullNameIsKept() throws {
        let metadata = ProviderMetadata(name: nil, vendor: "v")
        let claims = ProviderClaims(issuer: account.publicKey, subject: service.publicKey, metadata: metadata, issuedAt: 5, id: "X")
        let token = try ClaimsToken(signing: claims, with: account)
        let json = String(decoding: Base64URL.decode(token.encoded.split(separator: ".")[1].utf8)!, as: UTF8.self)
        #expect(json == #"{"jti":"X","iat":5,"iss":"\#(account.publicKey)","sub":"\#(service.publicKey)","wascap":{"name":null,"vendor":"v","target_hashes":{}},"wascap_revision":3}"#)
    }

    @Test func freshClaimsGetANuidStyleIdAndTheCurrentTime() throws {
        let before = UInt64(Date().timeIntervalSince1970)
        let first = ProviderClaims(issuer: account.publicKey, subject: service.publicKey, metadata: try sampleMetadata())
        let second = ProviderClaims(issuer: account.publicKey, subject: service.publicKey, metadata: try sampleMetadata())
        #expect(first.id.count == 22)
        #expect(first.id.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber) })
        #expect(first.id != second.id)
        #expect(first.issuedAt >= before && first.issuedAt <= before + 5)
    }

    @Test func roundTripKeepsEveryField() throws {
        let claims = ProviderClaims(
            issuer: account.publicKey, subject: service.publicKey, metadata: try sampleMetadata(),
            issuedAt: 1_700_000_000, expires: 4_000_000_000, notBefore: 1_600_000_000)
        let token = try ClaimsToken(signing: claims, with: account)
        let decoded = try ClaimsToken(verifying: Array(token.encoded.utf8))
        #expect(decoded.claims == claims)
        #expect(decoded.encoded == token.encoded)
    }

    @Test func signingRefusesKeysOfTheWrongRoleOrAnotherIssuer() throws {
        let user = NKeyPair.generate(role: .user)
        let claims = ProviderClaims(issuer: account.publicKey, subject: service.publicKey, metadata: try sampleMetadata())
        #expect(throws: ClaimsError.invalidKey(claim: "iss", .wrongRole(expected: .account, actual: .user))) {
            try ClaimsToken(signing: claims, with: user)
        }
        let other = NKeyPair.generate(role: .account)
        #expect(throws: ClaimsError.issuerKeyMismatch(claimed: account.publicKey, signer: other.publicKey)) {
            try ClaimsToken(signing: claims, with: other)
        }
        var wrongSubject = claims
        wrongSubject.subject = user.publicKey
        #expect(throws: ClaimsError.invalidKey(claim: "sub", .wrongRole(expected: .service, actual: .user))) {
            try ClaimsToken(signing: wrongSubject, with: account)
        }
    }
}

@Suite struct ClaimsValidationTests {
    let account = NKeyPair.generate(role: .account)
    let service = NKeyPair.generate(role: .service)

    func claimsJSON(iss: String? = nil, sub: String? = nil, extra: String = "", wascap: String = #"{"name":"n","vendor":"v","target_hashes":{}}"#) -> String {
        #"{"jti":"J","iat":1,"iss":"\#(iss ?? account.publicKey.encoded)","sub":"\#(sub ?? service.publicKey.encoded)"\#(extra),"wascap":\#(wascap)}"#
    }

    func verify(_ token: String, _ policy: VerificationPolicy = .default) throws(ClaimsError) -> ClaimsToken {
        try ClaimsToken(verifying: Array(token.utf8), policy: policy)
    }

    @Test func aValidHandMadeTokenVerifies() throws {
        let token = try verify(handMadeToken(claims: claimsJSON(), signer: account))
        #expect(token.claims.metadata.name == "n")
        #expect(token.claims.wascapRevision == nil)
    }

    @Test func tokensThatAreNotThreeSegmentsAreRefused() {
        #expect(throws: ClaimsError.malformedToken(segments: 2)) { try verify("a.b") }
        #expect(throws: ClaimsError.malformedToken(segments: 4)) { try verify("a.b.c.d") }
    }

    @Test func paddedOrNonUrlBase64IsRefused() {
        let token = handMadeToken(claims: claimsJSON(), signer: account)
        let parts = token.split(separator: ".").map(String.init)
        #expect(throws: ClaimsError.invalidBase64(segment: 2)) { try verify(parts[0] + "." + parts[1] + "." + parts[2] + "==") }
        #expect(throws: ClaimsError.invalidBase64(segment: 1)) { try verify(parts[0] + "." + parts[1] + "+/" + "." + parts[2]) }
    }

    /// wascap's validate_token compares `typ` and `alg` exactly, so a token its hosts refuse
    /// is refused here too: an uppercase `JWT` or a lowercase `ed25519` is another header.
    @Test(arguments: [
        #"{"typ":"jwt","alg":"HS256"}"#, #"{"typ":"jwt","alg":"none"}"#, #"{"alg":"Ed25519"}"#,
        #"{"typ":"JWT","alg":"Ed25519"}"#, #"{"typ":"Jwt","alg":"Ed25519"}"#, #"{"typ":"jwt","alg":"ed25519"}"#,
        #"{"typ":"jwt ","alg":"Ed25519"}"#,
    ])
    func otherHeadersAreRefused(header: String) {
        #expect(throws: ClaimsError.self) {
            try verify(handMadeToken(header: header, claims: claimsJSON(), signer: account))
        }
        do {
            _ = try verify(handMadeToken(header: header, claims: claimsJSON(), signer: account))
        } catch {
            guard case .unsupportedHeader = error else {
                Issue.record("expected unsupportedHeader, got \(error)")
                return
            }
        }
    }

    @Test func theExactHeaderIsAccepted() throws {
        let token = handMadeToken(header: #"{"typ":"jwt","alg":"Ed25519"}"#, claims: claimsJSON(), signer: account)
        #expect(try verify(token).claims.issuer == account.publicKey)
    }

    @Test func aChangedClaimBreaksTheSignature() throws {
        let token = handMadeToken(claims: claimsJSON(), signer: account)
        var parts = token.split(separator: ".").map(String.init)
        parts[1] = Base64URL.encode(Array(claimsJSON(wascap: #"{"name":"evil","vendor":"v","target_hashes":{}}"#).utf8))
        #expect(throws: ClaimsError.badSignature) { try verify(parts.joined(separator: ".")) }
    }

    @Test func aTokenSignedByAnotherKeyThanItsIssuerIsRefused() {
        let other = NKeyPair.generate(role: .account)
        #expect(throws: ClaimsError.badSignature) { try verify(handMadeToken(claims: claimsJSON(), signer: other)) }
    }

    @Test func issuerMustBeAnAccountAndSubjectAService() {
        let user = NKeyPair.generate(role: .user)
        #expect(throws: ClaimsError.invalidKey(claim: "iss", .wrongRole(expected: .account, actual: .user))) {
            try verify(handMadeToken(claims: claimsJSON(iss: user.publicKey.encoded), signer: user))
        }
        #expect(throws: ClaimsError.invalidKey(claim: "sub", .wrongRole(expected: .service, actual: .account))) {
            try verify(handMadeToken(claims: claimsJSON(sub: account.publicKey.encoded), signer: account))
        }
        #expect(throws: ClaimsError.invalidKey(claim: "iss", .checksumMismatch)) {
            var bad = Array(account.publicKey.encoded)
            bad[10] = bad[10] == "A" ? "B" : "A"
            return try verify(handMadeToken(claims: claimsJSON(iss: String(bad)), signer: account))
        }
    }

    @Test func onlyTrustedIssuersPassWhenASetIsGiven() throws {
        let token = handMadeToken(claims: claimsJSON(), signer: account)
        #expect(throws: ClaimsError.untrustedIssuer(account.publicKey)) {
            try verify(token, VerificationPolicy(trustedIssuers: [NKeyPair.generate(role: .account).publicKey]))
        }
        #expect(try verify(token, VerificationPolicy(trustedIssuers: [account.publicKey])).claims.issuer == account.publicKey)
    }

    @Test func expiryAndNotBeforeAreCheckedAgainstAnInjectedClock() throws {
        let token = handMadeToken(claims: claimsJSON(extra: #","exp":2000,"nbf":1000"#), signer: account)
        let at = { (seconds: Double) in VerificationPolicy(validationTime: Date(timeIntervalSince1970: seconds)) }
        #expect(throws: ClaimsError.expired(expiresAt: 2000, now: 2001)) { try verify(token, at(2001)) }
        #expect(throws: ClaimsError.notYetValid(notBefore: 1000, now: 999)) { try verify(token, at(999)) }
        #expect(try verify(token, at(1000)).claims.expires == 2000)
        #expect(try verify(token, at(2000)).claims.notBefore == 1000)
        #expect(try verify(token, VerificationPolicy(allowsExpired: true, validationTime: Date(timeIntervalSince1970: 5000))).claims.id == "J")
        // The real clock: 2000 is long gone.
        #expect(throws: ClaimsError.self) { try verify(token) }
    }

    @Test func missingAndMistypedClaimsAreNamed() {
        #expect(throws: ClaimsError.missingClaim("wascap")) {
            try verify(handMadeToken(claims: #"{"jti":"J","iat":1,"iss":"\#(account.publicKey)","sub":"\#(service.publicKey)"}"#, signer: account))
        }
        #expect(throws: ClaimsError.missingClaim("iat")) {
            try verify(handMadeToken(claims: #"{"jti":"J","iss":"\#(account.publicKey)","sub":"\#(service.publicKey)","wascap":{"vendor":"v"}}"#, signer: account))
        }
        #expect(throws: ClaimsError.invalidClaim(name: "exp", reason: "-5 is not an integer in the range of UInt64")) {
            try verify(handMadeToken(claims: claimsJSON(extra: #","exp":-5"#), signer: account))
        }
        #expect(throws: ClaimsError.invalidClaim(name: "wascap.rev", reason: "not a number")) {
            try verify(handMadeToken(claims: claimsJSON(wascap: #"{"vendor":"v","rev":"1"}"#), signer: account))
        }
        #expect(throws: ClaimsError.missingClaim("wascap.vendor")) {
            try verify(handMadeToken(claims: claimsJSON(wascap: #"{"name":"n"}"#), signer: account))
        }
        #expect(throws: ClaimsError.invalidTargetName("../etc")) {
            try verify(handMadeToken(claims: claimsJSON(wascap: #"{"vendor":"v","target_hashes":{"../etc":"\#(String(repeating: "A", count: 64))"}}"#), signer: account))
        }
        #expect(throws: ClaimsError.invalidClaim(name: "wascap.target_hashes.x86_64-linux", reason: "not 64 hex characters of a SHA-256")) {
            try verify(handMadeToken(claims: claimsJSON(wascap: #"{"vendor":"v","target_hashes":{"x86_64-linux":"XYZ"}}"#), signer: account))
        }
    }

    @Test func oversizedTokensAreRefusedBeforeParsing() {
        let huge = [UInt8](repeating: UInt8(ascii: "a"), count: ClaimsToken.maximumSize + 1)
        #expect(throws: ClaimsError.tokenTooLarge(size: ClaimsToken.maximumSize + 1, limit: ClaimsToken.maximumSize)) {
            try ClaimsToken(verifying: huge)
        }
    }
}
