import Foundation
import XCTest
import Models
@testable import Shell
import Training

final class ReplProgressBarTests: XCTestCase {
    func testTqdmLayoutAtFortyTwoPercent() {
        let bar = ProgressBar(completed: 420, total: 1000, elapsed: 12, unit: "img", postfix: "loss=0.12")
        let text = bar.render(width: 80)
        XCTAssertEqual(text, " 42%|" + String(repeating: "█", count: 11) + "▊" + String(repeating: " ", count: 16)
                       + "| 420/1000 [00:12<00:16, 35.0 img/s, loss=0.12]")
        XCTAssertEqual(text.count, 80)
    }

    func testEmptyAndFullBars() {
        let empty = ProgressBar(completed: 0, total: 50, elapsed: 0).render(width: 40)
        XCTAssertEqual(empty, "  0%|           | 0/50 [00:00<?, ? it/s]")
        XCTAssertEqual(empty.count, 40)
        let full = ProgressBar(completed: 50, total: 50, elapsed: 125).render(width: 40)
        XCTAssertEqual(full, "100%|███| 50/50 [02:05<00:00, 0.40 it/s]", "the bar shrinks to 3 cells rather than exceed the width")
        XCTAssertEqual(ProgressBar(completed: 50, total: 50, elapsed: 125).render(width: 30), "100%|████| 50/50 [02:05<00:00]",
                       "then the rate goes")
    }

    func testUnknownTotalShowsCountAndRate() {
        XCTAssertEqual(ProgressBar(completed: 7, total: 0, elapsed: 3725, unit: "step").render(width: 60),
                       "7 step [1:02:05, 0.00 step/s]")
        XCTAssertEqual(ProgressBar(completed: 700, total: 0, elapsed: 2).render(width: 60), "700 it [00:02, 350 it/s]")
    }

    func testBarWidthFollowsTheTerminal() {
        for width in [60, 100, 150] {
            XCTAssertEqual(ProgressBar(completed: 1, total: 3, elapsed: 1).render(width: width).count, width)
        }
    }

    func testScriptProgressInPlaceIsTheBarAfterTheCommand() {
        let line = ProgressLines.bar(command: "train steps 300", completed: 120, total: 300, elapsed: 12, detail: "loss=0.52", width: 100)
        XCTAssertTrue(line.hasPrefix("train steps 300:  40%|"), line)
        XCTAssertTrue(line.hasSuffix("| 120/300 [00:12<00:18, 10.0 it/s, loss=0.52]"), line)
        XCTAssertEqual(line.count, 99, "one column short of the width, so the terminal never wraps it")
        let narrow = ProgressLines.bar(command: "train steps 300", completed: 120, total: 300, elapsed: 12,
                                       detail: "loss=0.52 lr=0.004 a long detail", width: 50)
        XCTAssertEqual(narrow.count, 49, "cut to the width")
    }

    func testThrottleAllowsTenRedrawsPerSecond() {
        var throttle = RedrawThrottle(interval: 0.1)
        let allowed = stride(from: 0.0, to: 1.0, by: 0.01).filter { throttle.allow(at: $0) }.count
        XCTAssertEqual(allowed, 10)
    }
}

final class ReplCompletionTests: XCTestCase {
    let registry = CommandRegistry([
        CommandSpec(["help"], summary: "help", arguments: [ArgumentSpec("command", .string, "", optional: true)],
                    variadicTail: true, mutates: false) { _, _ in .empty },
        CommandSpec(["model", "build"], summary: "build",
                    arguments: [ArgumentSpec("variant", .choice(["atto", "femto", "tiny"]), "")],
                    flags: [FlagKey<Int?>("classes", help: ""), FlagKey<ParameterNaming>("naming", default: .flax, help: ""),
                            FlagKey<Bool>("train", help: "")]) { _, _ in .empty },
        CommandSpec(["model", "init"], summary: "init") { _, _ in .empty },
        CommandSpec(["params", "export"], summary: "export", arguments: [ArgumentSpec("file", .path, "")]) { _, _ in .empty },
    ])

