import Foundation
import XCTest
import TestSupport

/// What an IPython user's hands do, on the real shell in a pseudo-terminal:
/// `CMD?`, `%lsmagic`, `help %time`, `%run`, Tab with many candidates,
/// completing augmentation names, `examples`, and `session load` over
/// unsaved work.
final class IPythonHabitsTests: XCTestCase {
    var directory: URL!

    override func setUpWithError() throws {
        _ = try PseudoTerminal.binary()
        directory = try PseudoTerminal.temporaryDirectory()
    }

    override func tearDown() {
        if let directory { try? FileManager.default.removeItem(at: directory) }
    }

    func start() throws -> PseudoTerminal {
        let t = try PseudoTerminal(directory: directory, environment: ["NO_COLOR": "1"])
        t.expect("In [1]: ")
        return t
    }

    /// Types a line and waits for the next prompt (magics take no cell number).
    func run(_ t: PseudoTerminal, _ line: String, timeout: Double = 20, file: StaticString = #filePath, line number: UInt = #line) -> String {
        let mark = t.plainText.count
        let prompts = t.count("\nIn [")
        t.type(line + "\r")
        t.expect("the prompt after \(line)", timeout: timeout, file: file, line: number) { _ in t.count("\nIn [") > prompts }
        return String(t.plainText.dropFirst(mark))
    }

    func leave(_ t: PseudoTerminal, unsaved: Bool) {
        t.type(PseudoTerminal.ctrlD)
        if unsaved {
            t.expect("or exit anyway? [y/N] ")
            t.type("y\r")
        }
        XCTAssertEqual(t.waitForExit(), 0)
    }

    func testHelpShortcutsAndMagicHelp() throws {
        let t = try start()
        XCTAssertTrue(run(t, "train steps?").contains("train steps N [--batch N]"))
        XCTAssertTrue(run(t, "?step").contains("step forward [--batch N]"), "help step lists its stages")
        let magics = run(t, "%lsmagic")
        for name in ["%time CMD", "%timeit CMD", "%run FILE", "%history", "%reset", "%lsmagic"] {
            XCTAssertTrue(magics.contains(name), "\(name) in %lsmagic:\n\(magics)")
        }
        XCTAssertTrue(run(t, "help %time").contains("run CMD as a cell and report wall and CPU time"))
        XCTAssertTrue(run(t, "help %nope").contains("no magic '%nope'"))
        XCTAssertTrue(magics.contains("_, __, ___, _N, Out[N]: an earlier output"), magics)
        XCTAssertTrue(run(t, "help _").contains("_ and Out[N]: earlier outputs, as in IPython"))
        leave(t, unsaved: false)
    }

    /// `_` and `Out[N]` as the guide shows them: alone they show an output
    /// again; in a command they are the file it wrote; `help _` and
    /// `%lsmagic` say so.
    func testUnderscoreAndOutNReuseEarlierOutputs() throws {
        let t = try start()
        _ = run(t, "rng seed 3")
        let again = run(t, "_")
        XCTAssertTrue(again.contains("Out[2]:") && again.contains("seeded 3: root = PRNGKey(3)"), "Out[1] shown again as Out[2]: \(again)")
        _ = run(t, "model build convnext --depths 1,1,1,1 --dims 8,16,24,32 --classes 4 --image-size 32; model init; data synthetic --classes 4 --size 32 --count 64 --val-count 16 --batch 4")
        _ = run(t, "data batch --out b.safetensors", timeout: 30)
        _ = run(t, "forward _ --out l.safetensors", timeout: 30)
        let diff = run(t, "tensors diff _ Out[7]")
        XCTAssertTrue(diff.contains("l.safetensors vs l.safetensors") && diff.contains("largest difference: 0.0"), diff)
        XCTAssertTrue(run(t, "Out[1]").contains("seeded 3: root = PRNGKey(3)"))
        XCTAssertTrue(run(t, "Out[42]").contains("error: 'Out[42]': cell 42 has no output yet"))
        leave(t, unsaved: true)
    }

