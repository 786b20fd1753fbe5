import XCTest
import Foundation
import Tensors
import JaxRandom
@testable import Models

final class TimmNamingTests: XCTestCase {
    func model() throws -> ConvNeXt {
        try ConvNeXt(config: ConvNeXtConfig(depths: [1, 1, 2, 1], dims: [16, 32, 48, 64], classes: 10))
    }

    /// Random params so a wrong transpose cannot pass unnoticed.
    func randomParams(_ m: ConvNeXt) -> TensorTree {
        var i: UInt32 = 0
        return m.initialize(paramsKey: PRNGKey(seed: 5)).map { _, t in
            i += 1
            return Tensor(shape: t.shape, scalars: Random.normal(PRNGKey(seed: 9).foldIn(i), count: t.count))
        }
    }

    func testNamesAndLayouts() throws {
        let m = try model()
        XCTAssertEqual(m.timmName(forFlaxPath: "ConvNeXtBackbone_0/Stem_Conv/kernel"), "stem.0.weight")
        XCTAssertEqual(m.timmName(forFlaxPath: "ConvNeXtBackbone_0/LayerNorm_0/scale"), "stem.1.weight")
        XCTAssertEqual(m.timmName(forFlaxPath: "ConvNeXtBackbone_0/LayerNorm_2/bias"), "stages.2.downsample.0.bias")
        XCTAssertEqual(m.timmName(forFlaxPath: "ConvNeXtBackbone_0/Downsample_Conv_03/kernel"), "stages.3.downsample.1.weight")
        XCTAssertEqual(m.timmName(forFlaxPath: "ConvNeXtBackbone_0/BottleneckConvNeXtBlock_03_02/DepthWise_Conv_0/kernel"),
                       "stages.2.blocks.1.conv_dw.weight")
        XCTAssertEqual(m.timmName(forFlaxPath: "ConvNeXtBackbone_0/BottleneckConvNeXtBlock_01_01/Conv_1/bias"), "stages.0.blocks.0.mlp.fc1.bias")
        XCTAssertEqual(m.timmName(forFlaxPath: "ConvNeXtBackbone_0/BottleneckConvNeXtBlock_01_01/Conv_2/kernel"), "stages.0.blocks.0.mlp.fc2.weight")
        XCTAssertEqual(m.timmName(forFlaxPath: "ConvNeXtBackbone_0/BottleneckConvNeXtBlock_04_01/LayerNorm_0/scale"), "stages.3.blocks.0.norm.weight")
        XCTAssertEqual(m.timmName(forFlaxPath: "ConvNeXtBackbone_0/BottleneckConvNeXtBlock_04_01/LayerScale_0/scale"), "stages.3.blocks.0.gamma")
        XCTAssertEqual(m.timmName(forFlaxPath: "LayerNorm_0/bias"), "head.norm.bias")
        XCTAssertEqual(m.timmName(forFlaxPath: "Head/kernel"), "head.fc.weight")
        XCTAssertEqual(m.flaxPath(forTimmName: "head.fc.bias"), "Head/bias")
        XCTAssertNil(m.timmName(forFlaxPath: "ConvNeXtBackbone_0/Downsample_Conv_00/kernel"))
        let names = try m.exportParameters(randomParams(m), naming: .timm).map(\.0)
        XCTAssertFalse(names.contains { $0.hasPrefix("stages.0.downsample") }, "stage 0 has no downsample")
        XCTAssertEqual(Set(names).count, m.parameterSpecs().count)

        let p = randomParams(m)
        let exported = Dictionary(uniqueKeysWithValues: try m.exportParameters(p, naming: .timm))
        let stem = exported["stem.0.weight"]!, flaxStem = p["ConvNeXtBackbone_0/Stem_Conv/kernel"]!
        XCTAssertEqual(stem.shape, [16, 3, 4, 4])
        XCTAssertEqual(stem[5, 2, 1, 3], flaxStem[1, 3, 2, 5])   // OIHW[o,i,y,x] == HWIO[y,x,i,o]
        let dw = exported["stages.1.blocks.0.conv_dw.weight"]!
        XCTAssertEqual(dw.shape, [32, 1, 7, 7])
        XCTAssertEqual(dw[20, 0, 6, 1], p["ConvNeXtBackbone_0/BottleneckConvNeXtBlock_02_01/DepthWise_Conv_0/kernel"]![6, 1, 0, 20])
        let fc1 = exported["stages.2.blocks.1.mlp.fc1.weight"]!
        XCTAssertEqual(fc1.shape, [192, 48])
        XCTAssertEqual(fc1[100, 7], p["ConvNeXtBackbone_0/BottleneckConvNeXtBlock_03_02/Conv_1/kernel"]![7, 100])
        XCTAssertEqual(exported["head.fc.weight"]!.shape, [10, 64])
    }

