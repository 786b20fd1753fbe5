import Foundation
import XCTest
import TestSupport

/// Drives the real `cnx` binary through a pseudo-terminal: what a person
/// types, what they see. Each test is a few seconds at most, with timeouts.
final class ReplTerminalTests: XCTestCase {
    var directory: URL!

    override func setUpWithError() throws {
        _ = try PseudoTerminal.binary()
        directory = try PseudoTerminal.temporaryDirectory()
    }

    override func tearDown() {
        if let directory { try? FileManager.default.removeItem(at: directory) }
    }

    func start(_ environment: [String: String] = ["NO_COLOR": "1"]) throws -> PseudoTerminal {
        let terminal = try PseudoTerminal(directory: directory, environment: environment)
        terminal.expect("In [1]: ")
        return terminal
    }

    /// Types Ctrl-C and waits for its `^C` and the fresh prompt: the signal
    /// travels apart from typed keys, so keys typed at once could overtake it.
    func interrupt(_ t: PseudoTerminal, then prompt: String, file: StaticString = #filePath, line: UInt = #line) {
        let mark = t.plainText.count
        t.type(PseudoTerminal.ctrlC)
        t.expect("^C, then \(prompt)", file: file, line: line) { text in
            let after = String(text.dropFirst(mark))
            guard let r = after.range(of: "^C") else { return false }
            return after[r.upperBound...].contains(prompt)
        }
    }

    /// The exit question's ending (`unsaved work (…): save with …, or exit anyway? [y/N]`).
    static let exitQuestion = "or exit anyway? [y/N] "

    /// Leaves with Ctrl-D and checks the exit status is 0. With `unsaved`
    /// work the shell asks first and the answer is `y`; without, it must
    /// leave at once (a question would make `waitForExit` time out and fail).
    func leave(_ t: PseudoTerminal, unsaved: Bool, file: StaticString = #filePath, line: UInt = #line) {
        let mark = t.plainText.count
        t.type(PseudoTerminal.ctrlD)
        if unsaved {
            t.expect(Self.exitQuestion, after: mark, file: file, line: line)
            t.type("y\r")
        }
        XCTAssertEqual(t.waitForExit(file: file, line: line), 0, file: file, line: line)
        if !unsaved {
            XCTAssertFalse(t.plainText.dropFirst(mark).contains(Self.exitQuestion), "nothing to lose, no question", file: file, line: line)
        }
    }

    /// A tiny model, optimizer and synthetic data: ready for `train steps`.
    func setUpTraining(_ t: PseudoTerminal) {
        t.type("model build convnext --depths 1,1,1,1 --dims 8,16,24,32 --classes 4 --image-size 32; model init; "
               + "optim adamw --lr 0.001; data synthetic --classes 4 --size 32\r")
        t.expect("In [5]: ", timeout: 30)
        XCTAssertFalse(t.plainText.contains("error:"), t.plainText)
    }

    /// The integer after `prefix` in the terminal's text.
    func number(after prefix: String, in text: String) -> Int? {
        guard let r = text.range(of: prefix, options: .backwards) else { return nil }
        return Int(text[r.upperBound...].prefix { $0.isNumber })
    }

    func testCtrlCDuringTrainStepsStopsAtAStepBoundaryAndNamesIt() throws {
        let t = try start()
        setUpTraining(t)
        t.type("train steps 5000\r")
        t.expect("the training progress bar") { $0.contains("/5000 [") && $0.contains("img/s") }
        t.type(PseudoTerminal.ctrlC)
        t.expect("stopping job 1 (train steps 5000, ")
        t.expect("interrupted: job 1 (train steps 5000) stopped after step ", timeout: 30)
        t.expect("stopped by request after step ")
        t.expect("In [6]: ")
        let stopped = try XCTUnwrap(number(after: "stopped after step ", in: t.plainText))
        XCTAssertGreaterThan(stopped, 0)
        XCTAssertLessThan(stopped, 5000)
        // The state is consistent: its counters name the same step, and training resumes.
        t.type("status\r")
        t.expect("In [7]: ")
        XCTAssertEqual(number(after: "  steps      ", in: t.plainText), stopped)
        t.type("train steps 2\r")
        t.expect("train steps 2: done", timeout: 30)
        t.type("status\r")
        t.expect("In [9]: ")
        XCTAssertEqual(number(after: "  steps      ", in: t.plainText), stopped + 2)
        leave(t, unsaved: true)
    }