    func testPercentRunRunsAScriptAsCellsAndStopsAtTheFirstError() throws {
        try "# a lesson\nrng seed 7\n\nrng split params 2\nnot-a-command\nrng seed 8\n"
            .write(to: directory.appendingPathComponent("lesson.cnx"), atomically: true, encoding: .utf8)
        let t = try start()
        t.type("%run lesson.cnx\r")
        t.expect("%run lesson.cnx:5: stopped at the first error")
        t.expect("the prompt") { $0.hasSuffix("In [4]: ") }
        let out = t.plainText
        XCTAssertTrue(out.contains("In [1]: rng seed 7"), out)
        XCTAssertTrue(out.contains("In [2]: rng split params 2"), out)
        XCTAssertTrue(out.contains("params/1"), out)
        XCTAssertTrue(out.contains("In [3]: not-a-command"), out)
        XCTAssertFalse(out.contains("seeded 8"), "nothing after the error runs")
        XCTAssertTrue(run(t, "%run missing.cnx").contains("error: cannot read"))
        leave(t, unsaved: true)
    }

    func testExamplesListsTheLessonsFromAnyDirectory() throws {
        let t = try start()
        let out = run(t, "examples")
        for lesson in ["tour", "stochastic-depth", "layerscale", "schedule", "parity", "augmentations", "rng"] {
            XCTAssertTrue(out.contains("\n\(lesson) "), "\(lesson) listed:\n\(out)")
        }
        XCTAssertTrue(out.contains(Golden.repoRoot.appendingPathComponent("examples").path), out)
        // A bare lesson name runs the shipped one (here the key-tree lesson's first cells run).
        t.type("%run rng\r")
        t.expect("In [2]: rng seed 42")
        t.expect("key tree (seed", timeout: 30)
        t.type(PseudoTerminal.ctrlD)
        t.expect("or exit anyway? [y/N] ", timeout: 60)
        t.type("y\r")
        XCTAssertEqual(t.waitForExit(timeout: 30), 0)
    }

    func testTabCompletesAugmentationNamesAndAsksBeforeAFloodOfCandidates() throws {
        let t = try start()
        let mark = t.plainText.count
        t.type("data augment on ra\t")
        t.expect("data augment on randaugment ", after: mark)
        t.type("\r")
        t.expect("no data yet")
        // The live model's parameter paths: more than 50 candidates, so Tab asks first.
        _ = run(t, "model build convnext --depths 1,1,1,1 --dims 8,16,24,32 --classes 4 --image-size 32")
        let asked = t.plainText.count
        t.type("show grads \t")
        t.expect("Display all ", after: asked)
        t.expect(" possibilities? (y or n)", after: asked)
        t.type("n")
        t.expect("the line again") { $0.dropFirst(asked).contains("possibilities? (y or n)\nIn [3]: show grads") }
        XCTAssertFalse(t.plainText.dropFirst(asked).contains("Stem_Conv/kernel"), "n lists nothing")
        t.type("\t")
        t.expect("asked again") { $0.dropFirst(asked).components(separatedBy: "possibilities?").count == 3 }
        t.type("y")
        t.expect("Stem_Conv/kernel", after: asked)
        t.expect("the line again") { $0.hasSuffix("In [3]: show grads ") }
        t.type(PseudoTerminal.ctrlC)
        t.expect("^C")
        leave(t, unsaved: true)
    }

    func testSessionLoadAsksBeforeReplacingUnsavedWork() throws {
        let t = try start()
        _ = run(t, "rng seed 5; session save five")
        _ = run(t, "rng seed 6")
        t.type("session load five\r")
        t.expect("unsaved work (1 command since the last save or load) would be replaced: save it first with `session save NAME`, or load anyway? [y/N] ")
        t.type("n\r")
        t.expect("kept the session; nothing was loaded\nIn [")
        XCTAssertTrue(run(t, "rng show root").contains("PRNGKey(6)"), "the live session stayed")
        t.type("session load five\r")
        t.expect("the question again") { $0.components(separatedBy: "or load anyway? [y/N]").count == 3 }
        let prompts = t.count("\nIn [")
        t.type("y\r")
        t.expect("session loaded")
        t.expect("the prompt") { _ in t.count("\nIn [") > prompts }
        XCTAssertTrue(run(t, "rng show root").contains("PRNGKey(5)"))
        // Nothing unsaved now: a load does not ask.
        let mark = t.plainText.count
        _ = run(t, "session load five")
        XCTAssertFalse(t.plainText.dropFirst(mark).contains("load anyway?"))
        // --force loads over unsaved work without asking.
        _ = run(t, "rng seed 7")
        let forced = t.plainText.count
        XCTAssertTrue(run(t, "session load five --force").contains("session loaded"))
        XCTAssertFalse(t.plainText.dropFirst(forced).contains("load anyway?"))
        leave(t, unsaved: false)
    }
}
