import Foundation
import JSON
import JaxRandom
import Models
import Tensors
import XCTest
@testable import Shell

/// `bench …` returns sane, complete records at tiny sizes and leaves the
/// session alone. No timing is asserted: only that times were measured.
final class BenchCommandsTests: XCTestCase {
    func record(_ cell: Cell, file: StaticString = #filePath, line: UInt = #line) throws -> Record {
        guard case .record(let r)? = cell.result else {
            XCTFail("\(cell.command): expected a record, got \(cell.error ?? String(describing: cell.result))", file: file, line: line)
            throw XCTSkip("no record")
        }
        return r
    }

    func number(_ v: JSONValue?) -> Double? {
        switch v {
        case .double(let d)?: return d
        case .float(let f)?: return Double(f)
        case .int(let i)?: return Double(i)
        default: return nil
        }
    }

    func testBenchTrainReportsPhasesAndLeavesTheSessionAlone() throws {
        let workbench = Workbench()
        let cells = runCommands("rng seed 7; bench train --model atto --classes 10 --batch 2 --image-size 32 --steps 3 --warmup 1 --threads 1; status",
                                workbench: workbench)
        XCTAssertTrue(cells.allSatisfy(\.ok), cells.compactMap(\.error).joined(separator: "; "))
        let r = try record(cells[1])
        XCTAssertEqual(r["bench"], "train")
        XCTAssertEqual(r["steps"], .int(3))
        XCTAssertEqual(r["batch"], .int(2))
        XCTAssertEqual(r["threads"], .int(1))
        XCTAssertEqual(r["kernels"], .string(KernelTarget.level))
        XCTAssertEqual(workbench.lastJob?.completed, 4, "warm-up + timed steps ran")
        let imgS = try XCTUnwrap(number(r["img_s"])), lo = try XCTUnwrap(number(r["img_s_min"])), hi = try XCTUnwrap(number(r["img_s_max"]))
        XCTAssertGreaterThan(imgS, 0)
        XCTAssertLessThanOrEqual(lo, imgS)
        XCTAssertLessThanOrEqual(imgS, hi)
        XCTAssertGreaterThan(try XCTUnwrap(number(r["step_s"])), 0)
        XCTAssertGreaterThan(try XCTUnwrap(number(r["peak_rss_mib"])), 0)
        guard case .object(let phases)? = r["phase_s"] else { return XCTFail("phase_s is an object") }
        XCTAssertEqual(phases.map(\.0), ["data", "forward", "loss", "backward", "update"])
        for (name, value) in phases where name != "loss" {
            XCTAssertGreaterThan(try XCTUnwrap(number(value)), 0, name)
        }
        // Per-op times: every kind of kernel a step runs was timed, and they fit in the step.
        XCTAssertEqual(r["gemm"], "auto")
        guard case .object(let ops)? = r["op_s"] else { return XCTFail("op_s is an object") }
        XCTAssertEqual(ops.map(\.0), ["stem", "downsample", "depthwise", "layernorm", "gemm", "gelu", "elementwise",
                                       "head", "statistics", "optimizer", "data", "other"])
        var kernels = 0.0
        for (name, value) in ops where name != "other" && name != "data" {
            let seconds = try XCTUnwrap(number(value))
            XCTAssertGreaterThan(seconds, 0, name)
            kernels += seconds
        }
        // Medians of parts need not add up exactly: 1 ms of slack.
        XCTAssertLessThanOrEqual(kernels, try XCTUnwrap(number(r["step_s"])) + 1e-3)
        // The bench built its own model: the session still has none, and its keys were not advanced.
        guard case .record(let status)? = cells[2].result else { return XCTFail("status record") }
        XCTAssertEqual(status["model"], "none (model build tiny)")
        XCTAssertNil(workbench.snapshot.params)
        XCTAssertEqual(workbench.snapshot.keys.step, 0)
        XCTAssertEqual(workbench.snapshot.keys.seedValue, 7)
    }

