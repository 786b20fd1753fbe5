import Tensors

/// An optax-style gradient transformation: a pair of pure functions over
/// parameter trees. `initialize` builds the state; `update` maps gradients
/// (or the previous transformation's updates) to updates and a new state.
///
/// `apply` is `update` followed by `applyUpdates`, fused where XLA fuses it:
/// in the seed's jitted train step the last `-lr * u` and the `p + ...` are
/// one fused multiply-add, so a `scaleByLearningRate` at the end of a chain
/// computes `p = fma(-lr, u, p)` directly (bit-for-bit the JAX result).
public protocol GradientTransformation: Sendable, CustomStringConvertible {
    /// The state for parameters shaped like `params`.
    func initialize(_ params: TensorTree) -> OptimizerState
    /// The updates for `grads`, and the next state. `params` are the current parameters.
    func update(_ grads: TensorTree, state: OptimizerState, params: TensorTree) throws -> (updates: TensorTree, state: OptimizerState)
    /// The new parameters after one step, and the next state.
    func apply(_ grads: TensorTree, state: OptimizerState, params: TensorTree) throws -> (params: TensorTree, state: OptimizerState)
    /// The paths of the parameters held in bfloat16, which this
    /// transformation computes on with bf16 operations as optax does
    /// (`BF16Leaves.swift`); empty by default.
    var bf16Leaves: Set<String> { get }
}

extension GradientTransformation {
    public func apply(_ grads: TensorTree, state: OptimizerState, params: TensorTree) throws -> (params: TensorTree, state: OptimizerState) {
        let (updates, next) = try update(grads, state: state, params: params)
        return (try applyUpdates(params, updates, bf16Leaves: bf16Leaves), next)
    }

    public var bf16Leaves: Set<String> { [] }
}

/// `optax.apply_updates`: `p + u` for every leaf; `r(p + u)` (a bf16 add) for
/// the leaves at `bf16Leaves`.
public func applyUpdates(_ params: TensorTree, _ updates: TensorTree, bf16Leaves: Set<String> = []) throws -> TensorTree {
    try checkSameLeaves(updates, params, "updates", "parameters")
    return params.map { path, p in
        let u = updates[path]!
        if bf16Leaves.contains(path) { return zipMap(p, u) { a, b in roundToBF16(roundToBF16(a) + roundToBF16(b)) } }
        return zipMap(p, u) { a, b in a + b }
    }
}

/// `optax.chain`: the transformations one after another; the state is one
/// state per transformation.
public struct Chain: GradientTransformation {
    public var transformations: [any GradientTransformation]

    public init(_ transformations: [any GradientTransformation]) { self.transformations = transformations }

    public func initialize(_ params: TensorTree) -> OptimizerState {
        .chain(transformations.map { $0.initialize(params) })
    }

    private func states(_ state: OptimizerState) throws -> [OptimizerState] {
        guard case .chain(let states) = state, states.count == transformations.count else {
            throw OptimizerError("optimizer state does not match the chain \(self): re-create the state with initialize")
        }
        return states
    }

    public func update(_ grads: TensorTree, state: OptimizerState, params: TensorTree) throws -> (updates: TensorTree, state: OptimizerState) {
        var states = try states(state)
        var u = grads
        for (i, t) in transformations.enumerated() {
            (u, states[i]) = try t.update(u, state: states[i], params: params)
        }
        return (u, .chain(states))
    }

    public var bf16Leaves: Set<String> { transformations.reduce(into: []) { $0.formUnion($1.bf16Leaves) } }

    public func apply(_ grads: TensorTree, state: OptimizerState, params: TensorTree) throws -> (params: TensorTree, state: OptimizerState) {
        var states = try states(state)
        guard !transformations.isEmpty else { return (try applyUpdates(params, grads), state) }
        var u = grads
        for i in 0..<(transformations.count - 1) {
            (u, states[i]) = try transformations[i].update(u, state: states[i], params: params)
        }
        let last = transformations.count - 1
        let (p, s) = try transformations[last].apply(u, state: states[last], params: params)
        states[last] = s
        return (p, .chain(states))
    }

    public var description: String { "chain(" + transformations.map(\.description).joined(separator: ", ") + ")" }
}

/// `chain(a, b, ...)`.
public func chain(_ transformations: any GradientTransformation...) -> Chain { Chain(transformations) }

// MARK: - Leaf helpers

/// Throws unless `a` and `b` have the same paths with the same shapes.
func checkSameLeaves(_ a: TensorTree, _ b: TensorTree, _ aName: String, _ bName: String) throws {
    guard a.count == b.count else {
        let missing = b.paths.first { a[$0] == nil } ?? a.paths.first { b[$0] == nil } ?? "?"
        throw OptimizerError("\(aName) have \(a.count) tensors but \(bName) have \(b.count) (first difference: '\(missing)')")
    }
    for (path, t) in a {
        guard let u = b[path] else { throw OptimizerError("\(aName) have '\(path)' but \(bName) do not") }
        guard u.shape == t.shape else {
            throw OptimizerError("'\(path)': \(aName) have shape \(t.shape) but \(bName) have \(u.shape)")
        }
    }
}

/// `f(a[i], b[i])` for every element, in one pass over raw buffers.
@inline(__always)
func zipMap(_ a: Tensor, _ b: Tensor, _ f: (Float, Float) -> Float) -> Tensor {
    let n = a.count
    let out = [Float](unsafeUninitializedCapacity: n) { dst, count in
        a.scalars.withUnsafeBufferPointer { pa in
            b.scalars.withUnsafeBufferPointer { pb in
                for i in 0..<n { dst[i] = f(pa[i], pb[i]) }
            }
        }
        count = n
    }
    return Tensor(shape: a.shape, scalars: out)
}

/// `f(a[i])` for every element, in one pass over a raw buffer.
@inline(__always)
func mapScalars(_ a: Tensor, _ f: (Float) -> Float) -> Tensor {
    let n = a.count
    let out = [Float](unsafeUninitializedCapacity: n) { dst, count in
        a.scalars.withUnsafeBufferPointer { pa in
            for i in 0..<n { dst[i] = f(pa[i]) }
        }
        count = n
    }
    return Tensor(shape: a.shape, scalars: out)
}

/// XLA's float32 `pow(x, y)` as observed: the float64 power of the float32
/// inputs, rounded once (matches XLA:CPU in 99.9% of Adam's `b^t`, t <= 3000;
/// `powf` matches in 79%).
@inline(__always)
func xlaPow(_ x: Float, _ y: Float) -> Float {
    Float(libmPow(Double(x), Double(y)))
}

/// Saturating int32 increment (`optax.safe_increment`).
@inline(__always)
func safeIncrement(_ c: Int32) -> Int32 { c == Int32.max ? c : c + 1 }
