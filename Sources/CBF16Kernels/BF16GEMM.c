// bf16 GEMM with float32 accumulation: the blocking, the packing and two
// micro-kernels (AVX512-BF16 and its emulation). See include/CBF16Kernels.h
// for the arithmetic both compute. Hand-written because no library gives
// bf16 products with a summation order fixed by the shapes alone (oneDNN's
// depends on its threading), which DESIGN.md's determinism needs.
//
// Blocking (BLIS's loops, for a 32 KiB L1 and 1 MiB L2 per core):
// for each K block of KC pairs, the block's rows of op(A) are packed as
// panels of MR rows and its columns of op(B) as strips of NR columns (unless
// the caller packed them once for all blocks that share them,
// `cnx_bf16_pack_a` / `cnx_bf16_pack_b`), both as bf16
// pairs; then for each strip (48 KiB at KC = 384: in L2) and each panel, one
// MR x NR micro-tile of C accumulates the block's pairs in order. The last K
// block's store rounds the sums to bf16 (and adds the bias, if any).
// KC = 384 pairs was measured best on Tiny's 24 GEMM shapes (KernelBench
// --gemm-shapes: 266 ms in all, against 290 at 256 and 309 at 128, 276 at
// 768): K = 96..768 then fits in one K block, with no C tile stored and
// reloaded between blocks and no short last block. The blocking never
// changes the bits: partial sums stay float32 in C between K blocks.
#include "CBF16Kernels.h"

#include <cpuid.h>
#include <immintrin.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

enum { MR = CNX_BF16_MR, NR = CNX_BF16_NR, KC = 384 };
_Static_assert(MR == 12, "load12 and store12 move one panel row of MR = 12 floats");

/// The bf16 bits of `f`, rounded to nearest even (NaN stays a quiet NaN):
/// the same rounding as Swift's `roundToBF16`. Branch-free, so the packing
/// loops vectorise.
static inline uint32_t bf16_bits(float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    uint32_t rounded = (u + 0x7fffu + ((u >> 16) & 1u)) >> 16;
    uint32_t quiet = (u >> 16) | 0x40u;
    return (u & 0x7fffffffu) > 0x7f800000u ? quiet : rounded;
}

/// The float32 value of bf16 bits (exact).
static inline float bf16_value(uint32_t h) {
    uint32_t u = h << 16;
    float f;
    memcpy(&f, &u, 4);
    return f;
}

// Vectors of 16 lanes for the packing and the emulation (AVX-512 registers,
// or two AVX2 ones on x86-64-v3).
typedef float v16f __attribute__((vector_size(64)));
typedef uint32_t v16u __attribute__((vector_size(64)));
typedef uint16_t v16h __attribute__((vector_size(32)));

static inline v16f load16(const void *p) {
    v16f v;
    memcpy(&v, p, 64);
    return v;
}

static inline void store16(float *p, v16f v) { memcpy(p, &v, 64); }

static inline v16f splat(float x) {
    v16f v = {x, x, x, x, x, x, x, x, x, x, x, x, x, x, x, x};
    return v;
}

/// The MR = 12 floats at `p` in lanes 0-11, zeros above (one masked load on
/// AVX-512; a zero-initialised vector filled by memcpy compiled to lane inserts).
static inline v16f load12(const float *p) {
#if defined(__AVX512F__)
    return (v16f)_mm512_maskz_loadu_ps(0x0fff, p);
#else
    typedef float v8f __attribute__((vector_size(32)));
    typedef float v4f __attribute__((vector_size(16)));
    v8f lo;
    v4f hi;
    memcpy(&lo, p, sizeof lo);
    memcpy(&hi, p + 8, sizeof hi);
    v8f hi8 = __builtin_shufflevector(hi, hi, 0, 1, 2, 3, -1, -1, -1, -1);
    return __builtin_shufflevector(lo, hi8, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, -1, -1, -1, -1);
#endif
}

/// Lanes 0-11 of `v` to `p`.
static inline void store12(uint32_t *p, v16u v) {
#if defined(__AVX512F__)
    _mm512_mask_storeu_epi32(p, 0x0fff, (__m512i)v);
#else
    memcpy(p, &v, 12 * sizeof(uint32_t));
#endif
}

