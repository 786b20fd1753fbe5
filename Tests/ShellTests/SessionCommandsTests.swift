import Foundation
import SafeTensors
import Tensors
import Training
import XCTest
@testable import Sessions
@testable import Shell

/// The small model with stochastic depth, MultiSteps (3) and EMA on.
let smallSetup = """
rng seed 42
model build convnext --depths 1,1,2,1 --dims 16,32,48,64 --classes 10 --image-size 32 --drop-path 0.1
model init
data synthetic --count 200 --val-count 20 --batch 8
optim adamw --lr 0.004 --init-lr 1e-4 --warmup-steps 2 --decay-steps 20 --accumulate 3 --ema 0.99
"""

final class SessionCommandsTests: XCTestCase {
    var directory: URL!

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("cnx-session-cmds-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: directory)
    }

    func workbench() -> Workbench { Workbench(workingDirectory: directory) }

    @discardableResult
    func run(_ text: String, _ wb: Workbench, file: StaticString = #filePath, line: UInt = #line) -> [Cell] {
        let cells = runCommands(text, workbench: wb)
        XCTAssertTrue(cells.allSatisfy(\.ok), cells.compactMap(\.error).joined(separator: " | "), file: file, line: line)
        return cells
    }

    /// Metrics without the wall-clock fields.
    func metrics(_ h: [StepMetrics]) -> [[Float]] {
        h.map { [Float($0.step), Float($0.epoch), $0.loss, $0.accuracy, $0.learningRate, $0.gradNorm, $0.updateRatio, $0.applied ? 1 : 0] }
    }

    func assertSameTraining(_ a: WorkbenchState, _ b: WorkbenchState, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertNotNil(a.params, file: file, line: line)
        // (XCTAssertTrue: a failure names the part without printing every tensor)
        XCTAssertTrue(a.params == b.params, "parameters differ", file: file, line: line)
        XCTAssertTrue(a.optimizerState == b.optimizerState, "optimizer state (Adam moments, MultiSteps accumulators, counts) differs", file: file, line: line)
        XCTAssertTrue(a.emaState == b.emaState, "EMA differs", file: file, line: line)
        XCTAssertEqual(a.keys, b.keys, "keys", file: file, line: line)
        XCTAssertEqual(a.counters, b.counters, "counters and data cursor", file: file, line: line)
        XCTAssertEqual(metrics(a.history), metrics(b.history), "metrics", file: file, line: line)
    }

    // MARK: Resume

    func testResumeAfterSaveAndLoadInANewWorkbenchIsBitForBit() throws {
        let first = workbench()
        run(smallSetup + "\ntrain steps 4\nsession save resume", first)
        XCTAssertEqual(first.snapshot.optimizerState?.accumulation?.miniStep, 1, "saved mid-accumulation")

        let resumed = workbench()
        let load = run("session load resume", resumed)[0]
        XCTAssertEqual(resumed.snapshot.counters.miniSteps, 4)
        guard case .record(let r)? = load.result else { return XCTFail("expected a record") }
        XCTAssertEqual(r["transcript"].map { TextRenderer.cell($0) }?.hasPrefix("\(first.cells.count - 1) cells"), true)
        run("train steps 4", resumed)

        let straight = workbench()
        run(smallSetup + "\ntrain steps 8", straight)
        XCTAssertEqual(straight.snapshot.optimizerState?.accumulation?.miniStep, 2)
        assertSameTraining(resumed.snapshot, straight.snapshot)
    }

    // MARK: Corruption

    func sessionURL(_ name: String) -> URL { directory.appendingPathComponent("sessions").appendingPathComponent(name) }

    func currentVersion(_ name: String) throws -> URL {
        let pointer = try JSONDecoder().decode(SessionPointer.self, from: Data(contentsOf: sessionURL(name).appendingPathComponent("CURRENT")))
        return sessionURL(name).appendingPathComponent(pointer.version)
    }

