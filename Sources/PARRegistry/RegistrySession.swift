import Foundation
import ProviderArchiveKit

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// User name and password for a registry's basic auth, or for its token endpoint.
public struct RegistryCredentials: Sendable, Equatable {
    /// The user name.
    public let user: String
    /// The password or access token.
    public let password: String

    /// Creates credentials.
    public init(user: String, password: String) {
        self.user = user
        self.password = password
    }

    var basicAuthorization: String {
        "Basic " + Data("\(user):\(password)".utf8).base64EncodedString()
    }
}

/// An HTTP response with its body in memory (small answers only) or in a file (blobs).
struct HTTPResponse {
    let status: Int
    let headers: [String: String]
    let body: Data
    let file: URL?

    func header(_ name: String) -> String? { headers[name.lowercased()] }
}

/// One conversation with one registry: the distribution API over URLSession, answering
/// auth challenges (basic, and the bearer token dance public registries use) as they come.
final class RegistrySession: @unchecked Sendable {
    enum Body {
        case none
        case data(Data)
        case file(URL)
    }

    /// The largest non-blob answer accepted (manifests, token, errors).
    static let maximumAnswerSize = 4 << 20

    let registry: String
    let baseURL: URL
    private let credentials: RegistryCredentials?
    private let session: URLSession
    private var authorization: String?

    init(registry: String, insecure: Bool, credentials: RegistryCredentials?) throws(RegistryError) {
        guard let url = URL(string: (insecure ? "http://" : "https://") + registry) else {
            throw .invalidReference(registry, reason: "not a host name")
        }
        self.registry = registry
        self.baseURL = url
        self.credentials = credentials
        session = Self.sharedSession
    }

    /// One URLSession for every registry conversation: FoundationNetworking on Linux copes
    /// badly with many sessions alive at once. No cookies or cache; auth is per conversation.
    private static let sharedSession: URLSession = {
        let configuration = URLSessionConfiguration.ephemeral
        configuration.timeoutIntervalForRequest = 120
        configuration.httpMaximumConnectionsPerHost = 4
        configuration.httpShouldSetCookies = false
        configuration.urlCache = nil
        return URLSession(configuration: configuration, delegate: challenges, delegateQueue: nil)
    }()

    private static let challenges = ChallengePassThrough()

    /// The URL of a path under the registry, or of a Location the registry gave.
    func url(_ pathOrLocation: String) -> URL {
        if pathOrLocation.hasPrefix("http://") || pathOrLocation.hasPrefix("https://"), let url = URL(string: pathOrLocation) {
            return url
        }
        return URL(string: pathOrLocation, relativeTo: baseURL)?.absoluteURL ?? baseURL
    }

    /// Authenticates up front, as docker does: `GET /v2/`, and when the registry challenges,
    /// basic credentials or a bearer token for `scope`. Later requests, HEAD ones included,
    /// then carry the authorization and meet no challenge (libcurl can stall on a HEAD that
    /// answers 401 with a body length).
    func authenticate(scope: String) async throws(RegistryError) {
        _ = try await send("GET", url("/v2/"), scope: scope)
    }

    /// Sends a request, answering one auth challenge; the body of the answer is kept in memory
    /// (or written to a file with `download`).
    func send(
        _ method: String, _ url: URL, headers: [String: String] = [:], body: Body = .none, download: Bool = false,
        scope: String
    ) async throws(RegistryError) -> HTTPResponse {
        var response = try await perform(method, url, headers: headers, body: body, download: download)
        if response.status == 401 {
            try await answerChallenge(response.header("WWW-Authenticate") ?? "", scope: scope)
            if let file = response.file { try? FileManager.default.removeItem(at: file) }
            response = try await perform(method, url, headers: headers, body: body, download: download)
        }
        switch response.status {
        case 401: throw .unauthorized(registry: registry, credentialsGiven: credentials != nil)
        case 403: throw .forbidden(registry: registry)
        default: return response
        }
    }