/// `v` rounded to bf16 as `bf16_bits` rounds, lane by lane.
static inline v16f round_v16(v16f v) {
    v16u u = (v16u)v;
    v16u rounded = (u + 0x7fffu + ((u >> 16) & 1u)) & 0xffff0000u;
    v16u quiet = (u | 0x400000u) & 0xffff0000u;
    v16u nan = (v16u)((u & 0x7fffffffu) > 0x7f800000u);  // all ones where NaN
    return (v16f)((nan & quiet) | (~nan & rounded));
}

int cnx_bf16_native_available(void) {
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d) || !(c & (1u << 27))) return 0;  // OSXSAVE
    unsigned lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    if ((lo & 0xe6u) != 0xe6u) return 0;  // the OS saves SSE, AVX and the three AVX-512 states
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return 0;
    if (!(b & (1u << 16)) || !(b & (1u << 30)) || !(b & (1u << 31))) return 0;  // AVX512 F, BW, VL
    if (!__get_cpuid_count(7, 1, &a, &b, &c, &d)) return 0;
    return (a & (1u << 5)) != 0;  // AVX512_BF16
}

/// A packed panel of MR rows of op(A) over kc pairs: the pair of row r at
/// pair p is the dword `panel[p * pairStride + r * rowStride]`, bf16(A[i, 2p])
/// in its low half and bf16(A[i, 2p+1]) in its high half.
typedef struct {
    long pairStride, rowStride;
} PanelLayout;

/// Packs rows [row0, rowEnd) of op(A), pairs [p0, p0 + kc), as panels of MR
/// rows (zeros past rowEnd or K), panel q at `out + q * panelStride`, in the
/// layout that reads A contiguously: rows of pairs when A's rows are
/// contiguous in k (a row is then converted to bf16 in place order: its
/// dwords are its pairs; `rowStride` dwords between a panel's rows), pairs
/// of rows when A is transposed (the panel's MR rows are contiguous for each
/// k). `out` is where pair p0 goes: the chunk's start in a buffer of kc
/// pairs, or pair p0's place in A packed whole.
static PanelLayout pack_a(const float *a, long aRow, long aK, long k, long row0, long rowEnd,
                          long panels, long p0, long kc, uint32_t *out, long panelStride, long rowStride) {
    long k0 = 2 * p0, kEnd = 2 * (p0 + kc) < k ? 2 * (p0 + kc) : k;
    if (!(aRow == 1 && aK != 1)) {
        for (long q = 0; q < panels; q++) {
            uint32_t *o = out + q * panelStride;
            long i0 = row0 + q * MR;
            long valid = rowEnd - i0 < MR ? rowEnd - i0 : MR;
            for (long r = 0; r < MR; r++) {
                uint16_t *o16 = (uint16_t *)(o + r * rowStride);
                long t = 0;
                if (r < valid) {
                    const float *row = a + (i0 + r) * aRow;
                    if (aK == 1) {
                        // 16 at a time: round, keep the high halves, narrow to 16 bits.
                        for (; t + 16 <= kEnd - k0; t += 16) {
                            v16h h = __builtin_convertvector((v16u)round_v16(load16(row + k0 + t)) >> 16, v16h);
                            memcpy(o16 + t, &h, sizeof h);
                        }
                        for (; t < kEnd - k0; t++) o16[t] = (uint16_t)bf16_bits(row[k0 + t]);
                    } else {
                        for (; t < kEnd - k0; t++) o16[t] = (uint16_t)bf16_bits(row[(k0 + t) * aK]);
                    }
                }
                for (; t < 2 * kc; t++) o16[t] = 0;
            }
        }
        return (PanelLayout){1, rowStride};
    }
    // A transposed: pairs outermost, so A's two rows of a pair are read front
    // to back across all panels.
    for (long p = 0; p < kc; p++) {
        long kk = k0 + 2 * p;
        const float *r0 = a + kk * aK;
        const float *r1 = kk + 1 < k ? r0 + aK : NULL;
        for (long q = 0; q < panels; q++) {
            long i0 = row0 + q * MR;
            long valid = rowEnd - i0 < MR ? rowEnd - i0 : MR;
            uint32_t *op = out + q * panelStride + p * MR;
            if (valid == MR && r1) {
                // The panel's MR rows in one vector: A[2p] rounded in the low halves, A[2p+1] in the high.
                v16u w = ((v16u)round_v16(load12(r0 + i0)) >> 16) | (v16u)round_v16(load12(r1 + i0));
                store12(op, w);
            } else {
                for (long r = 0; r < MR; r++) {
                    uint32_t v = 0;
                    if (r < valid) v = bf16_bits(r0[i0 + r]) | (r1 ? bf16_bits(r1[i0 + r]) << 16 : 0);
                    op[r] = v;
                }
            }
        }
    }
    return (PanelLayout){MR, 1};
}

