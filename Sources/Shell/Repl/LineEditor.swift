import CEditLine
import Foundation

/// The libedit line editor: emacs bindings, `~/.editrc`, UTF-8 input, a
/// (coloured) prompt, Tab completion, history with Ctrl-R, and a character
/// reader that also watches the shell's `WakePipe` so Ctrl-C, resizes and
/// job output are handled while a line is being typed.
///
/// Not thread-safe: every `el_*` call happens on the thread that created it.
final class LineEditor {
    /// What `readLine` returns.
    enum Input: Equatable {
        case line(String)
        /// Ctrl-C while typing: the line was discarded.
        case interrupted
        /// Ctrl-D on an empty line, or standard input closed.
        case endOfInput
    }

    private let el: OpaquePointer
    let history: HistoryStore
    let wake: WakePipe
    /// Completion for the text before the cursor.
    var complete: (String) -> Completer.Completion = { _ in Completer.Completion(candidates: [], prefix: "") }
    /// Called when the reader is idle (every 250 ms) and on `output` events:
    /// lines returned are shown above the prompt.
    var idleLines: () -> [String] = { [] }
    /// Called on Ctrl-C at an empty prompt (a background job may be stopped).
    var onInterrupt: () -> Void = {}
    /// Terminal width in columns (updated on resize).
    private(set) var columns: Int = 80

    private var promptText: UnsafeMutablePointer<CChar>
    /// The terminal's settings when the editor started (restored on exit).
    private var original = termios()
    private let haveTerminal: Bool
    private var interrupted = false
    /// A key bound to `cnx-redisplay`, returned by the reader after it printed
    /// lines above the prompt so libedit redraws the prompt and the line.
    private static let redisplayKey: wchar_t = 0x1D  // Ctrl-]

    init(history: HistoryStore, wake: WakePipe) {
        // Before el_init, or non-ASCII input is dropped. A C/POSIX locale
        // (no LANG set) would drop it too: fall back to C.UTF-8 then.
        setlocale(LC_CTYPE, "")
        if let codeset = nl_langinfo(nl_item(CODESET)), String(cString: codeset) != "UTF-8" {
            setlocale(LC_CTYPE, "C.UTF-8")
        }
        self.history = history
        self.wake = wake
        promptText = strdup("> ")
        haveTerminal = tcgetattr(0, &original) == 0
        el = cnx_el_init_std("cnx")
        cnx_el_set_clientdata(el, Unmanaged.passUnretained(self).toOpaque())
        cnx_el_set_editor(el, "emacs")
        cnx_el_set_signal(el, 0)
        cnx_el_set_prompt_esc(el, { el in
            LineEditor.from(el).promptText
        }, 1)
        cnx_el_set_getcfn(el, { el, character in
            LineEditor.from(el).readCharacter(into: character!)
        })
        cnx_el_set_history(el, history.history)
        cnx_el_addfn(el, "cnx-complete", "complete the word before the cursor", { el, _ in
            LineEditor.from(el).completeAtCursor()
        })
        cnx_el_addfn(el, "cnx-redisplay", "redraw the prompt and line", { _, _ in
            UInt8(CC_REDISPLAY)
        })
        cnx_el_addfn(el, "cnx-reverse-search", "search the history backwards", { el, _ in
            LineEditor.from(el).reverseSearch()
        })
        cnx_el_bind(el, "^I", "cnx-complete")
        cnx_el_bind(el, "^]", "cnx-redisplay")
        cnx_el_bind(el, "^R", "cnx-reverse-search")
        el_source(el, nil)  // ~/.editrc (after our bindings, so the user's win)
        columns = Self.terminalColumns()
    }

    /// Between lines (while a command runs) the terminal stays
    /// non-canonical without echo, ISIG kept for Ctrl-C: keys typed ahead
    /// wait as plain bytes for the next prompt, where libedit shows and edits
    /// them. In canonical mode a Ctrl-D typed ahead would be turned into an
    /// end-of-file marker that vanishes when libedit switches to raw mode.
    func holdTypeAhead() {
        guard haveTerminal else { return }
        var mode = original
        mode.c_lflag &= ~tcflag_t(ICANON | ECHO)
        withUnsafeMutableBytes(of: &mode.c_cc) { cc in
            cc[Int(VMIN)] = 1
            cc[Int(VTIME)] = 0
        }
        tcsetattr(0, TCSADRAIN, &mode)
    }

    /// A closure that gives the terminal back its start-up settings from any
    /// thread (for SIGTERM/SIGHUP, when the shell ends without unwinding).
    func terminalRestorer() -> @Sendable () -> Void {
        let saved = original, have = haveTerminal
        return {
            guard have else { return }
            var mode = saved
            tcsetattr(0, TCSANOW, &mode)
        }
    }

    /// Gives the terminal back its settings from start-up (cooked, echoing).
    func restoreTerminal() {
        guard haveTerminal else { return }
        tcsetattr(0, TCSADRAIN, &original)
    }

