import PARBytes
import ProviderArchiveKit

/// Verifies an archive while it downloads, on a thread of its own: the download sends each
/// chunk as it arrives, and the verdict is ready moments after the last one, so a pulled
/// archive is read once, not downloaded and then read again from disk.
///
/// The download's task is suspended, never blocked, while the verifier is behind; the
/// verifying thread is joined by ``finish()``, or when this object goes away.
final class StreamingVerification: Sendable {
    /// How the archive is checked, given its bytes as they arrive.
    typealias Check = @Sendable (any ByteSource) throws(ProviderArchiveError) -> VerifiedArchive
    typealias Verdict = Result<VerifiedArchive, ProviderArchiveError>

    private struct State {
        var verdict: Verdict?
        /// A ``finish()`` waiting for the verdict.
        var waiting: CheckedContinuation<Verdict, Never>?
    }

    private let channel: ByteChannel
    private let state: Monitor<State>
    private let thread: WorkerThread?

    /// Starts the verifying thread, which waits for bytes.
    init(_ check: @escaping Check) {
        let (channel, state) = (ByteChannel(), Monitor(State()))
        (self.channel, self.state) = (channel, state)
        thread = try? WorkerThread {
            let verdict = Verdict { () throws(ProviderArchiveError) -> VerifiedArchive in try check(channel) }
            // A check that stopped early must not hold the download up.
            channel.finishReading()
            let waiting = state.withLock { state in
                state.verdict = verdict
                defer { state.waiting = nil }
                return state.waiting
            }
            waiting?.resume(returning: verdict)
        }
        if thread == nil {
            channel.finishReading()
            state.withLock { $0.verdict = .failure(.stream("no thread could be started to verify the archive")) }
        }
    }

    deinit {
        channel.abandon()
        thread?.join()
    }

    /// Passes the next bytes of the archive on; suspends while the verifier is far behind.
    func send(_ bytes: [UInt8]) async {
        await channel.send(bytes)
    }

    /// Ends the archive and waits for the verdict.
    func finish() async -> Verdict {
        channel.close()
        let verdict = await withCheckedContinuation { (continuation: CheckedContinuation<Verdict, Never>) in
            let ready = state.withLock { state -> Verdict? in
                if let verdict = state.verdict { return verdict }
                state.waiting = continuation
                return nil
            }
            if let ready { continuation.resume(returning: ready) }
        }
        thread?.join()
        return verdict
    }

    /// Stops the verifier: the download failed or was discarded.
    func cancel() {
        channel.abandon()
    }
}
