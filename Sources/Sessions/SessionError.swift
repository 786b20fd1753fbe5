/// A session could not be saved, loaded, listed or exported: one line saying
/// what is wrong (which file, which tensor) and what to do.
public struct SessionError: Error, Sendable, Equatable, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}
