import Datasets
import Foundation
import JSON
import SafeTensors
import Tensors
import Training

/// `data …`: the session's data, its augmentations, previews and batches (issue 7).
enum DataCommands {
    static let batchFlag = FlagKey<Int?>("batch", help: "the training batch size (under mpirun: each process's)",
                                      shown: "the previous data's, else 32")
    static let classes = FlagKey<Int>("classes", default: 10, help: "number of classes (1…\(SyntheticDataset.allClassNames.count))")
    static let imageSize = FlagKey<Int>("size", default: 32, help: "image size in pixels")
    static let count = FlagKey<Int?>("count", help: "training images", shown: "500 per class")
    static let valCount = FlagKey<Int?>("val-count", help: "validation images", shown: "a fifth of --count")
    static let val = FlagKey<String?>("val", help: "a validation folder with the same classes", kind: .path)
    static let augment = FlagKey<Bool>("augment", help: "apply the train augmentations (crop, flip, RandAugment)")
    static let previewCount = FlagKey<Int>("count", default: 16, help: "how many images")
    static let split = FlagKey<Split>("split", default: .train, help: "which split")
    static let mixed = FlagKey<Bool>("mixed", help: "the training batch at the data cursor as the model receives it (Mixup/CutMix mixed), each image captioned with its soft label")
    static let previewOut = FlagKey<String>("out", default: "preview.png", help: "the PNG to write", kind: .path)
    static let batchSize = FlagKey<Int?>("size", help: "batch size", shown: "the session's")
    static let batchOut = FlagKey<String?>("out", help: "FILE.safetensors to write", kind: .path)