    func testASecondCtrlCSaysWhyTheStepRunsToItsEnd() throws {
        let t = try start()
        setUpTraining(t)
        // Big batches: a step lasts long enough for a second Ctrl-C to land in it.
        t.type("train steps 1000 --batch 1000\r")
        t.expect("the training progress bar", timeout: 30) { $0.contains("/1000 [") && $0.contains("img/s") }
        t.type(PseudoTerminal.ctrlC)
        t.expect("stopping job 1 (train steps 1000 --batch 1000, ")
        t.type(PseudoTerminal.ctrlC)
        t.expect("interrupted: job 1 (train steps 1000 --batch 1000) stopped after step ", timeout: 30)
        t.expect("In [6]: ")
        let text = t.plainText
        let interrupted = text.range(of: "interrupted: job 1")!.lowerBound
        if let still = text.range(of: "still stopping: step ") {
            // The usual case: the second Ctrl-C came while the step ran.
            XCTAssertLessThan(still.lowerBound, interrupted)
            XCTAssertTrue(text.contains("cannot be abandoned safely"))
        } else {
            // The step had just ended: the second Ctrl-C reached the prompt and discarded its empty line.
            XCTAssertTrue(text[interrupted...].contains("^C"), text)
        }
        XCTAssertTrue(t.isRunning, "a second Ctrl-C never ends the shell")
        t.type("status\r")
        t.expect("In [7]: ")
        leave(t, unsaved: true)
    }

    func testStatusAnswersWhileTrainingRunsInTheBackground() throws {
        let t = try start()
        setUpTraining(t)
        t.type("train steps 5000 &\r")
        t.expect("job 1 started in the background")
        t.expect("In [6]: ")
        t.type("status\r")
        t.expect("In [7]: ")
        XCTAssertTrue(t.plainText.contains("  job        train steps 5000 &, "), t.plainText)
        // A mutating command is refused with the job's progress.
        t.type("model init\r")
        t.expect("a job is running (train steps 5000 &, ")
        XCTAssertFalse(t.plainText.contains("[job 1] done"), "status answered while the job ran")
        t.type(PseudoTerminal.ctrlC)
        t.expect("stopping job 1 (train steps 5000 &")
        t.type("wait\r")
        t.expect("stopped by request after step ", timeout: 30)
        leave(t, unsaved: true)
    }

    func testTypingHelpShowsTheCommandList() throws {
        let t = try start()
        t.type("help\r")
        t.expect("Commands (help CMD for details)")
        t.expect("In [2]: ")
        XCTAssertTrue(t.plainText.contains("Out[1]:"))
        XCTAssertTrue(t.plainText.contains("sleep"), "the list names the registered commands")
        leave(t, unsaved: false)
    }

    func testTabCompletesCommandsAndFlagValues() throws {
        let t = try start()
        // `he` has one completion: the line becomes `help ` and runs.
        t.type("he\t")
        t.expect("help ")
        t.type("\r")
        t.expect("Commands (help CMD for details)")
        t.expect("In [2]: ")
        // Sub-command word after a complete command: `help sl<Tab>` -> `help sleep`.
        let before = t.plainText.count
        t.type("help sl\t\r")
        t.expect("sleep SECONDS", after: before)
        // Two candidates (stop, status?) list in columns: `s<Tab>` lists sleep and stop.
        let listed = t.plainText.count
        t.type("s\t")
        t.expect("sleep", after: listed)
        t.expect("stop", after: listed)
        interrupt(t, then: "In [3]: ")
        t.type("exit\r")
        XCTAssertEqual(t.waitForExit(), 0)
    }

