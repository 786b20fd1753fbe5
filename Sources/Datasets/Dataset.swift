import Foundation

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
    /// Files skipped when the dataset was loaded (undecodable), with reasons.
    var loadFailures: [DecodeFailure] { get }
}

extension Dataset {
    public func source(at index: Int) -> String { "sample \(index)" }
    public var loadFailures: [DecodeFailure] { [] }
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
    /// Decode failures met while building batches from these splits (shared by copies).
    public let errors: DecodeErrorLog

    public init(name: String, train: any Dataset, val: any Dataset, errors: DecodeErrorLog = DecodeErrorLog()) {
        self.name = name
        self.train = train
        self.val = val
        self.errors = errors
    }

    /// The dataset of one split.
    public subscript(split: Split) -> any Dataset { split == .train ? train : val }
    /// Class names (those of the training set).
    public var classNames: [String] { train.classNames }

    /// Both splits behind an in-memory cache of decoded images, each split
    /// cached only if all its images fit in `maxBytes` (by `imageSize`, or
    /// always for datasets of unknown size, which grow up to `maxBytes`).
    public func cached(maxBytes: Int = 512 << 20) -> DataSplits {
        DataSplits(name: name, train: CachedDataset(train, maxBytes: maxBytes), val: CachedDataset(val, maxBytes: maxBytes),
                   errors: errors)
    }
}

/// A dataset whose decoded images are kept in memory after first use, up to
/// `maxBytes` in total. Images are identical to the base dataset's; the cache
/// is shared by copies and safe to use from many threads.
public struct CachedDataset: Dataset {
    public let base: any Dataset
    private let store: Store

    public init(_ base: any Dataset, maxBytes: Int) {
        self.base = (base as? CachedDataset)?.base ?? base
        self.store = Store(count: self.base.count, maxBytes: maxBytes)
    }

    public var count: Int { base.count }
    public var classNames: [String] { base.classNames }
    public var imageSize: (height: Int, width: Int)? { base.imageSize }
    public func label(at index: Int) -> Int { base.label(at: index) }
    public func source(at index: Int) -> String { base.source(at: index) }
    public var loadFailures: [DecodeFailure] { base.loadFailures }

    public func image(at index: Int) throws -> RGBImage {
        if let hit = store.get(index) { return hit }
        let img = try base.image(at: index)
        store.put(index, img)
        return img
    }

    private final class Store: @unchecked Sendable {
        let lock = NSLock()
        var images: [RGBImage?]
        var bytes = 0
        let maxBytes: Int
        init(count: Int, maxBytes: Int) { images = [RGBImage?](repeating: nil, count: count); self.maxBytes = maxBytes }
        func get(_ i: Int) -> RGBImage? { lock.lock(); defer { lock.unlock() }; return images[i] }
        func put(_ i: Int, _ img: RGBImage) {
            lock.lock(); defer { lock.unlock() }
            if images[i] == nil && bytes + img.pixels.count <= maxBytes { images[i] = img; bytes += img.pixels.count }
        }
    }
}