    static let all: [CommandSpec] = [
        CommandSpec(["data", "synthetic"], summary: "Use the embedded synthetic dataset (shapes, stripes, textures; made from a fixed key)",
                    flags: [classes, imageSize, count, valCount, batchFlag]) { invocation, context in
            let classes = invocation[DataCommands.classes]
            // Checked here so the error names the flag typed (the dataset knows only counts).
            if let v = invocation[valCount], v < classes, invocation[count].map({ $0 >= classes }) ?? true {
                throw ShellError("--val-count must be at least the class count (\(classes)), got \(v)")
            }
            let source = DataSource.synthetic(classes: classes, size: invocation[imageSize],
                                              trainCount: invocation[count], valCount: invocation[valCount])
            let setup = try DataSetup(source: source, augment: context.state.data?.augment ?? .light,
                                      batchSize: try trainingBatch(invocation, default: context.state.data?.batchSize ?? 32))
            try checkBatchFits(setup, invocation)
            context.state.data = setup
            return .record(describe(setup))
        },
        CommandSpec(["data", "imagefolder"], summary: "Use images in DIR/<class>/<file> (.jpg/.jpeg/.png); classes sorted by name",
                    help: "Without --val there is no held-out set: evaluation uses the training images (give --val DIR for a real validation score). Undecodable files are skipped and listed by `data errors`.",
                    arguments: [ArgumentSpec("dir", .path, "the training folder")],
                    flags: [val, batchFlag]) { invocation, context in
            let source = DataSource.imageFolder(train: context.workbench.url(for: invocation.argument(0)!).path,
                                                val: invocation[val].map { context.workbench.url(for: $0).path })
            let setup = try DataSetup(source: source, augment: context.state.data?.augment ?? .convnext,
                                      batchSize: try trainingBatch(invocation, default: context.state.data?.batchSize ?? 32))
            context.state.data = setup
            return .record(describe(setup))
        },
        CommandSpec(["data", "show"], summary: "Classes, counts, sizes and decode errors of the data", mutates: false) { _, context in
            let data = try context.state.requireData()
            let counts = data.splits.train.classCounts(), valCounts = data.splits.val.classCounts()
            let rows: [[JSONValue]] = data.splits.classNames.enumerated().map { i, name in
                [.int(i), .string(name), .int(counts[i]), .int(i < valCounts.count ? valCounts[i] : 0)]
            }
            var record = describe(data)
            let skipped = skippedFiles(data)
            record.fields.append(("decode_errors", .string(skipped.isEmpty ? "none" : "\(skipped.count) skipped: "
                + skipped.prefix(3).map { "\(($0.path as NSString).lastPathComponent) (\($0.reason))" }.joined(separator: ", ")
                + (skipped.count > 3 ? ", … (`data errors` lists all)" : ""))))
            return .group([.record(record),
                           .table(Table(title: "classes", columns: [.init("label"), .init("name"), .init("train"), .init("val")], rows: rows,
                                        footer: [.string(""), .string("total"), .int(data.splits.train.count), .int(data.splits.val.count)]))])
        },
        CommandSpec(["data", "errors"], summary: "Files that failed to decode (skipped, never fatal)", mutates: false) { _, context in
            let data = try context.state.requireData()
            let skipped = skippedFiles(data)
            if skipped.isEmpty { return .message("no decode errors") }
            return .table(Table(title: "\(skipped.count) files skipped", columns: [.init("file"), .init("reason")],
                                rows: skipped.map { [.string($0.path), .string($0.reason)] }))
        },
        CommandSpec(["data", "augment"], summary: "Show or change the augmentations: show | on NAME | off NAME | set NAME.PARAM=V | preset light|convnext",
                    help: "Names: \(AugmentConfig.names.joined(separator: ", ")). `off all` disables every train augmentation. Under mpirun Mixup/CutMix mixes within each process's part of the batch (as timm under DDP), so only runs without it match one process. A change answers in one line; `data augment show` lists every parameter.",
                    arguments: [ArgumentSpec("action", .choice(["show", "on", "off", "set", "preset"]), "what to do", optional: true),
                                ArgumentSpec("what", .string, "an augmentation name, NAME.PARAM=V, or a preset", optional: true)]) { invocation, context in
            var data = try context.state.requireData()
            let action = invocation.argument(0) ?? "show"
            let what = invocation.argument(1)
            switch action {
            case "show": break
            case "on", "off":
                guard let name = what else { throw ShellError("`data augment \(action)` needs a name: \(AugmentConfig.names.joined(separator: ", ")) or all") }
                for n in name == "all" ? AugmentConfig.names : [name] { try data.augment.setEnabled(n, action == "on") }
            case "set":
                guard let assignment = what else { throw ShellError("`data augment set` needs NAME.PARAM=VALUE, e.g. erasing.probability=0.5") }
                try data.augment.set(assignment)
            default:
                switch what {
                case "light": data.augment = .light
                case "convnext": data.augment = .convnext
                default: throw ShellError("presets are light (flip and mild crops, for the demo) and convnext (the recipe's)")
                }
            }
            context.state.data = data
            // `show` prints the table; a change says in one line what it changed.
            let table: CommandResult
            if action == "show" {
                table = .table(Table(title: "augmentations", columns: [.init("parameter"), .init("value")],
                                     rows: data.augment.parameters.map { [.string($0.name), .string($0.value)] }))
            } else {
                let on = AugmentConfig.names.filter { name in data.augment.parameters.first { $0.name == "\(name).enabled" }?.value == "true" }
                let what = action == "preset" ? "preset \(what ?? "")" : "\(action) \(what ?? "")"
                table = .message("augmentations: \(what); now on: \(on.isEmpty ? "none" : on.joined(separator: ", ")) (`data augment show` lists every parameter)")
            }
            let ra = data.augment.randAugment
            guard ra.magnitude > ra.magnitudeMax else { return table }
            return .group([table, .message("note: randaugment.magnitude \(ra.magnitude) is above randaugment.magnitudemax \(ra.magnitudeMax): every sampled magnitude is clipped to \(ra.magnitudeMax), as in timm (raise magnitudemax to use it)")])
        },
        CommandSpec(["data", "preview"], summary: "A labelled grid of images (with --augment: as training sees them), written as PNG",
                    flags: [augment, previewCount, split, mixed, previewOut],
                    mutates: false, computes: true) { invocation, context in
            if invocation[mixed] {
                return try MixedPreview.make(context.state, count: invocation[previewCount],
                                             url: context.workbench.url(for: invocation[previewOut]))
            }
            let data = try context.state.requireData()
            let split = invocation[DataCommands.split]
            let ds = data.splits[split]
            let count = min(invocation[previewCount], ds.count)
            guard count >= 1 else { throw ShellError("--count must be at least 1") }
            let size = context.state.modelConfig?.imageSize ?? (ds.imageSize?.width ?? 64)
            // Each image, the augmentation's intermediates and the grid, as RGB bytes.
            let side = Double(max(size, ds.imageSize?.width ?? size, ds.imageSize?.height ?? size))
            try MemoryBudget.check(Double(count) * side * side * 3 * 4, "data preview of \(count) images at \(Int(side)) px",
                                   hint: "use a smaller --count, or a model with a smaller --image-size")
            let builder = data.builder(imageSize: size, dataKey: try context.state.dataKey())
            var images: [RGBImage] = []
            var labels: [String] = []
            for i in 0..<count {
                let image = try ds.image(at: i)
                images.append(invocation[augment]
                    ? builder.trainImage(image, key: builder.epochKey(0).split(3)[1].foldIn(UInt32(i)))
                    : image)
                labels.append(data.splits.classNames[ds.label(at: i)])
            }
            let grid = PreviewGrid.make(images: images, labels: labels, columns: min(8, count))
            let url = context.workbench.url(for: invocation[previewOut])
            try PNGCodec.write(grid, to: url)
            return .image(ImageResult(title: "\(count) \(split.rawValue) images\(invocation[augment] ? " (augmented)" : "")",
                                      path: url.path, width: grid.width, height: grid.height, pixels: grid.pixels))
        },
        CommandSpec(["data", "batch"], summary: "Write one batch exactly as the model receives it: \"x\" (NHWC) and \"labels\"",
                    help: "train: the batch at the data cursor (permutation, augmentations, Mixup/CutMix). val: file order with eval transforms.",
                    flags: [split, batchSize, batchOut],
                    mutates: false, computes: true) { invocation, context in
            let data = try context.state.requireData()
            guard let out = invocation[batchOut] else { throw ShellError("`data batch` needs --out FILE.safetensors") }
            let split = invocation[DataCommands.split]
            let size = invocation[batchSize] ?? data.batchSize
            guard size >= 1, size <= data.splits[split].count else {
                throw ShellError("--size must be 1…\(data.splits[split].count) for the \(split.rawValue) split")
            }
            let imageSize = context.state.modelConfig?.imageSize ?? (data.splits.train.imageSize?.width ?? 224)
            // The float batch, its Mixup copy and the encoded file.
            try MemoryBudget.check(Double(size) * Double(imageSize * imageSize * 3) * 4 * 3, "data batch of \(size) images at \(imageSize) px",
                                   hint: "use a smaller --size")
            let builder = data.builder(imageSize: imageSize, dataKey: try context.state.dataKey())
            let cursor = context.state.counters.cursor
            let batch = split == .train
                ? builder.batch(at: cursor.problem(samples: data.splits.train.count) == nil ? cursor : DataCursor(), size: size)
                : builder.batch(.val, epoch: 0, index: 0, size: size)
            let url = context.workbench.url(for: out)
            try SafeTensorsFile.write([("x", batch.x), ("labels", batch.labels)],
                                      metadata: ["split": split.rawValue, "targets": batch.targets.map(String.init).joined(separator: ",")], to: url)
            return .record(Record(title: "batch written", [("x", .string(batch.x.shape.map(String.init).joined(separator: "x"))),
                                                            ("labels", .string(batch.labels.shape.map(String.init).joined(separator: "x"))),
                                                            ("targets", .array(batch.targets.map { .int($0) })), ("file", .string(url.path))]))
        },
    ]

