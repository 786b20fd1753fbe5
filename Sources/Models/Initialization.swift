import Tensors
import JaxRandom
import OrderedCollections

extension ConvNeXt {
    /// Initial parameters exactly as Flax's `model.init` makes them from the
    /// `params` stream key.
    ///
    /// Each parameter's key is `FlaxRNG.moduleKey(paramsKey, path: modulePath,
    /// counter: rngCounter)` (one fold_in of the SHA-1 of the module path and
    /// the module's call count; `golden/README.md`, "How Flax linen derives
    /// per-module rngs"). Values:
    /// * truncated normal: `truncated_normal(key, -2, 2) * float32(stddev)`;
    /// * lecun normal: `truncated_normal(key, -2, 2) * (sqrt(float32(1/fan_in)) / float32(0.8796256610342398))`;
    /// * constants: zeros, ones, `layerScaleInit`.
    /// The tree is in `parameterSpecs()` order.
    public func initialize(paramsKey: PRNGKey) -> TensorTree {
        let specs = parameterSpecs()
        var values = [Tensor?](repeating: nil, count: specs.count)
        values.withUnsafeMutableBufferPointer { buf in
            let out = UncheckedSendable(buf)
            // Parameters are independent: draw them in parallel, one slot each.
            parallelFor(specs.count) { i in
                out.value[i] = Self.initialValue(specs[i], paramsKey: paramsKey)
            }
        }
        var tree = OrderedDictionary<String, Tensor>(minimumCapacity: specs.count)
        for (spec, value) in zip(specs, values) { tree[spec.path] = value! }
        return heldParameters(TensorTree(tree))
    }

    /// One parameter's initial value.
    static func initialValue(_ spec: ParameterSpec, paramsKey: PRNGKey) -> Tensor {
        switch spec.initializer {
        case .constant(let v):
            return Tensor(repeating: v, shape: spec.shape)
        case .truncatedNormal(let stddev):
            let key = FlaxRNG.moduleKey(paramsKey, path: spec.modulePath, counter: spec.rngCounter)
            var z = Random.truncatedNormal(key, count: spec.count, lower: -2, upper: 2)
            for i in z.indices { z[i] *= stddev }
            return Tensor(shape: spec.shape, scalars: z)
        case .lecunNormal(let fanIn):
            // jax.nn.initializers.variance_scaling(1, "fan_in", "truncated_normal"):
            // variance = float32(1 / fan_in); stddev = sqrt(variance) / float32(.87962566103423978).
            let variance = Float(1.0 / Double(fanIn))
            let stddev = variance.squareRoot() / Float(0.87962566103423978)
            let key = FlaxRNG.moduleKey(paramsKey, path: spec.modulePath, counter: spec.rngCounter)
            var z = Random.truncatedNormal(key, count: spec.count, lower: -2, upper: 2)
            for i in z.indices { z[i] *= stddev }
            return Tensor(shape: spec.shape, scalars: z)
        }
    }

    /// Checks a parameter tree against this model: every path present, none
    /// extra, every shape right, every value finite.
    /// - Throws: `ModelError` naming the first offending tensor.
    public func validateParameters(_ params: TensorTree) throws {
        let specs = parameterSpecs()
        for spec in specs {
            guard let t = params[spec.path] else {
                throw ModelError("parameter '\(spec.path)' is missing (expected shape \(spec.shape)); the tree does not fit this model")
            }
            if t.shape != spec.shape {
                throw ModelError("parameter '\(spec.path)' has shape \(t.shape), expected \(spec.shape)")
            }
            if let bad = t.scalars.firstIndex(where: { !$0.isFinite }) {
                throw ModelError("parameter '\(spec.path)' holds a non-finite value (\(t.scalars[bad]) at flat index \(bad))")
            }
        }
        if params.count != specs.count {
            let known = Set(specs.map(\.path))
            let extra = params.paths.first { !known.contains($0) } ?? "?"
            throw ModelError("unexpected parameter '\(extra)': this model has no such path (\(specs.count) expected, \(params.count) given)")
        }
    }
}
