import Foundation
import Training
import TestSupport
import XCTest
@testable import Sessions

/// A session fuzzer (issue 21): byte mutations of every file of a saved
/// session, and manifest mutations with recomputed checksums (what a hand
/// edit can do). Each load either refuses with one line or yields a state
/// that passes the same validation a save applies — never a trap.
final class SessionFuzzTests: XCTestCase {
    typealias Generator = SplitMix64

    /// Loads (and makes live) the session; a success must pass validation.
    func check(_ url: URL, _ what: String) {
        do {
            let saved = try SessionStore().load(url, name: "s")
            let state = try saved.makeState()
            XCTAssertNoThrow(try SessionValidation.check(state, data: saved.manifest.data), what)
            if let data = state.data {
                XCTAssertNil(state.counters.problem(samples: data.splits.train.count), what)
            }
        } catch {
            XCTAssertFalse("\(error)".isEmpty, what)
            XCTAssertFalse("\(error)".contains("\n"), "\(what): \(error)")
        }
    }

    func snapshot(_ url: URL) throws -> [String: Data] {
        var files: [String: Data] = [:]
        for sub in try FileManager.default.subpathsOfDirectory(atPath: url.path) {
            let u = url.appendingPathComponent(sub)
            var isDir: ObjCBool = false
            if FileManager.default.fileExists(atPath: u.path, isDirectory: &isDir), !isDir.boolValue { files[sub] = try Data(contentsOf: u) }
        }
        return files
    }

    func restore(_ url: URL, _ files: [String: Data]) throws {
        try? FileManager.default.removeItem(at: url)
        for (sub, data) in files {
            let u = url.appendingPathComponent(sub)
            try FileManager.default.createDirectory(at: u.deletingLastPathComponent(), withIntermediateDirectories: true)
            try data.write(to: u)
        }
    }

    func testByteMutationsAreRefusedOrValid() throws {
        var s = try smallState()
        for _ in 0..<3 { try TrainEngine.trainStep(&s) }
        let url = try scratchDirectory().appendingPathComponent("s")
        try SessionStore().save(s, transcript: [], name: "s", to: url, cnxVersion: "test")
        let original = try snapshot(url)
        let names = original.keys.filter { !$0.hasSuffix(".lock") }.sorted()
        var g = Generator(state: 7)
        for i in 0..<150 {
            let name = g.pick(names)
            var bytes = [UInt8](original[name]!)
            switch g.below(4) {
            case 0: if !bytes.isEmpty { bytes[g.below(bytes.count)] ^= UInt8(1 << g.below(8)) }
            case 1: bytes = Array(bytes.prefix(g.below(bytes.count + 1)))
            case 2: bytes += [UInt8](repeating: UInt8(g.below(256)), count: 1 + g.below(16))
            default: if !bytes.isEmpty { bytes[g.below(bytes.count)] = g.pick([0, 0x22, 0x7B, 0x7D, 0x2D, 0x39, 0xFF]) }
            }
            try Data(bytes).write(to: url.appendingPathComponent(name))
            check(url, "byte mutation \(i) of \(name)")
            try restore(url, original)
        }
    }

    func testManifestMutationsWithRecomputedChecksumsAreRefusedOrValid() throws {
        var s = try smallState()
        for _ in 0..<3 { try TrainEngine.trainStep(&s) }
        let url = try scratchDirectory().appendingPathComponent("s")
        try SessionStore().save(s, transcript: [], name: "s", to: url, cnxVersion: "test")
        let original = try snapshot(url)
        let version = try SessionStore().load(url, name: "s").version
        let manifestURL = url.appendingPathComponent(version).appendingPathComponent("manifest.json")
        let pointerURL = url.appendingPathComponent("CURRENT")
        let values: [Any] = [-1, 0, 1, 2, 1_000_000_000, Int.max, Int.min, 0.5, -0.0, 1e308, 5, "", "x", "../x", [Any](),
                             [String: Any](), NSNull(), true]
        var g = Generator(state: 11)
        /// Replaces one random leaf (or container) of `node`.
        func mutate(_ node: Any, depth: Int) -> Any {
            if var dict = node as? [String: Any], !dict.isEmpty, depth < 8, depth == 0 || g.below(5) != 0 {
                let key = g.pick(dict.keys.sorted())
                if g.below(12) == 0 { dict.removeValue(forKey: key) } else { dict[key] = mutate(dict[key]!, depth: depth + 1) }
                return dict
            }
            if var array = node as? [Any], !array.isEmpty, depth < 8, g.below(5) != 0 {
                let i = g.below(array.count)
                array[i] = mutate(array[i], depth: depth + 1)
                return array
            }
            return g.pick(values)
        }
        for i in 0..<300 {
            let manifest = try JSONSerialization.jsonObject(with: original["\(version)/manifest.json"]!)
            let data = try JSONSerialization.data(withJSONObject: mutate(manifest, depth: 0))
            try data.write(to: manifestURL)
            var pointer = try JSONSerialization.jsonObject(with: original["CURRENT"]!) as! [String: Any]
            pointer["manifest_sha256"] = Checksum.sha256(data)
            try JSONSerialization.data(withJSONObject: pointer).write(to: pointerURL)
            check(url, "manifest mutation \(i)")
            try restore(url, original)
        }
    }
}
