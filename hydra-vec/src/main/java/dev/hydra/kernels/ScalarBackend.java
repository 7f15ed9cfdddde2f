package dev.hydra.kernels;

import dev.hydra.backend.Backend;
import dev.hydra.backend.Buf;
import dev.hydra.backend.HeapBuf;
import dev.hydra.backend.HostFloats;
import dev.hydra.backend.ScanLayout;
import dev.hydra.backend.Sequences;
import dev.hydra.forward.Inputs;
import dev.hydra.math.Erf;

import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import java.util.Optional;

/**
 * The plain-Java fp32 kernels: each one a readable loop nest over heap arrays, and the fallback when
 * the Vector API is not available. Stateless; safe for concurrent calls on distinct outputs.
 */
public class ScalarBackend implements Backend {

    @Override
    public String name() {
        return "scalar";
    }

    @Override
    public Buf allocate(long n) {
        return new HeapBuf(new float[Math.toIntExact(n)]);
    }

    @Override
    public Buf upload(float[] host) {
        return new HeapBuf(host.clone());
    }

    @Override
    public Buf wrap(float[] host) {
        return new HeapBuf(host);
    }

    @Override
    public void download(Buf src, float[] dst) {
        System.arraycopy(HeapBuf.of(src), 0, dst, 0, dst.length);
    }

    @Override
    public void linear(Buf xb, int xStride, int xCol, int rows, int in, Buf wb, Buf biasb, int out, Buf yb) {
        float[] x = HeapBuf.of(xb), w = HeapBuf.of(wb), bias = HeapBuf.of(biasb), y = HeapBuf.of(yb);
        for (int r = 0; r < rows; r++) {
            int xo = r * xStride + xCol;
            for (int o = 0; o < out; o++) {
                float s = 0;
                int wo = o * in;
                for (int i = 0; i < in; i++) s += x[xo + i] * w[wo + i];
                y[r * out + o] = bias == null ? s : s + bias[o];
            }
        }
    }

    /** Into a whole Java array, the product goes straight into it: no work buffer, no copy (both serial, at a model's last step). */
    @Override
    public int linearToHost(Buf x, int xStride, int xCol, int rows, int in, Buf w, Buf bias, int out, Buf y, MemorySegment host) {
        Optional<float[]> whole = HostFloats.wholeArray(host);
        if (whole.isEmpty()) return Backend.super.linearToHost(x, xStride, xCol, rows, in, w, bias, out, y, host);
        try (Buf result = wrap(whole.get())) {
            linear(x, xStride, xCol, rows, in, w, bias, out, result);
        }
        return firstNonFinite(whole.get());
    }

    @Override
    public void convSilu(Buf src, int srcStride, int srcCol, Sequences seqs, int channels, Buf w, Buf bias, int k, Buf dst) {
        conv(src, srcStride, srcCol, seqs, channels, w, bias, k, dst, true);
    }

    @Override
    public void depthwiseConv(Buf src, int srcStride, int srcCol, Sequences seqs, int channels, Buf w, Buf bias, int k, Buf dst) {
        conv(src, srcStride, srcCol, seqs, channels, w, bias, k, dst, false);
    }

    private static void conv(Buf srcb, int srcStride, int srcCol, Sequences seqs, int channels, Buf wb, Buf biasb, int k,
                             Buf dstb, boolean activate) {
        float[] src = HeapBuf.of(srcb), w = HeapBuf.of(wb), bias = HeapBuf.of(biasb), dst = HeapBuf.of(dstb);
        int pad = k / 2;
        for (int b = 0; b < seqs.count(); b++)
            for (int t = 0, first = seqs.start(b), len = seqs.length(b); t < len; t++) {
                int row = first + t;
                for (int c = 0; c < channels; c++) {
                    float s = bias == null ? 0 : bias[c];
                    for (int j = 0; j < k; j++) {
                        int ts = t + j - pad;
                        if (ts >= 0 && ts < len) s += w[c * k + j] * src[(first + ts) * srcStride + srcCol + c];
                    }
                    dst[row * channels + c] = activate ? silu(s) : s;
                }
            }
    }

    @Override
    public void softplusDt(Buf srcb, int srcStride, int srcCol, int rows, int heads, Buf dtBiasb, float lo, float hi, Buf dstb) {
        softplusDtRows(HeapBuf.of(srcb), srcStride, srcCol, 0, rows, heads, HeapBuf.of(dtBiasb), lo, hi, HeapBuf.of(dstb));
    }

    /** Rows [r0, r1) of {@link #softplusDt}. */
    protected static void softplusDtRows(float[] src, int srcStride, int srcCol, int r0, int r1, int heads, float[] dtBias, float lo, float hi, float[] dst) {
        for (int r = r0; r < r1; r++)
            for (int h = 0; h < heads; h++)
                dst[r * heads + h] = Math.min(Math.max(softplus(src[r * srcStride + srcCol + h] + dtBias[h]), lo), hi);
    }

