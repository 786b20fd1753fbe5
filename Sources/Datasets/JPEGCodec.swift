import CImageCodecs

/// JPEG decoding and encoding with libturbojpeg (TurboJPEG 2 API).
public enum JPEGCodec {
    /// Pixel layouts that `encode` accepts (tests use them to make fixtures).
    public enum PixelFormat: Sendable {
        case rgb, gray, cmyk
        var channels: Int { switch self { case .rgb: 3; case .gray: 1; case .cmyk: 4 } }
        var tj: Int32 {
            switch self {
            case .rgb: Int32(TJPF_RGB.rawValue)
            case .gray: Int32(TJPF_GRAY.rawValue)
            case .cmyk: Int32(TJPF_CMYK.rawValue)
            }
        }
    }

    /// True when `bytes` starts with the JPEG SOI marker.
    public static func isJPEG(_ bytes: [UInt8]) -> Bool {
        bytes.count >= 3 && bytes[0] == 0xFF && bytes[1] == 0xD8 && bytes[2] == 0xFF
    }

    /// Decodes a JPEG to 8-bit RGB. Grayscale converts to RGB in libjpeg;
    /// CMYK/YCCK decode to CMYK and convert as PIL does for Adobe (inverted)
    /// CMYK: `r = c * k / 255`. Any libjpeg warning (e.g. a truncated file)
    /// is an error, so a damaged file never yields half-grey pixels.
    public static func decode(_ bytes: [UInt8], name: String = "<memory>") throws -> RGBImage {
        guard let handle = tjInitDecompress() else {
            throw DatasetError.decodeFailed(path: name, reason: "tjInitDecompress failed")
        }
        defer { tjDestroy(handle) }
        var width: Int32 = 0, height: Int32 = 0, subsamp: Int32 = 0, colorspace: Int32 = 0
        let headerOK = bytes.withUnsafeBufferPointer { buf in
            tjDecompressHeader3(handle, buf.baseAddress, UInt(buf.count), &width, &height, &subsamp, &colorspace)
        }
        if headerOK != 0 { throw DatasetError.decodeFailed(path: name, reason: lastError(handle)) }
        guard width > 0, height > 0, Int(width) * Int(height) <= 1 << 28 else {
            throw DatasetError.decodeFailed(path: name, reason: "bad size \(width)x\(height)")
        }
        let w = Int(width), h = Int(height)
        let isCMYK = colorspace == Int32(TJCS_CMYK.rawValue) || colorspace == Int32(TJCS_YCCK.rawValue)
        let channels = isCMYK ? 4 : 3
        var raw = [UInt8](repeating: 0, count: w * h * channels)
        let format = isCMYK ? Int32(TJPF_CMYK.rawValue) : Int32(TJPF_RGB.rawValue)
        let rc = bytes.withUnsafeBufferPointer { src in
            raw.withUnsafeMutableBufferPointer { dst in
                tjDecompress2(handle, src.baseAddress, UInt(src.count), dst.baseAddress,
                              width, 0, height, format, TJFLAG_ACCURATEDCT)
            }
        }
        if rc != 0 { throw DatasetError.decodeFailed(path: name, reason: lastError(handle)) }
        if !isCMYK { return RGBImage(width: w, height: h, pixels: raw) }
        // Adobe CMYK stores inverted inks: r = (255-C)(255-K)/255 on the true
        // inks is c*k/255 on the stored values (PIL: "CMYK;I" then cmyk2rgb).
        var rgb = [UInt8](repeating: 0, count: w * h * 3)
        for i in 0..<(w * h) {
            let k = Int(raw[4 * i + 3])
            for c in 0..<3 { rgb[3 * i + c] = UInt8((Int(raw[4 * i + c]) * k + 127) / 255) }
        }
        return RGBImage(width: w, height: h, pixels: rgb)
    }

    /// Encodes `pixels` (`width*height*channels` bytes) as a baseline JPEG.
    /// RGB uses 4:4:4 subsampling so fixtures decode close to their source.
    public static func encode(_ pixels: [UInt8], width: Int, height: Int,
                              format: PixelFormat = .rgb, quality: Int = 95) throws -> [UInt8] {
        precondition(pixels.count == width * height * format.channels)
        guard let handle = tjInitCompress() else {
            throw DatasetError.writeFailed(path: "<jpeg>", reason: "tjInitCompress failed")
        }
        defer { tjDestroy(handle) }
        var out: UnsafeMutablePointer<UInt8>? = nil
        var size: UInt = 0
        let samp = format == .gray ? Int32(TJSAMP_GRAY.rawValue) : Int32(TJSAMP_444.rawValue)
        let rc = pixels.withUnsafeBufferPointer { src in
            tjCompress2(handle, src.baseAddress, Int32(width), 0, Int32(height), format.tj,
                        &out, &size, samp, Int32(quality), TJFLAG_ACCURATEDCT)
        }
        defer { if let out { tjFree(out) } }
        guard rc == 0, let out else { throw DatasetError.writeFailed(path: "<jpeg>", reason: lastError(handle)) }
        return Array(UnsafeBufferPointer(start: out, count: Int(size)))
    }

    private static func lastError(_ handle: tjhandle) -> String {
        guard let s = tjGetErrorStr2(handle) else { return "unknown libjpeg error" }
        return String(cString: s)
    }
}