    private func perform(
        _ method: String, _ url: URL, headers: [String: String], body: Body, download: Bool
    ) async throws(RegistryError) -> HTTPResponse {
        var request = URLRequest(url: url)
        request.httpMethod = method
        for (name, value) in headers { request.setValue(value, forHTTPHeaderField: name) }
        if let authorization { request.setValue(authorization, forHTTPHeaderField: "Authorization") }
        let session = self.session
        let registry = self.registry
        let challenges = Self.challenges
        let reference = TaskReference()
        do {
            return try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<HTTPResponse, any Error>) in
                let finish: @Sendable (Data?, URL?, URLResponse?, (any Error)?) -> Void = { data, file, response, error in
                    if let identifier = reference.identifier, let challenge = challenges.takeChallenge(for: identifier) {
                        continuation.resume(returning: HTTPResponse(status: challenge.statusCode, headers: Self.headers(of: challenge), body: Data(), file: nil))
                        return
                    }
                    if let error {
                        continuation.resume(throwing: error)
                        return
                    }
                    guard let http = response as? HTTPURLResponse else {
                        continuation.resume(throwing: RegistryError.unreachable(registry: registry, reason: "no HTTP answer"))
                        return
                    }
                    continuation.resume(returning: HTTPResponse(status: http.statusCode, headers: Self.headers(of: http), body: data ?? Data(), file: file))
                }
                let task: URLSessionTask
                if download {
                    task = session.downloadTask(with: request) { location, response, error in
                        // The system removes `location` when this returns: move it first.
                        var kept: URL?
                        if let location {
                            let destination = FileManager.default.temporaryDirectory
                                .appendingPathComponent("par-download-\(UUID().uuidString)")
                            if (try? FileManager.default.moveItem(at: location, to: destination)) != nil { kept = destination }
                        }
                        finish(nil, kept, response, error)
                    }
                } else {
                    switch body {
                    case .none:
                        task = session.dataTask(with: request) { data, response, error in finish(data, nil, response, error) }
                    case .data(let data):
                        task = session.uploadTask(with: request, from: data) { data, response, error in finish(data, nil, response, error) }
                    case .file(let file):
                        task = session.uploadTask(with: request, fromFile: file) { data, response, error in finish(data, nil, response, error) }
                    }
                }
                reference.identifier = task.taskIdentifier
                task.resume()
            }
        } catch let error as RegistryError {
            throw error
        } catch {
            throw .unreachable(registry: registry, reason: (error as NSError).localizedDescription)
        }
    }

    static func headers(of response: HTTPURLResponse) -> [String: String] {
        var headers: [String: String] = [:]
        for (name, value) in response.allHeaderFields {
            if let name = name as? String, let value = value as? String { headers[name.lowercased()] = value }
        }
        return headers
    }

    /// Answers `WWW-Authenticate`: basic with the credentials, or bearer with a token fetched
    /// from the realm (with the credentials, if any, as basic auth there).
    private func answerChallenge(_ challenge: String, scope: String) async throws(RegistryError) {
        let (scheme, parameters) = Self.parseChallenge(challenge)
        switch scheme {
        case "basic":
            guard let credentials else { throw .unauthorized(registry: registry, credentialsGiven: false) }
            authorization = credentials.basicAuthorization
        case "bearer":
            guard let realm = parameters["realm"], var components = URLComponents(string: realm) else {
                throw .unexpectedResponse(status: 401, request: "authentication", detail: "a bearer challenge without a realm")
            }
            var query = components.queryItems ?? []
            if let service = parameters["service"] { query.append(URLQueryItem(name: "service", value: service)) }
            query.append(URLQueryItem(name: "scope", value: parameters["scope"] ?? scope))
            components.queryItems = query
            guard let tokenURL = components.url else {
                throw .unexpectedResponse(status: 401, request: "authentication", detail: "an invalid realm \(realm)")
            }
            authorization = credentials?.basicAuthorization
            let answer = try await perform("GET", tokenURL, headers: [:], body: .none, download: false)
            authorization = nil
            guard answer.status == 200 else {
                if answer.status == 401 || answer.status == 403 {
                    throw .unauthorized(registry: registry, credentialsGiven: credentials != nil)
                }
                throw .unexpectedResponse(status: answer.status, request: "GET \(realm)", detail: "the token endpoint refused")
            }
            guard let json = try? JSONValue(parsing: Array(answer.body)),
                case .string(let token)? = json["token"] ?? json["access_token"]
            else {
                throw .unexpectedResponse(status: 200, request: "GET \(realm)", detail: "no token in the answer")
            }
            authorization = "Bearer " + token
        default:
            throw .unauthorized(registry: registry, credentialsGiven: credentials != nil)
        }
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

/// Turns HTTP auth challenges back into plain 401 answers, which `RegistrySession` answers
/// itself. FoundationNetworking on Linux never completes a task whose answer is a `Basic`
/// challenge on its own, so the challenge's response is kept and the task cancelled.
final class ChallengePassThrough: NSObject, URLSessionTaskDelegate, @unchecked Sendable {
    private let lock = NSLock()
    private var challenged: [Int: HTTPURLResponse] = [:]

    func urlSession(
        _ session: URLSession, task: URLSessionTask, didReceive challenge: URLAuthenticationChallenge,
        completionHandler: @escaping @Sendable (URLSession.AuthChallengeDisposition, URLCredential?) -> Void
    ) {
        if let response = challenge.failureResponse as? HTTPURLResponse {
            lock.lock()
            challenged[task.taskIdentifier] = response
            lock.unlock()
        }
        completionHandler(.cancelAuthenticationChallenge, nil)
    }

    /// The 401 answer a task was cancelled on, if it was; forgotten once taken.
    func takeChallenge(for task: Int) -> HTTPURLResponse? {
        lock.lock()
        defer { lock.unlock() }
        return challenged.removeValue(forKey: task)
    }
}

/// Lets a completion handler find the task it belongs to.
final class TaskReference: @unchecked Sendable {
    var identifier: Int?
}
