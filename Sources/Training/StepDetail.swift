import Models

/// What the last completed step did, per parameter and per block — what
/// `show grads`, `show update` and `show activations` display.
public struct StepDetail: Sendable {
    public struct Parameter: Sendable, Equatable {
        public var path: String
        /// ‖gradient‖ (L2).
        public var gradNorm: Float
        /// ‖new − old parameter‖ (0 when MultiSteps only accumulated).
        public var updateNorm: Float
        /// ‖parameter‖ before the update.
        public var weightNorm: Float
        /// Whether weight decay applies to it (the recipe's mask).
        public var decayed: Bool
    }

    public var step: Int
    public var parameters: [Parameter]
    /// Per-block activation statistics and stochastic-depth drops of the forward pass.
    public var blocks: [BlockRecord]
    public var applied: Bool
    public var learningRate: Float
}
