import XCTest
import TestSupport
@testable import Models

final class ConfigTests: XCTestCase {
    func testVariants() throws {
        let expect: [(String, [Int], [Int])] = [
            ("atto", [2, 2, 6, 2], [40, 80, 160, 320]), ("femto", [2, 2, 6, 2], [48, 96, 192, 384]),
            ("pico", [2, 2, 6, 2], [64, 128, 256, 512]), ("nano", [2, 2, 8, 2], [80, 160, 320, 640]),
            ("tiny", [3, 3, 9, 3], [96, 192, 384, 768]), ("small", [3, 3, 27, 3], [96, 192, 384, 768]),
            ("base", [3, 3, 27, 3], [128, 256, 512, 1024]), ("large", [3, 3, 27, 3], [192, 384, 768, 1536]),
        ]
        for (name, depths, dims) in expect {
            let c = try ConvNeXtConfig.variant(name)
            XCTAssertEqual(c.depths, depths, name)
            XCTAssertEqual(c.dims, dims, name)
            XCTAssertEqual(c.kernelSize, 7)
            XCTAssertEqual(c.layerScaleInit, Float(1e-6))
            XCTAssertEqual(c.layerNormEpsilon, Float(1e-6))
            XCTAssertEqual(c.variantName, name)
        }
        XCTAssertEqual(try ConvNeXtConfig.variant("convnext_tiny").dims, [96, 192, 384, 768])
        XCTAssertEqual(try ConvNeXtConfig.variant("Tiny", classes: 10).classes, 10)
    }

    func testUnknownVariantSuggests() {
        XCTAssertThrowsError(try ConvNeXtConfig.variant("tinny")) { e in
            let msg = "\(e)"
            XCTAssertTrue(msg.contains("did you mean 'tiny'"), msg)
            XCTAssertFalse(msg.contains("\n"))
        }
        XCTAssertThrowsError(try ConvNeXtConfig.variant("resnet50")) { e in
            XCTAssertTrue("\(e)".contains("choose one of atto"), "\(e)")
        }
    }

    func testValidationErrors() {
        func message(_ c: ConvNeXtConfig) -> String? {
            do { _ = try ConvNeXt(config: c); return nil } catch { return "\(error)" }
        }
        XCTAssertEqual(message(ConvNeXtConfig(depths: [1, 1, 2], dims: [16, 32, 48, 64])),
                       "depths has 3 stages but dims has 4: give one width per stage")
        XCTAssertNotNil(message(ConvNeXtConfig(depths: [1, 0], dims: [8, 16]))?.range(of: "depths must be positive"))
        XCTAssertNotNil(message(ConvNeXtConfig(depths: [1, 1], dims: [8, -16]))?.range(of: "dims must be positive"))
        XCTAssertNotNil(message(ConvNeXtConfig(depths: [1], dims: [8], classes: 0))?.range(of: "classes"))
        XCTAssertNotNil(message(ConvNeXtConfig(depths: [1], dims: [8], imageSize: 0))?.range(of: "image size"))
        XCTAssertNotNil(message(ConvNeXtConfig(depths: [1], dims: [8], kernelSize: 4))?.range(of: "odd"))
        XCTAssertNotNil(message(ConvNeXtConfig(depths: [1], dims: [8], dropPathRate: 1))?.range(of: "drop-path"))
        XCTAssertNotNil(message(ConvNeXtConfig(depths: [1], dims: [8], headDropout: -0.1))?.range(of: "head dropout"))
        XCTAssertNotNil(message(ConvNeXtConfig(depths: [], dims: []))?.range(of: "empty"))
        XCTAssertNil(message(ConvNeXtConfig(depths: [1], dims: [8])))
    }

    func testCodableRoundTrip() throws {
        let c = try ConvNeXtConfig.variant("nano", classes: 7, imageSize: 64, dropPathRate: 0.2, headDropout: 0.1)
        let data = try JSONEncoder().encode(c)
        XCTAssertEqual(try JSONDecoder().decode(ConvNeXtConfig.self, from: data), c)
    }

    /// Per-block rates equal numpy's float64 linspace bit for bit (golden lists,
    /// read from the JSON text with correctly rounded parsing).
    func testDropPathRatesMatchNumpyLinspace() throws {
        XCTAssertEqual(try ConvNeXtConfig.variant("tiny", dropPathRate: 0.1).dropPathRates,
                       try G.doubles(inJSON: "tiny_model.json", after: "\"stochastic_depth_rates\"", key: "rates"))
        XCTAssertEqual(try G.smallConfig().dropPathRates,
                       try G.doubles(inJSON: "small_model.json", after: nil, key: "stochastic_depth_rates"))
        XCTAssertEqual(ConvNeXtConfig(depths: [2, 2], dims: [4, 8], dropPathRate: 0).dropPathRates, [0, 0, 0, 0])
        XCTAssertEqual(ConvNeXtConfig(depths: [1], dims: [4], dropPathRate: 0.3).dropPathRates, [0])
        XCTAssertEqual(ConvNeXtConfig(depths: [3, 3, 9, 3], dims: [1, 1, 1, 1], dropPathRate: 0.1).dropPathRates[7],
                       0.041176470588235294)
    }
}
