import Foundation
import XCTest
@testable import Datasets

/// A smooth colourful test pattern (JPEG-friendly).
func testPattern(_ w: Int, _ h: Int) -> RGBImage {
    var img = RGBImage(width: w, height: h)
    for y in 0..<h { for x in 0..<w {
        img[x, y, 0] = UInt8(x * 255 / max(1, w - 1))
        img[x, y, 1] = UInt8(y * 255 / max(1, h - 1))
        img[x, y, 2] = UInt8((x + y) * 127 / max(1, w + h - 2))
    } }
    return img
}

final class CodecTests: XCTestCase {
    func pattern(_ w: Int, _ h: Int) -> RGBImage { testPattern(w, h) }

    func maxDiff(_ a: [UInt8], _ b: [UInt8]) -> Int {
        zip(a, b).map { abs(Int($0) - Int($1)) }.max() ?? 0
    }

    func testJPEGRoundTripRGB() throws {
        let img = pattern(40, 24)
        let bytes = try JPEGCodec.encode(img.pixels, width: 40, height: 24, format: .rgb, quality: 98)
        XCTAssertTrue(JPEGCodec.isJPEG(bytes))
        let back = try ImageDecoder.decode(bytes)
        XCTAssertEqual(back.width, 40); XCTAssertEqual(back.height, 24)
        XCTAssertLessThanOrEqual(maxDiff(back.pixels, img.pixels), 12)
    }

    func testJPEGGrayscaleBecomesRGB() throws {
        let w = 16, h = 8
        let gray = (0..<(w * h)).map { UInt8(($0 * 3) % 256) }
        let bytes = try JPEGCodec.encode(gray, width: w, height: h, format: .gray, quality: 100)
        let back = try JPEGCodec.decode(bytes)
        for i in 0..<(w * h) {
            XCTAssertEqual(back.pixels[3 * i], back.pixels[3 * i + 1])
            XCTAssertEqual(back.pixels[3 * i], back.pixels[3 * i + 2])
        }
        XCTAssertLessThanOrEqual(maxDiff(stride(from: 0, to: w * h * 3, by: 3).map { back.pixels[$0] }, gray), 24)
    }

    func testJPEGCMYKConvertsToRGB() throws {
        // Flat CMYK colour: stored (Adobe-inverted) inks c, m, y, k -> r = c*k/255.
        let w = 16, h = 16
        let cmyk: [UInt8] = [200, 100, 50, 220]
        let pixels = (0..<(w * h)).flatMap { _ in cmyk }
        let bytes = try JPEGCodec.encode(pixels, width: w, height: h, format: .cmyk, quality: 100)
        let back = try JPEGCodec.decode(bytes)
        let expected = (0..<3).map { Int(cmyk[$0]) * Int(cmyk[3]) / 255 }
        for c in 0..<3 { XCTAssertEqual(Double(back[8, 8, c]), Double(expected[c]), accuracy: 4) }
    }

    func testTruncatedJPEGFails() throws {
        let img = pattern(64, 64)
        let bytes = try JPEGCodec.encode(img.pixels, width: 64, height: 64)
        XCTAssertThrowsError(try ImageDecoder.decode(Array(bytes.prefix(bytes.count / 2))))
        XCTAssertThrowsError(try ImageDecoder.decode(Array(bytes.prefix(10))))
    }

    func testPNGRoundTripExact() throws {
        let img = pattern(13, 7)
        let bytes = try PNGCodec.encode(img)
        XCTAssertEqual(try ImageDecoder.decode(bytes), img)
    }

    func testPNGGrayscale8() throws {
        let rows: [[UInt8]] = [[0, 100, 255], [7, 8, 9]]
        let img = try ImageDecoder.decode(RawPNG.make(width: 3, height: 2, bitDepth: 8, colorType: 0, rows: rows))
        XCTAssertEqual(img.width, 3); XCTAssertEqual(img.height, 2)
        XCTAssertEqual(img.pixels, rows.flatMap { $0 }.flatMap { [$0, $0, $0] })
    }

    func testPNGRGBADropsAlpha() throws {
        // Colour values survive unchanged whatever the alpha (PIL convert("RGB")).
        let rows: [[UInt8]] = [[10, 20, 30, 255, 40, 50, 60, 128, 70, 80, 90, 0]]
        let img = try ImageDecoder.decode(RawPNG.make(width: 3, height: 1, bitDepth: 8, colorType: 6, rows: rows))
        XCTAssertEqual(img.pixels, [10, 20, 30, 40, 50, 60, 70, 80, 90])
    }

    func testPNGGrayAlpha() throws {
        let rows: [[UInt8]] = [[33, 255, 200, 10]]
        let img = try ImageDecoder.decode(RawPNG.make(width: 2, height: 1, bitDepth: 8, colorType: 4, rows: rows))
        XCTAssertEqual(img.pixels, [33, 33, 33, 200, 200, 200])
    }

    func testPNG16BitScalesTo8() throws {
        let values: [UInt16] = [0, 257 * 100, 65535, 1000, 30000, 60000]
        let row = values.flatMap { [UInt8($0 >> 8), UInt8($0 & 0xFF)] }
        let img = try ImageDecoder.decode(RawPNG.make(width: 2, height: 1, bitDepth: 16, colorType: 2, rows: [row]))
        for (i, v) in values.enumerated() {
            XCTAssertEqual(Double(img.pixels[i]), Double(v) / 257, accuracy: 1.0, "sample \(i)")
        }
        XCTAssertEqual(img.pixels[1], 100)
        XCTAssertEqual(img.pixels[2], 255)
    }

