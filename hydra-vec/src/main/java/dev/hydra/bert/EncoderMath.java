package dev.hydra.bert;

/**
 * The element-wise and row-wise pieces of the fp64 encoder around its mixers (docs/spec.md §3), the
 * oracle of the fp32 backend operations.
 */
final class EncoderMath {
    private EncoderMath() {}

    /** In place: each row of x (rows, d) becomes (x - mean) / sqrt(var + eps) * w + b, var biased. */
    static void layerNorm(double[] x, int rows, int d, double[] w, double[] b, double eps) {
        for (int r = 0; r < rows; r++) {
            int o = r * d;
            double mean = 0;
            for (int i = 0; i < d; i++) mean += x[o + i];
            mean /= d;
            double var = 0;
            for (int i = 0; i < d; i++) var += (x[o + i] - mean) * (x[o + i] - mean);
            double inv = 1 / Math.sqrt(var / d + eps);
            for (int i = 0; i < d; i++) x[o + i] = (x[o + i] - mean) * inv * w[i] + b[i];
        }
    }

    static void tanh(double[] x) {
        for (int i = 0; i < x.length; i++) x[i] = Math.tanh(x[i]);
    }
}
