package dev.hydra.tests;

import dev.hydra.Accuracy;
import dev.hydra.config.MixerConfig;
import dev.hydra.config.MixerType;
import dev.hydra.io.InMemoryTensors;
import dev.hydra.reference.ReferenceMixer;
import dev.hydra.weights.MixerWeights;
import dev.hydra.weights.Precision;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Every matrix mixer's mixing step against an oracle written from docs/spec.md §2.3 alone: each entry
 * M[t, l] by its formula, from the conv output and the raw parameters, then y = s M v (+ v). It shares no
 * code with the library's mixing (no MixingStep, MixerOperands, RowMixing or QuasiseparableMatrix), so
 * a wrong index, scale, sign or direction in either the structured or the dense path shows.
 */
class MixerOracleTest {
    /** Measured: at most 2.0e-16 over every variant and seed (docs/testing.md). */
    static final double BOUND = 1e-14;

    static Stream<Arguments> variants() {
        List<Arguments> out = new ArrayList<>();
        for (MixerType t : MixerType.values())
            for (boolean dd : new boolean[] {true, false})
                if (!(t == MixerType.DENSE && dd))
                    for (long seed = 1; seed <= 3; seed++) out.add(Arguments.of(t, dd, seed));
        return out.stream();
    }

    @ParameterizedTest(name = "{0} dd={1} seed={2}")
    @MethodSource("variants")
    void bothPathsEqualTheFormulaOfEveryEntry(MixerType type, boolean dd, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        int heads = 1 + r.nextInt(3), headdim = 2 * (1 + r.nextInt(3)), dModel = heads * headdim / 2;
        int len = 5 + r.nextInt(8), qk = 1 + r.nextInt(3);
        MixerConfig c = new MixerConfig(type, dd, dModel, qk, len + (dd ? r.nextInt(4) : 0), 3, 2, headdim, 4);
        InMemoryTensors t = MixerWeights.seeded(c, seed);
        ReferenceMixer ref = new ReferenceMixer(MixerWeights.load(c, t, "", Precision.FP64));
        int batch = 2;
        double[] u = new double[batch * len * dModel];
        for (int i = 0; i < u.length; i++) u[i] = 2 * r.nextDouble() - 1;
        double[] oracle = null;
        for (ReferenceMixer.Path path : ReferenceMixer.Path.values()) {
            Map<String, double[]> s = ref.forwardStages(u, batch, len, path);
            if (oracle == null) oracle = mix(c, t, s.get("stage.conv"), u, batch, len);
            assertThat(Accuracy.relErr(s.get("stage.mix"), oracle)).as("%s", path).isLessThanOrEqualTo(BOUND);
        }
    }

    /** y (B, L, d_inner) = s M v (+ v), M by its per-entry formula. */
    static double[] mix(MixerConfig c, InMemoryTensors t, double[] conv, double[] u, int batch, int len) {
        int H = c.nheads(), P = c.headdim(), dIn = c.dInner(), C = c.convDim(), L = len;
        double[] y = new double[batch * L * dIn];
        for (int b = 0; b < batch; b++)
            for (int h = 0; h < H; h++)
                for (int i = 0; i < L; i++)
                    for (int j = 0; j < L; j++) {
                        double m = entry(c, t, conv, u, b, h, i, j, L);
                        for (int p = 0; p < P; p++) y[(b * L + i) * dIn + h * P + p] += m * conv[(b * L + j) * C + h * P + p];
                    }
        if (c.type() != MixerType.QUASISEPARABLE)
            for (int b = 0; b < batch; b++)
                for (int i = 0; i < L; i++)
                    for (int k = 0; k < dIn; k++) y[(b * L + i) * dIn + k] += conv[(b * L + i) * C + k];
        return y;
    }

