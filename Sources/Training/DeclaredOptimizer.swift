import Models
import Optimizers

/// The optimizer a session's settings declare for its model, built once:
/// `OptimizerConfig.transformation()` with the decay rule resolved into one
/// flag per parameter path of the model (`ParameterMask.resolved`), so a
/// training step neither rebuilds the chain nor re-reads the rule per leaf,
/// and with the paths of the parameters the model holds in bfloat16 (a bf16
/// model's γ), which the chain and the EMA compute on as optax does on a
/// bf16 leaf (docs/bf16.md). A set of paths, as optax decides per leaf by
/// its dtype and cnx's tensors are all `Float`.
///
/// `WorkbenchState` makes it whenever the model or the settings change; it is
/// derived, never saved.
public struct DeclaredOptimizer: Sendable {
    /// The settings it was built from.
    public let config: OptimizerConfig
    /// The decay flags over the model's parameters (`.paths` of the decayed ones).
    public let decayMask: ParameterMask
    /// The parameters held in bfloat16.
    public let bf16Leaves: Set<String>
    /// The optax-shaped chain, with `decayMask` as its mask.
    public let transformation: any GradientTransformation

    /// The chain of `config` for parameters at `parameterPaths`, of which
    /// `bf16Leaves` are held in bfloat16; throws what
    /// `config.transformation()` throws for invalid settings.
    public init(config: OptimizerConfig, parameterPaths: some Sequence<String>, bf16Leaves: Set<String> = []) throws {
        self.config = config
        decayMask = config.decayMask.resolved(over: parameterPaths)
        self.bf16Leaves = bf16Leaves
        transformation = try config.transformation(decayMask: decayMask, bf16Leaves: bf16Leaves)
    }

    /// The model EMA, if configured, over the same bf16 leaves.
    public var ema: EMA? { config.ema(bf16Leaves: bf16Leaves) }

    /// The optimizer declared for `model`'s parameters.
    public init(config: OptimizerConfig, model: ConvNeXt) throws {
        let paths = model.parameterSpecs().map(\.path)
        try self.init(config: config, parameterPaths: paths, bf16Leaves: Set(paths.filter(model.isHeldInBF16)))
    }
}
