import CImageCodecs
import Foundation
import Tensors

/// PNG decoding and encoding with libpng's simplified API (`png_image`), which
/// handles grayscale, palette, alpha, 16-bit and tRNS and never longjmps into Swift.
public enum PNGCodec {
    /// True when `bytes` starts with the PNG signature.
    public static func isPNG(_ bytes: [UInt8]) -> Bool {
        bytes.count >= 8 && bytes[0] == 0x89 && bytes[1] == 0x50 && bytes[2] == 0x4E && bytes[3] == 0x47
    }

    /// Decodes a PNG to 8-bit RGB. Alpha is dropped, not composited (PIL's
    /// `convert("RGB")`); grey is replicated; 16-bit samples are scaled to 8 bits.
    public static func decode(_ bytes: [UInt8], name: String = "<memory>") throws -> RGBImage {
        var image = png_image()
        image.version = UInt32(PNG_IMAGE_VERSION)
        let begun = bytes.withUnsafeBufferPointer { buf in
            png_image_begin_read_from_memory(&image, buf.baseAddress, buf.count)
        }
        if begun == 0 { throw DatasetError.decodeFailed(path: name, reason: message(&image)) }
        defer { png_image_free(&image) }
        let w = Int(image.width), h = Int(image.height)
        guard w > 0, h > 0, w * h <= 1 << 28 else {
            throw DatasetError.decodeFailed(path: name, reason: "bad size \(w)x\(h)")
        }
        // RGBA output keeps colour values unpremultiplied for 8-bit sRGB output.
        image.format = UInt32(PNG_FORMAT_FLAG_COLOR | PNG_FORMAT_FLAG_ALPHA)  // PNG_FORMAT_RGBA
        // 16-bit files without gAMA/sRGB are sRGB-encoded (as PIL reads them),
        // not linear: 16 -> 8 bits is then a plain rescale, no gamma curve.
        image.flags |= UInt32(PNG_IMAGE_FLAG_16BIT_sRGB)
        var rgba = [UInt8](repeating: 0, count: w * h * 4)
        let finished = bytes.withUnsafeBufferPointer { _ in
            rgba.withUnsafeMutableBytes { dst in
                png_image_finish_read(&image, nil, dst.baseAddress, Int32(w * 4), nil)
            }
        }
        if finished == 0 { throw DatasetError.decodeFailed(path: name, reason: message(&image)) }
        var rgb = [UInt8](repeating: 0, count: w * h * 3)
        for i in 0..<(w * h) {
            rgb[3 * i] = rgba[4 * i]; rgb[3 * i + 1] = rgba[4 * i + 1]; rgb[3 * i + 2] = rgba[4 * i + 2]
        }
        return RGBImage(width: w, height: h, pixels: rgb)
    }

    /// Encodes an RGB image as an 8-bit PNG.
    public static func encode(_ img: RGBImage) throws -> [UInt8] {
        var image = png_image()
        image.version = UInt32(PNG_IMAGE_VERSION)
        image.width = UInt32(img.width)
        image.height = UInt32(img.height)
        image.format = UInt32(PNG_FORMAT_FLAG_COLOR)  // PNG_FORMAT_RGB
        var size: Int = 0
        // First call measures, second writes (libpng's documented two-pass use).
        let measured = img.pixels.withUnsafeBytes { src in
            png_image_write_to_memory(&image, nil, &size, 0, src.baseAddress, Int32(img.width * 3), nil)
        }
        guard measured != 0, size > 0 else {
            throw DatasetError.writeFailed(path: "<png>", reason: message(&image))
        }
        var out = [UInt8](repeating: 0, count: size)
        let written = img.pixels.withUnsafeBytes { src in
            out.withUnsafeMutableBytes { dst in
                png_image_write_to_memory(&image, dst.baseAddress, &size, 0, src.baseAddress, Int32(img.width * 3), nil)
            }
        }
        guard written != 0 else { throw DatasetError.writeFailed(path: "<png>", reason: message(&image)) }
        return Array(out.prefix(size))
    }

    /// Writes an RGB image as a PNG file atomically (temporary file, then rename).
    public static func write(_ img: RGBImage, to url: URL) throws {
        let bytes = try encode(img)
        do { try FileCheck.writable(url.path) } catch {
            throw DatasetError.writeFailed(path: url.path, reason: error.reason)
        }
        do {
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try Data(bytes).write(to: url, options: .atomic)
        } catch {
            throw DatasetError.writeFailed(path: url.path, reason: "\(error.localizedDescription)")
        }
    }

    private static func message(_ image: inout png_image) -> String {
        withUnsafeBytes(of: &image.message) { raw in
            let bytes = raw.prefix { $0 != 0 }
            let s = String(decoding: bytes, as: UTF8.self)
            return s.isEmpty ? "libpng error" : s
        }
    }
}

/// Decodes JPEG or PNG by the file's first bytes.
public enum ImageDecoder {
    /// Decodes `bytes` (JPEG or PNG) to RGB; `name` appears in errors.
    public static func decode(_ bytes: [UInt8], name: String = "<memory>") throws -> RGBImage {
        if JPEGCodec.isJPEG(bytes) { return try JPEGCodec.decode(bytes, name: name) }
        if PNGCodec.isPNG(bytes) { return try PNGCodec.decode(bytes, name: name) }
        throw DatasetError.unsupportedFormat(name)
    }

    /// Reads and decodes one file.
    public static func decode(contentsOf url: URL) throws -> RGBImage {
        let data: Data
        do { try FileCheck.readable(url.path) } catch {
            throw DatasetError.decodeFailed(path: url.path, reason: error.description)
        }
        do { data = try Data(contentsOf: url) } catch {
            throw DatasetError.decodeFailed(path: url.path, reason: "cannot read file")
        }
        return try decode([UInt8](data), name: url.path)
    }
}
