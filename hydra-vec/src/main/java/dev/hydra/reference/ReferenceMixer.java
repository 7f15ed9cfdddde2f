package dev.hydra.reference;

import dev.hydra.HydraException;
import dev.hydra.config.MixerConfig;
import dev.hydra.forward.Inputs;
import dev.hydra.mixer.MixingStep;
import dev.hydra.weights.MixerWeights;

import java.util.LinkedHashMap;
import java.util.Map;

import static dev.hydra.math.Fp64Ops.depthwiseConv;
import static dev.hydra.math.Fp64Ops.gatedRmsNorm;
import static dev.hydra.math.Fp64Ops.linear;

/**
 * The matrix mixer layer in fp64 (docs/spec.md §2): in_proj, depthwise conv with the type's
 * activation, the mixing step, gated RMSNorm and out_proj. Stateless after construction.
 */
public final class ReferenceMixer {

    /** How the mixing step runs: the type's structured algorithm, or its materialized matrix. */
    public enum Path { STRUCTURED, DENSE }

    private final MixerConfig c;
    private final MixerWeights<double[]> w;
    private final MixingStep step;

    public ReferenceMixer(MixerWeights<double[]> weights) {
        this.c = weights.config();
        this.w = weights;
        this.step = new MixingStep(c, weights.mixer());
    }

    public MixerConfig config() {
        return c;
    }

    public double[] forward(double[] u, int batch, int len) {
        return forward(u, batch, len, Path.STRUCTURED);
    }

    public double[] forward(double[] u, int batch, int len, Path path) {
        return forwardStages(u, batch, len, path).get("output");
    }

    /**
     * The forward pass with its intermediates (row-major): {@code stage.conv} (B, L, conv_dim) after the
     * conv's activation, {@code stage.mix} (B, L, d_inner) the mixing with its residual,
     * {@code stage.normed} (B, L, d_inner) after the gated RMSNorm, and {@code output} (B, L, d_model).
     */
    public Map<String, double[]> forwardStages(double[] u, int batch, int len, Path path) {
        double[] zx = projectIn(u, batch, len), conv = conv(zx, batch, len);
        double[] y = step.mix(step.operands(conv, zx, batch, len), path == Path.DENSE);
        int rows = batch * len;
        double[] normed = gatedRmsNorm(y, rows, c.dInner(), zx, c.projDim(), 0, w.normW());
        Map<String, double[]> m = new LinkedHashMap<>();
        m.put("stage.conv", conv);
        m.put("stage.mix", y);
        m.put("stage.normed", normed);
        double[] out = linear(normed, rows, c.dInner(), w.outProjW(), null, c.dModel());
        Inputs.checkOverflow(out, len, c.dModel(), "fp64");
        m.put("output", out);
        return m;
    }

    /** s M (B, H, L, L): the matrix the mixing step applies to v for this input (before the residual). */
    public double[] materialize(double[] u, int batch, int len) {
        if ((long) batch * c.nheads() * len * len > Integer.MAX_VALUE - 8)
            throw new HydraException("materialize: a (" + batch + ", " + c.nheads() + ", " + len + ", " + len
                    + ") matrix has more elements than a Java array holds; use a smaller batch or length");
        double[] zx = projectIn(u, batch, len);
        return step.materialize(step.operands(conv(zx, batch, len), zx, batch, len));
    }

    /**
     * Heap bytes a structured forward pass of (batch, len) allocates, about: in_proj, conv, the mixing's
     * operands and result, the norm and the output, in fp64 (the dense path adds its (B, H, L, L) matrix).
     */
    public static long activationBytes(MixerConfig c, int batch, int len) {
        long rows = (long) batch * len;
        return Double.BYTES * rows * (c.projDim() + 3L * c.convDim() + 4L * c.dInner() + 2L * c.nheads() + c.dModel());
    }

    private double[] projectIn(double[] u, int batch, int len) {
        Inputs.checkShape(u.length, batch, len, c.dModel(), "input");
        Inputs.checkFinite(u, len, c.dModel(), "input");
        c.checkLength(len);
        Inputs.checkActivations(activationBytes(c, batch, len), (long) batch * len * c.projDim(), batch, len);
        return linear(u, batch * len, c.dModel(), w.inProjW(), null, c.projDim());
    }

    private double[] conv(double[] zx, int batch, int len) {
        return depthwiseConv(zx, c.projDim(), c.dInner(), batch, len, c.convDim(), w.convW(), w.convB(), c.dConv(),
                c.siluChannels());
    }
}
