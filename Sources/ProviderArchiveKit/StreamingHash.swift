internal import Crypto

/// SHA-256 over bytes as they stream by (swift-crypto's BoringSSL, with SHA-NI where present).
struct StreamingHash {
    private var hasher = SHA256()

    mutating func update(_ bytes: UnsafeRawBufferPointer) {
        hasher.update(bufferPointer: bytes)
    }

    func finalize() -> SHA256Hash {
        // A SHA-256 digest is always 32 bytes.
        guard let hash = SHA256Hash(bytes: Array(hasher.finalize())) else {
            preconditionFailure("SHA-256 produced a digest that is not 32 bytes")
        }
        return hash
    }

    static func hash(_ bytes: [UInt8]) -> SHA256Hash {
        var hash = StreamingHash()
        bytes.withUnsafeBytes { hash.update($0) }
        return hash.finalize()
    }
}
