import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import NIOSSL
import PARBytes

/// One HTTP request to a registry or its token endpoint.
struct HTTPRequest: Sendable {
    enum Body: Sendable {
        case none
        case bytes([UInt8])
        /// `count` bytes of a file from `offset`, streamed.
        case file(path: String, offset: UInt64, count: UInt64)
    }

    var method: HTTPMethod
    var url: String
    var headers: [(name: String, value: String)] = []
    var body: Body = .none

    /// `GET /v2/...`, for messages: the path only, never a query (which may carry tokens).
    var summary: String {
        let path = URL(string: url)?.path ?? ""
        return "\(method.rawValue) \(path.isEmpty ? "/" : path)"
    }
}

/// An answer: its status, headers, the URL it came from (after redirects), and its body when
/// it was collected.
struct HTTPAnswer: Sendable {
    var status: Int
    var headers: HTTPHeaders
    var url: String
    var body: [UInt8]

    func header(_ name: String) -> String? { headers.first(name: name) }
}

/// A transport failure, and whether trying again may help (a reset connection, a stall).
struct TransportFailure: Error {
    let error: RegistryError
    let isTransient: Bool
}

/// The registry client's HTTP: one async-http-client with the caller's TLS trust; bodies
/// streamed both ways with back-pressure; answers collected only up to a limit, checked as
/// bytes arrive; a watchdog failing any transfer that moves too little in a window.
/// Redirects are followed, and async-http-client drops `Authorization` on any that leaves
/// the origin (scheme, host, port).
final class RegistryTransport: Sendable {
    let client: HTTPClient
    let limits: RegistryLimits
    /// The registry's name, for messages.
    let registry: String

