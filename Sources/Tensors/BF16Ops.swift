// Elementwise passes of the bf16 model, each rounding where XLA:CPU rounds
// (docs/bf16.md). XLA computes a bf16 elementwise op by converting its
// operands to float32, computing in float32 and converting the result back
// to bf16, one op at a time; the only pairs it removes are an op whose bf16
// result is upcast again by an explicit f32 convert (LayerNorm's statistics,
// `jnp.mean`, `erfc`), which then sees the unrounded float32 value.
// GELU is in BF16GELU.swift.

/// `x + bias` over the last axis, rounded to bf16 when `round` is true, in place.
public func bf16AddBias(_ x: inout Tensor, _ bias: Tensor, round: Bool) {
    let c = x.lastDim, rows = x.leadingCount
    precondition(bias.shape == [c], "bf16AddBias: bias \(bias.shape) does not match last axis \(c)")
    if x.count == 0 { return }
    bias.withPointer { pb in
        x.scalars.withUnsafeMutableBufferPointer { xb in
            let p = UncheckedSendable(xb.baseAddress!)
            parallelChunks(rows, minChunk: max(1, 16384 / max(1, c))) { range in
                for row in range {
                    let o = p.value + row &* c
                    // 16 lanes at a time (a scalar loop did not vectorise), the tail masked.
                    var i = 0
                    while i < c {
                        let valid = min(16, c &- i)
                        let v = load16(o + i, valid: valid) + load16(pb + i, valid: valid)
                        store16(round ? roundToBF16(v) : v, o + i, valid: valid)
                        i &+= 16
                    }
                }
            }
        }
    }
}

/// `f` on every 16 lanes of `x` (a zero-padded tail), in parallel.
func mapLanes(_ x: Tensor, _ f: (V16) -> V16) -> Tensor {
    let n = x.count
    return x.withPointer { px in
        Tensor.build(x.shape) { py in
            parallelChunks((n + 15) / 16, minChunk: 1024) { range in
                for blk in range {
                    let i = blk &* 16, valid = min(16, n &- i)
                    store16(f(load16(px + i, valid: valid)), py + i, valid: valid)
                }
            }
        }
    }
}

/// `f` on every 16 lanes of `a` and `b` (same shape), in parallel.
func zipLanes(_ a: Tensor, _ b: Tensor, _ f: (V16, V16) -> V16) -> Tensor {
    let n = a.count
    return a.withPointer { pa in
        b.withPointer { pb in
            Tensor.build(a.shape) { py in
                parallelChunks((n + 15) / 16, minChunk: 1024) { range in
                    for blk in range {
                        let i = blk &* 16, valid = min(16, n &- i)
                        store16(f(load16(pa + i, valid: valid), load16(pb + i, valid: valid)), py + i, valid: valid)
                    }
                }
            }
        }
    }
}

/// The sum over all rows of `t` per channel (last axis) as XLA:CPU reduces a
/// bf16 tensor: rows in order, the running sum rounded to bf16 after every
/// add (its reducer computes each add in float32 and converts back to bf16).
/// A bf16 model's bias gradients and γ's gradient are such sums.
/// Each running sum is a chain of dependent add-and-round steps, so a task
/// takes 4 groups of 16 channels and advances their 4 chains together, row
/// by row (one chain at a time waited on its add's latency: 4x slower);
/// tasks run in parallel. Each channel's sum runs over the rows in order
/// whatever the split, so the same bits on any thread count.
public func bf16ColumnSums(_ t: Tensor) -> Tensor {
    t.withPointer { p in
        let src = UncheckedSendable(p)
        return columnSums(rows: t.leadingCount, channels: t.lastDim) { lanes, row in lanes.load(src.value + row) }
    }
}

/// `bf16ColumnSums` of bf16 values held as bits: the same sums.
public func bf16ColumnSums(_ t: BF16Tensor) -> Tensor {
    t.halves.withUnsafeBufferPointer { b in
        let src = UncheckedSendable(b.baseAddress!)
        return columnSums(rows: t.leadingCount, channels: t.lastDim) { lanes, row in lanes.load(src.value + row) }
    }
}

/// The running bf16 column sums, `load(lanes, offset)` giving a quad's lanes
/// of the row starting at element `offset`.
@inline(__always)
private func columnSums(rows: Int, channels c: Int,
                        _ load: (ChannelQuad, Int) -> (V16, V16, V16, V16)) -> Tensor {
    Tensor.build([c], zeroed: true) { out in
        let dst = UncheckedSendable(out)
        parallelFor((c + 63) / 64) { quad in
            let lanes = ChannelQuad(first: quad &* 64, channels: c)
            var acc = (V16(), V16(), V16(), V16())
            for row in 0..<rows {
                let x = load(lanes, row &* c)
                acc = (roundToBF16(acc.0 + x.0), roundToBF16(acc.1 + x.1), roundToBF16(acc.2 + x.2), roundToBF16(acc.3 + x.3))
            }
            lanes.store(acc, dst.value)
        }
    }
}

/// Four consecutive groups of 16 channels from `first`, the ones past
/// `channels` empty (loads give zeros, stores write nothing).
struct ChannelQuad {
    let first: Int, valid: (Int, Int, Int, Int)
    let full: Bool

    init(first: Int, channels: Int) {
        self.first = first
        func count(_ g: Int) -> Int { max(0, min(16, channels &- first &- 16 &* g)) }
        valid = (count(0), count(1), count(2), count(3))
        full = first &+ 64 <= channels
    }

