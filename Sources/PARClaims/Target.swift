/// A platform a provider binary runs on, named `ARCH-OS` as Rust names them: `x86_64-linux`,
/// `aarch64-macos`, `x86_64-windows` (PAR-FORMAT section 5).
///
/// A name is 3 to 64 characters of lowercase letters, digits and `_`, in two or more parts
/// joined by `-`. That keeps it safe as a file name (`x86_64-linux.bin`) and as a JSON key.
public struct Target: Hashable, Comparable, Sendable, CustomStringConvertible {
    /// The name, such as `x86_64-linux`.
    public let name: String

    /// Validates a target name.
    ///
    /// - Parameter name: A name in the form `ARCH-OS`.
    /// - Throws: ``ClaimsError/invalidTargetName(_:)`` when the name is not of that form.
    public init(_ name: String) throws(ClaimsError) {
        // Checked on bytes: compared as Characters, `x` with a combining mark would pass as `x`.
        let bytes = name.utf8
        let parts = bytes.split(separator: UInt8(ascii: "-"), omittingEmptySubsequences: false)
        let allowed: (UInt8) -> Bool = {
            (UInt8(ascii: "a")...UInt8(ascii: "z")).contains($0) || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0)
                || $0 == UInt8(ascii: "_")
        }
        guard bytes.count <= 64, parts.count >= 2,
            parts.allSatisfy({ !$0.isEmpty && $0.allSatisfy(allowed) })
        else { throw .invalidTargetName(name) }
        self.name = name
    }

    /// The architecture part, such as `x86_64`.
    public var architecture: Substring { name.prefix(while: { $0 != "-" }) }

    /// The operating-system part, such as `linux`.
    public var operatingSystem: Substring { name[name.index(after: name.firstIndex(of: "-") ?? name.startIndex)...] }

    /// The name of this target's binary inside an archive, such as `x86_64-linux.bin`.
    public var entryName: String { name + ".bin" }

    public var description: String { name }

    public static func < (lhs: Target, rhs: Target) -> Bool { lhs.name < rhs.name }

    /// The target of the running machine, named as the Rust tools name it
    /// (`std::env::consts::ARCH` + `-` + `std::env::consts::OS`).
    public static var native: Target {
        // The names below are all valid, so this cannot fail.
        guard let target = try? Target("\(nativeArchitecture)-\(nativeOperatingSystem)") else {
            preconditionFailure("the native target name is invalid")
        }
        return target
    }

    private static var nativeArchitecture: String {
        #if arch(x86_64)
        "x86_64"
        #elseif arch(arm64)
        "aarch64"
        #elseif arch(i386)
        "x86"
        #elseif arch(arm)
        "arm"
        #elseif arch(riscv64)
        "riscv64"
        #elseif arch(powerpc64le) || arch(powerpc64)
        "powerpc64"
        #elseif arch(s390x)
        "s390x"
        #elseif arch(wasm32)
        "wasm32"
        #else
        "unknown"
        #endif
    }

    private static var nativeOperatingSystem: String {
        #if os(Linux)
        "linux"
        #elseif os(macOS)
        "macos"
        #elseif os(Windows)
        "windows"
        #elseif os(FreeBSD)
        "freebsd"
        #elseif os(OpenBSD)
        "openbsd"
        #elseif os(Android)
        "android"
        #elseif os(iOS)
        "ios"
        #elseif os(WASI)
        "wasi"
        #else
        "unknown"
        #endif
    }
}
