/// Draws an RGB image in a colour terminal with `▀` half-blocks: each
/// character shows two pixels (foreground = top, background = bottom).
enum HalfBlocks {
    static func render(_ image: ImageResult, maxWidth: Int) -> String {
        let step = max(1, (image.width + maxWidth - 1) / maxWidth)
        var lines: [String] = []
        var y = 0
        while y < image.height {
            var line = ""
            var x = 0
            while x < image.width {
                let top = pixel(image, x, y), bottom = pixel(image, x, min(image.height - 1, y + step))
                line += "\u{1B}[38;2;\(top.0);\(top.1);\(top.2)m\u{1B}[48;2;\(bottom.0);\(bottom.1);\(bottom.2)m▀"
                x += step
            }
            lines.append(line + "\u{1B}[0m")
            y += 2 * step
        }
        return lines.joined(separator: "\n")
    }

    private static func pixel(_ image: ImageResult, _ x: Int, _ y: Int) -> (UInt8, UInt8, UInt8) {
        let i = (y * image.width + x) * 3
        return (image.pixels[i], image.pixels[i + 1], image.pixels[i + 2])
    }
}
