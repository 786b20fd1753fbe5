import Foundation
import SafeTensors
import Tensors
import TestSupport
import XCTest
@testable import Shell

final class ModelCommandsTests: XCTestCase {
    let small = "model build convnext --depths 1,1,2,1 --dims 16,32,48,64 --classes 10 --image-size 32 --drop-path 0.1"
    var tmp: URL!

    override func setUpWithError() throws {
        tmp = FileManager.default.temporaryDirectory.appendingPathComponent("cnx-model-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: tmp, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: tmp) }

    func ok(_ cells: [Cell], file: StaticString = #filePath, line: UInt = #line) {
        for c in cells where !c.ok { XCTFail("\(c.command): \(c.error!)", file: file, line: line) }
    }

    /// The scripting contract's parity path: rng seed 42; model init; forward/grad match JAX.
    func testForwardAndGradCommandsMatchGolden() throws {
        let input = try Golden.url("small_input.safetensors").path
        let eval = try SafeTensorsFile.read(try Golden.url("small_eval.safetensors"))
        let cells = runCommands("\(small); rng seed 42; model init; forward \(input) --out \(tmp.path)/logits.safetensors; grad \(input) --out \(tmp.path)/grads.safetensors")
        ok(cells)
        let logits = try SafeTensorsFile.read(tmp.appendingPathComponent("logits.safetensors")).tensor("logits")
        XCTAssertLessThanOrEqual(maxAbsDiff(logits, try eval.tensor("logits")), 1e-5)
        let grads = try SafeTensorsFile.read(tmp.appendingPathComponent("grads.safetensors"))
        let path = "ConvNeXtBackbone_0/Stem_Conv/kernel"
        let expected = try eval.tensor("grads/" + path)
        let maxAbs = expected.scalars.map(abs).max()!
        XCTAssertLessThanOrEqual(maxAbsDiff(try grads.tensor(path), expected), 1e-5 * maxAbs + 1e-9)
        XCTAssertEqual(grads.names.count, 66, "loss plus 65 gradients")
    }

    func testInitMatchesGoldenParameters() throws {
        let golden = try SafeTensorsFile.read(try Golden.url("small_init_params.safetensors"))
        let workbench = Workbench()
        ok(runCommands("\(small); rng seed 42; model init", workbench: workbench))
        let params = workbench.snapshot.params!
        XCTAssertEqual(Set(params.paths), Set(golden.names))
        for path in params.paths {
            XCTAssertEqual(params[path]!.scalars, try golden.tensor(path).scalars, "\(path) is not bit-exact")
        }
    }

    func testExportImportRoundTripBothNamings() throws {
        let workbench = Workbench()
        ok(runCommands("\(small); model init; params export \(tmp.path)/f.safetensors; params export \(tmp.path)/t.safetensors --naming timm", workbench: workbench))
        let original = workbench.snapshot.params!
        ok(runCommands("rng seed 1; model init", workbench: workbench))
        XCTAssertNotEqual(workbench.snapshot.params, original)
        ok(runCommands("params import \(tmp.path)/t.safetensors --naming timm", workbench: workbench))
        XCTAssertEqual(workbench.snapshot.params, original)
        let timmNames = try SafeTensorsFile.read(tmp.appendingPathComponent("t.safetensors")).names
        XCTAssertTrue(timmNames.contains("stages.0.blocks.0.conv_dw.weight"))
    }

    func testBadCheckpointLeavesTheModelUntouched() throws {
        let workbench = Workbench()
        ok(runCommands("\(small); model init; params export \(tmp.path)/f.safetensors", workbench: workbench))
        let before = workbench.snapshot.params
        // Drop one tensor from the file.
        let file = try SafeTensorsFile.read(tmp.appendingPathComponent("f.safetensors"))
        let kept = try file.names.filter { $0 != "Head/bias" }.map { ($0, try file.tensor($0)) }
        try SafeTensorsFile.write(kept, metadata: [:], to: tmp.appendingPathComponent("missing.safetensors"))
        let cell = runCommands("params import \(tmp.path)/missing.safetensors", workbench: workbench)[0]
        XCTAssertTrue(cell.error?.contains("Head/bias") ?? false, cell.error ?? "no error")
        XCTAssertEqual(workbench.snapshot.params, before)
        let missingFile = runCommands("params import \(tmp.path)/nope.safetensors", workbench: workbench)[0]
        XCTAssertNotNil(missingFile.error)
        XCTAssertEqual(workbench.snapshot.params, before)
    }

    func testBuildErrorsKeepTheLiveModel() {
        let workbench = Workbench()
        ok(runCommands(small, workbench: workbench))
        let errors = runCommands("model build tiyn; model build convnext --depths 1,2 --dims 3; model build convnext --dims 1,2; model build tiny --depths 1", workbench: workbench).map(\.error)
        XCTAssertTrue(errors[0]?.contains("did you mean 'tiny'?") ?? false)
        XCTAssertEqual(errors[1], "depths has 2 stages but dims has 1: give one width per stage")
        XCTAssertTrue(errors[2]?.contains("needs --depths and --dims") ?? false)
        XCTAssertTrue(errors[3]?.contains("named variant fixes them") ?? false)
        XCTAssertEqual(workbench.snapshot.modelConfig?.dims, [16, 32, 48, 64])
    }

    func testSummaryAndInspection() throws {
        let cells = runCommands("model build tiny; model summary; show droppath")
        ok(cells)
        guard case .group(let parts)? = cells[1].result, case .table(let table) = parts[0] else { return XCTFail("summary table") }
        XCTAssertEqual(table.footer?[3], .int(28_589_128))
        guard case .group(let dp)? = cells[2].result, case .table(let rates) = dp[0] else { return XCTFail("droppath table") }
        XCTAssertEqual(rates.rows.count, 18)
        XCTAssertEqual(rates.rows.last?[3], .double(0.1))
        XCTAssertEqual(runCommands("show layerscale")[0].error, "no model yet: build one with `model build tiny` (or `model build convnext --depths 1,1,2,1 --dims 16,32,48,64`)")
    }
}
