import Foundation

/// A certificate authority and a server certificate for 127.0.0.1, made with openssl for
/// one test process: what a company's private CA and its registry's certificate look like.
public struct TestCertificates: Sendable {
    /// The CA certificate (PEM): what `--ca-file` takes.
    public let authority: String
    /// The server's certificate (PEM), signed by the CA, valid for IP 127.0.0.1.
    public let certificate: String
    /// The server's private key (PEM).
    public let key: String

    /// Made once per test process.
    public static let shared = Result { try TestCertificates() }

    init() throws {
        let folder = try ExternalTools.temporaryDirectory()
        authority = folder + "/ca.pem"
        certificate = folder + "/server.pem"
        key = folder + "/server.key"
        let steps = [
            ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", folder + "/ca.key", "-out", authority,
             "-days", "2", "-subj", "/CN=par test CA"],
            ["openssl", "req", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", folder + "/server.csr",
             "-subj", "/CN=127.0.0.1"],
            ["sh", "-c", "printf 'subjectAltName=IP:127.0.0.1\\nbasicConstraints=CA:FALSE\\n' > \(folder)/ext.cnf"],
            ["openssl", "x509", "-req", "-in", folder + "/server.csr", "-CA", authority, "-CAkey", folder + "/ca.key",
             "-CAcreateserial", "-out", certificate, "-days", "2", "-extfile", folder + "/ext.cnf"],
        ]
        for step in steps {
            let result = try ExternalTools.run(step)
            guard result.status == 0 else { throw ToolMissing(message: "openssl failed making test certificates: \(result.error)") }
        }
    }
}
