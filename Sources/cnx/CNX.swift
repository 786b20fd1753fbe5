import ArgumentParser
import Distributed
import Foundation
import JaxRandom
import JupyterKernel
import Shell
import Tensors

/// The executable: argument parsing and the entry point only.
@main
struct CNX: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cnx",
        abstract: "A terminal workbench for building, training and taking apart ConvNeXt classifiers.",
        discussion: """
        With no arguments on a terminal, starts the interactive shell. With a non-terminal \
        standard input, reads commands from it as a script. Type 'help' inside for the commands.
        """,
        version: CNXVersion.string,
        subcommands: [Shell_.self, Run.self, Kernel.self],
        defaultSubcommand: Shell_.self)
}

/// Options shared by the ways of running commands.
struct OutputOptions: ParsableArguments {
    @Flag(name: .long, help: "Print one JSON object per command.")
    var json = false

    @Flag(name: .customLong("keep-going"), help: "Go on after a failing command (the exit status is still non-zero).")
    var keepGoing = false

    @Flag(name: .long, help: "Print each command (In [n]: …) before its output.")
    var echo = false

    @Option(name: .long, help: "Threads for kernels, OpenBLAS and random-number generation (default: all cores).")
    var threads: Int?
}

extension CNX {
    /// `cnx [-c COMMANDS]`: the interactive shell, a script from stdin, or commands from -c.
    struct Shell_: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "shell", abstract: "Start the interactive shell (the default), or run -c commands.")

        @Option(name: .customShort("c"), help: "Run these commands (separated by ';') and exit.")
        var commands: String?

        @OptionGroup var output: OutputOptions

        func run() throws {
            var compute = try Launch.configure(output)
            if let world = try Launch.joinWorld(output) {
                // Under mpirun: rank 0's commands (-c or its stdin) on every rank, or
                // the interactive shell on rank 0 when mpirun reads a terminal.
                defer { world.finalize() }
                compute.replicas = world
                var terminal: TerminalTakeover? = nil
                defer { terminal?.restore() }
                let text = try Launch.fromRankZero(world) { () throws -> String in
                    if let commands { return "S" + commands }
                    if isatty(0) != 0 { return "I" }
                    if let taken = try TerminalTakeover.ifLauncherReadsOne() {
                        terminal = taken
                        return "I"
                    }
                    return "S" + String(decoding: FileHandle.standardInput.readDataToEndOfFile(), as: UTF8.self)
                }
                let workbench = Workbench(compute: compute)
                if text == "I" {
                    if world.rank == 0 { throw ExitCode(Launch.interactive(workbench)) }
                    throw ExitCode(ReplicaFollower.run(workbench))
                }
                throw ExitCode(Launch.runner(workbench, output).run(String(text.dropFirst()), source: commands != nil ? "-c" : "stdin"))
            }
            let workbench = Workbench(compute: compute)
            if let commands {
                throw ExitCode(Launch.runner(workbench, output).run(commands, source: "-c"))
            }
            if isatty(0) == 0 {
                let text = String(decoding: FileHandle.standardInput.readDataToEndOfFile(), as: UTF8.self)
                throw ExitCode(Launch.runner(workbench, output).run(text, source: "stdin"))
            }
            throw ExitCode(Launch.interactive(workbench))
        }
    }

    /// `cnx run FILE`: replay a script.
    struct Run: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Replay a .cnx script: one command per line, # comments.",
            discussion: "Stops at the first failing command and exits non-zero, unless --keep-going.")

        @Argument(help: "The script to run.")
        var file: String

        @OptionGroup var output: OutputOptions

        @Flag(name: .long, help: "After the script, stay in the interactive shell when stdin is a terminal.")
        var interactive = false

        func run() throws {
            var compute = try Launch.configure(output)
            let world = try Launch.joinWorld(output)
            defer { world?.finalize() }
            compute.replicas = world
            if world != nil && interactive {
                throw ValidationError("--interactive is not available under mpirun: run the script, then start `mpirun -np N cnx` and `session load` what it saved")
            }
            let text = try world.map { world in try Launch.fromRankZero(world) { try readScript() } } ?? readScript()
            let workbench = Workbench(compute: compute)
            let status = Launch.runner(workbench, output).run(text, source: file)
            if status == 0 && interactive && isatty(0) != 0 {
                throw ExitCode(Launch.interactive(workbench))
            }
            throw ExitCode(status)
        }

        /// The script's text, or a one-line error.
        func readScript() throws -> String {
            let text: String
            do {
                try FileCheck.readable(file)
                guard let t = String(data: try Data(contentsOf: URL(fileURLWithPath: file)), encoding: .utf8) else {
                    throw FileCheck.Problem("\(file) is not UTF-8 text")
                }
                text = t
            } catch let problem as FileCheck.Problem {
                throw ValidationError("cannot read script: \(problem.description)")
            } catch {
                throw ValidationError("cannot read script \(file): \(error.localizedDescription)")
            }
            return text
        }
    }
}

