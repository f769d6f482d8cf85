internal import Crypto

/// SHA-256 digests in the registry's `sha256:` + lowercase hex form.
struct StreamingDigest {
    private var hasher = SHA256()

    mutating func update(_ bytes: UnsafeRawBufferPointer) {
        hasher.update(bufferPointer: bytes)
    }

    func finalizeHex() -> String {
        let digits = Array("0123456789abcdef".utf8)
        var text = [UInt8]()
        for byte in hasher.finalize() {
            text.append(digits[Int(byte >> 4)])
            text.append(digits[Int(byte & 15)])
        }
        return String(decoding: text, as: UTF8.self)
    }

    static func hex(_ bytes: [UInt8]) -> String {
        var digest = StreamingDigest()
        bytes.withUnsafeBytes { digest.update($0) }
        return digest.finalizeHex()
    }
}