    /// A batch larger than the training split is refused when the data is
    /// set, naming `--batch` when it was typed (else the kept batch size).
    static func checkBatchFits(_ setup: DataSetup, _ invocation: Invocation) throws {
        let n = setup.splits.train.count
        guard setup.batchSize > n else { return }
        if invocation[batchFlag] != nil {
            throw ShellError("--batch \(setup.batchSize) is larger than the \(n) training images: use --batch \(n) or less (or more images)")
        }
        throw ShellError("the batch size \(setup.batchSize) (kept from the previous data) is larger than the \(n) training images: add --batch \(n) or less")
    }

    static func trainingBatch(_ invocation: Invocation, default d: Int) throws -> Int {
        let b = invocation[batchFlag] ?? d
        guard b >= 1 else { throw ShellError("--batch must be at least 1, got \(b)") }
        return b
    }

    /// Files that failed to decode in either split, each once (without
    /// --val both splits are the same folder).
    static func skippedFiles(_ data: DataSetup) -> [DecodeFailure] {
        var seen = Set<String>()
        return [data.splits.train, data.splits.val].compactMap { $0 as? ImageFolder }.flatMap(\.skipped)
            .filter { seen.insert($0.path).inserted }
    }

    static func describe(_ data: DataSetup) -> Record {
        let size = data.splits.train.imageSize.map { "\($0.width)x\($0.height)" } ?? "varies"
        var warnings: [String] = []
        for split in [data.splits.train, data.splits.val] {
            for w in (split as? ImageFolder)?.warnings ?? [] where !warnings.contains(w) { warnings.append(w) }
        }
        var record = Record(title: data.splits.name, [
            ("classes", .int(data.splits.classNames.count)), ("train", .int(data.splits.train.count)),
            ("val", .int(data.splits.val.count)), ("image_size", .string(size)), ("batch", .int(data.batchSize)),
            ("augment", .string(AugmentConfig.names.filter { name in
                data.augment.parameters.first { $0.name == "\(name).enabled" }?.value == "true" }.joined(separator: ", "))),
        ])
        if !warnings.isEmpty { record.fields.append(("warnings", .string(warnings.joined(separator: "; ")))) }
        return record
    }
}