extension CNX {
    /// `cnx kernel -f FILE`: serve a Jupyter front end; `install`/`uninstall` its kernelspec.
    struct Kernel: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Run as a Jupyter kernel (started by Jupyter from the kernelspec), or install it.",
            discussion: "Jupyter runs 'cnx kernel -f CONNECTION_FILE'; 'cnx kernel install' writes the kernelspec that says so.",
            subcommands: [Install.self, Uninstall.self, MakeNotebook.self])

        @Option(name: .customShort("f"), help: "The connection file Jupyter wrote (ports and signing key).")
        var connectionFile: String?

        @Option(name: .long, help: "Threads for kernels, OpenBLAS and random-number generation (default: all cores).")
        var threads: Int?

        func run() throws {
            guard let connectionFile else {
                throw Launch.fail("cnx kernel needs -f CONNECTION_FILE (Jupyter passes it); to make Jupyter find cnx: cnx kernel install",
                                  status: ExitCode.validationFailure)
            }
            var options = try OutputOptions.parse([])
            options.threads = threads
            let compute = try Launch.configure(options)
            do {
                let info = try ConnectionInfo.load(URL(fileURLWithPath: connectionFile))
                let kernel = try JupyterKernel(connection: info, workbench: Workbench(compute: compute))
                kernel.run(catchSignals: true)
            } catch {
                throw Launch.fail("cnx kernel: \(error)")
            }
        }
    }

    /// Where `install`/`uninstall` put the kernelspec.
    struct KernelSpecLocation: ParsableArguments {
        @Flag(name: .long, help: "The user's Jupyter data directory (~/.local/share/jupyter; the default).")
        var user = false

        @Option(name: .long, help: "Install under DIR/share/jupyter/kernels, as 'jupyter kernelspec install --prefix' does.")
        var prefix: String?

        @Option(name: .long, help: "The kernel's name in Jupyter.")
        var name = KernelSpec.defaultName

        func validate() throws {
            if user && prefix != nil { throw ValidationError("choose one of --user and --prefix") }
        }

        var location: KernelSpec.Location { prefix.map { .prefix($0) } ?? .user }
    }

    struct Install: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Write the kernelspec so Jupyter lists and starts cnx.")

        @OptionGroup var location: KernelSpecLocation

        @Option(name: .customLong("display-name"), help: "The name Jupyter shows.")
        var displayName = "cnx"

        func run() throws {
            guard let binary = Bundle.main.executableURL?.resolvingSymlinksInPath().path else {
                throw Launch.fail("cnx kernel install: cannot find this program's own path to write into the kernelspec")
            }
            do {
                let dir = try KernelSpec.install(name: location.name, location: location.location, executable: binary,
                                                 displayName: displayName)
                print("installed kernelspec '\(location.name)' in \(dir.path) (runs \(binary)); 'jupyter kernelspec list' shows it")
            } catch {
                throw Launch.fail("cnx kernel install: \(error)")
            }
        }
    }

    /// `cnx kernel notebook SCRIPT… --out DIR`: scripts as notebooks (`make notebooks` runs it on examples/).
    struct MakeNotebook: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "notebook", abstract: "Write .cnx scripts as notebooks for the cnx kernel (DIR/NAME.ipynb per NAME.cnx).",
            discussion: "Comment blocks become markdown cells, blocks of commands code cells, without outputs. 'make notebooks' writes examples/notebooks so.")

        @Argument(help: "The .cnx scripts.")
        var scripts: [String]

        @Option(name: .long, help: "The folder to write the notebooks in.")
        var out = "."

        func run() throws {
            guard !scripts.isEmpty else { throw ValidationError("name at least one .cnx script") }
            do {
                let written = try ScriptNotebook.generate(scripts: scripts.map { URL(fileURLWithPath: $0) }, into: URL(fileURLWithPath: out))
                for file in written { print("wrote \(file.path)") }
            } catch {
                throw Launch.fail("cnx kernel notebook: \(error)")
            }
        }
    }

    struct Uninstall: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Remove the kernelspec 'cnx kernel install' wrote.")

        @OptionGroup var location: KernelSpecLocation

        func run() throws {
            do {
                let dir = try KernelSpec.uninstall(name: location.name, location: location.location)
                print("removed kernelspec '\(location.name)' from \(dir.path)")
            } catch {
                throw Launch.fail("cnx kernel uninstall: \(error)")
            }
        }
    }
}

