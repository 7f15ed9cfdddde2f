package dev.hydra.math;

import dev.hydra.math.ScanInputs.Direction;

/**
 * docs/spec.md §1.3 steps 4 and 5 exactly as written: the state recurrence, one position at a time.
 * {@code S_t = exp(dt[t] A) S_prev + dt[t] x_t B[t]^T}, {@code y[t] = S_t C[t]}.
 */
public final class Recurrence {
    private Recurrence() {}

    /** Raw scan output y (B, L, H*P) of one direction, before the shift of step 6. */
    public static double[] scan(ScanInputs in, Direction dir) {
        int L = in.len(), H = in.heads(), P = in.headdim(), N = in.state(), GN = in.groups() * N;
        double[] B = in.b(dir), C = in.c(dir), dt = in.dt(dir);
        double[] y = new double[in.batch() * L * H * P];
        double[] S = new double[P * N];
        for (int b = 0; b < in.batch(); b++) {
            for (int h = 0; h < H; h++) {
                int g = in.group(h);
                for (int i = 0; i < P * N; i++) S[i] = in.init() == null ? 0 : in.init()[h * P * N + i];
                for (int s = 0; s < L; s++) {
                    int t = in.position(dir, s);
                    int row = b * L + t;
                    double dtt = dt[row * H + h];
                    double decay = Math.exp(dtt * in.a()[h]);
                    for (int p = 0; p < P; p++) {
                        double xp = in.x()[row * H * P + h * P + p];
                        double acc = 0;
                        for (int n = 0; n < N; n++) {
                            double v = decay * S[p * N + n] + dtt * xp * B[row * GN + g * N + n];
                            S[p * N + n] = v;
                            acc += v * C[row * GN + g * N + n];
                        }
                        y[row * H * P + h * P + p] = acc;
                    }
                }
            }
        }
        return y;
    }
}
