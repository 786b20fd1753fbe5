/// The registry of every command `cnx` has. Each area contributes a list from
/// its own file in `Commands/`.
public enum StandardCommands {
    public static func registry() -> CommandRegistry {
        var all: [CommandSpec] = []
        all += HelpCommands.all
        all += JobCommands.all
        all += RNGCommands.all
        all += ModelCommands.all
        all += OptimCommands.all
        all += DataCommands.all
        all += TrainCommands.all
        all += RunCommands.all
        all += ReplCommands.all
        all += SessionCommands.all
        all += BenchCommands.all
        all += ExampleCommands.all
        all += TensorFileCommands.all
        all += SampleGradientCommands.all
        return CommandRegistry(all)
    }
}
