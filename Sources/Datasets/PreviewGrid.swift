/// A labelled grid of images for previews (`data preview --out FILE.png`):
/// each cell is an image scaled up by an integer factor (nearest neighbour)
/// with its label drawn underneath in a 3x5 pixel font.
public enum PreviewGrid {
    /// Lays `images` out in `columns` columns; each image is scaled to at
    /// least `minCell` pixels wide. Labels are upper-cased, truncated to fit.
    public static func make(images: [RGBImage], labels: [String], columns: Int = 8, minCell: Int = 96) -> RGBImage {
        precondition(!images.isEmpty && images.count == labels.count && columns > 0)
        let cw = images.map(\.width).max()!, ch = images.map(\.height).max()!
        let scale = max(1, (minCell + cw - 1) / cw)
        let textScale = 2, pad = 4
        let cellW = cw * scale + 2 * pad
        let labelH = 5 * textScale + 2 * pad
        let cellH = ch * scale + pad + labelH
        let cols = min(columns, images.count)
        let rows = (images.count + cols - 1) / cols
        var grid = RGBImage(width: cols * cellW, height: rows * cellH, fill: (24, 24, 28))
        for (n, img) in images.enumerated() {
            let ox = (n % cols) * cellW + pad, oy = (n / cols) * cellH + pad
            for y in 0..<(img.height * scale) {
                for x in 0..<(img.width * scale) {
                    for c in 0..<3 { grid[ox + x, oy + y, c] = img[x / scale, y / scale, c] }
                }
            }
            let maxChars = (cellW - pad) / (4 * textScale)
            let text = String(labels[n].uppercased().prefix(maxChars))
            draw(text, into: &grid, x: ox, y: oy + img.height * scale + pad, scale: textScale)
        }
        return grid
    }

    /// Draws `text` with the 3x5 font, white, top-left at (x, y).
    static func draw(_ text: String, into img: inout RGBImage, x: Int, y: Int, scale: Int) {
        var cx = x
        for ch in text {
            let glyph = font[ch] ?? font["?"]!
            for (gy, row) in glyph.enumerated() {
                for (gx, bit) in row.enumerated() where bit == "#" {
                    for sy in 0..<scale {
                        for sx in 0..<scale {
                            let px = cx + gx * scale + sx, py = y + gy * scale + sy
                            if px < img.width && py < img.height {
                                img[px, py, 0] = 240; img[px, py, 1] = 240; img[px, py, 2] = 240
                            }
                        }
                    }
                }
            }
            cx += 4 * scale
        }
    }

    /// A 3x5 pixel font: capitals, digits and a little punctuation.
    static let font: [Character: [String]] = [
        "A": [".#.", "#.#", "###", "#.#", "#.#"], "B": ["##.", "#.#", "##.", "#.#", "##."],
        "C": [".##", "#..", "#..", "#..", ".##"], "D": ["##.", "#.#", "#.#", "#.#", "##."],
        "E": ["###", "#..", "##.", "#..", "###"], "F": ["###", "#..", "##.", "#..", "#.."],
        "G": [".##", "#..", "#.#", "#.#", ".##"], "H": ["#.#", "#.#", "###", "#.#", "#.#"],
        "I": ["###", ".#.", ".#.", ".#.", "###"], "J": ["..#", "..#", "..#", "#.#", ".#."],
        "K": ["#.#", "#.#", "##.", "#.#", "#.#"], "L": ["#..", "#..", "#..", "#..", "###"],
        "M": ["#.#", "###", "###", "#.#", "#.#"], "N": ["##.", "#.#", "#.#", "#.#", "#.#"],
        "O": [".#.", "#.#", "#.#", "#.#", ".#."], "P": ["##.", "#.#", "##.", "#..", "#.."],
        "Q": [".#.", "#.#", "#.#", "##.", ".##"], "R": ["##.", "#.#", "##.", "#.#", "#.#"],
        "S": [".##", "#..", ".#.", "..#", "##."], "T": ["###", ".#.", ".#.", ".#.", ".#."],
        "U": ["#.#", "#.#", "#.#", "#.#", "###"], "V": ["#.#", "#.#", "#.#", "#.#", ".#."],
        "W": ["#.#", "#.#", "###", "###", "#.#"], "X": ["#.#", "#.#", ".#.", "#.#", "#.#"],
        "Y": ["#.#", "#.#", ".#.", ".#.", ".#."], "Z": ["###", "..#", ".#.", "#..", "###"],
        "0": ["###", "#.#", "#.#", "#.#", "###"], "1": [".#.", "##.", ".#.", ".#.", "###"],
        "2": ["##.", "..#", ".#.", "#..", "###"], "3": ["##.", "..#", ".#.", "..#", "##."],
        "4": ["#.#", "#.#", "###", "..#", "..#"], "5": ["###", "#..", "##.", "..#", "##."],
        "6": [".##", "#..", "###", "#.#", "###"], "7": ["###", "..#", ".#.", ".#.", ".#."],
        "8": ["###", "#.#", "###", "#.#", "###"], "9": ["###", "#.#", "###", "..#", "##."],
        "-": ["...", "...", "###", "...", "..."], "_": ["...", "...", "...", "...", "###"],
        ".": ["...", "...", "...", "...", ".#."], " ": ["...", "...", "...", "...", "..."],
        ":": ["...", ".#.", "...", ".#.", "..."], "/": ["..#", "..#", ".#.", "#..", "#.."],
        "?": ["##.", "..#", ".#.", "...", ".#."],
    ]
}