    /** s M[i, j] for batch b and head h (the spec's table, one row per type). */
    static double entry(MixerConfig c, InMemoryTensors t, double[] conv, double[] u, int b, int h, int i, int j, int L) {
        int H = c.nheads(), qk = c.qkDim(), dIn = c.dInner(), C = c.convDim(), ds = H * qk, N = c.maxSeqLen();
        boolean dd = c.dataDependent();
        switch (c.type()) {
            case DENSE:
                return t.doubles("matrix_mixer.M")[(h * L + i) * L + j] / Math.sqrt(N);
            case TOEPLITZ: {
                int n = 2 * L - 1, idx = Math.floorMod(i - j + L, n);
                // k = [r[L-1], ..., r[1], f[0], ..., f[L-1]]: k[idx] is r[L-1-idx] below L-1, else f[idx-L+1]
                double k = dd
                        ? (idx < L - 1 ? conv[(b * L + L - 1 - idx) * C + dIn + H + h] : conv[(b * L + idx - L + 1) * C + dIn + h])
                        : t.doubles("matrix_mixer.conv_params")[h * n + idx];
                return 0.5 / Math.sqrt(N) * k;
            }
            case VANDERMONDE: {
                if (!dd) return t.doubles("matrix_mixer.dft_matrix")[i * L + j] / Math.sqrt(N);
                double s = 0;
                for (int d = 0; d < qk; d++)
                    s += Math.cos(2 * Math.PI * 1e-3 * q(c, t, conv, b, L, i, h, d) * j) - Math.cos(2 * Math.PI * 1e-3 * k(c, t, conv, b, L, j, h, d) * i);
                return s / Math.sqrt(2.0 * N * qk);
            }
            case CAUCHY: {
                double bias = dd ? t.doubles("matrix_mixer.bias")[0] : 0, s = 0;
                for (int d = 0; d < qk; d++)
                    s += 1 / (Math.exp(q(c, t, conv, b, L, i, h, d)) + Math.exp(k(c, t, conv, b, L, j, h, d)) + 2 * bias + 1e-8);
                return s / Math.sqrt((double) N * qk);
            }
            case LOW_RANK: {
                double s = 0;
                for (int d = 0; d < qk; d++) s += q(c, t, conv, b, L, i, h, d) * k(c, t, conv, b, L, j, h, d);
                return s / Math.sqrt((double) N * qk);
            }
            case ATTENTION: {
                double z = 0;
                for (int l = 0; l < L; l++) z += Math.exp(score(c, t, conv, b, L, h, i, l));
                return Math.exp(score(c, t, conv, b, L, h, i, j)) / z;
            }
            case QUASISEPARABLE: {
                if (i == j) {
                    double delta = t.doubles("matrix_mixer.D")[h];
                    for (int k = 0; k < dIn; k++) delta += conv[(b * L + i) * C + k] * t.doubles("matrix_mixer.fc_D.weight")[h * dIn + k];
                    return delta;
                }
                boolean below = i > j;
                int from = below ? i - 1 : i + 1;    // C of the neighbour towards j, B of j
                double cb = 0;
                for (int n = 0; n < ds; n++) cb += bc(c, t, conv, b, L, from, ds + n) * bc(c, t, conv, b, L, j, n);
                double sum = 0;
                for (int k = Math.min(i, j) + 1; k < Math.max(i, j); k++) sum += dt(c, t, u, b, k, h, below, L);
                double a = -Math.exp(t.doubles("matrix_mixer.A_log")[h]);
                return cb * dt(c, t, u, b, j, h, below, L) * Math.exp(a * sum);
            }
        }
        throw new AssertionError(c.type());
    }

    static double score(MixerConfig c, InMemoryTensors t, double[] conv, int b, int L, int h, int i, int j) {
        double s = 0;
        for (int d = 0; d < c.qkDim(); d++) s += q(c, t, conv, b, L, i, h, d) * k(c, t, conv, b, L, j, h, d);
        return s / Math.sqrt(c.qkDim());
    }

    /** q[t, h, d]: conv columns after v (DD) or matrix_mixer.q_matrix (L, H, qk_dim). */
    static double q(MixerConfig c, InMemoryTensors t, double[] conv, int b, int L, int pos, int h, int d) {
        int qk = c.qkDim(), H = c.nheads();
        return c.dataDependent() ? conv[(b * L + pos) * c.convDim() + c.dInner() + h * qk + d]
                : t.doubles("matrix_mixer.q_matrix")[(pos * H + h) * qk + d];
    }

    static double k(MixerConfig c, InMemoryTensors t, double[] conv, int b, int L, int pos, int h, int d) {
        int qk = c.qkDim(), H = c.nheads();
        return c.dataDependent() ? conv[(b * L + pos) * c.convDim() + c.dInner() + H * qk + h * qk + d]
                : t.doubles("matrix_mixer.k_matrix")[(pos * H + h) * qk + d];
    }

    /** Column n of [B | C] at a position: the conv's BC columns (DD) or matrix_mixer.BC (max_seq_len, 2 ds). */
    static double bc(MixerConfig c, InMemoryTensors t, double[] conv, int b, int L, int pos, int n) {
        int ds = c.nheads() * c.qkDim();
        return c.dataDependent() ? conv[(b * L + pos) * c.convDim() + c.dInner() + n] : t.doubles("matrix_mixer.BC")[pos * 2 * ds + n];
    }

    /** softplus(dt_raw + dt_bias) of the forward (below the diagonal) or backward direction; dt_raw = 0 for DI. */
    static double dt(MixerConfig c, InMemoryTensors t, double[] u, int b, int pos, int h, boolean forward, int L) {
        double raw = 0;
        if (c.dataDependent()) {
            int col = c.projDim() - 2 * c.nheads() + (forward ? 0 : c.nheads()) + h, dm = c.dModel();
            for (int k = 0; k < dm; k++) raw += u[(b * L + pos) * dm + k] * t.doubles("in_proj.weight")[col * dm + k];
        }
        return Math.log1p(Math.exp(raw + t.doubles("matrix_mixer.dt_bias")[h]));
    }
}
