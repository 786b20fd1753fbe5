import Foundation
import JaxRandom
import Tensors

/// One batch as the model receives it.
public struct Batch: Sendable, Equatable {
    /// Images, NHWC float32 `[B, H, W, 3]`, normalised.
    public var x: Tensor
    /// Soft labels `[B, classes]`: smoothed one-hot, then mixed (train).
    public var labels: Tensor
    /// Integer class of each sample before mixing.
    public var targets: [Int]
    /// Dataset index of each sample.
    public var indices: [Int]
    /// The batch's Mixup/CutMix draw.
    public var mix: MixupCutMix.Choice

    public init(x: Tensor, labels: Tensor, targets: [Int], indices: [Int], mix: MixupCutMix.Choice) {
        self.x = x
        self.labels = labels
        self.targets = targets
        self.indices = indices
        self.mix = mix
    }
}

/// A decode failure met while loading (the file is skipped, never fatal).
public struct DecodeFailure: Sendable, Equatable, Codable {
    public var path: String
    public var reason: String
    public init(path: String, reason: String) { self.path = path; self.reason = reason }
}

/// Thread-safe list of decode failures met while building batches.
public final class DecodeErrorLog: @unchecked Sendable {
    private let lock = NSLock()
    private var entries: [DecodeFailure] = []
    private var seen: Set<String> = []
    public init() {}
    /// Records a failure once per path.
    public func record(_ f: DecodeFailure) {
        lock.lock(); defer { lock.unlock() }
        if seen.insert(f.path).inserted { entries.append(f) }
    }
    /// All failures so far, in the order first seen.
    public var failures: [DecodeFailure] { lock.lock(); defer { lock.unlock() }; return entries }
}

/// Builds deterministic batches from a pair of datasets and an augmentation
/// config. A batch depends only on (data key, epoch, batch index, batch size,
/// config): never on threads or timing.
///
/// Keys: epoch key = fold_in(data key, epoch); (permutation, samples, mix) =
/// split(epoch key, 3); the epoch order is permutation(permutation key, N);
/// the sample at epoch position p uses fold_in(samples key, p), split 4 ways
/// into (crop, flip, randaugment, erasing); batch b mixes with fold_in(mix key, b).
public struct BatchBuilder: Sendable {
    public let data: DataSplits
    /// Output side length (square images).
    public let imageSize: Int
    public var augment: AugmentConfig
    /// The data key (e.g. a named key of the session's key tree).
    public let dataKey: PRNGKey
    /// Failures met while building batches (ImageFolder files that stopped
    /// decoding); the log belongs to `data`, so it outlives this builder.
    public var errors: DecodeErrorLog { data.errors }

    public init(data: DataSplits, imageSize: Int, augment: AugmentConfig = .convnext, dataKey: PRNGKey) {
        precondition(imageSize > 0)
        self.data = data
        self.imageSize = imageSize
        self.augment = augment
        self.dataKey = dataKey
    }

    /// The key of one epoch: fold_in(data key, epoch).
    public func epochKey(_ epoch: Int) -> PRNGKey { dataKey.foldIn(UInt32(truncatingIfNeeded: epoch)) }

    /// Batches per epoch: train drops the last partial batch; val keeps it.
    public func batchesPerEpoch(_ split: Split, batchSize: Int) -> Int {
        let n = data[split].count
        return split == .train ? n / batchSize : (n + batchSize - 1) / batchSize
    }

    /// The training order of one epoch (dataset indices), cached.
    public func order(epochKey: PRNGKey) -> [Int] {
        let n = data.train.count
        return PermutationCache.shared.get(epochKey, n: n) { Random.permutation(epochKey.split(3)[0], n: n) }
    }

    /// Batch `index` of the epoch `epoch` (see `batch(_:epochKey:index:size:)`).
    public func batch(_ split: Split, epoch: Int, index: Int, size: Int) -> Batch {
        batch(split, epochKey: epochKey(epoch), index: index, size: size)
    }

