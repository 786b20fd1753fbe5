/// Errors from building a model, checking inputs and importing parameters.
///
/// Each description is one line that says what went wrong and what to do.
public struct ModelError: Error, CustomStringConvertible, Sendable, Equatable {
    /// The one-line message.
    public let description: String

    public init(_ description: String) { self.description = description }
}
