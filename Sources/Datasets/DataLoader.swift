import Dispatch
import Tensors
import Foundation

/// A stream of training batches from a cursor, built ahead on a background
/// queue (at most `prefetch` ready batches) while the caller trains. `next()`
/// returns exactly the batches `BatchBuilder.batch(at:size:)` gives for
/// successive cursors, whatever the timing. `cancel()` (or deinit)
/// stops the producer and waits for it to finish.
public final class DataLoader: @unchecked Sendable {
    public let builder: BatchBuilder
    public let batchSize: Int
    public let prefetch: Int
    private let shared: Shared
    /// The cursor of the batch that `next()` returns next.
    public var cursor: DataCursor { shared.withLock { shared.consumerCursor } }

    /// Starts a stream at `start`; `prefetch` 0 builds each batch inside `next()`.
    public init(builder: BatchBuilder, batchSize: Int, start: DataCursor = DataCursor(), prefetch: Int = 2) throws {
        let n = builder.data.train.count
        guard batchSize > 0, batchSize <= n else {
            throw DatasetError.invalidArgument("batch size \(batchSize) needs 1...\(n) (training samples)")
        }
        if let problem = start.problem(samples: n) {
            throw DatasetError.invalidArgument("cursor epoch \(start.epoch) sample \(start.sample): \(problem)")
        }
        self.builder = builder
        self.batchSize = batchSize
        self.prefetch = max(0, prefetch)
        self.shared = Shared(start: start.start(batchSize: batchSize, samples: n))
        if self.prefetch > 0 { startProducer(samples: n) }
    }

    deinit { cancel() }

    /// The next batch and the cursor it came from; nil once cancelled.
    public func next() -> (batch: Batch, cursor: DataCursor)? {
        let n = builder.data.train.count
        if prefetch == 0 {
            let c: DataCursor? = shared.withLock {
                if shared.cancelled { return nil }
                let c = shared.consumerCursor.start(batchSize: batchSize, samples: n)
                shared.consumerCursor.advance(batchSize: batchSize, samples: n)
                return c
            }
            guard let c else { return nil }
            return (builder.batch(at: c, size: batchSize), c)
        }
        shared.condition.lock()
        defer { shared.condition.unlock() }
        while shared.ready.isEmpty && !shared.cancelled { shared.condition.wait() }
        if shared.cancelled { return nil }
        let item = shared.ready.removeFirst()
        shared.consumerCursor.advance(batchSize: batchSize, samples: n)
        shared.condition.broadcast()
        return (item.1, item.0)
    }

    /// Stops the background producer and waits for it; idempotent.
    public func cancel() {
        shared.withLock { shared.cancelled = true; shared.condition.broadcast() }
        shared.group.wait()
    }

    private func startProducer(samples n: Int) {
        let shared = self.shared, builder = self.builder, size = batchSize, depth = prefetch
        // The producer builds batches with the caller's threads setting (its time is not the step's).
        let compute = ComputeContext.current.unprofiled
        shared.group.enter()
        DispatchQueue.global(qos: .userInitiated).async { compute.run {
            defer { shared.group.leave() }
            var c = shared.withLock { shared.consumerCursor }
            while true {
                let go: Bool = shared.withLock {
                    while shared.ready.count >= depth && !shared.cancelled { shared.condition.wait() }
                    return !shared.cancelled
                }
                if !go { return }
                c = c.start(batchSize: size, samples: n)
                let b = builder.batch(at: c, size: size)
                shared.withLock {
                    shared.ready.append((c, b))
                    shared.condition.broadcast()
                }
                c.advance(batchSize: size, samples: n)
            }
        } }
    }

    /// State shared with the producer, guarded by `condition`.
    private final class Shared: @unchecked Sendable {
        let condition = NSCondition()
        let group = DispatchGroup()
        var ready: [(DataCursor, Batch)] = []
        var consumerCursor: DataCursor
        var cancelled = false
        init(start: DataCursor) { consumerCursor = start }
        func withLock<T>(_ body: () -> T) -> T {
            condition.lock(); defer { condition.unlock() }
            return body()
        }
    }
}
