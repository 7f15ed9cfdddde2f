// The Hydra layer's fp32 kernels (docs/spec.md §1.3 steps 1-8) for dev.hydra.gpu.CudaBackend. Each kernel
// computes what the same-named method of dev.hydra.kernels.ScalarBackend computes; matrices are
// row-major and operands are read in place (row stride + first column), as in Backend.java.
// The products run in plain FFMA or on the tensor cores (3xTF32, TF32, bf16), as CudaBackend.Matmul says.

#include <stdint.h>

extern "C" {

// silu with the fast exp and division (about 2 ulp; exact limits: 0 for large negative v, v for large positive)
__device__ __forceinline__ float silu(float v) { return __fdividef(v, 1.0f + __expf(-v)); }

// V consecutive floats at p (V = 4: one 16-byte access, p 16-byte aligned) to d, and back.
extern "C++" template <int V>
__device__ __forceinline__ void load_v(float* d, const float* p) {
    if (V == 4) {
        float4 q = *reinterpret_cast<const float4*>(p);
        d[0] = q.x, d[1] = q.y, d[2] = q.z, d[3] = q.w;
    } else d[0] = *p;
}

extern "C++" template <int V>
__device__ __forceinline__ void store_v(float* p, const float* s) {
    if (V == 4) *reinterpret_cast<float4*>(p) = make_float4(s[0], s[1], s[2], s[3]);
    else *p = s[0];
}


// ---------------------------------------------------------------------------------------------
// Step 1, 6 (fc_D) and 8: y (rows, out) = x W^T + b. C[M][N] = A[M][K] * W[N][K]^T: a 128x128 tile
// per block of 256 threads, 8x8 outputs per thread, K in steps of 8 through shared memory (two
// stages, so that the next tile's loads overlap this tile's arithmetic).
// ---------------------------------------------------------------------------------------------
#define GBM 128
#define GBN 128
#define GBK 8

__global__ void __launch_bounds__(256) linear_kernel(const float* __restrict__ x, int xStride, int xCol, int M, int K,
                                                     const float* __restrict__ w, const float* __restrict__ bias, int N,
                                                     float* __restrict__ y) {
    __shared__ float As[2][GBK][GBM + 4];
    __shared__ float Ws[2][GBK][GBN + 4];
    const int tid = threadIdx.x;
    const int m0 = blockIdx.y * GBM, n0 = blockIdx.x * GBN;
    // loader: each thread brings 4 consecutive k of one row of A and of W
    const int lr = tid >> 1, lk = (tid & 1) * 4;
    const float* arow = x + (size_t)(m0 + lr) * xStride + xCol;
    const float* wrow = w + (size_t)(n0 + lr) * K;
    const bool aok = m0 + lr < M, wok = n0 + lr < N;
    const int tm = (tid >> 4) * 4, tn = (tid & 15) * 4;  // this thread's rows tm..+3, tm+64..+3 (same for n)
    float acc[8][8];
#pragma unroll
    for (int i = 0; i < 8; i++)
#pragma unroll
        for (int j = 0; j < 8; j++) acc[i][j] = 0.f;

    float ra[4], rw[4];
    auto load = [&](int k0) {
#pragma unroll
        for (int i = 0; i < 4; i++) {
            int k = k0 + lk + i;
            ra[i] = (aok && k < K) ? arow[k] : 0.f;
            rw[i] = (wok && k < K) ? wrow[k] : 0.f;
        }
    };
    auto store = [&](int s) {
#pragma unroll
        for (int i = 0; i < 4; i++) {
            As[s][lk + i][lr] = ra[i];
            Ws[s][lk + i][lr] = rw[i];
        }
    };
    load(0);
    store(0);
    __syncthreads();
    int s = 0;
    for (int k0 = 0; k0 < K; k0 += GBK) {
        bool more = k0 + GBK < K;
        if (more) load(k0 + GBK);
#pragma unroll
        for (int k = 0; k < GBK; k++) {
            float a[8], b[8];
            *(float4*)&a[0] = *(const float4*)&As[s][k][tm];
            *(float4*)&a[4] = *(const float4*)&As[s][k][tm + 64];
            *(float4*)&b[0] = *(const float4*)&Ws[s][k][tn];
            *(float4*)&b[4] = *(const float4*)&Ws[s][k][tn + 64];
#pragma unroll
            for (int i = 0; i < 8; i++)
#pragma unroll
                for (int j = 0; j < 8; j++) acc[i][j] = fmaf(a[i], b[j], acc[i][j]);
        }
        if (more) {
            store(s ^ 1);
            __syncthreads();
            s ^= 1;
        }
    }
#pragma unroll
    for (int i = 0; i < 8; i++) {
        int m = m0 + tm + (i & 3) + (i >> 2) * 64;
        if (m >= M) continue;
#pragma unroll
        for (int j = 0; j < 8; j++) {
            int n = n0 + tn + (j & 3) + (j >> 2) * 64;
            if (n < N) y[(size_t)m * N + n] = bias ? acc[i][j] + bias[n] : acc[i][j];
        }
    }
}

// The same product on the tensor cores: mma.sync m16n8k8 with TF32 operands and fp32 accumulation.
// split = 1 runs "3xTF32": each operand is split into a TF32 high part and a TF32 remainder and
// a*b ~ ah*bh + ah*bl + al*bh, which keeps fp32 accuracy; split = 0 runs plain TF32 (10-bit
// mantissas, relative error ~1e-3). A 128x128 tile per block of 8 warps (2 x 4, 64x32 each); K in
// steps of 32 through a ring of TSTAGES shared-memory stages filled by cp.async, so that loads run
// TSTAGES-1 steps ahead of the arithmetic. Needs xStride, xCol and K multiples of 4 (16-byte rows).
#define TBM 128
#define TBN 128
#define TBK 32
#define TPAD 36  // row pitch in floats: fragment reads (row g, column t) hit 32 distinct banks
#define TSTAGES 3
#define TSTAGE_FLOATS ((TBM + TBN) * TPAD)

__device__ __forceinline__ uint32_t tf32(float v) {
    uint32_t r;
    asm("cvt.rna.tf32.f32 %0, %1;" : "=r"(r) : "f"(v));
    return r;
}

__device__ __forceinline__ void mma_tf32(float* c, const uint32_t* a, const uint32_t* b) {
    asm volatile("mma.sync.aligned.m16n8k8.row.col.f32.tf32.tf32.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};\n"
                 : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
                 : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
}

// 16 bytes global -> shared without passing through registers; bytes = 0 writes zeros
__device__ __forceinline__ void cp_async16(float* smem, const float* gmem, int bytes) {
    unsigned s = (unsigned)__cvta_generic_to_shared(smem);
    asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(s), "l"(gmem), "r"(bytes));
}

__global__ void __launch_bounds__(256, 2) linear_tc_kernel(const float* __restrict__ x, int xStride, int xCol, int M, int K,
                                                           const float* __restrict__ w, const float* __restrict__ bias, int N,
                                                           float* __restrict__ y, int split) {
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
        for (int kk = 0; kk < TBK; kk += 8) {
            uint32_t bh[4][2], bl[4][2];
#pragma unroll
            for (int nt = 0; nt < 4; nt++) {
                const float* b = Bs + (wn + nt * 8 + g) * TPAD + kk + t;
                float v[2] = {b[0], b[4]};
#pragma unroll
                for (int e = 0; e < 2; e++) {
                    bh[nt][e] = tf32(v[e]);
                    bl[nt][e] = tf32(v[e] - __uint_as_float(bh[nt][e]));
                }
            }
#pragma unroll
            for (int mt = 0; mt < 4; mt++) {
                const float* a = As + (wm + mt * 16 + g) * TPAD + kk + t;
                float v[4] = {a[0], a[8 * TPAD], a[4], a[8 * TPAD + 4]};
                uint32_t ah[4], al[4];
#pragma unroll
                for (int e = 0; e < 4; e++) {
                    ah[e] = tf32(v[e]);
                    al[e] = tf32(v[e] - __uint_as_float(ah[e]));
                }
#pragma unroll
                for (int nt = 0; nt < 4; nt++) {
                    if (split) {
                        mma_tf32(acc[mt][nt], al, bh[nt]);
                        mma_tf32(acc[mt][nt], ah, bl[nt]);
                    }
                    mma_tf32(acc[mt][nt], ah, bh[nt]);
                }
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

#include "hydra_bf16.cuh"

// A product with few outputs (fc_D: out = heads <= 32). A block of 4 warps takes 128 rows: warp w computes
// outputs [8w, 8w+8) of rows lane, lane+32, lane+64, lane+96 (a warp past N skips the arithmetic). K in steps
// of 32 through shared memory: x's tile stored k-major with pitch 129 (the transposing stores and the column
// reads are conflict-free), W's as [k][out] (two broadcast float4 reads per k); the next step's tiles are
// loaded into registers while this one is multiplied. vec4: x's rows and columns and K are multiples of 4.
#define SK_ROWS 128
#define SK_K 32
__global__ void __launch_bounds__(128) linear_skinny_kernel(const float* __restrict__ x, int xStride, int xCol, int M, int K,
                                                            const float* __restrict__ w, const float* __restrict__ bias, int N,
                                                            float* __restrict__ y, int vec4) {
    __shared__ float Xs[SK_K][SK_ROWS + 1];
    __shared__ __align__(16) float Ws[SK_K][36];
    const int tid = threadIdx.x, lane = tid & 31, wq = tid >> 5, m0 = blockIdx.x * SK_ROWS;
    // this thread's loads: x rows tid/8 + 16i, columns (tid%8)*4 .. +3; W output tid/4, columns (tid%4)*8 .. +7
    const int xr0 = tid >> 3, xk = (tid & 7) * 4, wo = tid >> 2, wk = (tid & 3) * 8;
    float xn[8][4], wn[8];
    auto load = [&](int k0) {
#pragma unroll
        for (int i = 0; i < 8; i++) {
            int m = m0 + xr0 + 16 * i, k = k0 + xk;
            const float* p = x + (size_t)m * xStride + xCol + k;
            if (vec4) {
                if (m < M && k < K) load_v<4>(xn[i], p);
                else xn[i][0] = xn[i][1] = xn[i][2] = xn[i][3] = 0.f;
            } else
#pragma unroll
                for (int e = 0; e < 4; e++) xn[i][e] = m < M && k + e < K ? p[e] : 0.f;
        }
#pragma unroll
        for (int e = 0; e < 8; e++) {
            int k = k0 + wk + e;
            wn[e] = wo < N && k < K ? w[(size_t)wo * K + k] : 0.f;
        }
    };
    float acc[4][8];
#pragma unroll
    for (int i = 0; i < 4; i++)
#pragma unroll
        for (int j = 0; j < 8; j++) acc[i][j] = 0.f;
    load(0);
    for (int k0 = 0; k0 < K; k0 += SK_K) {
        __syncthreads();
#pragma unroll
        for (int i = 0; i < 8; i++)
#pragma unroll
            for (int e = 0; e < 4; e++) Xs[xk + e][xr0 + 16 * i] = xn[i][e];
#pragma unroll
        for (int e = 0; e < 8; e++) Ws[wk + e][wo] = wn[e];
        __syncthreads();
        if (k0 + SK_K < K) load(k0 + SK_K);
        if (wq * 8 < N) {
#pragma unroll 8
            for (int kk = 0; kk < SK_K; kk++) {
                float4 w0 = *(const float4*)&Ws[kk][wq * 8], w1 = *(const float4*)&Ws[kk][wq * 8 + 4];
                float wv[8] = {w0.x, w0.y, w0.z, w0.w, w1.x, w1.y, w1.z, w1.w};
#pragma unroll
                for (int i = 0; i < 4; i++) {
                    float xv = Xs[kk][lane + 32 * i];
#pragma unroll
                    for (int j = 0; j < 8; j++) acc[i][j] = fmaf(xv, wv[j], acc[i][j]);
                }
            }
        }
    }
#pragma unroll
    for (int i = 0; i < 4; i++) {
        int m = m0 + lane + 32 * i;
#pragma unroll
        for (int j = 0; j < 8; j++) {
            int o = wq * 8 + j;
            if (m < M && o < N) y[(size_t)m * N + o] = bias ? acc[i][j] + bias[o] : acc[i][j];
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Step 2: depthwise conv (zero padding k/2), then silu when `activate`; one thread per (CONV_T time
// steps, V channels), V = 4 (16-byte loads and stores) when the rows and columns allow it. Without the
// silu it is the matrix mixers' conv of their q and k channels.
// ---------------------------------------------------------------------------------------------
#define CONV_T 8   // time steps per thread
#define CONV_K 16  // kernels up to this width keep weights and input window in registers
// One thread's outputs with the weights and the input window in registers; KW >= k (the weights past k are
// zero), the smallest of 4, 8, 16 that holds k, so that a width-7 conv costs 8 FMAs an output. in, out, w and
// bias point at the thread's first channel.
extern "C++" template <int KW, int V>
__device__ __forceinline__ void conv_window(const float* __restrict__ in, int srcStride, int len, int t0, int k,
                                            const float* __restrict__ w, const float* __restrict__ bias, float* __restrict__ out,
                                            int channels, int activate) {
    float wr[V][KW], win[CONV_T + KW - 1][V];
    int pad = k / 2;
#pragma unroll
    for (int e = 0; e < V; e++)
#pragma unroll
        for (int j = 0; j < KW; j++) wr[e][j] = j < k ? w[e * k + j] : 0.f;
#pragma unroll
    for (int i = 0; i < CONV_T + KW - 1; i++) {
        int ts = t0 - pad + i;
        if (i < CONV_T + k - 1 && ts >= 0 && ts < len) load_v<V>(win[i], in + (size_t)ts * srcStride);
        else
#pragma unroll
            for (int e = 0; e < V; e++) win[i][e] = 0.f;
    }
#pragma unroll
    for (int u = 0; u < CONV_T; u++) {
        float s[V];
#pragma unroll
        for (int e = 0; e < V; e++) {
            s[e] = bias ? bias[e] : 0.f;
#pragma unroll
            for (int j = 0; j < KW; j++) s[e] = fmaf(wr[e][j], win[u + j][e], s[e]);
            if (activate) s[e] = silu(s[e]);
        }
        if (t0 + u < len) store_v<V>(out + (size_t)(t0 + u) * channels, s);
    }
}

__global__ void conv_silu_kernel(const float* __restrict__ src, int srcStride, int srcCol, int batch, int len, int channels,
                                 const float* __restrict__ w, const float* __restrict__ bias, int k, float* __restrict__ dst,
                                 int activate, int vec4) {  // vec4: set by the caller only for k <= 8
    int c = (blockIdx.y * blockDim.x + threadIdx.x) * (vec4 ? 4 : 1);
    int tBlocks = (len + CONV_T - 1) / CONV_T;
    int b = blockIdx.x / tBlocks, t0 = (blockIdx.x - b * tBlocks) * CONV_T, pad = k / 2;
    if (c >= channels) return;
    const float* in = src + (size_t)b * len * srcStride + srcCol + c;
    float* out = dst + (size_t)b * len * channels + c;
    const float* wc = w + (size_t)c * k;
    const float* bc = bias ? bias + c : nullptr;
    if (vec4 && k <= 4) conv_window<4, 4>(in, srcStride, len, t0, k, wc, bc, out, channels, activate);
    else if (vec4 && k <= 8) conv_window<8, 4>(in, srcStride, len, t0, k, wc, bc, out, channels, activate);
    else if (k <= 4) conv_window<4, 1>(in, srcStride, len, t0, k, wc, bc, out, channels, activate);
    else if (k <= 8) conv_window<8, 1>(in, srcStride, len, t0, k, wc, bc, out, channels, activate);
    else if (k <= CONV_K) conv_window<CONV_K, 1>(in, srcStride, len, t0, k, wc, bc, out, channels, activate);
    else {
        for (int t = t0; t < min(t0 + CONV_T, len); t++) {
            float s = bc ? bc[0] : 0.f;
            for (int j = 0; j < k; j++) {
                int ts = t + j - pad;
                if (ts >= 0 && ts < len) s += wc[j] * in[(size_t)ts * srcStride];
            }
            out[(size_t)t * channels] = activate ? silu(s) : s;
        }
    }
}

// Step 3: dt = clamp(softplus(src + dtBias), lo, hi).
__global__ void softplus_dt_kernel(const float* __restrict__ src, int srcStride, int srcCol, int rows, int heads,
                                   const float* __restrict__ dtBias, float lo, float hi, float* __restrict__ dst) {
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= rows * heads) return;
    int r = i / heads, h = i - r * heads;
    float v = src[(size_t)r * srcStride + srcCol + h] + dtBias[h];
    float sp = v > 20.f ? v : log1pf(expf(v));
    dst[i] = fminf(fmaxf(sp, lo), hi);
}

// ---------------------------------------------------------------------------------------------
// Steps 4-5, the chunked SSD of one direction. Step s of the direction is sequence position
// pos(s) = forward ? s : len-1-s; chunk c holds steps [c*Q, c*Q+q). Work buffers:
//   cum    (B, H, nc*Q): within-chunk cumulative sum of dt*A up to and including each step
//   states (B, nc, H, P, N): first each chunk's own state contribution, then (after state passing)
//          the state entering each chunk
// ---------------------------------------------------------------------------------------------
struct Scan {
    int batch, len, heads, headdim, groups, state, chunk, xbcStride, xCol, bCol, cCol, dtStride, dtCol, forward;
};

__device__ __forceinline__ size_t scanRow(const Scan& s, int b, int step) {
    return (size_t)b * s.len + (s.forward ? step : s.len - 1 - step);
}

// cum: one block per (chunk, head, batch); sequential sum in double, as ScalarBackend does.
__global__ void ssd_cumsum_kernel(Scan s, const float* __restrict__ dt, const float* __restrict__ a, float* __restrict__ cum) {
    extern __shared__ float v[];
    int c = blockIdx.x, h = blockIdx.y, b = blockIdx.z, Q = s.chunk, c0 = c * Q;
    int q = min(Q, s.len - c0), nc = gridDim.x;
    float ah = a[h];
    for (int i = threadIdx.x; i < q; i += blockDim.x) v[i] = dt[scanRow(s, b, c0 + i) * s.dtStride + s.dtCol + h] * ah;
    __syncthreads();
    if (threadIdx.x == 0) {
        double sum = 0;
        float* out = cum + ((size_t)b * s.heads + h) * nc * Q + c0;
        for (int i = 0; i < q; i++) {
            sum += v[i];
            out[i] = (float)sum;
        }
    }
}

// Tile loops for the scan kernels: 256 threads, a 64x64 output tile, 4x4 outputs per thread.
#define ST 64
#define SK 32

// chunk states: S_c[p][n] = sum_j exp(cum_end - cum_j) dt_j x_j[p] B_j[n]; block per
// (chunk, p-tile * n-tiles, head * batch).
__global__ void __launch_bounds__(256) ssd_chunk_state_kernel(Scan s, const float* __restrict__ xbc, const float* __restrict__ dt,
                                                              const float* __restrict__ cum, float* __restrict__ states) {
    __shared__ float Xs[SK][ST + 4];
    __shared__ float Bs[SK][ST + 4];
    int P = s.headdim, N = s.state, Q = s.chunk, nc = gridDim.x;
    int c = blockIdx.x, nTiles = (N + ST - 1) / ST;
    int p0 = (blockIdx.y / nTiles) * ST, n0 = (blockIdx.y % nTiles) * ST;
    int h = blockIdx.z % s.heads, b = blockIdx.z / s.heads, g = h / (s.heads / s.groups);
    int c0 = c * Q, q = min(Q, s.len - c0);
    const float* cumc = cum + ((size_t)b * s.heads + h) * nc * Q + c0;
    float cend = cumc[q - 1];
    int tid = threadIdx.x, tp = (tid >> 4) * 4, tn = (tid & 15) * 4;
    float acc[4][4] = {};
    __shared__ float wjs[SK];
    for (int j0 = 0; j0 < q; j0 += SK) {
        if (tid < SK) {
            int j = j0 + tid;
            wjs[tid] = j < q ? expf(cend - cumc[j]) * dt[scanRow(s, b, c0 + j) * s.dtStride + s.dtCol + h] : 0.f;
        }
        __syncthreads();
        for (int e = tid; e < SK * ST; e += 256) {
            int jj = e / ST, cc = e % ST, j = j0 + jj;
            float xv = 0.f, bv = 0.f;
            if (j < q) {
                const float* rowp = xbc + scanRow(s, b, c0 + j) * s.xbcStride;
                if (p0 + cc < P) xv = wjs[jj] * rowp[s.xCol + h * P + p0 + cc];
                if (n0 + cc < N) bv = rowp[s.bCol + g * N + n0 + cc];
            }
            Xs[jj][cc] = xv;
            Bs[jj][cc] = bv;
        }
        __syncthreads();
#pragma unroll 8
        for (int jj = 0; jj < SK; jj++) {
            float4 xa = *(const float4*)&Xs[jj][tp];
            float4 ba = *(const float4*)&Bs[jj][tn];
            float xr[4] = {xa.x, xa.y, xa.z, xa.w}, br[4] = {ba.x, ba.y, ba.z, ba.w};
#pragma unroll
            for (int i = 0; i < 4; i++)
#pragma unroll
                for (int k = 0; k < 4; k++) acc[i][k] = fmaf(xr[i], br[k], acc[i][k]);
        }
        __syncthreads();
    }
    float* out = states + (((size_t)b * nc + c) * s.heads + h) * P * N;
    for (int i = 0; i < 4; i++)
        for (int k = 0; k < 4; k++) {
            int p = p0 + tp + i, n = n0 + tn + k;
            if (p < P && n < N) out[(size_t)p * N + n] = acc[i][k];
        }
}

// state passing: running = init; for each chunk: entering[c] = running; running = exp(cum_end_c) running + S_c.
// One thread per (state element, head, batch); the chunk loop is sequential.
__global__ void ssd_state_pass_kernel(Scan s, const float* __restrict__ cum, const float* __restrict__ init, float* __restrict__ states,
                                      int nc) {
    int PN = s.headdim * s.state;
    int e = blockIdx.x * blockDim.x + threadIdx.x;
    int h = blockIdx.y, b = blockIdx.z, Q = s.chunk;
    if (e >= PN) return;
    float run = init ? init[(size_t)h * PN + e] : 0.f;
    const float* cumbh = cum + ((size_t)b * s.heads + h) * nc * Q;
    const size_t stride = (size_t)s.heads * PN;
    float* at = states + ((size_t)b * nc * s.heads + h) * PN + e;
    // four chunks at a time: their loads do not depend on the running state, so they are issued together
    for (int c0 = 0; c0 < nc; c0 += 4) {
        float own[4], decay[4];
#pragma unroll
        for (int u = 0; u < 4; u++) {
            int c = c0 + u;
            if (c < nc) {
                own[u] = at[c * stride];
                decay[u] = expf(cumbh[c * Q + min(Q, s.len - c * Q) - 1]);
            }
        }
#pragma unroll
        for (int u = 0; u < 4; u++) {
            int c = c0 + u;
            if (c < nc) {
                at[c * stride] = run;
                run = decay[u] * run + own[u];
            }
        }
    }
}

// chunk output: y_i = sum_{j<=i} (C_i . B_j) exp(cum_i - cum_j) dt_j x_j + exp(cum_i) C_i . S_entering
// (docs/spec.md §1.5 steps 1 and 4). Block per (64-row tile of the chunk, 64-column tile of P, head*batch).
__global__ void __launch_bounds__(256) ssd_chunk_output_kernel(Scan s, const float* __restrict__ xbc, const float* __restrict__ dt,
                                                               const float* __restrict__ cum, const float* __restrict__ states,
                                                               float* __restrict__ y, int nc) {
    __shared__ float Ga[ST][ST + 4];     // G^T tile: [j][i]
    __shared__ float Ua[SK * 2][ST + 4]; // operand tiles: Cs|Bs ([k][i], [k][j]) or Xs ([j][p]) or Ss ([n][p])
    int P = s.headdim, N = s.state, Q = s.chunk, HP = s.heads * P;
    int iTiles = (Q + ST - 1) / ST;
    int c = blockIdx.x / iTiles, i0 = (blockIdx.x % iTiles) * ST, p0 = blockIdx.y * ST;
    int h = blockIdx.z % s.heads, b = blockIdx.z / s.heads, g = h / (s.heads / s.groups);
    int c0 = c * Q, q = min(Q, s.len - c0);
    if (i0 >= q) return;
    const float* cumc = cum + ((size_t)b * s.heads + h) * nc * Q + c0;
    const float* st = states + (((size_t)b * nc + c) * s.heads + h) * (size_t)P * N;
    int tid = threadIdx.x, ti = (tid >> 4) * 4, tc = (tid & 15) * 4;
    float acc[4][4] = {};

    // entering state: acc[i][p] = sum_n C_i[n] S[p][n]
    for (int k0 = 0; k0 < N; k0 += SK) {
        for (int e = tid; e < SK * ST; e += 256) {
            int kk = e % SK, rr = e / SK, n = k0 + kk, i = i0 + rr;
            float cv = 0.f, sv = 0.f;
            if (n < N) {
                if (i < q) cv = xbc[scanRow(s, b, c0 + i) * s.xbcStride + s.cCol + g * N + n];
                if (p0 + rr < P) sv = st[(size_t)(p0 + rr) * N + n];
            }
            Ua[kk][rr] = cv;
            Ua[SK + kk][rr] = sv;
        }
        __syncthreads();
#pragma unroll 8
        for (int kk = 0; kk < SK; kk++) {
            float4 ca = *(const float4*)&Ua[kk][ti];
            float4 sa = *(const float4*)&Ua[SK + kk][tc];
            float cr[4] = {ca.x, ca.y, ca.z, ca.w}, sr[4] = {sa.x, sa.y, sa.z, sa.w};
#pragma unroll
            for (int a = 0; a < 4; a++)
#pragma unroll
                for (int d = 0; d < 4; d++) acc[a][d] = fmaf(cr[a], sr[d], acc[a][d]);
        }
        __syncthreads();
    }
    float cumi[4];
#pragma unroll
    for (int a = 0; a < 4; a++) {
        int i = i0 + ti + a;
        cumi[a] = i < q ? cumc[i] : 0.f;
        float decay = expf(cumi[a]);
#pragma unroll
        for (int d = 0; d < 4; d++) acc[a][d] *= decay;
    }

    // intra-chunk: for each 64-step tile of j up to the diagonal
    for (int j0 = 0; j0 <= i0 && j0 < q; j0 += ST) {
        float gacc[4][4] = {};  // gacc[a][d]: i = i0+ti+a, j = j0+tc+d
        for (int k0 = 0; k0 < N; k0 += SK) {
            for (int e = tid; e < SK * ST; e += 256) {
                int kk = e % SK, rr = e / SK, n = k0 + kk;
                float cv = 0.f, bv = 0.f;
                if (n < N) {
                    if (i0 + rr < q) cv = xbc[scanRow(s, b, c0 + i0 + rr) * s.xbcStride + s.cCol + g * N + n];
                    if (j0 + rr < q) bv = xbc[scanRow(s, b, c0 + j0 + rr) * s.xbcStride + s.bCol + g * N + n];
                }
                Ua[kk][rr] = cv;
                Ua[SK + kk][rr] = bv;
            }
            __syncthreads();
#pragma unroll 8
            for (int kk = 0; kk < SK; kk++) {
                float4 ca = *(const float4*)&Ua[kk][ti];
                float4 ba = *(const float4*)&Ua[SK + kk][tc];
                float cr[4] = {ca.x, ca.y, ca.z, ca.w}, br[4] = {ba.x, ba.y, ba.z, ba.w};
#pragma unroll
                for (int a = 0; a < 4; a++)
#pragma unroll
                    for (int d = 0; d < 4; d++) gacc[a][d] = fmaf(cr[a], br[d], gacc[a][d]);
            }
            __syncthreads();
        }
        // scale by exp(cum_i - cum_j) dt_j on and below the diagonal, store transposed; load X_j
#pragma unroll
        for (int d = 0; d < 4; d++) {
            int j = j0 + tc + d;
            float cj = 0.f, dtj = 0.f;
            if (j < q) {
                cj = cumc[j];
                dtj = dt[scanRow(s, b, c0 + j) * s.dtStride + s.dtCol + h];
            }
#pragma unroll
            for (int a = 0; a < 4; a++) {
                int i = i0 + ti + a;
                Ga[tc + d][ti + a] = (j <= i && j < q && i < q) ? gacc[a][d] * expf(cumi[a] - cj) * dtj : 0.f;
            }
        }
        for (int e = tid; e < ST * ST; e += 256) {
            int jj = e / ST, pp = e % ST, j = j0 + jj;
            Ua[jj][pp] = (j < q && p0 + pp < P) ? xbc[scanRow(s, b, c0 + j) * s.xbcStride + s.xCol + h * P + p0 + pp] : 0.f;
        }
        __syncthreads();
#pragma unroll 8
        for (int jj = 0; jj < ST; jj++) {
            float4 ga = *(const float4*)&Ga[jj][ti];
            float4 xa = *(const float4*)&Ua[jj][tc];
            float gr[4] = {ga.x, ga.y, ga.z, ga.w}, xr[4] = {xa.x, xa.y, xa.z, xa.w};
#pragma unroll
            for (int a = 0; a < 4; a++)
#pragma unroll
                for (int d = 0; d < 4; d++) acc[a][d] = fmaf(gr[a], xr[d], acc[a][d]);
        }
        __syncthreads();
    }
#pragma unroll
    for (int a = 0; a < 4; a++) {
        int i = i0 + ti + a;
        if (i >= q) continue;
        float* yr = y + scanRow(s, b, c0 + i) * HP + h * P;
#pragma unroll
        for (int d = 0; d < 4; d++)
            if (p0 + tc + d < P) yr[p0 + tc + d] = acc[a][d];
    }
}

// The chunk output on the tensor cores (split: 1 = 3xTF32, 2 = bf16) in two kernels. The scores
// C_i B_j^T depend on the group, not the head, so ssd_chunk_scores_kernel forms them once per (batch,
// chunk, group) for the causal 64 x 64 tile pairs (i-tile, j-tile <= i-tile), numbered
// it (it + 1) / 2 + jt; ssd_chunk_output_tc_kernel then reads them for each of the group's heads.
// Warp products: 8 warps in a 2 x 4 grid, each owning 32 rows (i) x 16 columns of a 64 x 64 tile.
__device__ __forceinline__ void split_tf32(float v, uint32_t& hi, uint32_t& lo) {
    hi = tf32(v);
    lo = tf32(v - __uint_as_float(hi));
}

// acc += A (rows wr.., row-major, pitch lda) * B (k x columns wc..): B stored [column][k] when bNK, else [k][column]
__device__ __forceinline__ void warp_mma(float (&acc)[2][2][4], const float* A, int lda, const float* B, int ldb, bool bNK, int wr, int wc,
                                         int K, int split) {
    if (split == 2) {
        warp_mma_bf16(acc, A, lda, B, ldb, bNK, wr, wc, K);
        return;
    }
    const int lane = threadIdx.x & 31, g = lane >> 2, t = lane & 3;
#pragma unroll 2
    for (int kk = 0; kk < K; kk += 8) {
        uint32_t bh[2][2], bl[2][2];
#pragma unroll
        for (int nt = 0; nt < 2; nt++) {
            int c = wc + nt * 8 + g;
            split_tf32(bNK ? B[c * ldb + kk + t] : B[(kk + t) * ldb + c], bh[nt][0], bl[nt][0]);
            split_tf32(bNK ? B[c * ldb + kk + t + 4] : B[(kk + t + 4) * ldb + c], bh[nt][1], bl[nt][1]);
        }
#pragma unroll
        for (int mt = 0; mt < 2; mt++) {
            const float* a = A + (wr + mt * 16 + g) * lda + kk + t;
            uint32_t ah[4], al[4];
            split_tf32(a[0], ah[0], al[0]);
            split_tf32(a[8 * lda], ah[1], al[1]);
            split_tf32(a[4], ah[2], al[2]);
            split_tf32(a[8 * lda + 4], ah[3], al[3]);
#pragma unroll
            for (int nt = 0; nt < 2; nt++) {
                if (split) {
                    mma_tf32(acc[mt][nt], al, bh[nt]);
                    mma_tf32(acc[mt][nt], ah, bl[nt]);
                }
                mma_tf32(acc[mt][nt], ah, bh[nt]);
            }
        }
    }
}

// dst[rr][0, wpad) = columns [0, width) of the rows rr < rows at src + rr * rowStep, zeros elsewhere
// (64 rows, pitch ld, wpad a multiple of 4). With vec (16-byte aligned rows, width a multiple of 4)
// by cp.async, which the caller commits and waits for; else by plain loads. Then a barrier, before use.
__device__ __forceinline__ void load_tile(float* dst, int ld, int wpad, int width, int rows, const float* src, long long rowStep, bool vec) {
    int w4 = wpad >> 2;
    for (int e = threadIdx.x; e < ST * w4; e += blockDim.x) {
        int rr = e / w4, c4 = (e - rr * w4) * 4;
        const float* p = src + rr * rowStep + c4;
        if (vec) {
            bool in = rr < rows && c4 < width;
            cp_async16(dst + rr * ld + c4, in ? p : src, in ? 16 : 0);
        } else {
            float4 v = make_float4(0.f, 0.f, 0.f, 0.f);
            if (rr < rows) {
                if (c4 < width) v.x = p[0];
                if (c4 + 1 < width) v.y = p[1];
                if (c4 + 2 < width) v.z = p[2];
                if (c4 + 3 < width) v.w = p[3];
            }
            *(float4*)&dst[rr * ld + c4] = v;
        }
    }
}

__device__ __forceinline__ void cp_async_commit() { asm volatile("cp.async.commit_group;\n" ::); }

// pitch of the C, S and B tiles of N columns: N rounded up to 16 (the bf16 k step), + 4 (fragment reads hit distinct banks)
__device__ __forceinline__ int stateTilePitch(int N) { return max(((N + 15) / 16) * 16 + 4, ST + 4); }

// block per (chunk * tile pair, group, batch): CB[b][c][g][pair][i][j] = C_i . B_j (i, j within the 64-step tiles)
__global__ void __launch_bounds__(256) ssd_chunk_scores_kernel(Scan s, const float* __restrict__ xbc, float* __restrict__ cb, int nc, int split) {
    extern __shared__ float4 smem4[];
    int N = s.state, Q = s.chunk, T = (Q + ST - 1) / ST, pairs = T * (T + 1) / 2;
    int c = blockIdx.x / pairs, k = blockIdx.x % pairs, g = blockIdx.y, b = blockIdx.z;
    int it = 0;
    while ((it + 1) * (it + 2) / 2 <= k) it++;
    int i0 = it * ST, j0 = (k - it * (it + 1) / 2) * ST, c0 = c * Q, q = min(Q, s.len - c0);
    if (i0 >= q) return;  // past the last chunk's end: never read
    const int ldn = stateTilePitch(N), nK = split == 2 ? ((N + 15) / 16) * 16 : ((N + 7) / 8) * 8;
    float* Cs = (float*)smem4;
    float* Bs = Cs + ST * ldn;
    const bool vec = ((s.xbcStride | s.bCol | s.cCol | N) & 3) == 0;
    long long step = s.forward ? s.xbcStride : -(long long)s.xbcStride;
    const float* row0 = xbc + scanRow(s, b, c0) * s.xbcStride + g * N;
    load_tile(Cs, ldn, nK, N, q - i0, row0 + i0 * step + s.cCol, step, vec);
    load_tile(Bs, ldn, nK, N, q - j0, row0 + j0 * step + s.bCol, step, vec);
    cp_async_commit();
    asm volatile("cp.async.wait_group 0;\n" ::);
    __syncthreads();
    const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31, lg = lane >> 2, lt = lane & 3;
    const int wr = (warp >> 2) * 32, wc = (warp & 3) * 16;
    float acc[2][2][4] = {};
    warp_mma(acc, Cs, ldn, Bs, ldn, true, wr, wc, nK, split);
    float* out = cb + ((((size_t)b * nc + c) * s.groups + g) * pairs + k) * (ST * ST);
#pragma unroll
    for (int mt = 0; mt < 2; mt++)
#pragma unroll
        for (int nt = 0; nt < 2; nt++)
#pragma unroll
            for (int hh = 0; hh < 2; hh++)
                *(float2*)&out[(wr + mt * 16 + lg + hh * 8) * ST + wc + nt * 8 + 2 * lt] = make_float2(acc[mt][nt][2 * hh], acc[mt][nt][2 * hh + 1]);
}

// acc += A' B over k in [0, 64): A stored [k][row] (pitch lda) and scaled as it enters the products, A'[row][k]
// = A[k][row] w[k]; B stored [k][column] (pitch ldb); split 1 = 3xTF32 (of the scaled A), 2 = bf16.
__device__ __forceinline__ void warp_mma_scaled_kmajor(float (&acc)[2][2][4], const float* A, int lda, const float* w, const float* B, int ldb,
                                                       int wr, int wc, int split) {
    const int lane = threadIdx.x & 31, g = lane >> 2, t = lane & 3;
    if (split == 2) {
#pragma unroll
        for (int kk = 0; kk < ST; kk += 16) {
            uint32_t bf[2][2];
#pragma unroll
            for (int nt = 0; nt < 2; nt++) {
                const float* b = B + (kk + t) * ldb + wc + nt * 8 + g;
                bf[nt][0] = bf16x2(b[0], b[4 * ldb]);
                bf[nt][1] = bf16x2(b[8 * ldb], b[12 * ldb]);
            }
            float w0 = w[kk + t], w1 = w[kk + t + 4], w2 = w[kk + t + 8], w3 = w[kk + t + 12];
#pragma unroll
            for (int mt = 0; mt < 2; mt++) {
                const float* a = A + (kk + t) * lda + wr + mt * 16 + g;
                uint32_t af[4] = {bf16x2(a[0] * w0, a[4 * lda] * w1), bf16x2(a[8] * w0, a[4 * lda + 8] * w1),
                                  bf16x2(a[8 * lda] * w2, a[12 * lda] * w3), bf16x2(a[8 * lda + 8] * w2, a[12 * lda + 8] * w3)};
#pragma unroll
                for (int nt = 0; nt < 2; nt++) mma_bf16(acc[mt][nt], af, bf[nt]);
            }
        }
        return;
    }
#pragma unroll 2
    for (int kk = 0; kk < ST; kk += 8) {
        uint32_t bh[2][2], bl[2][2];
#pragma unroll
        for (int nt = 0; nt < 2; nt++) {
            const float* b = B + (kk + t) * ldb + wc + nt * 8 + g;
            split_tf32(b[0], bh[nt][0], bl[nt][0]);
            split_tf32(b[4 * ldb], bh[nt][1], bl[nt][1]);
        }
        float w0 = w[kk + t], w1 = w[kk + t + 4];
#pragma unroll
        for (int mt = 0; mt < 2; mt++) {
            const float* a = A + (kk + t) * lda + wr + mt * 16 + g;
            uint32_t ah[4], al[4];
            split_tf32(a[0] * w0, ah[0], al[0]);
            split_tf32(a[8] * w0, ah[1], al[1]);
            split_tf32(a[4 * lda] * w1, ah[2], al[2]);
            split_tf32(a[4 * lda + 8] * w1, ah[3], al[3]);
#pragma unroll
            for (int nt = 0; nt < 2; nt++) {
                mma_tf32(acc[mt][nt], al, bh[nt]);
                mma_tf32(acc[mt][nt], ah, bl[nt]);
                mma_tf32(acc[mt][nt], ah, bh[nt]);
            }
        }
    }
}

// The chunk states of ssd_chunk_state_kernel on the tensor cores (split 1 = 3xTF32, 2 = bf16): S_c[p][n] = sum_j
// (w_j x_j[p]) B_j[n], w_j = exp(cum_end - cum_j) dt_j; block per (chunk * head, p-tile * n-tiles, batch), so
// that the heads of a chunk run together, sharing its rows and B_j in L2.
// The 64-step tiles of x and B arrive by cp.async in two stages (64 x 68 each), the next while this one is multiplied.
__global__ void __launch_bounds__(256, 3) ssd_chunk_state_tc_kernel(Scan s, const float* __restrict__ xbc, const float* __restrict__ dt,
                                                                    const float* __restrict__ cum, float* __restrict__ states, int split) {
    extern __shared__ float4 smem4[];
    float* Xs = (float*)smem4;                 // [stage][j][p]
    float* Bs = Xs + 2 * ST * (ST + 4);        // [stage][j][n]
    float* ws = Bs + 2 * ST * (ST + 4);        // [stage][j]
    int P = s.headdim, N = s.state, Q = s.chunk, nc = gridDim.x / s.heads;
    int h = blockIdx.x % s.heads, c = blockIdx.x / s.heads, nTiles = (N + ST - 1) / ST;
    int p0 = (blockIdx.y / nTiles) * ST, n0 = (blockIdx.y % nTiles) * ST;
    int b = blockIdx.z, g = h / (s.heads / s.groups);
    int c0 = c * Q, q = min(Q, s.len - c0), nj = (q + ST - 1) / ST;
    const float* cumc = cum + ((size_t)b * s.heads + h) * nc * Q + c0;
    float cend = cumc[q - 1];
    const bool vec = ((s.xbcStride | s.xCol | s.bCol | N | P) & 3) == 0;
    long long step = s.forward ? s.xbcStride : -(long long)s.xbcStride;
    const float* row0 = xbc + scanRow(s, b, c0) * s.xbcStride;
    auto stage = [&](int jt) {
        int j0 = jt * ST, k = jt & 1;
        load_tile(Xs + k * ST * (ST + 4), ST + 4, ST, min(ST, P - p0), q - j0, row0 + j0 * step + s.xCol + h * P + p0, step, vec);
        load_tile(Bs + k * ST * (ST + 4), ST + 4, ST, min(ST, N - n0), q - j0, row0 + j0 * step + s.bCol + g * N + n0, step, vec);
        if (threadIdx.x < ST) {
            int j = j0 + threadIdx.x;
            ws[k * ST + threadIdx.x] = j < q ? expf(cend - cumc[j]) * dt[scanRow(s, b, c0 + j) * s.dtStride + s.dtCol + h] : 0.f;
        }
        cp_async_commit();
    };
    const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31, lg = lane >> 2, lt = lane & 3;
    const int wr = (warp >> 2) * 32, wc = (warp & 3) * 16;
    float acc[2][2][4] = {};
    stage(0);
    for (int jt = 0; jt < nj; jt++) {
        if (jt + 1 < nj) stage(jt + 1);
        else cp_async_commit();
        asm volatile("cp.async.wait_group 1;\n" ::);
        __syncthreads();
        int k = jt & 1;
        warp_mma_scaled_kmajor(acc, Xs + k * ST * (ST + 4), ST + 4, ws + k * ST, Bs + k * ST * (ST + 4), ST + 4, wr, wc, split);
        __syncthreads();  // this stage is free for tile jt + 2
    }
    float* out = states + (((size_t)b * nc + c) * s.heads + h) * P * N;
#pragma unroll
    for (int mt = 0; mt < 2; mt++)
#pragma unroll
        for (int nt = 0; nt < 2; nt++)
#pragma unroll
            for (int e = 0; e < 4; e++) {
                int p = p0 + wr + mt * 16 + lg + (e >> 1) * 8, n = n0 + wc + nt * 8 + 2 * lt + (e & 1);
                if (p < P && n < N) out[(size_t)p * N + n] = acc[mt][nt][e];
            }
}

// y_i = exp(cum_i) C_i S^T + sum_{j<=i} G_ij X_j with G_ij = CB_ij exp(cum_i - cum_j) dt_j; block per (chunk *
// 64-row tile * head, 64-column tile of P, batch): the heads of one tile run together, sharing its C_i and
// scores in L2. Shared memory: C_i and S (64 x ldn each) for the
// entering-state product, whose place the scaled score tile G then takes (3xTF32: its TF32 high and low
// parts, 64 x 68 each, split once here and not in the product; bf16: 64 x 36 pairs in the products' k
// order), two stages of X_j (64 x 68) filled by cp.async while the tile before is multiplied, and the
// rows' cum (64). Each
// thread scales 16 scores (one warp = one row, 32 columns, 8 rows apart), loaded into registers a tile ahead.
__global__ void __launch_bounds__(256, 3) ssd_chunk_output_tc_kernel(Scan s, const float* __restrict__ xbc, const float* __restrict__ dt,
                                                                     const float* __restrict__ cum, const float* __restrict__ states,
                                                                     const float* __restrict__ cb, float* __restrict__ y, int nc, int split) {
    extern __shared__ float4 smem4[];
    int P = s.headdim, N = s.state, Q = s.chunk, HP = s.heads * P, T = (Q + ST - 1) / ST;
    const int ldn = stateTilePitch(N), nK = split == 2 ? ((N + 15) / 16) * 16 : ((N + 7) / 8) * 8;
    float* Cs = (float*)smem4;
    float* Ss = Cs + ST * ldn;
    uint32_t* Ghi = (uint32_t*)smem4;  // bf16: the pairs, pitch 36
    uint32_t* Glo = Ghi + ST * (ST + 4);
    float* Xs = Cs + 2 * ST * ldn;
    float* cumI = Xs + 2 * ST * (ST + 4);  // cum of the block's 64 rows
    int h = blockIdx.x % s.heads, c = blockIdx.x / s.heads / T, it = blockIdx.x / s.heads % T, i0 = it * ST, p0 = blockIdx.y * ST;
    int b = blockIdx.z, g = h / (s.heads / s.groups);
    int c0 = c * Q, q = min(Q, s.len - c0);
    if (i0 >= q) return;
    const float* cumc = cum + ((size_t)b * s.heads + h) * nc * Q + c0;
    const float* st = states + (((size_t)b * nc + c) * s.heads + h) * (size_t)P * N;
    const float* cbi = cb + (((size_t)b * nc + c) * s.groups + g) * (size_t)(T * (T + 1) / 2) * (ST * ST) + (size_t)(it * (it + 1) / 2) * (ST * ST);
    const int tid = threadIdx.x, warp = tid >> 5, lane = tid & 31, lg = lane >> 2, lt = lane & 3;
    const int wr = (warp >> 2) * 32, wc = (warp & 3) * 16, pw = min(ST, P - p0);
    const bool vec = ((s.xbcStride | s.xCol | s.cCol | N | P) & 3) == 0;
    long long step = s.forward ? s.xbcStride : -(long long)s.xbcStride;
    const float* row0 = xbc + scanRow(s, b, c0) * s.xbcStride;
    const float* x0 = row0 + s.xCol + h * P + p0;

    load_tile(Cs, ldn, nK, N, q - i0, row0 + i0 * step + s.cCol + g * N, step, vec);
    load_tile(Ss, ldn, nK, N, pw, st + (size_t)p0 * N, N, vec);
    cp_async_commit();
    load_tile(Xs, ST + 4, ST, pw, q, x0, step, vec);
    cp_async_commit();

    // this thread's scores: rows warp + 8r, columns kc[e] of each j-tile (bf16: the pair u of the row's k order)
    int kc[2];
#pragma unroll
    for (int e = 0; e < 2; e++) kc[e] = split == 2 ? (lane >> 3) * 16 + ((lane >> 2) & 1) * 8 + (lane & 3) + 4 * e : lane + 32 * e;
    float cbv[8][2], cumJ[2], dtJ[2];
    if (tid < ST) cumI[tid] = i0 + tid < q ? cumc[i0 + tid] : 0.f;
    auto fetch = [&](int jt) {
        const float* tileP = cbi + (size_t)jt * (ST * ST);
#pragma unroll
        for (int e = 0; e < 2; e++) {
            int j = jt * ST + kc[e];
            cumJ[e] = j < q ? cumc[j] : 0.f;
            dtJ[e] = j < q ? dt[scanRow(s, b, c0 + j) * s.dtStride + s.dtCol + h] : 0.f;
#pragma unroll
            for (int r = 0; r < 8; r++) cbv[r][e] = tileP[(warp + 8 * r) * ST + kc[e]];
        }
    };

    float acc[2][2][4] = {};
    asm volatile("cp.async.wait_group 1;\n" ::);
    __syncthreads();
    warp_mma(acc, Cs, ldn, Ss, ldn, true, wr, wc, nK, split);
#pragma unroll
    for (int mt = 0; mt < 2; mt++)
#pragma unroll
        for (int hh = 0; hh < 2; hh++) {
            int i = i0 + wr + mt * 16 + lg + hh * 8;
            float decay = expf(i < q ? cumc[i] : 0.f);
#pragma unroll
            for (int nt = 0; nt < 2; nt++) {
                acc[mt][nt][2 * hh] *= decay;
                acc[mt][nt][2 * hh + 1] *= decay;
            }
        }

    fetch(0);
    for (int jt = 0; jt <= it; jt++) {
        __syncthreads();  // C_i, S / the last G, and the X stage written next are free
        if (jt < it) load_tile(Xs + ((jt + 1) & 1) * ST * (ST + 4), ST + 4, ST, pw, q - (jt + 1) * ST, x0 + (jt + 1) * ST * step, step, vec);
        cp_async_commit();
        // G = CB exp(cum_i - cum_j) dt_j on and below the diagonal
#pragma unroll
        for (int r = 0; r < 8; r++) {
            int il = warp + 8 * r, i = i0 + il;
            float v[2];
#pragma unroll
            for (int e = 0; e < 2; e++) {
                int j = jt * ST + kc[e];
                v[e] = (j <= i && i < q && j < q) ? cbv[r][e] * expf(cumI[il] - cumJ[e]) * dtJ[e] : 0.f;
            }
            if (split == 2) Ghi[il * 36 + lane] = bf16x2(v[0], v[1]);
            else
#pragma unroll
                for (int e = 0; e < 2; e++) split_tf32(v[e], Ghi[il * (ST + 4) + kc[e]], Glo[il * (ST + 4) + kc[e]]);
        }
        if (jt < it) fetch(jt + 1);
        asm volatile("cp.async.wait_group 1;\n" ::);
        __syncthreads();
        const float* X = Xs + (jt & 1) * ST * (ST + 4);
        if (split == 2) {
#pragma unroll
            for (int kb = 0; kb < ST / 16; kb++) {
                uint32_t bf[2][2];
#pragma unroll
                for (int nt = 0; nt < 2; nt++) {
                    const float* xb = X + (kb * 16 + lt) * (ST + 4) + wc + nt * 8 + lg;
                    bf[nt][0] = bf16x2(xb[0], xb[4 * (ST + 4)]);
                    bf[nt][1] = bf16x2(xb[8 * (ST + 4)], xb[12 * (ST + 4)]);
                }
#pragma unroll
                for (int mt = 0; mt < 2; mt++) {
                    const uint32_t* ga = Ghi + (wr + mt * 16 + lg) * 36 + kb * 8 + lt;
                    uint32_t af[4] = {ga[0], ga[8 * 36], ga[4], ga[8 * 36 + 4]};
#pragma unroll
                    for (int nt = 0; nt < 2; nt++) mma_bf16(acc[mt][nt], af, bf[nt]);
                }
            }
        } else {
#pragma unroll 2
            for (int kk = 0; kk < ST; kk += 8) {
                uint32_t bh[2][2], bl[2][2];
#pragma unroll
                for (int nt = 0; nt < 2; nt++) {
                    const float* xb = X + (kk + lt) * (ST + 4) + wc + nt * 8 + lg;
                    split_tf32(xb[0], bh[nt][0], bl[nt][0]);
                    split_tf32(xb[4 * (ST + 4)], bh[nt][1], bl[nt][1]);
                }
#pragma unroll
                for (int mt = 0; mt < 2; mt++) {
                    int o = (wr + mt * 16 + lg) * (ST + 4) + kk + lt;
                    uint32_t ah[4] = {Ghi[o], Ghi[o + 8 * (ST + 4)], Ghi[o + 4], Ghi[o + 8 * (ST + 4) + 4]};
                    uint32_t al[4] = {Glo[o], Glo[o + 8 * (ST + 4)], Glo[o + 4], Glo[o + 8 * (ST + 4) + 4]};
#pragma unroll
                    for (int nt = 0; nt < 2; nt++) {
                        mma_tf32(acc[mt][nt], al, bh[nt]);
                        mma_tf32(acc[mt][nt], ah, bl[nt]);
                        mma_tf32(acc[mt][nt], ah, bh[nt]);
                    }
                }
            }
        }
    }
#pragma unroll
    for (int mt = 0; mt < 2; mt++)
#pragma unroll
        for (int hh = 0; hh < 2; hh++) {
            int i = i0 + wr + mt * 16 + lg + hh * 8;
            if (i >= q) continue;
            float* yr = y + scanRow(s, b, c0 + i) * HP + h * P;
#pragma unroll
            for (int nt = 0; nt < 2; nt++)
#pragma unroll
                for (int cc = 0; cc < 2; cc++) {
                    int p = p0 + wc + nt * 8 + 2 * lt + cc;
                    if (p < P) yr[p] = acc[mt][nt][2 * hh + cc];
                }
        }
}

// ---------------------------------------------------------------------------------------------
// Step 6: out[t] = yF[t-1] + yB[t+1] + x_t * delta[t, h]; one thread per element.
// ---------------------------------------------------------------------------------------------
__global__ void shift_add_diagonal_kernel(int batch, int len, int heads, int headdim, const float* __restrict__ yF,
                                          const float* __restrict__ yB, const float* __restrict__ x, int xStride,
                                          const float* __restrict__ delta, float* __restrict__ out) {
    int D = heads * headdim;
    size_t idx = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (idx >= (size_t)batch * len * D) return;
    int i = (int)(idx % D);
    size_t r = idx / D;
    int t = (int)(r % len);
    float v = x[r * xStride + i] * delta[r * heads + i / headdim];
    if (t > 0) v += yF[idx - D];
    if (t < len - 1) v += yB[idx + D];
    out[idx] = v;
}

// The sum of v over the block (a multiple of 32 threads), returned to every thread.
__device__ float block_sum(float v, float* part) {
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    __syncthreads();
    if ((threadIdx.x & 31) == 0) part[threadIdx.x >> 5] = v;
    __syncthreads();
    if (threadIdx.x < 32) {
        v = threadIdx.x < (blockDim.x >> 5) ? part[threadIdx.x] : 0.f;
        for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
        if (threadIdx.x == 0) part[32] = v;
    }
    __syncthreads();
    return part[32];
}

// Step 7: out = y / sqrt(mean(y^2) + eps) * weight * silu(z); one block per row.
__global__ void gated_rms_norm_kernel(const float* __restrict__ y, int rows, int dim, const float* __restrict__ z, int zStride,
                                      int zCol, const float* __restrict__ w, float eps, float* __restrict__ out) {
    __shared__ float part[33];
    int r = blockIdx.x;
    const float* yr = y + (size_t)r * dim;
    float ss = 0.f;
    for (int i = threadIdx.x; i < dim; i += blockDim.x) ss += yr[i] * yr[i];
    float inv = rsqrtf(block_sum(ss, part) / dim + eps);
    const float* zr = z + (size_t)r * zStride + zCol;
    for (int i = threadIdx.x; i < dim; i += blockDim.x) out[(size_t)r * dim + i] = yr[i] * inv * w[i] * silu(zr[i]);
}

// Steps 6 and 7 in one pass, one block per row of a run of sequences of `len`: v = x_t * delta[t, h] + yF[t-1]
// + yB[t+1] (the shifted terms zero at the sequence's ends), kept in mix when it is not null, then
// out = v / sqrt(mean(v^2) + eps) * w * silu(z). v goes to out on the way and the thread that wrote it reads it
// back (from L2), so that y, x and z are read from memory once. V floats per access (load_v): 4 when every
// row, column and head is a multiple of 4 floats, else 1.
extern "C++" template <int V>
__device__ __forceinline__ void shift_diagonal_norm_row(int len, int heads, int headdim, const float* __restrict__ yF,
                                                        const float* __restrict__ yB, const float* __restrict__ x, int xStride,
                                                        const float* __restrict__ delta, const float* __restrict__ z, int zStride,
                                                        int zCol, const float* __restrict__ w, float eps, float* __restrict__ mix,
                                                        float* __restrict__ out) {
    __shared__ float part[33];
    int D = heads * headdim;
    size_t r = blockIdx.x;
    int t = (int)(r % len);
    float* outR = out + r * D;
    float ss = 0.f;
    for (int i = threadIdx.x * V; i < D; i += blockDim.x * V) {
        float v[V], f[V], b[V];
        load_v<V>(v, x + r * xStride + i);
        float d = delta[r * heads + i / headdim];
#pragma unroll
        for (int e = 0; e < V; e++) v[e] *= d;
        if (t > 0) {
            load_v<V>(f, yF + (r - 1) * D + i);
#pragma unroll
            for (int e = 0; e < V; e++) v[e] += f[e];
        }
        if (t < len - 1) {
            load_v<V>(b, yB + (r + 1) * D + i);
#pragma unroll
            for (int e = 0; e < V; e++) v[e] += b[e];
        }
#pragma unroll
        for (int e = 0; e < V; e++) ss += v[e] * v[e];
        if (mix) store_v<V>(mix + r * D + i, v);
        store_v<V>(outR + i, v);
    }
    float inv = rsqrtf(block_sum(ss, part) / D + eps);
    const float* zR = z + r * zStride + zCol;
    for (int i = threadIdx.x * V; i < D; i += blockDim.x * V) {
        float v[V], zv[V], wv[V];
        load_v<V>(v, outR + i);
        load_v<V>(zv, zR + i);
        load_v<V>(wv, w + i);
#pragma unroll
        for (int e = 0; e < V; e++) v[e] = v[e] * inv * wv[e] * silu(zv[e]);
        store_v<V>(outR + i, v);
    }
}

__global__ void __launch_bounds__(128) shift_diagonal_norm_kernel(int len, int heads, int headdim, const float* __restrict__ yF,
                                                                  const float* __restrict__ yB, const float* __restrict__ x,
                                                                  int xStride, const float* __restrict__ delta,
                                                                  const float* __restrict__ z, int zStride, int zCol,
                                                                  const float* __restrict__ w, float eps, float* __restrict__ mix,
                                                                  float* __restrict__ out, int vec4) {
    if (vec4) shift_diagonal_norm_row<4>(len, heads, headdim, yF, yB, x, xStride, delta, z, zStride, zCol, w, eps, mix, out);
    else shift_diagonal_norm_row<1>(len, heads, headdim, yF, yB, x, xStride, delta, z, zStride, zCol, w, eps, mix, out);
}

// ---------------------------------------------------------------------------------------------
// The encoder around the mixers (docs/spec.md §3).
// ---------------------------------------------------------------------------------------------

// out[r] = word[ids[r]] + type[typeIds[r]] (+ pos[r % len]); ids then typeIds in one int buffer; a block per row.
__global__ void embed_kernel(const int* __restrict__ tokens, int rows, int len, const float* __restrict__ word,
                             const float* __restrict__ type, const float* __restrict__ pos, int d, float* __restrict__ out) {
    int r = blockIdx.x;
    const float* w = word + (size_t)tokens[r] * d;
    const float* t = type + (size_t)tokens[rows + r] * d;
    const float* p = pos == nullptr ? nullptr : pos + (size_t)(r % len) * d;
    for (int i = threadIdx.x; i < d; i += blockDim.x) out[(size_t)r * d + i] = w[i] + t[i] + (p == nullptr ? 0.f : p[i]);
}

// out = (x - mean) / sqrt(var + eps) * w + b per row (two passes, biased var); out may be x; a block per row.
__global__ void layer_norm_kernel(const float* x, int rows, int d, const float* __restrict__ w, const float* __restrict__ b,
                                  float eps, float* out) {
    __shared__ float part[33];
    const float* xr = x + (size_t)blockIdx.x * d;
    float s = 0.f;
    for (int i = threadIdx.x; i < d; i += blockDim.x) s += xr[i];
    float mean = block_sum(s, part) / d;
    float v = 0.f;
    for (int i = threadIdx.x; i < d; i += blockDim.x) v += (xr[i] - mean) * (xr[i] - mean);
    float inv = rsqrtf(block_sum(v, part) / d + eps);
    float* o = out + (size_t)blockIdx.x * d;
    for (int i = threadIdx.x; i < d; i += blockDim.x) o[i] = (xr[i] - mean) * inv * w[i] + b[i];
}

// acc[i] += x[i].
__global__ void add_in_place_kernel(float* __restrict__ acc, const float* __restrict__ x, size_t n) {
    size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) acc[i] += x[i];
}

// out = x with rows of mask 0 zeroed; out may be x.
__global__ void mask_rows_kernel(const float* x, int rows, int d, const float* __restrict__ mask, float* out) {
    size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= (size_t)rows * d) return;
    out[i] = mask[i / d] == 0.f ? 0.f : x[i];
}

// out (batch, d) = row 0 of each sequence, or the sum of its rows / max(1, mask count); a block per sequence.
__global__ void pool_rows_kernel(const float* __restrict__ h, int batch, int len, int d, const float* __restrict__ mask, int mean,
                                 float* __restrict__ out) {
    __shared__ float part[33];
    int b = blockIdx.x;
    const float* hb = h + (size_t)b * len * d;
    if (!mean) {
        for (int i = threadIdx.x; i < d; i += blockDim.x) out[(size_t)b * d + i] = hb[i];
        return;
    }
    float c = 0.f;
    for (int t = threadIdx.x; t < len; t += blockDim.x) c += mask[(size_t)b * len + t];
    float inv = 1.f / fmaxf(block_sum(c, part), 1.f);
    for (int i = threadIdx.x; i < d; i += blockDim.x) {
        float s = 0.f;
        for (int t = 0; t < len; t++) s += hb[(size_t)t * d + i];
        out[(size_t)b * d + i] = s * inv;
    }
}

// In place: tanh (f = 0) or the exact gelu x/2 (1 + erf(x / sqrt 2)) (f = 1).
__global__ void activate_kernel(float* __restrict__ x, size_t n, int f) {
    size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n) return;
    float v = x[i];
    x[i] = f == 0 ? tanhf(v) : 0.5f * v * (1.f + erff(v * 0.70710678118654752f));
}

// The host-array entry point's checks: *first = min(*first, base + the index of the first NaN or infinity
// of x[0, n)) (*first starts at INT_MAX); a grid-stride pass, an atomic only where a value is not finite.
__global__ void first_non_finite_kernel(const float* __restrict__ x, size_t n, long long base, int* first) {
    for (size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += (size_t)gridDim.x * blockDim.x)
        if (!isfinite(x[i])) {
            atomicMin(first, (int)(base + (long long)i));
            return;
        }
}

}  // extern "C"
