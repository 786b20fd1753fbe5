import Foundation
import JaxRandom

/// timm's RandAugment `rand-m9-mstd0.5-inc1` on 8-bit RGB images, with PIL's
/// arithmetic for each op (ImageOps, ImageEnhance, Image.transform with
/// bicubic resampling and fill = ImageNet mean in 8 bits).
///
/// Draws per sample: `k = split(key, 2)`; `u = uniform(k[0], 3 * ops)` gives
/// per layer (op index, apply?, sign); `normal(k[1], ops)` the magnitude noise.
public enum RandAugment {
    /// The increasing-severity op set (timm `_RAND_INCREASING_TRANSFORMS`; Cutout is not in it).
    public enum Op: String, CaseIterable, Sendable {
        case autoContrast = "AutoContrast", equalize = "Equalize", invert = "Invert", rotate = "Rotate"
        case posterize = "PosterizeIncreasing", solarize = "SolarizeIncreasing", solarizeAdd = "SolarizeAdd"
        case color = "ColorIncreasing", contrast = "ContrastIncreasing", brightness = "BrightnessIncreasing"
        case sharpness = "SharpnessIncreasing", shearX = "ShearX", shearY = "ShearY"
        case translateX = "TranslateXRel", translateY = "TranslateYRel"
    }

    /// PIL fill colour for geometric ops: `round(mean * 255)` of ImageNet's mean.
    public static let fill: (UInt8, UInt8, UInt8) = (124, 116, 104)

    /// Applies the configured RandAugment draw to `image`.
    public static func apply(_ image: RGBImage, config: AugmentConfig.RandAugment, key: PRNGKey) -> RGBImage {
        guard config.enabled, config.ops > 0 else { return image }
        let k = key.split(2)
        let u = Random.uniform(k[0], count: 3 * config.ops).map(Double.init)
        let z = Random.normal(k[1], count: config.ops).map(Double.init)
        let ops = Op.allCases
        var img = image
        for l in 0..<config.ops {
            let op = ops[min(ops.count - 1, Int(u[3 * l] * Double(ops.count)))]
            if config.probability < 1 && u[3 * l + 1] >= config.probability { continue }
            var m = config.magnitude
            if config.magnitudeStd > 0 { m += config.magnitudeStd * z[l] }
            m = max(0, min(m, config.magnitudeMax))
            img = apply(op, to: img, magnitude: m, negate: u[3 * l + 2] > 0.5, translatePct: config.translatePct)
        }
        return img
    }

    /// One op at magnitude `m` (0...10); `negate` flips the sign of signed ops.
    public static func apply(_ op: Op, to img: RGBImage, magnitude m: Double, negate: Bool,
                             translatePct: Double = 0.45) -> RGBImage {
        let sign = negate ? -1.0 : 1.0
        let level = m / 10
        switch op {
        case .autoContrast: return autoContrast(img)
        case .equalize: return equalize(img)
        case .invert: return lut(img) { _, v in 255 - v }
        case .rotate: return rotate(img, degrees: sign * level * 30)
        case .posterize:
            let bits = 4 - Int(level * 4)
            if bits >= 8 { return img }
            let mask = ~((1 << (8 - bits)) - 1) & 0xFF
            return lut(img) { _, v in v & mask }
        case .solarize:
            let threshold = 256 - Int(level * 256)
            return lut(img) { _, v in v < threshold ? v : 255 - v }
        case .solarizeAdd:
            let add = Int(level * 110)
            return lut(img) { _, v in v < 128 ? min(255, v + add) : v }
        case .color, .contrast, .brightness, .sharpness:
            let factor = max(0.1, 1 + sign * level * 0.9)
            return enhance(op, img, factor: factor)
        case .shearX: return affine(img, [1, sign * level * 0.3, 0, 0, 1, 0])
        case .shearY: return affine(img, [1, 0, 0, sign * level * 0.3, 1, 0])
        case .translateX: return affine(img, [1, 0, sign * level * translatePct * Double(img.width), 0, 1, 0])
        case .translateY: return affine(img, [1, 0, 0, 0, 1, sign * level * translatePct * Double(img.height)])
        }
    }

    // MARK: point ops

