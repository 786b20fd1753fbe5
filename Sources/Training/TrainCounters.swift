import Datasets

/// How far training has gone. Saved with sessions so a resumed session
/// continues exactly where it stopped.
public struct TrainCounters: Codable, Sendable, Equatable {
    /// Train steps (mini-batches) taken.
    public var miniSteps = 0
    /// Optimizer updates applied (fewer than mini-steps when accumulating).
    public var optimizerSteps = 0
    /// The next training batch: epoch and batch index within it.
    public var cursor = DataCursor()

    public init() {}
}

/// What one train step measured.
public struct StepMetrics: Codable, Sendable, Equatable {
    /// 1-based mini-step number.
    public var step: Int
    public var epoch: Int
    public var loss: Float
    /// Accuracy against the argmax of the (soft) labels.
    public var accuracy: Float
    /// The learning rate this step's update used (0 when MultiSteps only accumulated).
    public var learningRate: Float
    /// Global L2 norm of the gradients.
    public var gradNorm: Float
    /// ‖Δparams‖ / ‖params‖ of this step's update (0 when nothing was applied).
    public var updateRatio: Float
    /// Whether the optimizer applied an update (false while MultiSteps accumulates).
    public var applied: Bool
    public var imagesPerSecond: Double
    public var seconds: Double
}

/// What one evaluation measured.
public struct EvalMetrics: Codable, Sendable, Equatable {
    /// Mini-step at which it ran.
    public var step: Int
    public var ema: Bool
    public var top1: Double
    public var top5: Double
    public var loss: Double
    public var samples: Int
}
