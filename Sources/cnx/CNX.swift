import ArgumentParser
import Shell

@main
struct CNX: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cnx",
        abstract: "A terminal workbench for ConvNeXt image classifiers.",
        version: ShellModule.version)

    func run() throws {
        print("cnx \(ShellModule.version)")
    }
}
