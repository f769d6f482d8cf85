import Foundation
import PARBytes
import PARTestSupport
import Testing

@testable import PARContainer

/// Every framing of RFC 1952 through both inflate backends: the same verdict, the same
/// words and the same bytes, whichever library inflates (issue: ISA-L refused a valid FHCRC
/// and accepted reserved flags that zlib refuses).
@Suite struct GzipFramingTests {
    static let data = pattern(40_000)

    /// A member with the header fields asked for, around the deflate data `gzip` wrote.
    static func member(
        flags: UInt8 = 0, extra: [UInt8]? = nil, name: [UInt8]? = nil, comment: [UInt8]? = nil, headerCRC: Bool = false,
        corruptHeaderCRC: Bool = false, data: [UInt8] = data
    ) throws -> [UInt8] {
        let plain = try gzip(data)
        let body = plain[10..<(plain.count - 8)]
        var header: [UInt8] = [0x1F, 0x8B, 8, 0, 0, 0, 0, 0, 0, 3]
        var flag = flags
        if extra != nil { flag |= 0x04 }
        if name != nil { flag |= 0x08 }
        if comment != nil { flag |= 0x10 }
        if headerCRC { flag |= 0x02 }
        header[3] = flag
        if let extra { header += [UInt8(extra.count & 0xFF), UInt8(extra.count >> 8)] + extra }
        if let name { header += name + [0] }
        if let comment { header += comment + [0] }
        if headerCRC {
            let crc = header.withUnsafeBytes { CRC32.update(0, $0) } ^ (corruptHeaderCRC ? 1 : 0)
            header += [UInt8(crc & 0xFF), UInt8((crc >> 8) & 0xFF)]
        }
        return header + body + plain.suffix(8)
    }

    /// The variants, each with what it must give: the data, or an error.
    static func variants() throws -> [(String, [UInt8], Result<[UInt8], GzipError>)] {
        let good = try gzip(data)
        var badCRC = good
        badCRC[badCRC.count - 6] ^= 1
        var badLength = good
        badLength[badLength.count - 2] ^= 1
        var damaged = good
        damaged[20] ^= 0xFF
        let secondData = pattern(777, seed: 4)
        return [
            ("plain", good, .success(data)),
            ("FHCRC", try member(headerCRC: true), .success(data)),
            ("FHCRC wrong", try member(headerCRC: true, corruptHeaderCRC: true), .failure(.corrupt("header crc mismatch"))),
            ("FEXTRA", try member(extra: Array(repeating: 7, count: 300)), .success(data)),
            ("FEXTRA empty", try member(extra: []), .success(data)),
            ("FNAME", try member(name: Array("provider.par".utf8)), .success(data)),
            ("FCOMMENT", try member(comment: Array("a comment".utf8)), .success(data)),
            ("FTEXT", try member(flags: 0x01), .success(data)),
            (
                "every field", try member(extra: [1, 2, 3, 4], name: Array("n".utf8), comment: Array("c".utf8), headerCRC: true),
                .success(data)
            ),
            ("reserved flag 0x20", try member(flags: 0x20), .failure(.corrupt("unknown header flags set"))),
            ("reserved flag 0x80", try member(flags: 0x80), .failure(.corrupt("unknown header flags set"))),
            ("method 7", [0x1F, 0x8B, 7] + good.dropFirst(3), .failure(.corrupt("unknown compression method"))),
            ("bad magic", [0x1F, 0x8C] + good.dropFirst(2), .failure(.corrupt("incorrect header check"))),
            ("bad CRC", badCRC, .failure(.corrupt("incorrect data check"))),
            ("bad ISIZE", badLength, .failure(.corrupt("incorrect length check"))),
            ("damaged deflate", damaged, .failure(.corrupt(GzipError.invalidDeflate))),
            ("truncated in header", Array(good.prefix(5)), .failure(.truncated)),
            ("truncated in FNAME", Array(try member(name: Array("long-name".utf8)).prefix(14)), .failure(.truncated)),
            ("truncated in body", Array(good.prefix(good.count / 2)), .failure(.truncated)),
            ("truncated in trailer", Array(good.dropLast(3)), .failure(.truncated)),
            ("empty", [], .failure(.truncated)),
            ("trailing bytes", good + [0, 0, 0], .failure(.trailingData)),
            ("trailing 1f", good + [0x1F], .failure(.truncated)),
            ("concatenated", good + (try member(name: Array("b".utf8), headerCRC: true, data: secondData)), .success(data + secondData)),
            ("concatenated, second bad", good + [0x1F, 0x8B, 8, 0xE0], .failure(.corrupt("unknown header flags set"))),
        ]
    }