enum Launch {
    /// Prints one line on stderr; returns the exit status to throw.
    static func fail(_ line: String, status: ExitCode = ExitCode(1)) -> ExitCode {
        FileHandle.standardError.write(Data((line + "\n").utf8))
        return status
    }

    static func checkCPU() throws {
        if let problem = CPUCheck.problem() {
            FileHandle.standardError.write(Data("cnx: \(problem)\n".utf8))
            throw ExitCode(2)
        }
    }

    static var colorAllowed: Bool {
        isatty(1) != 0 && ProcessInfo.processInfo.environment["NO_COLOR"] == nil
    }

    static var terminalWidth: Int {
        var size = winsize()
        if ioctl(1, UInt(TIOCGWINSZ), &size) == 0 && size.ws_col > 0 { return Int(size.ws_col) }
        return 100
    }

    /// Process-wide settings, before any command runs; returns the
    /// session's compute context (`--threads`).
    static func configure(_ output: OutputOptions) throws -> ComputeContext {
        try checkCPU()
        // glibc returns big freed blocks to the kernel; keeping them avoids
        // page-faulting every activation in again each step (notes in MemoryTuning).
        _ = MemoryTuning.keepFreedMemory()
        var compute = ComputeContext()
        if let t = output.threads {
            guard t >= 1 else { throw ValidationError("--threads must be at least 1") }
            compute.threads = t
        }
        return compute
    }

    /// Under an MPI launcher (`mpirun`), joins the world; nil in a single
    /// process, which never initialises MPI.
    static func joinWorld(_ output: OutputOptions) throws -> MPIWorld? {
        guard MPIWorld.launched() else { return nil }
        let world: MPIWorld
        do { world = try MPIWorld() } catch {
            FileHandle.standardError.write(Data("cnx: \(error)\n".utf8))
            throw ExitCode(2)
        }
        guard !output.keepGoing else {
            // After a failure the ranks' states may differ: stop instead.
            world.finalize()
            if world.rank == 0 { FileHandle.standardError.write(Data("cnx: --keep-going is not available under mpirun: drop it\n".utf8)) }
            throw ExitCode(2)
        }
        return world
    }

    /// `read()` on rank 0, its text (or failure) on every rank: rank 0 throws
    /// the error, the others exit 1 without a word.
    static func fromRankZero(_ world: MPIWorld, _ read: () throws -> String) throws -> String {
        var outcome: Result<String, Error> = .success("")
        if world.rank == 0 { outcome = Result { try read() } }
        let ok = world.broadcast([(try? outcome.get()) != nil ? 1 : 0], from: 0)[0] == 1
        guard ok else {
            if world.rank == 0 { _ = try outcome.get() }
            throw ExitCode(1)
        }
        let bytes = world.broadcast(Array(((try? outcome.get()) ?? "").utf8), from: 0)
        return String(decoding: bytes, as: UTF8.self)
    }

    static func runner(_ workbench: Workbench, _ output: OutputOptions) -> ScriptRunner {
        if let replicas = workbench.compute.dataParallel, replicas.rank != 0 {
            // Only rank 0 prints; the others run every command silently.
            let options = ScriptRunner.Options(json: false, keepGoing: output.keepGoing, echo: false)
            return ScriptRunner(workbench: workbench, options: options, output: SilentOutput())
        }
        let progress = ProgressLines(inPlace: isatty(2) != 0) { text in
            FileHandle.standardError.write(Data(text.utf8))
        }
        workbench.onProgress = { progress.report($0) }
        workbench.onNotice = { FileHandle.standardError.write(Data(($0 + "\n").utf8)) }
        let options = ScriptRunner.Options(json: output.json, keepGoing: output.keepGoing, echo: output.echo,
                                           renderer: TextRenderer(width: terminalWidth, color: colorAllowed, fits: isatty(1) != 0))
        return ScriptRunner(workbench: workbench, options: options, output: StandardOutput())
    }

    static func interactive(_ workbench: Workbench) -> Int32 {
        Repl(workbench: workbench, color: colorAllowed).run()
    }
}

/// Where ranks other than 0 write under mpirun: nowhere.
final class SilentOutput: OutputSink, @unchecked Sendable {
    func out(_ text: String) {}
    func err(_ text: String) {}
}
