import Foundation
import NIOHTTP1
import PARBytes

/// One conversation with one registry: the distribution API, answering auth challenges
/// (basic, and the bearer token dance public registries use) and retrying what is safe to.
///
/// Credentials go only where they belong: `Authorization` only on requests to the registry's
/// own origin (scheme, host, port; a blob's redirect elsewhere gets none), credentials to a
/// token endpoint only over HTTPS unless the registry itself is plain HTTP (`--insecure`).
final class RegistrySession: Sendable {
    /// Statuses that mean "busy or restarting, try again": rate limits and gateway trouble.
    static let retriedStatuses: Set<Int> = [429, 502, 503, 504]

    let reference: ImageReference
    let baseURL: URL
    let transport: RegistryTransport
    private let credentials: RegistryCredentials?
    private let retry: RetryPolicy
    private let events: (@Sendable (RegistryEvent) -> Void)?
    private let authorization = Monitor<String?>(nil)

    init(
        reference: ImageReference, insecure: Bool, credentials: RegistryCredentials?, transport: RegistryTransport,
        retry: RetryPolicy, events: (@Sendable (RegistryEvent) -> Void)?
    ) throws(RegistryError) {
        guard let url = URL(string: (insecure ? "http://" : "https://") + reference.apiHost) else {
            throw .invalidReference(reference.description, reason: "not a host name")
        }
        (self.reference, self.baseURL, self.transport) = (reference, url, transport)
        (self.credentials, self.retry, self.events) = (credentials, retry, events)
    }

    var registry: String { reference.registry }

    /// The URL of a path under the registry, or of a Location the registry gave.
    func url(_ pathOrLocation: String) -> String {
        URL(string: pathOrLocation, relativeTo: baseURL)?.absoluteURL.absoluteString ?? baseURL.absoluteString + pathOrLocation
    }

    /// Whether `url` is on the registry's own origin: scheme, host and port.
    func isRegistryOrigin(_ url: String) -> Bool {
        guard let other = URL(string: url) else { return false }
        return Self.origin(of: other) == Self.origin(of: baseURL)
    }

    static func origin(of url: URL) -> String {
        let scheme = url.scheme?.lowercased() ?? ""
        let port = url.port ?? (scheme == "https" ? 443 : 80)
        return "\(scheme)://\(url.host?.lowercased() ?? ""):\(port)"
    }

    /// Authenticates up front, as docker does: `GET /v2/`, answering the challenge for `scope`.
    func authenticate(scope: String) async throws(RegistryError) {
        _ = try await send(HTTPRequest(method: .GET, url: url("/v2/")), scope: scope, repeatable: true)
    }

    /// Sends a request, with the registry's authorization when it goes to the registry,
    /// answering one auth challenge, and retrying 429/502/503/504 and broken connections
    /// when `repeatable`. A body streamed to `stream` is never retried here: the caller
    /// starts that transfer again from the beginning.
    func send(
        _ request: HTTPRequest, scope: String, repeatable: Bool, stream: BodyStream? = nil,
        sent: (@Sendable (Int) -> Void)? = nil
    ) async throws(RegistryError) -> HTTPAnswer {
        var challenged = false
        var retries = 0
        while true {
            var attempt = request
            if isRegistryOrigin(request.url), let authorization = authorization.withLock({ $0 }) {
                attempt.headers.append(("Authorization", authorization))
            }
            let answer: HTTPAnswer
            do {
                answer = try await transport.exchange(attempt, limit: transport.limits.maximumAnswerSize, stream: stream, sent: sent)
            } catch {
                guard error.isTransient, repeatable, retries < retry.maximumRetries else { throw error.error }
                retries += 1
                try await pause(request, reason: error.error.description, retry: retries, retryAfter: nil)
                continue
            }
            // Only the registry itself gets an answer to its challenge.
            if answer.status == 401, !challenged, isRegistryOrigin(answer.url) {
                challenged = true
                try await answerChallenge(answer.header("WWW-Authenticate") ?? "", scope: scope)
                continue
            }
            if Self.retriedStatuses.contains(answer.status), repeatable, retries < retry.maximumRetries {
                retries += 1
                let retryAfter = answer.header("Retry-After").flatMap(Int.init).map { Duration.seconds(max($0, 0)) }
                try await pause(request, reason: "the registry answered \(answer.status)", retry: retries, retryAfter: retryAfter)
                continue
            }
            switch answer.status {
            case 401: throw .unauthorized(registry: registry, credentialsGiven: credentials != nil)
            case 403: throw .forbidden(registry: registry)
            default: return answer
            }
        }
    }

    private func pause(_ request: HTTPRequest, reason: String, retry number: Int, retryAfter: Duration?) async throws(RegistryError) {
        let delay = retry.delay(forRetry: number, retryAfter: retryAfter)
        events?(.retrying(request: request.summary, reason: reason, retry: number, of: retry.maximumRetries, after: delay))
        await sleep(delay)
    }

    /// Sleeps, unless the task is cancelled.
    func sleep(_ delay: Duration) async {
        try? await Task.sleep(for: delay)
    }

    /// The retry policy, for callers that restart whole transfers.
    var retryPolicy: RetryPolicy { retry }

    /// Tells the caller's event handler that a transfer starts again.
    func notify(_ event: RegistryEvent) {
        events?(event)
    }