    /**
     * The chunked SSD for one direction, per (sequence, head): the four steps of docs/spec.md §1.5's chunked
     * algorithm in a streaming order: intra-chunk outputs (1) and the entering state's output (4) for
     * each chunk, then that chunk's contribution to the running state (2, 3).
     */
    @Override
    public void ssdScan(ScanLayout s, Buf xbcb, Buf dtb, Buf ab, Buf initb, Buf yb) {
        float[] xbc = HeapBuf.of(xbcb), dt = HeapBuf.of(dtb), a = HeapBuf.of(ab), init = HeapBuf.of(initb), y = HeapBuf.of(yb);
        int H = s.heads(), P = s.headdim(), N = s.state(), Q = s.chunk(), S = s.xbcStride(), HP = H * P;
        double[] dA = new double[Q];
        int[] row = new int[Q];
        float[] state = new float[P * N];
        float[] cb = new float[Q];
        for (int b = 0; b < s.seqs().count(); b++) {
            int L = s.seqs().length(b);
            for (int h = 0; h < H; h++) {
                int g = s.group(h), xo = s.xCol() + h * P, bo = s.bCol() + g * N, co = s.cCol() + g * N;
                if (init == null) Arrays.fill(state, 0f);
                else System.arraycopy(init, h * P * N, state, 0, P * N);
                for (int c0 = 0; c0 < L; c0 += Q) {
                    int q = Math.min(Q, L - c0);
                    for (int i = 0; i < q; i++) {
                        row[i] = s.row(b, c0 + i);
                        dA[i] = (double) dt[row[i] * s.dtStride() + s.dtCol() + h] * a[h];
                    }
                    // Decay exponents are summed over the segment they span (never as a difference of two
                    // cumulative sums, which cancels catastrophically once the sums are large).
                    double fromStart = 0;
                    for (int i = 0; i < q; i++) {
                        int ri = row[i];
                        fromStart += dA[i];
                        // (1) intra-chunk: sum_{j<=i} (C_i . B_j) exp(dA_{j+1} + ... + dA_i) dt_j x_j
                        double segment = 0;
                        for (int j = i; j >= 0; j--) {
                            int rj = row[j];
                            float dot = 0;
                            for (int n = 0; n < N; n++) dot += xbc[ri * S + co + n] * xbc[rj * S + bo + n];
                            cb[j] = flushed(dot * flushed((float) Math.exp(segment)) * dt[rj * s.dtStride() + s.dtCol() + h]);
                            segment += dA[j];
                        }
                        float decay = flushed((float) Math.exp(fromStart));
                        for (int p = 0; p < P; p++) {
                            float acc = 0;
                            for (int j = 0; j <= i; j++) acc += cb[j] * xbc[row[j] * S + xo + p];
                            // (4) the state entering the chunk, decayed to position i, read through C_i
                            float st = 0;
                            for (int n = 0; n < N; n++) st += state[p * N + n] * xbc[ri * S + co + n];
                            y[ri * HP + h * P + p] = acc + decay * st;
                        }
                    }
                    // (2) + (3): S <- exp(dA_0 + ... + dA_end) S + sum_j exp(dA_{j+1} + ... + dA_end) dt_j x_j B_j^T
                    float chunkDecay = flushed((float) Math.exp(fromStart));
                    for (int i = 0; i < P * N; i++) state[i] *= chunkDecay;
                    double segment = 0;
                    for (int j = q - 1; j >= 0; j--) {
                        int rj = row[j];
                        float wj = flushed(flushed((float) Math.exp(segment)) * dt[rj * s.dtStride() + s.dtCol() + h]);
                        segment += dA[j];
                        for (int p = 0; p < P; p++) {
                            float wx = wj * xbc[rj * S + xo + p];
                            for (int n = 0; n < N; n++) state[p * N + n] += wx * xbc[rj * S + bo + n];
                        }
                    }
                }
            }
        }
    }

    @Override
    public void shiftAddDiagonal(Sequences seqs, int heads, int headdim, Buf yFb, Buf yBb, Buf xb, int xStride, Buf deltab, Buf outb) {
        float[] yF = HeapBuf.of(yFb), yB = HeapBuf.of(yBb), x = HeapBuf.of(xb), delta = HeapBuf.of(deltab), out = HeapBuf.of(outb);
        int D = heads * headdim;
        for (int b = 0; b < seqs.count(); b++)
            for (int t = 0, len = seqs.length(b); t < len; t++) {
                int r = seqs.start(b) + t;
                for (int h = 0; h < heads; h++) {
                    float d = delta[r * heads + h];
                    for (int p = 0; p < headdim; p++) {
                        int i = h * headdim + p;
                        float v = x[r * xStride + i] * d;
                        if (t > 0) v += yF[(r - 1) * D + i];
                        if (t < len - 1) v += yB[(r + 1) * D + i];
                        out[r * D + i] = v;
                    }
                }
            }
    }

