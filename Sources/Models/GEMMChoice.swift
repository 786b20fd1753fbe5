import Tensors

extension ConvNeXt {
    /// Where `TiledGEMM` beat OpenBLAS in KernelBench (`--gemm-shapes`: the
    /// ConvNeXt-Tiny batch-16 Dense shapes on this 2-core machine, 2026-11-29):
    /// - the GEMMs into C channels at stages 1-2 (Conv_2's forward and Conv_1's
    ///   input gradient, N = 96 or 192): 18.0 vs 23.5 ms, 17.7 vs 19.9 ms;
    /// - the weight gradients over the long inner dimension B*H*W of stages 1-2
    ///   (K = 50176 or 12544): 20.2 vs 22.9-23.3 ms at stage 1, 18.4-19.0 vs
    ///   19.3-19.9 ms at stage 2.
    /// Elsewhere (N of 384 and more into 4C channels, stages 3-4) OpenBLAS was
    /// as fast or faster. The rule `GEMMKernel.automatic` follows for this model.
    public static let tiledGEMMPreferred: TiledGEMMRule = { s in
        guard s.n % tiledGEMMColumns == 0 else { return false }
        if s.transA { return s.k >= 8 * 1024 }
        return s.n <= 2 * tiledGEMMColumns && s.m >= 4 * 1024 && s.k >= 256
    }

    /// Runs `body` under the caller's compute context, with this model's
    /// tiled-GEMM rule where the caller has not set one.
    static func compute<R>(_ body: () throws -> R) rethrows -> R {
        var context = ComputeContext.current
        if context.tiledGEMMRule == nil { context.tiledGEMMRule = tiledGEMMPreferred }
        return try context.run(body)
    }
}
