import Foundation
import XCTest
import TestSupport

/// POSIX/GNU functions Swift's Glibc module does not expose (they need
/// _XOPEN_SOURCE/_GNU_SOURCE), looked up at run time.
private enum C {
    static func symbol<T>(_ name: String, as type: T.Type) -> T? {
        guard let handle = dlopen(nil, RTLD_NOW), let pointer = dlsym(handle, name) else { return nil }
        return unsafeBitCast(pointer, to: type)
    }
    typealias IntFD = @convention(c) (Int32) -> Int32
    static let openpt = symbol("posix_openpt", as: IntFD.self)
    static let grantpt = symbol("grantpt", as: IntFD.self)
    static let unlockpt = symbol("unlockpt", as: IntFD.self)
    static let ptsname = symbol("ptsname_r", as: (@convention(c) (Int32, UnsafeMutablePointer<CChar>, Int) -> Int32).self)
    static let addchdir = symbol("posix_spawn_file_actions_addchdir_np",
                                 as: (@convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, UnsafePointer<CChar>) -> Int32).self)
}

/// Runs the real `cnx` binary on a pseudo-terminal, as a person would: the
/// child gets a new session with the pty as its controlling terminal, so
/// Ctrl-C typed into it becomes SIGINT exactly like in a terminal emulator.
///
/// Uses only POSIX calls (posix_openpt, posix_spawn with setsid), no extra
/// packages. Every wait has a timeout so a hang fails the test instead of
/// blocking the suite.
final class PseudoTerminal {
    let pid: pid_t
    private let master: Int32
    /// Everything the child wrote, as bytes.
    private(set) var output: [UInt8] = []
    private var exitStatus: Int32?

    /// The built binary, or an XCTSkip saying how to build it.
    static func binary() throws -> URL {
        let url = Golden.repoRoot.appendingPathComponent(".build/debug/cnx")
        guard FileManager.default.isExecutableFile(atPath: url.path) else {
            throw XCTSkip("\(url.path) is missing: run 'swift build --product cnx' (make test does) to run the pseudo-terminal tests")
        }
        return url
    }

