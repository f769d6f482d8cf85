import PARBytes

/// The HTTP clients a ``ProviderRegistry`` and its copies share: one per registry and
/// transport configuration (TLS trust, limits), opened by the first call that needs it and
/// reused by every later one, so a session of several calls keeps its connections.
///
/// ``ProviderRegistry/shutdown()`` shuts them down; a call after it opens new ones. Clients
/// still open when the last copy of the registry goes away are shut down in the background,
/// since async-http-client requires every client to be shut down before it is released.
final class RegistryConnections: Sendable {
    /// What makes two transports interchangeable: the registry (named in their errors) and
    /// everything its client was configured with.
    private struct Key: Hashable {
        let registry: String
        let certificateAuthorityFiles: [String]
        let verifiesCertificates: Bool
        let window: Duration
        let minimumBytes: Int
        let maximumAnswerSize: Int
    }

    private let open = Monitor<[Key: RegistryTransport]>([:])

    /// The transport for a registry with this configuration: the one already open, or a new one.
    ///
    /// - Throws: ``RegistryError/certificateFile(path:reason:)`` when a CA file is not usable.
    func transport(registry: String, tls: RegistryTLS, limits: RegistryLimits) throws(RegistryError) -> RegistryTransport {
        let key = Key(
            registry: registry, certificateAuthorityFiles: tls.certificateAuthorityFiles,
            verifiesCertificates: tls.verifiesCertificates, window: limits.window, minimumBytes: limits.minimumBytes,
            maximumAnswerSize: limits.maximumAnswerSize)
        let made = open.withLock { open -> Result<RegistryTransport, RegistryError> in
            if let transport = open[key] { return .success(transport) }
            do throws(RegistryError) {
                let transport = try RegistryTransport(registry: registry, tls: tls, limits: limits)
                open[key] = transport
                return .success(transport)
            } catch {
                return .failure(error)
            }
        }
        return try made.get()
    }

    /// How many transports are open.
    var count: Int { open.withLock { $0.count } }

    /// Shuts down every transport open now, and forgets them.
    func shutdown() async {
        let closing = open.withLock { open in
            defer { open = [:] }
            return Array(open.values)
        }
        for transport in closing { await transport.shutdown() }
    }

    deinit {
        let closing = open.withLock { Array($0.values) }
        guard !closing.isEmpty else { return }
        Task { for transport in closing { await transport.shutdown() } }
    }
}
