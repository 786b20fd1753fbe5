/// A learning-rate (or other hyper-parameter) schedule: a value per
/// optimizer step, computed in float32 exactly as optax's schedule is under
/// `jax.jit` on XLA:CPU.
///
/// Hyper-parameters are `Double`s, as Python floats are in optax: constant
/// sub-expressions (`init - peak`, `1 - alpha`, ...) are formed in float64 and
/// rounded to float32 once, as JAX's weak typing does. XLA then rewrites the
/// float32 program; the bit-level rules reproduced here were read from the
/// optimized HLO of optax 0.2.8 / jax 0.10.2 and checked against it:
///
/// * `count / n` with a constant `n` is `count * float32(1/n)`;
/// * `a*b + c` and `c - a*b` are fused multiply-adds;
/// * in the cosine, `pi * count / n` is `count * float32(float32(pi) * float32(1/n))`,
///   `cos` is the C library's `cosf`, and `(1 - alpha) * 0.5 * (1 + cos) + alpha`
///   is `fma(1 + cos, float32(0.5 * (1 - alpha)), alpha)` when the exponent is 1;
/// * `pow` is float32 `pow` (see `xlaPow`).
public struct Schedule: Sendable, Equatable, Codable, CustomStringConvertible {
    /// The schedule's kind and hyper-parameters.
    public enum Kind: Sendable, Equatable, Codable {
        /// `optax.constant_schedule(value)`.
        case constant(Double)
        /// `optax.linear_schedule(init, end, transitionSteps, transitionBegin)`.
        case linear(initValue: Double, endValue: Double, transitionSteps: Int, transitionBegin: Int)
        /// `optax.cosine_decay_schedule(init, decaySteps, alpha, exponent)`.
        case cosineDecay(initValue: Double, decaySteps: Int, alpha: Double, exponent: Double)
        /// `optax.exponential_decay(init, transitionSteps, decayRate, transitionBegin, staircase, endValue)`.
        case exponentialDecay(initValue: Double, transitionSteps: Int, decayRate: Double,
                              transitionBegin: Int, staircase: Bool, endValue: Double?)
        /// `optax.warmup_cosine_decay_schedule(init, peak, warmupSteps, decaySteps, end, exponent)`.
        case warmupCosineDecay(initValue: Double, peakValue: Double, warmupSteps: Int, decaySteps: Int,
                               endValue: Double, exponent: Double)
        /// `optax.warmup_exponential_decay_schedule(init, peak, warmupSteps, transitionSteps, decayRate,
        /// transitionBegin, staircase, endValue)`.
        case warmupExponentialDecay(initValue: Double, peakValue: Double, warmupSteps: Int, transitionSteps: Int,
                                    decayRate: Double, transitionBegin: Int, staircase: Bool, endValue: Double?)
    }

    public let kind: Kind

    private init(_ kind: Kind) { self.kind = kind }

    /// A constant value.
    public static func constant(_ value: Double) -> Schedule { Schedule(.constant(value)) }

    /// Linear from `initValue` to `endValue` over `transitionSteps` steps starting at `transitionBegin`.
    public static func linear(initValue: Double, endValue: Double, transitionSteps: Int, transitionBegin: Int = 0) -> Schedule {
        Schedule(.linear(initValue: initValue, endValue: endValue, transitionSteps: transitionSteps,
                         transitionBegin: max(0, transitionBegin)))
    }

    /// Cosine decay from `initValue` to `alpha * initValue` over `decaySteps`.
    public static func cosineDecay(initValue: Double, decaySteps: Int, alpha: Double = 0, exponent: Double = 1) throws -> Schedule {
        guard decaySteps > 0 else { throw OptimizerError("cosine decay needs decay steps > 0, got \(decaySteps)") }
        return Schedule(.cosineDecay(initValue: initValue, decaySteps: decaySteps, alpha: alpha, exponent: exponent))
    }

