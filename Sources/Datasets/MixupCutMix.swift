import Foundation
import JaxRandom
import Tensors

/// Smoothed one-hot labels and timm's batch-mode Mixup/CutMix. A batch is
/// mixed with itself reversed (`x.flip(0)`, `labels[::-1]`), one lambda per batch:
/// with probability `probability` mixing happens; then CutMix with probability
/// `switchProbability` (lambda ~ Beta(cutmixAlpha), box from `rand_bbox`,
/// lambda corrected to the box area), else Mixup (lambda ~ Beta(mixupAlpha)).
/// Labels: `y * lam + y[::-1] * (1 - lam)` in float32 (golden README).
public enum MixupCutMix {
    /// What one batch draw chose.
    public enum Choice: Equatable, Sendable {
        case none
        case mixup(lambda: Float)
        /// `lambda` is the area-corrected weight of the original image.
        case cutmix(lambda: Float, box: RandomResizedCrop.Box)

        public var lambda: Float {
            switch self {
            case .none: 1
            case .mixup(let l): l
            case .cutmix(let l, _): l
            }
        }
    }

    /// One-hot labels with smoothing: off = s/C, on = 1 - s + off (float64, stored float32).
    public static func smoothedOneHot(_ targets: [Int], classes: Int, smoothing: Double) -> [[Float]] {
        let off = smoothing / Double(classes), on = 1 - smoothing + off
        return targets.map { t in
            var row = [Float](repeating: Float(off), count: classes)
            row[t] = Float(on)
            return row
        }
    }

    /// The batch's draw. Keys: `split(key, 4)` = (apply, switch, lambda, box).
    public static func choose(config: AugmentConfig.Mix, height: Int, width: Int, key: PRNGKey) -> Choice {
        guard config.enabled, config.mixupAlpha > 0 || config.cutmixAlpha > 0 else { return .none }
        let k = key.split(4)
        if Double(Random.uniform(k[0], count: 1)[0]) >= config.probability { return .none }
        let useCutmix: Bool
        if config.mixupAlpha > 0 && config.cutmixAlpha > 0 {
            useCutmix = Double(Random.uniform(k[1], count: 1)[0]) < config.switchProbability
        } else {
            useCutmix = config.cutmixAlpha > 0
        }
        if !useCutmix {
            return .mixup(lambda: Float(BetaSampler.beta(config.mixupAlpha, config.mixupAlpha, key: k[2])))
        }
        let lam = BetaSampler.beta(config.cutmixAlpha, config.cutmixAlpha, key: k[2])
        let box = cutmixBox(lambda: lam, height: height, width: width, key: k[3])
        let area = Double(box.height * box.width)
        return .cutmix(lambda: Float(1 - area / Double(height * width)), box: box)
    }

    /// timm `rand_bbox`: cut = int(side * sqrt(1 - lam)); centre ~ randint(0, side);
    /// the box `[c - cut/2, c + cut/2)` clipped to the image.
    public static func cutmixBox(lambda: Double, height: Int, width: Int, key: PRNGKey) -> RandomResizedCrop.Box {
        let ratio = (1 - lambda).squareRoot()
        let cutH = Int(Double(height) * ratio), cutW = Int(Double(width) * ratio)
        let u = Random.uniform(key, count: 2).map(Double.init)
        let cy = min(height - 1, Int(u[0] * Double(height))), cx = min(width - 1, Int(u[1] * Double(width)))
        let yl = max(0, min(height, cy - cutH / 2)), yh = max(0, min(height, cy + cutH / 2))
        let xl = max(0, min(width, cx - cutW / 2)), xh = max(0, min(width, cx + cutW / 2))
        return .init(top: yl, left: xl, height: yh - yl, width: xh - xl)
    }

    /// Mixes a batch in place: `x` is [B, H, W, C] and `labels` [B, classes].
    public static func apply(_ choice: Choice, x: inout Tensor, labels: inout Tensor) {
        let b = x.shape[0], h = x.shape[1], w = x.shape[2], c = x.shape[3]
        let per = h * w * c
        switch choice {
        case .none: return
        case .mixup(let lam):
            let src = x.scalars
            let oneMinus = 1 - lam
            x.scalars.withUnsafeMutableBufferPointer { dst in
                for i in 0..<b {
                    let j = b - 1 - i
                    for e in 0..<per { dst[i * per + e] = src[i * per + e] * lam + src[j * per + e] * oneMinus }
                }
            }
        case .cutmix(_, let box):
            let src = x.scalars
            x.scalars.withUnsafeMutableBufferPointer { dst in
                for i in 0..<b {
                    let j = b - 1 - i
                    for y in box.top..<(box.top + box.height) {
                        for xx in box.left..<(box.left + box.width) {
                            let o = (y * w + xx) * c
                            for ch in 0..<c { dst[i * per + o + ch] = src[j * per + o + ch] }
                        }
                    }
                }
            }
        }
        let lam = choice.lambda, oneMinus = 1 - lam
        let n = labels.shape[1]
        let y = labels.scalars
        labels.scalars.withUnsafeMutableBufferPointer { dst in
            for i in 0..<b {
                let j = b - 1 - i
                for k in 0..<n { dst[i * n + k] = y[i * n + k] * lam + y[j * n + k] * oneMinus }
            }
        }
    }
}
