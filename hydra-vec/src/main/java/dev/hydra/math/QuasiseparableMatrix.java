package dev.hydra.math;


/**
 * The dense L x L matrix that Hydra's steps 4-6 apply to x, per batch and head (docs/spec.md §1.4,
 * the mixer as a matrix): the forward scan shifted below the diagonal, the backward scan shifted above it, and
 * {@code delta} on the diagonal. Returns (B, H, L, L), row-major.
 */
public final class QuasiseparableMatrix {
    private QuasiseparableMatrix() {}

    /** {@code delta} is (B, L, H): {@code x_t . fc_D.weight[h] + D[h]}. Zero initial states are assumed. */
    public static double[] materialize(ScanInputs in, double[] delta) {
        int B = in.batch(), L = in.len(), H = in.heads(), N = in.state(), GN = in.groups() * N;
        double[] m = new double[(long) B * H * L * L > Integer.MAX_VALUE - 8 ? tooLarge(B, H, L) : B * H * L * L];
        for (int b = 0; b < B; b++) {
            for (int h = 0; h < H; h++) {
                int g = in.group(h);
                double a = in.a()[h];
                int base = (b * H + h) * L * L;
                for (int i = 0; i < L; i++) {
                    m[base + i * L + i] = delta[(b * L + i) * H + h];
                    // below: M[i,j] = (C_f[i-1] . B_f[j]) dt_f[j] exp(A sum_{k=j+1}^{i-1} dt_f[k])
                    double sum = 0;
                    for (int j = i - 1; j >= 0; j--) {
                        if (j < i - 1) sum += in.dtF()[(b * L + j + 1) * H + h];
                        double cb = dot(in.cF(), (b * L + i - 1) * GN + g * N, in.bF(), (b * L + j) * GN + g * N, N);
                        m[base + i * L + j] = cb * in.dtF()[(b * L + j) * H + h] * Math.exp(a * sum);
                    }
                    // above: M[i,j] = (C_b[i+1] . B_b[j]) dt_b[j] exp(A sum_{k=i+1}^{j-1} dt_b[k])
                    sum = 0;
                    for (int j = i + 1; j < L; j++) {
                        if (j > i + 1) sum += in.dtB()[(b * L + j - 1) * H + h];
                        double cb = dot(in.cB(), (b * L + i + 1) * GN + g * N, in.bB(), (b * L + j) * GN + g * N, N);
                        m[base + i * L + j] = cb * in.dtB()[(b * L + j) * H + h] * Math.exp(a * sum);
                    }
                }
            }
        }
        return m;
    }

    /** y (B, L, H*P) = M x per batch and head. */
    public static double[] apply(double[] m, double[] x, int batch, int len, int heads, int headdim) {
        double[] y = new double[batch * len * heads * headdim];
        for (int b = 0; b < batch; b++)
            for (int h = 0; h < heads; h++) {
                int base = (b * heads + h) * len * len;
                for (int i = 0; i < len; i++)
                    for (int j = 0; j < len; j++) {
                        double w = m[base + i * len + j];
                        if (w == 0) continue;
                        for (int p = 0; p < headdim; p++)
                            y[((b * len + i) * heads + h) * headdim + p] += w * x[((b * len + j) * heads + h) * headdim + p];
                    }
            }
        return y;
    }

    private static double dot(double[] u, int uo, double[] v, int vo, int n) {
        double s = 0;
        for (int k = 0; k < n; k++) s += u[uo + k] * v[vo + k];
        return s;
    }

    private static int tooLarge(int b, int h, int l) {
        throw new dev.hydra.HydraException("materialize: a (" + b + ", " + h + ", " + l + ", " + l
                + ") matrix has more elements than a Java array holds; use a smaller batch or length");
    }
}
