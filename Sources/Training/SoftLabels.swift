import Tensors

/// Checks soft labels given from outside (`train batch`, `grad`): each row
/// a probability distribution over the classes.
public enum SoftLabels {
    /// How far a row's sum may be from 1 (float32 smoothing and mixing round).
    public static let tolerance: Float = 1e-3

    /// Throws unless every value is finite and non-negative and every row
    /// of the `[B, classes]` tensor sums to 1 within `tolerance`.
    public static func validate(_ labels: Tensor) throws {
        guard labels.rank == 2, labels.shape[1] > 0 else {
            throw WorkbenchError("labels must be a [batch, classes] tensor, got shape \(labels.shape)")
        }
        let n = labels.shape[1]
        for r in 0..<labels.shape[0] {
            var sum: Double = 0
            for j in 0..<n {
                let v = labels.scalars[r * n + j]
                guard v.isFinite, v >= 0 else {
                    throw WorkbenchError("labels row \(r) holds \(v) at class \(j): labels must be finite and non-negative, each row summing to 1")
                }
                sum += Double(v)
            }
            guard abs(sum - 1) <= Double(tolerance) else {
                throw WorkbenchError("labels row \(r) sums to \(Float(sum)), not 1: each row must be a probability distribution over the classes")
            }
        }
    }
}
