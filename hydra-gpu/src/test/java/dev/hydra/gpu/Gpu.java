package dev.hydra.gpu;

import org.junit.jupiter.api.Assumptions;

/** Test support: skips a test, saying why, where the CUDA backend cannot run. */
final class Gpu {
    private Gpu() {}

    static CudaBackend backend() {
        return backend(CudaBackend.Matmul.TF32X3);
    }

    static CudaBackend backend(CudaBackend.Matmul matmul) {
        String why = CudaDriver.unavailableReason();
        Assumptions.assumeTrue(why == null, () -> "no GPU test: " + why);
        return new CudaBackend(matmul);
    }

    /** max |a - b| / max |b|, the golden README's accuracy measure. */
    static double relErr(float[] ours, double[] ref) {
        if (ours.length != ref.length) throw new AssertionError("length " + ours.length + " != " + ref.length);
        double num = 0, den = 0;
        for (int i = 0; i < ours.length; i++) {
            double d = Math.abs(ours[i] - ref[i]);
            if (Double.isNaN(d)) return Double.NaN;
            num = Math.max(num, d);
            den = Math.max(den, Math.abs(ref[i]));
        }
        return num / den;
    }

    static double relErr(float[] ours, float[] ref) {
        double[] r = new double[ref.length];
        for (int i = 0; i < r.length; i++) r[i] = ref[i];
        return relErr(ours, r);
    }
}
