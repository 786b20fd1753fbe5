/// What went wrong reading or writing a safetensors file: one line that names
/// the file and, where there is one, the tensor.
public struct SafeTensorsError: Error, CustomStringConvertible, Sendable, Equatable {
    /// The file (its path, or a label for in-memory data).
    public var file: String
    /// The tensor the problem concerns, if any.
    public var tensor: String?
    /// What is wrong and, where useful, what to do.
    public var message: String

    public init(file: String, tensor: String? = nil, _ message: String) {
        self.file = file
        self.tensor = tensor
        self.message = message
    }

    public var description: String {
        if let tensor { return "\(file): tensor '\(tensor)': \(message)" }
        return "\(file): \(message)"
    }
}