    func completer(_ directory: URL = URL(fileURLWithPath: "/nonexistent"), providers: [CompletionProvider] = []) -> Completer {
        Completer(registry: registry, workingDirectory: directory, providers: providers)
    }

    func testCommandsAndSubcommands() {
        XCTAssertEqual(completer().complete("mo").candidates, ["model"])
        XCTAssertEqual(completer().complete("").candidates, ["help", "model", "params"])
        XCTAssertEqual(completer().complete("model ").candidates, ["build", "init"])
        XCTAssertEqual(completer().complete("model b").candidates, ["build"])
        XCTAssertEqual(completer().complete("x; model i").candidates, ["init"])
        XCTAssertEqual(completer().complete("%time mo").candidates, ["model"])
        XCTAssertEqual(completer().complete("%ti").candidates, ["%time", "%timeit"])
    }

    func testFlagsAndChoices() {
        XCTAssertEqual(completer().complete("model build tiny --").candidates, ["--classes", "--naming", "--train"])
        XCTAssertEqual(completer().complete("model build tiny --n").candidates, ["--naming"])
        XCTAssertEqual(completer().complete("model build tiny --naming ").candidates, ["flax", "timm"])
        XCTAssertEqual(completer().complete("model build tiny --naming t").candidates, ["timm"])
        XCTAssertEqual(completer().complete("model build ").candidates, ["atto", "femto", "tiny"])
        XCTAssertEqual(completer().complete("model build --train f").candidates, ["femto"], "a bool flag takes no value")
        XCTAssertEqual(completer().complete("model build tiny --classes ").candidates, [], "no guesses for numbers")
        XCTAssertEqual(completer().complete("model build tiny ").candidates, [], "only one positional")
    }

    func testPaths() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("cnx-complete-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir.appendingPathComponent("weights"), withIntermediateDirectories: true)
        _ = FileManager.default.createFile(atPath: dir.appendingPathComponent("weights/tiny.safetensors").path, contents: Data())
        _ = FileManager.default.createFile(atPath: dir.appendingPathComponent("été.txt").path, contents: Data())
        _ = FileManager.default.createFile(atPath: dir.appendingPathComponent(".hidden").path, contents: Data())
        defer { try? FileManager.default.removeItem(at: dir) }
        XCTAssertEqual(completer(dir).complete("params export ").candidates, ["weights/", "été.txt"])
        XCTAssertEqual(completer(dir).complete("params export w").candidates, ["weights/"])
        XCTAssertEqual(completer(dir).complete("params export weights/t").candidates, ["weights/tiny.safetensors"])
        XCTAssertEqual(completer(dir).complete("params export \(dir.path)/é").candidates, ["\(dir.path)/été.txt"])
    }

    func testHelpCompletesCommandWords() {
        let c = Completer(registry: registry, workingDirectory: URL(fileURLWithPath: "/"))
        XCTAssertEqual(c.complete("help mo").candidates, ["model"])
        XCTAssertEqual(c.complete("help model ").candidates, ["build", "init"])
        XCTAssertEqual(c.complete("help model build ").candidates, [])
    }

    func testKeyNamesAndBlockNamesComeFromTheSnapshot() throws {
        let workbench = Workbench()
        let complete = { (text: String) in
            Completer(registry: workbench.registry, workingDirectory: workbench.workingDirectory)
                .complete(text, snapshot: workbench.snapshot).candidates
        }
        XCTAssertEqual(complete("show layerscale Bott"), [], "no model, no block names")
        let names = workbench.snapshot.keys.names
        XCTAssertFalse(names.isEmpty)
        XCTAssertEqual(complete("rng show "), names.sorted())
        workbench.execute(try Tokenizer.commands("model build atto --classes 10")[0], text: "model build atto --classes 10")
        let blocks = complete("show layerscale BottleneckConvNeXtBlock_01")
        XCTAssertEqual(blocks, ["BottleneckConvNeXtBlock_01_01", "BottleneckConvNeXtBlock_01_02"])
        XCTAssertTrue(complete("show grads ").contains("Head"))
    }

