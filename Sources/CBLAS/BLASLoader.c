// OpenBLAS with the same kernels on every CPU.
//
// Debian's OpenBLAS picks its GEMM kernels when it loads, by the CPU it finds
// (DYNAMIC_ARCH): Haswell kernels on an AVX2 machine, SkylakeX or Cooperlake
// ones on an AVX-512 machine. Different kernels sum in different orders, so
// the same session printed different losses on two machines (seen: the
// README's session, mean loss 1.9523445 with Haswell kernels and 1.9359134
// with the AVX-512 ones, on one AVX-512 CPU). The kernel family is read from
// OPENBLAS_CORETYPE by the library's constructor, before `main` of a program
// linked to it; so cnx does not link OpenBLAS but loads it here, after
// setting OPENBLAS_CORETYPE=Haswell: the kernels of x86-64-v3, the least CPU
// cnx runs on (AVX2 + FMA), on every machine. On this project's Zen 4 the
// speed difference was within the machine's run-to-run noise
// (docs/performance.md, "Not done").
#include "CBLAS.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

enum { ROW_MAJOR = 101, NO_TRANS = 111, TRANS = 112 };

typedef void (*sgemm_fn)(int, int, int, int, int, int, float, const float *, int,
                         const float *, int, float, float *, int);
typedef void (*set_threads_fn)(int);
typedef int (*get_threads_fn)(void);
typedef char *(*corename_fn)(void);

static sgemm_fn sgemm;
static set_threads_fn set_threads;
static get_threads_fn get_threads;
static corename_fn corename;
static const char *load_error;
static char message[512];
static pthread_once_t once = PTHREAD_ONCE_INIT;

static void load(void) {
    setenv("OPENBLAS_CORETYPE", "Haswell", 1);
    void *lib = dlopen("libopenblas.so.0", RTLD_NOW | RTLD_LOCAL);
    if (!lib) {
        snprintf(message, sizeof message,
                 "cannot load OpenBLAS (%s): install it with scripts/bootstrap (Debian: libopenblas-dev)", dlerror());
        load_error = message;
        return;
    }
    sgemm = (sgemm_fn)dlsym(lib, "cblas_sgemm");
    set_threads = (set_threads_fn)dlsym(lib, "openblas_set_num_threads");
    get_threads = (get_threads_fn)dlsym(lib, "openblas_get_num_threads");
    corename = (corename_fn)dlsym(lib, "openblas_get_corename");
    if (!sgemm || !set_threads || !get_threads || !corename) {
        load_error = "the OpenBLAS found lacks cblas_sgemm or openblas_* functions: install Debian's libopenblas-dev";
        return;
    }
    // Loaded earlier by something else, it kept the kernels it chose then.
    const char *core = corename();
    if (!core || strcasecmp(core, "haswell") != 0) {
        snprintf(message, sizeof message,
                 "OpenBLAS runs '%s' kernels, not Haswell's: it was loaded before cnx could choose them, "
                 "so results would differ from other machines; run cnx in a process that does not load OpenBLAS itself",
                 core ? core : "unknown");
        load_error = message;
    }
}

const char *cnx_blas_load(void) {
    pthread_once(&once, load);
    return load_error;
}

void cnx_sgemm(int transA, int transB, int m, int n, int k, float alpha,
               const float *a, int lda, const float *b, int ldb,
               float beta, float *c, int ldc) {
    sgemm(ROW_MAJOR, transA ? TRANS : NO_TRANS, transB ? TRANS : NO_TRANS,
          m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

void cnx_blas_set_threads(int count) { set_threads(count); }
int cnx_blas_threads(void) { return get_threads(); }
const char *cnx_blas_corename(void) { return corename(); }
