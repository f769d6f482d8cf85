// Feeds each input to every reader of untrusted bytes: the archive loader (every
// selection), verification (full and as a platform slice), the unverified claims reader
// `par inspect` uses, gzip with each inflate backend this machine has (ISA-L and zlib), the
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
let backends: [InflateBackend] = InflateBackend.isalAvailable ? [.isal, .zlib] : [.zlib]

/// Reads a gzip stream to its end (or its error) with one backend.
func inflateAll(_ bytes: [UInt8], with backend: InflateBackend) {
    guard let reader = try? GzipReader(MemorySource(bytes), backend: backend) else { return }
    let chunk = UnsafeMutableRawBufferPointer.allocate(byteCount: 64 << 10, alignment: 16)
    defer { chunk.deallocate() }
    while let count = try? reader.read(into: chunk), count > 0 {}
}

let readEverything: @convention(c) (UnsafePointer<UInt8>?, Int) -> Int32 = { data, size in
    let bytes = data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? []
    _ = try? ProviderArchive.load(bytes: bytes, selection: .all, policy: policy)
    _ = try? ProviderArchive.load(bytes: bytes, selection: .only(.native), policy: policy)
    _ = try? ProviderArchive.verify(from: MemorySource(bytes), policy: policy)
    _ = try? ProviderArchive.verifySlice(from: MemorySource(bytes), policy: policy)
    if GzipReader.isGzip(bytes) {
        for backend in backends { inflateAll(bytes, with: backend) }
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
