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
