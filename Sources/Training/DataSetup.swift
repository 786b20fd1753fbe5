import Datasets
import Foundation
import JaxRandom

/// Where the session's data comes from (saved with sessions; the images are
/// re-made or re-read from it on load).
public enum DataSource: Codable, Sendable, Equatable {
    /// The embedded synthetic set.
    case synthetic(classes: Int, size: Int, trainCount: Int?, valCount: Int?)
    /// `DIR/<class>/<file>` folders.
    case imageFolder(train: String, val: String?)

    /// Loads the splits. The synthetic set is generated from a fixed key so
    /// the same settings always give the same images.
    public func load() throws -> DataSplits {
        switch self {
        case let .synthetic(classes, size, trainCount, valCount):
            return try SyntheticDataset.splits(classes: classes, size: size, trainCount: trainCount, valCount: valCount)
        case let .imageFolder(train, val):
            return try ImageFolder.splits(train: URL(fileURLWithPath: train), val: val.map { URL(fileURLWithPath: $0) })
        }
    }
}

/// The session's data: its source, the loaded splits, the augmentations and
/// the batch size training uses by default.
public struct DataSetup: Sendable {
    public var source: DataSource
    public var splits: DataSplits
    public var augment: AugmentConfig
    public var batchSize: Int

    public init(source: DataSource, augment: AugmentConfig, batchSize: Int) throws {
        self.source = source
        try MemoryBudget.checkData(source)
        self.splits = try source.load()
        self.augment = augment
        self.batchSize = batchSize
    }

    /// The batch builder for an image size and the session's data key.
    public func builder(imageSize: Int, dataKey: PRNGKey) -> BatchBuilder {
        BatchBuilder(data: splits, imageSize: imageSize, augment: augment, dataKey: dataKey)
    }
}
