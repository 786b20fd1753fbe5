/// The largest ConvNeXt a config may describe: each field's range, and the
/// totals that keep every count, shape, element and MAC computed from the
/// config far inside `Int` (checked in `Double` first, so a huge config is
/// refused instead of overflowing). Memory is checked separately, before
/// anything is allocated (`model init`, `train`, `bench`).
public enum ModelLimits {
    /// Stages (4 in ConvNeXt).
    public static let stages = 1...8
    /// Blocks per stage.
    public static let depth = 1...1000
    /// Channels per stage.
    public static let width = 1...65_536
    /// Output classes (ImageNet-21k has 21,841).
    public static let classes = 1...100_000
    /// Input side in pixels.
    public static let imageSize = 1...4096
    /// Depthwise kernel side (odd).
    public static let kernelSize = 1...63
    /// Parameters in all (2^35: 128 GiB of float32).
    public static let parameters = 34_359_738_368.0
    /// Multiply-accumulates per image (2^50).
    public static let macsPerImage = 1_125_899_906_842_624.0

    /// Throws `ModelError` naming the first field or total out of range.
    public static func check(_ c: ConvNeXtConfig) throws {
        func range(_ name: String, _ value: Int, _ r: ClosedRange<Int>) throws {
            guard r.contains(value) else { throw ModelError("\(name) must be \(r.lowerBound)…\(r.upperBound), got \(value)") }
        }
        try range("the number of stages", c.depths.count, stages)
        for d in c.depths { try range("each depth (blocks per stage)", d, depth) }
        for d in c.dims { try range("each dim (channels per stage)", d, width) }
        try range("classes", c.classes, classes)
        try range("image size", c.imageSize, imageSize)
        try range("kernel size", c.kernelSize, kernelSize)
        let (p, m) = totals(c)
        guard p <= parameters else {
            throw ModelError(String(format: "this model would have %.3g parameters; the limit is %.3g (%.0f GiB of float32): use fewer blocks or narrower stages",
                                    p, parameters, parameters * 4 / 1_073_741_824))
        }
        guard m <= macsPerImage else {
            throw ModelError(String(format: "this model would need %.3g multiply-accumulates per image; the limit is %.3g: use a smaller --image-size, fewer blocks or narrower stages",
                                    m, macsPerImage))
        }
    }

    /// Parameters and MACs per image, in `Double` (exact well past any limit).
    static func totals(_ c: ConvNeXtConfig) -> (parameters: Double, macs: Double) {
        let k = Double(c.kernelSize * c.kernelSize)
        var side = Double((c.imageSize + 3) / 4)
        let d0 = Double(c.dims[0])
        var p = 48 * d0 + d0 + 2 * d0, m = side * side * d0 * 48
        for (s, (depth, dim)) in zip(c.depths, c.dims).enumerated() {
            let ch = Double(dim)
            if s > 0 {
                let cin = Double(c.dims[s - 1])
                side = (side / 2).rounded(.up)
                p += 2 * cin + 4 * cin * ch + ch
                m += side * side * ch * 4 * cin
            }
            p += Double(depth) * (k * ch + ch + 2 * ch + 8 * ch * ch + 5 * ch + ch)
            m += Double(depth) * side * side * ch * (k + 8 * ch)
        }
        let last = Double(c.dims[c.dims.count - 1]), classes = Double(c.classes)
        p += 2 * last + last * classes + classes
        m += last * classes
        return (p, m)
    }
}
