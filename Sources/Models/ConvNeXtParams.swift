import Tensors
import OrderedCollections

// Typed views of the model's parameters (llm.c's `ParameterTensors`): one
// struct per layer, filled once from the spec list. The same shapes hold
// `ParameterSpec`s (the layout, built in `ConvNeXt.parameterLayout`, the one
// place Flax paths are spelled), `Tensor`s (parameters, gradients) or
// anything else a caller maps them to. The tensors are the tree's own
// copy-on-write buffers: a view costs one reference per parameter.

/// A conv or Dense layer's `kernel` and `bias`.
public struct LinearLayer<Leaf> {
    public var kernel: Leaf
    public var bias: Leaf

    public init(kernel: Leaf, bias: Leaf) {
        self.kernel = kernel
        self.bias = bias
    }

    /// The same layer with `transform` applied to each leaf.
    public func map<T>(_ transform: (Leaf) throws -> T) rethrows -> LinearLayer<T> {
        LinearLayer<T>(kernel: try transform(kernel), bias: try transform(bias))
    }

    /// The leaves in model order.
    public var leaves: [Leaf] { [kernel, bias] }
}

/// A LayerNorm's `scale` and `bias`.
public struct NormLayer<Leaf> {
    public var scale: Leaf
    public var bias: Leaf

    public init(scale: Leaf, bias: Leaf) {
        self.scale = scale
        self.bias = bias
    }

    public func map<T>(_ transform: (Leaf) throws -> T) rethrows -> NormLayer<T> {
        NormLayer<T>(scale: try transform(scale), bias: try transform(bias))
    }

    public var leaves: [Leaf] { [scale, bias] }
}

/// One ConvNeXt block: depthwise conv, LayerNorm, the two Dense layers of
/// the MLP and the LayerScale vector.
public struct BlockLayers<Leaf> {
    /// `DepthWise_Conv_0`: kernel [k, k, 1, C], bias [C].
    public var dw: LinearLayer<Leaf>
    /// `LayerNorm_0`: [C], [C].
    public var norm: NormLayer<Leaf>
    /// `Conv_1` (Dense C -> 4C): kernel [C, 4C], bias [4C].
    public var fc1: LinearLayer<Leaf>
    /// `Conv_2` (Dense 4C -> C): kernel [4C, C], bias [C].
    public var fc2: LinearLayer<Leaf>
    /// `LayerScale_0/scale`: [C].
    public var gamma: Leaf

    public init(dw: LinearLayer<Leaf>, norm: NormLayer<Leaf>, fc1: LinearLayer<Leaf>, fc2: LinearLayer<Leaf>, gamma: Leaf) {
        self.dw = dw
        self.norm = norm
        self.fc1 = fc1
        self.fc2 = fc2
        self.gamma = gamma
    }

    public func map<T>(_ transform: (Leaf) throws -> T) rethrows -> BlockLayers<T> {
        BlockLayers<T>(dw: try dw.map(transform), norm: try norm.map(transform), fc1: try fc1.map(transform),
                       fc2: try fc2.map(transform), gamma: try transform(gamma))
    }

    public var leaves: [Leaf] { dw.leaves + norm.leaves + fc1.leaves + fc2.leaves + [gamma] }
}

/// A stage > 0's entry: the backbone LayerNorm, then the 2x2/2 conv.
public struct DownsampleLayers<Leaf> {
    /// `LayerNorm_s` over the previous stage's channels.
    public var norm: NormLayer<Leaf>
    /// `Downsample_Conv_0s`: kernel [2, 2, C_prev, C], bias [C].
    public var conv: LinearLayer<Leaf>

    public init(norm: NormLayer<Leaf>, conv: LinearLayer<Leaf>) {
        self.norm = norm
        self.conv = conv
    }

    public func map<T>(_ transform: (Leaf) throws -> T) rethrows -> DownsampleLayers<T> {
        DownsampleLayers<T>(norm: try norm.map(transform), conv: try conv.map(transform))
    }

    public var leaves: [Leaf] { norm.leaves + conv.leaves }
}

/// One stage: its downsample (nil for stage 0) and its blocks.
public struct StageLayers<Leaf> {
    public var downsample: DownsampleLayers<Leaf>?
    public var blocks: [BlockLayers<Leaf>]