    @Test func bothBackendsGiveTheSameVerdictForEveryFraming() throws {
        for (name, bytes, expected) in try Self.variants() {
            for backend in backends {
                for step in [bytes.count + 1, 3] {
                    let outcome = Result { () throws(GzipError) -> [UInt8] in
                        do {
                            return try gunzip(TricklingSource(bytes, step: max(step, 1)), chunk: 4096, backend: backend)
                        } catch let error as GzipError {
                            throw error
                        } catch {
                            throw .zlibFailure(code: 0, message: "\(error)")
                        }
                    }
                    switch (outcome, expected) {
                    case (.success(let got), .success(let want)):
                        #expect(got == want, "\(name) with \(backend), \(step)-byte reads")
                    case (.failure(let got), .failure(let want)):
                        #expect(got == want, "\(name) with \(backend), \(step)-byte reads")
                    default:
                        Issue.record("\(name) with \(backend), \(step)-byte reads: \(outcome), expected \(expected)")
                    }
                }
            }
        }
    }

    /// The one way the backends differ, and what bounds it (found by the fuzz target): ISA-L
    /// builds Huffman tables without zlib's completeness check, so it reads a block whose
    /// literal code leaves part of the code space unused, which zlib (and GNU gzip) refuse.
    /// What ISA-L gives is still only what the trailer's CRC-32 and length state: with a
    /// wrong CRC both refuse. The fuzz target holds the backends to exactly this.
    @Test func isalsLenientTablesAreBoundByTheTrailer() throws {
        // "AAAA" in one dynamic block whose literal code gives 'A' 1 bit and end-of-block 2.
        let lenient: [UInt8] = [
            0x1F, 0x8B, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xFF, 0x05, 0xE0, 0x01, 0x09, 0x00, 0x00, 0x00, 0x80, 0x20,
            0x6C, 0xF3, 0xFF, 0xA9, 0x84, 0x00, 0xF1, 0x08, 0x0D, 0x9B, 0x04, 0x00, 0x00, 0x00,
        ]
        var wrongCRC = lenient
        wrongCRC[wrongCRC.count - 8] ^= 1
        #expect(throws: GzipError.corrupt(GzipError.invalidDeflate)) { try gunzip(MemorySource(lenient), backend: .zlib) }
        #expect(throws: GzipError.corrupt(GzipError.invalidDeflate)) { try gunzip(MemorySource(wrongCRC), backend: .zlib) }
        #expect(try ExternalTools.run(["gzip", "-dc"], input: lenient).status != 0)
        guard InflateBackend.isalAvailable else { return }
        #expect(try gunzip(MemorySource(lenient), backend: .isal) == Array("AAAA".utf8))
        #expect(throws: GzipError.corrupt("incorrect data check")) { try gunzip(MemorySource(wrongCRC), backend: .isal) }
    }

    /// What the standard tools say of the same variants: GNU gzip and Python's zlib (the
    /// reference zlib) accept exactly the ones par accepts.
    @Test func gzipAcceptsWhatWeAccept() throws {
        for (name, bytes, expected) in try Self.variants() where !name.hasPrefix("trailing") {
            let result = try ExternalTools.run(["gzip", "-dc"], input: bytes)
            switch expected {
            case .success(let want):
                #expect(result.status == 0 && result.outputBytes == want, "gzip on \(name): \(result.error)")
            case .failure:
                #expect(result.status != 0, "gzip accepts \(name)")
            }
        }
    }

    @Test func parInflateTakesZlibIsalOrNothing() throws {
        #expect(try InflateBackend.chosen(by: "zlib") == .zlib)
        #expect(try InflateBackend.chosen(by: "isal") == (InflateBackend.isalAvailable ? .isal : .zlib))
        #expect(try InflateBackend.chosen(by: "") == InflateBackend.chosen(by: nil))
        #expect(throws: InflateBackendError.self) { try InflateBackend.chosen(by: "bogus") }
        #expect(throws: InflateBackendError.self) { try InflateBackend.chosen(by: "ZLIB ") }
    }
}
