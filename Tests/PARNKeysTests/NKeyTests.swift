import Foundation
import PARBytes
import PARTestSupport
import Testing

@testable import PARNKeys

@Suite struct NKeyParsingTests {
    @Test func knownAnswerFromTheFormatDocument() throws {
        let pair = try NKeyPair(seed: "SUAMLK2ZNL35WSMW37E7UD4VZ7ELPKW7DHC3BWBSD2GCZ7IUQQXZIORRBU")
        #expect(pair.role == .user)
        #expect(pair.publicKey.encoded == "UCK5N7N66OBOINFXAYC2ACJQYFSOD4VYNU6APEJTAVFZB2SVHLKGEW7L")
        #expect(pair.seed == "SUAMLK2ZNL35WSMW37E7UD4VZ7ELPKW7DHC3BWBSD2GCZ7IUQQXZIORRBU")
    }

    @Test(arguments: NKeyRole.allCases)
    func generatedKeysRoundTrip(role: NKeyRole) throws {
        let pair = NKeyPair.generate(role: role)
        #expect(pair.seed.count == 58)
        #expect(pair.seed.hasPrefix("S" + String(role.letter)))
        #expect(pair.publicKey.encoded.count == 56)
        #expect(pair.publicKey.encoded.first == role.letter)
        let reparsed = try NKeyPair(seed: pair.seed)
        #expect(reparsed.role == role)
        #expect(reparsed.publicKey == pair.publicKey)
        #expect(try NKeyPublicKey(pair.publicKey.encoded) == pair.publicKey)
    }

    @Test func whitespaceAroundKeysIsIgnored() throws {
        let pair = NKeyPair.generate(role: .account)
        #expect(try NKeyPair(seed: " \(pair.seed)\n").publicKey == pair.publicKey)
        #expect(try NKeyPublicKey("\(pair.publicKey.encoded)\r\n") == pair.publicKey)
    }

    @Test func seedsStayOutOfDescriptions() {
        let pair = NKeyPair.generate(role: .service)
        #expect(!String(describing: pair).contains(pair.seed))
        #expect(!String(reflecting: pair).contains(pair.seed))
        #expect(String(describing: pair).contains(pair.publicKey.encoded))
    }

    @Test func wrongLengthIsRefused() {
        #expect(throws: NKeyError.invalidLength(expected: 58, actual: 10)) { try NKeyPair(seed: "SUAMLK2ZNL") }
        #expect(throws: NKeyError.invalidLength(expected: 56, actual: 3)) { try NKeyPublicKey("UCK") }
    }

    @Test func charactersOutsideTheAlphabetAreRefused() {
        var seed = Array("SUAMLK2ZNL35WSMW37E7UD4VZ7ELPKW7DHC3BWBSD2GCZ7IUQQXZIORRBU")
        seed[5] = "1"
        #expect(throws: NKeyError.invalidBase32(position: 5)) { try NKeyPair(seed: String(seed)) }
        #expect(throws: NKeyError.invalidBase32(position: 0)) {
            try NKeyPublicKey("uCK5N7N66OBOINFXAYC2ACJQYFSOD4VYNU6APEJTAVFZB2SVHLKGEW7L")
        }
    }

    @Test func aMistypedKeyFailsItsChecksum() {
        // One character changed: still base32, but the CRC no longer matches.
        var seed = Array("SUAMLK2ZNL35WSMW37E7UD4VZ7ELPKW7DHC3BWBSD2GCZ7IUQQXZIORRBU")
        seed[20] = seed[20] == "A" ? "B" : "A"
        #expect(throws: NKeyError.checksumMismatch) { try NKeyPair(seed: String(seed)) }
        #expect(throws: NKeyError.checksumMismatch) {
            try NKeyPublicKey("UCK5N7N66OBOINFXAYC2ACJQYFSOD4VYNU6APEJTAVFZB2SVHLKGEW7M")
        }
    }

    @Test func publicKeysAndSeedsAreNotInterchangeable() throws {
        let pair = NKeyPair.generate(role: .account)
        #expect(throws: NKeyError.publicKeyWhereSeedExpected(.account)) { try NKeyPair(seed: pair.publicKey.encoded) }
        #expect(throws: NKeyError.seedWherePublicKeyExpected) { try NKeyPublicKey(pair.seed) }
    }

    @Test func rolesAreEnforcedWhenAsked() throws {
        let service = NKeyPair.generate(role: .service)
        #expect(throws: NKeyError.wrongRole(expected: .account, actual: .service)) {
            try NKeyPair(seed: service.seed, role: .account)
        }
        #expect(throws: NKeyError.wrongRole(expected: .account, actual: .service)) {
            try NKeyPublicKey(service.publicKey.encoded, role: .account)
        }
        #expect(try NKeyPair(seed: service.seed, role: .service).publicKey == service.publicKey)
    }

    @Test func anUnknownRolePrefixIsRefused() {
        // Prefix byte 1 << 3 names no role; the CRC is valid, so only the prefix is wrong.
        var body: [UInt8] = [8] + [UInt8](repeating: 7, count: 32)
        let crc = CRC16.checksum(body)
        body += [UInt8(crc & 0xFF), UInt8(crc >> 8)]
        #expect(throws: NKeyError.unknownPrefix(8)) { try NKeyPublicKey(Base32.encode(body)) }
    }

    @Test func errorMessagesSayWhatToDo() {
        #expect(NKeyError.checksumMismatch.description.contains("mistyped"))
        #expect(NKeyError.publicKeyWhereSeedExpected(.account).description.contains("SA"))
        #expect(NKeyError.wrongRole(expected: .account, actual: .service).description
            == "the key belongs to a service (V...), but an account key (A...) is needed here")
    }
}

