import Foundation
import JaxRandom
import Tensors
import XCTest
@testable import Datasets

final class TransformTests: XCTestCase {
    func testResampleConstantAndIdentity() {
        let flat = RGBImage(width: 37, height: 23, fill: (200, 10, 99))
        for (w, h) in [(16, 16), (80, 50), (37, 5)] {
            let r = Resample.bicubic(flat, width: w, height: h)
            XCTAssertEqual(r, RGBImage(width: w, height: h, fill: (200, 10, 99)), "\(w)x\(h)")
        }
        let img = testPattern(20, 12)
        XCTAssertEqual(Resample.bicubic(img, width: 20, height: 12), img)
        // Down then the horizontal ramp stays monotone.
        let d = Resample.bicubic(img, width: 10, height: 6)
        for x in 1..<10 { XCTAssertGreaterThanOrEqual(d[x, 3, 0], d[x - 1, 3, 0]) }
    }

    func testRandomResizedCropBoxBounds() {
        let cfg = AugmentConfig.Crop()
        let root = PRNGKey(seed: 7)
        for i in 0..<300 {
            let (w, h) = (i % 3 == 0) ? (64, 48) : (40, 90)
            let b = RandomResizedCrop.box(width: w, height: h, config: cfg, key: root.foldIn(UInt32(i)))
            XCTAssertTrue(b.width > 0 && b.height > 0 && b.left >= 0 && b.top >= 0)
            XCTAssertLessThanOrEqual(b.left + b.width, w)
            XCTAssertLessThanOrEqual(b.top + b.height, h)
            let frac = Double(b.width * b.height) / Double(w * h)
            XCTAssertLessThanOrEqual(frac, 1.0)
            XCTAssertGreaterThan(frac, 0.08 * 0.5)  // rounding of small boxes
        }
        // Same key, same box.
        XCTAssertEqual(RandomResizedCrop.box(width: 50, height: 50, config: cfg, key: root),
                       RandomResizedCrop.box(width: 50, height: 50, config: cfg, key: root))
    }

    func testCenterCropGeometry() {
        // 40x20 -> shorter side int(32/0.875)=36, long int(36*40/20)=72; crop 32 centred.
        let img = testPattern(40, 20)
        let out = CenterCrop.apply(img, size: 32, cropFraction: 0.875)
        XCTAssertEqual(out.width, 32); XCTAssertEqual(out.height, 32)
        let resized = Resample.bicubic(img, width: 72, height: 36)
        XCTAssertEqual(out, resized.cropped(left: 20, top: 2, width: 32, height: 32))
    }

    func testRandomErasingBoundsOverManyDraws() {
        var cfg = AugmentConfig.Erasing()
        cfg.probability = 1
        let w = 64, h = 48, area = Double(w * h)
        var applied = 0
        for i in 0..<2000 {
            guard let b = RandomErasing.box(width: w, height: h, config: cfg, key: PRNGKey(3, UInt32(i))) else { continue }
            applied += 1
            XCTAssertTrue(b.width < w && b.height < h && b.left >= 0 && b.top >= 0)
            XCTAssertLessThanOrEqual(b.left + b.width, w); XCTAssertLessThanOrEqual(b.top + b.height, h)
            // h = round(sqrt(A r)), w = round(sqrt(A / r)): undo the rounding with +-0.5 px.
            let maxArea = (Double(b.height) + 0.5) * (Double(b.width) + 0.5)
            let minArea = max(0, Double(b.height) - 0.5) * max(0, Double(b.width) - 0.5)
            XCTAssertGreaterThanOrEqual(maxArea, 0.02 * area)
            XCTAssertLessThanOrEqual(minArea, area / 3)
            let maxAspect = (Double(b.height) + 0.5) / max(0.5, Double(b.width) - 0.5)
            let minAspect = max(0, Double(b.height) - 0.5) / (Double(b.width) + 0.5)
            XCTAssertGreaterThanOrEqual(maxAspect, 0.3)
            XCTAssertLessThanOrEqual(minAspect, 1 / 0.3)
        }
        XCTAssertGreaterThan(applied, 1900)
        // p = 0.25: about a quarter of draws erase.
        cfg.probability = 0.25
        let hits = (0..<2000).filter { RandomErasing.box(width: w, height: h, config: cfg, key: PRNGKey(9, UInt32($0))) != nil }.count
        XCTAssertEqual(Double(hits) / 2000, 0.25, accuracy: 0.04)
    }

