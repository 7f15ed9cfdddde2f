// Kernel-level timing of the bf16 projection: the kernel of commit b5e422f (old_bf16.cuh, extracted as README.md says) against the two passes of hydra_bf16.cuh.
#include "hydra.cu"
#include "old_bf16.cuh"
#include <cstdio>
#include <cstdlib>
#include <vector>
#include <cmath>
#define CK(x) do { cudaError_t e = (x); if (e != cudaSuccess) { printf("%s: %s\n", #x, cudaGetErrorString(e)); exit(1); } } while (0)

int main(int argc, char** argv) {
    int iters = argc > 1 ? atoi(argv[1]) : 20;
    int shapes[][3] = {{65536, 768, 3376}, {65536, 1536, 768}, {4096, 768, 3376}, {4096, 1536, 768}, {8192, 768, 3376}, {8192, 1536, 768}};
    CK(cudaFuncSetAttribute(old_linear_bf16_kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, 3 * 256 * 36 * 4));
    CK(cudaFuncSetAttribute(linear_bf16_kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, 4 * 256 * 40 * 2));
    for (auto& s : shapes) {
        int M = s[0], K = s[1], N = s[2];
        std::vector<float> hx((size_t)M * K), hw((size_t)N * K);
        srand(1);
        for (auto& v : hx) v = rand() / (float)RAND_MAX - 0.5f;
        for (auto& v : hw) v = rand() / (float)RAND_MAX - 0.5f;
        float *x, *w, *y0, *y1;
        CK(cudaMalloc(&x, hx.size() * 4)); CK(cudaMalloc(&w, hw.size() * 4));
        CK(cudaMalloc(&y0, (size_t)M * N * 4)); CK(cudaMalloc(&y1, (size_t)M * N * 4));
        CK(cudaMemcpy(x, hx.data(), hx.size() * 4, cudaMemcpyHostToDevice));
        CK(cudaMemcpy(w, hw.data(), hw.size() * 4, cudaMemcpyHostToDevice));
        dim3 grid((N + 127) / 128, (M + 127) / 128);
        cudaEvent_t a, b; cudaEventCreate(&a); cudaEventCreate(&b);
        uint16_t *wh, *xh;
        int Kp = (K + 31) / 32 * 32;
        CK(cudaMalloc(&wh, (size_t)N * Kp * 2));
        CK(cudaMalloc(&xh, (size_t)M * Kp * 2));
        const char* names[] = {"old", "new (2 passes)", "new product only"};
        float ms[3];
        for (int k = 0; k < 3; k++) {
            auto go = [&]() {
                if (k == 0) old_linear_bf16_kernel<<<grid, 256, 3 * 256 * 36 * 4>>>(x, K, 0, M, K, w, nullptr, N, y0);
                else {
                    if (k == 1) {
                        to_bf16_kernel<<<(unsigned)(((size_t)M * Kp / 4 + 255) / 256), 256>>>(x, K, 0, M, K, Kp, (uint2*)xh);
                        to_bf16_kernel<<<(unsigned)(((size_t)N * Kp / 4 + 255) / 256), 256>>>(w, K, 0, N, K, Kp, (uint2*)wh);
                    }
                    linear_bf16_kernel<<<grid, 256, 4 * 256 * 40 * 2>>>(xh, wh, M, Kp, nullptr, N, y1);
                }
            };
            for (int i = 0; i < 3; i++) go();
            CK(cudaDeviceSynchronize());
            cudaEventRecord(a);
            for (int i = 0; i < iters; i++) go();
            cudaEventRecord(b);
            CK(cudaEventSynchronize(b));
            cudaEventElapsedTime(&ms[k], a, b);
            ms[k] /= iters;
            CK(cudaGetLastError());
            double fl = 2.0 * M * K * N, num = 0, den = 0;
            if (k > 0) {
                std::vector<float> r0((size_t)M * N), r1((size_t)M * N);
                CK(cudaMemcpy(r0.data(), y0, r0.size() * 4, cudaMemcpyDeviceToHost));
                CK(cudaMemcpy(r1.data(), y1, r1.size() * 4, cudaMemcpyDeviceToHost));
                for (size_t i = 0; i < r0.size(); i++) { num = fmax(num, fabs(r0[i] - r1[i])); den = fmax(den, fabs(r0[i])); }
            }
            printf("M %d K %d N %d %-16s %.3f ms %4.0f TFLOP/s  %.2fx of old  max|d|/max|old| %.1e\n", M, K, N, names[k], ms[k], fl / ms[k] / 1e9,
                   ms[0] / ms[k], den > 0 ? num / den : 0.0);
        }
        cudaFree(x); cudaFree(w); cudaFree(wh); cudaFree(xh); cudaFree(y0); cudaFree(y1);
    }
    return 0;
}
