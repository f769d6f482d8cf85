import ArgumentParser
import Foundation
import PARBytes
import PARClaims
import PARHost

/// `--cache-dir`: the provider cache, for `par run` and `par cache`.
struct CacheOptions: ParsableArguments {
    @Option(help: "The provider cache (env PAR_CACHE_DIR; default: $XDG_CACHE_HOME/par or ~/.cache/par).")
    var cacheDir: String?

    /// The cache's folder: `--cache-dir`, else `$PAR_CACHE_DIR`, else the standard one.
    var root: String {
        if let cacheDir { return cacheDir }
        if let variable = ProcessInfo.processInfo.environment["PAR_CACHE_DIR"], !variable.isEmpty { return variable }
        return ProviderCache.standardRoot()
    }

    /// The cache, its folders made and checked.
    func open() throws -> ProviderCache {
        try ProviderCache(root: root)
    }
}

/// `par cache`: look into and prune the provider cache `par run` keeps.
struct CacheCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cache",
        abstract: "Show and prune the provider cache that par run keeps.",
        subcommands: [Dir.self, List.self, Prune.self]
    )

    /// `cache dir`: where the cache is.
    struct Dir: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print the cache's folder.",
            discussion: "--cache-dir, else $PAR_CACHE_DIR, else $XDG_CACHE_HOME/par, else ~/.cache/par."
        )

        @OptionGroup var cache: CacheOptions
        @OptionGroup var output: OutputOptions

        func run() throws {
            try output.run { _ in
                CommandResult(text: [cache.root], json: [("dir", .string(cache.root))])
            }
        }
    }

    /// `cache list`: what the cache holds.
    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List the cached binaries, least recently used first.",
            discussion: "Text: source, archive digest, target, size and last use. JSON: every field, under \"entries\"."
        )

        @OptionGroup var cache: CacheOptions
        @OptionGroup var output: OutputOptions

        func run() throws {
            try output.run { console in
                let entries = try cache.open().entries(events: { console.note($0.description) })
                return CommandResult(
                    text: entries.map { entry in
                        let source = entry.sources.first ?? entry.name ?? "(no recorded archive)"
                        let archive = entry.archiveDigests.first?.ociDigest ?? "binary " + entry.binaryHash.ociDigest
                        return "\(source)  \(archive)  \(entry.target?.name ?? "-")  \(formatBytes(entry.size))  last used \(relativeTime(UInt64(max(0, entry.lastUsed.timeIntervalSince1970))))"
                    },
                    json: [("entries", .array(entries.map(Self.json)))])
            }
        }

        static func json(_ entry: CacheEntry) -> JSONValue {
            .object([
                ("name", entry.name.map(JSONValue.string) ?? .null), ("sources", .strings(entry.sources)),
                ("digest", entry.archiveDigests.first.map { .string($0.ociDigest) } ?? .null),
                ("archives", .strings(entry.archiveDigests.map(\.ociDigest))),
                ("target", entry.target.map { .string($0.name) } ?? .null),
                ("binary", .string(entry.binaryHash.ociDigest)), ("size", .integer(entry.size)),
                ("last_used", .integer(UInt64(max(0, entry.lastUsed.timeIntervalSince1970)))),
            ])
        }
    }

    /// `cache prune`: remove what has not been used.
    struct Prune: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Remove cached binaries, least recently used first; never one a running provider uses.")

        @Option(help: "Keep at most this many bytes (suffixes K, M, G).", transform: ByteSize.parsing)
        var maxSize: ByteSize?

        @Option(help: "Remove what was not used for this long (such as 90m, 12h, 7d; s for seconds).", transform: Age.parsing)
        var olderThan: Age?

        @OptionGroup var cache: CacheOptions
        @OptionGroup var output: OutputOptions

        func validate() throws {
            if maxSize == nil, olderThan == nil {
                throw ValidationError("give --max-size, --older-than, or both: what to remove")
            }
        }

        func run() throws {
            try output.run { console in
                let report = try cache.open().prune(
                    maxSize: maxSize?.bytes, olderThan: olderThan?.duration, events: { console.note($0.description) })
                let removed = report.binaries
                var text = ["Removed \(removed.count) cached binar\(removed.count == 1 ? "y" : "ies") (\(formatBytes(report.bytes)))"]
                if !report.otherFiles.isEmpty {
                    text.append("Removed \(report.otherFiles.count) leftover file\(report.otherFiles.count == 1 ? "" : "s") (temporary files, stale records)")
                }
                return CommandResult(
                    text: text,
                    json: [
                        ("removed", .array(removed.map(List.json))), ("bytes", .integer(report.bytes)),
                        ("leftovers", .strings(report.otherFiles)),
                    ])
            }
        }
    }
}

/// A size in bytes, with an optional K, M or G suffix (powers of 1024).
struct ByteSize: CommandLineValue {
    let bytes: UInt64

    init(commandLine text: String) throws {
        bytes = try wholeNumber(
            text.uppercased(), units: ["K": 1 << 10, "M": 1 << 20, "G": 1 << 30],
            otherwise: "not a size: give a whole number of bytes, or one with K, M or G")
    }
}

/// A length of time: a whole number with s, m, h or d (seconds when bare).
struct Age: CommandLineValue {
    let seconds: UInt64

    init(commandLine text: String) throws {
        seconds = try wholeNumber(
            text.lowercased(), units: ["s": 1, "m": 60, "h": 3600, "d": 86_400],
            otherwise: "not a length of time: give a whole number with s, m, h or d, such as 12h")
    }

    /// The length as a `Duration` (lengths past Int64 seconds, some 292 billion years, are cut there).
    var duration: Duration { .seconds(Int64(clamping: seconds)) }
}

/// A whole number with an optional one-letter unit after it, multiplied out, or the error.
private func wholeNumber(_ text: String, units: [Character: UInt64], otherwise reason: String) throws -> UInt64 {
    var digits = text
    var unit: UInt64 = 1
    if let last = digits.last, let multiplier = units[last] {
        unit = multiplier
        digits.removeLast()
    }
    guard let count = UInt64(digits), case let (value, overflow) = count.multipliedReportingOverflow(by: unit), !overflow else {
        throw CLIError(reason)
    }
    return value
}
