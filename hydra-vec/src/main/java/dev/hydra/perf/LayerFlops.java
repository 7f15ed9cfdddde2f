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
        double D = c.dModel(), E = c.dInner(), H = c.nheads(), P = c.headdim(), N = c.dState(), G = c.ngroups(), Q = c.chunkSize();
        double projections = 2 * D * c.projDim() + 2 * E * D + 2 * E * H; // in_proj, out_proj, fc_D
        double conv = 2.0 * c.dConv() * c.convDim();
        // per direction: scores C B^T (causal half of 2NQ per group), M X (causal half of 2PQ per head),
        // entering state read through C (2NP per head), state update B^T X (2NP per head)
        double scan = G * N * Q + H * (P * Q + 4 * N * P);
        return projections + conv + 2 * scan;
    }

    public static double forward(HydraConfig c, int batch, int len) {
        return perToken(c) * batch * len;
    }
}