    func testSessionNamesAreSavedSessionFolders() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("cnx-complete-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        for name in ["tour", "tiny-run", "half"] {
            try FileManager.default.createDirectory(at: dir.appendingPathComponent("sessions/\(name)"), withIntermediateDirectories: true)
        }
        // `half` has no CURRENT: its first save never finished, so it is no session.
        for name in ["tour", "tiny-run"] {
            _ = FileManager.default.createFile(atPath: dir.appendingPathComponent("sessions/\(name)/CURRENT").path, contents: Data("{}".utf8))
        }
        _ = FileManager.default.createFile(atPath: dir.appendingPathComponent("sessions/notes.txt").path, contents: Data())
        let workbench = Workbench(workingDirectory: dir)
        let complete = { (text: String) in
            Completer(registry: workbench.registry, workingDirectory: dir).complete(text, snapshot: workbench.snapshot).candidates
        }
        XCTAssertEqual(complete("session load "), ["tiny-run", "tour"])
        XCTAssertEqual(complete("session load to"), ["tour"])
        XCTAssertEqual(complete("session export t"), ["tiny-run", "tour"])
        XCTAssertEqual(complete("session diff "), ["live", "tiny-run", "tour"], "diff's sides may be the live session")
        XCTAssertEqual(complete("session diff tour ti"), ["tiny-run"], "the second side too")
        XCTAssertEqual(complete("session load sessions/h"), ["sessions/half/"], "a word with '/' is a path: folders")
        XCTAssertEqual(complete("session export tour --ipynb "), ["sessions/"], "the flag's value is a file path")
        XCTAssertEqual(Completer(registry: workbench.registry, workingDirectory: URL(fileURLWithPath: "/nonexistent"))
                        .complete("session load ").candidates, [], "no sessions folder, no names")
    }

    func testParameterPathsOfTheLiveModel() throws {
        let workbench = Workbench()
        let complete = { (text: String) in
            Completer(registry: workbench.registry, workingDirectory: workbench.workingDirectory)
                .complete(text, snapshot: workbench.snapshot).candidates
        }
        XCTAssertEqual(complete("show opt "), [], "no model, no paths")
        workbench.execute(try Tokenizer.commands("model build atto --classes 10")[0], text: "model build atto --classes 10")
        let config = try XCTUnwrap(workbench.snapshot.modelConfig)
        let paths = try ConvNeXt(config: config).parameterSpecs().map(\.path)
        XCTAssertGreaterThan(paths.count, 20)
        XCTAssertEqual(complete("show opt "), paths.sorted(), "every parameter path")
        let head = paths.filter { $0.hasPrefix("Head") }
        XCTAssertFalse(head.isEmpty)
        XCTAssertEqual(complete("show opt Head"), head.sorted())
        let one = try XCTUnwrap(paths.first { $0.hasSuffix("Stem_Conv/kernel") })
        XCTAssertEqual(complete("show opt \(one.dropLast(2))"), [one], "a unique path completes in full")
        // grads and update filter by module name or path: both complete.
        for command in ["show grads", "show update"] {
            let words = complete("\(command) Head")
            XCTAssertTrue(words.contains("Head"), "\(command): the module name")
            XCTAssertTrue(Set(head).isSubset(of: words), "\(command): the full paths")
        }
        XCTAssertFalse(complete("show layerscale Head").contains { $0.contains("/") }, "other block arguments keep module names only")
    }

    func testProvidersComeFirst() {
        let provider: CompletionProvider = { request in
            request.command.words == ["model", "build"] && request.argument?.name == "variant" ? ["tiny", "tinier"] : nil
        }
        XCTAssertEqual(completer(providers: [provider]).complete("model build tin").candidates, ["tinier", "tiny"])
        XCTAssertEqual(completer(providers: [provider]).complete("model build tiny --naming ").candidates, ["flax", "timm"])
    }

    func testSplitAndCommonPrefix() {
        XCTAssertEqual(Completer.split("model build 'a b' c").words, ["model", "build", "a b"])
        XCTAssertEqual(Completer.split("model build 'a b' c").partial, "c")
        XCTAssertEqual(Completer.split("params export my\\ fi").partial, "my fi")
        XCTAssertEqual(Completer.commonPrefix(["tinier", "tiny", "tin"]), "tin")
        XCTAssertEqual(Completer.commonPrefix(["timm", "tiny"]), "ti")
        XCTAssertEqual(LineEditor.escape("my file;x"), "my\\ file\\;x")
        XCTAssertEqual(LineEditor.columnize(["aa", "bbbb", "c"], width: 13), "aa    bbbb\nc")
    }
}

