import Dispatch
import Tensors
import XCTest
@testable import Shell

/// A registry with a job that counts steps until cancelled or done, and a gate
/// that lets the test hold the job at a step boundary.
final class Gate: @unchecked Sendable {
    let entered = DispatchSemaphore(value: 0)
    let release = DispatchSemaphore(value: 0)
    /// Set on the compute queue by a test: commands read it to see where they run.
    let queueKey = DispatchSpecificKey<String>()
}

func jobRegistry(gate: Gate) -> CommandRegistry {
    CommandRegistry(JobCommands.all + [
        CommandSpec(["count"], summary: "a job of N steps",
                    arguments: [ArgumentSpec("n", .int, "steps")]) { invocation, context in
            let n = invocation.intArgument(0)!
            context.startJob(total: n) { _, control in
                var done = 0
                while done < n && !control.isCancelled {
                    done += 1
                    control.report(completed: done, line: "step \(done)")
                    if done == 1 { gate.entered.signal(); gate.release.wait() }
                }
                return .message(control.isCancelled ? "stopped after step \(done) of \(n)" : "counted \(n)")
            }
            return .empty
        },
        CommandSpec(["mutate"], summary: "changes state") { _, _ in .message("mutated") },
        CommandSpec(["peek"], summary: "reads state", mutates: false) { _, _ in .message("peeked") },
        CommandSpec(["threads"], summary: "the bound compute context's threads", mutates: false) { _, _ in
            .message("\(ComputeContext.current.threads)")
        },
        CommandSpec(["threads", "job"], summary: "the same, from a job body") { _, context in
            context.startJob(total: 1) { _, _ in .message("\(ComputeContext.current.threads)") }
            return .empty
        },
        CommandSpec(["crunch"], summary: "computes without changing state", mutates: false, computes: true) { _, _ in
            .message(DispatchQueue.getSpecific(key: gate.queueKey) ?? "not on the compute queue")
        },
    ])
}

final class JobTests: XCTestCase {
    func execute(_ workbench: Workbench, _ line: String) -> Cell {
        workbench.execute(try! Tokenizer.commands(line)[0], text: line)
    }

    func testForegroundJobResultIsTheCellResult() {
        let gate = Gate()
        gate.release.signal()
        let workbench = Workbench(registry: jobRegistry(gate: gate))
        let cell = execute(workbench, "count 5")
        XCTAssertEqual(cell.result, .message("counted 5"))
        XCTAssertEqual(workbench.lastJob?.completed, 5)
    }

    func testBackgroundJobLeavesThePromptUsable() throws {
        let gate = Gate()
        let workbench = Workbench(registry: jobRegistry(gate: gate))
        let started = execute(workbench, "count 3 &")
        XCTAssertNil(started.error)
        gate.entered.wait()  // the job is at its first step boundary and held there
        // Read-only commands answer at once; mutating ones are refused with the job's progress.
        XCTAssertEqual(execute(workbench, "peek").result, .message("peeked"))
        XCTAssertEqual(execute(workbench, "mutate").error,
                       "a job is running (count 3 &, 1/3): wait, or stop it with Ctrl-C")
        guard case .record(let status)? = execute(workbench, "jobs").result else { return XCTFail("jobs returns a record") }
        XCTAssertEqual(status["state"], "running")
        gate.release.signal()
        XCTAssertEqual(execute(workbench, "wait").result, .message("counted 3"))
        XCTAssertEqual(execute(workbench, "mutate").result, .message("mutated"))
    }

    func testStopEndsTheJobAtTheNextStepBoundary() {
        let gate = Gate()
        let workbench = Workbench(registry: jobRegistry(gate: gate))
        _ = execute(workbench, "count 1000 &")
        gate.entered.wait()
        XCTAssertTrue(execute(workbench, "stop").result.map { "\($0)" }!.contains("stopping job 1"))
        gate.release.signal()
        XCTAssertEqual(execute(workbench, "wait").result, .message("stopped after step 1 of 1000"))
        XCTAssertNil(workbench.runningJob)
    }

    func testAmpersandOnACommandWithoutAJobIsAnError() {
        let workbench = Workbench(registry: jobRegistry(gate: Gate()))
        XCTAssertEqual(execute(workbench, "mutate &").error, "'mutate' does not start a job; drop the '&'")
        XCTAssertEqual(execute(workbench, "peek &").error, "'peek' answers at once; drop the '&'")
    }

    func testComputingCommandsRunOnTheComputeQueueAndWaitForNoJob() {
        let gate = Gate()
        let workbench = Workbench(registry: jobRegistry(gate: gate))
        workbench.computeQueue.setSpecific(key: gate.queueKey, value: "compute")
        XCTAssertEqual(execute(workbench, "crunch").result, .message("compute"),
                       "model compute runs on the compute queue, never beside a job on the cell thread")
        XCTAssertEqual(execute(workbench, "crunch &").error, "'crunch' does not start a job; drop the '&'")
        _ = execute(workbench, "count 3 &")
        gate.entered.wait()
        XCTAssertEqual(execute(workbench, "crunch").error,
                       "a job is running (count 3 &, 1/3): wait, or stop it with Ctrl-C")
        gate.release.signal()
        XCTAssertEqual(execute(workbench, "wait").result, .message("counted 3"))
    }

    func testModelComputeCommandsAreMarkedAsComputing() throws {
        let registry = StandardCommands.registry()
        for words in [["forward"], ["grad"], ["data", "preview"], ["data", "batch"]] {
            let spec = try XCTUnwrap(registry.commands.first { $0.words == words }, "\(words)")
            XCTAssertTrue(spec.computes && !spec.answersAtOnce, "\(words) competes for the cores")
        }
        // The reference tells them apart: no "Answers at once" for a command that uses the cores.
        let reference = CommandReference.markdown(registry)
        for name in ["forward", "grad", "data preview", "data batch"] {
            let section = reference.components(separatedBy: "\n### `\(name)`\n")[1].components(separatedBy: "\n### ")[0]
            XCTAssertFalse(section.contains("Answers at once"), name)
            XCTAssertTrue(section.contains("Runs on the compute queue"), name)
        }
    }

    func testTheWorkbenchsComputeContextIsBoundForCommandsAndJobs() {
        let workbench = Workbench(registry: jobRegistry(gate: Gate()), compute: ComputeContext(threads: 3))
        XCTAssertEqual(execute(workbench, "threads").result, .message("3"))
        XCTAssertEqual(execute(workbench, "threads job").result, .message("3"))
        XCTAssertEqual(ComputeContext.current.threads, ComputeContext.standard.threads, "nothing leaks to the caller's thread")
        let other = Workbench(registry: jobRegistry(gate: Gate()), compute: ComputeContext(threads: 1))
        XCTAssertEqual(execute(other, "threads job").result, .message("1"))
    }
}
