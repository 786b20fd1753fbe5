import Datasets
import Foundation
import Models

/// Estimates of what a command will allocate, checked against the memory
/// the system has available before anything is allocated: a command that
/// cannot fit is refused with the estimate, what is available and what to
/// do, instead of growing until the kernel's OOM killer ends the process.
public enum MemoryBudget {
    /// The share of `MemAvailable` one command may plan to use.
    public static let share = 0.8

    /// Throws when `bytes` is more than `share` of the available memory.
    /// - Parameters:
    ///   - what: the subject of the sentence, e.g. "model init".
    ///   - hint: what to do instead.
    public static func check(_ bytes: Double, _ what: String, hint: String) throws {
        guard let available = MemoryInfo.availableBytes().map(Double.init) else { return }
        guard bytes > share * available else { return }
        throw WorkbenchError("\(what) needs about \(gib(bytes)) but only \(gib(available)) is available: \(hint)")
    }

    /// `12.3 GiB`, or MiB below one GiB.
    public static func gib(_ bytes: Double) -> String {
        bytes >= 1_073_741_824 ? String(format: "%.1f GiB", bytes / 1_073_741_824)
                               : String(format: "%.1f MiB", bytes / 1_048_576)
    }

    /// Bytes of one float32 copy of the model's parameters.
    public static func parameterBytes(_ model: ConvNeXt) -> Double { Double(model.parameterCount) * 4 }

    /// `model init` (and `params import`): the parameters, plus the
    /// initializer's transient copy of the largest ones.
    public static func checkParameters(_ model: ConvNeXt, _ what: String = "model init") throws {
        try check(2 * parameterBytes(model), "\(what) of \(model.parameterCount) parameters",
                  hint: "build a smaller model (fewer blocks, narrower --dims, fewer --classes)")
    }

    /// A train step at `batch`: the forward cache and the backward's transient
    /// tensors, plus parameters, gradients, Adam moments, the EMA and the
    /// update's new copies (about seven parameter-sized trees).
    public static func trainBytes(_ model: ConvNeXt, batch: Int) -> Double {
        let size = model.config.imageSize
        return Double(model.activationBytes(batch: 1, imageSize: size, train: true)) * Double(batch)
            + Double(model.backwardTransientBytes(batch: 1, imageSize: size)) * Double(batch)
            + 7 * parameterBytes(model)
    }

    /// An inference forward at `batch`: its activations and the parameters.
    public static func inferBytes(_ model: ConvNeXt, batch: Int) -> Double {
        Double(model.activationBytes(batch: 1, imageSize: model.config.imageSize, train: false)) * Double(batch)
            + parameterBytes(model)
    }

    /// The synthetic set keeps every rendered image (RGB bytes) in memory.
    public static func checkData(_ source: DataSource) throws {
        guard case let .synthetic(classes, size, trainCount, valCount) = source else { return }
        // In Double: the counts may come from a hand-edited session.
        let train = trainCount.map(Double.init) ?? Double(classes) * Double(SyntheticDataset.defaultTrainPerClass)
        let val = valCount.map(Double.init) ?? max(Double(classes), (train / 5).rounded(.down))
        try check((train + val) * Double(size) * Double(size) * 3,
                  String(format: "data synthetic with %.0f images of %dx%d", train + val, size, size),
                  hint: "use a smaller --count or --size")
    }
}
