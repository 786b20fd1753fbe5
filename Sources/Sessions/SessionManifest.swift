import Datasets
import Foundation
import JaxRandom
import Models
import Training

/// `manifest.json` of a saved session: everything but the tensors, plus the
/// size and SHA-256 of every other file. Versioned: a reader refuses a
/// format version newer than its own.
public struct SessionManifest: Codable, Sendable {
    /// Always `cnx-session`.
    public var format: String
    /// The layout version (`SessionStore.formatVersion` when written).
    public var formatVersion: Int
    /// The cnx that wrote it.
    public var cnxVersion: String
    public var created: Date
    /// The name it was saved under.
    public var name: String
    public var model: ConvNeXtConfig?
    public var optimizer: OptimizerConfig?
    public var data: DataRecord?
    public var keys: KeyTree
    public var counters: TrainCounters
    public var history: [StepMetrics]
    public var evaluations: [EvalMetrics]
    /// Which tensors each tensor file holds, in order.
    public var tensors: TensorIndex
    /// A stepped step in progress when saved (not saved; its number and stage).
    public var droppedPendingStep: String?
    public var transcript: [TranscriptCell]
    /// Every other file of this version with its size and SHA-256.
    public var files: [FileRecord]

    enum CodingKeys: String, CodingKey {
        case format, formatVersion = "format_version", cnxVersion = "cnx_version", created, name, model, optimizer, data, keys,
             counters, history, evaluations, tensors, droppedPendingStep = "dropped_pending_step", transcript, files
    }

    /// The data settings (the images are re-made or re-read from the source on load).
    public struct DataRecord: Codable, Sendable, Equatable {
        public var source: DataSource
        public var augment: AugmentConfig
        public var batchSize: Int
        enum CodingKeys: String, CodingKey { case source, augment, batchSize = "batch_size" }
        public init(source: DataSource, augment: AugmentConfig, batchSize: Int) {
            self.source = source
            self.augment = augment
            self.batchSize = batchSize
        }
    }

    /// The tensors of each file: parameter paths, and optimizer/EMA state leaf names.
    public struct TensorIndex: Codable, Sendable, Equatable {
        public var params: [String]?
        public var optimizerState: LeafIndex?
        public var emaState: LeafIndex?
        enum CodingKeys: String, CodingKey { case params, optimizerState = "optimizer_state", emaState = "ema_state" }
    }

    /// An optimizer state's leaves (as `OptimizerState.flattened()` names them).
    public struct LeafIndex: Codable, Sendable, Equatable {
        public var names: [String]
        /// Leaves that are step counters (int32 scalars).
        public var counts: Int
        /// Leaves that are tensors.
        public var tensors: Int
        /// Float values in all tensors.
        public var scalars: Int
    }

    /// One file of a saved session.
    public struct FileRecord: Codable, Sendable, Equatable {
        public var name: String
        public var bytes: Int
        public var sha256: String
    }
}

/// The `CURRENT` file: which version directory holds the session, and the
/// SHA-256 of its manifest. Replaced atomically; loading follows it.
struct SessionPointer: Codable, Equatable {
    var format: String
    var version: String
    var manifestSHA256: String
    enum CodingKeys: String, CodingKey { case format, version, manifestSHA256 = "manifest_sha256" }
}

/// The first fields of a manifest, read before the rest so a newer format is
/// reported as such rather than as a shape error.
struct ManifestProbe: Decodable {
    var format: String
    var formatVersion: Int
    var cnxVersion: String?
    enum CodingKeys: String, CodingKey { case format, formatVersion = "format_version", cnxVersion = "cnx_version" }
}
