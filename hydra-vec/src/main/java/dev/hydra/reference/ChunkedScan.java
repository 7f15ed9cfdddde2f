package dev.hydra.reference;

import dev.hydra.reference.ScanInputs.Direction;

/**
 * The chunked SSD algorithm (SPEC.md "The chunked algorithm"), in fp64, in the four steps of the
 * release's {@code ssd_minimal_discrete}: (1) the intra-chunk outputs, (2) each chunk's own final state,
 * (3) passing states between chunks, (4) the output of the state entering each chunk. The backward
 * direction reads positions right to left through {@link ScanInputs#position}; nothing is flipped.
 */
public final class ChunkedScan {
    private ChunkedScan() {}

    public static double[] scan(ScanInputs in, Direction dir, int chunkSize) {
        chunkSize = Math.min(chunkSize, in.len()); // a chunk past the end is the same one chunk; scratch is sized by it
        int L = in.len(), H = in.heads(), P = in.headdim(), N = in.state(), GN = in.groups() * N;
        int chunks = (L + chunkSize - 1) / chunkSize;
        double[] B = in.b(dir), C = in.c(dir), dt = in.dt(dir), x = in.x();
        double[] y = new double[in.batch() * L * H * P];
        double[] cum = new double[chunkSize];           // cumulative log-decay inside the chunk, inclusive
        double[][] chunkState = new double[chunks][P * N];
        double[][] stateIn = new double[chunks][P * N];
        double[] chunkDecay = new double[chunks];
        for (int b = 0; b < in.batch(); b++) {
            for (int h = 0; h < H; h++) {
                int g = in.group(h);
                double a = in.a()[h];
                for (int c = 0; c < chunks; c++) {
                    int c0 = c * chunkSize, q = Math.min(chunkSize, L - c0);
                    cumulativeDecay(in, dir, dt, b, h, c0, q, a, cum);
                    chunkDecay[c] = Math.exp(cum[q - 1]);
                    // Step 1: intra-chunk, y_i = sum_{j<=i} (C_i . B_j) exp(cum_i - cum_j) dt_j x_j
                    for (int i = 0; i < q; i++) {
                        int ri = b * L + in.position(dir, c0 + i);
                        for (int j = 0; j <= i; j++) {
                            int rj = b * L + in.position(dir, c0 + j);
                            double cb = 0;
                            for (int n = 0; n < N; n++) cb += C[ri * GN + g * N + n] * B[rj * GN + g * N + n];
                            double w = cb * Math.exp(cum[i] - cum[j]) * dt[rj * H + h];
                            for (int p = 0; p < P; p++) y[ri * H * P + h * P + p] += w * x[rj * H * P + h * P + p];
                        }
                    }
                    // Step 2: the chunk's own final state, sum_j exp(cum_end - cum_j) dt_j x_j B_j^T
                    double[] s = chunkState[c];
                    java.util.Arrays.fill(s, 0);
                    for (int j = 0; j < q; j++) {
                        int rj = b * L + in.position(dir, c0 + j);
                        double w = Math.exp(cum[q - 1] - cum[j]) * dt[rj * H + h];
                        for (int p = 0; p < P; p++) {
                            double wx = w * x[rj * H * P + h * P + p];
                            for (int n = 0; n < N; n++) s[p * N + n] += wx * B[rj * GN + g * N + n];
                        }
                    }
                }
                // Step 3: state passing, S_in[c+1] = exp(sum of the chunk's log-decay) S_in[c] + chunkState[c]
                for (int i = 0; i < P * N; i++) stateIn[0][i] = in.init() == null ? 0 : in.init()[h * P * N + i];
                for (int c = 0; c + 1 < chunks; c++)
                    for (int i = 0; i < P * N; i++) stateIn[c + 1][i] = chunkDecay[c] * stateIn[c][i] + chunkState[c][i];
                // Step 4: state to output, y_i += exp(cum_i) S_in C_i
                for (int c = 0; c < chunks; c++) {
                    int c0 = c * chunkSize, q = Math.min(chunkSize, L - c0);
                    cumulativeDecay(in, dir, dt, b, h, c0, q, a, cum);
                    double[] s = stateIn[c];
                    for (int i = 0; i < q; i++) {
                        int ri = b * L + in.position(dir, c0 + i);
                        double decay = Math.exp(cum[i]);
                        for (int p = 0; p < P; p++) {
                            double acc = 0;
                            for (int n = 0; n < N; n++) acc += s[p * N + n] * C[ri * GN + g * N + n];
                            y[ri * H * P + h * P + p] += decay * acc;
                        }
                    }
                }
            }
        }
        return y;
    }

    private static void cumulativeDecay(ScanInputs in, Direction dir, double[] dt, int b, int h, int c0, int q,
                                        double a, double[] cum) {
        double sum = 0;
        for (int i = 0; i < q; i++) {
            sum += dt[(b * in.len() + in.position(dir, c0 + i)) * in.heads() + h] * a;
            cum[i] = sum;
        }
    }
}
