import CEditLine
import Foundation

/// Persistent line history: libedit's in-memory `History` (Up-arrow, Ctrl-R)
/// backed by a file in libedit's format (`_HiStOrY_V2_`).
///
/// The file is `$CNX_HISTORY`, else `$XDG_STATE_HOME/cnx/history`, else
/// `~/.cnx_history`. Saving is atomic and merging: the file on disk is read
/// again, this shell's new lines are appended (consecutive duplicates
/// dropped, the oldest trimmed past `limit`), the result is written to a
/// temporary file, fsynced and renamed over the old one. Two shells therefore
/// keep each other's lines.
public final class HistoryStore {
    /// The libedit history the line editor uses.
    let history: OpaquePointer
    public let url: URL
    public let limit: Int
    /// Lines entered since the last save.
    private var pending: [String] = []
    private var last: String?

    public init(url: URL, limit: Int = 2000) {
        self.url = url
        self.limit = limit
        history = Self.make(limit: limit)
        var event = HistEvent()
        _ = cnx_history_load(history, &event, url.path)
        last = Self.lines(of: history).last
    }

    deinit { history_end(history) }

    /// The history file's location for this environment.
    public static func defaultURL(environment: [String: String] = ProcessInfo.processInfo.environment) -> URL {
        if let path = environment["CNX_HISTORY"], !path.isEmpty { return URL(fileURLWithPath: path) }
        if let state = environment["XDG_STATE_HOME"], state.hasPrefix("/") {
            return URL(fileURLWithPath: state).appendingPathComponent("cnx/history")
        }
        let home = environment["HOME"] ?? NSHomeDirectory()
        return URL(fileURLWithPath: home).appendingPathComponent(".cnx_history")
    }

    /// Adds a line (unless blank or equal to the previous one).
    public func add(_ line: String) {
        guard !line.trimmingCharacters(in: .whitespaces).isEmpty, line != last else { return }
        var event = HistEvent()
        _ = cnx_history_enter(history, &event, line)
        pending.append(line)
        last = line
    }

    /// Every line in memory, oldest first.
    public var lines: [String] { Self.lines(of: history) }

    /// Merges this shell's new lines into the file on disk, atomically.
    public func save() throws {
        guard !pending.isEmpty else { return }
        let directory = url.deletingLastPathComponent()
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o700])
        // One saver at a time: two shells saving at once would each merge
        // without the other's lines.
        let lock = open(directory.appendingPathComponent(".\(url.lastPathComponent).lock").path, O_CREAT | O_RDWR | O_CLOEXEC, 0o600)
        if lock >= 0 { flock(lock, LOCK_EX) }
        defer { if lock >= 0 { close(lock) } }
        let merged = Self.make(limit: limit)
        defer { history_end(merged) }
        var event = HistEvent()
        if cnx_history_load(merged, &event, url.path) < 0,
           let size = (try? FileManager.default.attributesOfItem(atPath: url.path))?[.size] as? Int, size > 0 {
            throw ShellError("\(url.path) is not a cnx (libedit) history file; not overwriting it: set CNX_HISTORY to another file")
        }
        for line in pending { _ = cnx_history_enter(merged, &event, line) }
        let temporary = directory.appendingPathComponent(".\(url.lastPathComponent).\(getpid()).tmp")
        guard let file = fopen(temporary.path, "w") else {
            throw ShellError("cannot write history to \(temporary.path): \(String(cString: strerror(errno))); set CNX_HISTORY to a writable file")
        }
        fchmod(fileno(file), 0o600)
        let written = cnx_history_save_fp(merged, &event, file)
        let flushed = fflush(file) == 0 && fsync(fileno(file)) == 0
        fclose(file)
        guard written >= 0, flushed, rename(temporary.path, url.path) == 0 else {
            unlink(temporary.path)
            throw ShellError("cannot save history to \(url.path): \(String(cString: strerror(errno))); set CNX_HISTORY to a writable file")
        }
        pending.removeAll()
    }

    private static func make(limit: Int) -> OpaquePointer {
        let h = history_init()!
        var event = HistEvent()
        _ = cnx_history_setsize(h, &event, Int32(limit))
        _ = cnx_history_setunique(h, &event, 1)
        return h
    }

    private static func lines(of h: OpaquePointer) -> [String] {
        var out: [String] = []
        var event = HistEvent()
        var rc = cnx_history_last(h, &event)
        while rc >= 0, let text = event.str {
            var line = String(cString: text)
            if line.hasSuffix("\n") { line.removeLast() }
            out.append(line)
            rc = cnx_history_prev(h, &event)
        }
        return out
    }
}
