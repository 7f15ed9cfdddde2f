package dev.hydra.mixer;

import dev.hydra.HydraException;
import dev.hydra.backend.Backend;
import dev.hydra.config.MixerConfig;
import dev.hydra.config.MixerType;
import dev.hydra.io.InMemoryTensors;
import dev.hydra.kernels.ScalarBackend;
import dev.hydra.kernels.VectorBackend;
import dev.hydra.layer.Layers;
import dev.hydra.layer.MixerLayer;
import dev.hydra.reference.ReferenceMixer;
import dev.hydra.weights.MixerWeights;
import dev.hydra.weights.Precision;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.stream.Stream;

import static dev.hydra.Accuracy.relErr;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * For every type and variant over seeded random configurations: the structured path equals the dense
 * materialization, the fp32 layer agrees with fp64 on the scalar and the Vector API kernels, and each
 * matrix class has its structure.
 */
class MixerEquivalenceTest {
    /** Structured vs dense mixing in fp64: measured at most 4.3e-16 (docs/testing.md). */
    static final double STRUCTURED_VS_DENSE = 2e-14;

    static Stream<Arguments> variants() {
        List<Arguments> out = new ArrayList<>();
        for (MixerType t : MixerType.values())
            for (boolean dd : new boolean[] {true, false})
                if (!(t == MixerType.DENSE && dd)) out.add(Arguments.of(t, dd));
        return out.stream();
    }

    /** A random small config of the variant; seeded so that a failure reproduces. */
    static MixerConfig randomConfig(MixerType t, boolean dd, SplittableRandom r) {
        int dModel = 4 * (1 + r.nextInt(3)), expand = 1 + r.nextInt(2), dInner = expand * dModel;
        int[] heads = java.util.stream.IntStream.rangeClosed(1, dInner).filter(h -> dInner % h == 0 && h <= 4).toArray();
        int h = heads[r.nextInt(heads.length)];
        return new MixerConfig(t, dd, dModel, 1 + r.nextInt(4), 5 + r.nextInt(10), 1 + 2 * r.nextInt(4), expand,
                dInner / h, 2 + r.nextInt(6));
    }

    static double[] input(int n, SplittableRandom r) {
        double[] u = new double[n];
        for (int i = 0; i < n; i++) u[i] = 2 * r.nextDouble() - 1;
        return u;
    }

    static ReferenceMixer reference(MixerConfig c, long seed) {
        return new ReferenceMixer(MixerWeights.load(c, MixerWeights.seeded(c, seed), "", Precision.FP64));
    }