@Suite struct SignatureTests {
    @Test func signaturesVerifyAndTamperingIsDetected() {
        let pair = NKeyPair.generate(role: .account)
        let message = Array("header.claims".utf8)
        let signature = pair.sign(message)
        #expect(signature.count == 64)
        #expect(pair.publicKey.isValidSignature(signature, for: message))
        #expect(!pair.publicKey.isValidSignature(signature, for: Array("header.claimz".utf8)))
        var flipped = signature
        flipped[10] ^= 1
        #expect(!pair.publicKey.isValidSignature(flipped, for: message))
        #expect(!pair.publicKey.isValidSignature(signature.dropLast(), for: message))
        #expect(!NKeyPair.generate(role: .account).publicKey.isValidSignature(signature, for: message))
    }
}

@Suite struct EncodingPrimitiveTests {
    @Test func crc16XmodemCheckValue() {
        #expect(CRC16.checksum(Array("123456789".utf8)) == 0x31C3)
        #expect(CRC16.checksum([]) == 0)
    }

    @Test(arguments: [
        ("", ""), ("f", "MY"), ("fo", "MZXQ"), ("foo", "MZXW6"), ("foob", "MZXW6YQ"),
        ("fooba", "MZXW6YTB"), ("foobar", "MZXW6YTBOI"),
    ])
    func base32Rfc4648Vectors(plain: String, encoded: String) throws {
        #expect(Base32.encode(Array(plain.utf8)) == encoded)
        #expect(try Base32.decode(encoded) == Array(plain.utf8))
    }

    @Test func base32RefusesNonCanonicalAndImpossibleText() {
        #expect(throws: NKeyError.invalidBase32(position: 1)) { try Base32.decode("MZ") }  // stray low bits
        #expect(throws: NKeyError.invalidBase32(position: 0)) { try Base32.decode("M") }  // impossible length
        #expect(throws: NKeyError.invalidBase32(position: 2)) { try Base32.decode("MZ=") }
        #expect(throws: NKeyError.invalidBase32(position: 0)) { try Base32.decode("my") }
    }
}

/// Known answers computed by the NATS Python nkeys library and PyNaCl, which share no code with ours.
@Suite struct NKeyInteropTests {
    @Test(arguments: ["account", "service", "user", "operator", "server", "cluster", "module"])
    func seedsFromNatsNKeysGiveTheSamePublicKeyAndSignatures(role: String) throws {
        let seed = try ExternalTools.runParcheck(["keygen", role]).line
        let theirPublicKey = try ExternalTools.runParcheck(["pubkey", seed]).line
        let pair = try NKeyPair(seed: seed)
        #expect(pair.role.name == role)
        #expect(pair.publicKey.encoded == theirPublicKey)
        #expect(pair.seed == seed)

        let directory = try ExternalTools.temporaryDirectory()
        let message = Array("eyJ0eXAiOiJqd3QiLCJhbGciOiJFZDI1NTE5In0.\(role) claims ✓".utf8)
        let file = directory + "/message"
        try ExternalTools.run(["sh", "-c", "cat > '\(file)'"], input: message)
        let theirSignature = try ExternalTools.runParcheck(["sign", seed, file]).line
        // Ed25519 is deterministic: the same seed and message give the same bytes.
        let ours = pair.sign(message)
        #expect(base64URL(ours) == theirSignature)
        // "--": a base64url signature may start with "-", which argparse would take for an option.
        let check = try ExternalTools.runParcheck(["checksig", pair.publicKey.encoded, file, "--", base64URL(ours)])
        #expect(check.status == 0)
    }

    /// Curve keys are X25519 (NATS xkeys: Go nkeys' CreateCurveKeys). Python nkeys 0.2.1
    /// predates them and derives an Ed25519 key instead, so PyNaCl's X25519 is the reference.
    @Test func curveSeedsGiveX25519PublicKeys() throws {
        let seed = try ExternalTools.runParcheck(["keygen", "curve"]).line
        let pair = try NKeyPair(seed: seed)
        #expect(pair.role == .curve && pair.seed == seed)
        #expect(pair.publicKey.rawRepresentation.map { String(format: "%02x", $0) }.joined() == (try ExternalTools.x25519PublicKeyHex(ofSeed: seed)))
        #expect(pair.publicKey.encoded.hasPrefix("X"))
    }

    @Test func ourGeneratedSeedsLoadInNatsNKeys() throws {
        for role in [NKeyRole.account, .service, .user] {
            let pair = NKeyPair.generate(role: role)
            let theirs = try ExternalTools.runParcheck(["pubkey", pair.seed]).line
            #expect(theirs == pair.publicKey.encoded)
        }
    }

    private func base64URL(_ bytes: [UInt8]) -> String {
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
        var output = ""
        var index = 0
        while index < bytes.count {
            let chunk = bytes[index..<min(index + 3, bytes.count)]
            var group: UInt32 = 0
            for (offset, byte) in chunk.enumerated() { group |= UInt32(byte) << UInt32(16 - 8 * offset) }
            for position in 0...chunk.count { output.append(alphabet[Int(group >> UInt32(18 - 6 * position) & 63)]) }
            index += 3
        }
        return output
    }
}