/// Packs columns [col0, colEnd) of op(B) (op(B)[k, j] = b[k*bK + j*bN]),
/// pairs [p0, p0 + kc), as strips of NR columns: strip s holds
/// `out[s*stripStride + p*NR + j]` = bf16(B[2p, col]) | bf16(B[2p+1, col]) << 16
/// for col = col0 + s*NR + j, p counted from p0; zeros past colEnd or K.
static void pack_b(const float *b, long bK, long bN, long k, long col0, long colEnd,
                   long strips, long p0, long kc, uint32_t *out, long stripStride) {
    // Pairs outermost: B's two rows of a pair are read front to back across
    // all strips (one stream the prefetcher follows), each strip's dwords
    // written in place.
    for (long p = 0; p < kc; p++) {
        long k0 = 2 * (p0 + p);
        for (long s = 0; s < strips; s++) {
            long j0 = col0 + s * NR;
            long valid = colEnd - j0 < NR ? colEnd - j0 : NR;
            const float *r0 = b + k0 * bK + j0 * bN;
            uint32_t *op = out + s * stripStride + p * NR;
            if (k0 + 1 < k && valid == NR && bN == 1) {
                // Rows of B contiguous: two rows interleaved, 16 columns at a time.
                const float *r1 = r0 + bK;
                for (long j = 0; j < NR; j += 16) {
                    v16u w = ((v16u)round_v16(load16(r0 + j)) >> 16) | (v16u)round_v16(load16(r1 + j));
                    memcpy(op + j, &w, sizeof w);
                }
            } else {
                // A transposed B (a weight: small, packed once) or an edge.
                const float *r1 = k0 + 1 < k ? r0 + bK : NULL;
                for (long j = 0; j < NR; j++) {
                    uint32_t v = 0;
                    if (j < valid) v = bf16_bits(r0[j * bN]) | (r1 ? bf16_bits(r1[j * bN]) << 16 : 0);
                    op[j] = v;
                }
            }
        }
    }
}

/// `pack_a` for an A held as bf16 bits (halves): the same layout, the
/// values copied (already bf16, nothing to round).
static PanelLayout pack_a_halves(const uint16_t *a, long aRow, long aK, long k, long row0, long rowEnd,
                                 long panels, long p0, long kc, uint32_t *out, long panelStride, long rowStride) {
    long k0 = 2 * p0, kEnd = 2 * (p0 + kc) < k ? 2 * (p0 + kc) : k;
    if (!(aRow == 1 && aK != 1)) {
        for (long q = 0; q < panels; q++) {
            long i0 = row0 + q * MR;
            long valid = rowEnd - i0 < MR ? rowEnd - i0 : MR;
            for (long r = 0; r < MR; r++) {
                uint16_t *o16 = (uint16_t *)(out + q * panelStride + r * rowStride);
                long t = 0;
                if (r < valid) {
                    const uint16_t *row = a + (i0 + r) * aRow;
                    if (aK == 1) {
                        memcpy(o16, row + k0, (size_t)(kEnd - k0) * sizeof(uint16_t));
                        t = kEnd - k0;
                    } else {
                        for (; t < kEnd - k0; t++) o16[t] = row[(k0 + t) * aK];
                    }
                }
                for (; t < 2 * kc; t++) o16[t] = 0;
            }
        }
        return (PanelLayout){1, rowStride};
    }
    for (long p = 0; p < kc; p++) {
        long kk = k0 + 2 * p;
        const uint16_t *r0 = a + kk * aK;
        const uint16_t *r1 = kk + 1 < k ? r0 + aK : NULL;
        for (long q = 0; q < panels; q++) {
            long i0 = row0 + q * MR;
            long valid = rowEnd - i0 < MR ? rowEnd - i0 : MR;
            uint32_t *op = out + q * panelStride + p * MR;
            if (valid == MR && r1) {
                for (long r = 0; r < MR; r++) op[r] = (uint32_t)r0[i0 + r] | (uint32_t)r1[i0 + r] << 16;
            } else {
                for (long r = 0; r < MR; r++)
                    op[r] = r < valid ? (uint32_t)r0[i0 + r] | (r1 ? (uint32_t)r1[i0 + r] << 16 : 0) : 0;
            }
        }
    }
    return (PanelLayout){MR, 1};
}

