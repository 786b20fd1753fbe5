import Datasets

/// How far training has gone. Saved with sessions so a resumed session
/// continues exactly where it stopped.
public struct TrainCounters: Codable, Sendable, Equatable {
    /// Train steps (mini-batches) taken.
    public var miniSteps = 0
    /// Optimizer updates applied (fewer than mini-steps when accumulating).
    public var optimizerSteps = 0
    /// Where the next training batch starts: epoch and sample offset within it.
    public var cursor = DataCursor()

    public init() {}

    /// The most steps (and updates) a session counts: the optimizer's own
    /// step counts are 32-bit.
    public static let limit = Int(Int32.max)

    /// Throws when one more step would pass `limit` (instead of wrapping).
    public func checkRoomForStep() throws {
        guard miniSteps < Self.limit, optimizerSteps < Self.limit, cursor.epoch < DataCursor.maxEpoch - 1 else {
            throw WorkbenchError("the step counters are at their limit (\(Self.limit) steps, \(DataCursor.maxEpoch) epochs): start a new run from these parameters (`session save`, then `optim adamw` to reset the optimizer)")
        }
    }

    /// Nil when the counters are consistent with `samples` training samples
    /// (nil: no data); otherwise what is wrong.
    public func problem(samples: Int?) -> String? {
        if miniSteps < 0 || miniSteps > Self.limit { return "mini_steps \(miniSteps) is outside 0…\(Self.limit)" }
        if optimizerSteps < 0 || optimizerSteps > Self.limit {
            return "optimizer_steps \(optimizerSteps) is outside 0…\(Self.limit)"
        }
        if let samples, let p = cursor.problem(samples: samples) { return "the data cursor: \(p)" }
        if cursor.epoch < 0 || cursor.epoch >= DataCursor.maxEpoch || cursor.sample < 0 {
            return "the data cursor (epoch \(cursor.epoch), sample \(cursor.sample)) is negative or past its limit"
        }
        return nil
    }
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