    init(registry: String, tls: RegistryTLS, limits: RegistryLimits) throws(RegistryError) {
        var configuration = TLSConfiguration.makeClientConfiguration()
        if !tls.verifiesCertificates {
            configuration.certificateVerification = .none
        }
        var roots: [NIOSSLCertificate] = []
        for file in tls.certificateAuthorityFiles {
            do {
                // Bounded while reading: a CA bundle is a few hundred KiB, and /dev/zero never ends.
                guard let pem = try FileSource(path: file).readAll(limit: RegistryTLS.maximumCertificateFileSize) else {
                    throw RegistryError.certificateFile(
                        path: file, reason: "it is larger than \(RegistryTLS.maximumCertificateFileSize >> 20) MiB, more than a CA bundle")
                }
                let certificates = try NIOSSLCertificate.fromPEMBytes(pem)
                guard !certificates.isEmpty else { throw RegistryError.certificateFile(path: file, reason: "it holds no PEM certificate") }
                roots += certificates
            } catch let error as RegistryError {
                throw error
            } catch {
                let reason = FileManager.default.isReadableFile(atPath: file) ? "it is not a PEM certificate" : "it cannot be read"
                throw .certificateFile(path: file, reason: reason)
            }
        }
        if !roots.isEmpty { configuration.additionalTrustRoots = [.certificates(roots)] }
        var http = HTTPClient.Configuration(
            tlsConfiguration: configuration,
            redirectConfiguration: .follow(max: 5, allowCycles: false),
            timeout: HTTPClient.Configuration.Timeout(connect: Self.timeAmount(limits.window), read: Self.timeAmount(limits.window)))
        http.decompression = .disabled
        // A refused connection fails at once; what is worth retrying is RetryPolicy's to decide.
        http.connectionPool.retryConnectionEstablishment = false
        client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: http)
        self.limits = limits
        self.registry = registry
    }

    func shutdown() async {
        try? await client.shutdown()
    }

    /// Sends a request. With `stream`, a body answered with a status it accepts goes to it
    /// chunk by chunk; any other body is collected, up to `limit` bytes.
    func exchange(
        _ request: HTTPRequest, limit: Int, stream: BodyStream? = nil, sent: (@Sendable (Int) -> Void)? = nil
    ) async throws(TransportFailure) -> HTTPAnswer {
        let meter = TransferMeter()
        let limits = self.limits
        do {
            return try await withThrowingTaskGroup(of: HTTPAnswer?.self) { group in
                group.addTask {
                    var outgoing = HTTPClientRequest(url: request.url)
                    outgoing.method = request.method
                    for header in request.headers { outgoing.headers.add(name: header.name, value: header.value) }
                    outgoing.body = try Self.body(request.body, meter: meter, sent: sent)
                    // The watchdog, not a deadline, bounds the request: it may take long if it moves.
                    let response = try await self.client.execute(outgoing, timeout: .hours(24))
                    let status = Int(response.status.code)
                    var collected: [UInt8] = []
                    if let stream, stream.accepts(status) {
                        for try await chunk in response.body {
                            meter.record(chunk.readableBytes)
                            try await stream.consume(chunk)
                        }
                    } else {
                        for try await chunk in response.body {
                            meter.record(chunk.readableBytes)
                            guard collected.count + chunk.readableBytes <= limit else { throw AnswerTooLarge(limit: limit) }
                            collected += chunk.readableBytesView
                        }
                    }
                    return HTTPAnswer(status: status, headers: response.headers, url: response.url?.absoluteString ?? request.url, body: collected)
                }
                group.addTask {
                    try await meter.watch(window: limits.window, minimumBytes: limits.minimumBytes)
                    return nil
                }
                defer { group.cancelAll() }
                guard let first = try await group.next(), let answer = first else { throw Stalled() }
                return answer
            }
        } catch {
            throw classify(error, request: request)
        }
    }

    private static func body(
        _ body: HTTPRequest.Body, meter: TransferMeter, sent: (@Sendable (Int) -> Void)?
    ) throws -> HTTPClientRequest.Body? {
        switch body {
        case .none:
            return nil
        case .bytes(let bytes):
            meter.record(bytes.count)
            return .bytes(bytes)
        case .file(let path, let offset, let count):
            let chunks = FileChunks(path: path, offset: offset, count: count) { read in
                meter.record(read)
                sent?(read)
            }
            return .stream(chunks, length: .known(Int64(count)))
        }
    }

    private func classify(_ error: any Error, request: HTTPRequest) -> TransportFailure {
        switch error {
        case let failure as TransportFailure:
            return failure
        case is Stalled:
            return TransportFailure(error: .stalled(registry: registry, window: limits.window, minimumBytes: limits.minimumBytes), isTransient: true)
        case let tooLarge as AnswerTooLarge:
            return TransportFailure(error: .answerTooLarge(request: request.summary, limit: tooLarge.limit), isTransient: false)
        case let error as RegistryError:
            return TransportFailure(error: error, isTransient: false)
        case let error as FileError:
            return TransportFailure(error: .file(error), isTransient: false)
        case let error as NIOSSLError:
            return TransportFailure(error: Self.tlsFailure(error, registry: registry), isTransient: false)
        case let error as NIOSSLExtraError:
            return TransportFailure(error: .untrustedCertificate(registry: registry, reason: Self.reason(error)), isTransient: false)
        case let error as HTTPClientError where error == .readTimeout:
            // No byte for a whole window: the same stall the watchdog reports.
            return TransportFailure(error: .stalled(registry: registry, window: limits.window, minimumBytes: limits.minimumBytes), isTransient: true)
        case let error as HTTPClientError where error == .remoteConnectionClosed:
            return TransportFailure(error: .connectionLost(registry: registry, reason: Self.reason(error)), isTransient: true)
        case let error as IOError where [ECONNRESET, EPIPE].contains(error.errnoCode):
            return TransportFailure(error: .connectionLost(registry: registry, reason: Self.reason(error)), isTransient: true)
        default:
            return TransportFailure(error: .unreachable(registry: registry, reason: Self.reason(error)), isTransient: false)
        }
    }

    /// A TLS failure in BoringSSL's words (`CERTIFICATE_VERIFY_FAILED`), told apart: a
    /// certificate not trusted, or a server that does not speak TLS at all.
    static func tlsFailure(_ error: NIOSSLError, registry: String) -> RegistryError {
        let text = reason(error)
        // BoringSSL writes "...:SSL routines:OPENSSL_internal:CODE at FILE": the CODE says it.
        var code = text
        if let marker = text.range(of: "OPENSSL_internal:") {
            code = String(text[marker.upperBound...].prefix(while: { $0.isUppercase || $0.isNumber || $0 == "_" }))
        }
        if code.contains("CERTIFICATE") || text.contains("certificate") {
            return .untrustedCertificate(registry: registry, reason: code)
        }
        return .unreachable(registry: registry, reason: "TLS failed: \(code)")
    }

    /// An error's own words, on one line.
    static func reason(_ error: any Error) -> String {
        String(describing: error).split(whereSeparator: \.isNewline).joined(separator: " ")
    }

    static func timeAmount(_ duration: Duration) -> TimeAmount {
        .nanoseconds(duration.components.seconds * 1_000_000_000 + duration.components.attoseconds / 1_000_000_000)
    }
}

