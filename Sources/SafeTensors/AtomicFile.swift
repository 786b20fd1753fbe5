import Foundation
import Tensors
#if canImport(Glibc)
import Glibc
#endif

/// Crash-safe file replacement: a reader (or a crash at any moment) sees
/// either the old file or the new one, never a mix. Used for every file cnx
/// writes that a person would miss: tensors, sessions, metrics, history.
public enum AtomicFile {
    /// Writes `data` to a temporary file beside `url`, fsyncs it, renames it
    /// over `url`, and fsyncs the directory.
    /// - Throws: `FileCheck.Problem` when `url` is not a regular file (a
    ///   device, FIFO, link or directory is never replaced).
    public static func write(_ data: Data, to url: URL) throws {
        try FileCheck.writable(url.path)
        let dir = url.deletingLastPathComponent()
        // A missing folder is made, like `mkdir -p`: writing `out/preview.png` just works.
        try? FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let temp = dir.appendingPathComponent(".\(url.lastPathComponent).tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
        func fail(_ what: String) -> AtomicFileError {
            AtomicFileError(description: "\(url.path): \(what): \(String(cString: strerror(errno)))")
        }
        let fd = open(temp.path, O_WRONLY | O_CREAT | O_EXCL | O_TRUNC, 0o644)
        guard fd >= 0 else { throw fail("cannot create a temporary file in \(dir.path)") }
        var ok = false
        defer { if !ok { close(fd); unlink(temp.path) } }
        try data.withUnsafeBytes { raw in
            var done = 0
            while done < raw.count {
                let w = Glibc.write(fd, raw.baseAddress! + done, raw.count - done)
                if w < 0 {
                    if errno == EINTR { continue }
                    throw fail("write failed")
                }
                done += w
            }
        }
        guard fsync(fd) == 0 else { throw fail("fsync failed") }
        ok = true
        guard close(fd) == 0 else { unlink(temp.path); throw fail("close failed") }
        guard rename(temp.path, url.path) == 0 else { let e = fail("rename failed"); unlink(temp.path); throw e }
        let dfd = open(dir.path, O_RDONLY)
        if dfd >= 0 { _ = fsync(dfd); close(dfd) }
    }
}

/// A failed atomic write, naming the file and the system error.
public struct AtomicFileError: Error, Sendable, CustomStringConvertible {
    public var description: String
}