    @ParameterizedTest(name = "{0} dd={1}")
    @MethodSource("variants")
    void structuredEqualsDenseAndFp32AgreesWithFp64(MixerType t, boolean dd) {
        SplittableRandom r = new SplittableRandom(t.ordinal() * 2L + (dd ? 1 : 0));
        for (int trial = 0; trial < 4; trial++) {
            MixerConfig c = randomConfig(t, dd, r);
            InMemoryTensors weights = MixerWeights.seeded(c, r.nextLong());
            ReferenceMixer ref = new ReferenceMixer(MixerWeights.load(c, weights, "", Precision.FP64));
            int batch = 1 + r.nextInt(2), len = c.maxSeqLen();
            double[] u = input(batch * len * c.dModel(), r);
            double[] structured = ref.forward(u, batch, len, ReferenceMixer.Path.STRUCTURED);
            var dense = ref.forwardStages(u, batch, len, ReferenceMixer.Path.DENSE);
            assertThat(relErr(structured, dense.get("output"))).as("%s", c).isLessThanOrEqualTo(STRUCTURED_VS_DENSE);
            assertThat(dense.get("stage.conv")).hasSize(batch * len * c.convDim());
            assertThat(dense.get("stage.mix")).hasSize(batch * len * c.dInner());
            for (Backend be : new Backend[] {new ScalarBackend(), new VectorBackend(2)})
                try (be; MixerLayer fp32 = new MixerLayer(MixerWeights.load(c, weights, "", Precision.FP32), be)) {
                    double[] out32 = Layers.widen(fp32.forward(Layers.narrow(u), batch, len));
                    assertThat(relErr(out32, structured)).as("fp32 on %s, %s", be.name(), c).isLessThanOrEqualTo(1e-4);
                }
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("variants")
    void dataDependentVariantsRunAtAnyLengthAndIndependentOnesRefuse(MixerType t, boolean dd) {
        MixerConfig c = new MixerConfig(t, dd, 8, 2, 9, 3, 2, 4, 4);
        ReferenceMixer ref = reference(c, 7);
        SplittableRandom r = new SplittableRandom(3);
        for (int len : new int[] {1, 4, 13}) {
            double[] u = input(2 * len * 8, r);
            if (dd) {
                double[] structured = ref.forward(u, 2, len, ReferenceMixer.Path.STRUCTURED);
                assertThat(relErr(structured, ref.forward(u, 2, len, ReferenceMixer.Path.DENSE))).isLessThanOrEqualTo(STRUCTURED_VS_DENSE);
                assertThat(java.util.Arrays.stream(structured).allMatch(Double::isFinite)).isTrue();
            } else {
                assertThatThrownBy(() -> ref.forward(u, 2, len)).isInstanceOf(HydraException.class)
                        .hasMessage("input: the " + t.key() + " data-independent mixer runs at length max_seq_len = 9 only, got length "
                                + len + " (data-dependent variants accept any length)");
                try (MixerLayer fp32 = new MixerLayer(MixerWeights.load(c, MixerWeights.seeded(c, 7), "", Precision.FP32), new ScalarBackend())) {
                    assertThatThrownBy(() -> fp32.forward(Layers.narrow(u), 2, len)).isInstanceOf(HydraException.class)
                            .hasMessageContaining("runs at length max_seq_len = 9 only");
                }
            }
        }
    }

    // ---- structure of each matrix class, on the materialized s M (B, H, L, L) ----

    static double at(double[] m, int L, int H, int b, int h, int i, int j) {
        return m[((b * H + h) * L + i) * L + j];
    }

    static double[] materialize(MixerConfig c, int batch, int len, long seed) {
        return reference(c, seed).materialize(input(batch * len * c.dModel(), new SplittableRandom(seed)), batch, len);
    }

    @Test
    void toeplitzHasConstantDiagonals() {
        for (boolean dd : new boolean[] {true, false}) {
            MixerConfig c = new MixerConfig(MixerType.TOEPLITZ, dd, 8, 2, 11, 3, 2, 4, 4);
            double[] m = materialize(c, 2, 11, 5);
            int H = c.nheads(), L = 11;
            for (int b = 0; b < 2; b++)
                for (int h = 0; h < H; h++)
                    for (int i = 0; i + 1 < L; i++)
                        for (int j = 0; j + 1 < L; j++)
                            assertThat(at(m, L, H, b, h, i + 1, j + 1)).isEqualTo(at(m, L, H, b, h, i, j));
            assertThat(rank(block(m, L, H, 0, 0, 0, L, 0, L))).as("a toeplitz matrix, not a constant").isGreaterThan(1);
        }
    }

    @Test
    void lowRankHasRankAtMostQkDimPerHead() {
        for (boolean dd : new boolean[] {true, false}) {
            MixerConfig c = new MixerConfig(MixerType.LOW_RANK, dd, 8, 3, 12, 3, 2, 4, 4);
            double[] m = materialize(c, 2, 12, 6);
            for (int b = 0; b < 2; b++)
                for (int h = 0; h < c.nheads(); h++)
                    assertThat(rank(block(m, 12, c.nheads(), b, h, 0, 12, 0, 12))).isEqualTo(3);
        }
    }

    @Test
    void attentionRowsAreProbabilityVectors() {
        for (boolean dd : new boolean[] {true, false}) {
            MixerConfig c = new MixerConfig(MixerType.ATTENTION, dd, 8, 3, 10, 3, 2, 4, 4);
            double[] m = materialize(c, 2, 10, 8);
            for (int row = 0; row < m.length / 10; row++) {
                double sum = 0;
                for (int j = 0; j < 10; j++) {
                    double p = m[row * 10 + j];
                    assertThat(p).isGreaterThan(0).isLessThanOrEqualTo(1);
                    sum += p;
                }
                assertThat(sum).isCloseTo(1, org.assertj.core.data.Offset.offset(1e-12));
            }
        }
    }

    @Test
    void quasiseparableOffDiagonalBlocksHaveRankAtMostTheStateSize() {
        for (boolean dd : new boolean[] {true, false}) {
            // one head (headdim = d_inner) and qk_dim 2: state size ds = 2, so blocks of L/2 x L/2 are rank <= 2
            MixerConfig c = new MixerConfig(MixerType.QUASISEPARABLE, dd, 8, 2, 14, 3, 2, 16, 4);
            double[] m = materialize(c, 1, 14, 9);
            for (int i = 3; i <= 11; i++) {
                assertThat(rank(block(m, 14, 1, 0, 0, i, 14, 0, i))).as("below, split %d", i).isLessThanOrEqualTo(2);
                assertThat(rank(block(m, 14, 1, 0, 0, 0, i, i, 14))).as("above, split %d", i).isLessThanOrEqualTo(2);
            }
            assertThat(rank(block(m, 14, 1, 0, 0, 0, 14, 0, 14))).as("full matrix").isGreaterThan(2);
        }
    }

    @Test
    void cauchyEntriesArePositiveAndVandermondeDftIsTheCosineMatrix() {
        for (boolean dd : new boolean[] {true, false}) {
            double[] m = materialize(new MixerConfig(MixerType.CAUCHY, dd, 8, 2, 9, 3, 2, 4, 4), 2, 9, 10);
            assertThat(java.util.Arrays.stream(m).allMatch(x -> x > 0 && Double.isFinite(x))).isTrue();
        }
        MixerConfig c = new MixerConfig(MixerType.VANDERMONDE, false, 8, 2, 9, 3, 2, 4, 4);
        double[] m = materialize(c, 1, 9, 11);
        for (int h = 0; h < c.nheads(); h++)
            for (int t = 0; t < 9; t++)
                for (int l = 0; l < 9; l++)
                    assertThat(at(m, 9, c.nheads(), 0, h, t, l)).isCloseTo(Math.cos(2 * Math.PI * t * l / 9) / 3,
                            org.assertj.core.data.Offset.offset(1e-7));
        // DD: M[0, 0] = sum_d cos(0) - cos(0) = 0 and row 0 is sum_d cos(.) - 1 <= 0
        MixerConfig dd = new MixerConfig(MixerType.VANDERMONDE, true, 8, 2, 9, 3, 2, 4, 4);
        double[] md = materialize(dd, 1, 9, 12);
        assertThat(md[0]).isEqualTo(0.0);
        for (int l = 0; l < 9; l++) assertThat(md[l]).isLessThanOrEqualTo(0.0);
    }

    @Test
    void denseIsTheScaledParameterForEveryBatch() {
        MixerConfig c = new MixerConfig(MixerType.DENSE, false, 8, 2, 7, 3, 2, 4, 4);
        InMemoryTensors w = MixerWeights.seeded(c, 13);
        double[] param = w.doubles("matrix_mixer.M");
        double[] m = new ReferenceMixer(MixerWeights.load(c, w, "", Precision.FP64)).materialize(input(2 * 7 * 8, new SplittableRandom(1)), 2, 7);
        for (int b = 0; b < 2; b++)
            for (int i = 0; i < param.length; i++) assertThat(m[b * param.length + i]).isEqualTo(param[i] * (1 / Math.sqrt(7)));
    }

    static double[][] block(double[] m, int L, int H, int b, int h, int r0, int r1, int c0, int c1) {
        double[][] out = new double[r1 - r0][c1 - c0];
        for (int i = r0; i < r1; i++)
            for (int j = c0; j < c1; j++) out[i - r0][j - c0] = at(m, L, H, b, h, i, j);
        return out;
    }

    /** Numerical rank by Gaussian elimination with full pivoting, relative tolerance 1e-9. */
    static int rank(double[][] a) {
        int rows = a.length, cols = a[0].length, rank = 0;
        double max = 0;
        for (double[] row : a) for (double v : row) max = Math.max(max, Math.abs(v));
        boolean[] usedRow = new boolean[rows], usedCol = new boolean[cols];
        while (true) {
            int pr = -1, pc = -1;
            double best = 1e-9 * max;
            for (int i = 0; i < rows; i++)
                for (int j = 0; j < cols; j++)
                    if (!usedRow[i] && !usedCol[j] && Math.abs(a[i][j]) > best) {
                        best = Math.abs(a[i][j]);
                        pr = i;
                        pc = j;
                    }
            if (pr < 0) return rank;
            usedRow[pr] = usedCol[pc] = true;
            rank++;
            for (int i = 0; i < rows; i++)
                if (!usedRow[i]) {
                    double f = a[i][pc] / a[pr][pc];
                    for (int j = 0; j < cols; j++) a[i][j] -= f * a[pr][j];
                }
        }
    }
}
