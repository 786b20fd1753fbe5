import Foundation

/// The hyper-parameters of a ConvNeXt (v1) classifier, as in the recipe's Flax
/// `ConvNeXt` module (`reference/convnext_flax.py`).
///
/// `depths[i]` blocks of width `dims[i]` per stage; a 4x4/4 patchify stem,
/// a LayerNorm + 2x2/2 conv between stages, and a LayerNorm + Dense head.
public struct ConvNeXtConfig: Sendable, Codable, Equatable {
    /// Blocks per stage (Flax `stage_sizes`).
    public var depths: [Int]
    /// Channels per stage (Flax `num_filters`).
    public var dims: [Int]
    /// Number of output classes.
    public var classes: Int
    /// Input height and width (square); used for FLOPs and memory estimates.
    public var imageSize: Int
    /// Depthwise kernel size (odd; 7 in ConvNeXt).
    public var kernelSize: Int
    /// The last block's stochastic-depth rate; block rates are
    /// `np.linspace(0, dropPathRate, nBlocks)` in stage-major order.
    public var dropPathRate: Double
    /// Dropout rate after the head LayerNorm (0 = no `Dropout_0` module).
    public var headDropout: Double
    /// LayerScale's initial value (`float32(1e-6)`).
    public var layerScaleInit: Float
    /// LayerNorm epsilon (1e-6).
    public var layerNormEpsilon: Float
    /// The compute dtype (Flax `dtype`): float32, or bfloat16 with float32
    /// parameters (docs/bf16.md). Sessions saved before it existed load as f32.
    public var dtype: ModelDType
    /// With bf16: LayerScale γ is held in bf16, as the seed's `LayerScale`
    /// creates its parameter in the module dtype (`--gamma-f32` turns it off).
    /// Ignored for f32.
    public var bf16LayerScale: Bool

    public init(depths: [Int], dims: [Int], classes: Int = 1000, imageSize: Int = 224,
                kernelSize: Int = 7, dropPathRate: Double = 0, headDropout: Double = 0,
                layerScaleInit: Float = 1e-6, layerNormEpsilon: Float = 1e-6,
                dtype: ModelDType = .f32, bf16LayerScale: Bool = true) {
        self.dtype = dtype
        self.bf16LayerScale = bf16LayerScale
        self.depths = depths
        self.dims = dims
        self.classes = classes
        self.imageSize = imageSize
        self.kernelSize = kernelSize
        self.dropPathRate = dropPathRate
        self.headDropout = headDropout
        self.layerScaleInit = layerScaleInit
        self.layerNormEpsilon = layerNormEpsilon
    }

    enum CodingKeys: String, CodingKey {
        case depths, dims, classes, imageSize, kernelSize, dropPathRate, headDropout, layerScaleInit, layerNormEpsilon,
             dtype, bf16LayerScale
    }

