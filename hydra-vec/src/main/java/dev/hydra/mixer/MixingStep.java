package dev.hydra.mixer;

import dev.hydra.config.MixerConfig;
import dev.hydra.config.MixerType;
import dev.hydra.math.QuasiseparableMatrix;
import dev.hydra.math.ScanInputs;
import dev.hydra.weights.HydraWeights;

import java.util.Map;

import static dev.hydra.math.Fp64Ops.columns;
import static dev.hydra.math.Fp64Ops.linear;
import static dev.hydra.math.Fp64Ops.softplus;

/**
 * The mixing step of docs/spec.md §2 in fp64 for one config and its {@code matrix_mixer.*} parameters:
 * from the conv output (after its activation) to {@code y = s M v (+ v)}, by the type's structured
 * algorithm or by its materialized matrix. Shared by the fp64 layer and, for all types but the
 * quasiseparable, by the fp32 layer's host-side mixing.
 */
public final class MixingStep {
    private final MixerConfig c;
    private final Map<String, double[]> p;
    private final MatrixMixing mixing;
    private final double[] a;

    public MixingStep(MixerConfig c, Map<String, double[]> params) {
        this.c = c;
        this.p = params;
        this.mixing = switch (c.type()) {
            case DENSE -> new GivenMatrixMixing();
            case TOEPLITZ -> new ToeplitzMixing();
            case VANDERMONDE -> c.dataDependent() ? new VandermondeMixing() : new GivenMatrixMixing();
            case CAUCHY -> new CauchyMixing();
            case LOW_RANK -> new LowRankMixing();
            case ATTENTION -> new AttentionMixing();
            case QUASISEPARABLE -> new QuasiseparableMixing(c.chunkSize());
        };
        if (c.type() == MixerType.QUASISEPARABLE) {
            // A = -exp(A_log), in fp64 as ReferenceHydra computes it
            a = new double[c.nheads()];
            for (int h = 0; h < a.length; h++) a[h] = HydraWeights.a(param("A_log")[h]);
        } else {
            a = null;
        }
    }

    private double[] param(String name) {
        return p.get("matrix_mixer." + name);
    }

    /** y (B, L, d_inner): the mixing plus, for every type but the quasiseparable, the residual v. */
    public double[] mix(MixerOperands o, boolean dense) {
        double[] y = dense
                ? QuasiseparableMatrix.apply(mixing.materialize(o), o.v(), o.batch(), o.len(), o.heads(), o.headdim())
                : mixing.mix(o);
        if (c.type().hasResidual()) for (int i = 0; i < y.length; i++) y[i] += o.v()[i];
        return y;
    }

    public double[] materialize(MixerOperands o) {
        return mixing.materialize(o);
    }

    /**
     * The operands of the mixing from {@code conv} (B*L, conv_dim) after its activation and, for the
     * data-dependent quasiseparable's dt, the in_proj output {@code zx} (B*L, proj_dim).
     */
    public MixerOperands operands(double[] conv, double[] zx, int batch, int len) {
        int rows = batch * len, C = c.convDim(), dIn = c.dInner(), H = c.nheads(), ds = c.dState(), L = len;
        boolean dd = c.dataDependent();
        double[] v = columns(conv, rows, C, 0, dIn);
        double[] q = null, k = null, kernel = null, matrix = null, delta = null;
        int qkStride = dd ? L * ds : 0, kernelStride = 0, headStride = 0;
        ScanInputs scan = null;
        switch (c.type()) {
            case DENSE -> {
                matrix = param("M");
                headStride = L * L;
            }
            case VANDERMONDE, LOW_RANK, ATTENTION, CAUCHY -> {
                if (c.type() == MixerType.VANDERMONDE && !dd) {
                    matrix = param("dft_matrix");
                } else {
                    q = dd ? columns(conv, rows, C, dIn, ds) : param("q_matrix").clone();
                    k = dd ? columns(conv, rows, C, dIn + ds, ds) : param("k_matrix").clone();
                    if (c.type() == MixerType.CAUCHY) {
                        double bias = dd ? param("bias")[0] : 0;
                        for (int i = 0; i < q.length; i++) {
                            q[i] = Math.exp(q[i]) + bias;
                            k[i] = Math.exp(k[i]) + bias;
                        }
                    }
                }
            }
            case TOEPLITZ -> {
                int n = 2 * L - 1;
                if (dd) {
                    // k = [r[L-1], ..., r[1], f[0], ..., f[L-1]] per batch and head (docs/spec.md §2.3)
                    kernel = new double[batch * H * n];
                    kernelStride = H * n;
                    for (int b = 0; b < batch; b++)
                        for (int h = 0; h < H; h++) {
                            int ko = b * kernelStride + h * n;
                            for (int i = 0; i < L - 1; i++) kernel[ko + i] = conv[(b * L + L - 1 - i) * C + dIn + H + h];
                            for (int i = 0; i < L; i++) kernel[ko + L - 1 + i] = conv[(b * L + i) * C + dIn + h];
                        }
                } else {
                    kernel = param("conv_params");
                }
            }
            case QUASISEPARABLE -> {
                double[] bm = dd ? columns(conv, rows, C, dIn, ds) : perBatch(columns(param("BC"), L, 2 * ds, 0, ds), batch);
                double[] cm = dd ? columns(conv, rows, C, dIn + ds, ds) : perBatch(columns(param("BC"), L, 2 * ds, ds, ds), batch);
                double[] dtF = new double[rows * H], dtB = new double[rows * H], bias = param("dt_bias");
                int proj = c.projDim();
                for (int r = 0; r < rows; r++)
                    for (int h = 0; h < H; h++) {
                        // dt_raw = dt + [dt_bias, dt_bias] (DD) or [dt_bias, dt_bias] (DI), then one softplus
                        dtF[r * H + h] = softplus((dd ? zx[r * proj + proj - 2 * H + h] : 0) + bias[h]);
                        dtB[r * H + h] = softplus((dd ? zx[r * proj + proj - H + h] : 0) + bias[h]);
                    }
                scan = new ScanInputs(batch, L, H, c.headdim(), 1, ds, v, bm, cm, bm, cm, dtF, dtB, a, null);
                delta = linear(v, rows, dIn, param("fc_D.weight"), param("D"), H);
            }
        }
        return new MixerOperands(batch, L, H, c.headdim(), c.qkDim(), c.scale(), v, q, k, qkStride, kernel, kernelStride,
                matrix, headStride, scan, delta);
    }

    private static double[] perBatch(double[] m, int batch) {
        double[] out = new double[m.length * batch];
        for (int b = 0; b < batch; b++) System.arraycopy(m, 0, out, b * m.length, m.length);
        return out;
    }
}
