/// The version `cnx --version` prints.
public enum CNXVersion {
    public static let string = "0.1.0"
}
