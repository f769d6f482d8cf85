/// Reads a gzip member's header (RFC 1952, section 2.3) as it streams in, for both inflate
/// backends alike: so ISA-L and zlib accept and refuse the same headers, with the same words
/// (zlib's). Nothing of the header is kept but what checking it needs, so an endless file
/// name or comment costs no memory.
struct GzipMemberHeader {
    private enum Phase {
        /// The fixed ten bytes: ID1 ID2 CM FLG MTIME(4) XFL OS.
        case fixed
        /// The two bytes of FEXTRA's length.
        case extraLength
        /// FEXTRA's bytes.
        case extra
        /// The zero-terminated FNAME.
        case name
        /// The zero-terminated FCOMMENT.
        case comment
        /// The two bytes of FHCRC.
        case headerCRC
        case done
    }

    private static let textFlag: UInt8 = 0x01
    private static let headerCRCFlag: UInt8 = 0x02
    private static let extraFlag: UInt8 = 0x04
    private static let nameFlag: UInt8 = 0x08
    private static let commentFlag: UInt8 = 0x10

    private var phase = Phase.fixed
    private var count = 0
    private var flags: UInt8 = 0
    private var remaining = 0
    private var stored: UInt16 = 0
    /// The CRC-32 of the header's bytes so far, for FHCRC.
    private var crc: UInt32 = 0

    /// Whether the whole header was read and checked.
    var isComplete: Bool { phase == .done }

    /// Whether any of the header was read.
    var hasStarted: Bool { phase != .fixed || count > 0 }

    /// Reads header bytes from the start of `input`; stops at the header's end.
    ///
    /// - Returns: How many bytes of `input` belong to the header.
    /// - Throws: ``GzipError/corrupt(_:)`` with zlib's words for a header zlib refuses.
    mutating func consume(_ input: UnsafeRawBufferPointer) throws(GzipError) -> Int {
        var index = 0
        while index < input.count, phase != .done {
            let byte = input[index]
            if phase != .headerCRC { crc = CRC32.update(crc, byte) }
            index += 1
            try step(byte)
        }
        return index
    }

    private mutating func step(_ byte: UInt8) throws(GzipError) {
        switch phase {
        case .fixed:
            switch count {
            case 0 where byte != 0x1F, 1 where byte != 0x8B: throw .corrupt("incorrect header check")
            case 2 where byte != 8: throw .corrupt("unknown compression method")
            case 3 where byte & 0xE0 != 0: throw .corrupt("unknown header flags set")
            case 3: flags = byte
            default: break
            }
            count += 1
            if count == 10 { advance(after: .fixed) }
        case .extraLength:
            remaining |= Int(byte) << (8 * count)
            count += 1
            if count == 2 {
                phase = .extra
                if remaining == 0 { advance(after: .extra) }
            }
        case .extra:
            remaining -= 1
            if remaining == 0 { advance(after: .extra) }
        case .name:
            if byte == 0 { advance(after: .name) }
        case .comment:
            if byte == 0 { advance(after: .comment) }
        case .headerCRC:
            stored |= UInt16(byte) << (8 * UInt16(count))
            count += 1
            if count == 2 {
                guard stored == UInt16(truncatingIfNeeded: crc) else { throw .corrupt("header crc mismatch") }
                phase = .done
            }
        case .done:
            break
        }
    }

    /// Moves to the next optional field the flags announce, in the RFC's order.
    private mutating func advance(after finished: Phase) {
        count = 0
        let order: [(Phase, UInt8)] = [
            (.extraLength, Self.extraFlag), (.name, Self.nameFlag), (.comment, Self.commentFlag), (.headerCRC, Self.headerCRCFlag),
        ]
        let start: Int
        switch finished {
        case .fixed: start = 0
        case .extra: start = 1
        case .name: start = 2
        case .comment: start = 3
        default: start = 4
        }
        for (next, flag) in order[start...] where flags & flag != 0 {
            phase = next
            return
        }
        phase = .done
    }
}

/// A gzip member's trailer: CRC-32 and ISIZE (the length modulo 2^32), little-endian.
struct GzipMemberTrailer {
    private var bytes: [UInt8] = []

    /// Whether all eight bytes were read.
    var isComplete: Bool { bytes.count == 8 }

    /// Reads trailer bytes from the start of `input`.
    ///
    /// - Returns: How many bytes of `input` belong to the trailer.
    mutating func consume(_ input: UnsafeRawBufferPointer) -> Int {
        let taken = min(8 - bytes.count, input.count)
        bytes.append(contentsOf: input[..<taken])
        return taken
    }

    /// Checks the trailer against what was inflated, in zlib's words.
    func check(crc: UInt32, length: UInt64) throws(GzipError) {
        func word(_ offset: Int) -> UInt32 {
            (0..<4).reduce(0) { $0 | UInt32(bytes[offset + $1]) << (8 * $1) }
        }
        guard word(0) == crc else { throw .corrupt("incorrect data check") }
        guard word(4) == UInt32(truncatingIfNeeded: length) else { throw .corrupt("incorrect length check") }
    }
}
