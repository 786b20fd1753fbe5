/// An 8-bit RGB image, rows top to bottom, pixels interleaved `r, g, b`
/// (the layout PIL's "RGB" mode and the NHWC model input share).
public struct RGBImage: Sendable, Equatable {
    /// Width in pixels.
    public var width: Int
    /// Height in pixels.
    public var height: Int
    /// `height * width * 3` bytes, index `(y * width + x) * 3 + c`.
    public var pixels: [UInt8]

    /// An image from its pixels; `pixels.count` must be `height * width * 3`.
    public init(width: Int, height: Int, pixels: [UInt8]) {
        precondition(width > 0 && height > 0 && pixels.count == width * height * 3,
                     "RGBImage: \(pixels.count) bytes for \(width)x\(height)")
        self.width = width
        self.height = height
        self.pixels = pixels
    }

    /// An image filled with one colour.
    public init(width: Int, height: Int, fill: (UInt8, UInt8, UInt8) = (0, 0, 0)) {
        var p = [UInt8](repeating: 0, count: width * height * 3)
        for i in 0..<(width * height) { p[3 * i] = fill.0; p[3 * i + 1] = fill.1; p[3 * i + 2] = fill.2 }
        self.init(width: width, height: height, pixels: p)
    }

    /// The pixel at column `x`, row `y`, channel `c`.
    @inlinable public subscript(x: Int, y: Int, c: Int) -> UInt8 {
        get { pixels[(y * width + x) * 3 + c] }
        set { pixels[(y * width + x) * 3 + c] = newValue }
    }

    /// The rectangle `[left, left+w) x [top, top+h)` (must lie inside the image).
    public func cropped(left: Int, top: Int, width w: Int, height h: Int) -> RGBImage {
        precondition(left >= 0 && top >= 0 && w > 0 && h > 0 && left + w <= width && top + h <= height,
                     "crop \(left),\(top) \(w)x\(h) outside \(width)x\(height)")
        if left == 0 && top == 0 && w == width && h == height { return self }
        var out = [UInt8](repeating: 0, count: w * h * 3)
        for y in 0..<h {
            let src = ((top + y) * width + left) * 3
            for i in 0..<(w * 3) { out[y * w * 3 + i] = pixels[src + i] }
        }
        return RGBImage(width: w, height: h, pixels: out)
    }

    /// The image mirrored left to right.
    public func flippedHorizontally() -> RGBImage {
        var out = pixels
        for y in 0..<height {
            for x in 0..<width {
                let s = (y * width + (width - 1 - x)) * 3, d = (y * width + x) * 3
                out[d] = pixels[s]; out[d + 1] = pixels[s + 1]; out[d + 2] = pixels[s + 2]
            }
        }
        return RGBImage(width: width, height: height, pixels: out)
    }
}