    /// Exponential decay `init * rate^((step - begin) / transitionSteps)`, clipped at `endValue`.
    public static func exponentialDecay(initValue: Double, transitionSteps: Int, decayRate: Double,
                                        transitionBegin: Int = 0, staircase: Bool = false,
                                        endValue: Double? = nil) throws -> Schedule {
        guard transitionSteps > 0 else { throw OptimizerError("exponential decay needs transition steps > 0, got \(transitionSteps)") }
        guard decayRate != 0 else { throw OptimizerError("exponential decay needs a non-zero decay rate") }
        return Schedule(.exponentialDecay(initValue: initValue, transitionSteps: transitionSteps, decayRate: decayRate,
                                          transitionBegin: max(0, transitionBegin), staircase: staircase, endValue: endValue))
    }

    /// Linear warmup from `initValue` to `peakValue` over `warmupSteps`, then
    /// cosine decay to `endValue` at `decaySteps` (counted from step 0).
    public static func warmupCosineDecay(initValue: Double, peakValue: Double, warmupSteps: Int, decaySteps: Int,
                                         endValue: Double = 0, exponent: Double = 1) throws -> Schedule {
        guard decaySteps - warmupSteps > 0 else {
            throw OptimizerError("warmup-cosine decay needs decay steps (\(decaySteps)) > warmup steps (\(warmupSteps))")
        }
        guard warmupSteps >= 0 else { throw OptimizerError("warmup steps must be >= 0, got \(warmupSteps)") }
        return Schedule(.warmupCosineDecay(initValue: initValue, peakValue: peakValue, warmupSteps: warmupSteps,
                                           decaySteps: decaySteps, endValue: endValue, exponent: exponent))
    }

    /// Linear warmup, then exponential decay (optax's `warmup_exponential_decay_schedule`).
    public static func warmupExponentialDecay(initValue: Double, peakValue: Double, warmupSteps: Int,
                                              transitionSteps: Int, decayRate: Double, transitionBegin: Int = 0,
                                              staircase: Bool = false, endValue: Double? = nil) throws -> Schedule {
        guard transitionSteps > 0 else { throw OptimizerError("exponential decay needs transition steps > 0, got \(transitionSteps)") }
        guard decayRate != 0 else { throw OptimizerError("exponential decay needs a non-zero decay rate") }
        guard warmupSteps >= 0 else { throw OptimizerError("warmup steps must be >= 0, got \(warmupSteps)") }
        return Schedule(.warmupExponentialDecay(initValue: initValue, peakValue: peakValue, warmupSteps: warmupSteps,
                                                transitionSteps: transitionSteps, decayRate: decayRate,
                                                transitionBegin: max(0, transitionBegin), staircase: staircase,
                                                endValue: endValue))
    }

    /// The value at optimizer step `count` (optax's int32 count).
    public func callAsFunction(_ count: Int) -> Float {
        let c = Int32(clamping: count)
        switch kind {
        case .constant(let v):
            return Float(v)
        case let .linear(i, e, n, b):
            return Schedule.linear(c, i, e, n, b)
        case let .cosineDecay(i, n, a, x):
            return Schedule.cosine(c, i, n, a, x)
        case let .exponentialDecay(i, n, r, b, s, e):
            return Schedule.exponential(c, i, n, r, b, s, e)
        case let .warmupCosineDecay(i, p, w, d, e, x):
            // join_schedules: where(step < warmup, linear(step), cosine(step - warmup)).
            if c < w { return Schedule.linear(c, i, p, w, 0) }
            let alpha = p == 0 ? 0 : e / p
            return Schedule.cosine(c &- Int32(clamping: w), p, d - w, alpha, x)
        case let .warmupExponentialDecay(i, p, w, n, r, b, s, e):
            if c < w { return Schedule.linear(c, i, p, w, 0) }
            return Schedule.exponential(c &- Int32(clamping: w), p, n, r, b, s, e)
        }
    }

    /// `polynomial_schedule(power=1)`: `(init - end) * (1 - clip(c - b, 0, n) / n) + end`.
    private static func linear(_ c: Int32, _ initValue: Double, _ endValue: Double, _ n: Int, _ b: Int) -> Float {
        if n <= 0 { return Float(initValue) }   // optax: a constant schedule at init_value
        let k = Int32(clamping: n)
        let t = Float(min(max(c &- Int32(clamping: b), 0), k))
        let frac = Float(1).addingProduct(-t, Float(1.0 / Double(n)))         // 1 - t * f32(1/n), fused
        return Float(endValue).addingProduct(frac, Float(initValue - endValue))  // frac * (init-end) + end, fused
    }

