import Tensors
import JaxRandom

/// A ConvNeXt (v1) classifier with the recipe's Flax module tree.
///
/// The model holds its configuration and the parameter layout; parameters
/// are a `TensorTree` keyed by Flax paths (`parameterSpecs()`), passed to
/// `forward`/`backward`, which read them through the typed view
/// `ConvNeXtParams` (`params(_:)`).
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
    /// Every parameter's spec by layer (`params(_:)` reads a tree through it).
    public let layout: ConvNeXtLayout
    /// `layout.leaves`: the specs in model order.
    let layoutLeaves: [ParameterSpec]
    /// Indices into `layoutLeaves` in Flax tree order (sorted once here, not per step).
    let treeOrder: [Int]

    /// A model for a validated configuration.
    /// - Throws: `ModelError` when the configuration is invalid.
    public init(config: ConvNeXtConfig) throws {
        try config.validate()
        self.config = config
        layout = Self.parameterLayout(config)
        layoutLeaves = layout.leaves
        let leaves = layoutLeaves
        treeOrder = leaves.indices.sorted { flaxPathLess(leaves[$0].path, leaves[$1].path) }
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

    /// Flax module names inside the backbone, a block and the head.
    public enum Module {
        /// The backbone's stem conv.
        public static let stem = "Stem_Conv"
        /// A block's layers, in order.
        public static let depthwise = "DepthWise_Conv_0", blockNorm = "LayerNorm_0", fc1 = "Conv_1", fc2 = "Conv_2",
                           layerScale = "LayerScale_0", stochasticDepth = "StochasticDepth_0"
        /// The head's (top-level) layers.
        public static let headNorm = "LayerNorm_0", dropout = "Dropout_0", head = "Head"
    }

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

    /// The index in `blocks` of block `index` of stage `stage`.
    func blockIndex(stage: Int, index: Int) -> Int { config.depths[..<stage].reduce(0, +) + index }

    // MARK: - Parameters

    /// Every parameter's spec by layer: the one place Flax paths are spelled.
    ///
    /// Module names (`Self.Module`) join into paths here; forward, backward,
    /// timm naming, inspection and sessions reach parameters through this
    /// layout or the spec lists below.
    static func parameterLayout(_ c: ConvNeXtConfig) -> ConvNeXtLayout {
        let trunc = ParameterInit.truncatedNormal(stddev: 0.02)
        func spec(_ module: [String], _ name: String, _ shape: [Int], _ initializer: ParameterInit) -> ParameterSpec {
            let path = (module + [name]).joined(separator: "/")
            return ParameterSpec(path: path, shape: shape, initializer: initializer, modulePath: module,
                                 rngCounter: name == "bias" ? 2 : 1)
        }
        func linear(_ module: [String], _ shape: [Int], _ kernelInit: ParameterInit) -> LinearLayer<ParameterSpec> {
            LinearLayer(kernel: spec(module, "kernel", shape, kernelInit), bias: spec(module, "bias", [shape.last!], .constant(0)))
        }
        func norm(_ module: [String], _ ch: Int) -> NormLayer<ParameterSpec> {
            NormLayer(scale: spec(module, "scale", [ch], .constant(1)), bias: spec(module, "bias", [ch], .constant(0)))
        }
        let bb = Self.backbone
        let k = c.kernelSize
        var stages: [StageLayers<ParameterSpec>] = []
        for (s, depth) in c.depths.enumerated() {
            var downsample: DownsampleLayers<ParameterSpec>? = nil
            if s > 0 {
                downsample = DownsampleLayers(norm: norm([bb, Self.stageNormName(stage: s)], c.dims[s - 1]),
                                              conv: linear([bb, Self.downsampleName(stage: s)], [2, 2, c.dims[s - 1], c.dims[s]], trunc))
            }
            let ch = c.dims[s]
            let blocks = (0..<depth).map { j -> BlockLayers<ParameterSpec> in
                let m = [bb, Self.blockName(stage: s, index: j)]
                return BlockLayers(dw: linear(m + [Module.depthwise], [k, k, 1, ch], trunc),
                                   norm: norm(m + [Module.blockNorm], ch),
                                   fc1: linear(m + [Module.fc1], [ch, 4 * ch], trunc),
                                   fc2: linear(m + [Module.fc2], [4 * ch, ch], trunc),
                                   gamma: spec(m + [Module.layerScale], "scale", [ch], .constant(c.layerScaleInit)))
            }
            stages.append(StageLayers(downsample: downsample, blocks: blocks))
        }
        let last = c.dims[c.dims.count - 1]
        return ConvNeXtLayout(stem: linear([bb, Module.stem], [4, 4, 3, c.dims[0]], trunc),
                              stemNorm: norm([bb, Self.stageNormName(stage: 0)], c.dims[0]),
                              stages: stages,
                              norm: norm([Module.headNorm], last),
                              head: linear([Module.head], [last, c.classes], .lecunNormal(fanIn: last)))
    }

    /// The parameters in model (definition) order: stem, stem norm, then per
    /// stage the norm and downsample and each block, then the head norm and
    /// the head.
    public func parameterSpecsInModelOrder() -> [ParameterSpec] { layoutLeaves }

    /// The parameters in Flax/JAX tree order (keys sorted at every level, as
    /// `jax.tree_util` flattens a params dict and as the golden tables list
    /// them). Parameter, gradient and optimizer trees use this order.
    public func parameterSpecs() -> [ParameterSpec] { treeOrder.map { layoutLeaves[$0] } }

    /// The total number of parameters.
    public var parameterCount: Int { layoutLeaves.reduce(0) { $0 + $1.count } }
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
    /// Each block's LayerScale vector, stage-major, for `show layerscale`.
    /// - Precondition: `params` fits this model.
    public func layerScales(_ params: TensorTree) -> [(block: BlockInfo, gamma: Tensor)] {
        let view = self.params(params)
        return blocks.map { b in (b, view.stages[b.stage].blocks[b.index].gamma) }
    }
}