    func testTabCompletesModelCommandsVariantsAndFlags() throws {
        let t = try start()
        t.type("mo\t")
        t.expect("In [1]: model ")
        t.type("b\t")
        t.expect("In [1]: model build ")
        t.type("at\t")
        t.expect("In [1]: model build atto ")
        t.type("--cl\t")
        t.expect("In [1]: model build atto --classes ")
        t.type("10\r")
        t.expect("In [2]: ")
        t.type("params export --naming t\t")
        t.expect("In [2]: params export --naming timm ")
        interrupt(t, then: "In [2]: ")
        leave(t, unsaved: true)
    }

    func testUpArrowRecallsALineFromThePreviousRun() throws {
        let first = try start()
        first.type("help sleep\r")
        first.expect("Wait SECONDS as a job")
        first.expect("In [2]: ")
        first.type("quit\r")
        XCTAssertEqual(first.waitForExit(), 0)
        let file = directory.appendingPathComponent("history")
        let saved = try String(contentsOf: file, encoding: .utf8)
        XCTAssertTrue(saved.hasPrefix("_HiStOrY_V2_"), "libedit's history format")

        let second = try start()
        second.type(PseudoTerminal.up + PseudoTerminal.up + "\r")
        // Up twice: `quit` then `help sleep`, which runs again.
        second.expect("Wait SECONDS as a job")
        leave(second, unsaved: false)
    }

    func testCtrlRSearchesHistory() throws {
        let t = try start()
        t.type("help sleep\r")
        t.expect("In [2]: ")
        t.type("jobs\r")
        t.expect("In [3]: ")
        t.type("\u{12}sle")  // Ctrl-R, then part of an earlier line
        // The prompt says what it is, as readline's does (not libedit's `bck:`).
        t.expect("(reverse-i-search)`sle': help sleep")
        XCTAssertFalse(t.plainText.contains("bck:"), t.plainText)
        t.type("\r")
        t.expect("Out[3]:")
        t.expect("the recalled command's output") { $0.components(separatedBy: "usage    sleep SECONDS").count == 3 }
        // No match says so; Ctrl-G gives the typed line back.
        t.type("sta\u{12}zzz")
        t.expect("(failed reverse-i-search)`zzz': ")
        t.type("\u{07}tus\r")
        t.expect("the typed line, run") { $0.contains("Out[4]:") && $0.contains("model") }
        leave(t, unsaved: false)
    }

    func testCtrlCDuringWaitStopsTheBackgroundJob() throws {
        let t = try start()
        t.type("sleep 30 &\r")
        t.expect("In [2]: ")
        t.type("wait\r")
        t.expect("the background job's bar while waiting") { $0.contains("/300 [") }
        t.type(PseudoTerminal.ctrlC)
        t.expect("interrupted: job 1 (sleep 30 &) stopped after step ")
        t.expect("Out[2]: stopped at step ")
        t.expect("In [3]: ")
        leave(t, unsaved: true)
    }

    func testCtrlCDiscardsAHalfTypedLineAndTheShellSurvives() throws {
        let t = try start()
        t.type("unknownthing --abc")
        t.expect("unknownthing --abc")
        interrupt(t, then: "In [1]: ")
        t.type("help stop\r")
        t.expect("Stop the running job")
        XCTAssertFalse(t.plainText.contains("unknown command 'unknownthing'"), "the discarded line never ran")
        XCTAssertTrue(t.isRunning)
        leave(t, unsaved: false)
    }

    func testCtrlCStopsAForegroundJobAndNamesTheStep() throws {
        let t = try start()
        t.type("sleep 30\r")
        t.expect("the progress bar") { $0.contains("/300 [") }
        t.type(PseudoTerminal.ctrlC)
        t.expect("stopping job 1")
        t.expect("interrupted: job 1 (sleep 30) stopped after step ")
        t.expect("Out[1]: stopped at step ")
        t.expect("In [2]: ")
        // The session is consistent and usable: a mutating command runs.
        t.type("sleep 0.1\r")
        t.expect("slept 0.1 s")
        leave(t, unsaved: true)
    }

