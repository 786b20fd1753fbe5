/// The session's named PRNG keys, with where each came from and how often it
/// was drawn from. Every random choice in cnx comes from a key here
/// (DESIGN.md principle 6), so a person can see the lineage
/// root -> params, dropout, stochastic_depth -> per-step keys -> per-layer keys.
///
/// The recipe (`seed(_:)`) is the seed's `train.py` (prng.json's
/// `seed_usage`): `root = PRNGKey(seed)`;
/// `params, dropout, stochastic_depth, train = split(root, 4)`; one process
/// is the seed's device 0, whose key is `train/0 = split(train, 1)[0]`; each
/// train step (`advanceTrainStep()`) does
/// `step/dropout, step/stochastic_depth, train/0 = split(train/0, 3)` and
/// applies the model with the two step keys. `params` initialises the model;
/// `dropout` and `stochastic_depth` are the init-time apply rngs (and what
/// `forward --train` / `grad --train` use). The data key
/// `data = split(root, 5)[4]` is cnx's own (the seed's tf.data pipeline
/// shuffles and augments without JAX keys): it orders the data and draws
/// every augmentation.
///
/// Sessions saved before this schedule carry `.streams` (see
/// `TrainKeySchedule`) and continue with it.
///
/// Changing a key (`set`, a train step) re-derives the keys split or folded
/// from it, so `rng set root 0 42` gives the same tree as `rng seed 42`. Keys drawn from more than once are reported by
/// `reused`: JAX users are told never to draw twice from one key.
public struct KeyTree: Sendable, Codable, Equatable {
    /// How a train step draws its keys.
    public enum TrainKeySchedule: String, Sendable, Codable, Equatable {
        /// The seed's `train.py`: `dropout, stochastic_depth, next = split(train/0, 3)`.
        case seed
        /// cnx before 0.2 (sessions saved then): `dropout` and
        /// `stochastic_depth` each split in two, index 0 used now and index 1
        /// carried; data from `split(root, 4)[3]`.
        case streams
    }

    /// How a key was made from its parent.
    public enum Derivation: Sendable, Codable, Equatable {
        /// `PRNGKey(seed)` (no parent).
        case seed(Int64)
        /// `split(parent, count)[index]`.
        case split(index: Int, count: Int)
        /// `fold_in(parent, data)`.
        case foldIn(UInt32)
        /// Flax's `make_rng` in the module at `path`, call `counter`:
        /// `fold_in(parent, hash)` with `hash = FlaxRNG.hash(path:counter:)`.
        case flax(path: [String], counter: Int, hash: UInt32)
        /// Words given explicitly (`rng set`).
        case set
    }

    /// One named key.
    public struct Entry: Sendable, Codable, Equatable {
        /// The key's name, e.g. `dropout` or `params/0`.
        public var name: String
        /// The key's two words.
        public var key: PRNGKey
        /// The name of the key it was derived from (nil for root and set keys).
        public var parent: String?
        /// The parent's words at derivation time (a name such as `dropout` moves on each step).
        public var parentKey: PRNGKey?
        /// How it was derived.
        public var derivation: Derivation
        /// The train step that made it, for keys made by `advanceTrainStep()`.
        public var step: Int?
        /// How many draws were made from this key (values sampled with it).
        public var uses: Int

        /// The derivation as a JAX expression, e.g. `split(root, 3)[1]`,
        /// `fold_in(dropout, 7)`, `PRNGKey(42)`.
        public var lineage: String {
            let p = parent ?? "?"
            switch derivation {
            case let .seed(s): return "PRNGKey(\(s))"
            case let .split(i, n): return "split(\(p), \(n))[\(i)]" + (step.map { " at step \($0)" } ?? "")
            case let .foldIn(d): return "fold_in(\(p), \(d))"
            case let .flax(path, c, h):
                return "fold_in(\(p), sha1(\(path.joined(separator: "/")) #\(c)) = 0x\(String(h, radix: 16)))"
            case .set: return "set"
            }
        }
    }

