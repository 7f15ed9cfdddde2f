package dev.hydra.reference;

import dev.hydra.HydraException;
import dev.hydra.config.HydraConfig;
import dev.hydra.layer.Inputs;
import dev.hydra.layer.Stages;
import dev.hydra.materialize.QuasiseparableMatrix;
import dev.hydra.reference.ScanInputs.Direction;
import dev.hydra.weights.HydraWeights;

/**
 * The Hydra layer in fp64, written to read like SPEC.md section 1: each numbered step is one method.
 * Steps 4-6 run by one of three {@link Mixing} algorithms, which must agree to rounding. Stateless
 * after construction and safe to share between threads.
 */
public final class ReferenceHydra {

    /** How steps 4-6 are computed. */
    public enum Mixing {
        /** the literal state recurrence, one position at a time */
        RECURRENCE,
        /** the chunked SSD algorithm (what fast backends run) */
        CHUNKED,
        /** the materialized quasiseparable matrix applied to x (not for learnable initial states) */
        DENSE
    }

    private final HydraConfig c;
    private final HydraWeights<double[]> w;
    private final double[] a;

    public ReferenceHydra(HydraWeights<double[]> weights) {
        this.c = weights.config();
        this.w = weights;
        this.a = new double[c.nheads()];
        // Step 3's A in float32 like the release (golden README), so that we agree with its outputs to ~1e-12
        for (int h = 0; h < a.length; h++) a[h] = HydraWeights.a(w.aLog()[h]);
    }

    public HydraConfig config() {
        return c;
    }

    public double[] forward(double[] u, int batch, int len) {
        return forwardStages(u, batch, len, Mixing.CHUNKED).output();
    }

    /** Heap bytes a forward pass of (batch, len) allocates: every step's fp64 arrays and the scans' states. */
    public static long activationBytes(HydraConfig c, int batch, int len, Mixing mixing) {
        long rows = (long) batch * len;
        long doubles = rows * (c.projDim() + 3L * c.convDim() + 3L * c.nheads() + 4L * c.dInner() + c.dModel());
        doubles += switch (mixing) {
            case CHUNKED -> 2L * ((len + c.chunkSize() - 1) / c.chunkSize()) * c.headdim() * c.dState();
            case DENSE -> (long) batch * c.nheads() * len * len;
            case RECURRENCE -> 0;
        };
        return Double.BYTES * doubles;
    }

    public Stages<double[]> forwardStages(double[] u, int batch, int len, Mixing mixing) {
        checkInput(u, batch, len);
        Inputs.checkActivations(activationBytes(c, batch, len, mixing), (long) batch * len * c.projDim(), batch, len);
        double[] zxbcdt = linear(u, batch * len, c.dModel(), w.inProjW(), w.inProjB(), c.projDim());   // step 1
        ScanInputs in = prepare(zxbcdt, batch, len);
        double[] convOut = convOutOf(in);
        double[] yF = null, yB = null, mix;
        double[] delta = delta(in);
        if (mixing == Mixing.DENSE) {
            mix = QuasiseparableMatrix.apply(materialize(in, delta), in.x(), batch, len, c.nheads(), c.headdim());
        } else {
            yF = mixing == Mixing.RECURRENCE ? Recurrence.scan(in, Direction.FORWARD) : ChunkedScan.scan(in, Direction.FORWARD, c.chunkSize());
            yB = mixing == Mixing.RECURRENCE ? Recurrence.scan(in, Direction.BACKWARD) : ChunkedScan.scan(in, Direction.BACKWARD, c.chunkSize());
            mix = shiftAndAddDiagonal(in, yF, yB, delta);
        }
        double[] normed = gatedNorm(mix, zxbcdt, batch * len);
        double[] out = linear(normed, batch * len, c.dInner(), w.outProjW(), w.outProjB(), c.dModel());
        Inputs.checkOverflow(out, len, c.dModel(), "fp64");
        return new Stages<>(convOut, in.dtF(), in.dtB(), yF, yB, delta, mix, normed, out);
    }

