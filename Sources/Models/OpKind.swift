import Tensors

/// The kinds of work a ConvNeXt step is made of, for `cnx bench`'s per-op
/// time breakdown (issue 11). The model's vocabulary for `OpProfile`.
public enum OpKind: String, CaseIterable, Sendable {
    /// The 4x4/4 patchify conv (`patchConv*` with stride 4).
    case stem
    /// The 2x2/2 downsample convs (`patchConv*` with stride 2).
    case downsample
    /// The 7x7 depthwise convs.
    case depthwise
    /// Every LayerNorm (block, stage and head), forward and backward.
    case layerNorm = "layernorm"
    /// Dense layers (the 1x1 convs and the head): the GEMMs and their bias.
    case gemm
    /// GELU forward and backward.
    case gelu
    /// LayerScale, stochastic depth, dropout and the residual adds.
    case elementwise
    /// Global average pool and the softmax cross-entropy.
    case head
    /// Per-block activation statistics (`show activations`).
    case statistics
}

extension OpProfile {
    /// Runs `body`, adding its wall time to `kind` when the bound
    /// `ComputeContext` has a profiler.
    @inline(__always)
    static func time<R>(_ kind: OpKind, _ body: () throws -> R) rethrows -> R {
        try time(kind.rawValue, body)
    }

    /// The seconds per `OpKind` since the last `reset()`.
    public func secondsByKind() -> [OpKind: Double] {
        let s = seconds()
        return Dictionary(uniqueKeysWithValues: OpKind.allCases.map { ($0, s[$0.rawValue] ?? 0) })
    }
}