    /// A fresh temporary directory (HOME and the history file live there).
    static func temporaryDirectory() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("cnx-pty-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    /// Starts `cnx` in `directory` with a clean environment (HOME and the
    /// history file in `directory`, a UTF-8 locale, TERM=xterm, PAGER=cat) changed by
    /// `environment` (an empty value removes a variable).
    /// `executable` runs instead of `cnx` when given (`mpirun … cnx`).
    init(executable: URL? = nil, arguments: [String] = [], directory: URL, environment: [String: String] = [:],
         columns: UInt16 = 100, rows: UInt16 = 40) throws {
        let binary = try executable ?? Self.binary()
        guard let openpt = C.openpt, let grantpt = C.grantpt, let unlockpt = C.unlockpt, let ptsname = C.ptsname else {
            throw XCTSkip("this C library lacks posix_openpt/grantpt/unlockpt/ptsname_r: no pseudo-terminal tests")
        }
        master = openpt(O_RDWR | O_NOCTTY)
        var name = [CChar](repeating: 0, count: 128)
        guard master >= 0, grantpt(master) == 0, unlockpt(master) == 0, ptsname(master, &name, name.count) == 0 else {
            throw XCTSkip("no pseudo-terminals on this machine (posix_openpt failed: errno \(errno))")
        }
        let slavePath = String(decoding: name.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        var size = winsize(ws_row: rows, ws_col: columns, ws_xpixel: 0, ws_ypixel: 0)
        _ = ioctl(master, UInt(TIOCSWINSZ), &size)

        var env = ["HOME": directory.path, "TERM": "xterm", "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8",
                   "PATH": "/usr/bin:/bin", "PAGER": "cat", "CNX_HISTORY": directory.appendingPathComponent("history").path]
        for (k, v) in environment { env[k] = v.isEmpty ? nil : v }  // "" unsets

        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        // After setsid, opening the pty's slave makes it the controlling terminal.
        posix_spawn_file_actions_addopen(&actions, 0, slavePath, O_RDWR, 0)
        posix_spawn_file_actions_adddup2(&actions, 0, 1)
        posix_spawn_file_actions_adddup2(&actions, 0, 2)
        posix_spawn_file_actions_addclose(&actions, master)
        _ = C.addchdir?(&actions, directory.path)
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        // POSIX_SPAWN_SETSID (glibc): a new session, like forkpty's child.
        // POSIX_SPAWN_SETSIGDEF: default SIGINT/SIGQUIT dispositions in the child.
        var defaults = sigset_t()
        sigemptyset(&defaults)
        sigaddset(&defaults, SIGINT)
        sigaddset(&defaults, SIGPIPE)
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        var empty = sigset_t()
        sigemptyset(&empty)
        posix_spawnattr_setsigmask(&attributes, &empty)
        posix_spawnattr_setflags(&attributes, Int16(0x80 | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK))

        let argv = ([binary.path] + arguments).map { strdup($0) } + [nil]
        let envp = env.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { for p in argv + envp { free(p) } }
        var child: pid_t = 0
        let rc = posix_spawn(&child, binary.path, &actions, &attributes, argv, envp)
        guard rc == 0 else {
            close(master)
            throw XCTSkip("cannot start \(binary.path) on a pseudo-terminal: posix_spawn error \(rc)")
        }
        pid = child
        _ = fcntl(master, F_SETFL, fcntl(master, F_GETFL) | O_NONBLOCK)
    }

    deinit {
        if exitStatus == nil {
            kill(pid, SIGKILL)
            var status: Int32 = 0
            waitpid(pid, &status, 0)
        }
        close(master)
    }

    /// Types text (UTF-8) into the terminal.
    func type(_ text: String) {
        let bytes = Array(text.utf8)
        bytes.withUnsafeBytes { buffer in
            var offset = 0
            while offset < buffer.count {
                let n = write(master, buffer.baseAddress! + offset, buffer.count - offset)
                if n > 0 { offset += n } else if errno != EAGAIN && errno != EINTR { return } else { usleep(1000) }
            }
        }
    }

    static let ctrlC = "\u{03}"
    static let ctrlD = "\u{04}"
    static let up = "\u{1B}[A"

    /// The output so far as text.
    var text: String { String(decoding: output, as: UTF8.self) }

    /// The output with escape sequences and carriage returns removed.
    var plainText: String { Self.strip(text) }

    /// Reads until `predicate` holds on the output, or fails after `timeout` seconds.
    @discardableResult
    func expect(_ what: String, timeout: Double = 10, file: StaticString = #filePath, line: UInt = #line,
                _ predicate: (String) -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while true {
            if predicate(plainText) { return true }
            if Date() >= deadline { break }
            pump(until: deadline)
        }
        XCTFail("timed out after \(timeout) s waiting for \(what); the terminal shows:\n\(plainText.suffix(1500))", file: file, line: line)
        return false
    }

    /// Waits until the plain output (after `from` characters) contains `needle`.
    @discardableResult
    func expect(_ needle: String, after from: Int = 0, timeout: Double = 10, file: StaticString = #filePath, line: UInt = #line) -> Bool {
        expect("'\(needle)'", timeout: timeout, file: file, line: line) { text in
            text.dropFirst(from).contains(needle)
        }
    }

    /// Number of times `needle` occurs in the plain output.
    func count(_ needle: String) -> Int { plainText.components(separatedBy: needle).count - 1 }

    private func pump(until deadline: Date) {
        var fd = pollfd(fd: master, events: Int16(POLLIN), revents: 0)
        let ms = max(1, min(100, Int32(deadline.timeIntervalSinceNow * 1000)))
        guard poll(&fd, 1, ms) > 0 else { return }
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = read(master, &buffer, buffer.count)
            if n <= 0 { break }
            output += buffer[0..<n]
        }
    }

    /// Waits for the child to exit; its status, or nil (and a failure) on timeout.
    func waitForExit(timeout: Double = 10, file: StaticString = #filePath, line: UInt = #line) -> Int32? {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            var status: Int32 = 0
            let r = waitpid(pid, &status, WNOHANG)
            if r == pid {
                pump(until: Date())
                let code = (status & 0x7F) == 0 ? (status >> 8) & 0xFF : 128 + (status & 0x7F)
                exitStatus = code
                return code
            }
            pump(until: Date().addingTimeInterval(0.05))
        }
        XCTFail("cnx did not exit within \(timeout) s; the terminal shows:\n\(plainText.suffix(1500))", file: file, line: line)
        return nil
    }

    /// The terminal's line discipline flags (shared by both ends of the pty).
    var localModes: tcflag_t? {
        var mode = termios()
        return tcgetattr(master, &mode) == 0 ? mode.c_lflag : nil
    }

    /// Whether the child is still running.
    var isRunning: Bool {
        var status: Int32 = 0
        return exitStatus == nil && waitpid(pid, &status, WNOHANG) == 0
    }

    /// Removes ANSI escape sequences (CSI and two-character ones) and `\r`.
    static func strip(_ s: String) -> String {
        var out = ""
        var it = s.unicodeScalars.makeIterator()
        while let c = it.next() {
            if c == "\u{1B}" {
                guard let next = it.next() else { break }
                if next == "[" {
                    while let d = it.next(), !(0x40...0x7E).contains(d.value) {}
                }
                continue
            }
            if c == "\r" || c == "\u{07}" { continue }
            out.unicodeScalars.append(c)
        }
        return out
    }
}
