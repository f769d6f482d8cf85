internal import CPARIsal
import Foundation

/// Which library inflates gzip: ISA-L, when `libisal.so.2` can be loaded at run time (about
/// four times zlib's speed on x86-64), else zlib. Both give the same bytes, the same limits
/// and the same errors; `PAR_INFLATE=zlib` in the environment forces zlib, for comparison
/// and bug reports.
public enum InflateBackend: String, Sendable, CaseIterable, CustomStringConvertible {
    /// Intel's ISA-L (`isal_inflate`), loaded with dlopen.
    case isal
    /// zlib's `inflate`.
    case zlib

    /// The backend readers use unless told otherwise: decided once per process.
    public static let current: InflateBackend = {
        if ProcessInfo.processInfo.environment["PAR_INFLATE"]?.lowercased() == "zlib" { return .zlib }
        return isalAvailable ? .isal : .zlib
    }()

    /// Whether ISA-L could be loaded (and was built in).
    public static var isalAvailable: Bool { CPARIsal_available() == 1 }

    public var description: String {
        switch self {
        case .isal: "ISA-L"
        case .zlib: "zlib"
        }
    }
}

/// A streaming gzip inflater: what `GzipReader` needs of either backend.
protocol Inflater: AnyObject {
    /// Whether the current member has ended, its trailer checked.
    var memberEnded: Bool { get }
    /// Inflates from `input` into `output`.
    ///
    /// - Returns: Bytes consumed from `input` and bytes produced into `output`.
    func inflate(_ input: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer) throws(GzipError) -> (consumed: Int, produced: Int)
    /// Starts the next member after one has ended.
    func resetForNextMember() throws(GzipError)
}

extension ZlibStream: Inflater {}

/// ISA-L's `isal_inflate` in gzip mode: it parses the header and checks each member's CRC-32
/// and length, as zlib does.
final class IsalInflater: Inflater {
    private let state: OpaquePointer
    private(set) var memberEnded = false

    init() throws(GzipError) {
        guard let state = CPARIsal_create() else {
            throw .zlibFailure(code: -1, message: "ISA-L's inflater could not start")
        }
        self.state = state
    }

    deinit {
        CPARIsal_destroy(state)
    }

    func inflate(_ input: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer) throws(GzipError) -> (consumed: Int, produced: Int) {
        var consumed = 0
        var produced = 0
        var ended: Int32 = 0
        let status = CPARIsal_inflate(
            state, input.baseAddress?.assumingMemoryBound(to: UInt8.self), input.count,
            output.baseAddress?.assumingMemoryBound(to: UInt8.self), output.count, &consumed, &produced, &ended)
        guard status >= 0 else { throw Self.failure(status) }
        if ended != 0 { memberEnded = true }
        return (consumed, produced)
    }

    func resetForNextMember() throws(GzipError) {
        CPARIsal_reset(state)
        memberEnded = false
    }

    /// ISA-L's negative statuses, in zlib's words where zlib has them.
    private static func failure(_ status: Int32) -> GzipError {
        switch status {
        case -1: .corrupt("invalid block type")
        case -2: .corrupt("invalid code")
        case -3: .corrupt("invalid distance too far back")
        case -4: .corrupt("incorrect header check")
        case -5: .corrupt("unknown compression method")
        case -6: .corrupt("incorrect data check")
        default: .zlibFailure(code: status, message: "ISA-L status \(status)")
        }
    }
}
