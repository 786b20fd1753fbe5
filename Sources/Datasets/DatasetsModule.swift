/// The `Datasets` module (see DESIGN.md's layout). Its public API is added by its issue.
public enum DatasetsModule {
    /// The module's name, for diagnostics.
    public static let name = "Datasets"
}
