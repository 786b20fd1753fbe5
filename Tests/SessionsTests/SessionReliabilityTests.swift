import Foundation
import Datasets
import Optimizers
import SafeTensors
import Tensors
import Training
import XCTest
@testable import Sessions

/// Issue 21 in the session store: concurrent saves, version numbers of any
/// width, left-overs of interrupted saves, non-finite state, and manifests
/// edited with recomputed checksums.
final class SessionReliabilityTests: XCTestCase {
    /// Rewrites the current version's manifest (and optionally files) with
    /// recomputed checksums, as a person editing a session by hand would.
    func tamper(_ url: URL, files: [String: Data] = [:], _ edit: (inout [String: Any]) -> Void) throws {
        let pointerURL = url.appendingPathComponent("CURRENT")
        var pointer = try JSONSerialization.jsonObject(with: Data(contentsOf: pointerURL)) as! [String: Any]
        let dir = url.appendingPathComponent(pointer["version"] as! String)
        let manifestURL = dir.appendingPathComponent("manifest.json")
        var manifest = try JSONSerialization.jsonObject(with: Data(contentsOf: manifestURL)) as! [String: Any]
        var records = manifest["files"] as! [[String: Any]]
        for (name, data) in files {
            try data.write(to: dir.appendingPathComponent(name))
            let i = records.firstIndex { $0["name"] as? String == name }!
            records[i]["bytes"] = data.count
            records[i]["sha256"] = Checksum.sha256(data)
        }
        manifest["files"] = records
        edit(&manifest)
        let data = try JSONSerialization.data(withJSONObject: manifest)
        try data.write(to: manifestURL)
        pointer["manifest_sha256"] = Checksum.sha256(data)
        try JSONSerialization.data(withJSONObject: pointer).write(to: pointerURL)
    }

    func trainedSession() throws -> (URL, WorkbenchState) {
        var s = try smallState()
        for _ in 0..<3 { try TrainEngine.trainStep(&s) }
        let url = try scratchDirectory().appendingPathComponent("s")
        try SessionStore().save(s, transcript: [], name: "s", to: url, cnxVersion: "test")
        return (url, s)
    }

