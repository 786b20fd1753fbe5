import Tensors

/// The state of a gradient transformation: a value tree of counters and
/// tensor trees (optax's `ScaleByAdamState`, `MultiStepsState`, ... as one
/// inspectable, saveable enum).
///
/// `flattened()` names every leaf with a stable path (`adam/count`,
/// `adam/mu/<param path>`, `multisteps/acc/<param path>`, ...) and
/// `restored(from:)` reads such a set back into a state of the same shape, so
/// sessions can store optimizer state in a safetensors file.
public indirect enum OptimizerState: Sendable, Equatable {
    /// A transformation without state (e.g. `addDecayedWeights`).
    case empty
    /// `scaleByAdam`: step count and the first and second moments.
    case adam(count: Int32, mu: TensorTree, nu: TensorTree)
    /// A schedule-driven transformation's step count (`scaleByLearningRate`).
    case count(Int32)
    /// `masked(inner)`: the inner state, over the masked-in parameters only.
    case masked(OptimizerState)
    /// `chain(...)`: one state per transformation, in order.
    case chain([OptimizerState])
    /// `MultiSteps`: mini-step within the current accumulation, number of
    /// inner updates so far, the running mean of gradients, the inner state.
    case multiSteps(miniStep: Int32, gradientStep: Int32, acc: TensorTree, inner: OptimizerState)
    /// An exponential moving average (`ema`, `emaV2`): update count and the
    /// stored (un-debiased) average.
    case ema(count: Int32, ema: TensorTree)

    /// The label a state's leaves are filed under inside a chain.
    var label: String {
        switch self {
        case .empty: return "empty"
        case .adam: return "adam"
        case .count: return "schedule"
        case .masked: return "masked"
        case .chain: return "chain"
        case .multiSteps: return "multisteps"
        case .ema: return "ema"
        }
    }
}

/// One saved leaf of an optimizer state.
public enum OptimizerStateLeaf: Sendable, Equatable {
    case count(Int32)
    case tensor(Tensor)
}

extension OptimizerState {
    /// Every leaf with its stable name, in a fixed order.
    ///
    /// A top-level state's own fields have no prefix (`count`, `mu/<path>`,
    /// `mini_step`, `acc/<path>`, `inner/...`); each element of a chain is
    /// filed under its kind (`adam/`, `schedule/`, `masked/`, `ema/`, ...),
    /// with `_<index>` added when a kind repeats in one chain.
    public func flattened() -> [(name: String, leaf: OptimizerStateLeaf)] {
        var out: [(String, OptimizerStateLeaf)] = []
        flatten(prefix: "", into: &out)
        return out
    }

    private func flatten(prefix: String, into out: inout [(String, OptimizerStateLeaf)]) {
        func tree(_ name: String, _ t: TensorTree) {
            for (path, tensor) in t { out.append((prefix + name + "/" + path, .tensor(tensor))) }
        }
        switch self {
        case .empty: break
        case let .adam(count, mu, nu):
            out.append((prefix + "count", .count(count)))
            tree("mu", mu)
            tree("nu", nu)
        case let .count(c):
            out.append((prefix + "count", .count(c)))
        case let .masked(inner):
            inner.flatten(prefix: prefix, into: &out)
        case let .chain(states):
            for (i, s) in states.enumerated() {
                s.flatten(prefix: prefix + OptimizerState.chainLabel(states, i) + "/", into: &out)
            }
        case let .multiSteps(mini, grad, acc, inner):
            out.append((prefix + "mini_step", .count(mini)))
            out.append((prefix + "gradient_step", .count(grad)))
            tree("acc", acc)
            inner.flatten(prefix: prefix + "inner/", into: &out)
        case let .ema(count, ema):
            out.append((prefix + "count", .count(count)))
            tree("ema", ema)
        }
    }

    static func chainLabel(_ states: [OptimizerState], _ i: Int) -> String {
        let label = states[i].label
        let same = states.indices.filter { states[$0].label == label }
        return same.count == 1 ? label : "\(label)_\(i)"
    }

