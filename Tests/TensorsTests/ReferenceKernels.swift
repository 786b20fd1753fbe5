import Foundation
import RealModule

// Naive Double reference forwards, written independently of the kernels
// (plain index arithmetic, no padding tricks). Used both to check the
// forwards and as the functions whose finite differences check the backwards.

enum Ref {
    static func dense(_ x: [Double], m: Int, k: Int, _ w: [Double], n: Int, _ b: [Double]?) -> [Double] {
        var y = [Double](repeating: 0, count: m * n)
        for i in 0..<m { for j in 0..<n {
            var s = 0.0
            for t in 0..<k { s += x[i * k + t] * w[t * n + j] }
            y[i * n + j] = s + (b?[j] ?? 0)
        } }
        return y
    }

    /// Direct convolution with Flax SAME padding for any kernel and stride,
    /// groups = 1 (kernel HWIO [kh, kw, cin, cout]).
    static func conv(_ x: [Double], b: Int, h: Int, w: Int, cin: Int, _ wt: [Double], k: Int, cout: Int,
                     stride s: Int, _ bias: [Double]) -> (y: [Double], oh: Int, ow: Int) {
        func same(_ size: Int) -> (Int, Int) {
            let out = Int((Double(size) / Double(s)).rounded(.up))
            let total = max((out - 1) * s + k - size, 0)
            return (out, total / 2)
        }
        let (oh, pt) = same(h), (ow, pl) = same(w)
        var y = [Double](repeating: 0, count: b * oh * ow * cout)
        for n in 0..<b { for i in 0..<oh { for j in 0..<ow { for co in 0..<cout {
            var acc = bias[co]
            for di in 0..<k { for dj in 0..<k {
                let ih = i * s + di - pt, iw = j * s + dj - pl
                if ih < 0 || ih >= h || iw < 0 || iw >= w { continue }
                for ci in 0..<cin {
                    acc += x[((n * h + ih) * w + iw) * cin + ci] * wt[((di * k + dj) * cin + ci) * cout + co]
                }
            } }
            y[((n * oh + i) * ow + j) * cout + co] = acc
        } } } }
        return (y, oh, ow)
    }

    static func depthwise(_ x: [Double], b: Int, h: Int, w: Int, c: Int, _ wt: [Double], k: Int,
                          _ bias: [Double]) -> [Double] {
        let p = k / 2
        var y = [Double](repeating: 0, count: b * h * w * c)
        for n in 0..<b { for i in 0..<h { for j in 0..<w { for ch in 0..<c {
            var acc = bias[ch]
            for di in 0..<k { for dj in 0..<k {
                let ih = i + di - p, iw = j + dj - p
                if ih < 0 || ih >= h || iw < 0 || iw >= w { continue }
                acc += x[((n * h + ih) * w + iw) * c + ch] * wt[(di * k + dj) * c + ch]
            } }
            y[((n * h + i) * w + j) * c + ch] = acc
        } } } }
        return y
    }

    /// LayerNorm with the two-pass variance, in Double.
    static func layerNorm(_ x: [Double], c: Int, _ scale: [Double], _ bias: [Double], eps: Double)
        -> (y: [Double], mean: [Double], rstd: [Double]) {
        let rows = x.count / c
        var y = x, means = [Double](), rstds = [Double]()
        for r in 0..<rows {
            let row = x[(r * c)..<((r + 1) * c)]
            let mu = row.reduce(0, +) / Double(c)
            let v = row.reduce(0) { $0 + ($1 - mu) * ($1 - mu) } / Double(c)
            let rs = 1 / (v + eps).squareRoot()
            for i in 0..<c { y[r * c + i] = (x[r * c + i] - mu) * rs * scale[i] + bias[i] }
            means.append(mu); rstds.append(rs)
        }
        return (y, means, rstds)
    }

    static func gelu(_ x: Double) -> Double { 0.5 * x * Double.erfc(-x / 2.0.squareRoot()) }

    static func softmaxCE(_ logits: [Double], _ labels: [Double], b: Int, n: Int) -> Double {
        var total = 0.0
        for r in 0..<b {
            let row = logits[(r * n)..<((r + 1) * n)]
            let m = row.max()!
            let lse = m + Foundation.log(row.reduce(0) { $0 + Foundation.exp($1 - m) })
            for j in 0..<n { total -= labels[r * n + j] * (logits[r * n + j] - lse) }
        }
        return total / Double(b)
    }
}