/// Where a streamed answer goes, and for which statuses.
struct BodyStream: Sendable {
    let accepts: @Sendable (Int) -> Bool
    let consume: @Sendable (ByteBuffer) async throws -> Void
}

private struct Stalled: Error {}

private struct AnswerTooLarge: Error {
    let limit: Int
}

/// Bytes moved by one transfer, and a watchdog that fails it when too few move in a window.
final class TransferMeter: Sendable {
    private let moved = ByteCounter(total: 0, handler: nil)

    func record(_ count: Int) {
        moved.add(count)
    }

    var total: Int { Int(clamping: moved.completed) }

    /// Returns never; throws `Stalled` once fewer than `minimumBytes` moved in the last
    /// `window`, or cancellation when the transfer ended.
    func watch(window: Duration, minimumBytes: Int) async throws {
        let clock = ContinuousClock()
        let tick = max(window / 10, .milliseconds(50))
        var samples: [(time: ContinuousClock.Instant, total: Int)] = [(clock.now, total)]
        while true {
            try await Task.sleep(for: tick)
            let now = clock.now
            samples.append((now, total))
            // Keep one sample at least a window old: the start of the window to judge.
            while samples.count > 1, samples[1].time <= now - window { samples.removeFirst() }
            if let start = samples.first, start.time <= now - window, samples[samples.count - 1].total - start.total < minimumBytes {
                throw Stalled()
            }
        }
    }
}

/// A file's bytes as request body chunks of 1 MiB, read as the connection asks for them.
struct FileChunks: AsyncSequence, Sendable {
    typealias Element = ByteBuffer

    let path: String
    let offset: UInt64
    let count: UInt64
    let read: @Sendable (Int) -> Void

    func makeAsyncIterator() -> Iterator {
        Iterator(path: path, offset: offset, remaining: count, read: read)
    }

    struct Iterator: AsyncIteratorProtocol {
        let path: String
        let offset: UInt64
        var remaining: UInt64
        let read: @Sendable (Int) -> Void
        var source: FileSource?

        init(path: String, offset: UInt64, remaining: UInt64, read: @escaping @Sendable (Int) -> Void) {
            self.path = path
            self.offset = offset
            self.remaining = remaining
            self.read = read
        }

        mutating func next() async throws -> ByteBuffer? {
            guard remaining > 0 else { return nil }
            if source == nil {
                let file = try FileSource(path: path)
                try file.seek(to: offset)
                source = file
            }
            let size = Int(Swift.min(remaining, 1 << 20))
            var buffer = ByteBuffer()
            let filled = try buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: size) { raw in
                try source?.readFully(into: UnsafeMutableRawBufferPointer(rebasing: raw[..<size])) ?? 0
            }
            guard filled == size else { throw FileError(operation: "read", path: path, code: Errno.inputOutput) }
            remaining -= UInt64(filled)
            read(filled)
            return buffer
        }
    }
}
