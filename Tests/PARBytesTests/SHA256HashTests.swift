import PARBytes
import Testing

@Suite struct SHA256HashTests {
    @Test func hexParsesEitherCaseAndPrintsUppercaseAsClaimsHoldIt() {
        let lower = String(repeating: "ab", count: 32)
        #expect(SHA256Hash(hex: lower)?.hex == lower.uppercased())
        #expect(SHA256Hash(hex: String(repeating: "A", count: 63)) == nil)
        #expect(SHA256Hash(hex: String(repeating: "G", count: 64)) == nil)
        #expect(SHA256Hash(bytes: [1, 2, 3]) == nil)
    }

    @Test func ociDigestsAreLowercaseWithTheirAlgorithm() throws {
        // sha256("abc"), FIPS 180-2 appendix B.1.
        let abc = SHA256Hash.of(Array("abc".utf8))
        let expected = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        #expect(abc.ociDigest == "sha256:" + expected)
        #expect(abc.description == abc.ociDigest)
        #expect(abc.hex == expected.uppercased())
        #expect(SHA256Hash(ociDigest: "sha256:" + expected) == abc)
        // Exactly as registries write it: no uppercase, no other algorithm, no bare hex.
        #expect(SHA256Hash(ociDigest: "sha256:" + expected.uppercased()) == nil)
        #expect(SHA256Hash(ociDigest: "sha512:" + expected) == nil)
        #expect(SHA256Hash(ociDigest: expected) == nil)
        // What a person types to pin a pull: either case, prefix optional.
        #expect(SHA256Hash(pinning: expected.uppercased()) == abc)
        #expect(SHA256Hash(pinning: "SHA256:" + expected) == abc)
        #expect(SHA256Hash(pinning: "sha256:" + expected.dropLast()) == nil)
        // The digest of the `{}` config blob every provider manifest names.
        #expect(SHA256Hash.of(Array("{}".utf8)).ociDigest == "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a")
    }

    @Test func theStreamingHasherAgreesWithTheOneShotHashWhateverTheChunks() {
        let bytes = (0..<100_000).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        var hasher = SHA256Hasher()
        var start = 0
        for size in [0, 1, 63, 64, 65, 4095, 30_000] where start < bytes.count {
            let end = min(start + size, bytes.count)
            bytes[start..<end].withUnsafeBytes { hasher.update($0) }
            start = end
        }
        bytes[start...].withUnsafeBytes { hasher.update($0) }
        #expect(hasher.finalize() == SHA256Hash.of(bytes))
    }
}
