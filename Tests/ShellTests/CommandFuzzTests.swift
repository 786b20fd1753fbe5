import Foundation
import TestSupport
import XCTest
@testable import Shell

/// A command fuzzer (issue 21): mutations of every documented command —
/// numbers at and past their limits, odd strings, hostile paths, missing and
/// extra words — run in-process against a small live session. Each must end
/// with a result or one clean line of error (no trap, no multi-line or
/// escape-laden message), and the session must stay usable.
final class CommandFuzzTests: XCTestCase {
    static let setup = "model build convnext --depths 1,1,1,1 --dims 8,16,24,32 --classes 10 --image-size 32; model init; data synthetic --count 200 --val-count 20 --batch 8; optim adamw"

    /// Commands that would run for long when valid: only out-of-range values are tried.
    static let invalidOnly: Set<String> = ["bench train", "bench infer", "bench init", "bench save", "sleep", "wait"]
    /// Arguments whose valid values are capped small (they count work).
    static let smallValid: Set<String> = ["train steps n", "train epochs n", "train batch steps", "optim step repeat",
                                          "data synthetic count", "data synthetic val-count", "data synthetic size",
                                          "data preview count", "data batch size", "eval batch", "step batch",
                                          "train steps batch", "train epochs batch", "rng sample count", "rng split count",
                                          "model build image-size", "model build dims", "model build depths",
                                          "model build classes", "model build kernel-size", "model summary image-size",
                                          "data synthetic classes", "data synthetic batch", "data imagefolder batch"]

    typealias Generator = SplitMix64

    func intCandidates(_ command: String, _ name: String, _ g: inout Generator) -> String {
        let key = "\(command) \(name)"
        var values = ["-1", "0", "9223372036854775807", "-9223372036854775808", "9223372036854775808", "1e18",
                      "nan", "inf", "1.5", "abc", ""]
        if let r = NumberLimits.range(command: command, name: name), r.upperBound < Int.max {
            values += ["\(r.lowerBound - 1)", "\(r.upperBound &+ 1)"]
            if !Self.invalidOnly.contains(command) {
                if Self.smallValid.contains(key) {
                    values += ["\(r.lowerBound)", "\(max(r.lowerBound, 1))", "2"]
                } else {
                    values += ["\(r.lowerBound)", "\(r.upperBound)", "1", "2"]
                }
            }
        } else if !Self.invalidOnly.contains(command) {
            values += ["1", "2", "3", "4294967295", "4294967296"]
        }
        return g.pick(values)
    }

    func value(_ kind: ValueKind, _ command: String, _ name: String, _ dir: String, _ g: inout Generator) -> String {
        switch kind {
        case .int: return intCandidates(command, name, &g)
        case .intList:
            let n = Int(g.next() % 5)
            return (0..<max(n, 1)).map { _ in intCandidates(command, name, &g) }.joined(separator: ",")
        case .double:
            return g.pick(Self.invalidOnly.contains(command)
                ? ["-1", "nan", "1e308", "-inf", "inf", "86401"]
                : ["0", "-1", "0.5", "1", "0.999", "1e-300", "3.4e38", "1e308", "inf", "-inf", "nan", "x"])
        case .doubleList: return g.pick(["0,1", "nan", "1e308,-1", ",", "0.5"])
        case .choice(let words): return g.chance(85) ? g.pick(words) : g.pick(["", "bogus", "\u{1B}[2J"])
        case .bool: return ""
        case .string:
            return g.pick(["x", "params", "data", "root", "", "..", ".", ".hidden", String(repeating: "a", count: 300),
                           "\u{1B}[31mred", "a/b", "Head/bias", "crop.scalemin=5", "crop.scalemin=0.5", "all", "light", "nan"])
        case .path:
            return g.pick(["\(dir)/out.bin", "\(dir)/out.safetensors", "\(dir)/p.png", "\(dir)/m.jsonl", "\(dir)/m.csv",
                           "\(dir)/h.cnx", "\(dir)/n.ipynb", "\(dir)", "/dev/null", "/dev/zero", "\(dir)/fifo",
                           "\(dir)/link", "\(dir)/missing/x.safetensors", "\(dir)/x.safetensors", "", String(repeating: "p", count: 300)])
        }
    }

