// Global average pooling over H and W: [B, H, W, C] -> [B, C].
// mean = sum * float32(1 / (H*W)) (XLA multiplies by the reciprocal).
// Backward: dx[b, h, w, c] = dy[b, c] * float32(1 / (H*W)).

/// Global average pool forward: `[B, H, W, C]` -> `[B, C]`.
public func globalAvgPoolForward(_ x: Tensor) -> Tensor {
    precondition(x.rank == 4, "globalAvgPoolForward: x must be NHWC, got \(x.shape)")
    let (b, hw, c) = (x.shape[0], x.shape[1] * x.shape[2], x.shape[3])
    let inv = 1 / Float(hw)
    return x.withPointer { px in
        Tensor.build([b, c], zeroed: true) { py in
            parallelFor(b) { n in
                let o = py + n &* c
                for s in 0..<hw {
                    let r = px + (n &* hw &+ s) &* c
                    for i in 0..<c { o[i] += r[i] }
                }
                for i in 0..<c { o[i] *= inv }
            }
        }
    }
}

/// Global average pool backward: spreads `dy [B, C]` evenly over `inputShape [B, H, W, C]`.
public func globalAvgPoolBackward(_ dy: Tensor, inputShape: [Int]) -> Tensor {
    precondition(inputShape.count == 4 && dy.shape == [inputShape[0], inputShape[3]],
                 "globalAvgPoolBackward: dy \(dy.shape) does not match input \(inputShape)")
    let (b, hw, c) = (inputShape[0], inputShape[1] * inputShape[2], inputShape[3])
    let inv = 1 / Float(hw)
    return dy.withPointer { pd in
        Tensor.build(inputShape) { px in
            parallelFor(b) { n in
                let d = pd + n &* c
                for s in 0..<hw {
                    let o = px + (n &* hw &+ s) &* c
                    for i in 0..<c { o[i] = d[i] * inv }
                }
            }
        }
    }
}
