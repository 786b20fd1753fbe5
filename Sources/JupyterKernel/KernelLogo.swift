import Datasets
import Foundation

/// The kernelspec's logos (`logo-32x32.png`, `logo-64x64.png`, which
/// Jupyter shows in its launcher): a falling loss curve, white on the
/// charts' blue, drawn with `PNGPlot`'s raster and encoded by libpng.
enum KernelLogo {
    static let background: (UInt8, UInt8, UInt8) = PNGPlot.colors[0]
    static let ink: (UInt8, UInt8, UInt8) = (255, 255, 255)
    static let sizes = [32, 64]

    /// The logo's pixels, `size`×`size`.
    static func raster(size: Int) -> RGBImage {
        var canvas = PNGPlot.Canvas(width: size, height: size, background: background)
        let margin = Double(size) / 6, span = Double(size) - 2 * margin
        var previous: (Int, Int)?
        for i in 0...24 {
            let t = Double(i) / 24
            // From the top left, falling fast then levelling off (rows grow downward).
            let point = (Int((margin + t * span).rounded()), Int((margin + (1 - exp(-4 * t)) * span).rounded()))
            canvas.thickLine(previous ?? point, point, ink)
            previous = point
        }
        return RGBImage(width: size, height: size, pixels: canvas.pixels)
    }

    /// The PNG file's bytes.
    static func png(size: Int) throws -> [UInt8] { try PNGCodec.encode(raster(size: size)) }

    /// Writes `logo-NxN.png` for each size into `dir`.
    static func write(into dir: URL) throws {
        for size in sizes {
            try Data(png(size: size)).write(to: dir.appendingPathComponent("logo-\(size)x\(size).png"), options: .atomic)
        }
    }
}
