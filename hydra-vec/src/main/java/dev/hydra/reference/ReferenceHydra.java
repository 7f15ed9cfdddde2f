package dev.hydra.reference;

import dev.hydra.HydraException;
import dev.hydra.config.HydraConfig;
import dev.hydra.forward.Inputs;
import dev.hydra.forward.Stages;
import dev.hydra.math.ChunkedScan;
import dev.hydra.math.QuasiseparableMatrix;
import dev.hydra.math.Recurrence;
import dev.hydra.math.ScanInputs.Direction;
import dev.hydra.math.ScanInputs;
import dev.hydra.math.ShiftAddDiagonal;
import dev.hydra.weights.HydraWeights;

import static dev.hydra.math.Fp64Ops.columns;
import static dev.hydra.math.Fp64Ops.depthwiseConv;
import static dev.hydra.math.Fp64Ops.gatedRmsNorm;
import static dev.hydra.math.Fp64Ops.linear;
import static dev.hydra.math.Fp64Ops.softplus;

/**
 * The Hydra layer in fp64, written to read like docs/spec.md §1: each numbered step is one method.
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
        // Step 3's A = -exp(A_log), in fp64: with it the goldens' mixer_matrix and mixer_output agree to 1e-15.
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
            mix = ShiftAddDiagonal.apply(in, yF, yB, delta);
        }
        double[] normed = gatedRmsNorm(mix, batch * len, c.dInner(), zxbcdt, c.projDim(), 0, w.normW());    // step 7
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
        double[] xbc = depthwiseConv(zxbcdt, c.projDim(), dIn, batch, len, c.convDim(), w.convW(), w.convB(), c.dConv(),
                c.convDim());                                                                          // step 2
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
}