    /// A draw: the key used and how many times it has now been drawn from.
    public struct Use: Sendable, Equatable {
        public var name: String
        public var key: PRNGKey
        /// Draws from this key including this one.
        public var uses: Int
        /// True from the second draw on: the same key gave the same numbers again.
        public var isReuse: Bool { uses > 1 }
    }

    /// Name of the root key.
    public static let root = "root"
    /// Name of the parameter-init stream.
    public static let params = "params"
    /// Name of the dropout stream (carried forward across steps).
    public static let dropout = "dropout"
    /// Name of the stochastic-depth stream (carried forward across steps).
    public static let stochasticDepth = "stochastic_depth"
    /// Name of the data-order and augmentation key.
    public static let data = "data"
    /// Name of the seed's `train_rng` (`split(root, 4)[3]`).
    public static let train = "train"
    /// Name of device 0's training key, carried from step to step (`split(train, 1)[0]` at step 0).
    public static let trainDevice = "train/0"
    /// Name of the key a train step uses for `stream`: `step/dropout`, `step/stochastic_depth`.
    public static func stepKeyName(_ stream: String) -> String { "step/" + stream }

    /// All keys in creation order.
    public private(set) var entries: [Entry] = []
    /// The seed of the last `seed(_:)`.
    public private(set) var seedValue: Int64 = 42
    /// Train steps advanced since the seed.
    public private(set) var step: Int = 0
    /// How train steps draw their keys.
    public private(set) var schedule: TrainKeySchedule = .seed

    /// A tree seeded with `seed` (42 by default, the recipe's).
    public init(seed: Int64 = 42) {
        self.seed(seed)
    }

    /// Resets the tree to the seed's schedule at step 0: `root = PRNGKey(seed)`,
    /// `params, dropout, stochastic_depth, train = split(root, 4)`,
    /// `train/0 = split(train, 1)[0]` and `data = split(root, 5)[4]`. With
    /// the partitionable threefry `split(k, n)[i]` does not depend on `n`.
    public mutating func seed(_ seed: Int64) {
        let root = PRNGKey(seed: seed)
        seedValue = seed
        step = 0
        schedule = .seed
        entries = [Entry(name: Self.root, key: root, parent: nil, parentKey: nil, derivation: .seed(seed), step: nil, uses: 0)]
        for (i, name) in [Self.params, Self.dropout, Self.stochasticDepth, Self.train].enumerated() {
            entries.append(Entry(name: name, key: root.splitKey(i), parent: Self.root, parentKey: root,
                                 derivation: .split(index: i, count: 4), step: nil, uses: 0))
        }
        let train = root.splitKey(3)
        entries.append(Entry(name: Self.trainDevice, key: train.splitKey(0), parent: Self.train, parentKey: train,
                             derivation: .split(index: 0, count: 1), step: nil, uses: 0))
        entries.append(Entry(name: Self.data, key: root.splitKey(4), parent: Self.root, parentKey: root,
                             derivation: .split(index: 4, count: 5), step: nil, uses: 0))
    }

    /// Names of all keys, in creation order.
    public var names: [String] { entries.map(\.name) }

    /// Whether a key with this name exists.
    public func contains(_ name: String) -> Bool { entries.contains { $0.name == name } }

    /// The entry named `name`, or `KeyTreeError.unknownKey`.
    public func entry(_ name: String) throws -> Entry {
        guard let e = entries.first(where: { $0.name == name }) else {
            throw KeyTreeError.unknownKey(name, known: names)
        }
        return e
    }

    /// The key named `name` (looking does not count as a use).
    public func key(_ name: String) throws -> PRNGKey { try entry(name).key }

    /// Keys drawn from more than once.
    public var reused: [Entry] { entries.filter { $0.uses > 1 } }

    /// Marks one draw from `name` and returns the key; check `isReuse`.
    @discardableResult
    public mutating func draw(_ name: String) throws -> Use {
        let i = try index(name)
        entries[i].uses += 1
        return Use(name: name, key: entries[i].key, uses: entries[i].uses)
    }

