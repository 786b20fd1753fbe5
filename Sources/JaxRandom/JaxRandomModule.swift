/// The `JaxRandom` module (see DESIGN.md's layout). Its public API is added by its issue.
public enum JaxRandomModule {
    /// The module's name, for diagnostics.
    public static let name = "JaxRandom"
}
