import Foundation
import Tensors

/// `DIR/<class>/<file>` images (torchvision's ImageFolder): classes are the
/// sub-folder names sorted by code point, files are `.jpg/.jpeg/.png` in any
/// case found under each class folder (recursively), sorted by path. With
/// `validate`, every file is decoded once at load (in parallel) and files that
/// fail are skipped and listed in `skipped`, never fatal.
public struct ImageFolder: Dataset {
    public let root: URL
    public let classNames: [String]
    /// The usable files and their labels.
    public let files: [URL]
    public let labels: [Int]
    /// Files that failed to decode (with the reason), skipped.
    public let skipped: [DecodeFailure]
    /// The common size of every image when they all share one (else nil).
    public let imageSize: (height: Int, width: Int)?
    /// What a person should know about the folder: entries whose names are
    /// not UTF-8 (skipped), classes without a usable image.
    public let warnings: [String]

    public var count: Int { files.count }
    public func label(at index: Int) -> Int { labels[index] }
    public func image(at index: Int) throws -> RGBImage { try ImageDecoder.decode(contentsOf: files[index]) }
    public func source(at index: Int) -> String { files[index].path }
    public var loadFailures: [DecodeFailure] { skipped }

    /// File name extensions that are read (compared lowercased).
    public static let extensions: Set<String> = ["jpg", "jpeg", "png"]

    /// Scans `directory`. `classNames` (the training classes) maps a
    /// validation folder's classes onto training labels; nil uses this
    /// folder's own sorted classes.
    public init(directory: URL, classNames given: [String]? = nil, validate: Bool = true) throws {
        let fm = FileManager.default
        var isDir: ObjCBool = false
        guard fm.fileExists(atPath: directory.path, isDirectory: &isDir), isDir.boolValue else {
            throw DatasetError.directoryMissing(directory.path)
        }
        let entries = (try? fm.contentsOfDirectory(at: directory, includingPropertiesForKeys: [.isDirectoryKey])) ?? []
        let classDirs = entries.filter {
            !$0.lastPathComponent.hasPrefix(".") && ((try? $0.resourceValues(forKeys: [.isDirectoryKey]).isDirectory) ?? false)
        }.sorted { ImageFolder.codePointLess($0.lastPathComponent, $1.lastPathComponent) }
        guard !classDirs.isEmpty else { throw DatasetError.noClasses(directory.path) }
        let names = given ?? classDirs.map(\.lastPathComponent)
        var found: [(URL, Int)] = []
        for dir in classDirs {
            guard let label = names.firstIndex(of: dir.lastPathComponent) else {
                throw DatasetError.unknownValClass(dir.lastPathComponent, directory: directory.path)
            }
            var paths: [URL] = []
            if let walker = fm.enumerator(at: dir, includingPropertiesForKeys: nil, options: [.skipsHiddenFiles]) {
                for case let url as URL in walker where ImageFolder.extensions.contains(url.pathExtension.lowercased()) {
                    paths.append(url)
                }
            }
            paths.sort { ImageFolder.codePointLess($0.path, $1.path) }
            found += paths.map { ($0, label) }
        }
        guard !found.isEmpty else { throw DatasetError.noImages(directory.path) }

        var skipped: [DecodeFailure] = []
        var keep = [Bool](repeating: true, count: found.count)
        var sizes = [Int](repeating: 0, count: found.count * 2)
        if validate {
            var reasons = [String?](repeating: nil, count: found.count)
            let urls = found.map(\.0)
            reasons.withUnsafeMutableBufferPointer { rb in
                sizes.withUnsafeMutableBufferPointer { sb in
                    let r = UncheckedSendable(rb), s = UncheckedSendable(sb)
                    parallelFor(urls.count) { i in
                        do {
                            let img = try ImageDecoder.decode(contentsOf: urls[i])
                            s.value[2 * i] = img.height; s.value[2 * i + 1] = img.width
                        } catch {
                            r.value[i] = "\(error)"
                        }
                    }
                }
            }
            for i in 0..<found.count {
                if let reason = reasons[i] {
                    keep[i] = false
                    skipped.append(DecodeFailure(path: found[i].0.path, reason: reason))
                }
            }
        }
        let kept = found.indices.filter { keep[$0] }
        guard !kept.isEmpty else { throw DatasetError.noImages(directory.path) }
        var warnings = ImageFolder.nonUTF8Entries(directory).map {
            "an entry of \(directory.path) has a name that is not UTF-8 (\($0)) and is skipped: rename it"
        }
        let used = Set(kept.map { found[$0].1 })
        for dir in classDirs where !used.contains(names.firstIndex(of: dir.lastPathComponent)!) {
            warnings.append("class '\(dir.lastPathComponent)' has no usable images")
        }
        self.warnings = warnings
        self.root = directory
        self.classNames = names
        self.files = kept.map { found[$0].0 }
        self.labels = kept.map { found[$0].1 }
        self.skipped = skipped
        if validate {
            let h = sizes[2 * kept[0]], w = sizes[2 * kept[0] + 1]
            let same = kept.allSatisfy { sizes[2 * $0] == h && sizes[2 * $0 + 1] == w }
            self.imageSize = same ? (h, w) : nil
        } else {
            self.imageSize = nil
        }
    }

    /// Train and validation folders; without `val`, validation uses the
    /// training folder itself (with eval transforms).
    public static func splits(train: URL, val: URL? = nil, validate: Bool = true) throws -> DataSplits {
        let t = try ImageFolder(directory: train, validate: validate)
        let v = try val.map { try ImageFolder(directory: $0, classNames: t.classNames, validate: validate) } ?? t
        let name = val == nil ? "\(train.path) (val = train)" : "\(train.path) | val \(val!.path)"
        return DataSplits(name: name, train: t, val: v)
    }

    /// The names in `directory` that are not valid UTF-8 (Foundation drops
    /// them silently), as escaped bytes.
    static func nonUTF8Entries(_ directory: URL) -> [String] {
        guard let d = opendir(directory.path) else { return [] }
        defer { closedir(d) }
        var out: [String] = []
        while let entry = readdir(d) {
            let bytes = withUnsafeBytes(of: entry.pointee.d_name) { raw in Array(raw.prefix { $0 != 0 }) }
            if String(validating: bytes, as: UTF8.self) == nil {
                out.append(bytes.map { $0 < 0x80 ? String(UnicodeScalar($0)) : String(format: "\\x%02X", $0) }.joined())
            }
        }
        return out.sorted()
    }

    /// Python's `sorted()` order for strings: by Unicode code points.
    static func codePointLess(_ a: String, _ b: String) -> Bool {
        a.unicodeScalars.lexicographicallyPrecedes(b.unicodeScalars)
    }
}