    /// Draws `count` values of `distribution` with the key `name` itself
    /// (`jax.random.DIST(key, (count,))`, not a split of it) and counts the use.
    public mutating func sample(_ name: String, _ distribution: Distribution, count: Int) throws -> (use: Use, values: Sample) {
        let key = try self.key(name)
        let values = try distribution.sample(key, count: count)   // validates before counting
        return (try draw(name), values)
    }

    /// Adds children `NAME/0 … NAME/(n-1)` equal to `split(key, n)[i]`;
    /// returns their names. `n` must be at least 1.
    @discardableResult
    public mutating func split(_ name: String, _ n: Int) throws -> [String] {
        guard n >= 1 else { throw KeyTreeError.invalidSplitCount(n) }
        let parent = try key(name)
        return (0..<n).map { i in
            let child = "\(name)/\(i)"
            put(Entry(name: child, key: parent.splitKey(i), parent: name, parentKey: parent,
                      derivation: .split(index: i, count: n), step: nil, uses: 0))
            return child
        }
    }

    /// Adds the child `fold_in(key, data)`, named `child` or `NAME@DATA`; returns its name.
    @discardableResult
    public mutating func fold(_ name: String, _ data: UInt32, as child: String? = nil) throws -> String {
        let parent = try key(name)
        let childName = child ?? "\(name)@\(data)"
        try validate(childName)
        put(Entry(name: childName, key: parent.foldIn(data), parent: name, parentKey: parent,
                  derivation: .foldIn(data), step: nil, uses: 0))
        return childName
    }

    /// Adds the key Flax's `make_rng` returns when `name` is the stream's
    /// root key, in the module at `modulePath` on call `counter` (1-based),
    /// named `NAME/<module path>` (plus `#counter` when it is not 1).
    /// Example: `flax("step/stochastic_depth", modulePath: ["ConvNeXtBackbone_0",
    /// "BottleneckConvNeXtBlock_03_01", "StochasticDepth_0"])`.
    @discardableResult
    public mutating func flax(_ name: String, modulePath: [String], counter: Int = 1) throws -> (name: String, key: PRNGKey) {
        guard counter >= 1 else { throw KeyTreeError.invalidCounter(counter) }
        let parent = try key(name)
        let h = FlaxRNG.hash(path: modulePath, counter: counter)
        let childName = "\(name)/" + modulePath.joined(separator: "/") + (counter == 1 ? "" : "#\(counter)")
        try validate(childName)
        let k = parent.foldIn(h)
        put(Entry(name: childName, key: k, parent: name, parentKey: parent,
                  derivation: .flax(path: modulePath, counter: counter, hash: h), step: nil, uses: 0))
        return (childName, k)
    }

    /// Sets key `name` to the words `(k0, k1)`, creating it if needed; keys
    /// split or folded from it are re-derived from the new words.
    public mutating func set(_ name: String, _ k0: UInt32, _ k1: UInt32) throws {
        try validate(name)
        put(Entry(name: name, key: PRNGKey(k0, k1), parent: nil, parentKey: nil, derivation: .set, step: nil, uses: 0))
    }

