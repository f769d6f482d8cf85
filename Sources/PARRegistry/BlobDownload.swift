import Foundation
import NIOCore
import PARBytes
import PARContainer
import ProviderArchiveKit

/// One download of an archive layer into a temporary file beside its destination: the
/// file is named once its first bytes tell plain from gzip, the body is held to the
/// descriptor's size as it arrives (a longer one fails at the first byte too many), and the
/// digest is computed on the way, as is the archive's verification (the verdict
/// ``finish()`` returns). Nothing stays behind unless ``commit()`` renames it.
final class BlobDownload: Sendable {
    private let layer: OCIDescriptor
    private let destinationKind: PullDestination
    private let progress: (@Sendable (UInt64, UInt64) -> Void)?
    private let verification: StreamingVerification
    private let state = Monitor(State())

    /// The first bytes, until they name the file; then the file, hashed and counted as it is
    /// written. Touched by one task at a time, under the lock.
    private struct State {
        var pending: [UInt8] = []
        var sink: AtomicFileSink?
        var digesting: DigestingSink?
        var received: UInt64 { UInt64(pending.count) + (digesting?.size ?? 0) }
    }

    init(
        _ layer: OCIDescriptor, destination: PullDestination, progress: (@Sendable (UInt64, UInt64) -> Void)?,
        check: @escaping StreamingVerification.Check
    ) {
        self.layer = layer
        self.destinationKind = destination
        self.progress = progress
        self.verification = StreamingVerification(check)
    }

    /// The temporary file's path, once created.
    var path: String { state.withLock { $0.sink?.path ?? "" } }

    /// Where ``commit()`` puts the file.
    var destination: String { state.withLock { $0.sink?.destination ?? "" } }

    /// Takes the next chunk of the body.
    func write(_ chunk: ByteBuffer) async throws {
        let layer = self.layer
        let received: UInt64 = try state.withLock { state in
            guard state.received + UInt64(chunk.readableBytes) <= layer.size else {
                throw RegistryError.blobSizeMismatch(
                    digest: layer.digest, declared: layer.size, received: state.received + UInt64(chunk.readableBytes))
            }
            try chunk.withUnsafeReadableBytes { bytes in
                if let digesting = state.digesting {
                    try digesting.write(bytes)
                } else {
                    state.pending += bytes
                    if state.pending.count >= 2 { try Self.open(&state, destination: destinationKind) }
                }
            }
            return state.received
        }
        // The verifier's copy: it reads on a thread of its own.
        await verification.send(Array(chunk.readableBytesView))
        progress?(received, layer.size)
    }

    /// Checks the whole body arrived, with the digest the manifest names.
    ///
    /// - Returns: What verifying the archive as it arrived found.
    func finish() async throws(RegistryError) -> Result<VerifiedArchive, ProviderArchiveError> {
        let layer = self.layer
        let received: UInt64
        let actual: SHA256Hash
        do {
            // A blob of fewer than 2 bytes is not an archive, but is written, to be refused by name.
            (received, actual) = try state.withLock { state in
                if state.digesting == nil { try Self.open(&state, destination: destinationKind) }
                return (state.received, state.digesting?.digest ?? .of([]))
            }
        } catch {
            throw .file(error as? FileError ?? FileError(operation: "create", path: destinationKind.path(compressed: false), code: Errno.inputOutput))
        }
        guard received == layer.size else {
            throw .blobSizeMismatch(digest: layer.digest, declared: layer.size, received: received)
        }
        guard actual == layer.digest else { throw .digestMismatch(what: "archive layer", expected: layer.digest, actual: actual) }
        return await verification.finish()
    }

    /// Renames the file into place.
    func commit() throws(FileError) {
        let sink = state.withLock { $0.sink }
        try sink?.commit()
    }

    /// Removes the temporary file.
    func discard() {
        verification.cancel()
        state.withLock { state in
            state.sink?.discard()
            state.sink = nil
            state.digesting = nil
        }
    }

    private static func open(_ state: inout State, destination: PullDestination) throws {
        let sink = try AtomicFileSink(destination: destination.path(compressed: GzipReader.isGzip(state.pending)), mode: 0o644)
        let digesting = DigestingSink(sink)
        try digesting.write(state.pending)
        state.pending = []
        (state.sink, state.digesting) = (sink, digesting)
    }
}
