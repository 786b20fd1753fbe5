import Foundation
import JaxRandom

/// The embedded dataset: procedurally drawn RGB images whose class a person
/// can see at a glance (shapes, stripes, textures), generated on demand and
/// deterministically from a key. Every image varies in position, scale,
/// rotation, colours and noise; classes are interleaved (`label = index %
/// classes`) so every split is class-balanced.
///
/// Class shapes never depend on mirror image or aspect ratio, so horizontal
/// flips and mild random crops keep the label true.
public struct SyntheticDataset: Dataset {
    /// All class names, in label order; a set with N classes uses the first N.
    public static let allClassNames: [String] = [
        "circle", "square", "triangle", "ring", "cross",
        "stripes-h", "stripes-v", "checker", "dots", "diamond",
        "frame", "x-cross", "target", "grid", "waves",
        "crescent", "stripes-diag", "speckle", "halves", "gradient",
    ]
    /// Default sample counts per class.
    public static let defaultTrainPerClass = 500
    public static let defaultValPerClass = 100

    /// The drawing of each class, in label order.
    enum Pattern: Int, CaseIterable {
        case circle, square, triangle, ring, cross, stripesH, stripesV, checker, dots, diamond, frame, xCross, target, grid, waves, crescent, stripesDiag, speckle, halves, gradient
    }

    public let classNames: [String]
    public let count: Int
    /// Image side in pixels.
    public let size: Int
    /// The key every image of this split derives from.
    public let key: PRNGKey

    public var imageSize: (height: Int, width: Int)? { (size, size) }

    /// One split of `count` images of `classes` classes, `size` x `size`.
    public init(classes: Int = 10, size: Int = 32, count: Int, key: PRNGKey) throws {
        guard (2...SyntheticDataset.allClassNames.count).contains(classes) else {
            throw DatasetError.invalidArgument("synthetic --classes must be 2...\(SyntheticDataset.allClassNames.count), got \(classes)")
        }
        guard (8...1024).contains(size) else {
            throw DatasetError.invalidArgument("synthetic --size must be 8...1024 pixels, got \(size)")
        }
        guard count >= classes else {
            throw DatasetError.invalidArgument("synthetic --count must be at least the class count (\(classes)), got \(count)")
        }
        self.classNames = Array(SyntheticDataset.allClassNames.prefix(classes))
        self.count = count
        self.size = size
        self.key = key
    }

    /// Train and validation splits from one data key: `train, val = split(key, 2)`.
    /// `trainCount` defaults to 500 per class and `valCount` to 100 per class.
    public static func splits(classes: Int = 10, size: Int = 32, trainCount: Int? = nil,
                              valCount: Int? = nil, key: PRNGKey = PRNGKey(seed: 0)) throws -> DataSplits {
        let keys = key.split(2)
        let train = try SyntheticDataset(classes: classes, size: size,
                                         count: trainCount ?? classes * defaultTrainPerClass, key: keys[0])
        let val = try SyntheticDataset(classes: classes, size: size,
                                       count: valCount ?? max(classes, (trainCount ?? classes * defaultTrainPerClass) / 5),
                                       key: keys[1])
        // Rendered images are kept in memory (15 MB for the default 32x32 set).
        return DataSplits(name: "synthetic \(classes) classes \(size)x\(size)", train: train, val: val).cached()
    }

    public func label(at index: Int) -> Int { index % classNames.count }

    public func image(at index: Int) throws -> RGBImage { render(index) }

