#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// Elementwise arithmetic, reductions, comparisons, batch slicing and a compact
// description. These serve the optimizer, the model glue and the tests; the
// layer kernels live in one file per layer.

/// Applies `op` elementwise to two tensors of the same shape.
@inline(__always)
private func zipMap(_ a: Tensor, _ b: Tensor, _ name: String,
                    _ op: (Float, Float) -> Float) -> Tensor {
    precondition(a.shape == b.shape, "\(name): shapes \(a.shape) and \(b.shape) differ")
    let n = a.count
    return a.withPointer { pa in
        b.withPointer { pb in
            Tensor.build(a.shape) { out in
                parallelChunks(n, minChunk: 1 << 15) { r in
                    for i in r { out[i] = op(pa[i], pb[i]) }
                }
            }
        }
    }
}

/// `a + b` elementwise (same shapes). Also the residual add's forward; its
/// backward passes `dy` unchanged to both inputs.
public func add(_ a: Tensor, _ b: Tensor) -> Tensor { zipMap(a, b, "add") { $0 + $1 } }

/// `a - b` elementwise (same shapes).
public func sub(_ a: Tensor, _ b: Tensor) -> Tensor { zipMap(a, b, "sub") { $0 - $1 } }

/// `a * b` elementwise (same shapes).
public func mul(_ a: Tensor, _ b: Tensor) -> Tensor { zipMap(a, b, "mul") { $0 * $1 } }

/// `a * s` elementwise.
public func scale(_ a: Tensor, _ s: Float) -> Tensor {
    let n = a.count
    return a.withPointer { pa in
        Tensor.build(a.shape) { out in
            parallelChunks(n, minChunk: 1 << 15) { r in
                for i in r { out[i] = pa[i] * s }
            }
        }
    }
}

/// The largest `|a - b|` over all elements (0 for empty tensors).
public func maxAbsDiff(_ a: Tensor, _ b: Tensor) -> Float {
    precondition(a.shape == b.shape, "maxAbsDiff: shapes \(a.shape) and \(b.shape) differ")
    var m: Float = 0
    for i in 0..<a.count {
        let d = abs(a.scalars[i] - b.scalars[i])
        if d.isNaN { return .nan }
        m = max(m, d)
    }
    return m
}

/// True when shapes match and `|a - b| <= atol + rtol * |b|` everywhere
/// (numpy's `allclose`, with `b` the reference). NaNs are never close.
public func allClose(_ a: Tensor, _ b: Tensor, rtol: Float = 1e-5, atol: Float = 1e-6) -> Bool {
    guard a.shape == b.shape else { return false }
    for i in 0..<a.count {
        let x = a.scalars[i], y = b.scalars[i]
        if !(abs(x - y) <= atol + rtol * abs(y)) { return false }
    }
    return true
}

extension Tensor {
    /// The sum of all elements, accumulated in Double.
    public func sum() -> Double {
        var s = 0.0
        for v in scalars { s += Double(v) }
        return s
    }

    /// The mean of all elements, accumulated in Double (0 for an empty tensor).
    public func mean() -> Double { count == 0 ? 0 : sum() / Double(count) }

    /// The samples `range` of the leading (batch) axis.
    public func slice(batch range: Range<Int>) -> Tensor {
        precondition(rank >= 1, "slice(batch:) needs a tensor of rank >= 1")
        precondition(range.lowerBound >= 0 && range.upperBound <= shape[0],
                     "batch range \(range) out of bounds for shape \(shape)")
        let per = shape[0] == 0 ? 0 : count / shape[0]
        var newShape = shape
        newShape[0] = range.count
        return Tensor(shape: newShape,
                      scalars: Array(scalars[(range.lowerBound * per)..<(range.upperBound * per)]))
    }

    /// Concatenates tensors along the leading (batch) axis; the other axes must match.
    public static func concatenate(batch parts: [Tensor]) -> Tensor {
        precondition(!parts.isEmpty, "concatenate(batch:) needs at least one tensor")
        let tail = Array(parts[0].shape.dropFirst())
        var scalars: [Float] = []
        scalars.reserveCapacity(parts.reduce(0) { $0 + $1.count })
        var b = 0
        for p in parts {
            precondition(Array(p.shape.dropFirst()) == tail,
                         "concatenate(batch:): shape \(p.shape) does not match \(parts[0].shape)")
            scalars += p.scalars
            b += p.shape[0]
        }
        return Tensor(shape: [b] + tail, scalars: scalars)
    }

    /// Summary statistics (Double): mean, population std, min, max.
    public var statistics: (mean: Double, std: Double, min: Float, max: Float) {
        if count == 0 { return (0, 0, .nan, .nan) }
        let m = mean()
        var v = 0.0
        var lo = Float.infinity, hi = -Float.infinity
        for x in scalars {
            v += (Double(x) - m) * (Double(x) - m)
            lo = Swift.min(lo, x); hi = Swift.max(hi, x)
        }
        return (m, (v / Double(count)).squareRoot(), lo, hi)
    }
}

extension Tensor: CustomStringConvertible {
    /// One line: shape, dtype, mean/std/min/max and the first values, e.g.
    /// `Tensor[2, 3] f32 mean=0.5 std=0.29 min=0 max=1 [0, 0.2, 0.4, ...]`.
    public var description: String {
        let s = statistics
        let first = scalars.prefix(6).map { "\($0)" }.joined(separator: ", ")
        let more = count > 6 ? ", ..." : ""
        let shapeText = shape.map(String.init).joined(separator: ", ")
        return "Tensor[\(shapeText)] f32 mean=\(Float(s.mean)) std=\(Float(s.std)) "
            + "min=\(s.min) max=\(s.max) [\(first)\(more)]"
    }
}