    func testStatusAnswersWhileABackgroundJobRuns() throws {
        let t = try start()
        t.type("sleep 30 &\r")
        t.expect("job 1 started in the background")
        t.expect("In [2]: ")
        let started = Date()
        t.type("jobs\r")
        t.expect("state      running")
        XCTAssertLessThan(Date().timeIntervalSince(started), 10, "jobs answered before the 30 s job ended")
        // A mutating command is refused while the job runs.
        t.type("sleep 1\r")
        t.expect("a job is running (sleep 30 &, ")
        // Ctrl-C with text typed discards the line and leaves the job running;
        // Ctrl-C at the empty prompt stops it; the shell stays.
        t.expect("In [4]: ")
        t.type("help wa")
        t.expect("In [4]: help wa")
        interrupt(t, then: "In [4]: ")
        t.type("jobs\r")
        t.expect("the job still running") { $0.components(separatedBy: "state      running").count == 3 }
        XCTAssertFalse(t.plainText.contains("stopping job 1"), "typed text absorbs the Ctrl-C")
        t.expect("In [5]: ")
        interrupt(t, then: "In [5]: ")
        t.expect("stopping job 1 (sleep 30 &")
        t.type("wait\r")
        t.expect("stopped at step ")
        t.type("jobs\r")
        t.expect("state      stopped")
        let ended = t.plainText.count
        t.expect("In [7]: ")
        // The elapsed time is frozen at the end, and `wait` was the job's only notice.
        Thread.sleep(forTimeInterval: 1.2)
        t.type("jobs\r")
        t.expect("In [8]: ")
        let elapsed = t.plainText.components(separatedBy: "elapsed_s  ").dropFirst().map { Double($0.prefix { $0 != "\n" && $0 != "\r" }) }
        XCTAssertEqual(elapsed.count, 4, t.plainText)
        XCTAssertEqual(elapsed[2], elapsed[3], "elapsed stops growing once the job ended")
        XCTAssertFalse(t.plainText.dropFirst(ended).contains("[job 1]"), "no notice after wait showed the end")
        XCTAssertLessThan(Date().timeIntervalSince(started), 20)
        leave(t, unsaved: true)
    }

    /// The issue's sequence: `train steps 3000 &`, `stop`, `wait`, `jobs`:
    /// the job is "stopped", its time frozen, and `wait` was its one notice.
    func testStoppedTrainingJobIsStoppedFrozenAndAnnouncedOnce() throws {
        let t = try start()
        setUpTraining(t)
        t.type("train steps 3000 &\r")
        t.expect("job 1 started in the background")
        t.expect("In [6]: ")
        t.type("stop\r")
        t.expect("stopping job 1")
        t.expect("In [7]: ")
        t.type("wait\r")
        t.expect("train steps 3000: stopped", timeout: 30)
        t.expect("In [8]: ")
        let waited = t.plainText.count
        t.type("jobs\r")
        t.expect("state      stopped")
        t.expect("In [9]: ")
        Thread.sleep(forTimeInterval: 1.2)
        t.type("jobs\r")
        t.expect("In [10]: ")
        let elapsed = t.plainText.dropFirst(waited).components(separatedBy: "elapsed_s  ").dropFirst()
            .map { Double($0.prefix { $0 != "\n" && $0 != "\r" }) }
        XCTAssertEqual(elapsed.count, 2, t.plainText)
        XCTAssertEqual(elapsed.first, elapsed.last, "elapsed stops growing once the job ended")
        XCTAssertFalse(t.plainText.dropFirst(waited).contains("[job 1]"), "no notice after wait showed the end")
        XCTAssertFalse(t.plainText.contains("state      finished"), "a stopped job is not 'finished'")
        leave(t, unsaved: true)
    }

    func testBackgroundJobEndIsAnnouncedAboveThePrompt() throws {
        let t = try start()
        t.type("sleep 0.5 &\r")
        t.expect("job 1 started in the background")
        t.type("hel")
        t.expect("[job 1] done: sleep 0.5 &")
        // The half-typed line survives the announcement.
        t.type("p stop\r")
        t.expect("Stop the running job")
        leave(t, unsaved: true)
    }

    func testCtrlDOnAnEmptyLineExitsWithStatusZero() throws {
        let t = try start()
        leave(t, unsaved: false)
        let after = try XCTUnwrap(t.localModes)
        XCTAssertEqual(after & tcflag_t(ICANON | ECHO), tcflag_t(ICANON | ECHO), "the terminal is cooked and echoing again")
    }