    func testPNGPalette() throws {
        let palette: [UInt8] = [255, 0, 0, 0, 255, 0, 0, 0, 255]
        let img = try ImageDecoder.decode(RawPNG.make(width: 3, height: 1, bitDepth: 8, colorType: 3,
                                                      rows: [[2, 0, 1]], palette: palette))
        XCTAssertEqual(img.pixels, [0, 0, 255, 255, 0, 0, 0, 255, 0])
    }

    func testTruncatedPNGFails() throws {
        let bytes = try PNGCodec.encode(pattern(32, 32))
        XCTAssertThrowsError(try ImageDecoder.decode(Array(bytes.prefix(bytes.count - 30))))
        XCTAssertThrowsError(try ImageDecoder.decode(Array(bytes.prefix(20))))
    }

    func testUnknownFormat() {
        XCTAssertThrowsError(try ImageDecoder.decode(Array("GIF89a....".utf8))) { error in
            XCTAssertTrue("\(error)".contains("not a JPEG or PNG"))
        }
    }

    func testImageFolderSortsSkipsAndReports() throws {
        let fm = FileManager.default
        let root = fm.temporaryDirectory.appendingPathComponent("cnx-imagefolder-\(UUID().uuidString)")
        defer { try? fm.removeItem(at: root) }
        for c in ["zebra", "Apple", "mango"] {
            try fm.createDirectory(at: root.appendingPathComponent(c), withIntermediateDirectories: true)
        }
        let img = pattern(20, 10)
        let jpg = try JPEGCodec.encode(img.pixels, width: 20, height: 10)
        let png = try PNGCodec.encode(img)
        try Data(jpg).write(to: root.appendingPathComponent("zebra/b.JPG"))
        try Data(png).write(to: root.appendingPathComponent("zebra/a.png"))
        try Data(jpg).write(to: root.appendingPathComponent("Apple/x.jpeg"))
        try Data(jpg.prefix(jpg.count / 2)).write(to: root.appendingPathComponent("mango/broken.jpg"))
        try Data(png).write(to: root.appendingPathComponent("mango/ok.PNG"))
        try Data("not an image".utf8).write(to: root.appendingPathComponent("mango/notes.txt"))

        let ds = try ImageFolder(directory: root)
        XCTAssertEqual(ds.classNames, ["Apple", "mango", "zebra"])   // code-point order, as Python sorted()
        XCTAssertEqual(ds.count, 4)
        XCTAssertEqual(ds.files.map(\.lastPathComponent), ["x.jpeg", "ok.PNG", "a.png", "b.JPG"])
        XCTAssertEqual(ds.labels, [0, 1, 2, 2])
        XCTAssertEqual(ds.skipped.map { URL(fileURLWithPath: $0.path).lastPathComponent }, ["broken.jpg"])
        XCTAssertEqual(try ds.image(at: 1), img)
        XCTAssertEqual(ds.imageSize?.height, 10)
        XCTAssertEqual(ds.imageSize?.width, 20)

        // A validation folder with an unknown class is one clear error.
        let val = fm.temporaryDirectory.appendingPathComponent("cnx-val-\(UUID().uuidString)")
        defer { try? fm.removeItem(at: val) }
        try fm.createDirectory(at: val.appendingPathComponent("pear"), withIntermediateDirectories: true)
        try Data(png).write(to: val.appendingPathComponent("pear/p.png"))
        XCTAssertThrowsError(try ImageFolder.splits(train: root, val: val)) { error in
            XCTAssertEqual(error as? DatasetError, .unknownValClass("pear", directory: val.path))
        }
    }

    func testImageFolderMissingAndEmpty() throws {
        let fm = FileManager.default
        let missing = fm.temporaryDirectory.appendingPathComponent("cnx-missing-\(UUID().uuidString)")
        XCTAssertThrowsError(try ImageFolder(directory: missing)) { error in
            XCTAssertEqual(error as? DatasetError, .directoryMissing(missing.path))
            XCTAssertFalse("\(error)".contains("\n"))
        }
        let empty = fm.temporaryDirectory.appendingPathComponent("cnx-empty-\(UUID().uuidString)")
        try fm.createDirectory(at: empty, withIntermediateDirectories: true)
        defer { try? fm.removeItem(at: empty) }
        XCTAssertThrowsError(try ImageFolder(directory: empty)) { error in
            XCTAssertEqual(error as? DatasetError, .noClasses(empty.path))
        }
        try fm.createDirectory(at: empty.appendingPathComponent("cat"), withIntermediateDirectories: true)
        XCTAssertThrowsError(try ImageFolder(directory: empty)) { error in
            XCTAssertEqual(error as? DatasetError, .noImages(empty.path))
        }
    }

    func testPreviewGridWritesPNG() throws {
        let imgs = [pattern(8, 8), pattern(8, 8), pattern(8, 8)]
        let grid = PreviewGrid.make(images: imgs, labels: ["circle", "stripes-h", "x"], columns: 2, minCell: 32)
        XCTAssertEqual(grid.width, 2 * (32 + 8))
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("cnx-grid-\(UUID().uuidString).png")
        defer { try? FileManager.default.removeItem(at: url) }
        try PNGCodec.write(grid, to: url)
        XCTAssertEqual(try ImageDecoder.decode(contentsOf: url), grid)
        XCTAssertTrue(grid.pixels.contains(240))   // the label text is drawn
    }
}
