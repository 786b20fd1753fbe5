/// A user-facing error: one line saying what went wrong and what to do.
public struct ShellError: Error, Sendable, Equatable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
