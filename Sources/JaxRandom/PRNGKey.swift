/// A JAX threefry2x32 key: the two uint32 words of `jax.random.PRNGKey(seed)`
/// (equal to `key_data(jax.random.key(seed))`).
///
/// With `jax_threefry_partitionable = True` (the default since jax 0.5, and
/// the setting recorded in golden/manifest.json) split and fold_in are both
/// one threefry hash of a counter pair, so `split(n)[i] == foldIn(i)` for any
/// `n > i`.
public struct PRNGKey: Hashable, Sendable, Codable, CustomStringConvertible {
    /// First key word.
    public var k0: UInt32
    /// Second key word.
    public var k1: UInt32

    /// A key from its two words, e.g. `PRNGKey(0, 42)`.
    public init(_ k0: UInt32, _ k1: UInt32) {
        self.k0 = k0
        self.k1 = k1
    }

    /// `jax.random.PRNGKey(seed)` with x64 disabled (`_threefry_seed`,
    /// `random_seed`): the seed is narrowed to int32, so only its low 32 bits
    /// survive and the first word is 0. `PRNGKey(seed: 42) = [0, 42]`,
    /// `PRNGKey(seed: 1 << 32 + 17) = [0, 17]`, `PRNGKey(seed: -1) = [0, 0xFFFFFFFF]`.
    public init(seed: Int64) {
        self.init(0, UInt32(truncatingIfNeeded: seed))
    }

    /// `jax.random.split(key, n)`, partitionable ("fold-like") variant:
    /// key i is `threefry(key, (hi32(i), lo32(i)))`. `n` must be >= 0.
    public func split(_ n: Int) -> [PRNGKey] {
        precondition(n >= 0, "split count must be >= 0, got \(n)")
        return (0..<n).map { splitKey($0) }
    }

    /// `split(n)[index]` without computing the others (it does not depend on n).
    public func splitKey(_ index: Int) -> PRNGKey {
        precondition(index >= 0, "split index must be >= 0, got \(index)")
        let i = UInt64(index)
        let (y0, y1) = Threefry.hash(k0, k1, UInt32(truncatingIfNeeded: i >> 32), UInt32(truncatingIfNeeded: i))
        return PRNGKey(y0, y1)
    }

    /// `jax.random.fold_in(key, data)`: `threefry(key, (0, data))`.
    public func foldIn(_ data: UInt32) -> PRNGKey {
        let (y0, y1) = Threefry.hash(k0, k1, 0, data)
        return PRNGKey(y0, y1)
    }

    /// `[k0, k1]`, as JAX prints key data.
    public var description: String { "[\(k0), \(k1)]" }

    /// The two words in hex, `[0x00000000, 0x0000002a]`: how cnx shows a
    /// key to a person everywhere (`--json` keeps the integers).
    public var hexDescription: String { "[\(Self.hexWord(k0)), \(Self.hexWord(k1))]" }

    /// One key word in hex with all eight digits, `0x0000002a`.
    public static func hexWord(_ word: UInt32) -> String {
        let s = String(word, radix: 16)
        return "0x" + String(repeating: "0", count: 8 - s.count) + s
    }

    /// Parses a key word as cnx prints it (`0x0000002a`) or as a decimal
    /// integer (`42`); nil unless it fits in 32 bits unsigned.
    public static func parseWord(_ text: String) -> UInt32? {
        let lower = text.lowercased()
        if lower.hasPrefix("0x") { return UInt32(lower.dropFirst(2), radix: 16) }
        return UInt32(text)
    }
}