final class ReplHistoryTests: XCTestCase {
    func testDefaultLocationHonoursOverrides() {
        XCTAssertEqual(HistoryStore.defaultURL(environment: ["CNX_HISTORY": "/tmp/h", "HOME": "/home/u"]).path, "/tmp/h")
        XCTAssertEqual(HistoryStore.defaultURL(environment: ["XDG_STATE_HOME": "/s", "HOME": "/home/u"]).path, "/s/cnx/history")
        XCTAssertEqual(HistoryStore.defaultURL(environment: ["HOME": "/home/u"]).path, "/home/u/.cnx_history")
    }

    func testTwoShellsMergeAndDropConsecutiveDuplicates() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("cnx-history-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        let url = dir.appendingPathComponent("state/history")
        let a = HistoryStore(url: url), b = HistoryStore(url: url)
        a.add("model build tiny")
        a.add("model build tiny")
        a.add("help été")
        try a.save()
        b.add("rng seed 7")
        try b.save()
        a.add("train steps 10 &")
        try a.save()
        XCTAssertEqual(HistoryStore(url: url).lines, ["model build tiny", "help été", "rng seed 7", "train steps 10 &"])
        XCTAssertEqual(a.lines, ["model build tiny", "help été", "train steps 10 &"], "memory keeps this shell's order")
        let mode = try FileManager.default.attributesOfItem(atPath: url.path)[.posixPermissions] as? Int
        XCTAssertEqual(mode, 0o600)
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: url.deletingLastPathComponent().path)
        XCTAssertEqual(leftovers.filter { !$0.hasSuffix(".lock") }, ["history"], "no temporary file is left behind")
    }

    func testAForeignHistoryFileIsNeverOverwritten() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("cnx-history-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let url = dir.appendingPathComponent("bash_history")
        try "ls -la\ncd /tmp\n".write(to: url, atomically: true, encoding: .utf8)
        let store = HistoryStore(url: url)
        store.add("help")
        XCTAssertThrowsError(try store.save())
        XCTAssertEqual(try String(contentsOf: url, encoding: .utf8), "ls -la\ncd /tmp\n")
    }

    func testHistoryCommandListsCells() {
        let workbench = Workbench()
        workbench.execute([Token("help")], text: "help")
        workbench.execute([Token("nosuch")], text: "nosuch")
        let cell = workbench.execute([Token("history")], text: "history")
        guard case .table(let table)? = cell.result else { return XCTFail("history returns a table") }
        XCTAssertEqual(table.rows.map { $0[1] }, ["help", "nosuch"])
        XCTAssertEqual(table.rows.map { $0[0] }, [.int(1), .int(2)])
        XCTAssertEqual(table.rows[1][2], .string("error: unknown command 'nosuch'; type 'help' for the list"))
    }

    func testTimeitRefusesMutatingCommandsAndRepeatsReadOnlyOnes() throws {
        let workbench = Workbench()
        XCTAssertThrowsError(try Magic.timeit("sleep 1", workbench: workbench))
        XCTAssertThrowsError(try Magic.timeit("forward x.safetensors --out y.safetensors", workbench: workbench)) {
            XCTAssertTrue("\($0)".contains("runs on the compute queue"), "\($0)")
        }
        let report = try Magic.timeit("help", workbench: workbench, budget: 0.01)
        XCTAssertTrue(report.contains("mean ± std of "), report)
        XCTAssertTrue(workbench.cells.isEmpty, "%timeit records no cells")
    }

    func testTimeReportsImagesPerSecondWhenTheResultHasThem() {
        let record = CommandResult.record(Record(title: "train steps 2: done", [("steps", .int(2)), ("img_s", .double(1706.2))]))
        XCTAssertEqual(Magic.imagesPerSecond(.group([.message("x"), record])), 1706.2)
        XCTAssertNil(Magic.imagesPerSecond(.message("no rate")))
        XCTAssertEqual(Magic.timeReport(wall: 1.5, user: 2, system: 0.25, imagesPerSecond: 1706.2),
                       "Wall time: 1.5 s; CPU time: 2.25 s (user 2 s, sys 250 ms); 1706.2 img/s")
    }

    func testSleepIsACancellableJob() {
        let workbench = Workbench()
        workbench.execute([Token("sleep"), Token("5"), Token("&")], text: "sleep 5 &")
        Thread.sleep(forTimeInterval: 0.25)
        let job = workbench.cancelRunningJob()
        XCTAssertNotNil(job)
        guard case .finished(.message(let text))? = job?.wait(seconds: 5) else { return XCTFail("the job ends with a message") }
        XCTAssertTrue(text.hasPrefix("stopped at step "), text)
        XCTAssertLessThan(job!.completed, 50)
    }
}

