package dev.hydra.bert;

/**
 * The element-wise and row-wise pieces of the encoder around its mixers (docs/spec.md §3), in fp64.
 * The fp32 path runs the same code and rounds each result to float ({@link #roundToFloat}).
 */
final class EncoderMath {
    private EncoderMath() {}

    private static final double TWO_OVER_SQRT_PI = 2 / Math.sqrt(Math.PI);

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

    /** The exact gelu, x/2 (1 + erf(x / sqrt 2)), as torch's default. */
    static double gelu(double x) {
        return 0.5 * x * (1 + erf(x / Math.sqrt(2)));
    }

    /**
     * erf to double precision: for |z| < 6 the all-positive series
     * erf z = 2/sqrt(pi) e^{-z^2} sum_n (2z^2)^n z / (1*3*...*(2n+1)) (no cancellation); beyond, +-1.
     */
    static double erf(double z) {
        double a = Math.abs(z);
        if (a >= 6) return Math.signum(z);
        double term = a, sum = a, twoZ2 = 2 * a * a;
        for (int n = 0; term > 1e-17 * sum; n++) {
            term *= twoZ2 / (2 * n + 3);
            sum += term;
        }
        return Math.copySign(TWO_OVER_SQRT_PI * Math.exp(-a * a) * sum, z);
    }

    static void tanh(double[] x) {
        for (int i = 0; i < x.length; i++) x[i] = Math.tanh(x[i]);
    }

    static void roundToFloat(double[] x) {
        for (int i = 0; i < x.length; i++) x[i] = (float) x[i];
    }
}
