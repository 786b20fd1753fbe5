// bf16 GELU over tables (Tensors/BF16GELU.swift has the formulas and builds
// the tables): the forward pass over rows (the bf16 GEMM's GELU epilogue)
// and the backward pass, on float32 or on bf16 bits. In C for what the
// table lookups need — a gather instruction (backward: e and ex in one
// word per lane), or lane-by-lane loads into a vector (forward) — which
// Swift's SIMD types do not compile well (a lane-by-lane gather in Swift ran
// at 0.74 G elements/s on two cores, under half this), and clang did not
// vectorise the scalar loop by itself. Vectors of 16 lanes on AVX-512, 8 on
// AVX2, then a scalar tail: the same lane-wise float32 IEEE operations and
// integer rounding everywhere, no FMA contraction (the target builds with
// -ffp-contract=off), so the same bits as the Swift op-by-op code.
#include "CBF16Kernels.h"

#include <immintrin.h>
#include <string.h>

#if defined(__AVX512F__)
enum { W = 16 };
typedef float vf __attribute__((vector_size(64)));
typedef uint32_t vu __attribute__((vector_size(64)));
typedef uint16_t vh __attribute__((vector_size(32)));
static inline vu gather_u(const uint32_t *table, vu index) {
    return (vu)_mm512_i32gather_epi32((__m512i)index, table, 4);
}
static inline int any_v(vu m) { return _mm512_test_epi32_mask((__m512i)m, (__m512i)m) != 0; }
#else
enum { W = 8 };
typedef float vf __attribute__((vector_size(32)));
typedef uint32_t vu __attribute__((vector_size(32)));
typedef uint16_t vh __attribute__((vector_size(16)));
static inline vu gather_u(const uint32_t *table, vu index) {
    return (vu)_mm256_i32gather_epi32((const int *)table, (__m256i)index, 4);
}
static inline int any_v(vu m) { return !_mm256_testz_si256((__m256i)m, (__m256i)m); }
#endif

/// Lanes rounded to bf16, nearest even, NaN kept quiet (Swift's `roundToBF16`).
static inline vf round_v(vf f) {
    vu u = (vu)f;
    vu rounded = (u + 0x7fffu + ((u >> 16) & 1u)) & 0xffff0000u;
    vu quiet = (u | 0x00400000u) & 0xffff0000u;
    vu nan = (vu)((u & 0x7fffffffu) > 0x7f800000u);
    return (vf)((nan & quiet) | (~nan & rounded));
}

/// `round_v` without the NaN case, in 5 operations instead of 9: the same
/// bits for every value but NaN (a NaN's low bits could carry into its sign).
static inline vf round_finite_v(vf f) {
    vu u = (vu)f;
    return (vf)((u + 0x7fffu + ((u >> 16) & 1u)) & 0xffff0000u);
}

/// Whether GELU's backward ops on these lanes can make no NaN: every input
/// `v` and cotangent `g` below 2^60 in magnitude. Then, with the tables'
/// e in [0, 2] and ex in [0, 1], every intermediate is finite (below 2^123),
/// so `round_finite_v` rounds each one exactly as `round_v` does.
static inline int moderate_v(vf v, vf g) {
    const uint32_t limit = 0x5d800000u;  // 2^60's bits
    return !any_v((((vu)v & 0x7fffffffu) >= limit) | (((vu)g & 0x7fffffffu) >= limit));
}

static inline float round_s(float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    uint32_t rounded = (u + 0x7fffu + ((u >> 16) & 1u)) & 0xffff0000u;
    uint32_t quiet = (u | 0x00400000u) & 0xffff0000u;
    uint32_t r = (u & 0x7fffffffu) > 0x7f800000u ? quiet : rounded;
    float out;
    memcpy(&out, &r, 4);
    return out;
}

