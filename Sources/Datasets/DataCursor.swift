/// Where a training data stream stands: the next batch starts at position
/// `sample` of epoch `epoch`'s permutation. Saving and restoring it resumes
/// the stream bit for bit.
///
/// A sample offset, not a batch index, so a different batch size later takes
/// the very next samples: never an index past the data, never a silent skip.
/// A batch that would run past the end of the epoch starts the next epoch
/// instead (the train split drops its last partial batch).
public struct DataCursor: Codable, Equatable, Sendable {
    public var epoch: Int
    /// Position in the epoch's permutation of the next batch's first sample.
    public var sample: Int

    public init(epoch: Int = 0, sample: Int = 0) { self.epoch = epoch; self.sample = sample }

    /// The largest epoch a cursor may reach (epochs fold into a 32-bit key).
    public static let maxEpoch = Int(Int32.max)

    /// Where a batch of `size` taken now starts: here, or at the next epoch's
    /// start when fewer than `size` samples of `samples` are left.
    public func start(batchSize size: Int, samples: Int) -> DataCursor {
        sample <= samples - size ? self : DataCursor(epoch: epoch + 1, sample: 0)
    }

    /// The cursor after a batch of `size` taken at `start(batchSize:samples:)`:
    /// just past its last sample (the next batch wraps to the next epoch only
    /// if it does not fit, whatever its size).
    public func advanced(batchSize size: Int, samples: Int) -> DataCursor {
        var c = start(batchSize: size, samples: samples)
        c.sample += size
        return c
    }

    /// Moves past one batch of `size` (see `advanced(batchSize:samples:)`).
    public mutating func advance(batchSize size: Int, samples: Int) {
        self = advanced(batchSize: size, samples: samples)
    }

    /// Nil when the cursor can be used with `samples` training samples;
    /// otherwise what is wrong, in words.
    public func problem(samples: Int) -> String? {
        if epoch < 0 || epoch >= Self.maxEpoch { return "its epoch \(epoch) is outside 0..<\(Self.maxEpoch)" }
        if sample < 0 || sample > samples { return "its sample offset \(sample) is outside 0...\(samples) (the training samples)" }
        return nil
    }

    enum CodingKeys: String, CodingKey { case epoch, sample, batch }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        epoch = try c.decode(Int.self, forKey: .epoch)
        if let s = try c.decodeIfPresent(Int.self, forKey: .sample) {
            sample = s
        } else {
            // Sessions written before the cursor became an offset hold a batch index.
            legacyBatch = try c.decode(Int.self, forKey: .batch)
            sample = 0
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(epoch, forKey: .epoch)
        try c.encode(sample, forKey: .sample)
    }

    /// A batch index read from an older session (`sample` is then 0 until
    /// the reader converts it with the session's batch size).
    public var legacyBatch: Int?
}
