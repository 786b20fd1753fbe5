import Datasets
import Foundation
import JSON
import Tensors
import Training

/// `data preview --mixed`: the training batch at the data cursor exactly as
/// the model receives it — augmented, erased, Mixup/CutMix mixed — each image
/// captioned with its soft label (the classes it carries and their weights).
enum MixedPreview {
    /// Writes the grid PNG and returns the result (the image, and each
    /// image's soft label as a table).
    static func make(_ state: WorkbenchState, count: Int, url: URL) throws -> CommandResult {
        let data = try state.requireData()
        let size = state.modelConfig?.imageSize ?? (data.splits.train.imageSize?.width ?? 64)
        let n = min(count, data.splits.train.count)
        guard n >= 1 else { throw ShellError("--count must be at least 1") }
        let builder = data.builder(imageSize: size, dataKey: try state.dataKey())
        // The batch the next step of this size takes (from the epoch's start if the cursor is unusable).
        let samples = data.splits.train.count
        let at = state.counters.cursor.problem(samples: samples) == nil ? state.counters.cursor : DataCursor()
        let cursor = at.start(batchSize: n, samples: samples)
        try MemoryBudget.check(Double(n) * Double(size * size * 3) * 4 * 4, "data preview --mixed of \(n) images at \(size) px",
                               hint: "use a smaller --count, or a model with a smaller --image-size")
        let batch = builder.batch(at: cursor, size: n)
        let names = data.splits.classNames
        var images: [RGBImage] = [], captions: [String] = [], rows: [[JSONValue]] = []
        for i in 0..<n {
            images.append(image(batch.x, i, mean: data.augment.mean, std: data.augment.std))
            let label = softLabel(batch.labels, i)
            // The 3x5 font fits ~16 characters: class names cut to 5 when two share a caption, weights in percent.
            let parts = label.prefix(2)
            captions.append(parts.map { "\(parts.count > 1 ? String(names[$0.0].prefix(5)) : names[$0.0]) \(Int(($0.1 * 100).rounded()))" }
                .joined(separator: "/"))
            let floor = batch.labels.scalars[(i * names.count)..<((i + 1) * names.count)].min() ?? 0
            rows.append([.int(i), .string(names[batch.targets[i]]),
                         .string(label.map { "\(names[$0.0]) \(TextRenderer.float($0.1))" }.joined(separator: ", ")
                                 + (floor > 0 ? "; every other class \(TextRenderer.float(floor))" : ""))])
        }
        let grid = PreviewGrid.make(images: images, labels: captions, columns: min(8, n))
        try PNGCodec.write(grid, to: url)
        return .group([
            .image(ImageResult(title: "the training batch at epoch \(cursor.epoch), sample \(cursor.sample) as the model sees it (\(batch.mix))",
                               path: url.path, width: grid.width, height: grid.height, pixels: grid.pixels)),
            .table(Table(title: "soft labels (label smoothing and Mixup/CutMix)", columns: [.init("image"), .init("class"), .init("soft label")], rows: rows)),
        ])
    }

    /// Sample i of an NHWC batch, un-normalised back to bytes.
    static func image(_ x: Tensor, _ i: Int, mean: [Float], std: [Float]) -> RGBImage {
        let h = x.shape[1], w = x.shape[2], plane = h * w * 3
        var pixels = [UInt8](repeating: 0, count: plane)
        for p in 0..<plane {
            let c = p % 3
            let v = (x.scalars[i * plane + p] * std[c] + mean[c]) * 255
            pixels[p] = UInt8(max(0, min(255, v.rounded())))
        }
        return RGBImage(width: w, height: h, pixels: pixels)
    }

    /// The classes sample i's label carries above label smoothing's floor
    /// (the row's smallest weight), heaviest first.
    static func softLabel(_ labels: Tensor, _ i: Int) -> [(Int, Float)] {
        let k = labels.shape[1]
        let row = (0..<k).map { ($0, labels.scalars[i * k + $0]) }
        let floor = row.map(\.1).min() ?? 0
        return row.filter { $0.1 > floor }.sorted { $0.1 > $1.1 }
    }
}
