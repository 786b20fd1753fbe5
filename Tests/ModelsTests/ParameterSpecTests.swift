import XCTest
import TestSupport
@testable import Models

final class ParameterSpecTests: XCTestCase {
    /// ConvNeXt-Tiny: the 182 paths, shapes and order of tiny_model.json, 28,589,128 parameters
    /// (its weight-decay flags are checked against the optimizer's mask in OptimizersTests).
    func testTinyMatchesGoldenTable() throws {
        let j = try G.object("tiny_model.json")
        let table = j["params"] as! [[String: Any]]
        let model = try ConvNeXt(config: .variant("tiny", classes: j["num_classes"] as! Int))
        let specs = model.parameterSpecs()
        XCTAssertEqual(specs.count, 182)
        XCTAssertEqual(specs.count, j["num_param_arrays"] as! Int)
        XCTAssertEqual(model.parameterCount, 28_589_128)
        XCTAssertEqual(model.parameterCount, j["param_count"] as! Int)
        XCTAssertEqual(specs.map(\.path), table.map { $0["path"] as! String })
        for (spec, row) in zip(specs, table) {
            XCTAssertEqual(spec.shape, row["shape"] as! [Int], spec.path)
        }
        XCTAssertEqual(Set(model.parameterSpecsInModelOrder().map(\.path)), Set(specs.map(\.path)))
        XCTAssertEqual(model.parameterSpecsInModelOrder().first?.path, "ConvNeXtBackbone_0/Stem_Conv/kernel")
    }

    func testSmallMatchesGoldenTable() throws {
        let j = try G.object("small_model.json")
        let table = j["params"] as! [[String: Any]]
        let model = try ConvNeXt(config: G.smallConfig())
        XCTAssertEqual(model.parameterSpecs().map(\.path), table.map { $0["path"] as! String })
        XCTAssertEqual(model.parameterSpecs().map(\.shape), table.map { $0["shape"] as! [Int] })
        XCTAssertEqual(model.parameterCount, j["param_count"] as! Int)
    }

    func testInitKindsAndKeyFacts() throws {
        let model = try ConvNeXt(config: .variant("tiny"))
        let byPath = Dictionary(uniqueKeysWithValues: model.parameterSpecs().map { ($0.path, $0) })
        let conv1 = byPath["ConvNeXtBackbone_0/BottleneckConvNeXtBlock_01_01/Conv_1/kernel"]!
        XCTAssertEqual(conv1.modulePath, ["ConvNeXtBackbone_0", "BottleneckConvNeXtBlock_01_01", "Conv_1"])
        XCTAssertEqual(conv1.rngCounter, 1)
        XCTAssertEqual(conv1.initializer, .truncatedNormal(stddev: 0.02))
        XCTAssertEqual(byPath["Head/kernel"]!.initializer, .lecunNormal(fanIn: 768))
        XCTAssertEqual(byPath["Head/bias"]!.rngCounter, 2)
        XCTAssertEqual(byPath["LayerNorm_0/scale"]!.initializer, .constant(1))
        XCTAssertEqual(byPath["ConvNeXtBackbone_0/BottleneckConvNeXtBlock_04_03/LayerScale_0/scale"]!.initializer, .constant(1e-6))
        XCTAssertEqual(byPath["ConvNeXtBackbone_0/Downsample_Conv_03/kernel"]!.shape, [2, 2, 384, 768])
        XCTAssertEqual(byPath["ConvNeXtBackbone_0/BottleneckConvNeXtBlock_03_09/DepthWise_Conv_0/kernel"]!.shape, [7, 7, 1, 384])
    }

    /// Tiny at 224: ~4.5 GMACs per image, and the table's parameters sum to the model's.
    func testTinyMACs() throws {
        let model = try ConvNeXt(config: .variant("tiny"))
        let rows = model.layerSummary()
        XCTAssertEqual(rows.reduce(0) { $0 + $1.parameters }, 28_589_128)
        let macs = model.macsPerImage()
        XCTAssertEqual(Double(macs) / 1e9, 4.47, accuracy: 0.05, "Tiny GMACs \(Double(macs) / 1e9)")
        XCTAssertEqual(rows.first?.outputShape, [56, 56, 96])
        XCTAssertEqual(rows.last?.outputShape, [1000])
        // SAME sizes for 40x40: 10 -> 5 -> 3 -> 2.
        XCTAssertEqual(model.stageSizes(imageSize: 40).map(\.height), [10, 5, 3, 2])
    }
}
