/// Which part of a data source a batch comes from.
public enum Split: String, Sendable, Codable, CaseIterable {
    case train, val
}

/// A finite, indexable set of labelled images. Implementations are values
/// that are safe to read from many threads at once.
public protocol Dataset: Sendable {
    /// Number of samples.
    var count: Int { get }
    /// Class names, index = label.
    var classNames: [String] { get }
    /// The common image size `(height, width)`, or nil when images vary.
    var imageSize: (height: Int, width: Int)? { get }
    /// The label of sample `index`, in `0..<classNames.count`.
    func label(at index: Int) -> Int
    /// The decoded image of sample `index`.
    func image(at index: Int) throws -> RGBImage
    /// Where sample `index` comes from (a file path), for error reports.
    func source(at index: Int) -> String
}

extension Dataset {
    public func source(at index: Int) -> String { "sample \(index)" }
    /// Number of classes.
    public var classes: Int { classNames.count }
    /// Samples per class (index = label).
    public func classCounts() -> [Int] {
        var counts = [Int](repeating: 0, count: classes)
        for i in 0..<count { counts[label(at: i)] += 1 }
        return counts
    }
}

/// A training set and a validation set that share class names.
public struct DataSplits: Sendable {
    /// A short description (e.g. "synthetic 10 classes 32x32", or the folder).
    public var name: String
    public var train: any Dataset
    public var val: any Dataset

    public init(name: String, train: any Dataset, val: any Dataset) {
        self.name = name
        self.train = train
        self.val = val
    }

    /// The dataset of one split.
    public subscript(split: Split) -> any Dataset { split == .train ? train : val }
    /// Class names (those of the training set).
    public var classNames: [String] { train.classNames }
}