    func testRandomErasingFillsOnlyTheBox() {
        var cfg = AugmentConfig.Erasing(); cfg.probability = 1
        let w = 20, h = 16
        var x = [Float](repeating: 7, count: w * h * 3)
        let b = x.withUnsafeMutableBufferPointer {
            RandomErasing.apply($0, width: w, height: h, config: cfg, key: PRNGKey(1, 2))
        }!
        for y in 0..<h { for xx in 0..<w {
            let inside = y >= b.top && y < b.top + b.height && xx >= b.left && xx < b.left + b.width
            for c in 0..<3 {
                let v = x[(y * w + xx) * 3 + c]
                if inside { XCTAssertNotEqual(v, 7) } else { XCTAssertEqual(v, 7) }
            }
        } }
    }

    func testLabelSmoothing() {
        let rows = MixupCutMix.smoothedOneHot([2, 0], classes: 4, smoothing: 0.1)
        XCTAssertEqual(rows[0], [0.025, 0.025, 0.925, 0.025])
        XCTAssertEqual(rows[1][0], Float(0.925))
    }

    func testBetaSamplerMean() {
        let n = 3000
        let xs = (0..<n).map { BetaSampler.beta(0.8, 0.8, key: PRNGKey(5, UInt32($0))) }
        XCTAssertTrue(xs.allSatisfy { $0 > 0 && $0 < 1 })
        let mean = xs.reduce(0, +) / Double(n)
        let variance = xs.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(n)
        XCTAssertEqual(mean, 0.5, accuracy: 0.03)
        XCTAssertEqual(variance, 0.25 / 2.6, accuracy: 0.01)   // a b / ((a+b)^2 (a+b+1))
    }

    func testMixupLabelMassAndPixels() {
        let b = 4, s = 6, classes = 5
        let x0 = Tensor(shape: [b, s, s, 3], scalars: (0..<(b * s * s * 3)).map { Float($0 % 97) })
        let targets = [0, 3, 1, 4]
        let l0 = Tensor(shape: [b, classes], scalars: MixupCutMix.smoothedOneHot(targets, classes: classes, smoothing: 0.1).flatMap { $0 })
        var x = x0, labels = l0
        MixupCutMix.apply(.mixup(lambda: 0.7), x: &x, labels: &labels)
        let per = s * s * 3
        for i in 0..<b {
            let sum = (0..<classes).map { labels[i, $0] }.reduce(0, +)
            XCTAssertEqual(sum, 1, accuracy: 1e-6)
            XCTAssertEqual(labels[i, targets[i]], 0.7 * 0.92 + 0.3 * l0[b - 1 - i, targets[i]], accuracy: 1e-6)
            for e in stride(from: 0, to: per, by: 17) {
                XCTAssertEqual(x.scalars[i * per + e], x0.scalars[i * per + e] * 0.7 + x0.scalars[(b - 1 - i) * per + e] * Float(0.3), accuracy: 1e-5)
            }
        }
    }

