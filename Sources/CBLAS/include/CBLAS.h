// OpenBLAS, loaded at run time with its kernels fixed (BLASLoader.c).
#ifndef CNX_CBLAS_H
#define CNX_CBLAS_H

#ifdef __cplusplus
extern "C" {
#endif

/// Loads OpenBLAS once (later calls return the first answer): NULL when it
/// is ready, else one line saying what went wrong.
const char *cnx_blas_load(void);

/// Row-major `cblas_sgemm`: C = alpha * op(A) * op(B) + beta * C.
/// `cnx_blas_load` must have returned NULL.
void cnx_sgemm(int transA, int transB, int m, int n, int k, float alpha,
               const float *a, int lda, const float *b, int ldb,
               float beta, float *c, int ldc);

/// OpenBLAS's own thread count (`openblas_set_num_threads`).
void cnx_blas_set_threads(int count);
int cnx_blas_threads(void);

/// The kernel family OpenBLAS runs (`openblas_get_corename`), e.g. "Haswell".
const char *cnx_blas_corename(void);

#ifdef __cplusplus
}
#endif

#endif