    /// `cosine_decay_schedule`: `init * ((1 - a) * (0.5 * (1 + cos(pi * min(c, n) / n)))^x + a)`.
    private static func cosine(_ c: Int32, _ initValue: Double, _ n: Int, _ alpha: Double, _ exponent: Double) -> Float {
        let t = min(Float(c), Float(n))
        // XLA folds f32(pi) * f32(1/n) in float32. (Swift's Float.pi is rounded toward zero; numpy's is nearest.)
        let scale = Float(Double.pi) * Float(1.0 / Double(n))
        let cosv = libmCosf(t * scale)
        if exponent == 1 {
            // (1 + cos) * f32(0.5 * (1 - a)) + a, fused; times init.
            let decayed = Float(alpha).addingProduct(1 + cosv, Float(0.5 * (1 - alpha)))
            return initValue == 1 ? decayed : decayed * Float(initValue)
        }
        let half = Float(0.5) * (1 + cosv)
        let decayed = Float(alpha).addingProduct(xlaPow(half, Float(exponent)), Float(1 - alpha))
        return initValue == 1 ? decayed : decayed * Float(initValue)
    }

    /// `exponential_decay`: `where(c - b <= 0, init, init * rate^p)`, `p = (c - b) / n`
    /// (floored when `staircase`), clipped at `end` (a floor when decaying, a ceiling when growing).
    private static func exponential(_ c: Int32, _ initValue: Double, _ n: Int, _ rate: Double, _ b: Int,
                                    _ staircase: Bool, _ endValue: Double?) -> Float {
        let d = c &- Int32(clamping: b)
        var value: Float
        if d <= 0 {
            value = Float(initValue)
        } else {
            var p = Float(d) * Float(1.0 / Double(n))
            if staircase { p = p.rounded(.down) }
            value = xlaPow(Float(rate), p) * Float(initValue)
        }
        if let endValue {
            value = rate < 1 ? max(value, Float(endValue)) : min(value, Float(endValue))
        }
        return value
    }

    /// The steps where the schedule changes character (end of warmup, end of decay), for plots.
    public var landmarks: [(name: String, step: Int)] {
        switch kind {
        case .constant: return []
        case let .linear(_, _, n, b): return [("start", b), ("end", b + n)]
        case let .cosineDecay(_, n, _, _): return [("end", n)]
        case let .exponentialDecay(_, _, _, b, _, _): return [("decay start", b)]
        case let .warmupCosineDecay(_, _, w, d, _, _): return [("peak", w), ("end", d)]
        case let .warmupExponentialDecay(_, _, w, _, _, b, _, _): return [("peak", w), ("decay start", w + b)]
        }
    }

    public var description: String {
        switch kind {
        case .constant(let v): return "constant(\(v))"
        case let .linear(i, e, n, b): return "linear(init \(i), end \(e), steps \(n), begin \(b))"
        case let .cosineDecay(i, n, a, x): return "cosine_decay(init \(i), decay_steps \(n), alpha \(a), exponent \(x))"
        case let .exponentialDecay(i, n, r, b, s, e):
            return "exponential_decay(init \(i), transition_steps \(n), rate \(r), begin \(b), staircase \(s), end \(e.map { "\($0)" } ?? "none"))"
        case let .warmupCosineDecay(i, p, w, d, e, x):
            return "warmup_cosine_decay(init \(i), peak \(p), warmup \(w), decay_steps \(d), end \(e), exponent \(x))"
        case let .warmupExponentialDecay(i, p, w, n, r, b, s, e):
            return "warmup_exponential_decay(init \(i), peak \(p), warmup \(w), transition_steps \(n), rate \(r), begin \(b), staircase \(s), end \(e.map { "\($0)" } ?? "none"))"
        }
    }
}