/// `pack_b` for a B held as bf16 bits (halves).
static void pack_b_halves(const uint16_t *b, long bK, long bN, long k, long col0, long colEnd,
                          long strips, long p0, long kc, uint32_t *out, long stripStride) {
    for (long p = 0; p < kc; p++) {
        long k0 = 2 * (p0 + p);
        for (long s = 0; s < strips; s++) {
            long j0 = col0 + s * NR;
            long valid = colEnd - j0 < NR ? colEnd - j0 : NR;
            const uint16_t *r0 = b + k0 * bK + j0 * bN;
            const uint16_t *r1 = k0 + 1 < k ? r0 + bK : NULL;
            uint32_t *op = out + s * stripStride + p * NR;
            if (r1 && valid == NR && bN == 1) {
                for (long j = 0; j < NR; j++) op[j] = (uint32_t)r0[j] | (uint32_t)r1[j] << 16;
            } else {
                for (long j = 0; j < NR; j++)
                    op[j] = j < valid ? (uint32_t)r0[j * bN] | (r1 ? (uint32_t)r1[j * bN] << 16 : 0) : 0;
            }
        }
    }
}

/// pack_a or pack_a_halves, as A is held.
static PanelLayout pack_a_any(const void *a, int halves, long aRow, long aK, long k, long row0, long rowEnd,
                              long panels, long p0, long kc, uint32_t *out, long panelStride, long rowStride) {
    return halves ? pack_a_halves(a, aRow, aK, k, row0, rowEnd, panels, p0, kc, out, panelStride, rowStride)
                  : pack_a(a, aRow, aK, k, row0, rowEnd, panels, p0, kc, out, panelStride, rowStride);
}

/// pack_b or pack_b_halves, as B is held.
static void pack_b_any(const void *b, int halves, long bK, long bN, long k, long col0, long colEnd,
                       long strips, long p0, long kc, uint32_t *out, long stripStride) {
    if (halves)
        pack_b_halves(b, bK, bN, k, col0, colEnd, strips, p0, kc, out, stripStride);
    else
        pack_b(b, bK, bN, k, col0, colEnd, strips, p0, kc, out, stripStride);
}

long cnx_bf16_packed_a_count(long m, long k) {
    return (k + 1) / 2 * ((m + MR - 1) / MR) * MR;
}

void cnx_bf16_pack_a(const void *a, int aHalves, long aRow, long aK, long k, long m, long panel0, long panels,
                     long pair0, long pairs, uint32_t *out) {
    long kp = (k + 1) / 2;
    long rowEnd = (panel0 + panels) * MR < m ? (panel0 + panels) * MR : m;
    int transposed = aRow == 1 && aK != 1;
    // Pair pair0's place in panel panel0 (PanelLayout: {MR, 1} transposed, else {1, kp}).
    uint32_t *start = out + panel0 * kp * MR + (transposed ? pair0 * MR : pair0);
    pack_a_any(a, aHalves, aRow, aK, k, panel0 * MR, rowEnd, panels, pair0, pairs, start, kp * MR, kp);
}

long cnx_bf16_packed_b_count(long k, long n) {
    return (k + 1) / 2 * ((n + NR - 1) / NR) * NR;
}

void cnx_bf16_pack_b(const void *b, int bHalves, long bK, long bN, long k, long n, long strip0, long strips,
                     long pair0, long pairs, uint32_t *out) {
    long kp = (k + 1) / 2;
    long colEnd = (strip0 + strips) * NR < n ? (strip0 + strips) * NR : n;
    pack_b_any(b, bHalves, bK, bN, k, strip0 * NR, colEnd, strips, pair0, pairs, out + strip0 * kp * NR + pair0 * NR, kp * NR);
}

