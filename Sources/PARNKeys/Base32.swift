/// RFC 4648 base32 without padding, as nkeys use it: uppercase alphabet only, and the unused
/// low bits of the last character must be zero, so every key has exactly one text form.
enum Base32 {
    private static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567".utf8)

    private static let decodeTable: [UInt8] = {
        var table = [UInt8](repeating: 0xFF, count: 256)
        for (value, character) in alphabet.enumerated() {
            table[Int(character)] = UInt8(value)
        }
        return table
    }()

    /// Encodes `bytes` without padding.
    static func encode(_ bytes: [UInt8]) -> String {
        var output = [UInt8]()
        output.reserveCapacity((bytes.count * 8 + 4) / 5)
        var buffer: UInt32 = 0
        var bitCount = 0
        for byte in bytes {
            buffer = (buffer << 8) | UInt32(byte)
            bitCount += 8
            while bitCount >= 5 {
                bitCount -= 5
                output.append(alphabet[Int((buffer >> UInt32(bitCount)) & 31)])
            }
        }
        if bitCount > 0 {
            output.append(alphabet[Int((buffer << UInt32(5 - bitCount)) & 31)])
        }
        return String(decoding: output, as: UTF8.self)
    }

    /// Decodes unpadded base32 text.
    ///
    /// - Throws: ``NKeyError/invalidBase32(position:)`` at the first character outside the
    ///   alphabet, or at the last one when its unused bits are not zero or the length is impossible.
    static func decode(_ text: String) throws(NKeyError) -> [UInt8] {
        let characters = Array(text.utf8)
        var output = [UInt8]()
        output.reserveCapacity(characters.count * 5 / 8)
        var buffer: UInt32 = 0
        var bitCount = 0
        for (position, character) in characters.enumerated() {
            let value = decodeTable[Int(character)]
            guard value != 0xFF else { throw .invalidBase32(position: position) }
            buffer = (buffer << 5) | UInt32(value)
            bitCount += 5
            if bitCount >= 8 {
                bitCount -= 8
                output.append(UInt8(truncatingIfNeeded: buffer >> UInt32(bitCount)))
            }
            buffer &= (1 << UInt32(bitCount)) - 1
        }
        // Leftover bits must be fewer than a byte's worth and all zero (canonical form).
        guard bitCount < 5, buffer == 0 else {
            throw .invalidBase32(position: max(characters.count - 1, 0))
        }
        return output
    }
}