void cnx_bf16_gelu_rows(const float *x, long ldx, uint16_t *y, uint16_t *pre, long ldh, long rows, long cols,
                        const float *tableY) {
    for (long r = 0; r < rows; r++) {
        const float *row = x + r * ldx;
        uint16_t *out = y + r * ldh, *p = pre ? pre + r * ldh : NULL;
        long j = 0;
        for (; j + W <= cols; j += W) {
            vu u;
            memcpy(&u, row + j, sizeof u);
            vu index = u >> 16;
            if (p) {
                vh h = __builtin_convertvector(index, vh);
                memcpy(p + j, &h, sizeof h);
            }
            // Lane by lane: on Zen 4 these scalar loads beat a gather (Conv_1 with
            // GELU at 56x56: 2.4 ms over the GEMM against 5.8), unlike the backward
            // pass's, where both took the same time.
            vh g;
            for (int l = 0; l < W; l++) {
                uint32_t v;
                memcpy(&v, tableY + index[l], 4);
                g[l] = (uint16_t)(v >> 16);
            }
            memcpy(out + j, &g, sizeof g);
        }
        for (; j < cols; j++) {
            uint32_t u, v;
            memcpy(&u, row + j, 4);
            if (p) p[j] = (uint16_t)(u >> 16);
            memcpy(&v, tableY + (u >> 16), 4);
            out[j] = (uint16_t)(v >> 16);
        }
    }
}

/// GELU's output (`*y`) and gradient (`*dx`) on W lanes: `v` GELU's bf16
/// input (`index` its bits), `g` the bf16 cotangent of its output; with
/// `moderate` (see `moderate_v`) the roundings skip the NaN case. Inlined, so
/// each caller gets both versions with the flag folded away.
static inline __attribute__((always_inline)) void
gelu_backward_v(vf v, vu index, vf g, const uint32_t *tableEEx, int moderate, vf *y, vf *dx) {
#define R(f) (moderate ? round_finite_v(f) : round_v(f))
    const float s = 0.70703125f;  // bf16(sqrt(0.5))
    const float c = -1.125f;      // bf16(-2/sqrt(pi))
    // One gather: e in the entry's low half, ex in its high half.
    vu both = gather_u(tableEEx, index);
    vf e = (vf)(both << 16), ex = (vf)(both & 0xffff0000u);
    vf half = R(0.5f * v);
    *y = R(half * e);  // GELU's output, y = r(half e)
    vf dE = R(half * g);
    vf t = R(dE * c);
    vf dM = R(t * ex);
    vf dA1 = -R(dM * s);
    vf dH = R(g * e);
    vf dA2 = R(dH * 0.5f);
    *dx = R(dA1 + dA2);
#undef R
}

/// `gelu_backward_v` on one value (`u` its bits).
static inline void gelu_backward_s(float v, uint32_t u, float g, const uint32_t *tableEEx, float *y, float *dx) {
    const float s = 0.70703125f, c = -1.125f;
    uint32_t both = tableEEx[u >> 16], eBits = both << 16, exBits = both & 0xffff0000u;
    float e, ex;
    memcpy(&e, &eBits, 4);
    memcpy(&ex, &exBits, 4);
    float half = round_s(0.5f * v);
    float dA1 = -round_s(round_s(round_s(round_s(half * g) * c) * ex) * s);
    float dA2 = round_s(round_s(g * e) * 0.5f);
    *y = round_s(half * e);
    *dx = round_s(dA1 + dA2);
}

static inline vf widen_v(const uint16_t *p) {
    vh h;
    memcpy(&h, p, sizeof h);
    return (vf)(__builtin_convertvector(h, vu) << 16);
}

static inline void narrow_v(uint16_t *p, vf v) {
    vh h = __builtin_convertvector((vu)v >> 16, vh);
    memcpy(p, &h, sizeof h);
}

static inline float widen_s(uint16_t h) {
    uint32_t u = (uint32_t)h << 16;
    float f;
    memcpy(&f, &u, 4);
    return f;
}

static inline uint16_t narrow_s(float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    return (uint16_t)(u >> 16);
}

