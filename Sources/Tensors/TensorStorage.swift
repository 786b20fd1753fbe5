/// Internal helpers that hand kernels raw pointers into tensor storage.
///
/// Kernels allocate their outputs uninitialised and must write every element;
/// inputs are read through `withUnsafeBufferPointer` so no copy is made.
extension Tensor {
    /// A new tensor whose elements are written by `fill`, which must write all
    /// `count(of: shape)` of them (or pass `zeroed: true`).
    @inline(__always)
    static func build(_ shape: [Int], zeroed: Bool = false,
                      _ fill: (UnsafeMutablePointer<Float>) -> Void) -> Tensor {
        let n = Tensor.count(of: shape)
        let scalars = [Float](unsafeUninitializedCapacity: n) { buf, initialized in
            let p = buf.baseAddress ?? UnsafeMutablePointer<Float>.allocate(capacity: 0)
            if zeroed { p.initialize(repeating: 0, count: n) }
            if n > 0 { fill(p) }
            initialized = n
        }
        return Tensor(shape: shape, scalars: scalars)
    }

    /// Calls `body` with a pointer to the elements (valid only inside `body`).
    @inline(__always)
    func withPointer<R>(_ body: (UnsafePointer<Float>) -> R) -> R {
        scalars.withUnsafeBufferPointer { buf in
            // An empty Array may have a nil base address; kernels never read it then.
            body(buf.baseAddress ?? UnsafePointer(bitPattern: 0x10)!)
        }
    }

    /// The number of elements in all but the last axis (rows of the last axis).
    @inline(__always)
    var leadingCount: Int { shape.isEmpty ? 1 : count / max(1, shape[shape.count - 1]) }

    /// The extent of the last axis (1 for a scalar).
    @inline(__always)
    var lastDim: Int { shape.last ?? 1 }
}