    func testSIGTERMEndsTheShellAndRestoresTheTerminal() throws {
        let t = try start()
        t.type("help jobs\r")
        t.expect("In [2]: ")
        let editing = try XCTUnwrap(t.localModes)
        XCTAssertEqual(editing & tcflag_t(ICANON | ECHO), 0, "libedit edits in raw mode")
        kill(t.pid, SIGTERM)
        XCTAssertEqual(t.waitForExit(), 128 + SIGTERM)
        XCTAssertTrue(try String(contentsOf: directory.appendingPathComponent("history"), encoding: .utf8).contains("help\\040jobs"),
                      "the line typed before was saved")
        let after = try XCTUnwrap(t.localModes)
        XCTAssertEqual(after & tcflag_t(ICANON | ECHO), tcflag_t(ICANON | ECHO), "cooked and echoing again")
    }

    func testNoColorOutputHasNoColourEscapes() throws {
        let t = try start(["NO_COLOR": "1"])
        t.type("help\r")
        t.expect("In [2]: ")
        t.type("nosuchcommand\r")
        t.expect("In [3]: ")
        leave(t, unsaved: false)
        XCTAssertFalse(t.text.contains("\u{1B}[3"), "no colour (SGR 3x) sequences")
        XCTAssertFalse(t.text.contains("\u{1B}[1m"), "no bold")
        XCTAssertFalse(t.text.contains("m\u{1B}[0m") || t.text.contains("\u{1B}[0m"), "no resets")
    }

    func testColourIsUsedWithoutNoColor() throws {
        let t = try PseudoTerminal(directory: directory)
        t.expect("a coloured prompt") { _ in t.text.contains("\u{1B}[32mIn [") }
        leave(t, unsaved: false)
    }

    func testNonASCIIInputRoundTrips() throws {
        let t = try start()
        t.type("help été\r")
        t.expect("no command 'été'")
        leave(t, unsaved: false)
    }

    func testLongOutputIsPagedOnASmallTerminal() throws {
        let t = try PseudoTerminal(directory: directory, environment: ["NO_COLOR": "1", "PAGER": ""], rows: 6)
        t.expect("In [1]: ")
        t.type("help\r")
        t.expect("-- more (")
        XCTAssertFalse(t.plainText.contains("Wait until the background job ends"), "the last rows wait for a key")
        t.type("\r")
        t.expect("-- more (")
        t.type("q")
        t.expect("more lines not shown")
        t.expect("In [2]: ")
        let mark = t.plainText.count
        t.type("help\r")
        t.expect("-- more (", after: mark)
        // Space pages on until the end of the list and the next prompt.
        for _ in 0..<30 where !t.plainText.dropFirst(mark).contains("In [3]: ") {
            let pages = t.count("-- more (")
            t.type(" ")
            t.expect("the next page or the prompt") { text in
                text.dropFirst(mark).contains("In [3]: ") || t.count("-- more (") > pages
            }
        }
        t.expect("Wait until the background job ends", after: mark)
        t.expect("In [3]: ", after: mark)
        leave(t, unsaved: false)
    }

    func testNonASCIIInputWorksWithoutALocale() throws {
        let t = try start(["NO_COLOR": "1", "LANG": "", "LC_ALL": ""])
        t.type("help naïve\r")
        t.expect("no command 'naïve'")
        leave(t, unsaved: false)
    }

    func testMagics() throws {
        let t = try start()
        t.type("%time help\r")
        t.expect("Wall time: ")
        t.expect("CPU time: ")
        t.type("%timeit help jobs\r")
        t.expect("per run (mean ± std of ")
        t.type("%timeit sleep 1\r")
        t.expect("%timeit only repeats read-only commands")
        t.type("%history\r")
        t.expect("History of this session")
        t.type("%reset\r")
        t.expect("Reset the session?")
        t.type("y\r")
        t.expect("fresh session")
        t.expect("a new prompt numbered from 1") { $0.components(separatedBy: "fresh session").last!.contains("In [1]: ") }
        leave(t, unsaved: false)
    }

