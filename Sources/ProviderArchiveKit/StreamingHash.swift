internal import Crypto

/// SHA-256 over bytes as they stream by (swift-crypto's BoringSSL, with SHA-NI where present).
public struct StreamingHash {
    private var hasher = SHA256()

    /// Starts an empty hash.
    public init() {}

    /// Adds bytes to the hash.
    ///
    /// - Parameter bytes: The next bytes of the stream.
    public mutating func update(_ bytes: UnsafeRawBufferPointer) {
        hasher.update(bufferPointer: bytes)
    }

    /// The hash of everything added.
    ///
    /// - Returns: The SHA-256 digest.
    public func finalize() -> SHA256Hash {
        // A SHA-256 digest is always 32 bytes.
        guard let hash = SHA256Hash(bytes: Array(hasher.finalize())) else {
            preconditionFailure("SHA-256 produced a digest that is not 32 bytes")
        }
        return hash
    }

    /// The SHA-256 of bytes in memory.
    ///
    /// - Parameter bytes: The bytes.
    /// - Returns: Their digest.
    public static func hash(_ bytes: [UInt8]) -> SHA256Hash {
        var hash = StreamingHash()
        bytes.withUnsafeBytes { hash.update($0) }
        return hash.finalize()
    }
}
