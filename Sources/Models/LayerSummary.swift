/// One row of a model summary: a module, its output shape for one image,
/// its parameter count and its multiply-accumulates per image.
public struct LayerSummary: Sendable, Equatable {
    /// The module path joined with `/` (e.g. `ConvNeXtBackbone_0/Stem_Conv`).
    public var path: String
    /// What it is: `conv4x4/4`, `conv2x2/2`, `dwconv7x7`, `layernorm`, `dense`, `gelu`, `layerscale`, `pool`.
    public var kind: String
    /// Output shape for one image (`[H, W, C]` or `[C]`).
    public var outputShape: [Int]
    /// Parameters owned by the module.
    public var parameters: Int
    /// Multiply-accumulates per image (convs and Dense layers; 0 for the
    /// elementwise and normalisation layers).
    public var macs: Int
}

extension ConvNeXt {
    /// Flax SAME output size of a stride-`s` conv: `ceil(n / s)`.
    public static func sameOutputSize(_ n: Int, stride s: Int) -> Int { (n + s - 1) / s }

    /// The spatial size after the stem and after each downsample, for an input of `imageSize`.
    public func stageSizes(imageSize: Int) -> [(height: Int, width: Int)] {
        var h = Self.sameOutputSize(imageSize, stride: 4)
        var out: [(Int, Int)] = []
        for s in config.depths.indices {
            if s > 0 { h = Self.sameOutputSize(h, stride: 2) }
            out.append((h, h))
        }
        return out
    }

    /// The summary table in model order for square `imageSize` inputs
    /// (default: `config.imageSize`).
    public func layerSummary(imageSize: Int? = nil) -> [LayerSummary] {
        let c = config
        let size = imageSize ?? c.imageSize
        let sizes = stageSizes(imageSize: size)
        var rows: [LayerSummary] = []
        let k = c.kernelSize
        let d0 = c.dims[0]
        let (h0, w0) = sizes[0]
        // Module paths come from the parameter layout (a parameter's path minus its name).
        rows.append(LayerSummary(path: layout.stem.kernel.module, kind: "conv4x4/4", outputShape: [h0, w0, d0],
                                 parameters: 4 * 4 * 3 * d0 + d0, macs: h0 * w0 * d0 * 4 * 4 * 3))
        rows.append(LayerSummary(path: layout.stemNorm.scale.module, kind: "layernorm", outputShape: [h0, w0, d0], parameters: 2 * d0, macs: 0))
        for (s, stage) in layout.stages.enumerated() {
            let ch = c.dims[s]
            let (h, w) = sizes[s]
            if let ds = stage.downsample {
                let (ph, pw) = sizes[s - 1]
                let cin = c.dims[s - 1]
                rows.append(LayerSummary(path: ds.norm.scale.module, kind: "layernorm",
                                         outputShape: [ph, pw, cin], parameters: 2 * cin, macs: 0))
                rows.append(LayerSummary(path: ds.conv.kernel.module, kind: "conv2x2/2",
                                         outputShape: [h, w, ch], parameters: 2 * 2 * cin * ch + ch,
                                         macs: h * w * ch * 2 * 2 * cin))
            }
            for b in stage.blocks {
                rows.append(LayerSummary(path: b.dw.kernel.module, kind: "dwconv\(k)x\(k)", outputShape: [h, w, ch],
                                         parameters: k * k * ch + ch, macs: h * w * ch * k * k))
                rows.append(LayerSummary(path: b.norm.scale.module, kind: "layernorm", outputShape: [h, w, ch], parameters: 2 * ch, macs: 0))
                rows.append(LayerSummary(path: b.fc1.kernel.module, kind: "dense", outputShape: [h, w, 4 * ch],
                                         parameters: ch * 4 * ch + 4 * ch, macs: h * w * ch * 4 * ch))
                let block = b.fc1.kernel.modulePath.dropLast().joined(separator: "/")
                rows.append(LayerSummary(path: "\(block)/gelu", kind: "gelu", outputShape: [h, w, 4 * ch], parameters: 0, macs: 0))
                rows.append(LayerSummary(path: b.fc2.kernel.module, kind: "dense", outputShape: [h, w, ch],
                                         parameters: 4 * ch * ch + ch, macs: h * w * 4 * ch * ch))
                rows.append(LayerSummary(path: b.gamma.module, kind: "layerscale", outputShape: [h, w, ch], parameters: ch, macs: 0))
            }
        }
        let last = c.dims[c.dims.count - 1]
        rows.append(LayerSummary(path: "pool", kind: "pool", outputShape: [last], parameters: 0, macs: 0))
        rows.append(LayerSummary(path: layout.norm.scale.module, kind: "layernorm", outputShape: [last], parameters: 2 * last, macs: 0))
        rows.append(LayerSummary(path: layout.head.kernel.module, kind: "dense", outputShape: [c.classes],
                                 parameters: last * c.classes + c.classes, macs: last * c.classes))
        return rows
    }

