// bf16 GEMM with float32 accumulation (docs/bf16.md, "Kernels").
//
// C[M,N] = op(A)[M,K] · op(B)[K,N] over bf16 values: the operands are float32
// arrays holding bf16 values (rounded to nearest even when they are not), the
// products are exact and accumulate in float32, and each sum is rounded to
// bf16 at the end (XLA's bf16 dot). Every C element is the same sequence of
// operations whatever the blocking or thread count: over the K pairs
// (2p, 2p+1) in order, acc = fma(a[2p+1], b[2p+1], acc), then
// acc = fma(a[2p], b[2p], acc), with denormal inputs read as zero and
// denormal results flushed to zero. That is what one AVX512-BF16 `vdpbf16ps`
// lane does (checked against it bit for bit, including denormals, overflow
// and NaN, on this project's Zen 4), so the native kernel and the emulation
// on any other x86-64 CPU give the same bits.
#ifndef CNX_BF16_KERNELS_H
#define CNX_BF16_KERNELS_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// Rows of C per micro-tile.
#define CNX_BF16_MR 12
/// Columns of C per micro-tile (two 16-lane registers).
#define CNX_BF16_NR 32

/// What the bf16 GEMM does with each finished tile of C when its results
/// are stored as bf16 bits (halves, laid out as C with C's row stride): C
/// itself, or bf16 GELU of C over the table of Tensors/BF16GELU.swift.
typedef struct {
    /// GELU's output per bf16 value, or NULL: C's own bits are stored.
    const float *tableY;
    /// Where the bits go: GELU(C), or C.
    uint16_t *output;
    /// With GELU: C's bf16 bits (the pre-activation) also go here, unless NULL.
    uint16_t *preActivation;
} CNXBF16HalvesEpilogue;

/// 1 when this CPU (and its OS) runs AVX512-BF16 code, else 0.
int cnx_bf16_native_available(void);

/// The dwords `cnx_bf16_pack_a` fills for all of an [M, K] op(A).
long cnx_bf16_packed_a_count(long m, long k);

/// Packs panels [panel0, panel0 + panels) (MR rows each) of op(A)
/// (op(A)[i, k] = `a[i * aRow + k * aK]`), pairs [pair0, pair0 + pairs) of
/// K, into their places in `out` (`cnx_bf16_packed_a_count` dwords for the
/// whole of A), so that blocks sharing A's rows pack them once. Disjoint
/// parts may be packed in parallel: split a transposed A (rows of A^T
/// contiguous) by pairs, so each part reads whole rows, else by panels.
void cnx_bf16_pack_a(const void *a, int aHalves, long aRow, long aK, long k, long m, long panel0, long panels,
                     long pair0, long pairs, uint32_t *out);

/// The dwords `cnx_bf16_pack_b` fills for all of a [K, N] op(B).
long cnx_bf16_packed_b_count(long k, long n);

/// Packs strips [strip0, strip0 + strips) (NR columns each) of op(B)
/// (op(B)[k, j] = `b[k * bK + j * bN]`), pairs [pair0, pair0 + pairs) of K,
/// into their places in `out` (`cnx_bf16_packed_b_count` dwords for the
/// whole of B), so that blocks sharing B's columns pack them once. Disjoint
/// parts may be packed in parallel: split a B whose rows are contiguous by
/// pairs, so each part reads whole rows, else by strips.
void cnx_bf16_pack_b(const void *b, int bHalves, long bK, long bN, long k, long n, long strip0, long strips,
                     long pair0, long pairs, uint32_t *out);

/// One block of C: rows [row0, row0 + rows) and columns [col0, col0 + cols)
/// of C = op(A) · op(B), computed over all of K, rounded to bf16 (nearest
/// even, as XLA's bf16 dot rounds its float32 sums) and stored to `c` as
/// float32 (row-major, leading dimension `ldc`; the block's own rows and
/// columns only).
///
/// A and B are float32 arrays (bf16 values, or rounded as they are read), or
/// bf16 bits (uint16 "halves") where `aHalves` / `bHalves` is 1.
/// op(A)[i, k] is `a[i * aRow + k * aK]`, or, when `packedA` is not NULL, A
/// as `cnx_bf16_pack_a` packed it (`row0` then a multiple of MR);
/// op(B)[k, j] is `b[k * bK + j * bN]`, or, when `packedB` is not NULL, B as
/// `cnx_bf16_pack_b` packed it (`col0` then a multiple of NR).
/// With a `bias` (N floats, bf16 values), C gets `r(sum) + bias[j]`, rounded
/// to bf16 again when `roundSum` is 1 (a bf16 add), else left float32 (XLA's
/// bias add when only a LayerNorm or the loss reads it).
/// With a `halves` epilogue, C is computed in a scratch buffer of the block
/// and each finished tile (r(sum), plus the bias) is stored as bf16 bits,
/// through bf16 GELU if asked, while it is in cache (`CNXBF16HalvesEpilogue`,
/// row stride `ldc`); `c` is not used.
/// `native` selects the `vdpbf16ps` kernel (the caller checks
/// `cnx_bf16_native_available`); 0 runs the emulation, the same bits.
/// Blocks write disjoint parts of C, so they may run in parallel.
void cnx_bf16_gemm_block(long k,
                         const void *a, int aHalves, long aRow, long aK, const uint32_t *packedA,
                         const void *b, int bHalves, long bK, long bN, const uint32_t *packedB,
                         float *c, long ldc, const float *bias, int roundSum,
                         const CNXBF16HalvesEpilogue *halves,
                         long row0, long rows, long col0, long cols,
                         int native);

/// bf16 GELU forward over `rows` rows of `cols` bf16 values `x` (row stride
/// `ldx`): GELU's output as bf16 bits to `y`, and the input's bf16 bits (the
/// pre-activation a backward pass keeps) to `pre` unless it is NULL, both
/// with row stride `ldh`.
void cnx_bf16_gelu_rows(const float *x, long ldx, uint16_t *y, uint16_t *pre, long ldh, long rows, long cols,
                        const float *tableY);

/// bf16 GELU's output and gradient (Tensors/BF16GELU.swift): for each of the
/// `n` elements, `y[i]` = GELU(x[i]) and `dx[i]` the gradient from the
/// cotangent `dy[i]`, x[i] a bf16 value. `tableEEx[h]` holds the x-only
/// parts of GELU's gradient for the bf16 value with bits h: e's bits in its
/// low half, ex's in its high half (one gather per vector of lanes).
void cnx_bf16_gelu_backward(const float *dy, const float *x, float *y, float *dx, long n, const uint32_t *tableEEx);

/// `cnx_bf16_gelu_backward` on bf16 bits (halves): the cotangent `dy` and
/// GELU's input `x` in, GELU's output `y` and the input's cotangent `dx` out.
void cnx_bf16_gelu_backward_halves(const uint16_t *dy, const uint16_t *x, uint16_t *y, uint16_t *dx, long n,
                                   const uint32_t *tableEEx);

/// `cnx_bf16_gelu_backward_halves` on columns [col0, col0 + cols) of `rows`
/// rows of `ld` values, a row at a time, adding each gradient to its
/// column's running bf16 sum: `sums[j] = r(sums[j] + dx[row, col0 + j])`,
/// rows in order (the bias gradient's column sums, `bf16ColumnSums`).
void cnx_bf16_gelu_backward_columns(const uint16_t *dy, const uint16_t *x, uint16_t *y, uint16_t *dx,
                                    long rows, long ld, long col0, long cols, const uint32_t *tableEEx, float *sums);


#ifdef __cplusplus
}
#endif

#endif