    func testBenchInferInitAndSaveJSON() throws {
        let workbench = Workbench()
        let output = CapturedOutput()
        let runner = ScriptRunner(workbench: workbench, options: .init(json: true), output: output)
        let status = runner.run("bench infer --model atto --classes 10 --batch 2 --image-size 32 --steps 2 --warmup 0\nbench init --model atto --steps 2\nbench save --model atto --classes 10 --steps 1 --warmup 0",
                                source: "bench.cnx")
        XCTAssertEqual(status, 0, output.stderr.joined(separator: "\n"))
        XCTAssertEqual(output.stdout.count, 3)
        for (line, keys) in zip(output.stdout, [["img_s", "img_s_min", "img_s_max", "step_s", "cpu_s", "img_per_cpu_s", "phase_s", "peak_rss_mib", "load_avg"],
                                                 ["step_s", "cpu_s", "phase_s", "peak_rss_mib"],
                                                 ["write_s", "read_s", "mb", "peak_rss_mib"]]) {
            let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
            let result = object?["result"] as? [String: Any], fields = result?["fields"] as? [String: Any]
            XCTAssertEqual(object?["ok"] as? Bool, true, line)
            for key in keys { XCTAssertNotNil(fields?[key], "\(key) in \(line)") }
        }
        let infer = try record(workbench.cells[0])
        XCTAssertGreaterThan(try XCTUnwrap(number(infer["img_s"])), 0)
        XCTAssertEqual(infer["steps"], .int(2))
        let initRecord = try record(workbench.cells[1])
        guard case .object(let phases)? = initRecord["phase_s"] else { return XCTFail("phase_s is an object") }
        XCTAssertEqual(phases.map(\.0), ["build", "init"])
        XCTAssertGreaterThan(try XCTUnwrap(number(initRecord["parameters"])), 3_000_000, "atto has 3.7M parameters")
        let save = try record(workbench.cells[2])
        // 4 trees (params, EMA, two moments) of atto's parameters at 10 classes, in float32.
        let arrays = try XCTUnwrap(number(save["arrays"])), parameters = try XCTUnwrap(number(save["parameters"]))
        XCTAssertEqual(number(save["tensors"]), 4 * arrays)
        XCTAssertEqual(try XCTUnwrap(number(save["mb"])), 16 * parameters / 1e6, accuracy: 0.1)
        XCTAssertGreaterThan(try XCTUnwrap(number(save["read_s"])), 0)
    }

    func testBadSettingsAreOneLineErrors() {
        let cells = runCommands("bench train --batch 0; bench infer --steps 0; bench train --model tiniest; bench infer --gemm fastest")
        XCTAssertEqual(cells[0].error, "flag --batch of 'bench train' must be 1…4096, got 0")
        XCTAssertEqual(cells[1].error, "flag --steps of 'bench infer' must be 1…100000, got 0")
        XCTAssertNotNil(cells[2].error)
        XCTAssertNotNil(cells[3].error?.range(of: "auto"), "the error lists the --gemm choices: \(cells[3].error ?? "none")")
    }

    /// `bench infer` times `ConvNeXt.logits`, which skips the forward cache
    /// and activation statistics: its logits must be the train-free forward's, bit for bit.
    func testLeanLogitsEqualTheRecordingForward() throws {
        let model = try ConvNeXt(config: ConvNeXtConfig(depths: [1, 1, 2, 1], dims: [16, 32, 48, 64], classes: 10, imageSize: 32))
        let params = model.initialize(paramsKey: PRNGKey(seed: 3))
        let x = Tensor(shape: [2, 32, 32, 3], scalars: Random.normal(PRNGKey(seed: 4), count: 2 * 32 * 32 * 3))
        let recorded = model.forward(x, params: params, train: false, rngs: nil)
        XCTAssertEqual(recorded.cache.blockRecords.count, 5)
        XCTAssertEqual(model.logits(x, params: params).scalars, recorded.logits.scalars)
    }
}
