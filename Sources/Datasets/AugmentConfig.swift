import Foundation

/// Every augmentation's switch and parameters (timm names in comments).
/// Codable so sessions save it; `set(_:)` edits one parameter by name for
/// the shell's `data augment set NAME.PARAM=V`.
public struct AugmentConfig: Codable, Sendable, Equatable {
    /// RandomResizedCrop (`--scale 0.08 1 --ratio 3/4 4/3`, bicubic).
    public struct Crop: Codable, Sendable, Equatable {
        public var enabled = true
        public var scaleMin = 0.08, scaleMax = 1.0
        public var ratioMin = 3.0 / 4.0, ratioMax = 4.0 / 3.0
    }
    /// Horizontal flip (`--hflip 0.5`).
    public struct Flip: Codable, Sendable, Equatable {
        public var enabled = true
        public var probability = 0.5
    }
    /// RandAugment `rand-m9-mstd0.5-inc1`: `ops` layers drawn with replacement
    /// from the increasing-severity set, each applied with `probability`.
    public struct RandAugment: Codable, Sendable, Equatable {
        public var enabled = true
        public var ops = 2
        public var magnitude = 9.0
        public var magnitudeStd = 0.5
        public var magnitudeMax = 10.0
        public var probability = 0.5
        /// Translate distance at magnitude 10, as a fraction of the image side.
        public var translatePct = 0.45
    }
    /// RandomErasing (`--reprob 0.25 --remode pixel --recount 1`).
    public struct Erasing: Codable, Sendable, Equatable {
        public var enabled = true
        public var probability = 0.25
        public var minArea = 0.02, maxArea = 1.0 / 3.0
        public var minAspect = 0.3, maxAspect = 1.0 / 0.3
    }
    /// Mixup/CutMix on the batch (`--mixup 0.8 --cutmix 1.0 --mixup-prob 1 --mixup-switch-prob 0.5`).
    public struct Mix: Codable, Sendable, Equatable {
        public var enabled = true
        public var mixupAlpha = 0.8
        public var cutmixAlpha = 1.0
        public var probability = 1.0
        public var switchProbability = 0.5
    }

    public var crop = Crop()
    public var flip = Flip()
    public var randAugment = RandAugment()
    public var erasing = Erasing()
    public var mix = Mix()
    /// Label smoothing: off = s/C, on = 1 - s + s/C.
    public var labelSmoothing = 0.1
    /// Eval: resize the shorter side to `size / evalCropFraction`, then centre crop.
    public var evalCropFraction = 0.875
    /// Normalisation (ImageNet).
    public var mean: [Float] = [0.485, 0.456, 0.406]
    public var std: [Float] = [0.229, 0.224, 0.225]

    public init() {}

    /// The ConvNeXt ImageNet recipe (timm defaults used by the paper).
    public static let convnext = AugmentConfig()

    /// A light pipeline for the small synthetic demo: mild crops (scale 0.6-1)
    /// and flips only, so a small model learns in a minute.
    public static let light: AugmentConfig = {
        var c = AugmentConfig()
        c.crop.scaleMin = 0.6
        c.randAugment.enabled = false
        c.erasing.enabled = false
        c.mix.enabled = false
        return c
    }()

    /// Augmentation names that `setEnabled` accepts.
    public static let names = ["crop", "flip", "randaugment", "erasing", "mix"]

    /// Switches one augmentation on or off by name (see `names`).
    public mutating func setEnabled(_ name: String, _ on: Bool) throws {
        switch name.lowercased() {
        case "crop": crop.enabled = on
        case "flip": flip.enabled = on
        case "randaugment": randAugment.enabled = on
        case "erasing": erasing.enabled = on
        case "mix", "mixup", "cutmix": mix.enabled = on
        default:
            throw DatasetError.invalidArgument("unknown augmentation '\(name)'; use one of \(AugmentConfig.names.joined(separator: ", "))")
        }
    }

    /// Switches every augmentation on or off (`data augment off`); label
    /// smoothing and the eval crop are not augmentations and stay as they are.
    public mutating func setAll(_ on: Bool) {
        crop.enabled = on; flip.enabled = on; randAugment.enabled = on; erasing.enabled = on; mix.enabled = on
    }

    /// Every settable parameter as `NAME.PARAM` with its current value.
    public var parameters: [(name: String, value: String)] {
        Self.table.map { ($0.key, $0.get(self)) }
    }

    /// Sets one parameter from `NAME.PARAM=VALUE` (e.g. `erasing.probability=0.5`).
    public mutating func set(_ assignment: String) throws {
        let parts = assignment.split(separator: "=", maxSplits: 1).map { String($0).trimmingCharacters(in: .whitespaces) }
        guard parts.count == 2, let entry = Self.table.first(where: { $0.key == parts[0].lowercased() }) else {
            throw DatasetError.invalidArgument("'\(assignment)' is not NAME.PARAM=VALUE with a known parameter; see `data augment show`")
        }
        try entry.set(&self, parts[1])
        try validate()
    }

