/// Which certificates an HTTPS registry may present.
public struct RegistryTLS: Sendable {
    /// PEM files of certificate authorities to trust besides the system's (a private CA, a
    /// company registry).
    public var certificateAuthorityFiles: [String]
    /// The most bytes read of a CA file: system bundles are a few hundred KiB.
    public static let maximumCertificateFileSize = 4 << 20
    /// Whether certificates are checked at all. Off only on purpose: then anyone on the
    /// network path can read and change what is sent, credentials included.
    public var verifiesCertificates: Bool

    /// Trust settings.
    ///
    /// - Parameters:
    ///   - certificateAuthorityFiles: Extra CA certificates (PEM files).
    ///   - verifiesCertificates: `false` to skip verification.
    public init(certificateAuthorityFiles: [String] = [], verifiesCertificates: Bool = true) {
        self.certificateAuthorityFiles = certificateAuthorityFiles
        self.verifiesCertificates = verifiesCertificates
    }
}

/// How much a registry may hold a transfer up, and how much it may send where little is due.
public struct RegistryLimits: Sendable {
    /// A transfer (up or down, connecting included) that moves fewer than ``minimumBytes`` in
    /// any window this long fails: a server that stalls, or drips a byte now and then.
    public var window: Duration
    /// The bytes a transfer must move in each ``window``.
    public var minimumBytes: Int
    /// The most bytes read of a manifest, token or error answer.
    public var maximumAnswerSize: Int

    /// Limits; by default 1 KiB in any 30 s, and 4 MiB answers.
    ///
    /// - Parameters:
    ///   - window: The window.
    ///   - minimumBytes: The bytes due in each window.
    ///   - maximumAnswerSize: The largest non-blob answer.
    public init(window: Duration = .seconds(30), minimumBytes: Int = 1024, maximumAnswerSize: Int = 4 << 20) {
        self.window = window
        self.minimumBytes = minimumBytes
        self.maximumAnswerSize = maximumAnswerSize
    }
}

/// How requests that are safe to repeat are retried after 429, 502, 503, 504 or a reset
/// connection: GET, HEAD and manifest PUT each, and a blob upload or download from its start.
public struct RetryPolicy: Sendable {
    /// Retries after the first attempt.
    public var maximumRetries: Int
    /// The first wait; each next one doubles.
    public var initialDelay: Duration
    /// The longest wait, `Retry-After` included.
    public var maximumDelay: Duration

    /// A policy; by default 3 retries after 0.5, 1 and 2 s, `Retry-After` honoured up to 30 s.
    ///
    /// - Parameters:
    ///   - maximumRetries: Retries after the first attempt.
    ///   - initialDelay: The first wait.
    ///   - maximumDelay: The cap on every wait.
    public init(maximumRetries: Int = 3, initialDelay: Duration = .milliseconds(500), maximumDelay: Duration = .seconds(30)) {
        self.maximumRetries = maximumRetries
        self.initialDelay = initialDelay
        self.maximumDelay = maximumDelay
    }

    /// The wait before retry number `attempt` (1 for the first retry).
    func delay(forRetry attempt: Int, retryAfter: Duration?) -> Duration {
        let exponential = initialDelay * (1 << min(attempt - 1, 20))
        return min(retryAfter ?? exponential, maximumDelay)
    }
}

/// Something a person watching may want to know while a push or pull goes on.
public enum RegistryEvent: Sendable, CustomStringConvertible {
    /// A request is sent again after a transient failure.
    case retrying(request: String, reason: String, retry: Int, of: Int, after: Duration)

    public var description: String {
        switch self {
        case .retrying(let request, let reason, let retry, let maximum, let delay):
            let seconds = Double(delay.components.seconds) + Double(delay.components.attoseconds) / 1e18
            return "retrying \(request) in \(seconds.formatted1) s: \(reason) (retry \(retry) of \(maximum))"
        }
    }
}

extension Double {
    var formatted1: String {
        let tenths = (self * 10).rounded() / 10
        return tenths == tenths.rounded() ? String(Int(tenths)) : String(tenths)
    }
}