    /// Answers `WWW-Authenticate`: basic with the credentials, or bearer with a token fetched
    /// from the realm (with the credentials, if any).
    private func answerChallenge(_ challenge: String, scope: String) async throws(RegistryError) {
        let (scheme, parameters) = Self.parseChallenge(challenge)
        switch scheme {
        case "basic":
            guard let credentials, credentials.identityToken == nil else {
                throw .unauthorized(registry: registry, credentialsGiven: credentials != nil)
            }
            authorization.withLock { $0 = credentials.basicAuthorization }
        case "bearer":
            guard let realm = parameters["realm"], var components = URLComponents(string: realm),
                let realmScheme = components.scheme?.lowercased(), ["http", "https"].contains(realmScheme)
            else {
                throw .unexpectedResponse(status: 401, request: "authentication", detail: "a bearer challenge without a usable realm")
            }
            // A plain-HTTP token endpoint is acceptable only for a registry that is itself plain HTTP.
            if realmScheme == "http", baseURL.scheme == "https" {
                throw .insecureTokenEndpoint(realm: realm, registry: registry)
            }
            let service = parameters["service"]
            let wanted = parameters["scope"] ?? scope
            let token: String
            if let identityToken = credentials?.identityToken {
                token = try await exchangeIdentityToken(identityToken, realm: realm, service: service, scope: wanted)
            } else {
                var query = components.queryItems ?? []
                if let service { query.append(URLQueryItem(name: "service", value: service)) }
                query.append(URLQueryItem(name: "scope", value: wanted))
                components.queryItems = query
                guard let tokenURL = components.url?.absoluteString else {
                    throw .unexpectedResponse(status: 401, request: "authentication", detail: "an invalid realm")
                }
                var request = HTTPRequest(method: .GET, url: tokenURL)
                if let credentials { request.headers.append(("Authorization", credentials.basicAuthorization)) }
                token = try await fetchToken(request, realm: realm)
            }
            authorization.withLock { $0 = "Bearer " + token }
        default:
            throw .unauthorized(registry: registry, credentialsGiven: credentials != nil)
        }
    }

    /// OAuth2's refresh-token grant, as docker uses an identity token.
    private func exchangeIdentityToken(_ identityToken: String, realm: String, service: String?, scope: String) async throws(RegistryError) -> String {
        var form = URLComponents()
        form.queryItems = [
            URLQueryItem(name: "grant_type", value: "refresh_token"), URLQueryItem(name: "refresh_token", value: identityToken),
            URLQueryItem(name: "client_id", value: "par"), URLQueryItem(name: "scope", value: scope),
        ] + (service.map { [URLQueryItem(name: "service", value: $0)] } ?? [])
        let body = Array((form.percentEncodedQuery ?? "").utf8)
        let request = HTTPRequest(
            method: .POST, url: realm, headers: [("Content-Type", "application/x-www-form-urlencoded")], body: .bytes(body))
        return try await fetchToken(request, realm: realm)
    }

    private func fetchToken(_ request: HTTPRequest, realm: String) async throws(RegistryError) -> String {
        let answer: HTTPAnswer
        do {
            answer = try await transport.exchange(request, limit: transport.limits.maximumAnswerSize)
        } catch {
            throw error.error
        }
        let endpoint = URL(string: realm).map { Self.origin(of: $0) } ?? "the token endpoint"
        guard answer.status == 200 else {
            if answer.status == 401 || answer.status == 403 {
                throw .unauthorized(registry: registry, credentialsGiven: credentials != nil)
            }
            throw .unexpectedResponse(status: answer.status, request: "the token request to \(endpoint)", detail: "the token endpoint refused")
        }
        guard let json = try? JSONValue(parsing: answer.body), case .string(let token)? = json["token"] ?? json["access_token"],
            !token.isEmpty
        else {
            throw .unexpectedResponse(status: 200, request: "the token request to \(endpoint)", detail: "no token in the answer")
        }
        return token
    }

    /// `Bearer realm="...",service="...",scope="..."` -> ("bearer", [realm: ..., ...]).
    static func parseChallenge(_ header: String) -> (scheme: String, parameters: [String: String]) {
        let trimmed = header.trimmingCharacters(in: .whitespaces)
        guard let space = trimmed.firstIndex(of: " ") else { return (trimmed.lowercased(), [:]) }
        let scheme = trimmed[..<space].lowercased()
        var parameters: [String: String] = [:]
        var rest = Substring(trimmed[trimmed.index(after: space)...])
        while let equals = rest.firstIndex(of: "=") {
            let key = rest[..<equals].trimmingCharacters(in: CharacterSet(charactersIn: " ,")).lowercased()
            rest = rest[rest.index(after: equals)...]
            var value = ""
            if rest.first == "\"" {
                rest = rest.dropFirst()
                let close = rest.firstIndex(of: "\"") ?? rest.endIndex
                value = String(rest[..<close])
                rest = close < rest.endIndex ? rest[rest.index(after: close)...] : ""
            } else {
                let comma = rest.firstIndex(of: ",") ?? rest.endIndex
                value = String(rest[..<comma])
                rest = rest[comma...]
            }
            parameters[key] = value
        }
        return (scheme, parameters)
    }
}
