import Foundation
import JaxRandom

/// timm's `RandomErasing(mode="pixel", count=1)` on a normalised HWC image:
/// with probability p, up to 10 attempts at a box of area ~ U(minArea, maxArea)
/// of the image and log aspect ~ U(log minAspect, log maxAspect); the first box
/// that fits strictly inside is filled with per-pixel standard normals.
public enum RandomErasing {
    /// The box the draw erases, or nil (not applied, or no attempt fitted).
    /// Draws: `k = split(key, 2)`; u = uniform(k[0], 41): u[0] decides, attempt t
    /// uses u[1+4t...4+4t] (area, aspect, top, left); the fill is normal(k[1], h*w*3).
    public static func box(width: Int, height: Int, config: AugmentConfig.Erasing, key: PRNGKey) -> RandomResizedCrop.Box? {
        let k = key.split(2)
        let u = Random.uniform(k[0], count: 41).map(Double.init)
        if u[0] >= config.probability { return nil }
        let area = Double(width * height)
        let logLo = log(config.minAspect), logHi = log(config.maxAspect)
        for t in 0..<10 {
            let target = (config.minArea + (config.maxArea - config.minArea) * u[1 + 4 * t]) * area
            let aspect = exp(logLo + (logHi - logLo) * u[2 + 4 * t])
            let h = Int((target * aspect).squareRoot().rounded(.toNearestOrEven))
            let w = Int((target / aspect).squareRoot().rounded(.toNearestOrEven))
            if w < width && h < height && w > 0 && h > 0 {
                // random.randint(0, n) is inclusive of n.
                let top = min(height - h, Int(u[3 + 4 * t] * Double(height - h + 1)))
                let left = min(width - w, Int(u[4 + 4 * t] * Double(width - w + 1)))
                return .init(top: top, left: left, height: h, width: w)
            }
        }
        return nil
    }

    /// Applies the erasing draw to `x` (HWC, `width*height*3` floats).
    @discardableResult
    public static func apply(_ x: UnsafeMutableBufferPointer<Float>, width: Int, height: Int,
                             config: AugmentConfig.Erasing, key: PRNGKey) -> RandomResizedCrop.Box? {
        guard let b = box(width: width, height: height, config: config, key: key) else { return nil }
        let fill = Random.normal(key.split(2)[1], count: b.height * b.width * 3)
        for y in 0..<b.height {
            for xx in 0..<b.width {
                for c in 0..<3 {
                    x[((b.top + y) * width + b.left + xx) * 3 + c] = fill[(y * b.width + xx) * 3 + c]
                }
            }
        }
        return b
    }
}
