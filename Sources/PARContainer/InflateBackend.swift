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
        (try? chosen(by: ProcessInfo.processInfo.environment["PAR_INFLATE"])) ?? (isalAvailable ? .isal : .zlib)
    }()

    /// The backend `PAR_INFLATE` asks for: `zlib`, `isal` (ISA-L when it can be loaded,
    /// else zlib), or empty or unset for the default.
    ///
    /// - Parameter value: The variable's value.
    /// - Returns: The backend.
    /// - Throws: ``InflateBackendError`` for any other value.
    public static func chosen(by value: String?) throws(InflateBackendError) -> InflateBackend {
        switch value {
        case nil, "": isalAvailable ? .isal : .zlib
        case "zlib": .zlib
        case "isal": isalAvailable ? .isal : .zlib
        case let other?: throw InflateBackendError(value: other)
        }
    }

    /// Whether ISA-L could be loaded (and was built in).
    public static var isalAvailable: Bool { CPARIsal_available() == 1 }

    public var description: String {
        switch self {
        case .isal: "ISA-L"
        case .zlib: "zlib"
        }
    }
}

/// The value choosing a backend (`PAR_INFLATE`) names none.
public struct InflateBackendError: Error, Sendable, CustomStringConvertible {
    /// The value given.
    public let value: String

    public var description: String {
        "\(value) names no inflate backend"
    }
}

/// A streaming raw-deflate inflater, one gzip member's body at a time: what `GzipReader`
/// needs of either backend. The header and trailer are `GzipReader`'s.
protocol Inflater: AnyObject {
    /// Whether the current member's deflate data has ended (its trailer is not consumed).
    var memberEnded: Bool { get }
    /// The CRC-32 of what the current member produced.
    var crc: UInt32 { get }
    /// Inflates from `input` into `output`.
    ///
    /// - Returns: Bytes consumed from `input` and bytes produced into `output`.
    func inflate(_ input: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer) throws(GzipError) -> (consumed: Int, produced: Int)
    /// Starts the next member after one has ended.
    func resetForNextMember() throws(GzipError)
    /// After the member's deflate data ended: bytes the inflater read past its end (the
    /// trailer's start), which it consumed but did not use.
    func takeHeldInput() -> [UInt8]
}

extension ZlibStream: Inflater {
    /// zlib stops at the last byte of the deflate data: it holds none back.
    func takeHeldInput() -> [UInt8] { [] }
}

/// ISA-L's `isal_inflate` of raw deflate, keeping the gzip CRC-32.
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

    var crc: UInt32 { CPARIsal_crc(state) }

    func takeHeldInput() -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: 8)
        let count = bytes.withUnsafeMutableBufferPointer { CPARIsal_takeHeldBytes(state, $0.baseAddress) }
        return Array(bytes.prefix(Int(count)))
    }

    func resetForNextMember() throws(GzipError) {
        CPARIsal_reset(state)
        memberEnded = false
    }

    /// ISA-L's negative statuses: damaged deflate data in the words zlib's backend uses.
    private static func failure(_ status: Int32) -> GzipError {
        switch status {
        case -1, -2, -3: .corrupt(GzipError.invalidDeflate)
        default: .zlibFailure(code: status, message: "ISA-L status \(status)")
        }
    }
}
