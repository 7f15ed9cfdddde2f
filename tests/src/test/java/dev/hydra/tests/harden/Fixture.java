package dev.hydra.tests.harden;

import dev.hydra.config.HydraConfig;
import dev.hydra.io.InMemoryTensors;
import dev.hydra.layer.HydraLayer;
import dev.hydra.reference.ReferenceHydra;
import dev.hydra.runtime.Backends;
import dev.hydra.weights.HydraWeights;
import dev.hydra.weights.Precision;

import java.util.Arrays;
import java.util.SplittableRandom;

/** Seeded layers (with parameters overridden where a test needs an extreme one) and seeded inputs. */
final class Fixture {
    private Fixture() {}

    /** The smallest config with every part of the layer present: 2 heads, 1 group, a 3-tap conv. */
    static HydraConfig tiny(int chunk) {
        return new HydraConfig(4, 2, 3, 1, 2, 1, 0.0, Double.POSITIVE_INFINITY, false, false, true, chunk);
    }

    static InMemoryTensors weights(HydraConfig c, long seed) {
        return HydraWeights.seeded(c, seed);
    }

    /** Sets every element of a per-head parameter ({@code dt_bias}, {@code A_log}, {@code D}) to {@code value}. */
    static InMemoryTensors fill(InMemoryTensors t, String name, float value) {
        float[] v = t.floats(name);
        Arrays.fill(v, value);
        return t.put(name, v, t.info(name).shape());
    }

    static HydraLayer fp32(HydraConfig c, InMemoryTensors t) {
        return new HydraLayer(HydraWeights.load(c, t, "", Precision.FP32), Backends.cpu());
    }

    static ReferenceHydra fp64(HydraConfig c, InMemoryTensors t) {
        return new ReferenceHydra(HydraWeights.load(c, t, "", Precision.FP64));
    }

    /** Uniform in [-scale, scale], as doubles that are exact floats (so fp32 and fp64 see the same input). */
    static double[] input(long seed, int n, double scale) {
        SplittableRandom r = new SplittableRandom(seed);
        double[] u = new double[n];
        for (int i = 0; i < n; i++) u[i] = (float) (scale * (2 * r.nextDouble() - 1));
        return u;
    }

    static float[] floats(double[] d) {
        float[] f = new float[d.length];
        for (int i = 0; i < d.length; i++) f[i] = (float) d[i];
        return f;
    }

    /** Index of the first NaN or infinity, or -1. */
    static int firstNonFinite(double[] v) {
        for (int i = 0; i < v.length; i++) if (!Double.isFinite(v[i])) return i;
        return -1;
    }

    static int firstNonFinite(float[] v) {
        for (int i = 0; i < v.length; i++) if (!Float.isFinite(v[i])) return i;
        return -1;
    }

}