    /// Draws image `index`: key = fold_in(split key, index); 24 uniforms set
    /// the geometry and colours, a normal draw sets the per-pixel noise.
    public func render(_ index: Int) -> RGBImage {
        precondition(index >= 0 && index < count, "synthetic index \(index) out of 0..<\(count)")
        let k = key.foldIn(UInt32(truncatingIfNeeded: index)).split(3)
        let u = Random.uniform(k[0], count: 24).map(Double.init)
        let n = size * size
        let noise = Random.normal(k[1], count: n * 3)
        let label = self.label(at: index)
        let pattern = Pattern(rawValue: label)!
        // Speckle blocks: 2x2-pixel cells on or off.
        let cells = (size + 1) / 2
        let speckle = pattern == .speckle ? Random.uniform(k[2], count: cells * cells) : []

        // Colours: random hues and saturations; the foreground is then
        // darkened or lightened until its luma differs from the background's
        // by `gap` (0.35-0.6), so the pattern is always plainly visible.
        let bg = SyntheticDataset.hsv(u[2], 0.15 + 0.85 * u[3], 0.15 + 0.85 * u[0])
        var fg = SyntheticDataset.hsv(u[4], 0.15 + 0.85 * u[5], 0.15 + 0.85 * u[1])
        let yb = SyntheticDataset.luma(bg), yf = SyntheticDataset.luma(fg)
        let gap = min(0.35 + 0.25 * u[16], max(yb, 1 - yb) - 0.05)
        if yb > 0.5 {
            if yf > yb - gap { let f = max(0, yb - gap) / max(yf, 1e-6); fg = fg.map { $0 * f } }
        } else if yf < yb + gap {
            let t = (yb + gap - yf) / max(1 - yf, 1e-6)
            fg = fg.map { $0 + t * (1 - $0) }
        }
        let sigma = 255 * 0.06 * u[6]

        // Geometry in normalised coordinates, pixel centres in [-1, 1].
        let cx = -0.25 + 0.5 * u[7], cy = -0.25 + 0.5 * u[8]
        let r = 0.38 + 0.24 * u[9]
        let theta = (u[10] - 0.5) * 0.5             // +-14 degrees of rotation
        let period = 0.28 + 0.2 * u[11]             // texture period, 3.5-7 stripes across
        let phase = u[12], phase2 = u[13]
        let diagonal = u[14] < 0.5 ? Double.pi / 4 : -Double.pi / 4
        let angle = 2 * Double.pi * u[15]
        let px = 2.0 / Double(size)
        let cosT = cos(theta), sinT = sin(theta)
        let rot45 = (cos(Double.pi / 4), sin(Double.pi / 4))
        let diag = (cos(diagonal + theta * 0.3), sin(diagonal + theta * 0.3))
        let half = (cos(theta * 0.5), sin(theta * 0.5))
        let offset = (0.45 * r * cos(angle), 0.45 * r * sin(angle))

        var pixels = [UInt8](repeating: 0, count: n * 3)
        for y in 0..<size {
            for x in 0..<size {
                let gx = (Double(x) + 0.5) * px - 1, gy = (Double(y) + 0.5) * px - 1
                // Local frame: centred on the shape and rotated by theta.
                let dx = gx - cx, dy = gy - cy
                let lx = cosT * dx + sinT * dy, ly = -sinT * dx + cosT * dy
                let a: Double
                switch pattern {
                case .circle: a = cover(len(lx, ly) - r, px)
                case .square: a = cover(box(lx, ly, 0.8 * r, 0.8 * r), px)
                case .triangle: a = cover(triangle(lx, -ly - 0.15 * r, 1.1 * r), px)
                case .ring: a = cover(abs(len(lx, ly) - 0.8 * r) - 0.2 * r, px)
                case .cross: a = cover(min(box(lx, ly, r, 0.28 * r), box(lx, ly, 0.28 * r, r)), px)
                case .diamond:
                    let (rx, ry) = rot(lx, ly, rot45)
                    a = cover(box(rx, ry, 0.72 * r, 0.72 * r), px)
                case .frame:
                    let b = 0.85 * r
                    a = cover(max(box(lx, ly, b, b), -box(lx, ly, 0.55 * b, 0.55 * b)), px)
                case .xCross:
                    let (rx, ry) = rot(lx, ly, rot45)
                    a = cover(min(box(rx, ry, r, 0.25 * r), box(rx, ry, 0.25 * r, r)), px)
                case .target:
                    let d = len(lx, ly)
                    a = cover(min(abs(d - r) - 0.13 * r, min(abs(d - 0.58 * r) - 0.13 * r, d - 0.2 * r)), px)
                case .crescent:
                    let (ox, oy) = offset
                    a = cover(max(len(lx, ly) - r, -(len(lx - ox, ly - oy) - 0.8 * r)), px)
                case .stripesH:
                    a = wave(sin(2 * .pi * ((-sinT * gx + cosT * gy) / period + phase)))
                case .stripesV:
                    a = wave(sin(2 * .pi * ((cosT * gx + sinT * gy) / period + phase)))
                case .stripesDiag:
                    let (rx, _) = rot(gx, gy, diag)
                    a = wave(sin(2 * .pi * (rx / period + phase)))
                case .checker:
                    let (rx, ry) = rot(gx, gy, half)
                    a = wave(sin(2 * .pi * (rx / period + phase)) * sin(2 * .pi * (ry / period + phase2)) * 2)
                case .dots:
                    let fx = fract(gx / period + phase) - 0.5, fy = fract(gy / period + phase2) - 0.5
                    a = cover(len(fx, fy) * period - 0.27 * period, px)
                case .grid:
                    let fx = abs(fract(gx / period + phase) - 0.5), fy = abs(fract(gy / period + phase2) - 0.5)
                    a = cover(min(0.5 - fx, 0.5 - fy) * period - 0.5 * px, px)
                case .waves:
                    let v = gy + 0.35 * period * sin(2 * .pi * (gx / (1.6 * period) + phase2))
                    a = wave(sin(2 * .pi * (v / (1.3 * period) + phase)))
                case .speckle:
                    a = speckle[(y / 2) * cells + x / 2] > 0.65 ? 1 : 0
                case .halves:
                    a = cover(-(ly), px * 1.5)
                case .gradient: // a smooth ramp along a random direction
                    a = min(1, max(0, 0.5 + 0.5 * (cos(angle) * gx + sin(angle) * gy)))
                }
                let o = (y * size + x) * 3
                for c in 0..<3 {
                    let v = bg[c] + a * (fg[c] - bg[c])
                    let noisy = v * 255 + sigma * Double(noise[o + c])
                    pixels[o + c] = UInt8(max(0, min(255, noisy.rounded())))
                }
            }
        }
        return RGBImage(width: size, height: size, pixels: pixels)
    }

