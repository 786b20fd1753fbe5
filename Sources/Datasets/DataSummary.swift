import JaxRandom

/// What `data show` reports: classes, counts, image sizes and decode errors.
public struct DataSummary: Sendable, Codable, Equatable {
    public var name: String
    public var classNames: [String]
    public var trainCount: Int
    public var valCount: Int
    /// Training samples per class (index = label).
    public var trainClassCounts: [Int]
    /// Validation samples per class (index = label).
    public var valClassCounts: [Int]
    /// `[height, width]` when every training image shares one size, else nil.
    public var imageSize: [Int]?
    /// Files skipped at load (ImageFolder) plus failures met while batching.
    public var decodeErrors: [DecodeFailure]
}

extension BatchBuilder {
    /// The summary of this builder's data, including every decode failure so far.
    public func summary() -> DataSummary {
        var errors: [DecodeFailure] = []
        for ds in [data.train, data.val] {
            for f in ds.loadFailures where !errors.contains(f) { errors.append(f) }
        }
        errors += self.errors.failures.filter { !errors.contains($0) }
        return DataSummary(name: data.name, classNames: data.classNames,
                           trainCount: data.train.count, valCount: data.val.count,
                           trainClassCounts: data.train.classCounts(), valClassCounts: data.val.classCounts(),
                           imageSize: data.train.imageSize.map { [$0.height, $0.width] },
                           decodeErrors: errors)
    }

    /// `count` images for a preview grid with their class names: the first
    /// `count` samples of `split`, through the train pipeline's 8-bit steps
    /// (crop, flip, RandAugment; keys fold_in(key, i)) when `augment`, else
    /// through the eval resize and centre crop.
    public func previewImages(_ split: Split, count: Int, augment: Bool, key: PRNGKey) -> (images: [RGBImage], labels: [String]) {
        let ds = data[split]
        let n = min(count, ds.count)
        var images: [RGBImage] = [], labels: [String] = []
        for i in 0..<n {
            let (img, label, _) = loadImage(ds, i)
            images.append(augment ? trainImage(img, key: key.foldIn(UInt32(i))) : evalImage(img))
            labels.append(data.classNames[label])
        }
        return (images, labels)
    }
}
