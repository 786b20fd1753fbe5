import Tensors
import JaxRandom

/// A ConvNeXt (v1) classifier with the recipe's Flax module tree.
///
/// The model holds only its configuration; parameters are a `TensorTree`
/// keyed by Flax paths (`parameterSpecs()`), passed to `forward`/`backward`.
/// Structure (see `golden/README.md`, "The model"):
/// ```
/// Stem_Conv 4x4/4 -> LayerNorm_0
/// stage i: [LayerNorm_i -> Downsample_Conv_0i 2x2/2 if i > 0] -> blocks
/// block:   x + StochasticDepth(LayerScale(Dense(GELU(Dense(LN(DWConv7x7(x)))))))
/// head:    mean over H, W -> LayerNorm_0 -> [Dropout_0] -> Head Dense
/// ```
public struct ConvNeXt: Sendable {
    /// The hyper-parameters.
    public let config: ConvNeXtConfig

    /// A model for a validated configuration.
    /// - Throws: `ModelError` when the configuration is invalid.
    public init(config: ConvNeXtConfig) throws {
        try config.validate()
        self.config = config
    }

    // MARK: - Flax module names

    /// The backbone module's name.
    public static let backbone = "ConvNeXtBackbone_0"

    /// `BottleneckConvNeXtBlock_{stage:02}_{index:02}`, both 0-based here and 1-based in the name.
    public static func blockName(stage: Int, index: Int) -> String {
        "BottleneckConvNeXtBlock_\(twoDigits(stage + 1))_\(twoDigits(index + 1))"
    }

    /// `Downsample_Conv_{stage:02}` for stage > 0.
    public static func downsampleName(stage: Int) -> String { "Downsample_Conv_\(twoDigits(stage))" }

    /// The backbone LayerNorm before stage `stage`'s downsample (`LayerNorm_0` is the stem's).
    public static func stageNormName(stage: Int) -> String { "LayerNorm_\(stage)" }

    static func twoDigits(_ n: Int) -> String { n < 10 ? "0\(n)" : "\(n)" }

    /// One block's place in the network.
    public struct BlockInfo: Sendable, Equatable {
        /// 0-based stage.
        public var stage: Int
        /// 0-based index within the stage.
        public var index: Int
        /// 0-based index over all blocks (stage-major).
        public var globalIndex: Int
        /// `BottleneckConvNeXtBlock_xx_yy`.
        public var name: String
        /// Channels.
        public var channels: Int
        /// Stochastic-depth rate (0: the block has no `StochasticDepth_0`).
        public var dropPathRate: Double
    }

    /// Every block in stage-major order.
    public var blocks: [BlockInfo] {
        let rates = config.dropPathRates
        var out: [BlockInfo] = []
        var g = 0
        for (s, depth) in config.depths.enumerated() {
            for j in 0..<depth {
                out.append(BlockInfo(stage: s, index: j, globalIndex: g, name: Self.blockName(stage: s, index: j),
                                     channels: config.dims[s], dropPathRate: rates[g]))
                g += 1
            }
        }
        return out
    }

    // MARK: - Parameters

    /// The parameters in model (definition) order: stem, stem norm, then per
    /// stage the norm and downsample and each block, then the head norm and
    /// the head.
    public func parameterSpecsInModelOrder() -> [ParameterSpec] {
        var specs: [ParameterSpec] = []
        let c = config
        let trunc = ParameterInit.truncatedNormal(stddev: 0.02)
        func add(_ module: [String], _ name: String, _ shape: [Int], _ initializer: ParameterInit) {
            let path = (module + [name]).joined(separator: "/")
            specs.append(ParameterSpec(path: path, shape: shape, initializer: initializer, modulePath: module,
                                       rngCounter: name == "bias" ? 2 : 1, weightDecay: seedWeightDecay(path: path)))
        }
        func norm(_ module: [String], _ ch: Int) {
            add(module, "scale", [ch], .constant(1))
            add(module, "bias", [ch], .constant(0))
        }
        let bb = Self.backbone
        add([bb, "Stem_Conv"], "kernel", [4, 4, 3, c.dims[0]], trunc)
        add([bb, "Stem_Conv"], "bias", [c.dims[0]], .constant(0))
        norm([bb, Self.stageNormName(stage: 0)], c.dims[0])
        for block in blocks {
            let s = block.stage
            if block.index == 0 && s > 0 {
                norm([bb, Self.stageNormName(stage: s)], c.dims[s - 1])
                add([bb, Self.downsampleName(stage: s)], "kernel", [2, 2, c.dims[s - 1], c.dims[s]], trunc)
                add([bb, Self.downsampleName(stage: s)], "bias", [c.dims[s]], .constant(0))
            }
            let m = [bb, block.name]
            let ch = block.channels
            add(m + ["DepthWise_Conv_0"], "kernel", [c.kernelSize, c.kernelSize, 1, ch], trunc)
            add(m + ["DepthWise_Conv_0"], "bias", [ch], .constant(0))
            norm(m + ["LayerNorm_0"], ch)
            add(m + ["Conv_1"], "kernel", [ch, 4 * ch], trunc)
            add(m + ["Conv_1"], "bias", [4 * ch], .constant(0))
            add(m + ["Conv_2"], "kernel", [4 * ch, ch], trunc)
            add(m + ["Conv_2"], "bias", [ch], .constant(0))
            add(m + ["LayerScale_0"], "scale", [ch], .constant(c.layerScaleInit))
        }
        let last = c.dims[c.dims.count - 1]
        norm(["LayerNorm_0"], last)
        add(["Head"], "kernel", [last, c.classes], .lecunNormal(fanIn: last))
        add(["Head"], "bias", [c.classes], .constant(0))
        return specs
    }

    /// The parameters in Flax/JAX tree order (keys sorted at every level, as
    /// `jax.tree_util` flattens a params dict and as the golden tables list
    /// them). Parameter, gradient and optimizer trees use this order.
    public func parameterSpecs() -> [ParameterSpec] {
        parameterSpecsInModelOrder().sorted { flaxPathLess($0.path, $1.path) }
    }

    /// The total number of parameters.
    public var parameterCount: Int { parameterSpecsInModelOrder().reduce(0) { $0 + $1.count } }
}

/// Python's `sorted` order of flattened dict paths: component by component,
/// comparing code points (uppercase before `_` before lowercase).
func flaxPathLess(_ a: String, _ b: String) -> Bool {
    let pa = a.split(separator: "/", omittingEmptySubsequences: false)
    let pb = b.split(separator: "/", omittingEmptySubsequences: false)
    for (x, y) in zip(pa, pb) where x != y {
        return Array(x.unicodeScalars.map(\.value)).lexicographicallyPrecedes(y.unicodeScalars.map(\.value))
    }
    return pa.count < pb.count
}

extension ConvNeXt {
    /// Each block's LayerScale vector (`…/LayerScale_0/scale`), stage-major,
    /// for `show layerscale`. Blocks whose parameter is missing are skipped.
    public func layerScales(_ params: TensorTree) -> [(block: BlockInfo, gamma: Tensor)] {
        blocks.compactMap { b in
            params["\(Self.backbone)/\(b.name)/LayerScale_0/scale"].map { (b, $0) }
        }
    }
}