/// `v` rounded to bf16 as `bf16_bits` rounds, in a register.
__attribute__((target("avx512f,avx512bw,avx512vl,avx512bf16")))
static inline __m512 round_native(__m512 v) {
    __m512i u = _mm512_castps_si512(v), high = _mm512_set1_epi32((int)0xffff0000u);
    __m512i lsb = _mm512_and_si512(_mm512_srli_epi32(u, 16), _mm512_set1_epi32(1));
    __m512i rounded = _mm512_and_si512(_mm512_add_epi32(_mm512_add_epi32(u, _mm512_set1_epi32(0x7fff)), lsb), high);
    __m512i quiet = _mm512_and_si512(_mm512_or_si512(u, _mm512_set1_epi32(0x400000)), high);
    return _mm512_castsi512_ps(_mm512_mask_mov_epi32(rounded, _mm512_cmp_ps_mask(v, v, _CMP_UNORD_Q), quiet));
}

/// One MR x NR tile of C (leading dimension ldc) += (or =, without
/// `accumulate`) kc pairs of a packed panel and strip, with `vdpbf16ps`:
/// lane j of row r gets a[2p+1]·b[2p+1], then a[2p]·b[2p], per pair in order;
/// with `round` (the last K block) the sums are stored rounded to bf16, plus
/// `bias[j]` when there is one (rounded again with `roundSum`).
/// 24 accumulators hide the instruction's latency (one per cycle on Zen 4).
__attribute__((target("avx512f,avx512bw,avx512vl,avx512bf16")))
static void kernel_native(long kc, const uint32_t *a, PanelLayout la, const uint32_t *b,
                          float *c, long ldc, int accumulate, int round, const float *bias, int roundSum) {
    __m512 c0[MR], c1[MR];
#pragma clang loop unroll(full)
    for (int r = 0; r < MR; r++) {
        c0[r] = accumulate ? _mm512_loadu_ps(c + r * ldc) : _mm512_setzero_ps();
        c1[r] = accumulate ? _mm512_loadu_ps(c + r * ldc + 16) : _mm512_setzero_ps();
    }
    const long ps = la.pairStride, rs = la.rowStride;
    for (long p = 0; p < kc; p++) {
        __m512bh b0 = (__m512bh)_mm512_loadu_si512(b + p * NR);
        __m512bh b1 = (__m512bh)_mm512_loadu_si512(b + p * NR + 16);
        const uint32_t *ap = a + p * ps;
#pragma clang loop unroll(full)
        for (int r = 0; r < MR; r++) {
            // The A pair is broadcast from memory (vdpbf16ps's {1to16} operand).
            __m512bh ar = (__m512bh)_mm512_set1_epi32((int)ap[r * rs]);
            c0[r] = _mm512_dpbf16_ps(c0[r], b0, ar);
            c1[r] = _mm512_dpbf16_ps(c1[r], b1, ar);
        }
    }
    if (round) {
        __m512 bias0 = bias ? _mm512_loadu_ps(bias) : _mm512_setzero_ps();
        __m512 bias1 = bias ? _mm512_loadu_ps(bias + 16) : _mm512_setzero_ps();
#pragma clang loop unroll(full)
        for (int r = 0; r < MR; r++) {
            c0[r] = round_native(c0[r]);
            c1[r] = round_native(c1[r]);
            if (bias) {
                c0[r] = _mm512_add_ps(c0[r], bias0);
                c1[r] = _mm512_add_ps(c1[r], bias1);
                if (roundSum) {
                    c0[r] = round_native(c0[r]);
                    c1[r] = round_native(c1[r]);
                }
            }
        }
    }
#pragma clang loop unroll(full)
    for (int r = 0; r < MR; r++) {
        _mm512_storeu_ps(c + r * ldc, c0[r]);
        _mm512_storeu_ps(c + r * ldc + 16, c1[r]);
    }
}