    func mutate(_ spec: CommandSpec, _ dir: String, _ g: inout Generator) -> String {
        var words = spec.words
        for a in spec.arguments where !a.optional || g.chance(60) {
            if g.chance(7) { break }  // a missing argument
            words.append(Tokenizer.quote(value(a.kind, spec.name, a.name, dir, &g)))
        }
        for f in spec.flags where g.chance(40) {
            let v = value(f.kind, spec.name, f.name, dir, &g)
            words.append(f.kind == .bool ? "--\(f.name)" : "--\(f.name)=\(Tokenizer.quote(v))")
        }
        if Self.invalidOnly.contains(spec.name) && spec.name != "wait" {
            // Valid, these run for long: make sure one value is out of range.
            words.append(spec.name == "sleep" ? "-1" : "--steps=0")
        }
        if g.chance(5) { words.append("extra") }
        if g.chance(3) { words.append("--nosuchflag") }
        return words.joined(separator: " ")
    }

    func testMutatedCommandsEndCleanly() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("cnx-fuzz-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        _ = mkfifo(dir.appendingPathComponent("fifo").path, 0o644)
        try? FileManager.default.createSymbolicLink(atPath: dir.appendingPathComponent("link").path, withDestinationPath: "/dev/null")
        var workbench = Workbench(workingDirectory: dir)
        func reset() {
            for cell in runCommands(Self.setup, workbench: workbench) where !cell.ok { XCTFail("setup: \(cell.error!)") }
        }
        reset()
        // A valid batch file for forward/grad/train batch/params import to chew on.
        XCTAssertTrue(runCommands("data batch --out \(dir.path)/x.safetensors; params export \(dir.path)/out.safetensors", workbench: workbench).allSatisfy(\.ok))
        var g = Generator(state: 21)
        let specs = workbench.registry.commands
        let start = Date()
        var cases = 0, failures = 0
        var slow: [String] = []
        let trace = ProcessInfo.processInfo.environment["CNX_FUZZ_TRACE"] != nil
        while cases < 3000 && Date().timeIntervalSince(start) < 45 {
            if cases % 150 == 149 {
                // A fresh workbench now and then: transcripts (and so exports and saves) stay small.
                workbench = Workbench(workingDirectory: dir)
                reset()
                try? FileManager.default.removeItem(at: dir.appendingPathComponent("sessions"))
            }
            let spec = g.pick(specs)
            let text = mutate(spec, dir.path, &g)
            guard let tokens = try? Tokenizer.commands(text).first else { continue }
            cases += 1
            if trace { FileHandle.standardError.write(Data("fuzz: \(text)\n".utf8)) }
            let t0 = Date()
            let cell = workbench.execute(tokens, text: text)
            if Date().timeIntervalSince(t0) > 1 { slow.append(String(format: "%.1fs %@", Date().timeIntervalSince(t0), text)) }
            if let error = cell.error {
                failures += 1
                XCTAssertFalse(error.isEmpty, "\(text): empty error")
                XCTAssertFalse(error.contains("\n"), "\(text): multi-line error \(error)")
                XCTAssertFalse(error.contains("\u{1B}"), "\(text): raw ESC in \(String(reflecting: error))")
                XCTAssertFalse(error.contains("NSCocoaErrorDomain"), "\(text): \(error)")
            } else if spec.mutates {
                reset()  // keep the session small and usable
            }
            if workbench.runningJob != nil { _ = runCommands("stop; wait", workbench: workbench) }
        }
        XCTAssertGreaterThan(cases, 500, "ran \(cases) cases")
        XCTAssertGreaterThan(failures, 0)
        // Still usable afterwards.
        reset()
        XCTAssertTrue(runCommands("train steps 2; eval; status", workbench: workbench).allSatisfy(\.ok))
        for line in slow.prefix(20) { print("slow case: \(line)") }
        print("command fuzzer: \(cases) cases, \(failures) refused, \(String(format: "%.1f", Date().timeIntervalSince(start))) s")
    }
}