    deinit {
        restoreTerminal()
        el_end(el)
        free(promptText)
    }

    private static func from(_ el: OpaquePointer?) -> LineEditor {
        Unmanaged<LineEditor>.fromOpaque(cnx_el_get_clientdata(el)!).takeUnretainedValue()
    }

    static func terminalColumns() -> Int {
        var size = winsize()
        if ioctl(1, UInt(TIOCGWINSZ), &size) == 0 && size.ws_col > 0 { return Int(size.ws_col) }
        return 80
    }

    /// Reads one line with `prompt` (escape sequences wrapped in `\u{1}`).
    func readLine(prompt: String) -> Input {
        free(promptText)
        promptText = strdup(prompt)
        interrupted = false
        var count: Int32 = 0
        let raw = el_gets(el, &count)
        holdTypeAhead()
        if interrupted {
            // el_gets gave up mid-line: move below it and start clean.
            FileHandle.standardOutput.write(Data("^C\n".utf8))
            el_reset(el)
            return .interrupted
        }
        guard let raw, count > 0 else { return .endOfInput }
        var line = String(cString: raw)
        while line.hasSuffix("\n") || line.hasSuffix("\r") { line.removeLast() }
        return .line(line)
    }

    // MARK: - Character reader (EL_GETCFN)

    /// Reads one character for libedit, decoding UTF-8 from standard input,
    /// while watching the wake-up pipe. Returns 1 with a character, 0 to end
    /// `el_gets` (end of input, or Ctrl-C with `interrupted` set), -1 on error.
    private func readCharacter(into character: UnsafeMutablePointer<wchar_t>) -> Int32 {
        while true {
            var fds = [pollfd(fd: 0, events: Int16(POLLIN), revents: 0),
                       pollfd(fd: wake.readFD, events: Int16(POLLIN), revents: 0)]
            let ready = poll(&fds, 2, 250)
            if ready < 0 {
                if errno == EINTR { continue }
                return -1
            }
            if fds[1].revents != 0 || ready == 0 {
                let events = ready == 0 ? [] : wake.drain()
                if events.contains(.resize) {
                    el_resize(el)
                    columns = Self.terminalColumns()
                }
                let lines = wake.takeLines() + idleLines()
                if !lines.isEmpty {
                    // Above the prompt: clear the prompt's row, print, then
                    // have libedit redraw the prompt and the half-typed line.
                    let text = lines.map { "\r\u{1B}[K" + $0 + "\n" }.joined()
                    FileHandle.standardOutput.write(Data(text.utf8))
                }
                if events.contains(.interrupt) {
                    // Ctrl-C with text typed discards the line and nothing
                    // else; on an empty line it stops a background job.
                    let typed = el_line(el).map { Self.text($0.pointee.buffer, $0.pointee.lastchar) } ?? ""
                    if typed.isEmpty { onInterrupt() }
                    interrupted = true
                    return 0
                }
                if !lines.isEmpty {
                    character.pointee = Self.redisplayKey
                    return 1
                }
                if fds[0].revents == 0 { continue }
            }
            if fds[0].revents & Int16(POLLIN | POLLHUP | POLLERR) != 0 {
                return readUTF8(into: character)
            }
        }
    }

    private func readUTF8(into character: UnsafeMutablePointer<wchar_t>) -> Int32 {
        var lead: UInt8 = 0
        let n = read(0, &lead, 1)
        if n == 0 { return 0 }
        if n < 0 { return errno == EINTR || errno == EAGAIN ? readUTF8(into: character) : -1 }
        let length: Int
        switch lead {
        case 0..<0x80: length = 1
        case 0xC0..<0xE0: length = 2
        case 0xE0..<0xF0: length = 3
        case 0xF0..<0xF8: length = 4
        default: length = 1  // a stray continuation byte: passed on as is below
        }
        var bytes = [lead]
        while bytes.count < length {
            var next: UInt8 = 0
            let m = read(0, &next, 1)
            if m <= 0 { break }
            bytes.append(next)
        }
        if length == 1 {
            character.pointee = wchar_t(lead < 0x80 ? UInt32(lead) : 0xFFFD)
            return 1
        }
        let scalar = String(decoding: bytes, as: UTF8.self).unicodeScalars.first?.value ?? 0xFFFD
        character.pointee = wchar_t(bitPattern: scalar)
        return 1
    }

    // MARK: - History search (bound to Ctrl-R)