    /// The train batch of `size` samples at `cursor` (at the next epoch's
    /// start when fewer than `size` samples are left in the cursor's epoch).
    /// Callers check `size` (1…training samples) and the cursor
    /// (`DataCursor.problem(samples:)`) first.
    public func batch(at cursor: DataCursor, size: Int) -> Batch {
        let c = cursor.start(batchSize: size, samples: data.train.count)
        let key = epochKey(c.epoch)
        return make(.train, keys: key.split(3), positions: c.sample..<(c.sample + size), order: order(epochKey: key),
                    mixIndex: c.sample / size)
    }

    /// Rows `rows` of the train batch of `size` samples at `cursor`: the same
    /// samples with the same per-sample augmentation draws as those rows of
    /// `batch(at:size:)` (one replica's part of a data-parallel step).
    /// Mixup/CutMix uses the batch's draw but mixes within these rows, as
    /// timm does under DDP.
    public func batch(at cursor: DataCursor, size: Int, rows: Range<Int>) -> Batch {
        precondition(rows.lowerBound >= 0 && rows.upperBound <= size && !rows.isEmpty, "rows \(rows) of a batch of \(size)")
        let c = cursor.start(batchSize: size, samples: data.train.count)
        let key = epochKey(c.epoch)
        return make(.train, keys: key.split(3), positions: (c.sample + rows.lowerBound)..<(c.sample + rows.upperBound),
                    order: order(epochKey: key), mixIndex: c.sample / size)
    }

    /// Batch `index` of an epoch. Train: `size` samples of the epoch's
    /// permutation with train transforms, smoothed labels and Mixup/CutMix.
    /// Val: file order, eval transforms, plain one-hot labels; the last batch
    /// may be smaller. `epochKey` is ignored for val.
    public func batch(_ split: Split, epochKey: PRNGKey, index: Int, size: Int) -> Batch {
        precondition(size > 0 && index >= 0, "batch size must be > 0")
        let ds = data[split]
        let keys = epochKey.split(3)
        if split == .train {
            precondition(size <= ds.count, "batch size \(size) exceeds the \(ds.count) training samples")
            let n = batchesPerEpoch(.train, batchSize: size)
            precondition(index < n, "train batch \(index) out of 0..<\(n)")
            return make(.train, keys: keys, positions: (index * size)..<((index + 1) * size), order: order(epochKey: epochKey),
                        mixIndex: index)
        }
        let lo = index * size
        precondition(lo < ds.count, "val batch \(index) out of range")
        return make(.val, keys: keys, positions: lo..<min(ds.count, lo + size), order: nil, mixIndex: index)
    }

    /// The batch of epoch `positions` (train: through `order`; val: file
    /// indices); Mixup/CutMix draws with fold_in(mix key, `mixIndex`).
    private func make(_ split: Split, keys: [PRNGKey], positions: Range<Int>, order: [Int]?, mixIndex index: Int) -> Batch {
        let ds = data[split]
        let train = split == .train
        var indices = order.map { o in positions.map { o[$0] } } ?? Array(positions)
        let b = positions.count, s = imageSize, per = s * s * 3
        var x = [Float](repeating: 0, count: b * per)
        var targets = [Int](repeating: 0, count: b)
        let config = augment
        x.withUnsafeMutableBufferPointer { xb in
            targets.withUnsafeMutableBufferPointer { tb in
                indices.withUnsafeMutableBufferPointer { ib in
                    let xp = UncheckedSendable(xb), tp = UncheckedSendable(tb), ip = UncheckedSendable(ib)
                    parallelFor(b) { i in
                        let (img, label, used) = loadImage(ds, ip.value[i])
                        ip.value[i] = used
                        tp.value[i] = label
                        let out = UnsafeMutableBufferPointer(rebasing: xp.value[(i * per)..<((i + 1) * per)])
                        if train {
                            let sk = keys[1].foldIn(UInt32(truncatingIfNeeded: positions.lowerBound + i))
                            trainTransform(img, key: sk, config: config, into: out)
                        } else {
                            evalTransform(img, config: config, into: out)
                        }
                    }
                }
            }
        }
        var xt = Tensor(shape: [b, s, s, 3], scalars: x)
        let classes = data.classNames.count
        let rows = MixupCutMix.smoothedOneHot(targets, classes: classes, smoothing: train ? config.labelSmoothing : 0)
        var labels = Tensor(shape: [b, classes], scalars: rows.flatMap { $0 })
        var mix = MixupCutMix.Choice.none
        if train {
            mix = MixupCutMix.choose(config: config.mix, height: s, width: s,
                                     key: keys[2].foldIn(UInt32(truncatingIfNeeded: index)))
            MixupCutMix.apply(mix, x: &xt, labels: &labels)
        }
        return Batch(x: xt, labels: labels, targets: targets, indices: indices, mix: mix)
    }

