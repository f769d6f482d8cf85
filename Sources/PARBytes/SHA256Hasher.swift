internal import Crypto

/// SHA-256 over bytes as they stream by (swift-crypto's BoringSSL, with SHA-NI where present).
package struct SHA256Hasher {
    private var hasher = SHA256()

    /// Starts an empty hash.
    package init() {}

    /// Adds bytes to the hash.
    ///
    /// - Parameter bytes: The next bytes of the stream.
    package mutating func update(_ bytes: UnsafeRawBufferPointer) {
        hasher.update(bufferPointer: bytes)
    }

    /// The hash of everything added.
    ///
    /// - Returns: The SHA-256 digest.
    package func finalize() -> SHA256Hash {
        // A SHA-256 digest is always 32 bytes.
        guard let hash = SHA256Hash(bytes: Array(hasher.finalize())) else {
            preconditionFailure("SHA-256 produced a digest that is not 32 bytes")
        }
        return hash
    }
}
