import Tensors

/// An activation a forward pass keeps for its backward pass: float32, or,
/// in a bf16 model, bf16 values in half the bytes (`BF16Tensor`; exact, so
/// the backward reads the same bits the forward computed).
enum CachedActivation: Sendable {
    /// A float32 tensor, kept as it is.
    case float(Tensor)
    /// A tensor of bf16 values.
    case bf16(BF16Tensor)
    /// `v + b` in float32 with `v` [..., C] and the bias `b` [C] both bf16: a
    /// bf16 conv's rounded output plus its rounded bias, left unrounded
    /// because only a LayerNorm reads it (docs/bf16.md). Kept as `v` and `b`,
    /// and added again (the same float32 adds, so the same bits) when read.
    case bf16PlusBias(BF16Tensor, bias: Tensor)

    /// A float32 tensor, or bf16 values packed when `bf16` is true.
    init(_ t: Tensor, bf16: Bool) {
        self = bf16 ? .bf16(BF16Tensor(packing: t)) : .float(t)
    }

    /// The activation as float32 (a new tensor for the bf16 cases).
    var tensor: Tensor {
        switch self {
        case let .float(t): return t
        case let .bf16(p): return p.unpacked()
        case let .bf16PlusBias(p, bias):
            return p.unpacked(addingBias: bias)
        }
    }

    var shape: [Int] {
        switch self {
        case let .float(t): return t.shape
        case let .bf16(p), let .bf16PlusBias(p, _): return p.shape
        }
    }

    /// Bytes the activation holds; a `bf16PlusBias` bias is the model's
    /// (shared with the compute parameters), not counted.
    var byteCount: Int {
        switch self {
        case let .float(t): return t.count * MemoryLayout<Float>.stride
        case let .bf16(p), let .bf16PlusBias(p, _): return p.byteCount
        }
    }
}
