import Foundation
import XCTest
@testable import Datasets

/// Issue 21: a class folder whose name is not UTF-8 used to vanish silently,
/// and an empty class gave no warning.
final class ImageFolderWarningTests: XCTestCase {
    func testNonUTF8NamesAndEmptyClassesAreWarnedAbout() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("cnx-if-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: root) }
        try FileManager.default.createDirectory(at: root.appendingPathComponent("cat"), withIntermediateDirectories: true)
        try FileManager.default.createDirectory(at: root.appendingPathComponent("empty"), withIntermediateDirectories: true)
        try PNGCodec.write(RGBImage(width: 4, height: 4, fill: (10, 20, 30)), to: root.appendingPathComponent("cat/a.png"))
        let raw = Array(root.path.utf8) + Array("/bad".utf8) + [0xFF, 0]
        XCTAssertEqual(raw.withUnsafeBufferPointer { $0.baseAddress!.withMemoryRebound(to: CChar.self, capacity: raw.count) { mkdir($0, 0o755) } }, 0)
        let folder = try ImageFolder(directory: root)
        XCTAssertEqual(folder.classNames, ["cat", "empty"])
        XCTAssertTrue(folder.warnings.contains { $0.contains("not UTF-8") && $0.contains("bad\\xFF") }, "\(folder.warnings)")
        XCTAssertTrue(folder.warnings.contains("class 'empty' has no usable images"), "\(folder.warnings)")
    }
}