    func testCutMixBoxGeometryAndLabelMass() {
        var cfg = AugmentConfig.Mix()
        cfg.switchProbability = 1   // always CutMix
        let s = 16, b = 3, classes = 4
        var seenPartial = false
        for i in 0..<200 {
            let choice = MixupCutMix.choose(config: cfg, height: s, width: s, key: PRNGKey(11, UInt32(i)))
            guard case let .cutmix(lam, box) = choice else { return XCTFail("expected cutmix, got \(choice)") }
            XCTAssertTrue(box.top >= 0 && box.left >= 0 && box.top + box.height <= s && box.left + box.width <= s)
            XCTAssertEqual(lam, Float(1 - Double(box.width * box.height) / Double(s * s)), accuracy: 1e-6)
            if box.width > 0 && box.height > 0 && box.width < s { seenPartial = true }
        }
        XCTAssertTrue(seenPartial)
        // Apply one: pixels inside the box come from the reversed sample, labels sum to 1.
        let box = RandomResizedCrop.Box(top: 2, left: 5, height: 6, width: 4)
        let lam = Float(1 - 24.0 / 256.0)
        let x0 = Tensor(shape: [b, s, s, 3], scalars: (0..<(b * s * s * 3)).map { Float($0) })
        var x = x0
        var labels = Tensor(shape: [b, classes], scalars: MixupCutMix.smoothedOneHot([0, 1, 2], classes: classes, smoothing: 0).flatMap { $0 })
        MixupCutMix.apply(.cutmix(lambda: lam, box: box), x: &x, labels: &labels)
        for y in 0..<s { for xx in 0..<s {
            let inside = y >= 2 && y < 8 && xx >= 5 && xx < 9
            XCTAssertEqual(x[0, y, xx, 1], inside ? x0[2, y, xx, 1] : x0[0, y, xx, 1])
            XCTAssertEqual(x[1, y, xx, 0], x0[1, y, xx, 0])   // the middle sample mixes with itself
        } }
        XCTAssertEqual(labels[0, 0], lam, accuracy: 1e-6)
        XCTAssertEqual(labels[0, 2], 1 - lam, accuracy: 1e-6)
        for i in 0..<b { XCTAssertEqual((0..<classes).map { labels[i, $0] }.reduce(0, +), 1, accuracy: 1e-6) }
    }

    func testMixChoiceSwitchesBothWays() {
        let cfg = AugmentConfig.Mix()
        var mixups = 0, cutmixes = 0
        for i in 0..<400 {
            switch MixupCutMix.choose(config: cfg, height: 8, width: 8, key: PRNGKey(2, UInt32(i))) {
            case .mixup: mixups += 1
            case .cutmix: cutmixes += 1
            case .none: XCTFail("prob 1.0 always mixes")
            }
        }
        XCTAssertEqual(Double(cutmixes) / 400, 0.5, accuracy: 0.08)
        XCTAssertGreaterThan(mixups, 0)
        var off = cfg; off.enabled = false
        XCTAssertEqual(MixupCutMix.choose(config: off, height: 8, width: 8, key: PRNGKey(0, 0)), .none)
    }

    func testAugmentConfigSetAndCodable() throws {
        var c = AugmentConfig.convnext
        try c.set("erasing.probability=0.5")
        XCTAssertEqual(c.erasing.probability, 0.5)
        try c.set("randaugment.enabled=off")
        XCTAssertFalse(c.randAugment.enabled)
        try c.setEnabled("mix", false)
        XCTAssertFalse(c.mix.enabled)
        XCTAssertThrowsError(try c.set("erasing.probability=2"))
        XCTAssertThrowsError(try c.set("nonsense=1"))
        XCTAssertThrowsError(try c.setEnabled("blur", true))
        let data = try JSONEncoder().encode(c)
        XCTAssertEqual(try JSONDecoder().decode(AugmentConfig.self, from: data), c)
        XCTAssertTrue(c.parameters.contains { $0.name == "mix.cutmixalpha" && $0.value == "1.0" })
        c.setAll(false)
        XCTAssertFalse(c.crop.enabled || c.flip.enabled || c.randAugment.enabled || c.erasing.enabled || c.mix.enabled)
        XCTAssertEqual(c.labelSmoothing, 0.1)
    }
}