    /// A state shaped like this one with every leaf taken from `leaves`
    /// (named as `flattened()` names them). Every name must be present, with
    /// the same kind and shape, and no other name may be given.
    public func restored(from leaves: [String: OptimizerStateLeaf]) throws -> OptimizerState {
        var used = Set<String>()
        let s = try restore(prefix: "", leaves, &used)
        if used.count != leaves.count {
            let extra = leaves.keys.filter { !used.contains($0) }.sorted()
            throw OptimizerError("optimizer state has \(extra.count) unexpected entr\(extra.count == 1 ? "y" : "ies"), e.g. '\(extra[0])': it was saved for a different optimizer or model")
        }
        return s
    }

    private func restore(prefix: String, _ leaves: [String: OptimizerStateLeaf], _ used: inout Set<String>) throws -> OptimizerState {
        func count(_ name: String) throws -> Int32 {
            let key = prefix + name
            guard let leaf = leaves[key] else { throw OptimizerError("optimizer state is missing '\(key)'") }
            guard case .count(let c) = leaf else { throw OptimizerError("optimizer state entry '\(key)' should be an integer count") }
            used.insert(key)
            return c
        }
        func tree(_ name: String, like template: TensorTree) throws -> TensorTree {
            try template.map { path, t in
                let key = prefix + name + "/" + path
                guard let leaf = leaves[key] else { throw OptimizerError("optimizer state is missing '\(key)'") }
                guard case .tensor(let v) = leaf else { throw OptimizerError("optimizer state entry '\(key)' should be a tensor") }
                guard v.shape == t.shape else {
                    throw OptimizerError("optimizer state entry '\(key)' has shape \(v.shape), expected \(t.shape)")
                }
                used.insert(key)
                return v
            }
        }
        switch self {
        case .empty: return .empty
        case let .adam(_, mu, nu):
            return .adam(count: try count("count"), mu: try tree("mu", like: mu), nu: try tree("nu", like: nu))
        case .count:
            return .count(try count("count"))
        case let .masked(inner):
            return .masked(try inner.restore(prefix: prefix, leaves, &used))
        case let .chain(states):
            return .chain(try states.indices.map {
                try states[$0].restore(prefix: prefix + OptimizerState.chainLabel(states, $0) + "/", leaves, &used)
            })
        case let .multiSteps(_, _, acc, inner):
            return .multiSteps(miniStep: try count("mini_step"), gradientStep: try count("gradient_step"),
                               acc: try tree("acc", like: acc),
                               inner: try inner.restore(prefix: prefix + "inner/", leaves, &used))
        case let .ema(_, ema):
            return .ema(count: try count("count"), ema: try tree("ema", like: ema))
        }
    }
}

extension OptimizerState {
    /// Every sub-state, depth first (this one first).
    public var allStates: [OptimizerState] {
        switch self {
        case .masked(let inner): return [self] + inner.allStates
        case .chain(let states): return [self] + states.flatMap(\.allStates)
        case let .multiSteps(_, _, _, inner): return [self] + inner.allStates
        default: return [self]
        }
    }

    /// The first Adam state inside (for `show opt`): its count and moments.
    public var adamMoments: (count: Int32, mu: TensorTree, nu: TensorTree)? {
        for s in allStates { if case let .adam(c, mu, nu) = s { return (c, mu, nu) } }
        return nil
    }

    /// The first schedule count inside: the optimizer step the learning rate is taken at next.
    public var scheduleCount: Int32? {
        for s in allStates { if case let .count(c) = s { return c } }
        return nil
    }

    /// The MultiSteps counters, when the state is (or holds) one.
    public var accumulation: (miniStep: Int32, gradientStep: Int32)? {
        for s in allStates { if case let .multiSteps(m, g, _, _) = s { return (m, g) } }
        return nil
    }
}