    /// Loads sample `index`; a file that fails to decode is logged and the
    /// next decodable sample takes its place (deterministic: depends only on the files).
    func loadImage(_ ds: any Dataset, _ index: Int) -> (RGBImage, Int, Int) {
        var i = index
        for _ in 0..<min(ds.count, 64) {
            do { return (try ds.image(at: i), ds.label(at: i), i) } catch {
                errors.record(DecodeFailure(path: ds.source(at: i), reason: "\(error)"))
                i = (i + 1) % ds.count
            }
        }
        // Every neighbour failed: a flat image of the fill colour, label kept.
        let f = RandAugment.fill
        return (RGBImage(width: imageSize, height: imageSize, fill: f), ds.label(at: index), index)
    }

    /// The 8-bit part of the train pipeline (crop, flip, RandAugment), for previews.
    public func trainImage(_ image: RGBImage, key: PRNGKey) -> RGBImage {
        trainPixels(image, keys: key.split(4), config: augment)
    }

    /// The 8-bit part of the eval pipeline (resize, centre crop), for previews.
    public func evalImage(_ image: RGBImage) -> RGBImage {
        CenterCrop.apply(image, size: imageSize, cropFraction: augment.evalCropFraction)
    }

    private func trainPixels(_ image: RGBImage, keys k: [PRNGKey], config: AugmentConfig) -> RGBImage {
        var img = config.crop.enabled
            ? RandomResizedCrop.apply(image, size: imageSize, config: config.crop, key: k[0])
            : Resample.bicubic(image, width: imageSize, height: imageSize)
        if config.flip.enabled && Double(Random.uniform(k[1], count: 1)[0]) < config.flip.probability {
            img = img.flippedHorizontally()
        }
        if config.randAugment.enabled {
            img = RandAugment.apply(img, config: config.randAugment, key: k[2])
        }
        return img
    }

    /// Train transform of one sample into `out` (HWC floats).
    func trainTransform(_ image: RGBImage, key: PRNGKey, config: AugmentConfig, into out: UnsafeMutableBufferPointer<Float>) {
        let k = key.split(4)
        let img = trainPixels(image, keys: k, config: config)
        Normalize.apply(img, mean: config.mean, std: config.std, into: out)
        if config.erasing.enabled {
            RandomErasing.apply(out, width: imageSize, height: imageSize, config: config.erasing, key: k[3])
        }
    }

    /// Eval transform of one sample into `out`.
    func evalTransform(_ image: RGBImage, config: AugmentConfig, into out: UnsafeMutableBufferPointer<Float>) {
        let img = CenterCrop.apply(image, size: imageSize, cropFraction: config.evalCropFraction)
        Normalize.apply(img, mean: config.mean, std: config.std, into: out)
    }
}

/// A process-wide, lock-protected cache of the last few epoch permutations,
/// so builders made per step do not redraw them. Entries are pure functions
/// of (key, n), so sharing them cannot change any result.
final class PermutationCache: @unchecked Sendable {
    static let shared = PermutationCache()
    private let lock = NSLock()
    private var entries: [(PRNGKey, Int, [Int])] = []
    func get(_ key: PRNGKey, n: Int, _ make: () -> [Int]) -> [Int] {
        lock.lock()
        if let hit = entries.first(where: { $0.0 == key && $0.1 == n }) { lock.unlock(); return hit.2 }
        lock.unlock()
        let value = make()
        lock.lock(); defer { lock.unlock() }
        entries.append((key, n, value))
        if entries.count > 4 { entries.removeFirst() }
        return value
    }
}
