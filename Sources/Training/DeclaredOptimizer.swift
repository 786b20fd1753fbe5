import Models
import Optimizers

/// The optimizer a session's settings declare for its model, built once:
/// `OptimizerConfig.transformation()` with the decay rule resolved into one
/// flag per parameter path of the model (`ParameterMask.resolved`), so a
/// training step neither rebuilds the chain nor re-reads the rule per leaf.
///
/// `WorkbenchState` makes it whenever the model or the settings change; it is
/// derived, never saved.
public struct DeclaredOptimizer: Sendable {
    /// The settings it was built from.
    public let config: OptimizerConfig
    /// The decay flags over the model's parameters (`.paths` of the decayed ones).
    public let decayMask: ParameterMask
    /// The optax-shaped chain, with `decayMask` as its mask.
    public let transformation: any GradientTransformation

    /// The chain of `config` for parameters at `parameterPaths`; throws what
    /// `config.transformation()` throws for invalid settings.
    public init(config: OptimizerConfig, parameterPaths: some Sequence<String>) throws {
        self.config = config
        decayMask = config.decayMask.resolved(over: parameterPaths)
        transformation = try config.transformation(decayMask: decayMask)
    }
}
