import Foundation
import JaxRandom

/// torchvision's `RandomResizedCrop.get_params` with draws from a key:
/// up to 10 attempts of (area fraction ~ U(scale), log aspect ~ U(log ratio)),
/// then the centre-crop fallback. One `uniform(key, 40)` draw holds all
/// attempts: attempt t uses u[4t] (area), u[4t+1] (aspect), u[4t+2] (top), u[4t+3] (left).
public enum RandomResizedCrop {
    /// A crop rectangle in pixels.
    public struct Box: Equatable, Sendable {
        public var top: Int, left: Int, height: Int, width: Int
    }

    /// The crop box for an image of `width` x `height`.
    public static func box(width: Int, height: Int, config: AugmentConfig.Crop, key: PRNGKey) -> Box {
        let u = Random.uniform(key, count: 40).map(Double.init)
        let area = Double(width * height)
        let logLo = log(config.ratioMin), logHi = log(config.ratioMax)
        for t in 0..<10 {
            let targetArea = area * (config.scaleMin + (config.scaleMax - config.scaleMin) * u[4 * t])
            let aspect = exp(logLo + (logHi - logLo) * u[4 * t + 1])
            let w = Int((targetArea * aspect).squareRoot().rounded(.toNearestOrEven))
            let h = Int((targetArea / aspect).squareRoot().rounded(.toNearestOrEven))
            if w > 0 && w <= width && h > 0 && h <= height {
                // torch.randint(0, n + 1): uniform integer in 0...n.
                let top = min(height - h, Int(u[4 * t + 2] * Double(height - h + 1)))
                let left = min(width - w, Int(u[4 * t + 3] * Double(width - w + 1)))
                return Box(top: top, left: left, height: h, width: w)
            }
        }
        // Fallback: the whole image clipped to the ratio range, centred.
        let inRatio = Double(width) / Double(height)
        var w = width, h = height
        if inRatio < config.ratioMin {
            h = Int((Double(w) / config.ratioMin).rounded(.toNearestOrEven))
        } else if inRatio > config.ratioMax {
            w = Int((Double(h) * config.ratioMax).rounded(.toNearestOrEven))
        }
        return Box(top: (height - h) / 2, left: (width - w) / 2, height: h, width: w)
    }

    /// Crops with `box(...)` and resizes to `size` x `size` with PIL bicubic.
    public static func apply(_ image: RGBImage, size: Int, config: AugmentConfig.Crop, key: PRNGKey) -> RGBImage {
        let b = box(width: image.width, height: image.height, config: config, key: key)
        let crop = image.cropped(left: b.left, top: b.top, width: b.width, height: b.height)
        return Resample.bicubic(crop, width: size, height: size)
    }
}

/// The eval transform: resize the shorter side to `Int(size / cropFraction)`
/// (torchvision `Resize(int)` keeps the aspect, long side truncated), then a
/// centre crop of `size` (torchvision rounds the offsets).
public enum CenterCrop {
    public static func apply(_ image: RGBImage, size: Int, cropFraction: Double) -> RGBImage {
        let short = Int(floor(Double(size) / cropFraction))
        var w = short, h = short
        if image.width <= image.height {
            h = Int(Double(short) * Double(image.height) / Double(image.width))
        } else {
            w = Int(Double(short) * Double(image.width) / Double(image.height))
        }
        let resized = Resample.bicubic(image, width: w, height: h)
        let th = min(size, resized.height), tw = min(size, resized.width)
        let top = Int((Double(resized.height - th) / 2).rounded(.toNearestOrEven))
        let left = Int((Double(resized.width - tw) / 2).rounded(.toNearestOrEven))
        let crop = resized.cropped(left: left, top: top, width: tw, height: th)
        return Resample.bicubic(crop, width: size, height: size)
    }
}

/// `ToTensor` + `Normalize(mean, std)`: x = (v / 255 - mean) / std, HWC float32.
public enum Normalize {
    public static func apply(_ image: RGBImage, mean: [Float], std: [Float], into out: UnsafeMutableBufferPointer<Float>) {
        precondition(out.count == image.pixels.count)
        let inv255: Float = 1 / 255
        let invStd = std.map { 1 / $0 }
        for i in 0..<(image.width * image.height) {
            for c in 0..<3 {
                out[3 * i + c] = (Float(image.pixels[3 * i + c]) * inv255 - mean[c]) * invStd[c]
            }
        }
    }
}
