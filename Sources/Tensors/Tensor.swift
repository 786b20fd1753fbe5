/// A dense float32 tensor in row-major (C) order.
///
/// `Tensor` is a value: its scalars live in a Swift `Array`, which is
/// copy-on-write, so copying a tensor (a snapshot of a training state, say) is
/// free until one of the copies is written. Activations are NHWC, conv kernels
/// HWIO and Dense kernels `(in, out)`, as in Flax.
public struct Tensor: Sendable, Equatable {
    /// The extent of each dimension; `[]` is a scalar.
    public private(set) var shape: [Int]
    /// The elements in row-major order; `scalars.count == shape.product`.
    public var scalars: [Float]

    /// A tensor with the given shape and elements.
    /// - Precondition: `scalars.count` equals the product of `shape`.
    public init(shape: [Int], scalars: [Float]) {
        precondition(shape.allSatisfy { $0 >= 0 }, "negative dimension in shape \(shape)")
        precondition(scalars.count == Tensor.count(of: shape),
                     "\(scalars.count) scalars do not fill shape \(shape)")
        self.shape = shape
        self.scalars = scalars
    }

    /// A tensor of the given shape with every element equal to `value`.
    public init(repeating value: Float, shape: [Int]) {
        self.init(shape: shape, scalars: Array(repeating: value, count: Tensor.count(of: shape)))
    }

    /// A tensor of zeros.
    public static func zeros(_ shape: [Int]) -> Tensor { Tensor(repeating: 0, shape: shape) }

    /// A tensor of ones.
    public static func ones(_ shape: [Int]) -> Tensor { Tensor(repeating: 1, shape: shape) }

    /// A scalar (rank-0) tensor.
    public init(scalar: Float) { self.init(shape: [], scalars: [scalar]) }

    /// The number of elements.
    public var count: Int { scalars.count }

    /// The number of dimensions.
    public var rank: Int { shape.count }

    /// The product of a shape's dimensions (1 for a scalar).
    public static func count(of shape: [Int]) -> Int { shape.reduce(1, *) }

    /// The same elements viewed with another shape of equal element count.
    public func reshaped(_ newShape: [Int]) -> Tensor {
        Tensor(shape: newShape, scalars: scalars)
    }

    /// Reads the element at a multi-dimensional index (slow; for tests and display).
    public subscript(index: Int...) -> Float {
        get { scalars[flatIndex(index)] }
        set { scalars[flatIndex(index)] = newValue }
    }

    private func flatIndex(_ index: [Int]) -> Int {
        precondition(index.count == shape.count, "index \(index) does not match rank \(shape.count)")
        var flat = 0
        for (i, n) in zip(index, shape) {
            precondition(i >= 0 && i < n, "index \(index) out of bounds for shape \(shape)")
            flat = flat * n + i
        }
        return flat
    }
}
