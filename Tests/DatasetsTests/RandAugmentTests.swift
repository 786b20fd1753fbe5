import JaxRandom
import XCTest
@testable import Datasets

final class RandAugmentTests: XCTestCase {
    func testPointOps() {
        let img = testPattern(16, 16)
        let inv = RandAugment.apply(.invert, to: img, magnitude: 9, negate: false)
        XCTAssertEqual(inv.pixels, img.pixels.map { 255 - $0 })
        // Posterize at m9: keep 4 - int(0.9*4) = 1 bit.
        let post = RandAugment.apply(.posterize, to: img, magnitude: 9, negate: false)
        XCTAssertTrue(post.pixels.allSatisfy { $0 == 0 || $0 == 128 })
        // Solarize at m9: threshold 256 - int(0.9*256) = 26.
        let sol = RandAugment.apply(.solarize, to: img, magnitude: 9, negate: false)
        for (a, b) in zip(img.pixels, sol.pixels) { XCTAssertEqual(b, a < 26 ? a : 255 - a) }
        // SolarizeAdd at m9: add int(0.9*110) = 99 below 128.
        let sa = RandAugment.apply(.solarizeAdd, to: img, magnitude: 9, negate: false)
        for (a, b) in zip(img.pixels, sa.pixels) { XCTAssertEqual(Int(b), a < 128 ? min(255, Int(a) + 99) : Int(a)) }
    }

    func testAutoContrastStretchesToFullRange() {
        var img = RGBImage(width: 4, height: 1, fill: (50, 60, 70))
        img[3, 0, 0] = 150; img[3, 0, 1] = 60; img[3, 0, 2] = 90
        let out = RandAugment.apply(.autoContrast, to: img, magnitude: 5, negate: false)
        XCTAssertEqual(out[0, 0, 0], 0); XCTAssertEqual(out[3, 0, 0], 255)
        XCTAssertEqual(out[0, 0, 1], 60)           // a flat channel is unchanged
        XCTAssertEqual(out[3, 0, 2], 255)
    }

    func testEqualizeFlattensHistogram() {
        let img = testPattern(32, 32)
        let out = RandAugment.apply(.equalize, to: img, magnitude: 0, negate: false)
        let hist = RandAugment.histograms(out)[0]
        XCTAssertGreaterThan(hist.firstIndex { $0 > 0 }!, -1)
        XCTAssertGreaterThanOrEqual(out.pixels.max()!, 240)
    }

    func testEnhanceBlendIdentityAtFactorOne() {
        let img = testPattern(12, 12)
        for op in [RandAugment.Op.color, .contrast, .brightness, .sharpness] {
            XCTAssertEqual(RandAugment.enhance(op, img, factor: 1), img, "\(op)")
        }
        // Brightness 0.5 halves (truncating), colour 0 is greyscale.
        let half = RandAugment.enhance(.brightness, img, factor: 0.5)
        XCTAssertEqual(half.pixels, img.pixels.map { UInt8(Float($0) * 0.5) })
        let grey = RandAugment.enhance(.color, img, factor: 0)
        for i in 0..<(12 * 12) { XCTAssertEqual(grey.pixels[3 * i], grey.pixels[3 * i + 2]) }
    }

    func testGeometricOps() {
        let img = testPattern(20, 20)
        // Translate by an integer number of pixels shifts exactly and fills with the mean colour.
        let t = RandAugment.affine(img, [1, 0, 3, 0, 1, 0])
        for y in 0..<20 { for x in 0..<20 {
            if x < 17 { XCTAssertEqual(t[x, y, 0], img[x + 3, y, 0]) } else { XCTAssertEqual(t[x, y, 0], 124) }
        } }
        XCTAssertEqual(RandAugment.rotate(img, degrees: 0), img)
        let r = RandAugment.rotate(img, degrees: 30)
        XCTAssertEqual(r[0, 0, 0], 124)  // corner leaves the image -> fill
        XCTAssertEqual(Double(r[10, 10, 1]), Double(img[10, 10, 1]), accuracy: 25)  // centre stays near
        // Every op keeps the size and is deterministic.
        for op in RandAugment.Op.allCases {
            let a = RandAugment.apply(op, to: img, magnitude: 9, negate: true)
            XCTAssertEqual(a.width, 20); XCTAssertEqual(a, RandAugment.apply(op, to: img, magnitude: 9, negate: true))
        }
    }

    func testRandAugmentDrawIsKeyed() {
        let img = testPattern(24, 24)
        let cfg = AugmentConfig.RandAugment()
        let a = RandAugment.apply(img, config: cfg, key: PRNGKey(1, 1))
        XCTAssertEqual(a, RandAugment.apply(img, config: cfg, key: PRNGKey(1, 1)))
        let changed = (0..<20).filter { RandAugment.apply(img, config: cfg, key: PRNGKey(4, UInt32($0))) != img }.count
        XCTAssertGreaterThan(changed, 10)   // 2 ops at p 0.5: ~75% change the image
    }
}
