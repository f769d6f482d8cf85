import Foundation
import PARRegistry
import PARTestSupport
import PARBytes
import PARClaims
import PARNKeys
import ProviderArchiveKit
import Testing

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

let linux = try! Target("x86_64-linux")

/// A signed archive file, written by the library.
func makeArchive(in directory: String, name: String = "provider", size: Int = 100_000, compressed: Bool = true) throws -> String {
    var archive = ProviderArchiveBuilder(name: name, vendor: "tests", version: "1.0.0")
    archive.addBinary(pattern(size, seed: UInt8(truncatingIfNeeded: name.hashValue)), for: linux)
    let written = try archive.write(
        to: directory + "/" + name + ".par", issuer: NKeyPair.generate(role: .account),
        subject: NKeyPair.generate(role: .service), compression: compressed ? .gzip : .none)
    return try #require(written.path)
}

func read(_ path: String) throws -> [UInt8] {
    Array(try Data(contentsOf: URL(fileURLWithPath: path)))
}

/// The registry error an async call raised, or nil.
func registryError(_ body: () async throws -> Void) async -> RegistryError? {
    do {
        try await body()
        return nil
    } catch let error as RegistryError {
        return error
    } catch {
        Issue.record("unexpected error type: \(error)")
        return nil
    }
}

/// A plain HTTP request to the registry, for checking what it holds.
func httpRequest(_ method: String, _ url: String, headers: [String: String] = [:], body: Data? = nil) async throws -> (Int, Data, [String: String]) {
    var request = URLRequest(url: URL(string: url)!)
    request.httpMethod = method
    for (name, value) in headers { request.setValue(value, forHTTPHeaderField: name) }
    request.httpBody = body
    let (data, response) = try await URLSession.shared.data(for: request)
    let http = response as! HTTPURLResponse
    var fields: [String: String] = [:]
    for (name, value) in http.allHeaderFields { fields[(name as! String).lowercased()] = value as? String }
    return (http.statusCode, data, fields)
}