    /// The quad's lanes of the row at `row` (a pointer to the row's channel 0).
    @inline(__always)
    func load(_ row: UnsafePointer<Float>) -> (V16, V16, V16, V16) {
        let p = row + first
        if full { return (load16(p), load16(p + 16), load16(p + 32), load16(p + 48)) }
        return (load16(p, valid: valid.0), load16(p + 16, valid: valid.1),
                load16(p + 32, valid: valid.2), load16(p + 48, valid: valid.3))
    }

    /// The quad's lanes of a row of bf16 bits (a pointer to the row's channel 0).
    @inline(__always)
    func load(_ row: UnsafePointer<UInt16>) -> (V16, V16, V16, V16) {
        @inline(__always)
        func lanes(_ p: UnsafePointer<UInt16>, _ valid: Int) -> V16 {
            var h = SIMD16<UInt16>()
            if valid >= 16 {
                h = UnsafeRawPointer(p).loadUnaligned(as: SIMD16<UInt16>.self)
            } else {
                for l in 0..<valid { h[l] = p[l] }
            }
            return unsafeBitCast(SIMD16<UInt32>(truncatingIfNeeded: h) &<< 16, to: V16.self)
        }
        let p = row + first
        return (lanes(p, valid.0), lanes(p + 16, valid.1), lanes(p + 32, valid.2), lanes(p + 48, valid.3))
    }

    /// Writes the quad's lanes into the row at `row`.
    @inline(__always)
    func store(_ v: (V16, V16, V16, V16), _ row: UnsafeMutablePointer<Float>) {
        let p = row + first
        if full {
            store16(v.0, p); store16(v.1, p + 16); store16(v.2, p + 32); store16(v.3, p + 48)
            return
        }
        store16(v.0, p, valid: valid.0); store16(v.1, p + 16, valid: valid.1)
        store16(v.2, p + 32, valid: valid.2); store16(v.3, p + 48, valid: valid.3)
    }
}

/// `body(offset, channel, valid)` for every 16 channels of every row of a
/// [rows, c] tensor (the last group `valid` < 16 wide), rows in parallel:
/// the loop of the fused elementwise passes below.
@inline(__always)
private func forEachRowLanes(rows: Int, channels c: Int, _ body: (Int, Int, Int) -> Void) {
    parallelChunks(rows, minChunk: max(1, 16384 / max(1, c))) { range in
        for row in range {
            var i = 0
            while i < c {
                body(row &* c &+ i, i, min(16, c &- i))
                i &+= 16
            }
        }
    }
}

/// The depthwise conv's result in a bf16 block, in one pass over it: `x`
/// rounded to bf16 (XLA's bf16 conv result), those values kept as bits when
/// `keep` (the backward pass's cache), and then `x + bias` in float32 with
/// the bf16 bias (LayerNorm's input, as `bf16AddBias(round: false)`), in place.
public func bf16RoundKeepAddBias(_ x: inout Tensor, bias: Tensor, keep: Bool) -> BF16Tensor? {
    let c = x.lastDim, rows = x.leadingCount
    precondition(bias.shape == [c], "bf16RoundKeepAddBias: bias \(bias.shape) does not match last axis \(c)")
    let shape = x.shape
    return bias.withPointer { pb in
        x.scalars.withUnsafeMutableBufferPointer { xb in
            let px = UncheckedSendable(xb.baseAddress ?? UnsafeMutablePointer(bitPattern: 0x10)!)
            func run(_ kept: UnsafeMutablePointer<UInt16>?) {
                let out = UncheckedSendable(kept)
                forEachRowLanes(rows: rows, channels: c) { k, i, valid in
                    let v = roundToBF16(load16(px.value + k, valid: valid))
                    if let halves = out.value {
                        let bits = SIMD16<UInt16>(truncatingIfNeeded: unsafeBitCast(v, to: SIMD16<UInt32>.self) &>> 16)
                        if valid == 16 {
                            UnsafeMutableRawPointer(halves + k).storeBytes(of: bits, as: SIMD16<UInt16>.self)
                        } else {
                            for l in 0..<valid { halves[k &+ l] = bits[l] }
                        }
                    }
                    store16(v + load16(pb + i, valid: valid), px.value + k, valid: valid)
                }
            }
            guard keep else { run(nil); return nil }
            return BF16Tensor(shape: shape) { run($0) }
        }
    }
}

/// The end of a bf16 block's backward pass, in one pass: the depthwise
/// conv's input cotangent `branch`, rounded to bf16, joins the residual's
/// cotangent `d` — `r(r(d) + r(branch))` (a bf16 add) when the block input is
/// a bf16 value, else `d + r(branch)` in float32 — in place in `branch`.
public func bf16ResidualJoin(_ d: Tensor, into branch: inout Tensor, inputIsBF16: Bool) {
    precondition(d.shape == branch.shape, "bf16ResidualJoin: \(d.shape) is not \(branch.shape)")
    let c = branch.lastDim, rows = branch.leadingCount
    d.withPointer { pd in
        branch.scalars.withUnsafeMutableBufferPointer { bb in
            let io = UncheckedSendable((pd, bb.baseAddress ?? UnsafeMutablePointer(bitPattern: 0x10)!))
            forEachRowLanes(rows: rows, channels: c) { k, _, valid in
                let (pd, pb) = io.value
                let b = roundToBF16(load16(pb + k, valid: valid)), r = load16(pd + k, valid: valid)
                store16(inputIsBF16 ? roundToBF16(roundToBF16(r) + b) : r + b, pb + k, valid: valid)
            }
        }
    }
}