    /// Checks every range; throws a one-line error naming the bad parameter.
    public func validate() throws {
        func check(_ ok: Bool, _ what: String) throws {
            if !ok { throw DatasetError.invalidArgument("augment: \(what)") }
        }
        try check(crop.scaleMin > 0 && crop.scaleMin <= crop.scaleMax && crop.scaleMax <= 1, "crop scale must satisfy 0 < min <= max <= 1")
        try check(crop.ratioMin > 0 && crop.ratioMin <= crop.ratioMax, "crop ratio must satisfy 0 < min <= max")
        try check((0...1).contains(flip.probability), "flip.probability must be in 0...1")
        try check(randAugment.ops >= 0 && randAugment.ops <= 8, "randaugment.ops must be 0...8")
        try check(randAugment.magnitude >= 0 && randAugment.magnitudeMax > 0 && randAugment.magnitudeStd >= 0, "randaugment magnitude/std must be >= 0")
        try check((0...1).contains(randAugment.probability), "randaugment.probability must be in 0...1")
        try check((0...1).contains(erasing.probability), "erasing.probability must be in 0...1")
        try check(erasing.minArea > 0 && erasing.minArea <= erasing.maxArea && erasing.maxArea < 1, "erasing area must satisfy 0 < min <= max < 1")
        try check(erasing.minAspect > 0 && erasing.minAspect <= erasing.maxAspect, "erasing aspect must satisfy 0 < min <= max")
        try check(mix.mixupAlpha >= 0 && mix.cutmixAlpha >= 0, "mix alphas must be >= 0")
        try check((0...1).contains(mix.probability) && (0...1).contains(mix.switchProbability), "mix probabilities must be in 0...1")
        try check(labelSmoothing >= 0 && labelSmoothing < 1, "labelsmoothing must be in [0, 1)")
        try check(evalCropFraction > 0 && evalCropFraction <= 1, "eval.cropfraction must be in (0, 1]")
    }

    private struct Entry: Sendable {
        let key: String
        let get: @Sendable (AugmentConfig) -> String
        let set: @Sendable (inout AugmentConfig, String) throws -> Void
    }

    private static func double(_ key: String, _ kp: WritableKeyPath<AugmentConfig, Double> & Sendable) -> Entry {
        Entry(key: key, get: { "\($0[keyPath: kp])" }, set: { c, v in
            guard let d = Double(v), d.isFinite else { throw DatasetError.invalidArgument("\(key) needs a number, got '\(v)'") }
            c[keyPath: kp] = d
        })
    }
    private static func bool(_ key: String, _ kp: WritableKeyPath<AugmentConfig, Bool> & Sendable) -> Entry {
        Entry(key: key, get: { "\($0[keyPath: kp])" }, set: { c, v in
            switch v.lowercased() {
            case "true", "on", "1", "yes": c[keyPath: kp] = true
            case "false", "off", "0", "no": c[keyPath: kp] = false
            default: throw DatasetError.invalidArgument("\(key) needs on/off, got '\(v)'")
            }
        })
    }

    private static let table: [Entry] = [
        bool("crop.enabled", \.crop.enabled),
        double("crop.scalemin", \.crop.scaleMin), double("crop.scalemax", \.crop.scaleMax),
        double("crop.ratiomin", \.crop.ratioMin), double("crop.ratiomax", \.crop.ratioMax),
        bool("flip.enabled", \.flip.enabled), double("flip.probability", \.flip.probability),
        bool("randaugment.enabled", \.randAugment.enabled),
        Entry(key: "randaugment.ops", get: { "\($0.randAugment.ops)" }, set: { c, v in
            guard let n = Int(v) else { throw DatasetError.invalidArgument("randaugment.ops needs an integer, got '\(v)'") }
            c.randAugment.ops = n
        }),
        double("randaugment.magnitude", \.randAugment.magnitude),
        double("randaugment.magnitudestd", \.randAugment.magnitudeStd),
        double("randaugment.magnitudemax", \.randAugment.magnitudeMax),
        double("randaugment.probability", \.randAugment.probability),
        double("randaugment.translatepct", \.randAugment.translatePct),
        bool("erasing.enabled", \.erasing.enabled), double("erasing.probability", \.erasing.probability),
        double("erasing.minarea", \.erasing.minArea), double("erasing.maxarea", \.erasing.maxArea),
        double("erasing.minaspect", \.erasing.minAspect), double("erasing.maxaspect", \.erasing.maxAspect),
        bool("mix.enabled", \.mix.enabled), double("mix.mixupalpha", \.mix.mixupAlpha),
        double("mix.cutmixalpha", \.mix.cutmixAlpha), double("mix.probability", \.mix.probability),
        double("mix.switchprobability", \.mix.switchProbability),
        double("labelsmoothing", \.labelSmoothing),
        double("eval.cropfraction", \.evalCropFraction),
    ]
}
