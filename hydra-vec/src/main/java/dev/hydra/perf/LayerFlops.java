package dev.hydra.perf;

import dev.hydra.config.HydraConfig;

/**
 * The floating-point operations one forward pass of the Hydra layer needs (docs/vector.md gives the
 * formula): multiply-adds count 2, the chunked scan counts its causal (lower-triangle) work, the
 * C B^T scores once per group, and element-wise work (activations, norm, shift) is left out.
 */
public final class LayerFlops {
    private LayerFlops() {}

    public static double perToken(HydraConfig c) {
        double sum = 0;
        for (double f : stages(c).values()) sum += f;
        return sum;
    }

    /** FLOPs per token of each stage of {@code HydraLayer.STAGES}, in that order (dt, mix+norm: element-wise, 0). */
    public static java.util.LinkedHashMap<String, Double> stages(HydraConfig c) {
        double D = c.dModel(), E = c.dInner(), H = c.nheads(), scan = scan(c, c.chunkSize());
        java.util.LinkedHashMap<String, Double> m = new java.util.LinkedHashMap<>();
        m.put("in_proj", 2 * D * c.projDim());
        m.put("conv", 2.0 * c.dConv() * c.convDim());
        m.put("dt", 0.0);
        m.put("scan fwd", scan);
        m.put("scan bwd", scan);
        m.put("fc_D", 2 * E * H);
        m.put("mix+norm", 0.0);
        m.put("out_proj", 2 * E * D);
        return m;
    }

    /**
     * The FLOPs of one direction's scan in chunks of {@code chunk} steps as a fraction of the formula's (chunks of
     * chunk_size): what a backend that runs shorter chunks ({@code Backend.scanChunk}) computes of the counted FLOPs.
     */
    public static double scanShare(HydraConfig c, int chunk) {
        return scan(c, Math.min(chunk, c.chunkSize())) / scan(c, c.chunkSize());
    }

    /** One direction's scan FLOPs per token in chunks of Q steps. */
    private static double scan(HydraConfig c, double Q) {
        double H = c.nheads(), P = c.headdim(), N = c.dState(), G = c.ngroups();
        // scores C B^T (causal half of 2NQ per group), M X (causal half of 2PQ per head),
        // entering state read through C (2NP per head), state update B^T X (2NP per head)
        return G * N * Q + H * (P * Q + 4 * N * P);
    }

    public static double forward(HydraConfig c, int batch, int len) {
        return perToken(c) * batch * len;
    }
}