    /// Decodes a config; one written before `dtype` existed is float32.
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        depths = try c.decode([Int].self, forKey: .depths)
        dims = try c.decode([Int].self, forKey: .dims)
        classes = try c.decode(Int.self, forKey: .classes)
        imageSize = try c.decode(Int.self, forKey: .imageSize)
        kernelSize = try c.decode(Int.self, forKey: .kernelSize)
        dropPathRate = try c.decode(Double.self, forKey: .dropPathRate)
        headDropout = try c.decode(Double.self, forKey: .headDropout)
        layerScaleInit = try c.decode(Float.self, forKey: .layerScaleInit)
        layerNormEpsilon = try c.decode(Float.self, forKey: .layerNormEpsilon)
        dtype = try c.decodeIfPresent(ModelDType.self, forKey: .dtype) ?? .f32
        bf16LayerScale = try c.decodeIfPresent(Bool.self, forKey: .bf16LayerScale) ?? true
    }

    /// Whether LayerScale γ is held in bfloat16 (a bf16 model with the seed's quirk on).
    public var layerScaleIsBF16: Bool { dtype == .bf16 && bf16LayerScale }

    /// The dtype as `status` and `model summary` show it: `float32`,
    /// `bfloat16 (params float32, LayerScale γ bfloat16)` or `bfloat16 (params float32)`.
    public var dtypeDescription: String {
        switch dtype {
        case .f32: return "float32"
        case .bf16: return bf16LayerScale ? "bfloat16 (params float32, LayerScale γ bfloat16: the seed's quirk)" : "bfloat16 (params float32)"
        }
    }

    /// The named variants and their (depths, dims, default drop-path rate).
    /// Drop-path defaults follow the ConvNeXt paper's ImageNet-1k recipes for
    /// tiny/small/base/large (0.1/0.4/0.5/0.5) and 0 for the small timm
    /// variants; override with `dropPathRate`.
    public static let variants: [(name: String, depths: [Int], dims: [Int], dropPath: Double)] = [
        ("atto", [2, 2, 6, 2], [40, 80, 160, 320], 0.0),
        ("femto", [2, 2, 6, 2], [48, 96, 192, 384], 0.0),
        ("pico", [2, 2, 6, 2], [64, 128, 256, 512], 0.0),
        ("nano", [2, 2, 8, 2], [80, 160, 320, 640], 0.0),
        ("tiny", [3, 3, 9, 3], [96, 192, 384, 768], 0.1),
        ("small", [3, 3, 27, 3], [96, 192, 384, 768], 0.4),
        ("base", [3, 3, 27, 3], [128, 256, 512, 1024], 0.5),
        ("large", [3, 3, 27, 3], [192, 384, 768, 1536], 0.5),
    ]

    /// The variant names, smallest first.
    public static var variantNames: [String] { variants.map(\.name) }

    /// A named variant (`atto` … `large`, also accepted as `convnext_tiny` or
    /// `ConvNeXt-T`-style spellings of the same name).
    /// - Throws: `ModelError` naming the closest variant when `name` is unknown.
    public static func variant(_ name: String, classes: Int = 1000, imageSize: Int = 224,
                               dropPathRate: Double? = nil, headDropout: Double = 0) throws -> ConvNeXtConfig {
        var key = name.lowercased()
        for prefix in ["convnext_", "convnext-", "convnext"] where key.hasPrefix(prefix) {
            key = String(key.dropFirst(prefix.count))
            break
        }
        let short = ["t": "tiny", "s": "small", "b": "base", "l": "large"]
        if let long = short[key] { key = long }
        guard let v = variants.first(where: { $0.name == key }) else {
            let names = variantNames
            let best = names.min { editDistance(key, $0) < editDistance(key, $1) }!
            let hint = editDistance(key, best) <= max(2, key.count / 2) ? "did you mean '\(best)'? " : ""
            throw ModelError("unknown ConvNeXt variant '\(name)': \(hint)choose one of \(names.joined(separator: ", "))")
        }
        let config = ConvNeXtConfig(depths: v.depths, dims: v.dims, classes: classes, imageSize: imageSize,
                                    dropPathRate: dropPathRate ?? v.dropPath, headDropout: headDropout)
        try config.validate()
        return config
    }

    /// The name of the variant this config's depths and dims match, if any.
    public var variantName: String? {
        Self.variants.first { $0.depths == depths && $0.dims == dims }?.name
    }

    /// The number of blocks over all stages.
    public var blockCount: Int { depths.reduce(0, +) }

    /// Per-block stochastic-depth rates, stage-major: `np.linspace(0, rate, n)`
    /// in float64 (`start + i * step`, the last one exactly `rate`).
    public var dropPathRates: [Double] {
        let n = blockCount
        if n == 0 { return [] }
        if n == 1 { return [0] }
        // numpy.linspace: step = (stop - start) / div; y = arange(n) * step + start; y[-1] = stop.
        let step = dropPathRate / Double(n - 1)
        var rates = (0..<n).map { Double($0) * step }
        rates[n - 1] = dropPathRate
        return rates
    }

    /// Checks every field.
    /// - Throws: `ModelError` with one line naming the bad field.
    public func validate() throws {
        if depths.isEmpty { throw ModelError("depths is empty: give one block count per stage, e.g. 3,3,9,3") }
        if depths.count != dims.count {
            throw ModelError("depths has \(depths.count) stages but dims has \(dims.count): give one width per stage")
        }
        if let d = depths.first(where: { $0 <= 0 }) { throw ModelError("depths must be positive, got \(d) in \(depths)") }
        if let d = dims.first(where: { $0 <= 0 }) { throw ModelError("dims must be positive, got \(d) in \(dims)") }
        if classes <= 0 { throw ModelError("classes must be positive, got \(classes)") }
        if imageSize <= 0 { throw ModelError("image size must be positive, got \(imageSize)") }
        if kernelSize <= 0 || kernelSize % 2 == 0 {
            throw ModelError("kernel size must be a positive odd number, got \(kernelSize)")
        }
        if !(dropPathRate >= 0 && dropPathRate < 1) {
            throw ModelError("drop-path rate must be in [0, 1), got \(dropPathRate)")
        }
        if !(headDropout >= 0 && headDropout < 1) {
            throw ModelError("head dropout must be in [0, 1), got \(headDropout)")
        }
        if !(layerScaleInit.isFinite && layerScaleInit > 0) {
            throw ModelError("LayerScale init must be positive, got \(layerScaleInit)")
        }
        if !(layerNormEpsilon.isFinite && layerNormEpsilon > 0) {
            throw ModelError("LayerNorm epsilon must be positive, got \(layerNormEpsilon)")
        }
        try ModelLimits.check(self)
    }
}

/// Levenshtein distance, for "did you mean" hints.
func editDistance(_ a: String, _ b: String) -> Int {
    let a = Array(a), b = Array(b)
    if a.isEmpty { return b.count }
    if b.isEmpty { return a.count }
    var prev = Array(0...b.count)
    var cur = prev
    for i in 1...a.count {
        cur[0] = i
        for j in 1...b.count {
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
        }
        swap(&prev, &cur)
    }
    return prev[b.count]
}
