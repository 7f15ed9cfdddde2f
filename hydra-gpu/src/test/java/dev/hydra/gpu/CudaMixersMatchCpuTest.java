package dev.hydra.gpu;

import dev.hydra.Accuracy;
import dev.hydra.config.MixerConfig;
import dev.hydra.config.MixerType;
import dev.hydra.kernels.ScalarBackend;
import dev.hydra.layer.MixerLayer;
import dev.hydra.weights.MixerWeights;
import dev.hydra.weights.Precision;
import org.junit.jupiter.api.Test;

import java.util.SplittableRandom;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Every matrix mixer (docs/spec.md §2) on the GPU equals the scalar CPU layer: this covers the conv
 * without silu ({@code depthwiseConv}) and the scan with one B and C for both directions.
 */
class CudaMixersMatchCpuTest {

    @Test
    void everyTypeAndVariant() {
        SplittableRandom r = new SplittableRandom(7);
        try (CudaBackend gpu = Gpu.backend()) {
            for (MixerType type : MixerType.values()) {
                for (boolean dd : new boolean[] {true, false}) {
                    if (type == MixerType.DENSE && dd) continue;
                    MixerConfig cfg = new MixerConfig(type, dd, 32, 8, 24, 7, 2, 16, 8);
                    MixerWeights<float[]> w = MixerWeights.load(cfg, MixerWeights.seeded(cfg, r.nextLong()), "", Precision.FP32);
                    int b = 2, l = 24;
                    float[] u = new float[b * l * cfg.dModel()];
                    for (int i = 0; i < u.length; i++) u[i] = (float) r.nextGaussian();
                    try (MixerLayer onGpu = new MixerLayer(w, gpu); MixerLayer onCpu = new MixerLayer(w, new ScalarBackend())) {
                        double e = Accuracy.relErr(onGpu.forward(u, b, l), onCpu.forward(u, b, l));
                        assertThat(e).as("%s", cfg.variant()).isLessThanOrEqualTo(5e-5);
                    }
                }
            }
        }
    }
}
