import Foundation

/// One word of a command line.
public struct Token: Sendable, Equatable {
    /// The word with quotes removed and escapes resolved.
    public var text: String
    /// True when any part of the word was quoted; a quoted word is never a flag.
    public var quoted: Bool

    public init(_ text: String, quoted: Bool = false) {
        self.text = text
        self.quoted = quoted
    }
}

/// Splits command-line text into commands and words.
///
/// Rules: words are separated by blanks; `'…'` quotes literally; `"…"` quotes
/// with `\"`, `\\`, `\n` and `\t` escapes; an unquoted `\` escapes the next
/// character; an unquoted `#` at the start of a word begins a comment that runs
/// to the end of the line; an unquoted `;` or newline ends a command.
public enum Tokenizer {
    /// The commands in `text`, each as its words; empty commands are dropped.
    public static func commands(_ text: String) throws(ShellError) -> [[Token]] {
        var commands: [[Token]] = []
        var words: [Token] = []
        var current = ""
        var inWord = false
        var quoted = false
        var chars = Array(text)
        chars.append("\n")
        var i = 0

        func endWord() {
            if inWord { words.append(Token(current, quoted: quoted)) }
            current = ""
            inWord = false
            quoted = false
        }
        func endCommand() {
            endWord()
            if !words.isEmpty { commands.append(words) }
            words = []
        }

        while i < chars.count {
            let c = chars[i]
            switch c {
            case " ", "\t", "\r":
                endWord()
            case "\n", ";":
                endCommand()
            case "#" where !inWord:
                while i < chars.count && chars[i] != "\n" { i += 1 }
                continue
            case "'":
                inWord = true
                quoted = true
                i += 1
                while i < chars.count - 1 && chars[i] != "'" { current.append(chars[i]); i += 1 }
                if i >= chars.count - 1 { throw ShellError("unterminated single quote: add a closing '") }
            case "\"":
                inWord = true
                quoted = true
                i += 1
                var closed = false
                while i < chars.count - 1 {
                    let d = chars[i]
                    if d == "\"" { closed = true; break }
                    if d == "\\" && i + 1 < chars.count - 1 {
                        i += 1
                        switch chars[i] {
                        case "n": current.append("\n")
                        case "t": current.append("\t")
                        default: current.append(chars[i])
                        }
                    } else {
                        current.append(d)
                    }
                    i += 1
                }
                if !closed { throw ShellError("unterminated double quote: add a closing \"") }
            case "\\":
                inWord = true
                if i + 1 < chars.count - 1 {
                    i += 1
                    current.append(chars[i])
                } else {
                    throw ShellError("a line cannot end with a backslash")
                }
            default:
                inWord = true
                current.append(c)
            }
            i += 1
        }
        return commands
    }

    /// Quotes a word so that `commands` reads it back unchanged.
    public static func quote(_ word: String) -> String {
        if !word.isEmpty && word.allSatisfy({ $0.isLetter || $0.isNumber || "-_./:=,+@%&[]".contains($0) }) {
            return word
        }
        return "'" + word.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }
}
