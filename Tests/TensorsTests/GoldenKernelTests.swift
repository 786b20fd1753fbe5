import Foundation
import XCTest
import TestSupport
@testable import Tensors

/// A minimal float32-only safetensors reader for these tests (the SafeTensors
/// module is above Tensors and not a dependency of TensorsTests).
private struct GoldenFile {
    let tensors: [String: Tensor]

    init(_ name: String) throws {
        let data = try Data(contentsOf: try Golden.url(name))
        let headerLength = data.prefix(8).enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }
        let header = try JSONSerialization.jsonObject(with: data.subdata(in: 8..<(8 + headerLength))) as! [String: Any]
        var out: [String: Tensor] = [:]
        for (key, value) in header where key != "__metadata__" {
            let info = value as! [String: Any]
            guard info["dtype"] as? String == "F32" else { continue }
            let shape = (info["shape"] as! [Int])
            let offsets = info["data_offsets"] as! [Int]
            let bytes = data.subdata(in: (8 + headerLength + offsets[0])..<(8 + headerLength + offsets[1]))
            let scalars = bytes.withUnsafeBytes { raw in
                (0..<(bytes.count / 4)).map { Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: 4 * $0, as: UInt32.self))) }
            }
            out[key] = Tensor(shape: shape, scalars: scalars)
        }
        tensors = out
    }

    subscript(_ name: String) -> Tensor {
        guard let t = tensors[name] else { fatalError("golden tensor \(name) missing") }
        return t
    }
}

/// Each kernel applied to JAX's own input for that op (the eval-mode
/// intermediates of the small model at init, `golden/small_eval.safetensors`)
/// must reproduce JAX's output of that op to float32 rounding level.
final class GoldenKernelTests: XCTestCase {
    private func check(_ got: Tensor, _ want: Tensor, _ what: String, rtol: Float = 2e-6,
                       file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(got.shape, want.shape, what, file: file, line: line)
        guard got.shape == want.shape else { return }
        let scale = want.scalars.map(abs).max() ?? 0
        let diff = maxAbsDiff(got, want)
        XCTAssertLessThanOrEqual(diff, rtol * max(scale, 1e-30), "\(what): max |diff| \(diff), max |JAX| \(scale)",
                                 file: file, line: line)
    }

    func testFirstBlockStemAndHeadMatchJAX() throws {
        let p = try GoldenFile("small_init_params.safetensors")
        let input = try GoldenFile("small_input.safetensors")
        let e = try GoldenFile("small_eval.safetensors")
        let i = "intermediates/backbone/"
        let blk = "ConvNeXtBackbone_0/BottleneckConvNeXtBlock_01_01/"
        let bi = i + "BottleneckConvNeXtBlock_01_01/"

        let stem = patchConvForward(input["x"], weight: p["ConvNeXtBackbone_0/Stem_Conv/kernel"],
                                    bias: p["ConvNeXtBackbone_0/Stem_Conv/bias"], stride: 4)
        check(stem, e[i + "Stem_Conv"], "Stem_Conv")
        let ln0 = layerNormForward(e[i + "Stem_Conv"], scale: p["ConvNeXtBackbone_0/LayerNorm_0/scale"],
                                   bias: p["ConvNeXtBackbone_0/LayerNorm_0/bias"], epsilon: 1e-6).y
        check(ln0, e[i + "LayerNorm_0"], "backbone LayerNorm_0")

        let dw = depthwiseConvForward(e[i + "LayerNorm_0"], weight: p[blk + "DepthWise_Conv_0/kernel"],
                                      bias: p[blk + "DepthWise_Conv_0/bias"])
        check(dw, e[bi + "DepthWise_Conv_0"], "DepthWise_Conv_0")
        let ln = layerNormForward(e[bi + "DepthWise_Conv_0"], scale: p[blk + "LayerNorm_0/scale"],
                                  bias: p[blk + "LayerNorm_0/bias"], epsilon: 1e-6).y
        check(ln, e[bi + "LayerNorm_0"], "block LayerNorm_0")
        let c1 = denseForward(e[bi + "LayerNorm_0"], weight: p[blk + "Conv_1/kernel"], bias: p[blk + "Conv_1/bias"])
        check(c1, e[bi + "Conv_1"], "Conv_1")
        // GELU is checked through Conv_2, whose input is gelu(Conv_1).
        let c2 = denseForward(Reference.geluForward(e[bi + "Conv_1"]), weight: p[blk + "Conv_2/kernel"], bias: p[blk + "Conv_2/bias"])
        check(c2, e[bi + "Conv_2"], "gelu + Conv_2")
        let ls = Reference.layerScaleForward(e[bi + "Conv_2"], gamma: p[blk + "LayerScale_0/scale"])
        check(ls, e[bi + "LayerScale_0"], "LayerScale_0")
        let out = add(e[i + "LayerNorm_0"], e[bi + "LayerScale_0"])
        check(out, e[i + "BottleneckConvNeXtBlock_01_01"], "block residual")

        let ds = patchConvForward(e[i + "LayerNorm_1"], weight: p["ConvNeXtBackbone_0/Downsample_Conv_01/kernel"],
                                  bias: p["ConvNeXtBackbone_0/Downsample_Conv_01/bias"], stride: 2)
        check(ds, e[i + "Downsample_Conv_01"], "Downsample_Conv_01")

        let pooled = globalAvgPoolForward(e[i + "BottleneckConvNeXtBlock_04_01"])
        check(pooled, e["intermediates/backbone_output"].reshaped([4, 64]), "global average pool")
        let head = layerNormForward(e["intermediates/backbone_output"].reshaped([4, 64]), scale: p["LayerNorm_0/scale"],
                                    bias: p["LayerNorm_0/bias"], epsilon: 1e-6).y
        check(head, e["intermediates/head_LayerNorm_0"], "head LayerNorm_0")
        let logits = denseForward(e["intermediates/head_LayerNorm_0"], weight: p["Head/kernel"], bias: p["Head/bias"])
        check(logits, e["logits"], "Head logits")
    }
}
