import Crypto
import Foundation

/// Flax linen's per-module rng derivation (flax/core/scope.py: `LazyRng`,
/// `_fold_in_static`, `Scope.make_rng`), with `flax_fix_rng_separator = False`.
///
/// Inside the module at `path` (names below the root module, e.g.
/// `["ConvNeXtBackbone_0", "BottleneckConvNeXtBlock_01_01", "Conv_1"]`), the
/// `counter`-th `make_rng(name)` call for a stream (1-based; each
/// `self.param` init is one `make_rng("params")`, so a Conv's `kernel` is 1
/// and its `bias` 2) returns
///
///     fold_in(root[name], uint32_be(SHA1(path[0] ‖ path[1] ‖ … ‖ counter)[0..<4]))
///
/// with names as UTF-8 and the counter as minimal big-endian bytes (1 is
/// `\x01`). It is one fold_in over the whole path, not one per level.
public enum FlaxRNG {
    /// The fold_in data for `path` and `counter`: the first four bytes of the
    /// SHA-1 digest, big-endian. `counter` must be >= 0.
    public static func hash(path: [String], counter: Int) -> UInt32 {
        precondition(counter >= 0, "Flax rng counter must be >= 0, got \(counter)")
        var sha = Insecure.SHA1()
        for name in path { sha.update(data: Data(name.utf8)) }
        // Minimal big-endian bytes of the counter (0 -> no bytes, 1 -> 0x01, 256 -> 0x01 0x00).
        var bytes: [UInt8] = []
        var c = UInt64(counter)
        while c > 0 { bytes.insert(UInt8(c & 0xFF), at: 0); c >>= 8 }
        sha.update(data: bytes)
        let digest = Array(sha.finalize())
        return UInt32(digest[0]) << 24 | UInt32(digest[1]) << 16 | UInt32(digest[2]) << 8 | UInt32(digest[3])
    }

    /// The key `make_rng` returns in the module at `path` on its `counter`-th
    /// call: `root.foldIn(hash(path:counter:))`.
    public static func moduleKey(_ root: PRNGKey, path: [String], counter: Int) -> PRNGKey {
        root.foldIn(hash(path: path, counter: counter))
    }

    /// `moduleKey` for a `/`-joined module path such as
    /// `"ConvNeXtBackbone_0/BottleneckConvNeXtBlock_03_01/StochasticDepth_0"`.
    public static func moduleKey(_ root: PRNGKey, modulePath: String, counter: Int) -> PRNGKey {
        moduleKey(root, path: modulePath.split(separator: "/").map(String.init), counter: counter)
    }
}