    // MARK: drawing helpers (signed distances in normalised units)

    /// Foreground coverage of a pixel from a signed distance (antialiased over one pixel).
    @inline(__always) private func cover(_ d: Double, _ px: Double) -> Double {
        min(1, max(0, 0.5 - d / px))
    }
    /// Soft-edged two-tone from a periodic signal in [-1, 1].
    @inline(__always) private func wave(_ s: Double) -> Double { min(1, max(0, 0.5 + 2.5 * s)) }
    @inline(__always) private func len(_ x: Double, _ y: Double) -> Double { (x * x + y * y).squareRoot() }
    @inline(__always) private func fract(_ x: Double) -> Double { x - x.rounded(.down) }
    /// Rotates (x, y) into a frame turned by the angle whose (cos, sin) is `cs`.
    @inline(__always) private func rot(_ x: Double, _ y: Double, _ cs: (Double, Double)) -> (Double, Double) {
        (cs.0 * x + cs.1 * y, -cs.1 * x + cs.0 * y)
    }
    /// Signed distance to an axis-aligned box of half-sizes (bx, by).
    @inline(__always) private func box(_ x: Double, _ y: Double, _ bx: Double, _ by: Double) -> Double {
        let qx = abs(x) - bx, qy = abs(y) - by
        return len(max(qx, 0), max(qy, 0)) + min(max(qx, qy), 0)
    }
    /// Signed distance to an equilateral triangle of circumradius-ish `r`, apex up (y up).
    private func triangle(_ x0: Double, _ y0: Double, _ r: Double) -> Double {
        let k = 3.0.squareRoot()
        var x = abs(x0) - r, y = y0 + r / k
        if x + k * y > 0 { (x, y) = ((x - k * y) / 2, (-k * x - y) / 2) }
        x -= min(max(x, -2 * r), 0)
        return -len(x, y) * (y < 0 ? -1 : 1)
    }
    /// Rec. 601 luma of an RGB colour in [0, 1].
    static func luma(_ c: [Double]) -> Double { 0.299 * c[0] + 0.587 * c[1] + 0.114 * c[2] }
    /// HSV to RGB in [0, 1].
    static func hsv(_ h: Double, _ s: Double, _ v: Double) -> [Double] {
        let i = Int(h * 6) % 6, f = h * 6 - Double(Int(h * 6))
        let p = v * (1 - s), q = v * (1 - f * s), t = v * (1 - (1 - f) * s)
        switch i {
        case 0: return [v, t, p]
        case 1: return [q, v, p]
        case 2: return [p, v, t]
        case 3: return [p, q, v]
        case 4: return [t, p, v]
        default: return [v, p, q]
        }
    }
}
