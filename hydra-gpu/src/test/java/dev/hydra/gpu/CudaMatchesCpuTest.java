package dev.hydra.gpu;

import dev.hydra.Accuracy;
import dev.hydra.config.HydraConfig;
import dev.hydra.forward.Stages;
import dev.hydra.kernels.ScalarBackend;
import dev.hydra.layer.HydraLayer;
import dev.hydra.weights.HydraWeights;
import dev.hydra.weights.Precision;
import org.junit.jupiter.api.Test;

import java.util.SplittableRandom;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The GPU layer (default 3xTF32 projections) equals the scalar CPU layer, stage by stage, on random
 * configurations and inputs, to fp32 rounding (5e-5 relative).
 */
class CudaMatchesCpuTest {

    @Test
    void randomConfigurationsIncludingShortAndRaggedSequences() {
        SplittableRandom r = new SplittableRandom(20261123);
        try (CudaBackend gpu = Gpu.backend()) {
            // (d_model, d_state, d_conv, headdim, ngroups, chunk, init states, bias, batch, len)
            int[][] cases = {
                    {64, 16, 7, 16, 1, 16, 0, 0, 2, 1},      // L = 1
                    {64, 16, 7, 16, 1, 16, 1, 1, 3, 37},     // L not a multiple of the chunk, learnable init states
                    {32, 8, 3, 8, 2, 8, 0, 1, 1, 29},        // two groups
                    {96, 24, 5, 24, 2, 20, 1, 0, 2, 83},     // sizes off every tile edge
                    {128, 64, 7, 64, 1, 64, 0, 0, 1, 200},
                    {160, 80, 7, 80, 2, 100, 0, 1, 2, 130},  // P, N above one 64-wide tile
                    {64, 16, 7, 16, 1, 256, 0, 0, 1, 300},   // chunk 256 (the release's default)
                    {30, 8, 3, 10, 1, 8, 0, 1, 2, 19},       // rows not 16-byte aligned: FFMA projections
                    {64, 16, 17, 16, 1, 16, 0, 0, 2, 41},    // a conv wider than the kernel's register window
            };
            for (int[] k : cases) {
                HydraConfig cfg = new HydraConfig(k[0], k[1], k[2], 2, k[3], k[4], 0.0, Double.POSITIVE_INFINITY, k[6] == 1, k[7] == 1, true, k[5]);
                HydraWeights<float[]> w = HydraWeights.load(cfg, HydraWeights.seeded(cfg, r.nextLong()), "", Precision.FP32);
                int b = k[8], l = k[9];
                float[] u = new float[b * l * cfg.dModel()];
                for (int i = 0; i < u.length; i++) u[i] = (float) r.nextGaussian();
                try (HydraLayer onGpu = new HydraLayer(w, gpu); HydraLayer onCpu = new HydraLayer(w, new ScalarBackend())) {
                    Stages<float[]> g = onGpu.forwardStages(u, b, l), c = onCpu.forwardStages(u, b, l);
                    String what = String.format("d_model %d d_state %d headdim %d groups %d chunk %d B %d L %d", k[0], k[1], k[3], k[4], k[5], b, l);
                    var gs = g.named();
                    c.named().forEach((name, cpu) -> {
                        double e = Accuracy.relErr(gs.get(name), cpu);
                        assertThat(e).as("%s: %s", what, name).isLessThanOrEqualTo(5e-5);
                    });
                    System.out.printf("gpu == cpu: %s: output rel err %.2e%n", what, Accuracy.relErr(g.output(), c.output()));
                }
            }
        }
    }
}
