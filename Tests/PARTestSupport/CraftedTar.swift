import Foundation
import PARBytes
import PARContainer

/// Tar bytes made by hand, for archives no honest writer makes: broken headers, and the
/// hostile ones that once trapped the reader (numbers at the edge of 64 bits).
public enum CraftedTar {
    /// A 512-byte header with a valid checksum.
    ///
    /// - Parameters:
    ///   - name: The entry name (at most 100 bytes).
    ///   - size: The raw bytes of the 12-byte size field (octal text, or base-256).
    ///   - type: The type flag.
    ///   - magic: The magic and version bytes.
    ///   - linkName: The link target.
    public static func header(
        name: String, size: [UInt8] = Array("00000000000".utf8), type: UInt8 = UInt8(ascii: "0"),
        magic: [UInt8] = Array("ustar\u{0}00".utf8), linkName: String = ""
    ) -> [UInt8] {
        var header = [UInt8](repeating: 0, count: 512)
        header.replaceSubrange(0..<name.utf8.count, with: Array(name.utf8))
        header.replaceSubrange(100..<108, with: Array("0000644\u{0}".utf8))
        header.replaceSubrange(124..<124 + size.count, with: size)
        header[156] = type
        header.replaceSubrange(157..<157 + linkName.utf8.count, with: Array(linkName.utf8))
        header.replaceSubrange(257..<257 + magic.count, with: magic)
        return withChecksum(header)
    }

    /// The block with its checksum field computed (6 octal digits, NUL, space).
    public static func withChecksum(_ block: [UInt8]) -> [UInt8] {
        var header = block
        header.replaceSubrange(148..<156, with: [UInt8](repeating: 0x20, count: 8))
        let sum = header.reduce(0) { $0 + Int($1) }
        header.replaceSubrange(148..<156, with: Array(String(format: "%06o", sum).utf8) + [0, 0x20])
        return header
    }

    /// The size field for `size` as 11 octal digits and a NUL.
    public static func octal(_ size: Int) -> [UInt8] {
        Array(String(format: "%011o", size).utf8) + [0]
    }

    /// A whole entry: header, content, padding to 512 bytes.
    public static func entry(name: String, content: [UInt8], type: UInt8 = UInt8(ascii: "0")) -> [UInt8] {
        header(name: name, size: octal(content.count), type: type) + content
            + [UInt8](repeating: 0, count: (512 - content.count % 512) % 512)
    }

    /// The two zero blocks that end an archive.
    public static let end = [UInt8](repeating: 0, count: 1024)

    /// A pax record whose length field is 2^63 - 1: `index + length` overflowed.
    public static var paxLengthOverflow: [UInt8] {
        entry(name: "PaxHeaders/x", content: Array("9223372036854775807 path=x86_64-linux.bin\n".utf8), type: UInt8(ascii: "x"))
            + entry(name: "x86_64-linux.bin", content: [1, 2, 3]) + end
    }

    /// An entry whose base-256 size is 2^64 - 1: skipping content + padding overflowed.
    public static var base256SizeOverflow: [UInt8] {
        header(name: "x86_64-linux.bin", size: [0x80, 0, 0, 0] + [UInt8](repeating: 0xFF, count: 8)) + end
    }

    /// An entry whose pax `size` is 2^64 - 1.
    public static var paxSizeOverflow: [UInt8] {
        entry(name: "PaxHeaders/x", content: Array("29 size=18446744073709551615\n".utf8), type: UInt8(ascii: "x"))
            + header(name: "x86_64-linux.bin") + end
    }

    /// Every archive above, named.
    public static var numberTraps: [(name: String, bytes: [UInt8])] {
        [("pax-length", paxLengthOverflow), ("base256-size", base256SizeOverflow), ("pax-size", paxSizeOverflow)]
    }

    /// gzip of `bytes`, by the system's gzip.
    public static func gzip(_ bytes: [UInt8]) throws -> [UInt8] {
        try ExternalTools.run(["gzip", "-c"], input: bytes).outputBytes
    }
}

/// A tar of these files, in this order, mode 0644, written by our own writer.
///
/// - Parameter files: Each file's name and content.
/// - Returns: The tar's bytes.
public func makeTar(_ files: [(String, [UInt8])]) throws -> [UInt8] {
    let sink = MemorySink()
    let writer = TarWriter(sink)
    for (name, content) in files { try writer.addFile(name: name, contents: content, mode: 0o644) }
    try writer.finish()
    return sink.bytes
}
