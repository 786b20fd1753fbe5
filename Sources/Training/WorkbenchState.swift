import JaxRandom
import Models
import Tensors

/// Everything a live session holds: the key tree, the model, its parameters,
/// the optimizer and its state, the data, the counters and the metric history.
///
/// A value: copying it is a snapshot, free until written (tensors are
/// copy-on-write). The shell keeps the live one on its compute queue and
/// publishes copies for inspection; sessions save and load it whole.
public struct WorkbenchState: Sendable {
    /// The session's named PRNG keys (`rng …`).
    public var keys = KeyTree(seed: 42)
    /// The model's configuration (`model build`).
    public var modelConfig: ConvNeXtConfig?
    /// The model's parameters by Flax path (`model init`, `params import`).
    public var params: TensorTree?

    public init() {}

    /// The built model, or an error saying how to build one.
    public func requireModel() throws -> ConvNeXt {
        guard let config = modelConfig else {
            throw WorkbenchError("no model yet: build one with `model build tiny` (or `model build convnext --depths 1,1,2,1 --dims 16,32,48,64`)")
        }
        return try ConvNeXt(config: config)
    }

    /// The model and its parameters, or an error saying what is missing.
    public func requireParameters() throws -> (model: ConvNeXt, params: TensorTree) {
        let model = try requireModel()
        guard let params else {
            throw WorkbenchError("the model has no parameters yet: run `model init` (or `params import FILE`)")
        }
        return (model, params)
    }
}

/// A workbench-level problem, in one line with what to do.
public struct WorkbenchError: Error, Sendable, Equatable, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}
