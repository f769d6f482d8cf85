/// Field layout and number encodings of a 512-byte tar header (POSIX ustar, GNU, v7).
enum TarHeader {
    static let blockSize = 512

    static let name = 0..<100
    static let mode = 100..<108
    static let uid = 108..<116
    static let gid = 116..<124
    static let size = 124..<136
    static let mtime = 136..<148
    static let checksum = 148..<156
    static let typeFlag = 156
    static let linkName = 157..<257
    static let magic = 257..<263
    static let version = 263..<265
    static let prefix = 345..<500

    enum Format { case ustar, gnu, v7 }

    /// The format a header's magic names, or `nil` for none we know.
    static func format(of header: UnsafeRawBufferPointer) -> Format? {
        let magic = Array(header[magic])
        if magic == Array("ustar\0".utf8) { return .ustar }
        if magic == Array("ustar ".utf8), Array(header[version]) == [0x20, 0] { return .gnu }
        if magic.allSatisfy({ $0 == 0 }) { return .v7 }
        return nil
    }

    /// A NUL-terminated string field.
    static func string(_ header: UnsafeRawBufferPointer, _ range: Range<Int>) -> [UInt8] {
        let field = header[range]
        return Array(field.prefix(while: { $0 != 0 }))
    }

    /// A numeric field: octal digits (leading spaces, ending in space or NUL), or GNU base-256
    /// when the high bit of the first byte is set. Empty (all NUL) reads as 0, as the reference
    /// writes its mode that way. Negative base-256 values are refused.
    static func number(_ header: UnsafeRawBufferPointer, _ range: Range<Int>) -> UInt64? {
        let field = header[range]
        guard let first = field.first else { return nil }
        if first & 0x80 != 0 {
            guard first & 0x40 == 0 else { return nil }  // negative
            var value = UInt64(first & 0x3F)
            for byte in field.dropFirst() {
                guard value >> 56 == 0 else { return nil }
                value = value << 8 | UInt64(byte)
            }
            return value
        }
        var index = field.startIndex
        while index < field.endIndex, field[index] == 0x20 { index += 1 }
        var value: UInt64 = 0
        while index < field.endIndex, (0x30...0x37).contains(field[index]) {
            guard value >> 61 == 0 else { return nil }
            value = value << 3 | UInt64(field[index] - 0x30)
            index += 1
        }
        // Whatever follows the digits must be terminators only.
        guard field[index...].allSatisfy({ $0 == 0x20 || $0 == 0 }) else { return nil }
        return value
    }

    /// Checks the header checksum: the sum of all bytes with the checksum field read as spaces,
    /// unsigned (POSIX) or signed (some historic tars).
    static func hasValidChecksum(_ header: UnsafeRawBufferPointer) -> Bool {
        guard let stored = number(header, checksum) else { return false }
        var unsigned: Int64 = 0
        var signed: Int64 = 0
        for (index, byte) in header.enumerated() {
            let value = checksum.contains(index) ? 0x20 : byte
            unsigned += Int64(value)
            signed += Int64(Int8(bitPattern: value))
        }
        guard let expected = Int64(exactly: stored) else { return false }
        return expected == unsigned || expected == signed
    }

    /// Writes `value` as `width - 1` octal digits and a NUL, or base-256 when it does not fit.
    static func writeNumber(_ value: UInt64, into header: inout [UInt8], _ range: Range<Int>) {
        let digits = range.count - 1
        if digits * 3 >= 64 || value >> UInt64(digits * 3) == 0 {
            let octal = String(value, radix: 8)
            let padded = String(repeating: "0", count: max(0, digits - octal.count)) + octal
            header.replaceSubrange(range, with: Array(padded.utf8) + [0])
        } else {
            var remaining = value
            for index in range.reversed() {
                header[index] = UInt8(truncatingIfNeeded: remaining)
                remaining >>= 8
            }
            header[range.lowerBound] = 0x80
        }
    }
}