    func assertRefused(_ url: URL, _ fragment: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try SessionStore().load(url, name: "s").makeState(), file: file, line: line) {
            XCTAssertTrue("\($0)".contains(fragment), "\($0)", file: file, line: line)
        }
    }

    /// Four savers racing on one name: CURRENT always names a complete version.
    func testConcurrentSavesNeverLoseTheSession() throws {
        let (url, state) = try trainedSession()
        for _ in 0..<4 {
            let failures = Failures()
            DispatchQueue.concurrentPerform(iterations: 4) { _ in
                do { try SessionStore().save(state, transcript: [], name: "s", to: url, cnxVersion: "test") } catch { failures.add("\(error)") }
            }
            XCTAssertEqual(failures.all, [])
            let loaded = try SessionStore().load(url, name: "s")
            XCTAssertEqual(loaded.state.params, state.params)
            let versions = try FileManager.default.contentsOfDirectory(atPath: url.path).filter { SessionStore.versionNumber($0) != nil }
            XCTAssertEqual(versions, [loaded.version])
        }
    }

    /// `mkdir S/v999999; load; save` wrote v1000000 and then refused it forever.
    func testVersionNumbersHaveNoFixedWidth() throws {
        let (url, state) = try trainedSession()
        XCTAssertEqual(SessionStore.versionNumber("v1000000"), 1_000_000)
        XCTAssertEqual(SessionStore.versionNumber("v12"), 12)
        XCTAssertNil(SessionStore.versionNumber("v"))
        XCTAssertNil(SessionStore.versionNumber("v12a"))
        // The session's current version is v999999: the next save writes v1000000.
        let fm = FileManager.default
        try fm.moveItem(at: url.appendingPathComponent("v000001"), to: url.appendingPathComponent("v999999"))
        let pointer = url.appendingPathComponent("CURRENT")
        try Data(String(decoding: try Data(contentsOf: pointer), as: UTF8.self)
            .replacingOccurrences(of: "v000001", with: "v999999").utf8).write(to: pointer)
        XCTAssertEqual(try SessionStore().load(url, name: "s").version, "v999999")
        try SessionStore().save(state, transcript: [], name: "s", to: url, cnxVersion: "test")
        let loaded = try SessionStore().load(url, name: "s")
        XCTAssertEqual(loaded.version, "v1000000")
        try SessionStore().save(state, transcript: [], name: "s", to: url, cnxVersion: "test")
        XCTAssertEqual(try SessionStore().load(url, name: "s").version, "v1000001")
    }

    /// A killed save leaves a partial version: the next load removes it and says so.
    func testPartialVersionsAreCleanedAtTheNextLoadOrSave() throws {
        let (url, state) = try trainedSession()
        let partial = url.appendingPathComponent("v000007")
        try FileManager.default.createDirectory(at: partial, withIntermediateDirectories: false)
        try Data(count: 1000).write(to: partial.appendingPathComponent("params.safetensors"))
        try Data(count: 10).write(to: url.appendingPathComponent(".CURRENT.tmp-1-2"))
        let loaded = try SessionStore().load(url, name: "s")
        XCTAssertEqual(loaded.cleaned?.contains("v000007"), true, loaded.cleaned ?? "nil")
        XCTAssertEqual(loaded.cleaned?.contains(".CURRENT.tmp-1-2"), true)
        XCTAssertFalse(FileManager.default.fileExists(atPath: partial.path))
        try FileManager.default.createDirectory(at: partial, withIntermediateDirectories: false)
        let report = try SessionStore().save(state, transcript: [], name: "s", to: url, cnxVersion: "test")
        XCTAssertEqual(report.cleaned?.contains("v000007"), true)
        XCTAssertEqual(report.version, "v000002")
        XCTAssertNoThrow(try SessionStore().load(url, name: "s"))
    }

    /// A non-finite state is never saved, and the last loadable version stays.
    func testSaveRefusesNonFiniteStateAndKeepsThePreviousVersion() throws {
        let (url, state) = try trainedSession()
        var bad = state
        bad.params!["Head/bias"]!.scalars[0] = -.infinity
        XCTAssertThrowsError(try SessionStore().save(bad, transcript: [], name: "s", to: url, cnxVersion: "test")) {
            XCTAssertTrue("\($0)".contains("params/Head/bias"), "\($0)")
        }
        XCTAssertEqual(try SessionStore().load(url, name: "s").state.params, state.params)
    }

    /// Manifests with recomputed checksums that carry values no command makes.
    func testLoadValidatesLikeTheCommands() throws {
        let cases: [(String, (inout [String: Any]) -> Void)] = [
            ("crop scale", { m in var d = m["data"] as! [String: Any]; var a = d["augment"] as! [String: Any]
                var c = a["crop"] as! [String: Any]; c["scaleMax"] = 5; c["scale_max"] = 5; a["crop"] = c; d["augment"] = a; m["data"] = d }),
            ("key tree", { m in var k = m["keys"] as! [String: Any]; k["entries"] = [Any](); m["keys"] = k }),
            ("cursor", { m in var c = m["counters"] as! [String: Any]; c["cursor"] = ["epoch": 0, "sample": 1_000_000_000]; m["counters"] = c }),
            ("counters", { m in var c = m["counters"] as! [String: Any]; c["miniSteps"] = Int.max; c["mini_steps"] = Int.max; m["counters"] = c }),
            ("step count", { m in var c = m["counters"] as! [String: Any]; c["optimizerSteps"] = 99; c["optimizer_steps"] = 99; m["counters"] = c }),
        ]
        for (fragment, edit) in cases {
            let (url, _) = try trainedSession()
            try tamper(url, edit)
            XCTAssertThrowsError(try SessionStore().load(url, name: "s").makeState(), fragment) { _ in }
        }
    }

    /// A format-1 session's cursor is a batch index: it loads as that batch's sample offset.
    func testFormatOneCursorLoadsAsASampleOffset() throws {
        let (url, state) = try trainedSession()
        try tamper(url) { m in
            m["format_version"] = 1
            var c = m["counters"] as! [String: Any]
            c["cursor"] = ["epoch": 1, "batch": 3]
            m["counters"] = c
        }
        let loaded = try SessionStore().load(url, name: "s").makeState()
        XCTAssertEqual(loaded.counters.cursor, DataCursor(epoch: 1, sample: 3 * state.data!.batchSize))
    }

    /// NaN or negative Adam second moments and a NaN EMA, with checksums recomputed.
    func testLoadRefusesBadMomentsAndEMA() throws {
        for (file, fragment) in [("optimizer.safetensors", "nu"), ("optimizer.safetensors", "negative"), ("ema.safetensors", "ema")] {
            let (url, _) = try trainedSession()
            let version = try SessionStore().load(url, name: "s").version
            let path = url.appendingPathComponent(version).appendingPathComponent(file)
            let st = try SafeTensorsFile.read(path)
            var values: [(String, SafeTensorsValue)] = []
            var done = false
            for name in st.names {
                if let e = st.entry(name), e.dtype == .i32 {
                    let (shape, v) = try st.int32s(name)
                    values.append((name, .int32(shape: shape, values: v)))
                    continue
                }
                var t = try st.tensor(name)
                if !done && (file == "ema.safetensors" || name.contains("nu")) {
                    t.scalars[0] = fragment == "negative" ? -1 : .nan
                    done = true
                }
                values.append((name, .float32(t)))
            }
            XCTAssertTrue(done, "found a tensor to change in \(file)")
            let data = try SafeTensorsFile.encode(values, metadata: st.metadata)
            try tamper(url, files: [file: data]) { _ in }
            assertRefused(url, fragment == "negative" ? "negative" : "non-finite")
        }
    }
}

/// Errors collected from threads.
final class Failures: @unchecked Sendable {
    private let lock = NSLock()
    private var items: [String] = []
    func add(_ s: String) { lock.lock(); items.append(s); lock.unlock() }
    var all: [String] { lock.lock(); defer { lock.unlock() }; return items }
}
