/// Fitting text to the terminal's width: every renderer takes the width, and
/// text is cut with `…` or wrapped at spaces, never inside a word or number.
///
/// Widths count characters (Unicode extended grapheme clusters): cnx's
/// output is ASCII, box drawing, blocks and braille, one column each.
public enum Width {
    /// `text` in at most `width` columns: unchanged when it fits, else cut
    /// and ended with `…` — or, for a path (it has a `/`), cut in the middle
    /// so its last, distinguishing part stays (`ConvNeXt…_01_01/Conv_1/bias`).
    public static func fit(_ text: String, _ width: Int) -> String {
        guard text.count > width else { return text }
        guard width > 1 else { return String(text.prefix(max(0, width))) }
        if text.contains("/"), width >= 8 {
            let head = (width - 1) / 3, tail = width - 1 - head
            return String(text.prefix(head)) + "…" + String(text.suffix(tail))
        }
        return String(text.prefix(width - 1)).trimmingTrailingSpaces() + "…"
    }

    /// `text` wrapped into lines of at most `width` columns at spaces (after
    /// the line's own indentation, which continuation lines repeat). A word
    /// longer than the width — a path, a long number list without spaces —
    /// gets a line of its own, whole: a number is never split.
    public static func wrap(_ text: String, _ width: Int) -> [String] {
        text.split(separator: "\n", omittingEmptySubsequences: false).flatMap { wrapLine(String($0), width) }
    }

    static func wrapLine(_ line: String, _ width: Int) -> [String] {
        guard line.count > width, width > 8 else { return [line] }
        let indent = String(line.prefix { $0 == " " })
        let room = width - indent.count
        // Words, each with whether a space goes before it; a path longer than
        // the line breaks after its `/`s (a number has none: never split).
        var pieces: [(text: Substring, spaced: Bool)] = []
        for word in line.dropFirst(indent.count).split(separator: " ", omittingEmptySubsequences: false) {
            guard word.count > room, word.contains("/") else { pieces.append((word, true)); continue }
            var rest = word[...]
            var first = true
            while let slash = rest.firstIndex(of: "/"), rest.index(after: slash) < rest.endIndex {
                pieces.append((rest[...slash], first))
                rest = rest[rest.index(after: slash)...]
                first = false
            }
            pieces.append((rest, first))
        }
        var lines: [String] = []
        var current = indent
        var currentHasWord = false
        for (word, spaced) in pieces {
            let candidate = currentHasWord ? current + (spaced ? " " : "") + word : current + word
            if candidate.count <= width || !currentHasWord {
                current = candidate
                currentHasWord = true
            } else {
                lines.append(current)
                current = indent + word
            }
        }
        lines.append(current)
        return lines
    }
}

/// Column widths for a table that must fit a terminal.
enum TableFit {
    /// Text columns a table may shrink to, at the least.
    static let minimum = 8

    /// `widths` (columns joined by two spaces) shrunk to fit `limit`: the
    /// widest text column gives up a column at a time, down to `minimum` (or
    /// its header); numbers keep their width. Unchanged when it fits or
    /// cannot be made to.
    static func widths(_ widths: [Int], numeric: [Bool], headers: [Int], limit: Int) -> [Int] {
        var w = widths
        func total() -> Int { w.reduce(0, +) + 2 * max(0, w.count - 1) }
        while total() > limit {
            let candidates = w.indices.filter { i in
                !(i < numeric.count && numeric[i]) && w[i] > max(minimum, min(i < headers.count ? headers[i] : 0, 16))
            }
            guard let widest = candidates.max(by: { w[$0] < w[$1] }) else { break }
            w[widest] -= 1
        }
        return w
    }
}