    /// One train step: returns the apply rngs `{'dropout', 'stochastic_depth'}`
    /// for this step and stores them as `step/dropout` and
    /// `step/stochastic_depth` (per-layer keys derived from those are
    /// re-derived).
    ///
    /// With the seed's schedule: `step/dropout, step/stochastic_depth,
    /// train/0 = split(train/0, 3)`. With `.streams` (old sessions): for each
    /// of `dropout` and `stochastic_depth`, `split(key, 2)`, index 0 used now
    /// and index 1 carried forward under the stream's own name.
    @discardableResult
    public mutating func advanceTrainStep() throws -> (dropout: PRNGKey, stochasticDepth: PRNGKey) {
        defer { step += 1 }
        switch schedule {
        case .seed:
            let rng = try key(Self.trainDevice)
            let now = (rng.splitKey(0), rng.splitKey(1))
            put(Entry(name: Self.trainDevice, key: rng.splitKey(2), parent: Self.trainDevice, parentKey: rng,
                      derivation: .split(index: 2, count: 3), step: step, uses: 0))
            for (i, stream) in [Self.dropout, Self.stochasticDepth].enumerated() {
                put(Entry(name: Self.stepKeyName(stream), key: rng.splitKey(i), parent: Self.trainDevice, parentKey: rng,
                          derivation: .split(index: i, count: 3), step: step, uses: 0))
            }
            return now
        case .streams:
            let old = (try key(Self.dropout), try key(Self.stochasticDepth))
            for (stream, k) in [(Self.dropout, old.0), (Self.stochasticDepth, old.1)] {
                put(Entry(name: stream, key: k.splitKey(1), parent: stream, parentKey: k,
                          derivation: .split(index: 1, count: 2), step: step, uses: 0))
                put(Entry(name: Self.stepKeyName(stream), key: k.splitKey(0), parent: stream, parentKey: k,
                          derivation: .split(index: 0, count: 2), step: step, uses: 0))
            }
            return (old.0.splitKey(0), old.1.splitKey(0))
        }
    }

    private enum CodingKeys: String, CodingKey { case entries, seedValue, step, schedule }

    /// Decodes a tree; one saved without a `schedule` (before the seed's
    /// schedule existed) keeps the old `.streams` schedule.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        entries = try c.decode([Entry].self, forKey: .entries)
        seedValue = try c.decode(Int64.self, forKey: .seedValue)
        step = try c.decode(Int.self, forKey: .step)
        schedule = try c.decodeIfPresent(TrainKeySchedule.self, forKey: .schedule) ?? .streams
    }

    // MARK: - internals

    private func index(_ name: String) throws -> Int {
        guard let i = entries.firstIndex(where: { $0.name == name }) else {
            throw KeyTreeError.unknownKey(name, known: names)
        }
        return i
    }

    private func validate(_ name: String) throws {
        guard !name.isEmpty, !name.contains(where: { $0.isWhitespace }) else { throw KeyTreeError.invalidName(name) }
    }

    /// Inserts or replaces `entry`. When a key's words change, the keys
    /// derived from it are re-derived (see `rederiveChildren`); an identical
    /// re-derivation keeps the use count, so reuse is still reported.
    private mutating func put(_ entry: Entry) {
        guard let i = entries.firstIndex(where: { $0.name == entry.name }) else {
            entries.append(entry)
            return
        }
        if entries[i].key == entry.key && entries[i].derivation == entry.derivation && entries[i].parent == entry.parent {
            return
        }
        entries[i] = entry
        rederiveChildren(of: entry.name)
    }

    /// Recomputes, from the new value of `name`, every child made by split,
    /// fold_in or Flax (uses reset to 0), recursively. Keys made by a train
    /// step keep their words: their `parentKey` records the value they came from.
    private mutating func rederiveChildren(of name: String, visited: Set<String> = []) {
        // `visited` stops a cycle made by re-using a name (fold A into "A@1", then A@1 into "A").
        var visited = visited
        guard visited.insert(name).inserted, let parentKey = entries.first(where: { $0.name == name })?.key else { return }
        for i in entries.indices where entries[i].parent == name && !visited.contains(entries[i].name) && entries[i].step == nil {
            let k: PRNGKey
            switch entries[i].derivation {
            case let .split(index, _): k = parentKey.splitKey(index)
            case let .foldIn(d): k = parentKey.foldIn(d)
            case let .flax(_, _, h): k = parentKey.foldIn(h)
            case .seed, .set: continue
            }
            entries[i].key = k
            entries[i].parentKey = parentKey
            entries[i].uses = 0
            rederiveChildren(of: entries[i].name, visited: visited)
        }
    }
}
