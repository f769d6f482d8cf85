import Foundation
import PARTestSupport
import PARBytes
import PARClaims
import PARContainer
import PARNKeys
import ProviderArchiveKit
import Testing

let linux = try! Target("x86_64-linux")
let mac = try! Target("aarch64-macos")
let windows = try! Target("x86_64-windows")

/// Keys and a scratch folder for one test.
struct Fixture {
    let account = NKeyPair.generate(role: .account)
    let service = NKeyPair.generate(role: .service)
    private let folder: TemporaryFolder
    var directory: String { folder.path }

    init() throws {
        folder = try TemporaryFolder()
    }

    func path(_ name: String) -> String { directory + "/" + name }

    func write(_ bytes: [UInt8], to name: String) throws -> String {
        try Data(bytes).write(to: URL(fileURLWithPath: path(name)))
        return path(name)
    }

    func read(_ name: String) throws -> [UInt8] {
        Array(try Data(contentsOf: URL(fileURLWithPath: path(name))))
    }

    /// A signed token claiming exactly these hashes.
    func token(
        hashes: [Target: [UInt8]], world: [UInt8]? = nil, expires: UInt64? = nil, notBefore: UInt64? = nil,
        signer: NKeyPair? = nil
    ) throws -> String {
        let metadata = ProviderMetadata(
            name: "Test", vendor: "tests", targetHashes: hashes.mapValues(sha256), worldHash: world.map(sha256))
        let claims = ProviderClaims(
            issuer: (signer ?? account).publicKey, subject: service.publicKey, metadata: metadata, expires: expires,
            notBefore: notBefore)
        return try ClaimsToken(signing: claims, with: signer ?? account).encoded
    }

    /// A tar of these entries, in this order, written by our own writer.
    func tar(_ entries: [(String, [UInt8])]) throws -> [UInt8] {
        try makeTar(entries)
    }

    /// An archive of one `pattern(size)` binary for `linux`, signed with these keys, in memory.
    func archive(binarySize size: Int, compression: ArchiveCompression) throws -> [UInt8] {
        var archive = ProviderArchiveBuilder(name: "p", vendor: "v")
        archive.addBinary(pattern(size), for: linux)
        let sink = MemorySink()
        try archive.write(to: sink, issuer: account, subject: service, compression: compression)
        return sink.bytes
    }
}

func sha256(_ bytes: [UInt8]) -> SHA256Hash {
    let result = try! ExternalTools.run(["sha256sum"], input: bytes)
    return SHA256Hash(hex: String(result.output.prefix(64)))!
}

/// The archive error a throwing call raised, or nil.
func archiveError(_ body: () throws -> Void) -> ProviderArchiveError? {
    do {
        try body()
        return nil
    } catch let error as ProviderArchiveError {
        return error
    } catch {
        Issue.record("unexpected error type: \(error)")
        return nil
    }
}

/// A 512-byte ustar header with a valid checksum, for entries our writer never makes.
func rawHeader(name: String, size: Int = 0, type: Character = "0", linkName: String = "") -> [UInt8] {
    CraftedTar.header(name: name, size: CraftedTar.octal(size), type: UInt8(ascii: type.unicodeScalars.first!), linkName: linkName)
}

func rawEntry(name: String, content: [UInt8], type: Character = "0") -> [UInt8] {
    CraftedTar.entry(name: name, content: content, type: UInt8(ascii: type.unicodeScalars.first!))
}

let endOfArchive = [UInt8](repeating: 0, count: 1024)
