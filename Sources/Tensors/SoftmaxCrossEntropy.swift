#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// Softmax cross-entropy with soft labels, mean over the batch, as
// `mean_b(optax.softmax_cross_entropy(logits, labels))`:
//   logp[b, j] = (x[b, j] - max_b) - log(sum_j exp(x[b, j] - max_b))   (log-sum-exp)
//   loss = sum_b (-sum_j labels[b, j] * logp[b, j]) * float32(1/B)
// Backward: dlogits[b, j] = (p[b, j] * sum_j labels[b, j] - labels[b, j]) * float32(1/B).

/// Softmax cross-entropy forward on `[B, N]` logits and soft labels. Returns
/// the batch-mean loss and the softmax probabilities (for the backward).
public func softmaxCrossEntropyForward(logits: Tensor, labels: Tensor) -> (loss: Float, probabilities: Tensor) {
    precondition(logits.rank == 2 && labels.shape == logits.shape,
                 "softmaxCrossEntropy: logits \(logits.shape) and labels \(labels.shape) must both be [B, N]")
    let (b, n) = (logits.shape[0], logits.shape[1])
    var probs = [Float](repeating: 0, count: b * n)
    var total: Float = 0
    for r in 0..<b {
        let row = r * n
        var m = -Float.infinity
        for j in 0..<n { m = max(m, logits.scalars[row + j]) }
        var s: Float = 0
        for j in 0..<n { s += expf(logits.scalars[row + j] - m) }
        let logS = logf(s)
        var l: Float = 0
        for j in 0..<n {
            let logp = (logits.scalars[row + j] - m) - logS
            probs[row + j] = expf(logp)
            l += labels.scalars[row + j] * logp
        }
        total += -l
    }
    return (b == 0 ? 0 : total * (1 / Float(b)), Tensor(shape: [b, n], scalars: probs))
}

/// Softmax cross-entropy backward: the gradient of the batch-mean loss with
/// respect to the logits.
public func softmaxCrossEntropyBackward(probabilities: Tensor, labels: Tensor) -> Tensor {
    precondition(probabilities.rank == 2 && labels.shape == probabilities.shape,
                 "softmaxCrossEntropyBackward: shapes \(probabilities.shape) and \(labels.shape) differ")
    let (b, n) = (probabilities.shape[0], probabilities.shape[1])
    let inv = 1 / Float(max(b, 1))
    var d = [Float](repeating: 0, count: b * n)
    for r in 0..<b {
        var ls: Float = 0
        for j in 0..<n { ls += labels.scalars[r * n + j] }
        for j in 0..<n {
            d[r * n + j] = (probabilities.scalars[r * n + j] * ls - labels.scalars[r * n + j]) * inv
        }
    }
    return Tensor(shape: [b, n], scalars: d)
}

/// The number of rows whose target class is among the `k` largest logits
/// (a target counts when fewer than `k` logits are strictly greater). A row
/// with a non-finite logit never counts: NaN compares false with everything.
public func topKCorrect(logits: Tensor, targets: [Int], k: Int) -> Int {
    precondition(logits.rank == 2 && targets.count == logits.shape[0],
                 "topKCorrect: \(targets.count) targets for logits \(logits.shape)")
    let n = logits.shape[1]
    var correct = 0
    for (r, t) in targets.enumerated() {
        precondition(t >= 0 && t < n, "topKCorrect: target \(t) out of range 0..<\(n)")
        let v = logits.scalars[r * n + t]
        var greater = 0, finite = true
        for j in 0..<n {
            let x = logits.scalars[r * n + j]
            if x > v { greater += 1 }
            if !x.isFinite { finite = false }
        }
        if finite && greater < k { correct += 1 }
    }
    return correct
}