    func testRoundTrips() throws {
        let m = try model()
        let p = randomParams(m)
        for naming in ParameterNaming.allCases {
            let back = try m.importParameters(try m.exportParameters(p, naming: naming), naming: naming)
            XCTAssertEqual(back, p, "\(naming) round trip")
            XCTAssertEqual(back.paths, m.parameterSpecs().map(\.path))
        }
        // Import order does not matter.
        let shuffled = try m.exportParameters(p, naming: .timm).reversed()
        XCTAssertEqual(try m.importParameters(Array(shuffled), naming: .timm), p)
    }

    func testImportErrorsNameTheTensor() throws {
        let m = try model()
        let good = try m.exportParameters(randomParams(m), naming: .timm)
        func error(_ tensors: [(String, Tensor)], _ naming: ParameterNaming = .timm) -> String {
            do { _ = try m.importParameters(tensors, naming: naming); return "no error" } catch { return "\(error)" }
        }
        let missing = error(good.filter { $0.0 != "stages.1.blocks.0.gamma" })
        XCTAssertTrue(missing.contains("'stages.1.blocks.0.gamma' is missing"), missing)
        let extra = error(good + [("stages.9.blocks.0.gamma", Tensor.zeros([3]))])
        XCTAssertTrue(extra.contains("unexpected tensor 'stages.9.blocks.0.gamma'"), extra)
        let bad = error(good.map { $0.0 == "head.fc.weight" ? ($0.0, Tensor.zeros([1000, 64])) : $0 })
        XCTAssertTrue(bad.contains("'head.fc.weight' has shape [1000, 64], expected [10, 64]"), bad)
        let nan = error(good.map { $0.0 == "stem.0.bias" ? ($0.0, Tensor(repeating: .nan, shape: [16])) : $0 })
        XCTAssertTrue(nan.contains("'stem.0.bias'") && nan.contains("non-finite"), nan)
        let wrongNaming = error(good, .flax)
        XCTAssertTrue(wrongNaming.contains("missing") || wrongNaming.contains("timm"), wrongNaming)
        let dup = error(good + [good[0]])
        XCTAssertTrue(dup.contains("appears twice"), dup)
        for msg in [missing, extra, bad, nan, wrongNaming, dup] { XCTAssertFalse(msg.contains("\n")) }
        // A Flax tree with a mis-shaped leaf is refused by validateParameters too.
        var p = randomParams(m)
        p["Head/bias"] = .zeros([11])
        XCTAssertThrowsError(try m.validateParameters(p)) { XCTAssertTrue("\($0)".contains("'Head/bias'")) }
    }
}

final class ParameterFileTests: XCTestCase {
    func testSaveAndLoadBothNamings() throws {
        let m = try ConvNeXt(config: ConvNeXtConfig(depths: [1, 1], dims: [8, 16], classes: 3))
        let p = m.initialize(paramsKey: PRNGKey(seed: 11)).map { _, t in
            Tensor(shape: t.shape, scalars: t.scalars.enumerated().map { Float($0.offset % 7) * 0.25 - 0.5 })
        }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("cnx-models-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        for naming in ParameterNaming.allCases {
            let url = dir.appendingPathComponent("p-\(naming).safetensors")
            try m.saveParameters(p, naming: naming, to: url)
            XCTAssertEqual(try m.loadParameters(from: url, naming: naming), p)
            let other: ParameterNaming = naming == .flax ? .timm : .flax
            XCTAssertThrowsError(try m.loadParameters(from: url, naming: other)) { e in
                XCTAssertTrue("\(e)".contains("missing") || "\(e)".contains("unexpected"), "\(e)")
            }
        }
        // A model of another width refuses the file, naming a tensor.
        let wide = try ConvNeXt(config: ConvNeXtConfig(depths: [1, 1], dims: [8, 24], classes: 3))
        XCTAssertThrowsError(try wide.loadParameters(from: dir.appendingPathComponent("p-timm.safetensors"), naming: .timm)) { e in
            XCTAssertTrue("\(e)".contains("has shape"), "\(e)")
        }
    }
}
