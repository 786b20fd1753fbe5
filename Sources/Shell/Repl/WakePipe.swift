import CEditLine
import Dispatch
import Foundation

/// The self-pipe that wakes the shell's reader (../shared/notes/libedit.md):
/// Ctrl-C (SIGINT) and window resizes arrive through a C signal handler, job
/// output from the compute queue; each writes one byte that the line
/// reader's `poll()` sees next to standard input.
///
/// Thread-safe: any thread may post; only the shell's thread drains.
public final class WakePipe: @unchecked Sendable {
    /// Bytes written to the pipe.
    public enum Event: UInt8 {
        case interrupt = 0x69  // "i": Ctrl-C
        case resize = 0x77     // "w": SIGWINCH
        case output = 0x6F     // "o": queued lines to show above the prompt
        case done = 0x64       // "d": a foreground command finished
    }

    public let readFD: Int32
    private let writeFD: Int32
    private let lock = NSLock()
    private var lines: [String] = []
    private var sources: [DispatchSourceSignal] = []

    public init() {
        var fds: [Int32] = [0, 0]
        precondition(pipe(&fds) == 0, "cannot create the shell's wake-up pipe")
        readFD = fds[0]
        writeFD = fds[1]
        // Never block a job thread on a full pipe; a lost wake-up byte is
        // harmless because the reader also polls with a timeout.
        _ = fcntl(writeFD, F_SETFL, fcntl(writeFD, F_GETFL) | O_NONBLOCK)
        _ = fcntl(readFD, F_SETFL, fcntl(readFD, F_GETFL) | O_NONBLOCK)
        _ = fcntl(readFD, F_SETFD, FD_CLOEXEC)
        _ = fcntl(writeFD, F_SETFD, FD_CLOEXEC)
    }

    deinit {
        for s in sources { s.cancel() }
        close(readFD)
        close(writeFD)
    }

    /// Routes SIGINT and SIGWINCH to the pipe through an async-signal-safe
    /// handler (`cnx_route_signal_to_pipe` in CEditLine), so Ctrl-C can never
    /// kill the shell and is seen at once even while a job keeps every
    /// Dispatch worker busy. SIGTERM and SIGHUP call `terminate` (on a
    /// Dispatch queue; they may wait for a step) with the signal number.
    public func catchSignals(terminate: @escaping @Sendable (Int32) -> Void) {
        for signo in [SIGINT, SIGWINCH] {
            precondition(cnx_route_signal_to_pipe(signo, writeFD) == 0, "cannot catch signal \(signo)")
        }
        let queue = DispatchQueue(label: "cnx.signals", qos: .userInteractive)
        for signo in [SIGTERM, SIGHUP] {
            signal(signo, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: signo, queue: queue)
            source.setEventHandler { terminate(signo) }
            source.resume()
            sources.append(source)
        }
    }

    public func post(_ event: Event) {
        var byte = event.rawValue
        _ = write(writeFD, &byte, 1)
    }

    /// Queues a line to show above the prompt and wakes the reader.
    public func show(_ line: String) {
        lock.withLock { lines.append(line) }
        post(.output)
    }

    /// Takes the queued lines.
    public func takeLines() -> [String] {
        lock.withLock {
            defer { lines.removeAll() }
            return lines
        }
    }

    /// Reads every byte waiting in the pipe.
    public func drain() -> [Event] {
        var events: [Event] = []
        var buffer = [UInt8](repeating: 0, count: 64)
        while true {
            let n = read(readFD, &buffer, buffer.count)
            if n <= 0 { break }
            events += buffer[0..<n].compactMap(Event.init(rawValue:))
        }
        return events
    }
}
