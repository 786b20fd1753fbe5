import JSON
/// One executed command of a session, as saved: what was typed, what came
/// back (structured, and as the text a person saw), and how long it took.
///
/// The shell makes these from its cells (Sessions cannot see the shell's
/// types); the session manifest stores them, notebooks and replay scripts are
/// made from them.
public struct TranscriptCell: Codable, Sendable, Equatable {
    public var number: Int
    public var command: String
    public var ok: Bool
    /// The error line, when the command failed.
    public var error: String?
    /// The structured result (the `--json` form).
    public var result: JSONValue?
    /// The result rendered as text.
    public var text: String
    /// PNG images the command produced.
    public var images: [TranscriptImage]
    public var seconds: Double

    public init(number: Int, command: String, ok: Bool, error: String? = nil, result: JSONValue? = nil,
                text: String = "", images: [TranscriptImage] = [], seconds: Double = 0) {
        self.number = number
        self.command = command
        self.ok = ok
        self.error = error
        self.result = result
        self.text = text
        self.images = images
        self.seconds = seconds
    }
}

/// A PNG a command wrote. Before a save `file` is where the command wrote it;
/// in a saved session it is the copy's file name inside the session.
public struct TranscriptImage: Codable, Sendable, Equatable {
    public var title: String
    public var file: String
    public init(title: String, file: String) {
        self.title = title
        self.file = file
    }
}
