import Tensors
import OrderedCollections

// Typed views of the model's parameters (llm.c's `ParameterTensors`): one
// struct per layer, filled once from the spec list. The same shapes hold
// `ParameterSpec`s (the layout, built in `ConvNeXt.parameterLayout`, the one
// place Flax paths are spelled), `Tensor`s (parameters, gradients) or
// anything else a caller maps them to. The tensors are the tree's own
// copy-on-write buffers: a view costs one reference per parameter. Views are
// built in `Models` (memberwise) and read elsewhere.

/// A conv or Dense layer's `kernel` and `bias`.
public struct LinearLayer<Leaf: Sendable>: Sendable {
    public var kernel: Leaf, bias: Leaf
    /// The same layer with `transform` applied to each leaf.
    public func map<T: Sendable>(_ f: (Leaf) throws -> T) rethrows -> LinearLayer<T> { .init(kernel: try f(kernel), bias: try f(bias)) }
    /// The leaves in model order.
    public var leaves: [Leaf] { [kernel, bias] }
}

/// A LayerNorm's `scale` and `bias` (`map` and `leaves` as for `LinearLayer`).
public struct NormLayer<Leaf: Sendable>: Sendable {
    public var scale: Leaf, bias: Leaf
    public func map<T: Sendable>(_ f: (Leaf) throws -> T) rethrows -> NormLayer<T> { .init(scale: try f(scale), bias: try f(bias)) }
    public var leaves: [Leaf] { [scale, bias] }
}

/// One ConvNeXt block: depthwise conv, LayerNorm, the two Dense layers of
/// the MLP and the LayerScale vector.
public struct BlockLayers<Leaf: Sendable>: Sendable {
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

    public func map<T: Sendable>(_ transform: (Leaf) throws -> T) rethrows -> BlockLayers<T> {
        BlockLayers<T>(dw: try dw.map(transform), norm: try norm.map(transform), fc1: try fc1.map(transform),
                       fc2: try fc2.map(transform), gamma: try transform(gamma))
    }

    public var leaves: [Leaf] { dw.leaves + norm.leaves + fc1.leaves + fc2.leaves + [gamma] }
}

/// A stage > 0's entry: the backbone LayerNorm, then the 2x2/2 conv.
public struct DownsampleLayers<Leaf: Sendable>: Sendable {
    /// `LayerNorm_s` over the previous stage's channels.
    public var norm: NormLayer<Leaf>
    /// `Downsample_Conv_0s`: kernel [2, 2, C_prev, C], bias [C].
    public var conv: LinearLayer<Leaf>

    public func map<T: Sendable>(_ transform: (Leaf) throws -> T) rethrows -> DownsampleLayers<T> {
        DownsampleLayers<T>(norm: try norm.map(transform), conv: try conv.map(transform))
    }

    public var leaves: [Leaf] { norm.leaves + conv.leaves }
}

/// One stage: its downsample (nil for stage 0) and its blocks.
public struct StageLayers<Leaf: Sendable>: Sendable {
    public var downsample: DownsampleLayers<Leaf>?
    public var blocks: [BlockLayers<Leaf>]

    public func map<T: Sendable>(_ transform: (Leaf) throws -> T) rethrows -> StageLayers<T> {
        StageLayers<T>(downsample: try downsample.map { try $0.map(transform) }, blocks: try blocks.map { try $0.map(transform) })
    }

    public var leaves: [Leaf] { (downsample?.leaves ?? []) + blocks.flatMap(\.leaves) }
}

/// The whole network's parameters by layer.
public struct ConvNeXtLayers<Leaf: Sendable>: Sendable {
    /// `Stem_Conv` 4x4/4: kernel [4, 4, 3, C0], bias [C0].
    public var stem: LinearLayer<Leaf>
    /// The backbone's `LayerNorm_0` after the stem.
    public var stemNorm: NormLayer<Leaf>
    public var stages: [StageLayers<Leaf>]
    /// The head's `LayerNorm_0` (top level) over the pooled features.
    public var norm: NormLayer<Leaf>
    /// `Head` Dense: kernel [C_last, classes], bias [classes].
    public var head: LinearLayer<Leaf>

    public func map<T: Sendable>(_ transform: (Leaf) throws -> T) rethrows -> ConvNeXtLayers<T> {
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
