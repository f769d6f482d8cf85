/// An exclusive advisory lock (`flock`) on an existing file, for read-modify-replace updates:
/// held from reading the old content to renaming the new file into place, so updates by
/// several processes run one after another and none is lost.
///
/// The lock is on the file itself, so no lock file is ever left behind. Because an update
/// replaces the file, a process that waited may wake up holding the lock of a file that is
/// no longer at the path; it then locks the new one, until what it holds is what the path
/// names. The lock is released when this object goes away (or the process ends).
package final class FileLock {
    /// The locked file's path.
    package let path: String
    private let descriptor: Int32

    /// Opens and locks the file at `path`, waiting for other holders.
    ///
    /// - Parameters:
    ///   - path: The file.
    ///   - onWait: Called once, before waiting, when another process holds the lock.
    /// - Throws: ``FileError`` when the file cannot be opened or locked.
    package init(path: String, onWait: (() -> Void)? = nil) throws(FileError) {
        var waited = false
        while true {
            let descriptor = try System.open(path, [.closeOnExec, .nonBlocking])
            do throws(FileError) {
                if try !System.lock(descriptor, path: path, shared: false, wait: false) {
                    if !waited {
                        waited = true
                        onWait?()
                    }
                    try System.lock(descriptor, path: path, shared: false)
                }
                if let held = try? System.status(of: descriptor, path: path), let current = try? System.status(at: path),
                    held.isSameFile(as: current)
                {
                    System.setBlocking(descriptor)
                    self.path = path
                    self.descriptor = descriptor
                    return
                }
            } catch {
                System.close(descriptor)
                throw error
            }
            // The file was replaced while we waited: lock what the path names now.
            System.close(descriptor)
        }
    }

    deinit {
        System.close(descriptor)
    }

    /// A source reading the locked file from its start, at an offset of its own (so two
    /// sources of one lock never move each other's); valid while the lock is held.
    ///
    /// - Throws: ``FileError`` when the file cannot seek back to its start.
    package func contents() throws(FileError) -> FileSource {
        try System.rewind(descriptor, path: path)
        return FileSource(borrowing: descriptor, path: path, fromStart: true)
    }
}
