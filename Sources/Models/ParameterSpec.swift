/// How a parameter is initialised, as Flax's initialisers do it.
public enum ParameterInit: Sendable, Equatable, Codable {
    /// `truncated_normal(key, -2, 2) * float32(stddev)` (jax.nn.initializers.truncated_normal).
    case truncatedNormal(stddev: Float)
    /// Flax's default Dense kernel init, `lecun_normal`:
    /// `truncated_normal(-2, 2) * (sqrt(float32(1/fanIn)) / float32(0.87962566103423978))`.
    case lecunNormal(fanIn: Int)
    /// Every element equal to `value` (zeros for biases, ones for LayerNorm
    /// scales, `layerScaleInit` for LayerScale).
    case constant(Float)
}

/// One parameter of the model: its Flax path, shape, initialiser and the
/// facts that derive its init key.
public struct ParameterSpec: Sendable, Equatable {
    /// The Flax path joined with `/`, without the leading `params`.
    public var path: String
    /// The shape (HWIO for convs, (in, out) for Dense).
    public var shape: [Int]
    /// The initialiser.
    public var initializer: ParameterInit
    /// The module path Flax hashes for the init key (the path minus the
    /// parameter's name).
    public var modulePath: [String]
    /// The module's `make_rng('params')` call count for this parameter:
    /// 1 for `kernel`/`scale`, 2 for `bias`.
    public var rngCounter: Int

    /// The number of scalars.
    public var count: Int { shape.reduce(1, *) }
    /// The owning module's path joined with `/` (e.g. `ConvNeXtBackbone_0/Stem_Conv`).
    public var module: String { modulePath.joined(separator: "/") }
    /// The parameter's own name (`kernel`, `bias` or `scale`).
    public var name: String { String(path.split(separator: "/").last ?? "") }
}
