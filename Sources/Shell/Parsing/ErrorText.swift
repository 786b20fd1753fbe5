/// Error text made safe to print: one line, with no terminal control bytes
/// from the input echoed raw (an ESC in a mistyped command would otherwise
/// reach the terminal as an escape sequence).
enum ErrorText {
    /// `text` with line breaks as spaces and other control characters
    /// escaped (`\e` for ESC, `\u{7F}` style for the rest).
    static func oneLine(_ text: String) -> String {
        var out = ""
        out.unicodeScalars.reserveCapacity(text.unicodeScalars.count)
        for s in text.unicodeScalars {
            switch s {
            case "\n", "\r": out.unicodeScalars.append(" ")
            case "\t": out.unicodeScalars.append(s)
            case "\u{1B}": out += "\\e"
            default:
                if s.properties.generalCategory == .control {
                    out += "\\u{\(String(s.value, radix: 16, uppercase: true))}"
                } else {
                    out.unicodeScalars.append(s)
                }
            }
        }
        return out
    }
}
