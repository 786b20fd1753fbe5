import OrderedCollections

/// A named, ordered collection of tensors: a parameter tree flattened to
/// Flax paths joined with `/` (e.g. `ConvNeXtBackbone_0/Stem_Conv/kernel`).
///
/// Gradients, optimizer moments and EMA parameters are trees with the same
/// keys as the parameters, so optimizer code maps over keys in order.
public struct TensorTree: Sendable, Equatable, Sequence {
    /// The tensors by path, in insertion (model) order.
    public var tensors: OrderedDictionary<String, Tensor>

    public init() { tensors = [:] }
    public init(_ tensors: OrderedDictionary<String, Tensor>) { self.tensors = tensors }

    /// The paths in order.
    public var paths: [String] { Array(tensors.keys) }

    /// The number of tensors.
    public var count: Int { tensors.count }

    /// The total number of scalars over all tensors.
    public var scalarCount: Int { tensors.values.reduce(0) { $0 + $1.count } }

    public subscript(path: String) -> Tensor? {
        get { tensors[path] }
        set { tensors[path] = newValue }
    }

    public func makeIterator() -> OrderedDictionary<String, Tensor>.Iterator { tensors.makeIterator() }

    /// A tree with the same paths whose tensors are `transform(path, tensor)`.
    public func map(_ transform: (String, Tensor) throws -> Tensor) rethrows -> TensorTree {
        var out = OrderedDictionary<String, Tensor>(minimumCapacity: tensors.count)
        for (path, tensor) in tensors { out[path] = try transform(path, tensor) }
        return TensorTree(out)
    }

    /// A tree of zeros shaped like this one.
    public func zerosLike() -> TensorTree { map { _, t in .zeros(t.shape) } }
}