/// `kernel_native`'s arithmetic without AVX512-BF16: two FMAs per pair, odd
/// element first, two rows at a time (8 AVX2 registers of accumulators); the
/// caller sets MXCSR's DAZ and FTZ, as the instruction behaves.
static void kernel_emulated(long kc, const uint32_t *a, PanelLayout la, const uint32_t *b,
                            float *c, long ldc, int accumulate, int round, const float *bias, int roundSum) {
    const v16u high = {0xffff0000u, 0xffff0000u, 0xffff0000u, 0xffff0000u, 0xffff0000u, 0xffff0000u,
                       0xffff0000u, 0xffff0000u, 0xffff0000u, 0xffff0000u, 0xffff0000u, 0xffff0000u,
                       0xffff0000u, 0xffff0000u, 0xffff0000u, 0xffff0000u};
    for (int r = 0; r < MR; r += 2) {
        float *c0 = c + r * ldc, *c1 = c0 + ldc;
        v16f zero = splat(0.0f);
        v16f t00 = accumulate ? load16(c0) : zero, t01 = accumulate ? load16(c0 + 16) : zero;
        v16f t10 = accumulate ? load16(c1) : zero, t11 = accumulate ? load16(c1 + 16) : zero;
        for (long p = 0; p < kc; p++) {
            v16u w0 = (v16u)load16(b + p * NR), w1 = (v16u)load16(b + p * NR + 16);
            v16f even0 = (v16f)(w0 << 16), odd0 = (v16f)(w0 & high);
            v16f even1 = (v16f)(w1 << 16), odd1 = (v16f)(w1 & high);
            uint32_t x0 = a[p * la.pairStride + r * la.rowStride];
            uint32_t x1 = a[p * la.pairStride + (r + 1) * la.rowStride];
            v16f xe0 = splat(bf16_value(x0 & 0xffffu)), xo0 = splat(bf16_value(x0 >> 16));
            v16f xe1 = splat(bf16_value(x1 & 0xffffu)), xo1 = splat(bf16_value(x1 >> 16));
            t00 = __builtin_elementwise_fma(xe0, even0, __builtin_elementwise_fma(xo0, odd0, t00));
            t01 = __builtin_elementwise_fma(xe0, even1, __builtin_elementwise_fma(xo0, odd1, t01));
            t10 = __builtin_elementwise_fma(xe1, even0, __builtin_elementwise_fma(xo1, odd0, t10));
            t11 = __builtin_elementwise_fma(xe1, even1, __builtin_elementwise_fma(xo1, odd1, t11));
        }
        if (round) {
            t00 = round_v16(t00);
            t01 = round_v16(t01);
            t10 = round_v16(t10);
            t11 = round_v16(t11);
        }
        if (round && bias) {
            // The bias add is an ordinary float32 add (no DAZ/FTZ), as on the native path.
            unsigned csr = _mm_getcsr();
            _mm_setcsr(csr & ~0x8040u);
            v16f bias0 = load16(bias), bias1 = load16(bias + 16);
            t00 += bias0;
            t01 += bias1;
            t10 += bias0;
            t11 += bias1;
            if (roundSum) {
                t00 = round_v16(t00);
                t01 = round_v16(t01);
                t10 = round_v16(t10);
                t11 = round_v16(t11);
            }
            _mm_setcsr(csr);
        }
        store16(c0, t00);
        store16(c0 + 16, t01);
        store16(c1, t10);
        store16(c1 + 16, t11);
    }
}

/// The GELU epilogue of a finished tile: `t` (row stride `ldt`) holds its
/// rows [i0, i0 + rows) and columns [j0, j0 + cols) of C, just stored (in
/// L1); the halves go to their places in the epilogue's arrays (row stride `ldc`).
/// The halves epilogue of a finished tile: `t` (row stride `ldt`) holds its
/// rows [i0, i0 + rows) and columns [j0, j0 + cols) of C, just stored (in
/// L1, rounded to bf16); their bits, or GELU's, go to their places in the
/// epilogue's arrays (row stride `ldc`).
static void halves_tile(const CNXBF16HalvesEpilogue *h, const float *t, long ldt, long ldc, long i0, long j0, long rows, long cols) {
    long at = i0 * ldc + j0;
    if (h->tableY) {
        cnx_bf16_gelu_rows(t, ldt, h->output + at, h->preActivation ? h->preActivation + at : NULL, ldc, rows, cols, h->tableY);
        return;
    }
    for (long r = 0; r < rows; r++) {
        const float *row = t + r * ldt;
        uint16_t *out = h->output + at + r * ldc;
        long j = 0;
        for (; j + 16 <= cols; j += 16) {
            v16h bits = __builtin_convertvector((v16u)load16(row + j) >> 16, v16h);
            memcpy(out + j, &bits, sizeof bits);
        }
        for (; j < cols; j++) out[j] = (uint16_t)bf16_bits(row[j]);
    }
}

