/// The `Models` module (see DESIGN.md's layout). Its public API is added by its issue.
public enum ModelsModule {
    /// The module's name, for diagnostics.
    public static let name = "Models"
}
