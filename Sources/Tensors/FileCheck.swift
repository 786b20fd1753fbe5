import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Plain-words checks of the files cnx reads and writes, made before any
/// byte moves: a directory, a device node, a FIFO or a symbolic link given
/// where a file belongs is named as such (instead of a Foundation error
/// code), and an output command never replaces something that is not a
/// regular file.
public enum FileCheck {
    /// A file that cannot be used, in one line: the path and the problem.
    public struct Problem: Error, Sendable, Equatable, CustomStringConvertible {
        public var description: String
        /// The problem without the path, for callers that name the path themselves.
        public var reason: String
        public init(_ description: String) { self.description = description; reason = description }
        /// `reason` is a clause: "it is a directory, …" or "permission denied".
        init(path: String, _ reason: String) {
            description = reason.hasPrefix("it ") ? path + reason.dropFirst(2) : "\(path): \(reason)"
            self.reason = reason
        }
    }

    /// Throws unless `path` names an existing regular file this process may read.
    public static func readable(_ path: String) throws(Problem) {
        var st = stat()
        guard stat(path, &st) == 0 else { throw Problem(path: path, reason(errno)) }
        if let kind = nonRegular(st.st_mode) {
            throw Problem(path: path, "it is \(kind), not a regular file: give a file's path")
        }
        guard access(path, R_OK) == 0 else { throw Problem(path: path, "\(reason(errno)) (cannot read it)") }
    }

    /// Throws unless writing `path` would make or replace a regular file: it
    /// may be missing, or an existing regular file. Symbolic links, devices,
    /// FIFOs, sockets and directories are refused.
    public static func writable(_ path: String) throws(Problem) {
        var st = stat()
        guard lstat(path, &st) == 0 else {
            if errno == ENOENT { return }
            throw Problem(path: path, reason(errno))
        }
        if (st.st_mode & S_IFMT) == S_IFLNK {
            throw Problem(path: path, "it is a symbolic link: cnx does not write through links; give the real file's path, or remove the link")
        }
        if let kind = nonRegular(st.st_mode) {
            throw Problem(path: path, "it is \(kind), not a regular file: cnx will not replace it; choose a file path")
        }
    }

    /// What a non-regular file is, with its article; nil for a regular file.
    static func nonRegular(_ mode: mode_t) -> String? {
        switch mode & S_IFMT {
        case S_IFREG: return nil
        case S_IFDIR: return "a directory"
        case S_IFCHR: return "a character device"
        case S_IFBLK: return "a block device"
        case S_IFIFO: return "a FIFO (named pipe)"
        case S_IFSOCK: return "a socket"
        case S_IFLNK: return "a symbolic link"
        default: return "a special file"
        }
    }

    /// An errno in words, lower case (`no such file or directory`).
    public static func reason(_ code: Int32) -> String {
        switch code {
        case ENOENT: return "no such file or directory"
        case EACCES, EPERM: return "permission denied"
        case ENOTDIR: return "a component of the path is not a directory"
        case ENAMETOOLONG: return "the name is too long"
        case ELOOP: return "too many symbolic links"
        default: return String(cString: strerror(code)).lowercased()
        }
    }
}
