import Foundation
import PARBytes
import ProviderArchiveKit

/// Verifies an archive while it downloads, on a thread of its own: the download sends each
/// chunk as it arrives, and the verdict is ready moments after the last one, so a pulled
/// archive is read once, not downloaded and then read again from disk.
final class StreamingVerification: @unchecked Sendable {
    /// How the archive is checked, given its bytes as they arrive.
    typealias Check = @Sendable (any ByteSource) throws(ProviderArchiveError) -> VerifiedArchive

    private let channel = ByteChannel()
    private let done = DispatchSemaphore(value: 0)
    /// Written by the verifying thread before it signals `done`; read only after.
    private var outcome: Result<VerifiedArchive, ProviderArchiveError>?

    /// Starts the verifying thread, which waits for bytes.
    init(_ check: @escaping Check) {
        let channel = self.channel
        Thread.detachNewThread { [self] in
            let result = Result { () throws(ProviderArchiveError) -> VerifiedArchive in try check(channel) }
            // A check that stopped early must not hold the download up.
            channel.finishReading()
            outcome = result
            done.signal()
        }
    }

    /// Passes the next bytes of the archive on; waits while the verifier is far behind.
    func send(_ bytes: UnsafeRawBufferPointer) {
        channel.send(bytes)
    }

    /// Ends the archive and waits for the verdict.
    func finish() -> Result<VerifiedArchive, ProviderArchiveError> {
        channel.close()
        done.wait()
        return outcome ?? .failure(.stream("the verification ended without a verdict"))
    }

    /// Stops the verifier: the download failed or was discarded.
    func cancel() {
        channel.abandon()
    }
}