    /// Applies a per-channel lookup `f(channel, value)` (PIL `Image.point`).
    static func lut(_ img: RGBImage, _ f: (Int, Int) -> Int) -> RGBImage {
        var table = [[UInt8]](repeating: [UInt8](repeating: 0, count: 256), count: 3)
        for c in 0..<3 { for v in 0..<256 { table[c][v] = UInt8(max(0, min(255, f(c, v)))) } }
        var out = img
        for i in 0..<(img.width * img.height) {
            for c in 0..<3 { out.pixels[3 * i + c] = table[c][Int(img.pixels[3 * i + c])] }
        }
        return out
    }

    static func histograms(_ img: RGBImage) -> [[Int]] {
        var h = [[Int]](repeating: [Int](repeating: 0, count: 256), count: 3)
        for i in 0..<(img.width * img.height) { for c in 0..<3 { h[c][Int(img.pixels[3 * i + c])] += 1 } }
        return h
    }

    /// `ImageOps.autocontrast(img)` (cutoff 0): stretch each channel's [lo, hi] to [0, 255].
    static func autoContrast(_ img: RGBImage) -> RGBImage {
        let h = histograms(img)
        var tables = [[Int]]()
        for c in 0..<3 {
            let lo = h[c].firstIndex { $0 > 0 } ?? 0
            let hi = h[c].lastIndex { $0 > 0 } ?? 255
            if hi <= lo { tables.append(Array(0..<256)); continue }
            let scale = 255.0 / Double(hi - lo), offset = -Double(lo) * scale
            tables.append((0..<256).map { Int(Double($0) * scale + offset) })   // Python int(): toward zero
        }
        return lut(img) { c, v in tables[c][v] }
    }

    /// `ImageOps.equalize(img)`: per channel, step = (N - last bin) // 256, lut from the running sum.
    static func equalize(_ img: RGBImage) -> RGBImage {
        let h = histograms(img)
        var tables = [[Int]]()
        for c in 0..<3 {
            let nonzero = h[c].filter { $0 > 0 }
            if nonzero.count <= 1 { tables.append(Array(0..<256)); continue }
            let step = (nonzero.reduce(0, +) - nonzero.last!) / 256
            if step == 0 { tables.append(Array(0..<256)); continue }
            var n = step / 2
            var t = [Int]()
            for i in 0..<256 { t.append(n / step); n += h[c][i] }
            tables.append(t)
        }
        return lut(img) { c, v in tables[c][v] }
    }

    // MARK: ImageEnhance

    /// PIL luma: L = (19595 R + 38470 G + 7471 B + 0x8000) >> 16.
    @inline(__always) static func luma(_ p: [UInt8], _ i: Int) -> Int {
        (Int(p[3 * i]) * 19595 + Int(p[3 * i + 1]) * 38470 + Int(p[3 * i + 2]) * 7471 + 0x8000) >> 16
    }

    /// `ImageEnhance.X(img).enhance(factor)` = `Image.blend(degenerate, img, factor)`.
    static func enhance(_ op: Op, _ img: RGBImage, factor: Double) -> RGBImage {
        let n = img.width * img.height
        var degenerate = [UInt8](repeating: 0, count: n * 3)
        switch op {
        case .color:
            for i in 0..<n { let l = UInt8(luma(img.pixels, i)); for c in 0..<3 { degenerate[3 * i + c] = l } }
        case .contrast:
            var sum = 0
            for i in 0..<n { sum += luma(img.pixels, i) }
            let mean = UInt8(Int(Double(sum) / Double(n) + 0.5))
            for i in 0..<(n * 3) { degenerate[i] = mean }
        case .brightness:
            break   // black
        default:    // sharpness: ImageFilter.SMOOTH, 3x3 [1 1 1; 1 5 1; 1 1 1] / 13, border pixels kept
            degenerate = img.pixels
            let w = img.width, h = img.height
            if w >= 3 && h >= 3 {
                for y in 1..<(h - 1) {
                    for x in 1..<(w - 1) {
                        for c in 0..<3 {
                            var s: Float = 0
                            for dy in -1...1 {
                                for dx in -1...1 {
                                    let k: Float = (dx == 0 && dy == 0) ? 5 : 1
                                    s += Float(img.pixels[((y + dy) * w + x + dx) * 3 + c]) * (k / 13)
                                }
                            }
                            degenerate[(y * w + x) * 3 + c] = s <= 0 ? 0 : (s >= 255 ? 255 : UInt8(s + 0.5))
                        }
                    }
                }
            }
        }
        // ImagingBlend: out = in1 + alpha * (in2 - in1) in float, truncated (clipped when alpha > 1).
        let alpha = Float(factor)
        var out = img
        for i in 0..<(n * 3) {
            let a = Float(degenerate[i]), b = Float(img.pixels[i])
            let v = a + alpha * (b - a)
            out.pixels[i] = v <= 0 ? 0 : (v >= 255 ? 255 : UInt8(v))
        }
        return out
    }

