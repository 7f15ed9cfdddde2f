package dev.hydra.math;

import dev.hydra.math.ScanInputs.Direction;

/**
 * The chunked SSD algorithm (docs/spec.md §1.5), in fp64, in the four steps of the
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
        double[] dA = new double[chunkSize];            // log-decay dt_i A of each position in the chunk
        double[][] chunkState = new double[chunks][P * N];
        double[][] stateIn = new double[chunks][P * N];
        double[] chunkDecay = new double[chunks];
        for (int b = 0; b < in.batch(); b++) {
            for (int h = 0; h < H; h++) {
                int g = in.group(h);
                double a = in.a()[h];
                for (int c = 0; c < chunks; c++) {
                    int c0 = c * chunkSize, q = Math.min(chunkSize, L - c0);
                    logDecays(in, dir, dt, b, h, c0, q, a, dA);
                    double total = 0;
                    for (int i = 0; i < q; i++) total += dA[i];
                    chunkDecay[c] = Math.exp(total);
                    // Step 1: intra-chunk, y_i = sum_{j<=i} (C_i . B_j) exp(dA_{j+1} + ... + dA_i) dt_j x_j.
                    // Exponents are summed over the segment they span, not taken as a difference of
                    // cumulative sums, which cancels catastrophically once those sums are large.
                    for (int i = 0; i < q; i++) {
                        int ri = b * L + in.position(dir, c0 + i);
                        double segment = 0;
                        for (int j = i; j >= 0; j--) {
                            int rj = b * L + in.position(dir, c0 + j);
                            double cb = 0;
                            for (int n = 0; n < N; n++) cb += C[ri * GN + g * N + n] * B[rj * GN + g * N + n];
                            double w = cb * Math.exp(segment) * dt[rj * H + h];
                            for (int p = 0; p < P; p++) y[ri * H * P + h * P + p] += w * x[rj * H * P + h * P + p];
                            segment += dA[j];
                        }
                    }
                    // Step 2: the chunk's own final state, sum_j exp(dA_{j+1} + ... + dA_end) dt_j x_j B_j^T
                    double[] s = chunkState[c];
                    java.util.Arrays.fill(s, 0);
                    double segment = 0;
                    for (int j = q - 1; j >= 0; j--) {
                        int rj = b * L + in.position(dir, c0 + j);
                        double w = Math.exp(segment) * dt[rj * H + h];
                        segment += dA[j];
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
                // Step 4: state to output, y_i += exp(dA_0 + ... + dA_i) S_in C_i
                for (int c = 0; c < chunks; c++) {
                    int c0 = c * chunkSize, q = Math.min(chunkSize, L - c0);
                    logDecays(in, dir, dt, b, h, c0, q, a, dA);
                    double[] s = stateIn[c];
                    double fromStart = 0;
                    for (int i = 0; i < q; i++) {
                        int ri = b * L + in.position(dir, c0 + i);
                        fromStart += dA[i];
                        double decay = Math.exp(fromStart);
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

    private static void logDecays(ScanInputs in, Direction dir, double[] dt, int b, int h, int c0, int q,
                                  double a, double[] dA) {
        for (int i = 0; i < q; i++) dA[i] = dt[(b * in.len() + in.position(dir, c0 + i)) * in.heads() + h] * a;
    }
}
