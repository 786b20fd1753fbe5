import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// An exclusive advisory lock (`flock`) on a session directory, held while
/// a save or load reads `CURRENT`, writes a version or prunes old ones, so
/// two processes saving the same name take turns instead of deleting each
/// other's versions. The lock file is `NAME/.lock` (hidden: `session list`
/// and the version scan skip it); the kernel drops the lock if the process dies.
final class SessionLock {
    static let fileName = ".lock"
    private let fd: Int32

    /// Blocks until the lock on `directory` is held. Returns nil when the lock
    /// file cannot be made (a read-only session): loading still works.
    init?(_ directory: URL) {
        let path = directory.appendingPathComponent(Self.fileName).path
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { return nil }
        while flock(fd, LOCK_EX) != 0 {
            if errno != EINTR { close(fd); return nil }
        }
        self.fd = fd
    }

    deinit {
        _ = flock(fd, LOCK_UN)
        close(fd)
    }
}
