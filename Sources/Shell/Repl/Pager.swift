import Foundation

/// Shows output longer than the terminal a screen at a time, like `more`:
/// Space shows the next screen, Enter one more line, `q` or Ctrl-C stops
/// (saying how many lines were left). Used only when standard input and
/// output are both terminals; `PAGER=cat` turns it off.
struct Pager {
    /// Terminal rows and columns; rows 0 when unknown.
    var rows: Int
    var columns: Int
    var color: Bool
    let wake: WakePipe

    static func current(color: Bool, wake: WakePipe) -> Pager? {
        guard isatty(0) != 0, isatty(1) != 0, ProcessInfo.processInfo.environment["PAGER"] != "cat" else { return nil }
        var size = winsize()
        guard ioctl(1, UInt(TIOCGWINSZ), &size) == 0, size.ws_row >= 4 else { return nil }
        return Pager(rows: Int(size.ws_row), columns: max(20, Int(size.ws_col)), color: color, wake: wake)
    }

    /// Screen rows `line` takes once wrapped (escape sequences not counted).
    func height(_ line: Substring) -> Int {
        var visible = 0
        var inEscape = false
        for scalar in line.unicodeScalars {
            if inEscape { if (0x40...0x7E).contains(scalar.value) && scalar != "[" { inEscape = false }; continue }
            if scalar == "\u{1B}" { inEscape = true; continue }
            visible += 1
        }
        return max(1, (visible + columns - 1) / columns)
    }

    /// Writes `text` (plus a newline) through `write`, pausing every screen.
    func show(_ text: String, write: (String) -> Void) {
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        let screen = rows - 1
        var i = 0
        var budget = screen
        while i < lines.count {
            // Print lines while they fit in the budget of screen rows.
            var chunk = ""
            while i < lines.count, chunk.isEmpty || height(lines[i]) <= budget {
                budget -= height(lines[i])
                chunk += lines[i] + "\n"
                i += 1
                if budget <= 0 { break }
            }
            write(chunk)
            guard i < lines.count else { return }
            let prompt = "-- more (\(lines.count - i) lines): Space next page, Enter next line, q stop --"
            write(color ? "\u{1B}[7m\(prompt)\u{1B}[0m" : prompt)
            let key = readKey()
            write("\r\u{1B}[K")
            switch key {
            case 0x20: budget = screen
            case 0x0A, 0x0D: budget = 1
            case nil:
                write(lines[i...].joined(separator: "\n") + "\n")  // input closed: show the rest
                return
            default:
                write("(\(lines.count - i) more lines not shown)\n")
                return
            }
        }
    }

    /// One key from the terminal (held non-canonical by the shell); 0x03 on
    /// Ctrl-C, nil at end of input.
    private func readKey() -> UInt8? {
        while true {
            var fds = [pollfd(fd: 0, events: Int16(POLLIN), revents: 0),
                       pollfd(fd: wake.readFD, events: Int16(POLLIN), revents: 0)]
            if poll(&fds, 2, -1) < 0 { if errno == EINTR { continue } else { return nil } }
            if fds[1].revents != 0, wake.drain().contains(.interrupt) { return 0x03 }
            if fds[0].revents != 0 {
                var byte: UInt8 = 0
                return read(0, &byte, 1) == 1 ? byte : nil
            }
        }
    }
}
