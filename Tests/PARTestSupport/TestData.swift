import PARBytes

/// Deterministic bytes that do not repeat with a short period (so neither compression nor a
/// misplaced chunk goes unnoticed), different for each seed.
///
/// - Parameters:
///   - count: How many bytes.
///   - seed: Which sequence.
/// - Returns: The bytes.
public func pattern(_ count: Int, seed: UInt8 = 1) -> [UInt8] {
    (0..<count).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ Int(seed) &* 7 &+ $0 >> 9) }
}

/// Everything `source` gives until its end, read `chunk` bytes at a time: small chunks test
/// a reader's edges.
public func readToEnd(_ source: any ByteSource, chunk: Int) throws -> [UInt8] {
    var result: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: chunk)
    while true {
        let count = try buffer.withUnsafeMutableBytes { try source.read(into: $0) }
        if count == 0 { return result }
        result += buffer[..<count]
    }
}
