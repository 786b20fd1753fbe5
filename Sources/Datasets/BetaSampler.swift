import Foundation
import JaxRandom

/// Beta(a, b) draws from a key, as X / (X + Y) with X ~ Gamma(a), Y ~ Gamma(b)
/// (Marsaglia & Tsang 2000; for a < 1, Gamma(a) = Gamma(a + 1) * U^(1/a)).
/// Rejection attempts use fold_in(key, attempt), so a draw depends only on its key.
public enum BetaSampler {
    /// One Beta(a, b) value in (0, 1); a, b > 0.
    public static func beta(_ a: Double, _ b: Double, key: PRNGKey) -> Double {
        let k = key.split(2)
        let x = gamma(a, key: k[0]), y = gamma(b, key: k[1])
        if x + y == 0 { return 0.5 }
        return x / (x + y)
    }

    /// One Gamma(shape, 1) value.
    public static func gamma(_ shape: Double, key: PRNGKey) -> Double {
        precondition(shape > 0, "gamma shape must be > 0")
        if shape < 1 {
            let k = key.split(2)
            let u = Double(Random.uniform(k[1], count: 1)[0])
            return gamma(shape + 1, key: k[0]) * pow(max(u, 1e-12), 1 / shape)
        }
        let d = shape - 1.0 / 3.0, c = 1 / (9 * d).squareRoot()
        for attempt in 0..<1000 {
            let ka = key.foldIn(UInt32(attempt)).split(2)
            let z = Double(Random.normal(ka[0], count: 1)[0])
            let u = Double(Random.uniform(ka[1], count: 1)[0])
            let v0 = 1 + c * z
            if v0 <= 0 { continue }
            let v = v0 * v0 * v0
            if log(max(u, 1e-300)) < 0.5 * z * z + d - d * v + d * log(v) { return d * v }
        }
        return d   // unreachable in practice (acceptance rate > 95%)
    }
}