/// GELU's output and gradient for `n` elements, GELU's input given as floats
/// (`x32`) or as bf16 bits (`x16`), one of them; `dx` may be `dy`.
static void gelu_backward_span(const float *dy, const uint16_t *dy16, const float *x32, const uint16_t *x16,
                               float *y, float *dx, uint16_t *y16, uint16_t *dx16, long n, const uint32_t *tableEEx) {
    long i = 0;
    for (; i + W <= n; i += W) {
        vf v, g, out, grad;
        vu index;
        if (x16) {
            v = widen_v(x16 + i);
            index = (vu)v >> 16;
        } else {
            memcpy(&v, x32 + i, sizeof v);
            index = (vu)v >> 16;
        }
        if (dy16) {
            g = widen_v(dy16 + i);
        } else {
            memcpy(&g, dy + i, sizeof g);
        }
        if (moderate_v(v, g))
            gelu_backward_v(v, index, g, tableEEx, 1, &out, &grad);
        else
            gelu_backward_v(v, index, g, tableEEx, 0, &out, &grad);
        if (y16) {
            narrow_v(y16 + i, out);
            narrow_v(dx16 + i, grad);
        } else {
            memcpy(y + i, &out, sizeof out);
            memcpy(dx + i, &grad, sizeof grad);
        }
    }
    for (; i < n; i++) {  // the same operations, one lane
        float v = x16 ? widen_s(x16[i]) : x32[i], g = dy16 ? widen_s(dy16[i]) : dy[i], out, grad;
        uint32_t u;
        memcpy(&u, &v, 4);
        gelu_backward_s(v, u, g, tableEEx, &out, &grad);
        if (y16) {
            y16[i] = narrow_s(out);
            dx16[i] = narrow_s(grad);
        } else {
            y[i] = out;
            dx[i] = grad;
        }
    }
}

void cnx_bf16_gelu_backward(const float *dy, const float *x, float *y, float *dx, long n, const uint32_t *tableEEx) {
    gelu_backward_span(dy, NULL, x, NULL, y, dx, NULL, NULL, n, tableEEx);
}

void cnx_bf16_gelu_backward_halves(const uint16_t *dy, const uint16_t *x, uint16_t *y, uint16_t *dx, long n,
                                   const uint32_t *tableEEx) {
    gelu_backward_span(NULL, dy, NULL, x, NULL, NULL, y, dx, n, tableEEx);
}

void cnx_bf16_gelu_backward_columns(const uint16_t *dy, const uint16_t *x, uint16_t *y, uint16_t *dx,
                                    long rows, long ld, long col0, long cols, const uint32_t *tableEEx, float *sums) {
    long vectorCols = cols / W * W;
    for (long r = 0; r < rows; r++) {
        long at = r * ld + col0;
        for (long j = 0; j < vectorCols; j += W) {
            vf v = widen_v(x + at + j), g = widen_v(dy + at + j), out, grad, sum;
            if (moderate_v(v, g))
                gelu_backward_v(v, (vu)v >> 16, g, tableEEx, 1, &out, &grad);
            else
                gelu_backward_v(v, (vu)v >> 16, g, tableEEx, 0, &out, &grad);
            // The column's running bf16 sum, a row at a time (bf16ColumnSums' order).
            memcpy(&sum, sums + j, sizeof sum);
            sum = round_v(sum + grad);
            memcpy(sums + j, &sum, sizeof sum);
            narrow_v(y + at + j, out);
            narrow_v(dx + at + j, grad);
        }
        for (long j = vectorCols; j < cols; j++) {
            float v = widen_s(x[at + j]), out, grad;
            gelu_backward_s(v, (uint32_t)x[at + j] << 16, widen_s(dy[at + j]), tableEEx, &out, &grad);
            y[at + j] = narrow_s(out);
            dx[at + j] = narrow_s(grad);
            sums[j] = round_s(sums[j] + grad);
        }
    }
}
