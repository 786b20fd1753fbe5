import Foundation
import SafeTensors
import TestSupport
import XCTest
@testable import Shell

/// Every teaching script in examples/ runs through `cnx run`'s runner, and
/// the tour's small ConvNeXt really learns the synthetic set.
final class ExamplesTests: XCTestCase {
    var tmp: URL!

    override func setUpWithError() throws {
        tmp = FileManager.default.temporaryDirectory.appendingPathComponent("cnx-examples-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: tmp, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: tmp) }

    /// Runs examples/NAME in a fresh workbench whose working directory is a temp folder.
    func run(_ name: String) throws -> (status: Int32, workbench: Workbench, errors: [String]) {
        let url = Golden.repoRoot.appendingPathComponent("examples/\(name)")
        let text = try String(contentsOf: url, encoding: .utf8)
        let workbench = Workbench(workingDirectory: tmp)
        let output = CapturedOutput()
        let status = ScriptRunner(workbench: workbench, options: .init(), output: output).run(text, source: name)
        return (status, workbench, output.stderr)
    }

    func testEveryExampleIsTested() throws {
        let names = try FileManager.default.contentsOfDirectory(atPath: Golden.repoRoot.appendingPathComponent("examples").path)
            .filter { $0.hasSuffix(".cnx") }.sorted()
        XCTAssertEqual(names, ["augmentations.cnx", "layerscale.cnx", "parity.cnx", "rng.cnx", "schedule.cnx",
                               "stochastic-depth.cnx", "tour.cnx"], "add a test for each new example")
    }

    func testTourLearnsAboveNinetyPercent() throws {
        let r = try run("tour.cnx")
        XCTAssertEqual(r.status, 0, r.errors.joined(separator: "\n"))
        let evals = r.workbench.snapshot.evaluations
        XCTAssertEqual(evals.count, 2, "eval and eval --ema")
        for e in evals {
            XCTAssertGreaterThanOrEqual(e.top1, 0.9, "val top-1 \(e.top1) (ema: \(e.ema)) after the tour's training")
        }
        // LayerScale grew from its 1e-6 init.
        let gamma = r.workbench.snapshot.params!["ConvNeXtBackbone_0/BottleneckConvNeXtBlock_04_01/LayerScale_0/scale"]!
        XCTAssertGreaterThan(gamma.scalars.map(abs).max()!, 1e-3)
    }

    func testStochasticDepthExample() throws { try expectSuccess("stochastic-depth.cnx") }
    func testLayerScaleExample() throws { try expectSuccess("layerscale.cnx") }
    func testRNGExample() throws { try expectSuccess("rng.cnx") }
    func testScheduleExample() throws { try expectSuccess("schedule.cnx") }
    func testAugmentationsExample() throws {
        try expectSuccess("augmentations.cnx")
        for png in ["aug-plain.png", "aug-recipe.png", "aug-randaugment.png"] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: tmp.appendingPathComponent("out/\(png)").path), png)
        }
    }

    func testParityExampleRoundTripsLogitsThroughTimmNames() throws {
        try expectSuccess("parity.cnx")
        let a = try SafeTensorsFile.read(tmp.appendingPathComponent("out/parity-logits-a.safetensors")).tensor("logits")
        let b = try SafeTensorsFile.read(tmp.appendingPathComponent("out/parity-logits-b.safetensors")).tensor("logits")
        XCTAssertEqual(a, b, "a Flax → timm → Flax round trip must not change a single logit")
    }

    func expectSuccess(_ name: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let r = try run(name)
        XCTAssertEqual(r.status, 0, r.errors.joined(separator: "\n"), file: file, line: line)
    }
}
