import Foundation
import Models
import Training

/// A rough training-time estimate, so `model build` and `train steps` can
/// warn before a configuration or a step count that would take hours on
/// this machine's CPU.
///
/// A train step costs about 3x the forward MACs (forward, then backward
/// for inputs and weights), 2 FLOPs each, at ~62 GFLOP/s per core
/// (docs/performance.md: ConvNeXt-T at 224 px trains at ~4.6 img/s on 2
/// cores). Small models run far below that rate — their time goes to
/// memory-bound work (LayerNorm, GELU, depthwise, data) — so each image also
/// costs a fixed time per pixel, fitted to the README's 30-second session
/// (the tour's 0.66-MMAC model at 32 px: 3,255 img/s on 2 cores). Without
/// that term the estimate was 10x too short for the teaching models.
enum ComputeEstimate {
    static let flopsPerCore = 62e9
    /// Core-seconds of per-pixel work per trained image.
    static let secondsPerPixel = 5.4e-7

    /// Seconds to train one image of a model with `macs` multiply-adds per
    /// forward pass at `imageSize` px, on `cores` cores.
    static func trainSecondsPerImage(macs: Int, imageSize: Int, cores: Int = ProcessInfo.processInfo.activeProcessorCount) -> Double {
        (6 * Double(macs) / flopsPerCore + secondsPerPixel * Double(imageSize * imageSize)) / Double(max(1, cores))
    }

    static func trainSecondsPerImage(_ model: ConvNeXt, cores: Int) -> Double {
        trainSecondsPerImage(macs: model.macsPerImage(), imageSize: model.config.imageSize, cores: cores)
    }

    /// A warning when 1,000 steps at the data's batch size (32 without
    /// data) would take an hour or more; nil otherwise.
    static func warning(_ model: ConvNeXt, data: DataSetup?, cores: Int = ProcessInfo.processInfo.activeProcessorCount) -> String? {
        let batch = data?.batchSize ?? 32
        let perImage = trainSecondsPerImage(model, cores: cores)
        let hours = perImage * Double(batch) * 1000 / 3600
        guard hours >= 1 else { return nil }
        return String(format: "at %d px one train step of batch %d takes about %.0f s on %d core%@ (~%.1f img/s), so 1,000 steps take about %.0f h; `--image-size 32` or a smaller model trains in minutes",
                      model.config.imageSize, batch, perImage * Double(batch), cores, cores == 1 ? "" : "s", 1 / perImage, hours)
    }

    /// A warning when `steps` train steps of `batch` images would take an
    /// hour or more on `cores` cores; nil otherwise.
    static func trainingWarning(_ model: ConvNeXt, steps: Int, batch: Int, cores: Int = ProcessInfo.processInfo.activeProcessorCount) -> String? {
        let perImage = trainSecondsPerImage(model, cores: cores)
        let hours = perImage * Double(batch) * Double(steps) / 3600
        guard hours >= 1 else { return nil }
        return String(format: "%d steps of batch %d at %d px take about %.1f h on %d core%@ (estimated ~%.1f img/s): Ctrl-C or `stop` ends them at a step boundary; fewer steps, a smaller --batch or a smaller model finish sooner",
                      steps, batch, model.config.imageSize, hours, cores, cores == 1 ? "" : "s", 1 / perImage)
    }
}
