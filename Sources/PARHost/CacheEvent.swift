/// What the cache did that a person should know, reported as it happens.
public enum CacheEvent: Sendable, Equatable, CustomStringConvertible {
    /// Something that is not a regular file sat where a cache file belongs, and was removed.
    case removedStranger(path: String, kind: String)
    /// A cache record was damaged or unreadable; it was removed and is rebuilt from the source.
    case rebuildingRecord(path: String, reason: String, source: ProviderSource)
    /// A cached binary no longer matched its signed hash; it was removed, not run, and is
    /// fetched or extracted again.
    case refetchingBinary(path: String, source: ProviderSource)

    public var description: String {
        switch self {
        case .removedStranger(let path, let kind):
            "removed \(path) from the cache: it was \(kind), not a cache file"
        case .rebuildingRecord(let path, let reason, let source):
            "the cache record \(path) was damaged (\(reason)): it was removed and is rebuilt from \(source)"
        case .refetchingBinary(let path, let source):
            "the cached binary \(path) of \(source) no longer matches its signed hash: it was removed, not run, and is fetched again"
        }
    }
}

/// Told each ``CacheEvent`` as it happens, on the thread that caused it.
public typealias CacheEvents = @Sendable (CacheEvent) -> Void
