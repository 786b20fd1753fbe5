/// Errors from loading, decoding and writing image data. Each description is
/// one line saying what went wrong and what to do.
public enum DatasetError: Error, Equatable, CustomStringConvertible, Sendable {
    case directoryMissing(String)
    case noClasses(String)
    case noImages(String)
    case unknownValClass(String, directory: String)
    case decodeFailed(path: String, reason: String)
    case unsupportedFormat(String)
    case writeFailed(path: String, reason: String)
    case invalidArgument(String)

    public var description: String {
        switch self {
        case .directoryMissing(let d):
            return "data: directory \(d) does not exist or is not a directory; give a folder laid out as DIR/<class>/<image>"
        case .noClasses(let d):
            return "data: \(d) has no class sub-folders; put images in DIR/<class>/<image>.jpg|.png"
        case .noImages(let d):
            return "data: no decodable .jpg/.jpeg/.png images under \(d); check the folder and `data errors`"
        case .unknownValClass(let c, let d):
            return "data: validation class '\(c)' in \(d) is not a training class; rename or remove that folder"
        case .decodeFailed(let p, let r):
            return "data: cannot decode \(p): \(r)"
        case .unsupportedFormat(let p):
            return "data: \(p) is not a JPEG or PNG file (by its first bytes)"
        case .writeFailed(let p, let r):
            return "data: cannot write \(p): \(r); check the path and permissions"
        case .invalidArgument(let m):
            return "data: \(m)"
        }
    }
}