    /** The mixer matrix (B, H, L, L) of steps 4-6 for this input. */
    public double[] materialize(double[] u, int batch, int len) {
        checkInput(u, batch, len);
        Inputs.checkActivations(activationBytes(c, batch, len, Mixing.DENSE), (long) batch * len * c.projDim(), batch, len);
        ScanInputs in = prepare(linear(u, batch * len, c.dModel(), w.inProjW(), w.inProjB(), c.projDim()), batch, len);
        return materialize(in, delta(in));
    }

    private double[] materialize(ScanInputs in, double[] delta) {
        if (c.learnableInitStates())
            throw new HydraException("materialize: this layer has learnable initial states, so its mixer is affine, not a matrix");
        return QuasiseparableMatrix.materialize(in, delta);
    }

    /** Steps 2-3 from the in_proj output: everything the scans read. */
    private ScanInputs prepare(double[] zxbcdt, int batch, int len) {
        int rows = batch * len, H = c.nheads(), GN = c.ngroups() * c.dState(), dIn = c.dInner();
        double[] xbc = convSilu(zxbcdt, batch, len);                                           // step 2
        double[] x = columns(xbc, rows, c.convDim(), 0, dIn);
        double[] bF = columns(xbc, rows, c.convDim(), dIn, GN);
        double[] cF = columns(xbc, rows, c.convDim(), dIn + GN, GN);
        double[] bB = columns(xbc, rows, c.convDim(), dIn + 2 * GN, GN);
        double[] cB = columns(xbc, rows, c.convDim(), dIn + 3 * GN, GN);
        int dtCol = 2 * dIn + 4 * GN;
        double[] dtF = dt(zxbcdt, rows, dtCol);                                                // step 3
        double[] dtB = dt(zxbcdt, rows, dtCol + H);
        return new ScanInputs(batch, len, H, c.headdim(), c.ngroups(), c.dState(), x, bF, cF, bB, cB, dtF, dtB, a, w.initStates());
    }

    private void checkInput(double[] u, int batch, int len) {
        Inputs.checkShape(u.length, batch, len, c.dModel(), "input");
        Inputs.checkFinite(u, len, c.dModel(), "input");
    }

    /** y = x W^T + b, W stored (out, in) like nn.Linear. */
    static double[] linear(double[] x, int rows, int in, double[] wt, double[] bias, int out) {
        double[] y = new double[rows * out];
        for (int r = 0; r < rows; r++)
            for (int o = 0; o < out; o++) {
                double s = bias == null ? 0 : bias[o];
                for (int i = 0; i < in; i++) s += x[r * in + i] * wt[o * in + i];
                y[r * out + o] = s;
            }
        return y;
    }

    /** Step 2: depthwise cross-correlation with zero padding d_conv/2, then silu, over the xBC columns. */
    private double[] convSilu(double[] zxbcdt, int batch, int len) {
        int C = c.convDim(), K = c.dConv(), pad = K / 2, proj = c.projDim(), col0 = c.dInner();
        double[] out = new double[batch * len * C];
        for (int b = 0; b < batch; b++)
            for (int t = 0; t < len; t++)
                for (int ch = 0; ch < C; ch++) {
                    double s = w.convB() == null ? 0 : w.convB()[ch];
                    for (int k = 0; k < K; k++) {
                        int src = t + k - pad;
                        if (src >= 0 && src < len) s += w.convW()[ch * K + k] * zxbcdt[(b * len + src) * proj + col0 + ch];
                    }
                    out[(b * len + t) * C + ch] = silu(s);
                }
        return out;
    }

    private double[] convOutOf(ScanInputs in) {
        int rows = in.batch() * in.len(), GN = c.ngroups() * c.dState(), C = c.convDim(), dIn = c.dInner();
        double[] out = new double[rows * C];
        double[][] parts = {in.x(), in.bF(), in.cF(), in.bB(), in.cB()};
        int[] widths = {dIn, GN, GN, GN, GN};
        for (int r = 0; r < rows; r++) {
            int col = 0;
            for (int k = 0; k < parts.length; k++) {
                System.arraycopy(parts[k], r * widths[k], out, r * C + col, widths[k]);
                col += widths[k];
            }
        }
        return out;
    }

