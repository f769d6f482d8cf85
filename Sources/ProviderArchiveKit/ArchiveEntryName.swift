import PARClaims
import PARContainer

/// What an entry of a provider archive is, decided by its name (PAR-FORMAT sections 1 and 2).
enum ArchiveEntryName: Hashable {
    case claims
    case world
    case binary(Target)

    static let claimsFileName = "claims.jwt"
    static let worldFileName = "world.wasm"

    var fileName: String {
        switch self {
        case .claims: Self.claimsFileName
        case .world: Self.worldFileName
        case .binary(let target): target.entryName
        }
    }

    /// Classifies a tar entry, refusing anything that is not a regular file at the root.
    ///
    /// - Returns: The entry's meaning, or `nil` for the `./` directory entry that
    ///   `tar -C dir -cf x.par .` writes, which is skipped.
    init?(validating entry: TarEntry) throws(ProviderArchiveError) {
        var name = Substring(entry.name)
        if name.hasPrefix("./") { name = name.dropFirst(2) }
        if entry.kind == .directory, name.isEmpty || name == "." { return nil }
        guard entry.kind == .regularFile else { throw .unsupportedEntry(name: entry.name, kind: entry.kind) }
        guard !name.hasPrefix("/"), !name.contains("/"), name != "..", name != ".", !name.isEmpty else {
            throw .unsafePath(entry.name)
        }
        switch name {
        case Self.claimsFileName[...]: self = .claims
        case Self.worldFileName[...]: self = .world
        default:
            guard name.hasSuffix(".bin"), let target = try? Target(String(name.dropLast(4))) else {
                throw .unexpectedEntry(entry.name)
            }
            self = .binary(target)
        }
    }
}