    /// Multiply-accumulates per image at `imageSize` (default `config.imageSize`).
    public func macsPerImage(imageSize: Int? = nil) -> Int {
        layerSummary(imageSize: imageSize).reduce(0) { $0 + $1.macs }
    }

    /// Bytes a forward pass's cache (`ForwardCache.byteCount`) holds for a
    /// batch of `batch` square `imageSize` images; the backward's transient
    /// buffers (a few block-sized tensors) come on top.
    public func activationBytes(batch: Int, imageSize: Int? = nil, train: Bool = true) -> Int {
        let c = config
        let size = imageSize ?? c.imageSize
        let sizes = stageSizes(imageSize: size)
        var floats = batch * size * size * 3                    // the input
        let (h0, w0) = sizes[0]
        floats += batch * h0 * w0 * (c.dims[0] + 2)              // stem conv output + LN mean/rstd
        var bools = 0
        var blockBytes = 0
        for info in blocks {
            let s = info.stage, ch = info.channels
            let (h, w) = sizes[s]
            let px = batch * h * w
            if info.index == 0 && s > 0 {
                let (ph, pw) = sizes[s - 1]
                let ppx = batch * ph * pw
                floats += ppx * (c.dims[s - 1] + 2) + ppx * c.dims[s - 1]   // norm input + stats, norm output
            }
            blockBytes += px * ch * blockCacheBytesPerChannel(firstInStage: info.index == 0)
            if train && info.dropPathRate > 0 { bools += batch }
        }
        let last = c.dims[c.dims.count - 1]
        floats += batch * (last + 2) + batch * last               // pooled + stats, head input
        if train && c.headDropout > 0 { bools += batch * last }
        return floats * MemoryLayout<Float>.stride + blockBytes + bools
    }

    /// Bytes a block's cache holds per pixel and channel: input, depthwise,
    /// hidden (4C) and branch, 4 bytes each in float32; a bf16 model packs
    /// those that are bf16 values (all but the input of a block after the
    /// first and the branch when gamma is float32) into 2.
    func blockCacheBytesPerChannel(firstInStage: Bool) -> Int {
        guard config.dtype == .bf16 else { return 4 * (1 + 1 + 4 + 1) }
        let gammaBF16 = config.layerScaleIsBF16
        let input = gammaBF16 || firstInStage ? 2 : 4
        return input + 2 + 2 * 4 + (gammaBF16 ? 2 : 4)
    }

    /// An upper bound on the extra bytes a backward pass allocates on top of
    /// the cache while it runs: the tensors one block's backward holds at once
    /// (about 20 C-sized tensors per pixel: the incoming and residual
    /// gradients, the recomputed GELU and LayerNorm outputs, and each layer's
    /// input gradient), for the stage where that is largest. Gradients of the
    /// parameters (`parameterCount` floats) come on top.
    public func backwardTransientBytes(batch: Int, imageSize: Int? = nil) -> Int {
        let sizes = stageSizes(imageSize: imageSize ?? config.imageSize)
        var most = 0
        for (s, ch) in config.dims.enumerated() {
            most = Swift.max(most, batch * sizes[s].height * sizes[s].width * ch * 20)
        }
        return most * MemoryLayout<Float>.stride
    }
}
