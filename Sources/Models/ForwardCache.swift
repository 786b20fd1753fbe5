import Tensors

/// What a forward pass keeps for its backward pass, plus per-block statistics.
///
/// Kept per block: a `BlockCache` (see `Block.swift`; bf16 values packed in
/// a bf16 model). Outside blocks: the
/// input, the stem conv output, each downsample's norm input and output,
/// LayerNorm statistics, the pooled features and the head's Dense input.
public struct ForwardCache: Sendable {
    struct Norm: Sendable {
        var input: Tensor
        var mean: Tensor
        var rstd: Tensor
    }

    struct Stage: Sendable {
        /// Stage > 0: the LayerNorm before the downsample (its input is the
        /// previous stage's output) and the norm's output (the conv's input).
        var norm: Norm?
        var normOutput: Tensor?
        var blocks: [BlockCache]
    }

    /// The input's shape [B, H, W, 3].
    public let inputShape: [Int]
    /// Whether this was a train-mode pass.
    public let train: Bool
    var input: Tensor
    var stemNorm: Norm
    var stages: [Stage]
    /// The last block's output shape, for the pool's backward.
    var featureShape: [Int]
    var headNorm: Norm
    /// The head Dense input: the head LayerNorm output after dropout.
    var headInput: Tensor
    var headKeep: [Bool]?
    var headKeepScale: Float

    /// Per-block statistics and stochastic-depth masks, stage-major.
    public internal(set) var blockRecords: [BlockRecord]

    /// The head dropout keep mask [B * C] (nil in eval mode or without head dropout).
    public var headDropoutKept: [Bool]? { headKeep }

    /// The pooled backbone features [B, C_last] (the head LayerNorm's input).
    public var pooledFeatures: Tensor { headNorm.input }

    /// Bytes held by the cached tensors and masks.
    public var byteCount: Int {
        var floats = input.count + headInput.count
        func norm(_ n: Norm) -> Int { n.input.count + n.mean.count + n.rstd.count }
        floats += norm(stemNorm) + norm(headNorm)
        var bools = headKeep?.count ?? 0
        var blockBytes = 0
        for s in stages {
            if let n = s.norm { floats += norm(n) }
            floats += s.normOutput?.count ?? 0
            for b in s.blocks {
                blockBytes += b.input.byteCount + b.depthwise.byteCount + b.hidden.byteCount + b.branch.byteCount
                bools += b.keep?.count ?? 0
            }
        }
        return floats * MemoryLayout<Float>.stride + blockBytes + bools
    }

    /// The output of block `global` (stage-major index): the next block's
    /// input or the next stage norm's input; nil for the last block, whose
    /// output is not kept (its pooled mean is `pooledFeatures`).
    public func blockOutput(_ global: Int) -> Tensor? {
        var flat: [(stage: Int, index: Int)] = []
        for (s, st) in stages.enumerated() { for j in st.blocks.indices { flat.append((s, j)) } }
        guard global >= 0 && global + 1 < flat.count else { return nil }
        let (s, j) = flat[global]
        if j + 1 < stages[s].blocks.count { return stages[s].blocks[j + 1].input.tensor }
        return stages[s + 1].norm?.input
    }

    /// Named intermediate outputs that the cache holds, as Flax's
    /// `capture_intermediates` names them (`backbone/Stem_Conv`,
    /// `backbone/LayerNorm_1`, `backbone/Downsample_Conv_01`,
    /// `backbone/<block>` for all blocks but the last, and per block
    /// `backbone/<block>/DepthWise_Conv_0`, `.../Conv_1`, `.../Conv_2`).
    public func intermediates() -> [(String, Tensor)] {
        var out: [(String, Tensor)] = [("backbone/\(ConvNeXt.Module.stem)", stemNorm.input)]
        var names: [String] = []
        for (s, st) in stages.enumerated() {
            if s > 0, let n = st.normOutput {
                // The previous stage's last block output is this norm's input.
                out.append(("backbone/\(ConvNeXt.stageNormName(stage: s))", n))
            }
            for (j, b) in st.blocks.enumerated() {
                let name = ConvNeXt.blockName(stage: s, index: j)
                names.append(name)
                if j == 0 {
                    if s == 0 {
                        out.append(("backbone/\(ConvNeXt.stageNormName(stage: 0))", b.input.tensor))
                    } else {
                        out.append(("backbone/\(ConvNeXt.downsampleName(stage: s))", b.input.tensor))
                    }
                }
                out.append(("backbone/\(name)/\(ConvNeXt.Module.depthwise)", b.depthwise.tensor))
                out.append(("backbone/\(name)/\(ConvNeXt.Module.fc1)", b.hidden.tensor))
                out.append(("backbone/\(name)/\(ConvNeXt.Module.fc2)", b.branch.tensor))
            }
        }
        for (g, name) in names.enumerated() {
            if let t = blockOutput(g) { out.append(("backbone/\(name)", t)) }
        }
        return out
    }
}
