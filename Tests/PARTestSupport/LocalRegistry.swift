import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A real CNCF distribution registry (Debian's docker-registry) on a free loopback port,
/// optionally behind htpasswd basic auth. One of each is started per test process and shared;
/// each stops when the test process ends (a shell watches our end of a pipe, then kills it).
public final class LocalRegistry: @unchecked Sendable {
    public let address: String
    public let directory: String
    private let process: Process
    private let lifeline = Pipe()

    public static let anonymous = Result { try LocalRegistry() }
    public static let withPassword = Result { try LocalRegistry(user: "alice", password: "s3cret") }
    /// Over HTTPS, with a certificate from ``TestCertificates``.
    public static let withTLS = Result { try LocalRegistry(tls: try TestCertificates.shared.get()) }

    /// A registry of its own for one test, logging every request to ``log``, which the test
    /// may stop (``stop()``).
    public static func dedicated() throws -> LocalRegistry {
        try LocalRegistry(logsRequests: true)
    }

    /// Where a dedicated registry logs its requests.
    public var log: String { directory + "/requests.log" }

    /// How many GET requests for a blob the registry has served so far.
    public func blobDownloads(_ digest: String) throws -> Int {
        let text = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
        return text.split(separator: "\n").filter { $0.contains("GET /v2/") && $0.contains("/blobs/" + digest) }.count
    }

    /// Stops the registry now.
    public func stop() {
        try? lifeline.fileHandleForWriting.close()
        process.waitUntilExit()
        for _ in 0..<100 where Self.accepts(port: UInt16(address.split(separator: ":").last!)!) { usleep(50_000) }
    }

    init(user: String? = nil, password: String? = nil, tls: TestCertificates? = nil, logsRequests: Bool = false) throws {
        guard let binary = ["/usr/bin/docker-registry", "/usr/sbin/docker-registry"].first(where: FileManager.default.isExecutableFile)
        else { throw ToolMissing(message: "the registry tests need Debian's docker-registry: apt-get install docker-registry apache2-utils") }
        directory = try ExternalTools.temporaryDirectory()
        let port = try Self.freePort()
        address = "127.0.0.1:\(port)"
        var config = """
            version: 0.1
            log:
              level: \(logsRequests ? "info" : "error")
              accesslog:
                disabled: \(logsRequests ? "false" : "true")
            storage:
              filesystem:
                rootdirectory: \(directory)/data
            http:
              addr: \(address)

            """
        if let tls {
            config += """
                  tls:
                    certificate: \(tls.certificate)
                    key: \(tls.key)

                """
        }
        if let user, let password {
            let entry = try ExternalTools.run(["htpasswd", "-Bbn", user, password])
            guard entry.status == 0 else { throw ToolMissing(message: "htpasswd failed (apt-get install apache2-utils): \(entry.error)") }
            try Data(entry.outputBytes).write(to: URL(fileURLWithPath: directory + "/htpasswd"))
            config += """
                auth:
                  htpasswd:
                    realm: par-tests
                    path: \(directory)/htpasswd

                """
        }
        try Data(config.utf8).write(to: URL(fileURLWithPath: directory + "/config.yml"))
        process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        // The registry runs until our end of the lifeline closes, which happens when this
        // process exits, however it exits.
        process.arguments = [
            "-c", "\"$0\" serve \"$1\" >\"$2\" 2>&1 & child=$!; cat >/dev/null; kill $child; wait $child", binary,
            directory + "/config.yml", logsRequests ? directory + "/requests.log" : "/dev/null",
        ]
        process.standardInput = lifeline
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        // Ready when it accepts connections; bounded wait.
        for _ in 0..<100 {
            if Self.accepts(port: port) { return }
            usleep(50_000)
        }
        process.terminate()
        throw ToolMissing(message: "docker-registry did not start on \(address)")
    }


    /// A port the system just gave out as free.
    public static func freePort() throws -> UInt16 {
        let socket = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(socket) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer -> Bool in
                bind(socket, pointer, length) == 0 && getsockname(socket, pointer, &length) == 0
            }
        }
        guard bound else { throw ToolMissing(message: "no free port on 127.0.0.1") }
        return UInt16(bigEndian: address.sin_port)
    }

    static func accepts(port: UInt16) -> Bool {
        let socket = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(socket) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = port.bigEndian
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(socket, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
            }
        }
    }
}