    @Override
    public void gatedRmsNorm(Buf yb, int rows, int dim, Buf zb, int zStride, int zCol, Buf wb, float eps, Buf outb) {
        float[] y = HeapBuf.of(yb), z = HeapBuf.of(zb), w = HeapBuf.of(wb), out = HeapBuf.of(outb);
        for (int r = 0; r < rows; r++) {
            double ss = 0;
            for (int i = 0; i < dim; i++) ss += (double) y[r * dim + i] * y[r * dim + i];
            float inv = (float) (1 / Math.sqrt(ss / dim + eps));
            for (int i = 0; i < dim; i++) out[r * dim + i] = y[r * dim + i] * inv * w[i] * silu(z[r * zStride + zCol + i]);
        }
    }

    /**
     * A decay, or a decayed weight, of the scan with magnitudes below the smallest normal float flushed
     * to zero, the same on every fp32 CPU path: what it carries is below fp32's resolution next to any
     * normal term, and a subnormal operand costs an Intel core about a hundred cycles per FMA.
     */
    protected static float flushed(float v) {
        return Math.abs(v) < Float.MIN_NORMAL ? 0f : v;
    }

    // ---- the encoder around the mixers ----------------------------------------------------------------

    @Override
    public void embed(int[] ids, int[] typeIds, Sequences seqs, Buf wordb, Buf typeb, Buf posb, int d, Buf outb) {
        float[] word = HeapBuf.of(wordb), type = HeapBuf.of(typeb), pos = HeapBuf.of(posb), out = HeapBuf.of(outb);
        for (int b = 0; b < seqs.count(); b++)
            for (int s = 0, r = seqs.start(b); s < seqs.length(b); s++, r++) {
                int w = ids[r] * d, t = typeIds[r] * d, p = s * d, o = r * d;
                for (int i = 0; i < d; i++) out[o + i] = word[w + i] + type[t + i] + (pos == null ? 0 : pos[p + i]);
            }
    }

    @Override
    public void layerNorm(Buf xb, int rows, int d, Buf wb, Buf bb, float eps, Buf outb) {
        float[] x = HeapBuf.of(xb), w = HeapBuf.of(wb), b = HeapBuf.of(bb), out = HeapBuf.of(outb);
        for (int r = 0; r < rows; r++) normalizeRow(x, r * d, d, w, b, eps, out);
    }

    /** One row of {@link #layerNorm}: mean and variance accumulated in double, two passes. */
    protected static void normalizeRow(float[] x, int o, int d, float[] w, float[] b, float eps, float[] out) {
        double mean = 0;
        for (int i = 0; i < d; i++) mean += x[o + i];
        mean /= d;
        double var = 0;
        for (int i = 0; i < d; i++) var += (x[o + i] - mean) * (x[o + i] - mean);
        float m = (float) mean, inv = (float) (1 / Math.sqrt(var / d + eps));
        for (int i = 0; i < d; i++) out[o + i] = (x[o + i] - m) * inv * w[i] + b[i];
    }

    @Override
    public void addInPlace(Buf accb, Buf xb, long n) {
        float[] acc = HeapBuf.of(accb), x = HeapBuf.of(xb);
        for (int i = 0; i < n; i++) acc[i] += x[i];
    }

    @Override
    public void maskRows(Buf xb, int rows, int d, Buf maskb, Buf outb) {
        float[] x = HeapBuf.of(xb), mask = HeapBuf.of(maskb), out = HeapBuf.of(outb);
        for (int r = 0; r < rows; r++) {
            if (mask[r] == 0) Arrays.fill(out, r * d, (r + 1) * d, 0f);
            else if (out != x) System.arraycopy(x, r * d, out, r * d, d);
        }
    }

    @Override
    public void poolRows(Buf hb, Sequences seqs, int d, Buf maskb, boolean mean, Buf outb) {
        float[] h = HeapBuf.of(hb), mask = HeapBuf.of(maskb), out = HeapBuf.of(outb);
        for (int b = 0; b < seqs.count(); b++) {
            int first = seqs.start(b), len = seqs.length(b);
            if (!mean) {
                System.arraycopy(h, first * d, out, b * d, d);
                continue;
            }
            float count = 0;
            for (int t = 0; t < len; t++) count += mask[first + t];
            float inv = 1 / Math.max(count, 1);
            for (int i = 0; i < d; i++) {
                float s = 0;
                for (int t = 0; t < len; t++) s += h[(first + t) * d + i];
                out[b * d + i] = s * inv;
            }
        }
    }

    @Override
    public void activate(Buf xb, long n, Activation f) {
        float[] x = HeapBuf.of(xb);
        for (int i = 0; i < n; i++) x[i] = f == Activation.TANH ? (float) Math.tanh(x[i]) : (float) Erf.gelu(x[i]);
    }

    @Override
    public long availableBytes() {
        return Inputs.heapFree();
    }

    protected static float silu(float v) {
        return v / (1 + (float) Math.exp(-v));
    }

    protected static float softplus(float v) {
        return v > 20 ? v : (float) Math.log1p(Math.exp(v));
    }
}
