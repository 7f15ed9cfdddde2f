// The bf16 tensor-core products of CudaBackend's BF16 mode (included by hydra.cu inside its extern "C"
// block): operands are rounded to bf16 as they enter mma.sync.m16n8k16 and accumulate in fp32; the
// buffers, and everything outside these products (scan state, decay exponents, softplus, norms), stay
// fp32. The scan kernels' products read the 16 k of one mma from fp32 shared memory in the order
// k = t, t+4, t+8, t+12 (t = lane % 4) for both operands: a sum over k does not depend on the order, and
// these are the bank-conflict-free 32-bit reads of the TF32 kernels. The projection rounds its
// operands to bf16 in a pass of their own instead.

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

// y = x W^T + b in bf16, in two passes. to_bf16_kernel rounds an operand (x's rows read in place, or W)
// to bf16 once, into rows of Kp = K rounded up to 32 with zeros beyond K. linear_bf16_kernel multiplies
// the rounded operands: a 128x128 tile per block of 8 warps (2 x 4, 64x32 each), K in steps of 32
// through a ring of BSTAGES shared-memory stages filled by cp.async BSTAGES-1 steps ahead, fragments
// read with ldmatrix.x4 (the 16 k of one mma in their natural order). bf16 tiles bring half the bytes
// of fp32 ones from L2 (docs/gpu.md: what bounded the one-pass kernels).
#define BSTAGES 4
#define BPAD 40  // row pitch in bf16 (80 bytes): the 8 rows of one ldmatrix matrix hit distinct banks
#define BSTAGE_HALVES ((TBM + TBN) * BPAD)

// one thread per 4 k of a row: dst row r = bf16(src[r * stride + col + k]) for k < K, 0 up to Kp
__global__ void to_bf16_kernel(const float* __restrict__ src, int stride, int col, int rows, int K, int Kp, uint2* __restrict__ dst) {
    const long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x, quads = Kp / 4;
    if (i >= rows * quads) return;
    const int r = (int)(i / quads), k = (int)(i % quads) * 4;
    float4 v = k < K ? *(const float4*)(src + (size_t)r * stride + col + k) : make_float4(0.f, 0.f, 0.f, 0.f);
    dst[i] = make_uint2(bf16x2(v.x, v.y), bf16x2(v.z, v.w));
}

// the four 8x8 bf16 matrices whose rows lanes 8i..8i+7 address, matrix i into f[i]
__device__ __forceinline__ void ldmatrix_x4(uint32_t& f0, uint32_t& f1, uint32_t& f2, uint32_t& f3, const uint16_t* row) {
    unsigned s = (unsigned)__cvta_generic_to_shared(row);
    asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0,%1,%2,%3}, [%4];\n" : "=r"(f0), "=r"(f1), "=r"(f2), "=r"(f3) : "r"(s) : "memory");
}

// xh: M rows, wh: N rows, both of Kp bf16 (to_bf16_kernel's)
__global__ void __launch_bounds__(256, 2) linear_bf16_kernel(const uint16_t* __restrict__ xh, const uint16_t* __restrict__ wh, int M, int Kp,
                                                             const float* __restrict__ bias, int N, float* __restrict__ y) {
    extern __shared__ float4 smem4[];
    uint16_t* sm = (uint16_t*)smem4;
    const int tid = threadIdx.x, warp = tid >> 5, lane = tid & 31, g = lane >> 2, t = lane & 3;
    const int m0 = blockIdx.y * TBM, n0 = blockIdx.x * TBN, wm = (warp >> 2) * 64, wn = (warp & 3) * 32;
    const int lrow = tid >> 2, lk = (tid & 3) * 8, nk = Kp / TBK;
    // ldmatrix rows of this lane: A matrices (rows 0-7, 8-15) x (k 0-7, 8-15) -> a fragment's 4 registers;
    // B matrices (k 0-7, 8-15) x (columns 0-7, 8-15) -> the two registers of two column groups of 8
    const int aRow = (wm + (lane & 15)) * BPAD + (lane >> 4) * 8;
    const int bRow = (wn + (lane >> 4) * 8 + (lane & 7)) * BPAD + ((lane >> 3) & 1) * 8;
    float acc[4][4][4];
#pragma unroll
    for (int i = 0; i < 4; i++)
#pragma unroll
        for (int j = 0; j < 4; j++)
#pragma unroll
            for (int e = 0; e < 4; e++) acc[i][j][e] = 0.f;

    auto load = [&](int kt) {
        if (kt < nk) {
            uint16_t* As = sm + (kt % BSTAGES) * BSTAGE_HALVES;
            uint16_t* Bs = As + TBM * BPAD;
            int k = kt * TBK + lk;
#pragma unroll
            for (int i = 0; i < 2; i++) {
                int r = lrow + 64 * i, m = m0 + r, n = n0 + r;
                cp_async16((float*)(As + r * BPAD + lk), (const float*)(m < M ? xh + (size_t)m * Kp + k : xh), m < M ? 16 : 0);
                cp_async16((float*)(Bs + r * BPAD + lk), (const float*)(n < N ? wh + (size_t)n * Kp + k : wh), n < N ? 16 : 0);
            }
        }
        asm volatile("cp.async.commit_group;\n" ::);
    };
#pragma unroll
    for (int st = 0; st < BSTAGES - 1; st++) load(st);
    for (int kt = 0; kt < nk; kt++) {
        asm volatile("cp.async.wait_group %0;\n" ::"n"(BSTAGES - 2));
        __syncthreads();
        load(kt + BSTAGES - 1);
        const uint16_t* As = sm + (kt % BSTAGES) * BSTAGE_HALVES;
        const uint16_t* Bs = As + TBM * BPAD;
#pragma unroll
        for (int kk = 0; kk < TBK; kk += 16) {
            uint32_t bf[4][2];
#pragma unroll
            for (int np = 0; np < 2; np++) ldmatrix_x4(bf[2 * np][0], bf[2 * np][1], bf[2 * np + 1][0], bf[2 * np + 1][1], Bs + bRow + np * 16 * BPAD + kk);
#pragma unroll
            for (int mt = 0; mt < 4; mt++) {
                uint32_t af[4];
                ldmatrix_x4(af[0], af[1], af[2], af[3], As + aRow + mt * 16 * BPAD + kk);
#pragma unroll
                for (int nt = 0; nt < 4; nt++) mma_bf16(acc[mt][nt], af, bf[nt]);
            }
        }
    }
    asm volatile("cp.async.wait_group 0;\n" ::);
    // the pairs of columns 2t, 2t + 1 as one float2 where N is even (every row then starts 8-byte aligned)
#pragma unroll
    for (int mt = 0; mt < 4; mt++)
#pragma unroll
        for (int nt = 0; nt < 4; nt++)
#pragma unroll
            for (int h = 0; h < 2; h++) {
                int m = m0 + wm + mt * 16 + g + 8 * h, n = n0 + wn + nt * 8 + 2 * t;
                if (m >= M || n >= N) continue;
                float v0 = acc[mt][nt][2 * h], v1 = acc[mt][nt][2 * h + 1];
                float* o = y + (size_t)m * N + n;
                if (bias) {
                    v0 += bias[n];
                    if (n + 1 < N) v1 += bias[n + 1];
                }
                if ((N & 1) == 0) *(float2*)o = make_float2(v0, v1);
                else {
                    o[0] = v0;
                    if (n + 1 < N) o[1] = v1;
                }
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
