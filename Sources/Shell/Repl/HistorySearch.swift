/// Ctrl-R's incremental search through the line history, shown as readline
/// and bash show it — `(reverse-i-search)`sle': help sleep` — instead of
/// libedit's terse `bck:` line. This is the search's state; `LineEditor`
/// feeds it keys and draws `prompt` and `text`.
struct HistorySearch: Equatable {
    /// The history, oldest first.
    let lines: [String]
    /// The line being edited when the search began (shown while the query is empty).
    let original: String
    private(set) var query = ""
    /// The index in `lines` of the match shown.
    private(set) var match: Int?
    /// The query matches no line at or before the match: the last match stays shown.
    private(set) var failed = false

    init(lines: [String], original: String) {
        self.lines = lines
        self.original = original
    }

    /// `(reverse-i-search)`QUERY': `, or `(failed reverse-i-search)`QUERY': `.
    var prompt: String { "(\(failed ? "failed " : "")reverse-i-search)`\(query)': " }

    /// The line to show: the match, or the original line before any.
    var text: String { match.map { lines[$0] } ?? original }

    /// A character added to the query: the newest line at or before the
    /// current match that contains it.
    mutating func type(_ character: Character) {
        query.append(character)
        search(from: match ?? lines.count - 1)
    }

    /// Backspace: the query loses its last character and the search starts again from the newest line.
    mutating func erase() {
        guard !query.isEmpty else { return }
        query.removeLast()
        match = nil
        failed = false
        if !query.isEmpty { search(from: lines.count - 1) }
    }

    /// Ctrl-R again: the next older line that contains the query.
    mutating func older() {
        guard !query.isEmpty else { return }
        search(from: (match ?? lines.count) - 1)
    }

    private mutating func search(from start: Int) {
        var i = min(start, lines.count - 1)
        while i >= 0 {
            if lines[i].contains(query) {
                match = i
                failed = false
                return
            }
            i -= 1
        }
        failed = true
    }
}
