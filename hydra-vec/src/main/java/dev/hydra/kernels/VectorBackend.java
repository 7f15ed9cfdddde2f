package dev.hydra.kernels;

import dev.hydra.HydraException;
import dev.hydra.backend.Buf;
import dev.hydra.backend.HeapBuf;
import dev.hydra.backend.ScanLayout;
import java.util.Collections;
import java.util.Map;
import java.util.WeakHashMap;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * The fp32 kernels on the Vector API (widest preferred species), run on a {@link WorkerPool}. Loaded
 * reflectively by {@link dev.hydra.backend.Backends#cpu()} only when {@code jdk.incubator.vector} is
 * readable, so the scalar path never links against it.
 *
 * <p>Every kernel splits its output into tasks that each own fixed output elements and compute them
 * in a fixed order, so results are bit-identical for any thread count. Transcendentals use
 * {@link #exp}, built from exact IEEE lane operations, because the Vector API's own EXP differs
 * between its intrinsic and its Java fallback. Per-thread scratch ({@link Scratch}) is reused, so
 * steady-state calls allocate only a small task descriptor. Buffers made by {@link #upload} are the
 * layers' weights and inputs, never written after: {@link #linear} packs such a W once and keeps it.
 */
public final class VectorBackend extends ScalarBackend {
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    private static final int VL = F.length();
    /** GEMM register tile: MR rows by NR = two vectors of outputs; cache tiles: MC rows, NC outputs, KC depth. */
    private static final int MR = 6, NR = 2 * VL, MC = 384, NC = 2 * NR, KC = 256;
    /** Heads of one group per scan task: they share the chunk's C B^T (a fixed count, so results do not depend on the threads). */
    private static final int HEADS_PER_TASK = 4;
    /** Rows per task of the row-wise kernels (conv, shift, norm). */
    private static final int ROWS_PER_TASK = 64;
    private static final FloatVector IOTA = FloatVector.fromArray(F, iota(), 0);
    private static final ThreadLocal<Scratch> SCRATCH = ThreadLocal.withInitial(Scratch::new);

    /** An uploaded W packed (see {@link #pack}) as a linear of (in, out) reads it. */
    private record PackedWeights(int in, int out, float[] strips) {}
    /** An uploaded buffer that no linear has read as W yet. */
    private static final PackedWeights UNPACKED = new PackedWeights(0, 0, null);

    private final WorkerPool pool;
    /** The arrays of the buffers this backend uploaded, by identity (weak keys: dropped with the buffer), with their packing. */
    private final Map<float[], PackedWeights> weights = Collections.synchronizedMap(new WeakHashMap<>());

    /** One thread per available processor. */
    public VectorBackend() {
        this(Runtime.getRuntime().availableProcessors());
    }

    public VectorBackend(int threads) {
        if (threads < 1) throw new HydraException("threads must be at least 1, got " + threads);
        pool = WorkerPool.of(threads);
    }

    @Override
    public String name() {
        return "vector";
    }

    public int threads() {
        return pool.threads();
    }

    /** Lanes of the species the kernels run on (16 with AVX-512). */
    public static int lanes() {
        return VL;
    }

    // ---- step 1, 6 (fc_D) and 8: y = x W^T + b ------------------------------------------------------

    @Override
    public Buf upload(float[] host) {
        Buf b = super.upload(host);
        weights.put(HeapBuf.of(b), UNPACKED);
        return b;
    }

    @Override
    public void linear(Buf xb, int xStride, int xCol, int rows, int in, Buf wb, Buf biasb, int out, Buf yb) {
        float[] x = HeapBuf.of(xb), p = packedWeights(HeapBuf.of(wb), in, out), bias = HeapBuf.of(biasb), y = HeapBuf.of(yb);
        int colTasks = ceilDiv(out, NC);
        pool.forEach(ceilDiv(rows, MC) * colTasks,
                t -> gemmTask(x, xStride, xCol, in, p, bias, y, out, (t / colTasks) * MC, Math.min(rows, (t / colTasks + 1) * MC), (t % colTasks) * NC));
    }

    /**
     * W packed for the register tiles: an uploaded W (a constant) is packed on first use and kept; any
     * other W is packed on every call, into the calling thread's scratch.
     */
    private float[] packedWeights(float[] w, int in, int out) {
        PackedWeights p = weights.get(w);
        if (p == null) return pack(w, in, out, SCRATCH.get().pack(ceilDiv(out, NR) * NR * in));
        if (p.in != in || p.out != out) {
            p = new PackedWeights(in, out, pack(w, in, out, new float[ceilDiv(out, NR) * NR * in]));
            weights.put(w, p);
        }
        return p.strips;
    }

    /**
     * W (out, in) as strips of NR outputs, k-major so that a strip row is two vectors: output o + i of
     * the strip starting at o, depth k, is at o * in + k * NR + i; the last strip is zero-padded.
     */
    private static float[] pack(float[] w, int in, int out, float[] p) {
        for (int o = 0; o < out; o += NR) {
            int nr = Math.min(NR, out - o);
            for (int i = 0; i < NR; i++) {
                if (i < nr) for (int k = 0; k < in; k++) p[o * in + k * NR + i] = w[(o + i) * in + k];
                else for (int k = 0; k < in; k++) p[o * in + k * NR + i] = 0;
            }
        }
        return p;
    }

    /**
     * Rows [r0, r1) and outputs [o0, o0 + NC) of y from the packed W: 6x2-vector register tiles
     * accumulate over each KC-deep block of a strip, starting from the bias (first block) or y (later blocks).
     */
    private static void gemmTask(float[] x, int xs, int xc, int in, float[] p, float[] bias, float[] y, int out, int r0, int r1, int o0) {
        int o1 = Math.min(o0 + NC, out);
        float[] edge = SCRATCH.get().edge(MC * NR);
        for (int k0 = 0; k0 < in; k0 += KC) {
            int kc = Math.min(KC, in - k0);
            boolean first = k0 == 0;
            for (int o = o0; o < o1; o += NR) {
                int nr = Math.min(NR, o1 - o), base = o * in + k0 * NR;
                if (nr == NR) {
                    gemmRows(x, xs, xc + k0, r0, r1, kc, p, base, y, r0 * out + o, out, bias, o, first);
                    continue;
                }
                // the last, narrower strip: run the same tiles on a zero-padded copy of its outputs
                for (int r = r0; r < r1; r++)
                    for (int i = 0; i < NR; i++)
                        edge[(r - r0) * NR + i] = i >= nr ? 0 : first ? (bias == null ? 0 : bias[o + i]) : y[r * out + o + i];
                gemmRows(x, xs, xc + k0, r0, r1, kc, p, base, edge, 0, NR, null, 0, false);
                for (int r = r0; r < r1; r++) System.arraycopy(edge, (r - r0) * NR, y, r * out + o, nr);
            }
        }
    }

    /** Rows [r0, r1) of one strip; y0 is row r0's first output in y (rows ys apart). */
    private static void gemmRows(float[] x, int xs, int xc, int r0, int r1, int kc, float[] p, int pb,
                                 float[] y, int y0, int ys, float[] bias, int bo, boolean first) {
        int r = r0;
        for (; r + MR <= r1; r += MR) gemm6(x, r * xs + xc, xs, kc, p, pb, y, y0 + (r - r0) * ys, ys, bias, bo, first);
        for (; r < r1; r++) gemm1(x, r * xs + xc, kc, p, pb, y, y0 + (r - r0) * ys, bias, bo, first);
    }

    private static void gemm6(float[] x, int x0, int xs, int kc, float[] p, int pb, float[] y, int y0, int ys, float[] bias, int bo, boolean first) {
        FloatVector c00, c01, c10, c11, c20, c21, c30, c31, c40, c41, c50, c51;
        if (first) {
            FloatVector b0 = bias == null ? FloatVector.zero(F) : FloatVector.fromArray(F, bias, bo);
            FloatVector b1 = bias == null ? FloatVector.zero(F) : FloatVector.fromArray(F, bias, bo + VL);
            c00 = c10 = c20 = c30 = c40 = c50 = b0;
            c01 = c11 = c21 = c31 = c41 = c51 = b1;
        } else {
            c00 = FloatVector.fromArray(F, y, y0); c01 = FloatVector.fromArray(F, y, y0 + VL);
            c10 = FloatVector.fromArray(F, y, y0 + ys); c11 = FloatVector.fromArray(F, y, y0 + ys + VL);
            c20 = FloatVector.fromArray(F, y, y0 + 2 * ys); c21 = FloatVector.fromArray(F, y, y0 + 2 * ys + VL);
            c30 = FloatVector.fromArray(F, y, y0 + 3 * ys); c31 = FloatVector.fromArray(F, y, y0 + 3 * ys + VL);
            c40 = FloatVector.fromArray(F, y, y0 + 4 * ys); c41 = FloatVector.fromArray(F, y, y0 + 4 * ys + VL);
            c50 = FloatVector.fromArray(F, y, y0 + 5 * ys); c51 = FloatVector.fromArray(F, y, y0 + 5 * ys + VL);
        }
        for (int k = 0, pk = pb; k < kc; k++, pk += NR) {
            FloatVector w0 = FloatVector.fromArray(F, p, pk), w1 = FloatVector.fromArray(F, p, pk + VL);
            FloatVector a = FloatVector.broadcast(F, x[x0 + k]);
            c00 = w0.fma(a, c00); c01 = w1.fma(a, c01);
            a = FloatVector.broadcast(F, x[x0 + xs + k]);
            c10 = w0.fma(a, c10); c11 = w1.fma(a, c11);
            a = FloatVector.broadcast(F, x[x0 + 2 * xs + k]);
            c20 = w0.fma(a, c20); c21 = w1.fma(a, c21);
            a = FloatVector.broadcast(F, x[x0 + 3 * xs + k]);
            c30 = w0.fma(a, c30); c31 = w1.fma(a, c31);
            a = FloatVector.broadcast(F, x[x0 + 4 * xs + k]);
            c40 = w0.fma(a, c40); c41 = w1.fma(a, c41);
            a = FloatVector.broadcast(F, x[x0 + 5 * xs + k]);
            c50 = w0.fma(a, c50); c51 = w1.fma(a, c51);
        }
        c00.intoArray(y, y0); c01.intoArray(y, y0 + VL);
        c10.intoArray(y, y0 + ys); c11.intoArray(y, y0 + ys + VL);
        c20.intoArray(y, y0 + 2 * ys); c21.intoArray(y, y0 + 2 * ys + VL);
        c30.intoArray(y, y0 + 3 * ys); c31.intoArray(y, y0 + 3 * ys + VL);
        c40.intoArray(y, y0 + 4 * ys); c41.intoArray(y, y0 + 4 * ys + VL);
        c50.intoArray(y, y0 + 5 * ys); c51.intoArray(y, y0 + 5 * ys + VL);
    }

    private static void gemm1(float[] x, int x0, int kc, float[] p, int pb, float[] y, int y0, float[] bias, int bo, boolean first) {
        FloatVector c0, c1;
        if (first) {
            c0 = bias == null ? FloatVector.zero(F) : FloatVector.fromArray(F, bias, bo);
            c1 = bias == null ? FloatVector.zero(F) : FloatVector.fromArray(F, bias, bo + VL);
        } else {
            c0 = FloatVector.fromArray(F, y, y0);
            c1 = FloatVector.fromArray(F, y, y0 + VL);
        }
        for (int k = 0, pk = pb; k < kc; k++, pk += NR) {
            FloatVector a = FloatVector.broadcast(F, x[x0 + k]);
            c0 = FloatVector.fromArray(F, p, pk).fma(a, c0);
            c1 = FloatVector.fromArray(F, p, pk + VL).fma(a, c1);
        }
        c0.intoArray(y, y0);
        c1.intoArray(y, y0 + VL);
    }

    // ---- step 2: depthwise conv + bias + silu ----------------------------------------------------------

    @Override
    public void convSilu(Buf srcb, int srcStride, int srcCol, int batch, int len, int channels, Buf wb, Buf biasb, int k, Buf dstb) {
        float[] src = HeapBuf.of(srcb), w = HeapBuf.of(wb), bias = HeapBuf.of(biasb), dst = HeapBuf.of(dstb);
        // taps transposed to (k, channels), so that one tap of consecutive channels is a vector
        float[] wt = SCRATCH.get().convTaps(k * channels);
        for (int c = 0; c < channels; c++)
            for (int j = 0; j < k; j++) wt[j * channels + c] = w[c * k + j];
        int perSeq = ceilDiv(len, ROWS_PER_TASK), pad = k / 2, cv = F.loopBound(channels);
        pool.forEach(batch * perSeq, task -> {
            int b = task / perSeq, t0 = (task % perSeq) * ROWS_PER_TASK, t1 = Math.min(len, t0 + ROWS_PER_TASK);
            for (int t = t0; t < t1; t++) {
                int jLo = Math.max(0, pad - t), jHi = Math.min(k, len + pad - t), d0 = (b * len + t) * channels;
                int s0 = (b * len + t - pad) * srcStride + srcCol;
                for (int c = 0; c < cv; c += VL) {
                    FloatVector acc = bias == null ? FloatVector.zero(F) : FloatVector.fromArray(F, bias, c);
                    for (int j = jLo; j < jHi; j++)
                        acc = FloatVector.fromArray(F, wt, j * channels + c).fma(FloatVector.fromArray(F, src, s0 + j * srcStride + c), acc);
                    silu(acc).intoArray(dst, d0 + c);
                }
                for (int c = cv; c < channels; c++) {
                    float s = bias == null ? 0 : bias[c];
                    for (int j = jLo; j < jHi; j++) s = Math.fma(wt[j * channels + c], src[s0 + j * srcStride + c], s);
                    dst[d0 + c] = silu(s);
                }
            }
        });
    }

    // ---- steps 4, 5: chunked SSD as small matrix products -----------------------------------------------

    /**
     * One task per (batch, head), chunks in scan order. Per chunk of q steps (SPEC.md chunked
     * algorithm): x, C and B^T of the chunk are packed in scan order (the backward direction is read
     * in place through {@link ScanLayout#position}); then M = (C B^T) o exp(segsum) o dt (lower
     * triangle), Y = M X + diag(exp(cum)) C S^T, and S <- exp(cum_end) S + B^T diag(w) X with
     * w_j = exp(cum_end - cum_j) dt_j. S is kept as (N, P).
     */
    @Override
    public void ssdScan(ScanLayout s, Buf xbcb, Buf dtb, Buf ab, Buf initb, Buf yb) {
        float[] xbc = HeapBuf.of(xbcb), dt = HeapBuf.of(dtb), a = HeapBuf.of(ab), init = HeapBuf.of(initb), y = HeapBuf.of(yb);
        int perGroup = s.heads() / s.groups(), blocks = ceilDiv(perGroup, HEADS_PER_TASK), groups = s.groups();
        pool.forEach(s.batch() * groups * blocks, t -> {
            int h0 = (t % (groups * blocks)) / blocks * perGroup + (t % blocks) * HEADS_PER_TASK;
            scanHeads(s, xbc, dt, a, init, y, t / (groups * blocks), h0, Math.min(h0 + HEADS_PER_TASK, ((h0 / perGroup) + 1) * perGroup));
        });
    }

    /** Heads [h0, h1) of one group and one sequence: the chunk's C B^T is computed once and shared by the heads. */
    private static void scanHeads(ScanLayout s, float[] xbc, float[] dt, float[] a, float[] init, float[] y, int b, int h0, int h1) {
        int L = s.len(), P = s.headdim(), N = s.state(), Q = s.chunk(), S = s.xbcStride(), HP = s.heads() * P;
        int Qp = ceilDiv(Q, VL) * VL, g = s.group(h0), bo = s.bCol() + g * N, co = s.cCol() + g * N;
        Scratch sc = SCRATCH.get();
        sc.ssd(Q, Qp, P, N, h1 - h0);
        float[] xs = sc.x, bt = sc.bt, btw = sc.btw, cs = sc.c, ce = sc.ce, scores = sc.scores, m = sc.m, dts = sc.dts;
        double[] cumD = sc.cumD;
        int[] rows = sc.rows, yRow = sc.yRow, mRow = sc.mRow, stRow = sc.stRow;
        for (int h = h0; h < h1; h++) {
            float[] st = sc.states[h - h0];
            for (int n = 0; n < N; n++)
                for (int p = 0; p < P; p++) st[n * P + p] = init == null ? 0 : init[(h * P + p) * N + n];
        }
        for (int c0 = 0; c0 < L; c0 += Q) {
            int q = Math.min(Q, L - c0);
            for (int i = 0; i < q; i++) {
                int ri = b * L + s.position(c0 + i);
                rows[i] = ri;
                System.arraycopy(xbc, ri * S + co, cs, i * N, N);
                for (int n = 0; n < N; n++) bt[n * Qp + i] = xbc[ri * S + bo + n];
            }
            // C B^T, only the column vectors that reach the diagonal
            smallGemm(q, N, false, true, cs, N, bt, Qp, Qp, scores, mRow, false, 1f);
            for (int h = h0; h < h1; h++) {
                float[] st = sc.states[h - h0];
                float ah = a[h];
                double sum = 0;
                for (int i = 0; i < q; i++) {
                    int ri = rows[i];
                    float dti = dt[ri * s.dtStride() + s.dtCol() + h];
                    sum += (double) dti * ah;
                    cumD[i] = sum;
                    dts[i] = dti;
                    yRow[i] = ri * HP + h * P;
                    System.arraycopy(xbc, ri * S + s.xCol() + h * P, xs, i * P, P);
                }
                for (int i = 0; i < q; i++) decayMask(scores, m, i * Qp, i, cumD, dts, sc.e);
                smallGemm(q, q, true, false, m, Qp, xs, P, P, y, yRow, false, 1f);
                for (int i = 0; i < q; i++) {
                    float e = (float) Math.exp(cumD[i]);
                    for (int n = 0; n < N; n++) ce[i * N + n] = cs[i * N + n] * e;
                }
                smallGemm(q, N, false, false, ce, N, st, P, P, y, yRow, true, 1f);
                for (int j = 0; j < q; j++) {
                    float wj = (float) Math.exp(cumD[q - 1] - cumD[j]) * dts[j];
                    for (int n = 0; n < N; n++) btw[n * Qp + j] = bt[n * Qp + j] * wj;
                }
                smallGemm(N, q, false, false, btw, Qp, xs, P, P, st, stRow, true, (float) Math.exp(cumD[q - 1]));
            }
        }
    }

    /**
     * Row i of M from row i of the scores: M[i][j] = (C_i . B_j) exp(cum_i - cum_j) dt_j for j <= i, 0 beyond;
     * e is scratch. The exponents are differences of the double running sums, rounded once: float sums
     * lose precision, and overflow to -inf (then -inf - -inf = NaN) when dt A is large.
     */
    private static void decayMask(float[] scores, float[] m, int off, int i, double[] cumD, float[] dts, float[] e) {
        for (int j = 0; j <= i; j++) e[j] = (float) (cumD[i] - cumD[j]);
        expInPlace(e, i + 1);
        for (int j0 = 0; j0 <= i; j0 += VL) {
            FloatVector v = FloatVector.fromArray(F, scores, off + j0).mul(FloatVector.fromArray(F, e, j0)).mul(FloatVector.fromArray(F, dts, j0));
            VectorMask<Float> keep = IOTA.compare(VectorOperators.LE, (float) (i - j0));
            FloatVector.zero(F).blend(v, keep).intoArray(m, off + j0);
        }
    }

    /** a[0, roundUp(n)) = e^a, in a loop of its own so that the JIT inlines {@link #exp} (a call would box the vectors). */
    private static void expInPlace(float[] a, int n) {
        for (int j = 0; j < n; j += VL) exp(FloatVector.fromArray(F, a, j)).intoArray(a, j);
    }

    /**
     * out[outRow[r] + c] (+)= sum_k A[r*aRow + k] B[k*bRow + c] for r < rows, c < cols, in tiles of four
     * rows by one vector. {@code triK}: row r only needs k <= r (A is zero beyond), {@code triCols}:
     * row r only needs the column vectors up to its diagonal. Accumulating starts from out * scale.
     */
    private static void smallGemm(int rows, int kn, boolean triK, boolean triCols, float[] A, int aRow, float[] B, int bRow,
                                  int cols, float[] out, int[] outRow, boolean accumulate, float scale) {
        for (int r0 = 0; r0 < rows; r0 += 4) {
            int rn = Math.min(4, rows - r0);
            int k1 = triK ? Math.min(kn, r0 + rn) : kn;
            int c1 = triCols ? Math.min(cols, ceilDiv(r0 + rn, VL) * VL) : cols, cv = F.loopBound(c1);
            if (rn == 4) {
                int a0 = r0 * aRow, a1 = a0 + aRow, a2 = a1 + aRow, a3 = a2 + aRow;
                int o0 = outRow[r0], o1 = outRow[r0 + 1], o2 = outRow[r0 + 2], o3 = outRow[r0 + 3];
                int c = 0;
                for (; c + 2 * VL <= cv; c += 2 * VL) tile4x2(k1, A, a0, a1, a2, a3, B, bRow, c, out, o0, o1, o2, o3, accumulate, scale);
                for (; c < cv; c += VL) {
                    FloatVector s0, s1, s2, s3;
                    if (accumulate) {
                        s0 = FloatVector.fromArray(F, out, o0 + c).mul(scale);
                        s1 = FloatVector.fromArray(F, out, o1 + c).mul(scale);
                        s2 = FloatVector.fromArray(F, out, o2 + c).mul(scale);
                        s3 = FloatVector.fromArray(F, out, o3 + c).mul(scale);
                    } else {
                        s0 = s1 = s2 = s3 = FloatVector.zero(F);
                    }
                    for (int k = 0; k < k1; k++) {
                        FloatVector bv = FloatVector.fromArray(F, B, k * bRow + c);
                        s0 = bv.fma(FloatVector.broadcast(F, A[a0 + k]), s0);
                        s1 = bv.fma(FloatVector.broadcast(F, A[a1 + k]), s1);
                        s2 = bv.fma(FloatVector.broadcast(F, A[a2 + k]), s2);
                        s3 = bv.fma(FloatVector.broadcast(F, A[a3 + k]), s3);
                    }
                    s0.intoArray(out, o0 + c);
                    s1.intoArray(out, o1 + c);
                    s2.intoArray(out, o2 + c);
                    s3.intoArray(out, o3 + c);
                }
            } else {
                for (int r = r0; r < r0 + rn; r++) {
                    int a0 = r * aRow, o0 = outRow[r], kr = triK ? Math.min(kn, r + 1) : kn;
                    for (int c = 0; c < cv; c += VL) {
                        FloatVector s0 = accumulate ? FloatVector.fromArray(F, out, o0 + c).mul(scale) : FloatVector.zero(F);
                        for (int k = 0; k < kr; k++) s0 = FloatVector.fromArray(F, B, k * bRow + c).fma(FloatVector.broadcast(F, A[a0 + k]), s0);
                        s0.intoArray(out, o0 + c);
                    }
                }
            }
            for (int r = r0; r < r0 + rn; r++) {
                int kr = triK ? Math.min(kn, r + 1) : kn;
                for (int c = cv; c < c1; c++) {
                    float s0 = accumulate ? out[outRow[r] + c] * scale : 0;
                    for (int k = 0; k < kr; k++) s0 = Math.fma(A[r * aRow + k], B[k * bRow + c], s0);
                    out[outRow[r] + c] = s0;
                }
            }
        }
    }

    /** Four rows by two vectors of {@link #smallGemm}, columns [c, c + 2 VL): six loads per eight FMAs instead of five per four. */
    private static void tile4x2(int k1, float[] A, int a0, int a1, int a2, int a3, float[] B, int bRow, int c,
                                float[] out, int o0, int o1, int o2, int o3, boolean accumulate, float scale) {
        FloatVector s0, s1, s2, s3, t0, t1, t2, t3;
        if (accumulate) {
            s0 = FloatVector.fromArray(F, out, o0 + c).mul(scale);
            s1 = FloatVector.fromArray(F, out, o1 + c).mul(scale);
            s2 = FloatVector.fromArray(F, out, o2 + c).mul(scale);
            s3 = FloatVector.fromArray(F, out, o3 + c).mul(scale);
            t0 = FloatVector.fromArray(F, out, o0 + c + VL).mul(scale);
            t1 = FloatVector.fromArray(F, out, o1 + c + VL).mul(scale);
            t2 = FloatVector.fromArray(F, out, o2 + c + VL).mul(scale);
            t3 = FloatVector.fromArray(F, out, o3 + c + VL).mul(scale);
        } else {
            s0 = s1 = s2 = s3 = t0 = t1 = t2 = t3 = FloatVector.zero(F);
        }
        for (int k = 0, b = c; k < k1; k++, b += bRow) {
            FloatVector u = FloatVector.fromArray(F, B, b), v = FloatVector.fromArray(F, B, b + VL);
            FloatVector x = FloatVector.broadcast(F, A[a0 + k]);
            s0 = u.fma(x, s0); t0 = v.fma(x, t0);
            x = FloatVector.broadcast(F, A[a1 + k]);
            s1 = u.fma(x, s1); t1 = v.fma(x, t1);
            x = FloatVector.broadcast(F, A[a2 + k]);
            s2 = u.fma(x, s2); t2 = v.fma(x, t2);
            x = FloatVector.broadcast(F, A[a3 + k]);
            s3 = u.fma(x, s3); t3 = v.fma(x, t3);
        }
        s0.intoArray(out, o0 + c); t0.intoArray(out, o0 + c + VL);
        s1.intoArray(out, o1 + c); t1.intoArray(out, o1 + c + VL);
        s2.intoArray(out, o2 + c); t2.intoArray(out, o2 + c + VL);
        s3.intoArray(out, o3 + c); t3.intoArray(out, o3 + c + VL);
    }

    // ---- step 6: shift + sum + diagonal ------------------------------------------------------------

    @Override
    public void shiftAddDiagonal(int batch, int len, int heads, int headdim, Buf yFb, Buf yBb, Buf xb, int xStride, Buf deltab, Buf outb) {
        float[] yF = HeapBuf.of(yFb), yB = HeapBuf.of(yBb), x = HeapBuf.of(xb), delta = HeapBuf.of(deltab), out = HeapBuf.of(outb);
        int D = heads * headdim, rows = batch * len, pv = F.loopBound(headdim);
        pool.forEach(ceilDiv(rows, ROWS_PER_TASK), task -> {
            for (int r = task * ROWS_PER_TASK, r1 = Math.min(rows, r + ROWS_PER_TASK); r < r1; r++) {
                int t = r % len;
                for (int h = 0; h < heads; h++) {
                    float d = delta[r * heads + h];
                    int i0 = h * headdim;
                    for (int p = 0; p < pv; p += VL) {
                        int i = i0 + p;
                        FloatVector v = FloatVector.fromArray(F, x, r * xStride + i).mul(d);
                        if (t > 0) v = v.add(FloatVector.fromArray(F, yF, (r - 1) * D + i));
                        if (t < len - 1) v = v.add(FloatVector.fromArray(F, yB, (r + 1) * D + i));
                        v.intoArray(out, r * D + i);
                    }
                    for (int p = pv; p < headdim; p++) {
                        int i = i0 + p;
                        float v = x[r * xStride + i] * d;
                        if (t > 0) v += yF[(r - 1) * D + i];
                        if (t < len - 1) v += yB[(r + 1) * D + i];
                        out[r * D + i] = v;
                    }
                }
            }
        });
    }

    // ---- step 7: gated RMSNorm ----------------------------------------------------------------------

    @Override
    public void gatedRmsNorm(Buf yb, int rows, int dim, Buf zb, int zStride, int zCol, Buf wb, float eps, Buf outb) {
        float[] y = HeapBuf.of(yb), z = HeapBuf.of(zb), w = HeapBuf.of(wb), out = HeapBuf.of(outb);
        int dv = F.loopBound(dim);
        pool.forEach(ceilDiv(rows, ROWS_PER_TASK), task -> {
            float[] lanes = SCRATCH.get().lanes;
            for (int r = task * ROWS_PER_TASK, r1 = Math.min(rows, r + ROWS_PER_TASK); r < r1; r++) {
                int y0 = r * dim, z0 = r * zStride + zCol;
                FloatVector acc = FloatVector.zero(F);
                for (int i = 0; i < dv; i += VL) {
                    FloatVector v = FloatVector.fromArray(F, y, y0 + i);
                    acc = v.fma(v, acc);
                }
                acc.intoArray(lanes, 0);
                double ss = 0;
                for (float l : lanes) ss += l;
                for (int i = dv; i < dim; i++) ss += (double) y[y0 + i] * y[y0 + i];
                float inv = (float) (1 / Math.sqrt(ss / dim + eps));
                for (int i = 0; i < dv; i += VL)
                    FloatVector.fromArray(F, y, y0 + i).mul(inv).mul(FloatVector.fromArray(F, w, i))
                            .mul(silu(FloatVector.fromArray(F, z, z0 + i))).intoArray(out, y0 + i);
                for (int i = dv; i < dim; i++) out[y0 + i] = y[y0 + i] * inv * w[i] * silu(z[z0 + i]);
            }
        });
    }

    // ---- the encoder around the mixers: LayerNorm and the residual vectorized and on the workers; embed,
    // maskRows, poolRows and activate (per call: a gather, a row copy, the pooler's few rows) are the scalar ones

    @Override
    public void layerNorm(Buf xb, int rows, int d, Buf wb, Buf bb, float eps, Buf outb) {
        float[] x = HeapBuf.of(xb), w = HeapBuf.of(wb), b = HeapBuf.of(bb), out = HeapBuf.of(outb);
        int dv = F.loopBound(d);
        pool.forEach(ceilDiv(rows, ROWS_PER_TASK), task -> {
            float[] lanes = SCRATCH.get().lanes;
            for (int r = task * ROWS_PER_TASK, r1 = Math.min(rows, r + ROWS_PER_TASK); r < r1; r++) {
                int o = r * d;
                if (dv == 0) {
                    normalizeRow(x, o, d, w, b, eps, out);
                    continue;
                }
                FloatVector acc = FloatVector.zero(F);
                for (int i = 0; i < dv; i += VL) acc = acc.add(FloatVector.fromArray(F, x, o + i));
                double mean = sumLanes(acc, lanes);
                for (int i = dv; i < d; i++) mean += x[o + i];
                mean /= d;
                float m = (float) mean;
                acc = FloatVector.zero(F);
                for (int i = 0; i < dv; i += VL) {
                    FloatVector c = FloatVector.fromArray(F, x, o + i).sub(m);
                    acc = c.fma(c, acc);
                }
                double var = sumLanes(acc, lanes);
                for (int i = dv; i < d; i++) var += (x[o + i] - mean) * (x[o + i] - mean);
                float inv = (float) (1 / Math.sqrt(var / d + eps));
                for (int i = 0; i < dv; i += VL)
                    FloatVector.fromArray(F, x, o + i).sub(m).mul(inv).fma(FloatVector.fromArray(F, w, i), FloatVector.fromArray(F, b, i))
                            .intoArray(out, o + i);
                for (int i = dv; i < d; i++) out[o + i] = (x[o + i] - m) * inv * w[i] + b[i];
            }
        });
    }

    private static double sumLanes(FloatVector v, float[] lanes) {
        v.intoArray(lanes, 0);
        double s = 0;
        for (float l : lanes) s += l;
        return s;
    }

    @Override
    public void addInPlace(Buf accb, Buf xb, long n) {
        float[] acc = HeapBuf.of(accb), x = HeapBuf.of(xb);
        int total = Math.toIntExact(n), block = ROWS_PER_TASK * 1024;
        pool.forEach(ceilDiv(total, block), task -> {
            int i0 = task * block, i1 = Math.min(total, i0 + block), iv = i0 + F.loopBound(i1 - i0);
            int i = i0;
            for (; i < iv; i += VL) FloatVector.fromArray(F, acc, i).add(FloatVector.fromArray(F, x, i)).intoArray(acc, i);
            for (; i < i1; i++) acc[i] += x[i];
        });
    }

    // ---- lane math --------------------------------------------------------------------------------------

    private static final float LOG2E = 1.44269504f, LN2_HI = 0.693359375f, LN2_LO = -2.12194440e-4f;
    /** 1.5 * 2^23: adding it rounds to an integer held in the low mantissa bits. */
    private static final float ROUNDER = 12582912f;

    /** e^x, within 2 ulp for x in [-87.3, 88] (clamped outside): x = n ln2 + r, e^r by its Taylor series to r^7. */
    static FloatVector exp(FloatVector x) {
        x = x.max(-87.3f).min(88f);
        FloatVector t = x.fma(LOG2E, ROUNDER);
        FloatVector n = t.sub(ROUNDER);
        FloatVector r = n.fma(FloatVector.broadcast(F, -LN2_HI), x);
        r = n.fma(FloatVector.broadcast(F, -LN2_LO), r);
        FloatVector p = FloatVector.broadcast(F, 1 / 5040f).fma(r, FloatVector.broadcast(F, 1 / 720f))
                .fma(r, FloatVector.broadcast(F, 1 / 120f)).fma(r, FloatVector.broadcast(F, 1 / 24f))
                .fma(r, FloatVector.broadcast(F, 1 / 6f)).fma(r, FloatVector.broadcast(F, 0.5f))
                .fma(r, FloatVector.broadcast(F, 1f)).fma(r, FloatVector.broadcast(F, 1f));
        FloatVector scale = t.reinterpretAsInts().sub(Float.floatToRawIntBits(ROUNDER) - 127)
                .lanewise(VectorOperators.LSHL, 23).reinterpretAsFloats();
        return p.mul(scale);
    }

    static FloatVector silu(FloatVector v) {
        return v.div(exp(v.neg()).add(1f));
    }

    private static int ceilDiv(int a, int b) {
        return (a + b - 1) / b;
    }

    private static float[] iota() {
        float[] f = new float[VL];
        for (int i = 0; i < VL; i++) f[i] = i;
        return f;
    }

    /** Per-thread working memory, grown on demand and reused by every later call. */
    private static final class Scratch {
        final float[] lanes = new float[VL];
        private float[] pack = new float[0], convTaps = new float[0], edge = new float[0];
        private int lastQ = -1, lastP = -1, lastN = -1;
        float[] e = new float[0], x = new float[0], bt = new float[0], btw = new float[0], c = new float[0], ce = new float[0], scores = new float[0], m = new float[0], dts = new float[0];
        float[][] states = new float[0][];
        double[] cumD = new double[0];
        int[] rows = new int[0], yRow = new int[0], mRow = new int[0], stRow = new int[0];

        float[] pack(int n) {
            if (pack.length < n) pack = new float[n];
            return pack;
        }

        float[] convTaps(int n) {
            if (convTaps.length < n) convTaps = new float[n];
            return convTaps;
        }

        float[] edge(int n) {
            if (edge.length < n) edge = new float[n];
            return edge;
        }

        /** Sizes the scan's tiles for chunk Q (padded to Qp), headdim P, state N and {@code heads} states. */
        void ssd(int Q, int Qp, int P, int N, int heads) {
            if (Q != lastQ || P != lastP || N != lastN) {
                x = new float[Q * P];
                c = new float[Q * N];
                ce = new float[Q * N];
                bt = new float[N * Qp];
                btw = new float[N * Qp];
                scores = new float[Q * Qp];
                m = new float[Q * Qp];
                dts = new float[Qp];
                e = new float[Qp];
                cumD = new double[Qp];
                rows = new int[Qp];
                yRow = new int[Qp];
                mRow = new int[Q];
                for (int i = 0; i < Q; i++) mRow[i] = i * Qp;
                stRow = new int[N];
                for (int n = 0; n < N; n++) stRow[n] = n * P;
                states = new float[0][];
                lastQ = Q;
                lastP = P;
                lastN = N;
            }
            if (states.length < heads) {
                states = new float[heads][];
                for (int h = 0; h < heads; h++) states[h] = new float[N * P];
            }
        }
    }
}