    // MARK: geometry (PIL Image.transform AFFINE, bicubic, fill colour)

    /// PIL `img.rotate(degrees, resample=BICUBIC, fillcolor=fill)` about the centre, same size.
    static func rotate(_ img: RGBImage, degrees: Double) -> RGBImage {
        let d = degrees.truncatingRemainder(dividingBy: 360)
        if d == 0 { return img }
        let a = -d * Double.pi / 180
        func r15(_ v: Double) -> Double { (v * 1e15).rounded() / 1e15 }
        var m = [r15(cos(a)), r15(sin(a)), 0, r15(-sin(a)), r15(cos(a)), 0]
        let cx = Double(img.width) / 2, cy = Double(img.height) / 2
        m[2] = m[0] * -cx + m[1] * -cy + cx
        m[5] = m[3] * -cx + m[4] * -cy + cy
        return affine(img, m)
    }

    /// Output pixel (x, y) samples input at `a * (x + 0.5, y + 0.5, 1)`; PIL's
    /// bicubic (a = -1 form) with clamped columns; outside the image -> fill.
    static func affine(_ img: RGBImage, _ a: [Double]) -> RGBImage {
        let w = img.width, h = img.height
        var out = [UInt8](repeating: 0, count: w * h * 3)
        let src = img.pixels
        let fill = [Self.fill.0, Self.fill.1, Self.fill.2]
        @inline(__always) func cubic(_ v1: Double, _ v2: Double, _ v3: Double, _ v4: Double, _ d: Double) -> Double {
            let p1 = v2, p2 = -v1 + v3, p3 = 2 * (v1 - v2) + v3 - v4, p4 = -v1 + v2 - v3 + v4
            return p1 + d * (p2 + d * (p3 + d * p4))
        }
        src.withUnsafeBufferPointer { p in
            for y in 0..<h {
                for x in 0..<w {
                    let o = (y * w + x) * 3
                    var xin = a[0] * (Double(x) + 0.5) + a[1] * (Double(y) + 0.5) + a[2]
                    var yin = a[3] * (Double(x) + 0.5) + a[4] * (Double(y) + 0.5) + a[5]
                    if xin < 0 || xin >= Double(w) || yin < 0 || yin >= Double(h) {
                        out[o] = fill[0]; out[o + 1] = fill[1]; out[o + 2] = fill[2]
                        continue
                    }
                    xin -= 0.5; yin -= 0.5
                    var xi = Int(xin.rounded(.down)), yi = Int(yin.rounded(.down))
                    let dx = xin - Double(xi), dy = yin - Double(yi)
                    xi -= 1; yi -= 1
                    // Columns clamp to the image (PIL XCLIP).
                    let x0 = min(max(xi, 0), w - 1), x1 = min(max(xi + 1, 0), w - 1)
                    let x2 = min(max(xi + 2, 0), w - 1), x3 = min(max(xi + 3, 0), w - 1)
                    for c in 0..<3 {
                        @inline(__always) func row(_ r: Int) -> Double {
                            let base = r * w
                            return cubic(Double(p[(base + x0) * 3 + c]), Double(p[(base + x1) * 3 + c]),
                                         Double(p[(base + x2) * 3 + c]), Double(p[(base + x3) * 3 + c]), dx)
                        }
                        // First row clamps; later rows outside the image repeat the previous row's value.
                        let v1 = row(min(max(yi, 0), h - 1))
                        let v2 = (yi + 1 >= 0 && yi + 1 < h) ? row(yi + 1) : v1
                        let v3 = (yi + 2 >= 0 && yi + 2 < h) ? row(yi + 2) : v2
                        let v4 = (yi + 3 >= 0 && yi + 3 < h) ? row(yi + 3) : v3
                        let v = cubic(v1, v2, v3, v4, dy)
                        out[o + c] = v <= 0 ? 0 : (v >= 255 ? 255 : UInt8(v))
                    }
                }
            }
        }
        return RGBImage(width: w, height: h, pixels: out)
    }
}
