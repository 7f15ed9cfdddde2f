package dev.hydra.bench;

import dev.hydra.config.HydraConfig;
import dev.hydra.kernels.VectorBackend;
import dev.hydra.layer.HydraLayer;
import dev.hydra.weights.HydraWeights;
import dev.hydra.weights.Precision;

import java.util.SplittableRandom;

/** The benchmarked layer: d_model 768, d_state 64, headdim 64, expand 2, chunk 256, fp32, seeded weights. */
final class BenchLayer {
    static final HydraConfig CONFIG = new HydraConfig(768, 64, 7, 2, 64, 1, 0.0, Double.POSITIVE_INFINITY, false, false, true, 256);

    private BenchLayer() {}

    static HydraLayer create(int threads) {
        return new HydraLayer(HydraWeights.load(CONFIG, HydraWeights.seeded(CONFIG, 1), "", Precision.FP32),
                new VectorBackend(threads < 1 ? Runtime.getRuntime().availableProcessors() : threads));
    }

    /** "BxL" to {B, L}. */
    static int[] shape(String s) {
        String[] p = s.split("x");
        return new int[] {Integer.parseInt(p[0]), Integer.parseInt(p[1])};
    }

    static float[] input(int n) {
        SplittableRandom r = new SplittableRandom(2);
        float[] u = new float[n];
        for (int i = 0; i < n; i++) u[i] = (float) (r.nextDouble() * 2 - 1);
        return u;
    }
}