    /// Ctrl-R: readline's reverse incremental search. Typed characters grow
    /// the query, Ctrl-R finds the next older match, Backspace shortens the
    /// query, Enter runs the match, Ctrl-G gives back the line as it was, and
    /// any other key (arrows, Ctrl-A, Esc …) keeps the match for editing and
    /// then does what it does. Ctrl-C discards the line, as always.
    private func reverseSearch() -> UInt8 {
        guard let info = el_wline(el)?.pointee else { return UInt8(CC_ERROR) }
        var search = HistorySearch(lines: history.lines, original: Self.wideText(info.buffer, info.lastchar))
        let prompt = String(cString: promptText)
        func draw() {
            setPrompt(search.prompt)
            replaceLine(search.text)
            cnx_el_refresh(el)
        }
        defer { setPrompt(prompt) }
        draw()
        while true {
            var key: wchar_t = 0
            guard el_wgetc(el, &key) == 1 else {  // end of input, or Ctrl-C (`interrupted` is set)
                replaceLine(search.original)
                return UInt8(CC_EOF)
            }
            switch key {
            case 0x12: search.older()                      // Ctrl-R
            case 0x7F, 0x08: search.erase()                // Backspace
            case 0x07:                                     // Ctrl-G
                replaceLine(search.original)
                return UInt8(CC_REDISPLAY)
            case Self.redisplayKey: break                  // job lines were printed above: redraw
            case let k where k >= 0x20:
                search.type(Unicode.Scalar(UInt32(bitPattern: k)).map(Character.init) ?? "\u{FFFD}")
            default:                                       // Enter and any other key act on the match
                replaceLine(search.text)
                el_wpush(el, [key, 0])
                return UInt8(CC_REDISPLAY)
            }
            draw()
        }
    }

    private func setPrompt(_ text: String) {
        free(promptText)
        promptText = strdup(text)
    }

    /// Replaces the whole edited line with `text`, the cursor at its end.
    private func replaceLine(_ text: String) {
        guard let info = el_wline(el)?.pointee else { return }
        _ = el_cursor(el, Int32(info.lastchar - info.cursor))
        el_deletestr(el, Int32(info.lastchar - info.buffer))
        if !text.isEmpty { _ = el_insertstr(el, text) }
    }

    static func wideText(_ start: UnsafePointer<wchar_t>?, _ end: UnsafePointer<wchar_t>?) -> String {
        guard let start, let end, end > start else { return "" }
        return String(String.UnicodeScalarView(UnsafeBufferPointer(start: start, count: end - start).compactMap { Unicode.Scalar(UInt32(bitPattern: $0)) }))
    }

    // MARK: - Completion (bound to Tab)

    private func completeAtCursor() -> UInt8 {
        guard let info = el_line(el)?.pointee else { return UInt8(CC_ERROR) }
        let before = Self.text(info.buffer, info.cursor)
        let completion = complete(before)
        let typed = completion.prefix
        let candidates = completion.candidates
        guard !candidates.isEmpty else { return UInt8(CC_REFRESH_BEEP) }
        if candidates.count == 1 {
            let word = candidates[0]
            var insert = Self.escape(String(word.dropFirst(typed.count)))
            if !word.hasSuffix("/") { insert += " " }
            el_insertstr(el, insert)
            return UInt8(CC_REFRESH)
        }
        let common = Completer.commonPrefix(candidates)
        if common.count > typed.count {
            el_insertstr(el, Self.escape(String(common.dropFirst(typed.count))))
            return UInt8(CC_REFRESH)
        }
        // Many ways on: ask first, as readline does (y or space lists them).
        if candidates.count > Self.listWithoutAsking {
            FileHandle.standardOutput.write(Data("\nDisplay all \(candidates.count) possibilities? (y or n)".utf8))
            var byte: UInt8 = 0
            let yes = read(0, &byte, 1) == 1 && [UInt8(ascii: "y"), UInt8(ascii: "Y"), UInt8(ascii: " ")].contains(byte)
            if !yes {
                FileHandle.standardOutput.write(Data("\n".utf8))
                return UInt8(CC_REDISPLAY)
            }
        }
        // Several ways on: list them in columns under the line, then redraw.
        FileHandle.standardOutput.write(Data(("\n" + Self.columnize(candidates, width: columns) + "\n").utf8))
        return UInt8(CC_REDISPLAY)
    }

    /// More candidates than this, and Tab asks before listing them.
    static let listWithoutAsking = 50

    static func escape(_ text: String) -> String {
        var out = ""
        for c in text {
            if " '\"\\;#&".contains(c) { out.append("\\") }
            out.append(c)
        }
        return out
    }

    /// Words laid out in columns, row by row, within `width`.
    static func columnize(_ words: [String], width: Int) -> String {
        let cell = (words.map(\.count).max() ?? 0) + 2
        let perRow = max(1, width / cell)
        var lines: [String] = []
        var i = 0
        while i < words.count {
            let row = words[i..<min(words.count, i + perRow)]
            lines.append(row.map { $0 + String(repeating: " ", count: cell - $0.count) }.joined().trimmingTrailingSpaces())
            i += perRow
        }
        return lines.joined(separator: "\n")
    }

    private static func text(_ start: UnsafePointer<CChar>?, _ end: UnsafePointer<CChar>?) -> String {
        guard let start, let end, end > start else { return "" }
        let bytes = UnsafeRawBufferPointer(start: start, count: end - start)
        return String(decoding: bytes, as: UTF8.self)
    }
}
