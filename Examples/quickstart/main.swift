// The README's library example: build a provider archive, sign it, write it gzip-compressed,
// load it back with full verification, and extract the native binary, streaming.
//
//     swift run par-quickstart [OUTPUT-DIRECTORY]
import Foundation
import PARBytes
import ProviderArchiveKit

let folder = CommandLine.arguments.dropFirst().first
    ?? FileManager.default.temporaryDirectory.appendingPathComponent("par-quickstart-\(getpid())").path
try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)

// Keys: an account signs (the issuer), a service key names the provider (the subject).
let account = NKeyPair.generate(role: .account)
let service = NKeyPair.generate(role: .service)

// An archive with this very executable as the native target's binary, read when written.
var builder = ProviderArchiveBuilder(name: "Quickstart Provider", vendor: "example", revision: 1, version: "0.1.0")
try builder.addBinary(contentsOf: CommandLine.arguments[0], for: .native)
builder.configSchema = try JSONValue(parsing: Array(#"{"type":"object","properties":{"port":{"type":"integer"}}}"#.utf8))
let written = try builder.write(
    to: folder + "/quickstart.par", issuer: account, subject: service, compression: .gzip)
let path = written.path ?? folder + "/quickstart.par.gz"
print("wrote \(path)")

// Load it back: the signature, every hash and the claims' validity are checked on load.
// A host would also pin the issuers it trusts.
let policy = VerificationPolicy(trustedIssuers: [account.publicKey])
let loaded = try ProviderArchive.load(path: path, selection: .only(.native), policy: policy)
let claims = loaded.claims
print("verified: \(claims.metadata.name ?? "Unnamed Provider") \(claims.metadata.version ?? "") by \(claims.issuer)")
print("targets: \(loaded.targets.map(\.name).joined(separator: ", ")), gzip: \(loaded.isCompressed)")

// Extract the native binary to a file (mode 0755), streaming, only after it verified.
let binary = folder + "/provider.bin"
let report = try ProviderArchive.extract(.native, fromArchiveAt: path, to: binary, policy: policy)
print("extracted \(Target.native) (\(report.targets[.native]?.size ?? 0) bytes) to \(binary)")
