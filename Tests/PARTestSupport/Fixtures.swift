import Foundation

/// The files in `Tests/Fixtures`: archives made by other tools and crafted ones (its
/// README.md says how each was made).
public enum Fixtures {
    /// The folder.
    public static let folder = ExternalTools.repositoryRoot.appendingPathComponent("Tests/Fixtures").path

    /// The valid archives other tools (and par) wrote, each claiming and holding
    /// `x86_64-linux` and, with `twoTargets`, `aarch64-macos`.
    public static let interoperable: [(name: String, twoTargets: Bool)] = [
        ("parcheck.par", true), ("parcheck.par.gz", false), ("par.par", true), ("par.par.gz", false),
        ("gnutar-ustar.par", true), ("gnutar-gnu.par", true), ("gnutar-oldgnu.par", true), ("gnutar-pax.par", true),
        ("gnutar-v7.par", true), ("gnutar-dot.par.gz", true),
        ("python-USTAR.par", true), ("python-GNU.par", true), ("python-PAX.par", true),
    ]

    /// The crafted archives, plain and gzip: numbers at the edge of 64 bits.
    public static let numberTraps = [
        "pax-length-2p63.par", "pax-length-2p63.par.gz", "pax-size-2p64.par", "pax-size-2p64.par.gz",
        "base256-size-2p64.par", "base256-size-2p64.par.gz",
    ]

    /// A fixture's path.
    public static func path(_ name: String) -> String { folder + "/" + name }

    /// A fixture's bytes.
    public static func bytes(_ name: String) throws -> [UInt8] {
        Array(try Data(contentsOf: URL(fileURLWithPath: path(name))))
    }

    /// Every file in the folder but its README, so a new fixture cannot go unread. Folders
    /// are not listed: `wit/` holds the WIT packages `WITTests` encodes.
    public static func all() throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: folder).filter { name in
            var isFolder: ObjCBool = false
            return name != "README.md" && FileManager.default.fileExists(atPath: path(name), isDirectory: &isFolder) && !isFolder.boolValue
        }.sorted()
    }
}
