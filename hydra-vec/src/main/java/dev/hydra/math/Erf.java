package dev.hydra.math;

/** The error function and the exact gelu, in fp64: shared by the fp64 encoder and the CPU backends' fp32 gelu. */
public final class Erf {
    private Erf() {}

    private static final double TWO_OVER_SQRT_PI = 2 / Math.sqrt(Math.PI);

    /** The exact gelu, x/2 (1 + erf(x / sqrt 2)), as torch's default. */
    public static double gelu(double x) {
        return 0.5 * x * (1 + erf(x / Math.sqrt(2)));
    }

    /**
     * erf to double precision: for |z| < 6 the all-positive series
     * erf z = 2/sqrt(pi) e^{-z^2} sum_n (2z^2)^n z / (1*3*...*(2n+1)) (no cancellation); beyond, +-1.
     */
    public static double erf(double z) {
        double a = Math.abs(z);
        if (a >= 6) return Math.signum(z);
        double term = a, sum = a, twoZ2 = 2 * a * a;
        for (int n = 0; term > 1e-17 * sum; n++) {
            term *= twoZ2 / (2 * n + 3);
            sum += term;
        }
        return Math.copySign(TWO_OVER_SQRT_PI * Math.exp(-a * a) * sum, z);
    }
}