final class ReplBannerTests: XCTestCase {
    func testBannerSaysWhatToDoFirstOnAFreshSession() {
        let lines = Banner.lines(SessionState())
        XCTAssertTrue(lines[0].hasPrefix("cnx \(CNXVersion.string) — "))
        XCTAssertTrue(lines[1].contains("none yet: model build tiny"), lines[1])
        XCTAssertTrue(lines[2].contains("none yet: optim adamw"), lines[2])
        XCTAssertTrue(lines[3].contains("none yet: data synthetic"), lines[3])
        XCTAssertTrue(lines.last!.contains("`examples` lists them, `%run tour` runs one"), lines.last!)
    }

    func testBannerDescribesABuiltModel() throws {
        let workbench = Workbench()
        let cell = workbench.execute(try Tokenizer.commands("model build atto --classes 10")[0], text: "model build atto --classes 10")
        XCTAssertNil(cell.error)
        let line = Banner.lines(workbench.snapshot)[1]
        XCTAssertTrue(line.hasPrefix("  model      atto, 10 classes, "), line)
        XCTAssertTrue(line.contains("not initialised yet"), line)
    }
}

final class ReplUnsavedWorkTests: XCTestCase {
    func testTheExitQuestionCountsBackgroundCommandsAndNamesARunningJob() throws {
        let workbench = Workbench()
        XCTAssertNil(workbench.unsavedWorkQuestion, "a fresh session has nothing to lose")
        workbench.execute([Token("help")], text: "help")
        XCTAssertNil(workbench.unsavedWorkQuestion, "read-only commands change nothing")
        workbench.execute([Token("sleep"), Token("5"), Token("&")], text: "sleep 5 &")
        let running = try XCTUnwrap(workbench.unsavedWorkQuestion)
        XCTAssertTrue(running.hasPrefix("unsaved work (1 command, never saved; job 1 (sleep 5 &, "), running)
        XCTAssertTrue(running.contains(") is running and would be stopped): "), running)
        let job = try XCTUnwrap(workbench.cancelRunningJob())
        XCTAssertNotNil(job.wait(seconds: 5))
        XCTAssertEqual(workbench.unsavedWorkQuestion,
                       "unsaved work (1 command, never saved): save with `session save NAME`, or exit anyway? [y/N] ",
                       "`CMD &` counts as CMD")
        XCTAssertTrue(workbench.hasUnsavedWork)
    }
}
