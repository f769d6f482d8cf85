// Feeds each input to every reader of untrusted bytes: the archive loader (every
// selection), verification (full and as a platform slice), the unverified claims reader
// `par inspect` uses, gzip with each inflate backend this machine has (ISA-L must accept
// what zlib accepts, with the same bytes; see `compareBackends`), the
// JWT decoder and the nkey parsers. Any trap, hang or memory blow-up is a finding; errors are
// the expected answer to bad input.
import CFuzzerDriver

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import PARBytes
import PARContainer
import ProviderArchiveKit

let policy = VerificationPolicy(allowsExpired: true)

/// Reads a gzip stream to its end (or its error, or 64 MiB of output) with one backend: the
/// verdict, and a 64-bit FNV-1a hash and the count of the bytes it gave.
func inflateAll(_ bytes: [UInt8], with backend: InflateBackend) -> (verdict: String, digest: UInt64, count: Int) {
    var digest: UInt64 = 0xcbf2_9ce4_8422_2325
    var total = 0
    guard let reader = try? GzipReader(MemorySource(bytes), backend: backend) else { return ("no reader", digest, 0) }
    let chunk = UnsafeMutableRawBufferPointer.allocate(byteCount: 64 << 10, alignment: 16)
    defer { chunk.deallocate() }
    do {
        let limit = 64 << 20
        while total < limit {
            let count = min(try reader.read(into: chunk), limit - total)
            if count == 0 { return ("end", digest, total) }
            for byte in UnsafeRawBufferPointer(rebasing: chunk[..<count]) { digest = (digest ^ UInt64(byte)) &* 0x0000_0100_0000_01B3 }
            total += count
        }
        return ("limit", digest, total)
    } catch {
        return ("\(error)", digest, total)
    }
}

/// What the two backends may and may not differ on. zlib is the reference: what it accepts,
/// ISA-L must accept too, with the same bytes (it must never break a valid archive). ISA-L
/// builds Huffman tables without zlib's completeness check, so it may accept a stream whose
/// deflate data zlib calls invalid: then its bytes are still the ones the trailer's CRC-32
/// and length state (GzipReader checks them), and zlib's reason must be that one; a stream
/// ISA-L accepts that zlib finds short, trailed or failing its trailer is a finding. When both
/// refuse, the reasons may differ: the two check a damaged, short stream at different points.
func compareBackends(_ bytes: [UInt8]) {
    guard InflateBackend.isalAvailable else { return }
    let isal = inflateAll(bytes, with: .isal)
    let zlib = inflateAll(bytes, with: .zlib)
    let accepted = { (verdict: String) in verdict == "end" || verdict == "limit" }
    let agree =
        if accepted(zlib.verdict) {
            isal.verdict == zlib.verdict && isal.count == zlib.count && isal.digest == zlib.digest
        } else if accepted(isal.verdict) {
            // Only a stream read to its end had its trailer checked.
            isal.verdict == "end" && zlib.verdict == "\(GzipError.corrupt("invalid deflate data"))"
        } else {
            true
        }
    if !agree {
        let message = Array("par-fuzz: ISA-L said \(isal.verdict) after \(isal.count) bytes, zlib said \(zlib.verdict) after \(zlib.count)\n".utf8)
        _ = message.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
        abort()
    }
}

let readEverything: @convention(c) (UnsafePointer<UInt8>?, Int) -> Int32 = { data, size in
    let bytes = data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? []
    _ = try? ProviderArchive.load(bytes: bytes, selection: .all, policy: policy)
    _ = try? ProviderArchive.load(bytes: bytes, selection: .only(.native), policy: policy)
    _ = try? ProviderArchive.load(bytes: bytes, selection: .worldOnly, policy: policy)
    _ = try? ProviderArchive.verify(from: MemorySource(bytes), policy: policy)
    _ = try? ProviderArchive.verifySlice(from: MemorySource(bytes), policy: policy)
    if GzipReader.isGzip(bytes) {
        compareBackends(bytes)
    }
    _ = try? ProviderArchive.claimsWithoutVerifying(from: MemorySource(bytes))
    _ = try? ClaimsToken(verifying: bytes, policy: policy)
    _ = try? ClaimsToken.decodeWithoutVerifying(bytes)
    _ = try? JSONValue(parsing: bytes)
    if let text = String(validating: bytes, as: UTF8.self) {
        _ = try? NKeyPair(seed: text)
        _ = try? NKeyPublicKey(text)
        _ = try? Target(text)
    }
    return 0
}

var argc = CommandLine.argc
var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
exit(LLVMFuzzerRunDriver(&argc, &argv, readEverything))