    public init(downsample: DownsampleLayers<Leaf>?, blocks: [BlockLayers<Leaf>]) {
        self.downsample = downsample
        self.blocks = blocks
    }

    public func map<T>(_ transform: (Leaf) throws -> T) rethrows -> StageLayers<T> {
        StageLayers<T>(downsample: try downsample.map { try $0.map(transform) }, blocks: try blocks.map { try $0.map(transform) })
    }

    public var leaves: [Leaf] { (downsample?.leaves ?? []) + blocks.flatMap(\.leaves) }
}

/// The whole network's parameters by layer.
public struct ConvNeXtLayers<Leaf> {
    /// `Stem_Conv` 4x4/4: kernel [4, 4, 3, C0], bias [C0].
    public var stem: LinearLayer<Leaf>
    /// The backbone's `LayerNorm_0` after the stem.
    public var stemNorm: NormLayer<Leaf>
    public var stages: [StageLayers<Leaf>]
    /// The head's `LayerNorm_0` (top level) over the pooled features.
    public var norm: NormLayer<Leaf>
    /// `Head` Dense: kernel [C_last, classes], bias [classes].
    public var head: LinearLayer<Leaf>

    public init(stem: LinearLayer<Leaf>, stemNorm: NormLayer<Leaf>, stages: [StageLayers<Leaf>],
                norm: NormLayer<Leaf>, head: LinearLayer<Leaf>) {
        self.stem = stem
        self.stemNorm = stemNorm
        self.stages = stages
        self.norm = norm
        self.head = head
    }

    public func map<T>(_ transform: (Leaf) throws -> T) rethrows -> ConvNeXtLayers<T> {
        ConvNeXtLayers<T>(stem: try stem.map(transform), stemNorm: try stemNorm.map(transform),
                          stages: try stages.map { try $0.map(transform) },
                          norm: try norm.map(transform), head: try head.map(transform))
    }

    /// Every leaf in model (definition) order: stem, stem norm, per stage the
    /// downsample and each block, the head norm, the head.
    public var leaves: [Leaf] {
        stem.leaves + stemNorm.leaves + stages.flatMap(\.leaves) + norm.leaves + head.leaves
    }
}

extension LinearLayer: Sendable where Leaf: Sendable {}
extension NormLayer: Sendable where Leaf: Sendable {}
extension BlockLayers: Sendable where Leaf: Sendable {}
extension DownsampleLayers: Sendable where Leaf: Sendable {}
extension StageLayers: Sendable where Leaf: Sendable {}
extension ConvNeXtLayers: Sendable where Leaf: Sendable {}
extension LinearLayer: Equatable where Leaf: Equatable {}
extension NormLayer: Equatable where Leaf: Equatable {}
extension BlockLayers: Equatable where Leaf: Equatable {}
extension DownsampleLayers: Equatable where Leaf: Equatable {}
extension StageLayers: Equatable where Leaf: Equatable {}
extension ConvNeXtLayers: Equatable where Leaf: Equatable {}

/// The parameters (or their gradients) by layer.
public typealias ConvNeXtParams = ConvNeXtLayers<Tensor>
/// One block's parameters (or gradients).
public typealias BlockParams = BlockLayers<Tensor>
/// Where each parameter lives: its spec (Flax path, shape, initialiser).
public typealias ConvNeXtLayout = ConvNeXtLayers<ParameterSpec>

extension ConvNeXt {
    /// The typed view of a parameter (or gradient) tree.
    /// - Precondition: `tree` has every path of `parameterSpecs()` (see `validateParameters`).
    public func params(_ tree: TensorTree) -> ConvNeXtParams {
        layout.map { spec in
            guard let t = tree[spec.path] else { preconditionFailure("parameter '\(spec.path)' missing") }
            return t
        }
    }

    /// The tree of a typed view, in `parameterSpecs()` (Flax tree) order.
    public func tree(_ params: ConvNeXtParams) -> TensorTree {
        let leaves = params.leaves
        var out = OrderedDictionary<String, Tensor>(minimumCapacity: leaves.count)
        for i in treeOrder { out[layoutLeaves[i].path] = leaves[i] }
        return TensorTree(out)
    }
}
