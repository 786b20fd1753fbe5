import JaxRandom

/// Everything a live session holds: the key tree, the model, its parameters,
/// the optimizer and its state, the data, the counters and the metric history.
///
/// A value: copying it is a snapshot, free until written (tensors are
/// copy-on-write). The shell keeps the live one on its compute queue and
/// publishes copies for inspection; sessions save and load it whole.
public struct WorkbenchState: Sendable {
    /// The session's named PRNG keys (`rng …`).
    public var keys = KeyTree(seed: 42)

    public init() {}
}
