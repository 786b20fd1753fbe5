import Datasets
import Foundation
import JaxRandom
import Models
import Optimizers
import SafeTensors
import Tensors
import Training
import XCTest
@testable import Sessions

/// The golden README's small ConvNeXt with MultiSteps and EMA on a small synthetic set.
func smallState() throws -> WorkbenchState {
    var s = WorkbenchState()
    s.keys.seed(42)
    s.modelConfig = ConvNeXtConfig(depths: [1, 1, 2, 1], dims: [16, 32, 48, 64], classes: 10, imageSize: 32, dropPathRate: 0.1)
    s.params = try s.requireModel().initialize(paramsKey: try s.keys.key(KeyTree.params))
    var o = OptimizerConfig()
    o.initLearningRate = 1e-4
    o.warmupSteps = 2
    o.decaySteps = 20
    o.accumulate = 3
    o.emaDecay = 0.99
    s.optimizer = o
    s.data = try DataSetup(source: .synthetic(classes: 10, size: 32, trainCount: 80, valCount: 20), augment: .convnext, batchSize: 8)
    return s
}

/// A fresh empty directory for one test.
func scratchDirectory() throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("cnx-sessions-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

struct InjectedCrash: Error {}

final class SessionStoreTests: XCTestCase {
    func assertSameState(_ a: WorkbenchState, _ b: WorkbenchState, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(a.params, b.params, "parameters", file: file, line: line)
        XCTAssertEqual(a.params?.paths, b.params?.paths, "parameter order", file: file, line: line)
        XCTAssertEqual(a.optimizerState, b.optimizerState, "optimizer state", file: file, line: line)
        XCTAssertEqual(a.emaState, b.emaState, "EMA", file: file, line: line)
        XCTAssertEqual(a.keys, b.keys, "keys", file: file, line: line)
        XCTAssertEqual(a.counters, b.counters, "counters", file: file, line: line)
        XCTAssertEqual(a.history, b.history, "history", file: file, line: line)
        XCTAssertEqual(a.evaluations, b.evaluations, "evaluations", file: file, line: line)
        XCTAssertEqual(a.modelConfig, b.modelConfig, "model", file: file, line: line)
        XCTAssertEqual(a.optimizer, b.optimizer, "optimizer", file: file, line: line)
    }

    func testRoundTripKeepsEveryPartOfTheState() throws {
        var s = try smallState()
        for _ in 0..<4 { try TrainEngine.trainStep(&s) }  // mid-accumulation: 4 = 3 + 1
        s.evaluations.append(try TrainEngine.evaluate(s, ema: true))
        XCTAssertEqual(s.optimizerState?.accumulation?.miniStep, 1)
        let dir = try scratchDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let cells = [TranscriptCell(number: 1, command: "model init", ok: true, result: .object([("kind", .string("message"))]),
                                    text: "done", seconds: 0.5),
                     TranscriptCell(number: 2, command: "nope", ok: false, error: "unknown command 'nope'")]
        let report = try SessionStore().save(s, transcript: cells, name: "run", to: dir.appendingPathComponent("run"), cnxVersion: "test")
        XCTAssertEqual(report.version, "v000001")
        let loaded = try SessionStore().load(dir.appendingPathComponent("run"), name: "run")
        assertSameState(loaded.state, s)
        XCTAssertEqual(loaded.transcript, cells)
        XCTAssertEqual(loaded.manifest.formatVersion, SessionStore.formatVersion)
        XCTAssertEqual(loaded.manifest.tensors.optimizerState?.counts, s.optimizerState!.flattened().filter {
            if case .count = $0.leaf { return true } else { return false } }.count)
        // The manifest records every file's size and SHA-256, and the optimizer state's leaves.
        XCTAssertEqual(Set(loaded.manifest.files.map(\.name)), ["params.safetensors", "optimizer.safetensors", "ema.safetensors"])
        for f in loaded.manifest.files {
            let data = try Data(contentsOf: dir.appendingPathComponent("run/v000001/\(f.name)"))
            XCTAssertEqual(f.bytes, data.count)
            XCTAssertEqual(f.sha256, Checksum.sha256(data))
        }
        XCTAssertEqual(loaded.manifest.tensors.optimizerState?.names, s.optimizerState!.flattened().map(\.name))
        XCTAssertTrue(loaded.manifest.tensors.optimizerState!.names.contains { $0.hasPrefix("acc/") }, "MultiSteps accumulators are saved")
        let made = try loaded.makeState()
        XCTAssertEqual(made.data?.source, s.data?.source)
        XCTAssertEqual(made.data?.augment, s.data?.augment)
        XCTAssertEqual(made.data?.batchSize, 8)
    }

    func testACrashBetweenAnyTwoStepsOfASaveLeavesOldOrNewSessionLoadable() throws {
        var old = try smallState()
        try TrainEngine.trainStep(&old)
        var new = old
        try TrainEngine.trainStep(&new)
        let stages = SessionStore.SaveStage.allCases
        for (i, stage) in stages.enumerated() {
            let dir = try scratchDirectory()
            defer { try? FileManager.default.removeItem(at: dir) }
            let url = dir.appendingPathComponent("s")
            try SessionStore().save(old, transcript: [], name: "s", to: url, cnxVersion: "test")
            var crashing = SessionStore()
            crashing.afterStage = { if $0 == stage { throw InjectedCrash() } }
            XCTAssertThrowsError(try crashing.save(new, transcript: [], name: "s", to: url, cnxVersion: "test"))
            let loaded = try SessionStore().load(url, name: "s")
            let swapped = i >= stages.firstIndex(of: .pointerSwapped)!
            XCTAssertEqual(loaded.state.counters.miniSteps, swapped ? 2 : 1, "after a crash at \(stage)")
            assertSameState(loaded.state, swapped ? new : old)
            // The next save succeeds and tidies up whatever the crash left.
            try SessionStore().save(new, transcript: [], name: "s", to: url, cnxVersion: "test")
            let versions = try FileManager.default.contentsOfDirectory(atPath: url.path).filter { $0.hasPrefix("v") }
            XCTAssertEqual(versions.count, 1, "one version left after \(stage): \(versions)")
            XCTAssertEqual(try SessionStore().load(url, name: "s").state.counters.miniSteps, 2)
        }
    }

    func testNamesResolveUnderSessionsAndTraversalIsRefused() throws {
        let wd = URL(fileURLWithPath: "/work/here")
        XCTAssertEqual(try SessionLocation.resolve("run1", workingDirectory: wd).path, "/work/here/sessions/run1")
        XCTAssertEqual(try SessionLocation.resolve("out/run1", workingDirectory: wd).path, "/work/here/out/run1")
        XCTAssertEqual(try SessionLocation.resolve("/tmp/x/run1", workingDirectory: wd).path, "/tmp/x/run1")
        for bad in ["", "..", ".", "../x", "a/../../b", "/tmp/../etc", "run\u{1}", "a\nb"] {
            XCTAssertThrowsError(try SessionLocation.resolve(bad, workingDirectory: wd), "'\(bad)' should be refused") { error in
                let text = String(describing: error)
                XCTAssertFalse(text.contains("\n"), text)
                XCTAssertTrue(text.contains("..") || text.contains("empty") || text.contains("control") || text.contains("not a session"), text)
            }
        }
    }

    func testSaveRefusesADirectoryThatIsNotASession() throws {
        let dir = try scratchDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        try Data("keep me".utf8).write(to: dir.appendingPathComponent("notes.txt"))
        XCTAssertThrowsError(try SessionStore().save(WorkbenchState(), transcript: [], name: "x", to: dir, cnxVersion: "test")) {
            XCTAssertTrue(String(describing: $0).contains("not a cnx session"), String(describing: $0))
        }
        XCTAssertEqual(try String(contentsOf: dir.appendingPathComponent("notes.txt"), encoding: .utf8), "keep me")
    }

    func testNotebookHasNbformat4Structure() throws {
        let dir = try scratchDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let png = dir.appendingPathComponent("p.png")
        let bytes = Data([0x89, 0x50, 0x4E, 0x47, 1, 2, 3])
        try bytes.write(to: png)
        let cells = [TranscriptCell(number: 1, command: "data preview", ok: true, text: "16 images\nline two",
                                    images: [TranscriptImage(title: "16 train images", file: png.path)]),
                     TranscriptCell(number: 2, command: "bad", ok: false, error: "unknown command 'bad'")]
        let data = try Notebook.make(title: "t", cells: cells)
        let nb = try XCTUnwrap(JSONSerialization.jsonObject(with: data) as? [String: Any])
        XCTAssertEqual(nb["nbformat"] as? Int, 4)
        XCTAssertNotNil(nb["nbformat_minor"] as? Int)
        XCTAssertNotNil(nb["metadata"] as? [String: Any])
        let nbCells = try XCTUnwrap(nb["cells"] as? [[String: Any]])
        XCTAssertEqual(nbCells.count, 3)
        for c in nbCells {
            XCTAssertNotNil(c["metadata"] as? [String: Any])
            XCTAssertNotNil(c["source"] as? [String])
            XCTAssertNotNil(c["id"] as? String)
        }
        let code = nbCells[1]
        XCTAssertEqual(code["cell_type"] as? String, "code")
        XCTAssertEqual(code["execution_count"] as? Int, 1)
        XCTAssertEqual(code["source"] as? [String], ["data preview"])
        let outputs = try XCTUnwrap(code["outputs"] as? [[String: Any]])
        XCTAssertEqual(outputs.map { $0["output_type"] as? String }, ["stream", "display_data"])
        XCTAssertEqual(outputs[0]["text"] as? [String], ["16 images\n", "line two\n"])
        let image = try XCTUnwrap((outputs[1]["data"] as? [String: Any])?["image/png"] as? String)
        XCTAssertEqual(Data(base64Encoded: image), bytes)
        let errorOut = try XCTUnwrap((nbCells[2]["outputs"] as? [[String: Any]])?.first)
        XCTAssertEqual(errorOut["output_type"] as? String, "error")
        XCTAssertEqual(errorOut["evalue"] as? String, "unknown command 'bad'")
        XCTAssertNotNil(errorOut["traceback"] as? [String])
    }

    func testDiffReportsRelativeDistances() throws {
        var a = try smallState()
        var b = a
        for _ in 0..<3 { try TrainEngine.trainStep(&b) }
        let diff = SessionDiff.compare(.init(label: "a", live: a), .init(label: "b", live: b))
        XCTAssertEqual(diff.steps.first { $0.name == "mini_steps" }.map { [$0.a, $0.b] }, ["0", "3"])
        XCTAssertEqual(diff.parameters.count, a.params!.count)
        XCTAssertTrue(diff.parameters.allSatisfy { $0.distance > 0 && ($0.relative ?? 1) > 0 }, "one update moves every parameter")
        XCTAssertTrue(diff.parameters.contains { $0.relative == nil && $0.normA == 0 }, "zero-initialised biases have no relative distance")
        let head = try XCTUnwrap(diff.parameters.first { $0.path == "Head/kernel" })
        let x = a.params!["Head/kernel"]!.scalars, y = b.params!["Head/kernel"]!.scalars
        let d = zip(x, y).reduce(0.0) { $0 + Double($1.1 - $1.0) * Double($1.1 - $1.0) }.squareRoot()
        let n = x.reduce(0.0) { $0 + Double($1) * Double($1) }.squareRoot()
        XCTAssertEqual(try XCTUnwrap(head.relative), d / n, accuracy: 1e-12)
        XCTAssertTrue(diff.settings.contains { $0.name == "keys.train/0" }, "each step moves the training key")
        a.optimizer?.accumulate = 4
        XCTAssertTrue(SessionDiff.compare(.init(label: "a", live: a), .init(label: "b", live: b)).settings.contains { $0.name == "optimizer.accumulate" })
    }
}