    func testExitAsksAboutUnsavedWorkAndNoKeepsTheSession() throws {
        let t = try start()
        t.type("sleep 0.1\r")
        t.expect("slept 0.1 s")
        t.expect("In [2]: ")
        t.type(PseudoTerminal.ctrlD)
        t.expect("unsaved work (1 command, never saved): save with `session save NAME`, or exit anyway? [y/N] ")
        let kept = t.plainText.count
        t.type("n\r")
        t.expect("kept the session", after: kept)
        t.expect("the prompt again") { $0.dropFirst(kept).contains("kept the session\nIn [2]: ") }
        XCTAssertTrue(t.isRunning, "N keeps the shell")
        // Still usable; `quit` asks the same, and a bare Enter means no too.
        t.type("sleep 0.1\r")
        t.expect("In [3]: ")
        t.type("quit\r")
        t.expect("the question again") { $0.dropFirst(kept).contains("(2 commands, never saved)") }
        let asked = t.plainText.count
        t.type("\r")
        t.expect("the prompt again") { $0.dropFirst(asked).contains("kept the session\nIn [3]: ") }
        XCTAssertTrue(t.isRunning)
        XCTAssertEqual(t.count(Self.exitQuestion), 2)
        t.type("exit\r")
        t.expect("the third question") { _ in t.count(Self.exitQuestion) == 3 }
        t.type("y\r")
        XCTAssertEqual(t.waitForExit(), 0)
    }

    func testAfterASaveExitDoesNotAsk() throws {
        let t = try start()
        t.type("model build atto --classes 4 --image-size 32; model init\r")
        t.expect("In [3]: ", timeout: 30)
        t.type("session save first\r")
        t.expect("session saved")
        t.expect("In [4]: ")
        XCTAssertTrue(FileManager.default.fileExists(atPath: directory.appendingPathComponent("sessions/first/CURRENT").path))
        // Tab completes the saved session's name.
        t.type("session load f\t")
        t.expect("In [4]: session load first ")
        t.type("\r")
        t.expect("session loaded")
        t.expect("In [5]: ")
        leave(t, unsaved: false)
    }

    /// `make run`'s flow: a script replayed with --echo on a terminal draws
    /// its training bar in place, then leaves the person at the prompt with
    /// the script's state live. A copy of the tour with fewer steps.
    func testRunInteractiveReplaysTheTourThenPrompts() throws {
        let tour = try String(contentsOf: Golden.repoRoot.appendingPathComponent("examples/tour.cnx"), encoding: .utf8)
        XCTAssertTrue(tour.contains("\ntrain steps 900\n"), "the tour trains 900 steps; update this test with it")
        let short = tour.replacingOccurrences(of: "\ntrain steps 900\n", with: "\ntrain steps 12\n")
        try short.write(to: directory.appendingPathComponent("tour.cnx"), atomically: true, encoding: .utf8)
        let t = try PseudoTerminal(arguments: ["run", "tour.cnx", "--echo", "--interactive"], directory: directory,
                                   environment: ["NO_COLOR": "1"])
        t.expect("the in-place training bar", timeout: 60) { $0.contains("train steps 12: ") && $0.contains("12/12 [") }
        t.expect("session saved", timeout: 60)
        let script = try XCTUnwrap(t.plainText.range(of: "session saved"))
        // Every tour command got a cell: the prompt goes on from the last one.
        let cells = short.split(separator: "\n").filter { !$0.hasPrefix("#") && !$0.trimmingCharacters(in: .whitespaces).isEmpty }.count
        t.expect("In [\(cells + 1)]: ", timeout: 30)
        XCTAssertLessThan(script.lowerBound, t.plainText.range(of: "In [\(cells + 1)]: ")!.lowerBound, "the prompt comes after the script")
        XCTAssertTrue(t.plainText.contains("In [1]: data synthetic --batch 64"), "--echo shows each command")
        XCTAssertGreaterThan(t.text.components(separatedBy: "\r\u{1B}[Ktrain steps 12: ").count, 2, "the bar is redrawn in place")
        t.type("status\r")
        t.expect("In [\(cells + 2)]: ")
        XCTAssertEqual(number(after: "  steps      ", in: t.plainText), 12, "the tour's trained steps are live")
        // The tour saved itself last: leaving asks nothing.
        leave(t, unsaved: false)
    }
}
