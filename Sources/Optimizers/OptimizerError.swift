/// Why an optimizer could not run: one line naming what is wrong and what to do.
public struct OptimizerError: Error, CustomStringConvertible, Sendable, Equatable {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
