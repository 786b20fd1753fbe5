import XCTest
import Tensors
@testable import Optimizers

/// `applyWithEMA` (AdamW and the model EMA in one pass) gives the same bits
/// as the optimizer step followed by `EMA.update`.
final class StepWithEMATests: XCTestCase {
    private func tree(_ seed: UInt64, scale: Float) -> TensorTree {
        var s = seed
        func next() -> Float {
            s = s &* 6364136223846793005 &+ 1442695040888963407
            return (Float(s >> 40) / Float(1 << 24) * 2 - 1) * scale
        }
        // A leaf large enough to be split over threads, and odd sizes for the tails.
        let shapes: [(String, [Int])] = [("Block/kernel", [37]), ("Block/bias", [5]), ("Norm/scale", [70_001])]
        var out = TensorTree()
        for (path, shape) in shapes {
            out[path] = Tensor(shape: shape, scalars: (0..<Tensor.count(of: shape)).map { _ in next() })
        }
        return out
    }

    func testFusedAdamWAndEMAGiveTheSeparateStepsBits() throws {
        let tx = adamw(.constant(1e-3), weightDecay: 0.05, mask: .excluding(["bias"]))
        for kind in [EMA.Kind.v2, .plain] {
            let ema = EMA(decay: 0.999, kind: kind)
            let start = tree(1, scale: 1)
            var (pf, sf, ef) = (start, tx.initialize(start), ema.initialize(start))
            var (pr, sr, er) = (start, tx.initialize(start), ema.initialize(start))
            for step in 0..<3 {
                let g = tree(UInt64(10 + step), scale: 0.1)
                (pf, sf, ef) = try applyWithEMA(tx, g, state: sf, params: pf, ema: ema, emaState: ef)
                (pr, sr) = try tx.apply(g, state: sr, params: pr)
                er = try ema.update(with: pr, state: er).state
                XCTAssertEqual(pf, pr, "\(kind) params, step \(step)")
                XCTAssertEqual(sf, sr, "\(kind) optimizer state, step \(step)")
                XCTAssertEqual(ef, er, "\(kind) EMA state, step \(step)")
            }
            XCTAssertNotEqual(EMA.average(ef), EMA.average(ema.initialize(start)), "the averages moved")
        }
    }

    func testOtherTransformationsRunTheTwoSteps() throws {
        let tx = Chain([ClipByGlobalNorm(maxNorm: 0.5), adamw(.constant(1e-3), weightDecay: 0.05)])
        let ema = EMA(decay: 0.99)
        let p = tree(2, scale: 1), g = tree(3, scale: 1)
        let (pf, sf, ef) = try applyWithEMA(tx, g, state: tx.initialize(p), params: p, ema: ema, emaState: ema.initialize(p))
        let (pr, sr) = try tx.apply(g, state: tx.initialize(p), params: p)
        XCTAssertEqual(pf, pr)
        XCTAssertEqual(sf, sr)
        XCTAssertEqual(ef, try ema.update(with: pr, state: ema.initialize(p)).state)
    }

    func testAdvanceIsUpdateWithoutTheOutput() throws {
        let ema = EMA(decay: 0.9, kind: .plain)
        let p = tree(4, scale: 1)
        var s = ema.initialize(p)
        s = try ema.advance(with: p, state: s)
        let t = try ema.advance(with: p, state: s)
        XCTAssertEqual(t, try ema.update(with: p, state: s).state)
        XCTAssertThrowsError(try ema.advance(with: p, state: .empty))
    }
}
