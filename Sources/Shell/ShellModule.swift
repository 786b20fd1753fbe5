/// The `Shell` module: command registry, parser, renderers and the REPL.
public enum ShellModule {
    public static let version = "0.1.0"
}