    /** Step 3: softplus(dt_raw + dt_bias), clamped to dt_limit. */
    private double[] dt(double[] zxbcdt, int rows, int col) {
        int H = c.nheads(), proj = c.projDim();
        double[] dt = new double[rows * H];
        for (int r = 0; r < rows; r++)
            for (int h = 0; h < H; h++) {
                double v = softplus(zxbcdt[r * proj + col + h] + w.dtBias()[h]);
                dt[r * H + h] = Math.min(Math.max(v, c.dtMin()), c.dtMax());
            }
        return dt;
    }

    /** delta[t, h] = x_t . fc_D.weight[h] + D[h]. */
    private double[] delta(ScanInputs in) {
        return linear(in.x(), in.batch() * in.len(), c.dInner(), w.fcDW(), w.d(), c.nheads());
    }

    /** Step 6: y[t] = y_f[t-1] + y_b[t+1] + x_t delta[t, h]. */
    public static double[] shiftAndAddDiagonal(ScanInputs in, double[] yF, double[] yB, double[] delta) {
        int L = in.len(), H = in.heads(), P = in.headdim(), D = H * P;
        double[] y = new double[in.batch() * L * D];
        for (int b = 0; b < in.batch(); b++)
            for (int t = 0; t < L; t++)
                for (int h = 0; h < H; h++)
                    for (int p = 0; p < P; p++) {
                        int i = (b * L + t) * D + h * P + p;
                        double v = in.x()[i] * delta[(b * L + t) * H + h];
                        if (t > 0) v += yF[i - D];
                        if (t < L - 1) v += yB[i + D];
                        y[i] = v;
                    }
        return y;
    }

    /** Step 7: y / sqrt(mean(y^2) + 1e-5) * norm.weight * silu(z), z = the first d_inner columns of in_proj. */
    private double[] gatedNorm(double[] y, double[] zxbcdt, int rows) {
        int D = c.dInner(), proj = c.projDim();
        double[] out = new double[rows * D];
        for (int r = 0; r < rows; r++) {
            double ss = 0;
            for (int i = 0; i < D; i++) ss += y[r * D + i] * y[r * D + i];
            double inv = Double.isInfinite(ss) ? 1 / rescaledRms(y, r * D, D) : 1 / Math.sqrt(ss / D + 1e-5);
            for (int i = 0; i < D; i++) out[r * D + i] = y[r * D + i] * inv * w.normW()[i] * silu(zxbcdt[r * proj + i]);
        }
        return out;
    }

    /**
     * sqrt(mean(y^2) + 1e-5) for a row whose squares overflow (|y| above ~1e154): the same value, computed
     * on y / max|y| so that a finite result is not turned into zeros by an infinite sum of squares.
     */
    private static double rescaledRms(double[] y, int from, int n) {
        double max = 0;
        for (int i = 0; i < n; i++) max = Math.max(max, Math.abs(y[from + i]));
        double ss = 0;
        for (int i = 0; i < n; i++) ss += (y[from + i] / max) * (y[from + i] / max);
        return max * Math.sqrt(ss / n + 1e-5 / max / max);
    }

    private static double[] columns(double[] m, int rows, int stride, int from, int n) {
        double[] out = new double[rows * n];
        for (int r = 0; r < rows; r++) System.arraycopy(m, r * stride + from, out, r * n, n);
        return out;
    }

    static double silu(double v) {
        return v / (1 + Math.exp(-v));
    }

    /** PyTorch's softplus: log(1 + e^x), and x itself above the threshold 20. */
    static double softplus(double v) {
        return v > 20 ? v : Math.log1p(Math.exp(v));
    }
}
