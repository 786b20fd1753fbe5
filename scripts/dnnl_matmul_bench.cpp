// Times oneDNN's matmul (fp32, and bf16 inputs with fp32 output) on
// ConvNeXt-Tiny's batch-16 forward Dense shapes: the measurement behind
// docs/performance.md's notes on bf16 (issue 11). Optional; not built by the
// package or the tests.
//
//   apt-get install libdnnl-dev
//   g++ -O2 -o /tmp/dnnl_matmul_bench scripts/dnnl_matmul_bench.cpp -ldnnl
//   OMP_NUM_THREADS=2 /tmp/dnnl_matmul_bench
#include <oneapi/dnnl/dnnl.hpp>
#include <chrono>
#include <cstdio>
#include <vector>
using namespace dnnl;
static double now() { return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count(); }
int main() {
    engine eng(engine::kind::cpu, 0);
    stream s(eng);
    struct Shape { const char* name; long m, n, k; };
    Shape shapes[] = {{"s1 Conv_1 fwd", 50176, 384, 96}, {"s1 Conv_2 fwd", 50176, 96, 384},
                      {"s2 Conv_1 fwd", 12544, 768, 192}, {"s3 Conv_1 fwd", 3136, 1536, 384},
                      {"s3 Conv_2 fwd", 3136, 384, 1536}, {"s4 Conv_1 fwd", 784, 3072, 768}};
    for (auto& sh : shapes) {
        for (int bf = 0; bf < 2; bf++) {
            auto dt = bf ? memory::data_type::bf16 : memory::data_type::f32;
            memory::desc a({sh.m, sh.k}, dt, memory::format_tag::ab);
            memory::desc b({sh.k, sh.n}, dt, memory::format_tag::ab);
            memory::desc c({sh.m, sh.n}, memory::data_type::f32, memory::format_tag::ab);
            matmul::primitive_desc pd(matmul::desc(a, b, c), eng);
            memory am(a, eng), bm(b, eng), cm(c, eng);
            // fill with something
            if (!bf) { float* p = (float*)am.get_data_handle(); for (long i = 0; i < sh.m * sh.k; i++) p[i] = (i % 7) * 0.1f;
                        float* q = (float*)bm.get_data_handle(); for (long i = 0; i < sh.k * sh.n; i++) q[i] = (i % 5) * 0.1f; }
            else { uint16_t* p = (uint16_t*)am.get_data_handle(); for (long i = 0; i < sh.m * sh.k; i++) p[i] = 0x3f80;
                   uint16_t* q = (uint16_t*)bm.get_data_handle(); for (long i = 0; i < sh.k * sh.n; i++) q[i] = 0x3f00; }
            matmul mm(pd);
            mm.execute(s, {{DNNL_ARG_SRC, am}, {DNNL_ARG_WEIGHTS, bm}, {DNNL_ARG_DST, cm}}); s.wait();
            double best = 1e9;
            for (int r = 0; r < 5; r++) {
                double t0 = now();
                mm.execute(s, {{DNNL_ARG_SRC, am}, {DNNL_ARG_WEIGHTS, bm}, {DNNL_ARG_DST, cm}}); s.wait();
                best = std::min(best, now() - t0);
            }
            double gf = 2.0 * sh.m * sh.n * sh.k / best / 1e9;
            printf("%-16s %s %8.3f ms %7.1f GFLOP/s  impl %s\n", sh.name, bf ? "bf16" : "f32 ", best * 1e3, gf, pd.impl_info_str());
        }
    }
}