    /// Rewrites a session's manifest (through `edit`) and its checksums so only the intended damage remains.
    func reseal(_ name: String, editManifest edit: (inout [String: Any]) -> Void = { _ in }, rawManifest: Data? = nil) throws {
        let dir = try currentVersion(name)
        let manifestURL = dir.appendingPathComponent("manifest.json")
        var manifest = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: manifestURL)) as? [String: Any])
        var files = try XCTUnwrap(manifest["files"] as? [[String: Any]])
        for i in files.indices {
            let data = try Data(contentsOf: dir.appendingPathComponent(files[i]["name"] as! String))
            files[i]["bytes"] = data.count
            files[i]["sha256"] = Checksum.sha256(data)
        }
        manifest["files"] = files
        edit(&manifest)
        let bytes = try rawManifest ?? JSONSerialization.data(withJSONObject: manifest)
        try bytes.write(to: manifestURL)
        let pointerURL = sessionURL(name).appendingPathComponent("CURRENT")
        var pointer = try JSONDecoder().decode(SessionPointer.self, from: Data(contentsOf: pointerURL))
        pointer.manifestSHA256 = Checksum.sha256(bytes)
        try JSONEncoder().encode(pointer).write(to: pointerURL)
    }

    func rewriteTensors(_ name: String, file: String, _ change: ([(String, SafeTensorsValue)]) -> [(String, SafeTensorsValue)]) throws {
        let url = try currentVersion(name).appendingPathComponent(file)
        let st = try SafeTensorsFile.read(url)
        let values: [(String, SafeTensorsValue)] = try st.names.map { n in
            st.entry(n)!.dtype == .i32 ? (n, .int32(shape: [], values: try st.int32s(n).values)) : (n, .float32(try st.tensor(n)))
        }
        try SafeTensorsFile.encode(change(values)).write(to: url)
    }

    func copySession(_ from: String, _ to: String) throws {
        try FileManager.default.copyItem(at: sessionURL(from), to: sessionURL(to))
    }

    func testDamagedSessionsAreRefusedWithOneLineAndTheLiveStateStays() throws {
        let wb = workbench()
        run(smallSetup + "\ntrain steps 4\nsession save good\ntrain steps 1", wb)
        let live = wb.snapshot
        XCTAssertEqual(live.counters.miniSteps, 5)

        var cases: [(name: String, expect: [String])] = []
        func damage(_ name: String, _ expect: String..., how: () throws -> Void) throws {
            try copySession("good", name)
            try how()
            cases.append((name, expect))
        }
        try damage("truncated", "params.safetensors", "truncated") {
            let url = try currentVersion("truncated").appendingPathComponent("params.safetensors")
            let data = try Data(contentsOf: url)
            try data.prefix(data.count / 2).write(to: url)
        }
        try damage("flipped", "optimizer.safetensors", "SHA-256") {
            let url = try currentVersion("flipped").appendingPathComponent("optimizer.safetensors")
            var data = try Data(contentsOf: url)
            data[data.count - 7] ^= 0x10
            try data.write(to: url)
        }
        try damage("missing", "params.safetensors", "missing tensor 'Head/bias'") {
            try rewriteTensors("missing", file: "params.safetensors") { $0.filter { $0.0 != "Head/bias" } }
            try reseal("missing")
        }
        try damage("shape", "Head/bias", "shape [2, 5], expected [10]") {
            try rewriteTensors("shape", file: "params.safetensors") { values in
                values.map { $0.0 == "Head/bias" ? ($0.0, { if case .float32(let t) = $0 { return .float32(t.reshaped([2, 5])) }; return $0 }($0.1)) : $0 }
            }
            try reseal("shape")
        }
        try damage("optshape", "optimizer.safetensors", "shape [1, 10], expected [10]") {
            try rewriteTensors("optshape", file: "optimizer.safetensors") { values in
                values.map { $0.0.hasSuffix("mu/Head/bias") ? ($0.0, { if case .float32(let t) = $0 { return .float32(t.reshaped([1, 10])) }; return $0 }($0.1)) : $0 }
            }
            try reseal("optshape")
        }
        try damage("badjson", "manifest.json", "not valid JSON") {
            try reseal("badjson", rawManifest: Data("{\"format\": \"cnx-session\", \"format_version\": 1,".utf8))
        }
        try damage("noshape", "manifest.json", "missing field 'counters'") {
            try reseal("noshape") { $0["counters"] = nil }
        }
        try damage("future", "format version 7", "reads format version \(SessionStore.formatVersion)") {
            try reseal("future") { $0["format_version"] = 7 }
        }
        try damage("edited", "manifest.json", "checksum") {
            let url = try currentVersion("edited").appendingPathComponent("manifest.json")
            let text = try String(contentsOf: url, encoding: .utf8).replacingOccurrences(of: "\"batch_size\" : 8", with: "\"batch_size\" : 9")
            try Data(text.utf8).write(to: url)
        }
        try damage("nopointer", "CURRENT") {
            try FileManager.default.removeItem(at: sessionURL("nopointer").appendingPathComponent("CURRENT"))
        }

        for c in cases {
            let cell = runCommands("session load \(c.name)", workbench: wb)[0]
            let error = try XCTUnwrap(cell.error, "\(c.name) should be refused")
            for e in c.expect { XCTAssertTrue(error.contains(e), "\(c.name): '\(error)' should mention '\(e)'") }
            XCTAssertTrue(error.contains("session '\(c.name)'"), error)
            XCTAssertFalse(error.contains("\n"), "one line: \(error)")
            assertSameTraining(wb.snapshot, live)
        }
        for bad in ["..", "../outside", "a/../../b", "'bad\u{7}name'"] {
            for verb in ["load", "save"] {
                let cell = runCommands("session \(verb) \(bad)", workbench: wb)[0]
                XCTAssertNotNil(cell.error, "session \(verb) \(bad) should be refused")
                XCTAssertFalse(cell.error?.contains("\n") ?? true)
            }
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: directory.deletingLastPathComponent().appendingPathComponent("outside").path))
        // The intact session still loads.
        run("session load good", wb)
        XCTAssertEqual(wb.snapshot.counters.miniSteps, 4)
    }

    // MARK: List, diff, export, history

    func testListAndDiff() throws {
        let wb = workbench()
        run(smallSetup + "\nsession save before\ntrain steps 3\nsession save after", wb)
        try FileManager.default.createDirectory(at: sessionURL("junk"), withIntermediateDirectories: true)
        let list = run("session list", wb)[0]
        guard case .table(let t)? = list.result else { return XCTFail("expected a table") }
        XCTAssertEqual(t.rows.map { $0[0] }, [.string("after"), .string("before"), .string("junk")])
        XCTAssertEqual(t.rows.map { $0[3] }, [.int(3), .int(0), .null])
        XCTAssertTrue(TextRenderer.cell(t.rows[2][2]).contains("no CURRENT"), TextRenderer.cell(t.rows[2][2]))
        XCTAssertEqual(t.rows[0][2], .string("convnext 1,1,2,1 x 16,32,48,64"))

        let diff = run("session diff before after", wb)[0]
        guard case .group(let parts)? = diff.result else { return XCTFail("expected a group") }
        let tables = parts.compactMap { if case .table(let t) = $0 { return t } else { return nil } }
        let params = try XCTUnwrap(tables.first { $0.title?.hasPrefix("parameters") == true })
        XCTAssertEqual(params.rows.count, wb.snapshot.params!.count)
        XCTAssertTrue(params.rows.allSatisfy { if case .double(let d) = $0[4] { return d > 0 } else { return false } }, "every parameter moved")
        XCTAssertTrue(params.rows.contains { if case .double(let r) = $0[5] { return r > 0 } else { return false } })
        let same = run("session diff after live", wb)[0]
        guard case .group(let sameParts)? = same.result else { return XCTFail("expected a group") }
        let sameParams = try XCTUnwrap(sameParts.compactMap { if case .table(let t) = $0, t.title?.hasPrefix("parameters") == true { return t } else { return nil } }.first)
        XCTAssertTrue(sameParams.rows.allSatisfy { $0[5] == .double(0) }, "a saved session equals the live one it was saved from")
        XCTAssertNotNil(runCommands("session diff before nothing", workbench: wb)[0].error)
    }

    func testTranscriptAndSessionExportAreNbformat4Notebooks() throws {
        let wb = workbench()
        run("data synthetic --count 40 --val-count 10 --batch 8\ndata preview --count 4 --out p.png", wb)
        XCTAssertNotNil(runCommands("model init", workbench: wb)[0].error)
        run("transcript export live.ipynb\nsession save s\nsession export s --ipynb saved.ipynb", wb)
        for (file, cellCount) in [("live.ipynb", 3), ("saved.ipynb", 4)] {
            let nb = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: directory.appendingPathComponent(file))) as? [String: Any])
            XCTAssertEqual(nb["nbformat"] as? Int, 4, file)
            XCTAssertNotNil(nb["metadata"] as? [String: Any])
            let cells = try XCTUnwrap(nb["cells"] as? [[String: Any]]).filter { $0["cell_type"] as? String == "code" }
            XCTAssertEqual(cells.count, cellCount, file)
            XCTAssertEqual(cells.map { ($0["source"] as? [String])?.joined() }.prefix(3),
                           ["data synthetic --count 40 --val-count 10 --batch 8", "data preview --count 4 --out p.png", "model init"])
            for c in cells {
                let outputs = try XCTUnwrap(c["outputs"] as? [[String: Any]], file)
                XCTAssertTrue(outputs.allSatisfy { ["stream", "display_data", "error", "execute_result"].contains($0["output_type"] as? String ?? "") })
                XCTAssertNotNil(c["execution_count"] as? Int)
            }
            let preview = try XCTUnwrap(cells[1]["outputs"] as? [[String: Any]])
            let png = try XCTUnwrap(preview.compactMap { ($0["data"] as? [String: Any])?["image/png"] as? String }.first, file)
            XCTAssertEqual(Data(base64Encoded: png), try Data(contentsOf: directory.appendingPathComponent("p.png")), file)
            XCTAssertEqual((cells[2]["outputs"] as? [[String: Any]])?.first?["output_type"] as? String, "error")
        }
        // The saved session keeps its own copy of the image.
        try FileManager.default.removeItem(at: directory.appendingPathComponent("p.png"))
        run("session export s --ipynb again.ipynb", wb)
        XCTAssertTrue(try String(contentsOf: directory.appendingPathComponent("again.ipynb"), encoding: .utf8).contains("image/png"))
    }

    func testHistorySaveReplaysToTheSameState() throws {
        let wb = workbench()
        run(smallSetup + "\ntrain steps 2 &\nwait", wb)
        XCTAssertNotNil(runCommands("optim adamw --lr -1", workbench: wb)[0].error)
        run("session save mid\ntrain steps 2\nhistory save replay.cnx", wb)
        let script = try String(contentsOf: directory.appendingPathComponent("replay.cnx"), encoding: .utf8)
        XCTAssertTrue(script.contains("# failed: optim adamw --lr -1"), script)
        XCTAssertTrue(script.contains("\ntrain steps 2\n"), script)
        XCTAssertFalse(script.contains("&"), script)
        let replayed = workbench()
        let cells = runCommands(script, workbench: replayed)
        XCTAssertTrue(cells.allSatisfy(\.ok), cells.compactMap(\.error).joined())
        assertSameTraining(replayed.snapshot, wb.snapshot)

        // After a load, the loaded session's commands come first and the load itself is a comment.
        let later = workbench()
        run("session load mid\ntrain steps 2\nhistory save again.cnx", later)
        let again = try String(contentsOf: directory.appendingPathComponent("again.cnx"), encoding: .utf8)
        XCTAssertTrue(again.contains("# session load mid"), again)
        let third = workbench()
        let cells3 = runCommands(again, workbench: third)
        XCTAssertTrue(cells3.allSatisfy(\.ok), cells3.compactMap(\.error).joined())
        assertSameTraining(third.snapshot, later.snapshot)
    }

    func testSaveWhileAJobRunsSavesAConsistentSnapshot() throws {
        let wb = workbench()
        run(smallSetup + "\ntrain steps 12 &", wb)
        let save = run("session save during", wb)[0]
        run("wait", wb)
        guard case .record(let r)? = save.result else { return XCTFail("expected a record") }
        let loaded = try SessionStore().load(sessionURL("during"), name: "during")
        XCTAssertEqual(r["mini_steps"], .int(loaded.state.counters.miniSteps))
        XCTAssertEqual(loaded.state.history.count, loaded.state.counters.miniSteps, "counters and metrics from one step boundary")
        XCTAssertLessThanOrEqual(loaded.state.counters.miniSteps, 12)
    }

    func testUnsavedWorkIsTrackedFromTheLastSaveOrLoad() throws {
        let wb = workbench()
        XCTAssertFalse(SessionCommands.hasUnsavedWork(wb), "a fresh session has nothing to lose")
        run("rng show", wb)
        XCTAssertFalse(SessionCommands.hasUnsavedWork(wb), "read-only commands change nothing")
        run(smallSetup, wb)
        XCTAssertTrue(SessionCommands.hasUnsavedWork(wb))
        run("session save u\nsession list", wb)
        XCTAssertFalse(SessionCommands.hasUnsavedWork(wb))
        XCTAssertNotNil(runCommands("optim adamw --lr -1", workbench: wb)[0].error)
        XCTAssertFalse(SessionCommands.hasUnsavedWork(wb), "a failed command changes nothing")
        run("train steps 1", wb)
        XCTAssertTrue(SessionCommands.hasUnsavedWork(wb))
        run("session load u", wb)
        XCTAssertFalse(SessionCommands.hasUnsavedWork(wb))
    }

    /// The marks live in the workbench that made them: another workbench in
    /// the same process sees none of them.
    func testSessionMarksBelongToTheirWorkbench() throws {
        let wb = workbench(), other = workbench()
        XCTAssertNil(wb.sessionMarks.savedCell)
        let saved = run(smallSetup + "\nsession save m", wb).last!
        XCTAssertEqual(wb.sessionMarks.savedCell, saved.number)
        XCTAssertNil(wb.sessionMarks.carried, "a save carries no transcript")
        run("rng show", other)
        let loaded = run("session load m", other).last!
        XCTAssertEqual(other.sessionMarks.savedCell, loaded.number)
        XCTAssertEqual(other.sessionMarks.carried?.fromCell, loaded.number)
        XCTAssertEqual(other.sessionMarks.carried?.cells.map(\.command), wb.cells.dropLast().map(\.command),
                       "the loaded transcript is the saving workbench's cells before the save")
        XCTAssertEqual(wb.sessionMarks.savedCell, saved.number, "the other workbench's load left this one alone")
    }

    func testAStepInProgressIsNotSavedAndTheResultSaysSo() throws {
        let wb = workbench()
        run(smallSetup + "\ntrain steps 2\nstep forward", wb)
        XCTAssertNotNil(wb.snapshot.pending)
        let save = run("session save p", wb)[0]
        guard case .record(let r)? = save.result else { return XCTFail("expected a record") }
        XCTAssertTrue(TextRenderer.cell(r["not_saved"] ?? .null).contains("step 3 at stage 'forward'"), "\(r)")
        let other = workbench()
        run("session load p", other)
        XCTAssertNil(other.snapshot.pending)
        XCTAssertEqual(other.snapshot.counters, wb.snapshot.counters, "a stepped step moves nothing until its update")
        // Finishing the step in both gives the same result.
        run("step", wb)
        run("step", other)
        assertSameTraining(other.snapshot, wb.snapshot)
    }
}
