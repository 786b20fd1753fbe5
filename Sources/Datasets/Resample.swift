/// PIL's `Image.resize(..., BICUBIC)` for 8-bit RGB (Pillow `Resample.c`):
/// separable, antialiased (the filter support widens by the downscale
/// factor), coefficients in 22-bit fixed point, horizontal pass first, each
/// pass rounded and clipped to 8 bits. torchvision's `resize`/`resized_crop`
/// on PIL images, and so timm's transforms, call exactly this.
public enum Resample {
    /// Fixed-point precision PIL uses for 8-bit images (32 - 8 - 2).
    static let precisionBits = 22

    /// Bicubic kernel with a = -0.5 (PIL `bicubic_filter`), support 2.
    @inline(__always) static func bicubic(_ x0: Double) -> Double {
        let a = -0.5
        let x = abs(x0)
        if x < 1 { return ((a + 2) * x - (a + 3)) * x * x + 1 }
        if x < 2 { return (((x - 5) * x + 8) * x - 4) * a }
        return 0
    }

    /// Per output pixel: first input index and fixed-point weights
    /// (PIL `precompute_coeffs` + `normalize_coeffs_8bpc`).
    static func coefficients(inSize: Int, outSize: Int) -> (bounds: [Int], weights: [[Int32]]) {
        let scale = Double(inSize) / Double(outSize)
        let filterScale = max(scale, 1)
        let support = 2.0 * filterScale
        var bounds = [Int](), weights = [[Int32]]()
        bounds.reserveCapacity(outSize)
        for xx in 0..<outSize {
            let center = (Double(xx) + 0.5) * scale
            let ss = 1.0 / filterScale
            var xmin = Int(center - support + 0.5)      // C (int) truncation; value >= -0.5 here
            if xmin < 0 { xmin = 0 }
            var xmax = Int(center + support + 0.5)
            if xmax > inSize { xmax = inSize }
            xmax -= xmin
            var k = [Double](repeating: 0, count: xmax)
            var ww = 0.0
            for x in 0..<xmax {
                let w = bicubic((Double(x + xmin) - center + 0.5) * ss)
                k[x] = w
                ww += w
            }
            if ww != 0 { for x in 0..<xmax { k[x] /= ww } }
            let one = Double(1 << precisionBits)
            weights.append(k.map { Int32($0 < 0 ? Int($0 * one - 0.5) : Int($0 * one + 0.5)) })
            bounds.append(xmin)
        }
        return (bounds, weights)
    }

    @inline(__always) static func clip8(_ v: Int) -> UInt8 {
        let s = v >> precisionBits
        return s < 0 ? 0 : (s > 255 ? 255 : UInt8(s))
    }

    /// Resizes `image` to `width` x `height` with PIL's antialiased bicubic.
    public static func bicubic(_ image: RGBImage, width: Int, height: Int) -> RGBImage {
        if width == image.width && height == image.height { return image }
        var img = image
        if width != img.width {
            let (b, w) = coefficients(inSize: img.width, outSize: width)
            var out = [UInt8](repeating: 0, count: width * img.height * 3)
            let src = img.pixels, iw = img.width
            for y in 0..<img.height {
                for x in 0..<width {
                    let ks = w[x], x0 = b[x]
                    for c in 0..<3 {
                        var ss = 1 << (precisionBits - 1)
                        for i in 0..<ks.count { ss += Int(src[(y * iw + x0 + i) * 3 + c]) * Int(ks[i]) }
                        out[(y * width + x) * 3 + c] = clip8(ss)
                    }
                }
            }
            img = RGBImage(width: width, height: img.height, pixels: out)
        }
        if height != img.height {
            let (b, w) = coefficients(inSize: img.height, outSize: height)
            var out = [UInt8](repeating: 0, count: width * height * 3)
            let src = img.pixels
            for y in 0..<height {
                let ks = w[y], y0 = b[y]
                for x in 0..<width {
                    for c in 0..<3 {
                        var ss = 1 << (precisionBits - 1)
                        for i in 0..<ks.count { ss += Int(src[((y0 + i) * width + x) * 3 + c]) * Int(ks[i]) }
                        out[(y * width + x) * 3 + c] = clip8(ss)
                    }
                }
            }
            img = RGBImage(width: width, height: height, pixels: out)
        }
        return img
    }
}
