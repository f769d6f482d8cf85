// Library-level throughput, without process start-up: SHA-256, inflate and deflate (serial
// and on all cores) over a file held in memory. Run by scripts/benchmark.py; prints JSON.
//
//     par-bench FILE [--runs N]
import Crypto
import Foundation
import PARBytes
import PARContainer
import ProviderArchiveKit

let arguments = CommandLine.arguments
guard arguments.count >= 2 else {
    FileHandle.standardError.write(Data("usage: par-bench FILE [--runs N]\n".utf8))
    exit(2)
}
let runs = arguments.firstIndex(of: "--runs").flatMap { Int(arguments[$0 + 1]) } ?? 3
let data = try FileSource(path: arguments[1]).readAll(limit: .max) ?? []
let megabytes = Double(data.count) / 1_000_000

/// The best of `runs` timings of `body`, in seconds.
func best(_ body: () throws -> Void) rethrows -> Double {
    var times: [Double] = []
    for _ in 0..<runs {
        let start = DispatchTime.now().uptimeNanoseconds
        try body()
        times.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
    }
    return times.min() ?? 0
}

let chunk = 1 << 20
let sha = best {
    var hasher = SHA256()
    data.withUnsafeBytes { bytes in
        var offset = 0
        while offset < bytes.count {
            let end = min(offset + chunk, bytes.count)
            hasher.update(bufferPointer: UnsafeRawBufferPointer(rebasing: bytes[offset..<end]))
            offset = end
        }
    }
    _ = hasher.finalize()
}

func deflate(parallelism: Int) throws -> [UInt8] {
    let sink = MemorySink()
    let writer = try GzipWriter(sink, level: .default, parallelism: parallelism)
    try data.withUnsafeBytes { bytes in
        var offset = 0
        while offset < bytes.count {
            let end = min(offset + chunk, bytes.count)
            try writer.write(UnsafeRawBufferPointer(rebasing: bytes[offset..<end]))
            offset = end
        }
    }
    try writer.finish()
    return sink.bytes
}

let cores = ProcessInfo.processInfo.activeProcessorCount
var compressed: [UInt8] = []
let deflateSerial = try best { compressed = try deflate(parallelism: 1) }
let deflateParallel = try best { compressed = try deflate(parallelism: cores) }
let inflate = try best {
    let reader = try GzipReader(MemorySource(compressed))
    let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: chunk, alignment: 16)
    defer { buffer.deallocate() }
    while try reader.read(into: buffer) > 0 {}
}

let results: [(String, Double)] = [
    ("sha256_mb_s", megabytes / sha),
    ("inflate_mb_s", megabytes / inflate),
    ("deflate_level6_serial_mb_s", megabytes / deflateSerial),
    ("deflate_level6_parallel_mb_s", megabytes / deflateParallel),
]
let fields = results.map { "\"\($0.0)\":\(String(format: "%.1f", $0.1))" }
print("{\"bytes\":\(data.count),\"cores\":\(cores),\"compressed_bytes\":\(compressed.count)," + fields.joined(separator: ",") + "}")
