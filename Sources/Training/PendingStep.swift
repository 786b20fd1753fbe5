import Datasets
import JaxRandom
import Models
import Tensors

/// A train step taken in stages (`step forward`, `step loss`, `step backward`,
/// `step update`): what each stage produced so far.
///
/// Nothing in the session moves until the update stage: the keys, the data
/// cursor and the counters the step will leave behind are held here and
/// committed together, so `step abort` at any stage leaves the session as it
/// was, and a completed stepped step equals `train steps 1` bit for bit.
public struct PendingStep: Sendable {
    /// The last stage completed.
    public enum Stage: String, Sendable { case forward, loss, backward }

    public internal(set) var stage: Stage
    /// The batch this step trains on.
    public let batch: Batch
    /// Where the batch came from.
    public let cursor: DataCursor
    /// The cursor after this step.
    let cursorAfter: DataCursor
    /// The key tree after this step's split of dropout and stochastic_depth.
    let keysAfter: KeyTree
    /// The apply rngs this step uses (the keys now named step/dropout and step/stochastic_depth).
    public let rngs: ApplyRNGs
    public let logits: Tensor
    /// Per-block activation statistics and which samples stochastic depth dropped.
    public var blockRecords: [BlockRecord] { cache?.blockRecords ?? savedRecords }
    var cache: ForwardCache?
    var savedRecords: [BlockRecord] = []
    public internal(set) var loss: Float?
    var dLogits: Tensor?
    public internal(set) var grads: TensorTree?
    /// Data-parallel: the gradients are this replica's own (a MultiSteps
    /// mini-step that does not apply), not yet summed across replicas.
    public internal(set) var gradsAreLocal = false
    /// Data-parallel: seconds backward waited for gradient sums to finish.
    public internal(set) var communicationWait = 0.0
    /// Compute time spent so far (not the time the person spent looking).
    var seconds: Double

    /// The 1-based number this step will have.
    public let step: Int
}