/// One of this thread's buffers (`slot`), at least `bytes` long, 64-byte
/// aligned, kept between calls (the largest asked for): a fresh buffer of
/// this size comes from mmap, and faulting its pages in cost as much as
/// packing into them. Slot 0 packs the operands (about 1.2 MiB); slot 1 is C's
/// scratch for a block with a halves epilogue (whose results go elsewhere).
static void *thread_buffer(int slot, size_t bytes) {
    static _Thread_local void *buffer[2];
    static _Thread_local size_t capacity[2];
    if (bytes > capacity[slot]) {
        free(buffer[slot]);
        buffer[slot] = aligned_alloc(64, (bytes + 63) & ~(size_t)63);
        capacity[slot] = bytes;
    }
    return buffer[slot];
}

void cnx_bf16_gemm_block(long k,
                         const void *a, int aHalves, long aRow, long aK, const uint32_t *packedA,
                         const void *b, int bHalves, long bK, long bN, const uint32_t *packedB,
                         float *c, long ldc, const float *bias, int roundSum,
                         const CNXBF16HalvesEpilogue *halves,
                         long row0, long rows, long col0, long cols,
                         int native) {
    if (rows <= 0 || cols <= 0) return;
    long kp = (k + 1) / 2;
    // With a halves epilogue the results go to the epilogue's halves (row
    // stride ldc), C's floats to scratch: with one K block, one micro-tile
    // (`tile`, in L1, each tile finished before the next); with several, the
    // whole block's partial sums (row stride `cols`, at (row0, col0)) kept
    // between K blocks. `at(i, j)` is C's element (i, j) of this block.
    long ldcOut = ldc;
    int tileScratch = halves && kp > 0 && kp <= KC;
    float *scratch = halves && !tileScratch ? thread_buffer(1, (size_t)rows * (size_t)cols * sizeof(float)) : NULL;
    if (scratch) ldc = cols;
#define at(i, j) (scratch ? scratch + ((i) - row0) * ldc + ((j) - col0) : c + (i) * ldc + (j))
    if (kp == 0) {
        // An empty sum: 0, plus the bias (a bf16 value, so r(0 + b) = b).
        for (long i = row0; i < row0 + rows; i++)
            for (long j = col0; j < col0 + cols; j++) *at(i, j) = bias ? bias[j] : 0.0f;
        if (halves) halves_tile(halves, at(row0, col0), ldc, ldcOut, row0, col0, rows, cols);
        return;
    }
    long panels = (rows + MR - 1) / MR, strips = (cols + NR - 1) / NR;
    int direct = aHalves && !packedA && aK == 1 && aRow % 2 == 0 && k % 2 == 0;
    long kcMax = kp < KC ? kp : KC;
    size_t aBytes = packedA ? 0 : ((size_t)((direct ? 1 : panels) * kcMax * MR) * 4 + 63) & ~(size_t)63;
    size_t bBytes = packedB ? 0 : ((size_t)(strips * kcMax * NR) * 4 + 63) & ~(size_t)63;
    uint32_t *pa = thread_buffer(0, aBytes + bBytes);
    uint32_t *pb = pa + aBytes / 4;
    float tile[MR * NR] __attribute__((aligned(64)));
    unsigned csr = _mm_getcsr();
    if (!native) _mm_setcsr(csr | 0x8040u);  // DAZ (bit 6) and FTZ (bit 15), as vdpbf16ps
    void (*kernel)(long, const uint32_t *, PanelLayout, const uint32_t *, float *, long, int, int, const float *, int) =
        native ? kernel_native : kernel_emulated;
    long rowEnd = row0 + rows, colEnd = col0 + cols;
    for (long p0 = 0; p0 < kp; p0 += KC) {
        long kc = kp - p0 < KC ? kp - p0 : KC;
        int accumulate = p0 > 0, last = p0 + kc == kp;
        // A partial last panel of a directly read A, packed (rows of kc pairs).
        PanelLayout edgeLayout = {1, kc};
        if (direct && rows % MR)
            pack_a_halves(a, aRow, aK, k, row0 + (panels - 1) * MR, rowEnd, 1, p0, kc, pa, kc * MR, kc);
        // Packed for this block: panels of kc pairs; packed once: panels of all kp pairs,
        // in pack_a's layout for A's orientation (pairs of rows, or rows of kp pairs).
        PanelLayout layout;
        const uint32_t *aChunk;
        long panelStride;
        if (packedA) {
            int transposed = aRow == 1 && aK != 1;
            layout = transposed ? (PanelLayout){MR, 1} : (PanelLayout){1, kp};
            aChunk = packedA + (row0 / MR) * kp * MR + p0 * layout.pairStride;
            panelStride = kp * MR;
        } else if (direct) {
            // A held as bf16 bits with rows of an even K: its rows already are rows of
            // pairs, so the kernel reads them in place (no copy); only a last panel
            // that runs past A's rows is packed (with zero rows), below.
            layout = (PanelLayout){1, aRow / 2};
            aChunk = (const uint32_t *)((const uint16_t *)a + row0 * aRow) + p0;
            panelStride = MR * (aRow / 2);
        } else {
            layout = pack_a_any(a, aHalves, aRow, aK, k, row0, rowEnd, panels, p0, kc, pa, kc * MR, kc);
            aChunk = pa;
            panelStride = kc * MR;
        }
        if (!packedB) pack_b_any(b, bHalves, bK, bN, k, col0, colEnd, strips, p0, kc, pb, kc * NR);
        for (long s = 0; s < strips; s++) {
            long j0 = col0 + s * NR;
            long nr = colEnd - j0 < NR ? colEnd - j0 : NR;
            // Packed for this block: strips of kc pairs; packed once: strips of all kp pairs.
            const uint32_t *bp = packedB ? packedB + (j0 / NR) * kp * NR + p0 * NR : pb + s * kc * NR;
            for (long q = 0; q < panels; q++) {
                long i0 = row0 + q * MR;
                long mr = rowEnd - i0 < MR ? rowEnd - i0 : MR;
                const uint32_t *ap = aChunk + q * panelStride;
                PanelLayout la = layout;
                if (direct && mr < MR) {
                    ap = pa;
                    la = edgeLayout;
                }
                if (tileScratch) {
                    // One K block: the tile's sums (edge tiles padded, with a zero-padded bias) in L1.
                    float edgeBias[NR] = {0};
                    const float *tileBias = bias && nr < NR ? edgeBias : bias ? bias + j0 : NULL;
                    if (bias && nr < NR) memcpy(edgeBias, bias + j0, (size_t)nr * sizeof(float));
                    kernel(kc, ap, la, bp, tile, NR, 0, 1, tileBias, roundSum);
                    halves_tile(halves, tile, NR, ldcOut, i0, j0, mr, nr);
                    continue;
                }
                float *cp = at(i0, j0);
                if (mr == MR && nr == NR) {
                    kernel(kc, ap, la, bp, cp, ldc, accumulate, last, bias ? bias + j0 : NULL, roundSum);
                    if (halves && last) halves_tile(halves, cp, ldc, ldcOut, i0, j0, MR, NR);
                    continue;
                }
                // An edge tile: through a full tile, its own rows and columns copied.
                if (accumulate) {
                    memset(tile, 0, sizeof tile);
                    for (long r = 0; r < mr; r++) memcpy(tile + r * NR, cp + r * ldc, (size_t)nr * sizeof(float));
                }
                // An edge strip's bias, padded with zeros to NR columns.
                float edgeBias[NR] = {0};
                if (bias) memcpy(edgeBias, bias + j0, (size_t)nr * sizeof(float));
                kernel(kc, ap, la, bp, tile, NR, accumulate, last, bias ? edgeBias : NULL, roundSum);
                for (long r = 0; r < mr; r++) memcpy(cp + r * ldc, tile + r * NR, (size_t)nr * sizeof(float));
                if (halves && last) halves_tile(halves, cp, ldc, ldcOut, i0, j0, mr, nr);
            }
        }
    }
    if (!native) _mm_setcsr(csr);
#undef at
}
