// The bf16 tensor-core products of CudaBackend's BF16 mode (included by hydra.cu inside its extern "C"
// block): operands are rounded to bf16 as they enter mma.sync.m16n8k16 and accumulate in fp32; the
// buffers, and everything outside these products (scan state, decay exponents, softplus, norms), stay
// fp32. The 16 k of one mma are read from shared memory in the order k = t, t+4, t+8, t+12 (t = lane % 4)
// for both operands: a sum over k does not depend on the order, and these are the bank-conflict-free
// 32-bit reads of the TF32 kernels.

// lo in the low half (the lower k), hi in the high half, round to nearest even
__device__ __forceinline__ uint32_t bf16x2(float lo, float hi) {
    uint32_t r;
    asm("cvt.rn.bf16x2.f32 %0, %1, %2;" : "=r"(r) : "f"(hi), "f"(lo));
    return r;
}

__device__ __forceinline__ void mma_bf16(float* c, const uint32_t* a, const uint32_t* b) {
    asm volatile("mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};\n"
                 : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
                 : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
}

// A fragment: rows r and r + 8 of a row-major tile at a (row r's element k at a[k]), pitch lda
__device__ __forceinline__ void a_frag_bf16(uint32_t (&f)[4], const float* a, int lda) {
    f[0] = bf16x2(a[0], a[4]);
    f[1] = bf16x2(a[8 * lda], a[8 * lda + 4]);
    f[2] = bf16x2(a[8], a[12]);
    f[3] = bf16x2(a[8 * lda + 8], a[8 * lda + 12]);
}

// y = x W^T + b as linear_tc_kernel (same tiles, cp.async ring and shared-memory layout), in bf16.
__global__ void __launch_bounds__(256, 2) linear_bf16_kernel(const float* __restrict__ x, int xStride, int xCol, int M, int K,
                                                             const float* __restrict__ w, const float* __restrict__ bias, int N,
                                                             float* __restrict__ y) {
    extern __shared__ float4 smem4[];
    float* sm = (float*)smem4;
    const int tid = threadIdx.x, warp = tid >> 5, lane = tid & 31, g = lane >> 2, t = lane & 3;
    const int m0 = blockIdx.y * TBM, n0 = blockIdx.x * TBN, wm = (warp >> 2) * 64, wn = (warp & 3) * 32;
    const int lrow = tid >> 3, lk = (tid & 7) * 4, nk = (K + TBK - 1) / TBK;
    float acc[4][4][4];
#pragma unroll
    for (int i = 0; i < 4; i++)
#pragma unroll
        for (int j = 0; j < 4; j++)
#pragma unroll
            for (int e = 0; e < 4; e++) acc[i][j][e] = 0.f;

    auto load = [&](int kt) {
        if (kt < nk) {
            float* As = sm + (kt % TSTAGES) * TSTAGE_FLOATS;
            float* Bs = As + TBM * TPAD;
            int k = kt * TBK + lk;
#pragma unroll
            for (int i = 0; i < 4; i++) {
                int r = lrow + 32 * i, m = m0 + r, n = n0 + r;
                bool am = m < M && k < K, bn = n < N && k < K;
                cp_async16(As + r * TPAD + lk, am ? x + (size_t)m * xStride + xCol + k : x, am ? 16 : 0);
                cp_async16(Bs + r * TPAD + lk, bn ? w + (size_t)n * K + k : w, bn ? 16 : 0);
            }
        }
        asm volatile("cp.async.commit_group;\n" ::);
    };
#pragma unroll
    for (int st = 0; st < TSTAGES - 1; st++) load(st);
    for (int kt = 0; kt < nk; kt++) {
        asm volatile("cp.async.wait_group %0;\n" ::"n"(TSTAGES - 2));
        __syncthreads();
        load(kt + TSTAGES - 1);
        const float* As = sm + (kt % TSTAGES) * TSTAGE_FLOATS;
        const float* Bs = As + TBM * TPAD;
#pragma unroll
        for (int kk = 0; kk < TBK; kk += 16) {
            uint32_t bf[4][2];
#pragma unroll
            for (int nt = 0; nt < 4; nt++) {
                const float* b = Bs + (wn + nt * 8 + g) * TPAD + kk + t;
                bf[nt][0] = bf16x2(b[0], b[4]);
                bf[nt][1] = bf16x2(b[8], b[12]);
            }
#pragma unroll
            for (int mt = 0; mt < 4; mt++) {
                uint32_t af[4];
                a_frag_bf16(af, As + (wm + mt * 16 + g) * TPAD + kk + t, TPAD);
#pragma unroll
                for (int nt = 0; nt < 4; nt++) mma_bf16(acc[mt][nt], af, bf[nt]);
            }
        }
    }
    asm volatile("cp.async.wait_group 0;\n" ::);
#pragma unroll
    for (int mt = 0; mt < 4; mt++)
#pragma unroll
        for (int nt = 0; nt < 4; nt++)
#pragma unroll
            for (int e = 0; e < 4; e++) {
                int m = m0 + wm + mt * 16 + g + (e >> 1) * 8, n = n0 + wn + nt * 8 + 2 * t + (e & 1);
                if (m < M && n < N) y[(size_t)m * N + n] = bias ? acc[mt][nt][e] + bias[n] : acc[mt][nt][e];
            }
}

// warp_mma of the chunk-output kernel in bf16: acc += A (rows wr.., row-major, pitch lda) * B (k x
// columns wc..), B stored [column][k] when bNK, else [k][column]; K a multiple of 16.
__device__ __forceinline__ void warp_mma_bf16(float (&acc)[2][2][4], const float* A, int lda, const float* B, int ldb, bool bNK, int wr,
                                              int wc, int K) {
    const int lane = threadIdx.x & 31, g = lane >> 2, t = lane & 3;
#pragma unroll 2
    for (int kk = 0; kk < K; kk += 16) {
        uint32_t bf[2][2];
#pragma unroll
        for (int nt = 0; nt < 2; nt++) {
            int c = wc + nt * 8 + g;
            const float* b = bNK ? B + c * ldb + kk + t : B + (kk + t) * ldb + c;
            int step = bNK ? 1 : ldb;
            bf[nt][0] = bf16x2(b[0], b[4 * step]);
            bf[nt][1] = bf16x2(b[8 * step], b[12 * step]);
        }
#pragma unroll
        for (int mt = 0; mt < 2; mt++) {
            uint32_t af[4];
            a_frag_bf16(af, A + (wr + mt * 16 + g) * lda + kk + t, lda);
#pragma unroll
            for (int nt = 0; nt < 2; nt++) mma_bf16(acc[mt][nt], af, bf[nt]);
        }
    }
}
