import Foundation

/// `Tests/Support/bad-registry.py` running one scenario on loopback: a registry that
/// misbehaves on purpose, and a second server on another port (another origin). Stops when
/// this object goes away or the test process ends.
public final class BadRegistry: @unchecked Sendable {
    /// `127.0.0.1:PORT` of the registry.
    public let address: String
    /// `127.0.0.1:PORT` of the other origin.
    public let otherAddress: String
    private let process = Process()
    private let lifeline = Pipe()
    private let log: String

    /// One request the servers saw.
    public struct Request: Decodable, Sendable {
        /// `registry` or `other`.
        public let server: String
        public let method: String
        public let path: String
        /// Whether it carried an Authorization header.
        public let authorization: Bool
    }

    /// Starts a scenario serving `blob` as the layer of `bad/provider:1.0.0`.
    ///
    /// - Parameters:
    ///   - scenario: A scenario name from the script.
    ///   - blob: The file to serve as the archive layer.
    ///   - tls: Serve the registry over HTTPS with these certificates.
    public init(_ scenario: String, blob: String, tls: TestCertificates? = nil) throws {
        let folder = try ExternalTools.temporaryDirectory()
        log = folder + "/requests.jsonl"
        _ = FileManager.default.createFile(atPath: log, contents: nil)
        let script = ExternalTools.repositoryRoot.appendingPathComponent("Tests/Support/bad-registry.py").path
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", script, scenario, blob, log] + (tls.map { [$0.certificate, $0.key] } ?? [])
        let output = Pipe()
        process.standardInput = lifeline
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        var line = Data()
        while !line.contains(UInt8(ascii: "\n")) {
            let chunk = output.fileHandleForReading.availableData
            guard !chunk.isEmpty else { throw ToolMissing(message: "bad-registry.py did not start") }
            line += chunk
        }
        let ports = String(decoding: line, as: UTF8.self).split(whereSeparator: \.isWhitespace)
        guard ports.count == 2 else { throw ToolMissing(message: "bad-registry.py printed \(ports)") }
        address = "127.0.0.1:\(ports[0])"
        otherAddress = "127.0.0.1:\(ports[1])"
    }

    deinit {
        try? lifeline.fileHandleForWriting.close()
        process.terminate()
    }

    /// Every request seen so far.
    public func requests() throws -> [Request] {
        let text = try String(contentsOfFile: log, encoding: .utf8)
        return try text.split(separator: "\n").map { try JSONDecoder().decode(Request.self, from: Data($0.utf8)) }
    }
}
