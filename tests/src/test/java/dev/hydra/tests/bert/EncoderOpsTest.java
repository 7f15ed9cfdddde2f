package dev.hydra.tests.bert;

import dev.hydra.Accuracy;
import dev.hydra.backend.Backend;
import dev.hydra.backend.Backend.Activation;
import dev.hydra.backend.Buf;
import dev.hydra.backend.Sequences;
import dev.hydra.kernels.ScalarBackend;
import dev.hydra.kernels.VectorBackend;
import dev.hydra.math.Erf;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.SplittableRandom;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The encoder's backend operations (embedding gather, LayerNorm, residual, row mask, pooler input, tanh and
 * gelu) on the scalar and the Vector API backends against fp64 loops written from docs/spec.md §3. The
 * widths (37, 2 x 37 + 5 rows) are not multiples of any vector length, so the vector tails run too.
 */
class EncoderOpsTest {
    static final int D = 37, B = 2, L = 13, ROWS = B * L;
    static final double BOUND = 1e-6;

    static Stream<Backend> backends() {
        return Stream.of(new ScalarBackend(), new VectorBackend(2));
    }

    static float[] random(long seed, int n, double scale) {
        SplittableRandom r = new SplittableRandom(seed);
        float[] a = new float[n];
        for (int i = 0; i < n; i++) a[i] = (float) (scale * (2 * r.nextDouble() - 1));
        return a;
    }

    static float[] run(Backend be, Buf b, int n) {
        float[] h = new float[n];
        be.download(b, h);
        return h;
    }

    static double[] layerNorm64(float[] x, int rows, int d, float[] w, float[] b, double eps) {
        double[] out = new double[rows * d];
        for (int r = 0; r < rows; r++) {
            double mean = 0, var = 0;
            for (int i = 0; i < d; i++) mean += x[r * d + i];
            mean /= d;
            for (int i = 0; i < d; i++) var += (x[r * d + i] - mean) * (x[r * d + i] - mean);
            double inv = 1 / Math.sqrt(var / d + eps);
            for (int i = 0; i < d; i++) out[r * d + i] = (x[r * d + i] - mean) * inv * w[i] + b[i];
        }
        return out;
    }

    static int[] mask() {
        int[] m = new int[ROWS];
        for (int t = 0; t < L; t++) m[t] = 1;           // row 0 full
        for (int t = 0; t < 5; t++) m[L + t] = 1;       // row 1: 5 tokens
        return m;
    }

    static float[] maskFloats() {
        float[] f = new float[ROWS];
        int[] m = mask();
        for (int i = 0; i < ROWS; i++) f[i] = m[i];
        return f;
    }

    @ParameterizedTest
    @MethodSource("backends")
    void embedGathersWordTypeAndPosition(Backend be) {
        int V = 11, T = 2;
        float[] word = random(1, V * D, 1), type = random(2, T * D, 1), pos = random(3, L * D, 1);
        SplittableRandom r = new SplittableRandom(4);
        int[] ids = new int[ROWS], types = new int[ROWS];
        for (int i = 0; i < ROWS; i++) {
            ids[i] = r.nextInt(V);
            types[i] = r.nextInt(T);
        }
        for (boolean withPos : new boolean[] {true, false})
            try (Buf w = be.upload(word); Buf t = be.upload(type); Buf p = be.upload(pos); Buf out = be.allocate(ROWS * D)) {
                be.embed(ids, types, Sequences.uniform(ids.length / L, L), w, t, withPos ? p : null, D, out);
                double[] want = new double[ROWS * D];
                for (int row = 0; row < ROWS; row++)
                    for (int i = 0; i < D; i++)
                        want[row * D + i] = (double) word[ids[row] * D + i] + type[types[row] * D + i] + (withPos ? pos[(row % L) * D + i] : 0);
                assertThat(Accuracy.relErr(run(be, out, ROWS * D), want)).as("pos %s", withPos).isLessThan(BOUND);
            }
    }

    @ParameterizedTest
    @MethodSource("backends")
    void layerNormMatchesFp64InPlaceAndOut(Backend be) {
        float[] x = random(5, ROWS * D, 3), w = random(6, D, 1), b = random(7, D, 0.5f);
        for (int i = 0; i < x.length; i++) x[i] += 10;   // a mean far from zero: the two-pass variance matters
        double[] want = layerNorm64(x, ROWS, D, w, b, 1e-12);
        try (Buf xb = be.upload(x); Buf wb = be.upload(w); Buf bb = be.upload(b); Buf out = be.allocate(ROWS * D)) {
            be.layerNorm(xb, ROWS, D, wb, bb, 1e-12f, out);
            assertThat(Accuracy.relErr(run(be, out, ROWS * D), want)).isLessThan(BOUND);
            be.layerNorm(xb, ROWS, D, wb, bb, 1e-12f, xb);
            assertThat(run(be, xb, ROWS * D)).containsExactly(run(be, out, ROWS * D));
        }
    }

    @ParameterizedTest
    @MethodSource("backends")
    void residualAddsEveryElement(Backend be) {
        int n = 70_001;   // more than one task of the vector backend, and a tail
        float[] a = random(8, n, 1), x = random(9, n, 1);
        try (Buf ab = be.upload(a); Buf xb = be.upload(x)) {
            be.addInPlace(ab, xb, n);
            float[] got = run(be, ab, n);
            for (int i = 0; i < n; i++) assertThat(got[i]).isEqualTo(a[i] + x[i]);
        }
    }

    @ParameterizedTest
    @MethodSource("backends")
    void maskRowsZeroesPaddedRowsOnly(Backend be) {
        float[] x = random(10, ROWS * D, 1), m = maskFloats();
        try (Buf xb = be.upload(x); Buf mb = be.upload(m); Buf out = be.allocate(ROWS * D)) {
            be.maskRows(xb, ROWS, D, mb, out);
            be.maskRows(xb, ROWS, D, mb, xb);
            float[] got = run(be, out, ROWS * D), inPlace = run(be, xb, ROWS * D);
            for (int i = 0; i < ROWS * D; i++) {
                float want = m[i / D] == 0 ? 0 : x[i];
                assertThat(got[i]).isEqualTo(want);
                assertThat(inPlace[i]).isEqualTo(want);
            }
        }
    }

    @ParameterizedTest
    @MethodSource("backends")
    void poolRowsTakesTheFirstRowOrTheMaskedMean(Backend be) {
        float[] h = random(11, ROWS * D, 1), m = maskFloats();
        for (int r = 0; r < ROWS; r++) if (m[r] == 0) java.util.Arrays.fill(h, r * D, (r + 1) * D, 0f);
        int[] lengths = {L, 5};
        try (Buf hb = be.upload(h); Buf mb = be.upload(m); Buf out = be.allocate(B * D)) {
            be.poolRows(hb, Sequences.uniform(B, L), D, mb, false, out);
            float[] cls = run(be, out, B * D);
            for (int b = 0; b < B; b++)
                for (int i = 0; i < D; i++) assertThat(cls[b * D + i]).isEqualTo(h[b * L * D + i]);
            be.poolRows(hb, Sequences.uniform(B, L), D, mb, true, out);
            double[] want = new double[B * D];
            for (int b = 0; b < B; b++)
                for (int i = 0; i < D; i++) {
                    for (int t = 0; t < L; t++) want[b * D + i] += h[(b * L + t) * D + i];
                    want[b * D + i] /= lengths[b];
                }
            assertThat(Accuracy.relErr(run(be, out, B * D), want)).isLessThan(BOUND);
        }
    }

    @ParameterizedTest
    @MethodSource("backends")
    void tanhAndGeluMatchFp64(Backend be) {
        float[] x = random(12, 4001, 6);
        for (Activation f : Activation.values())
            try (Buf xb = be.upload(x)) {
                be.activate(xb, x.length, f);
                double[] want = new double[x.length];
                for (int i = 0; i < x.length; i++) want[i] = f == Activation.TANH ? Math.tanh(x[i]) : Erf.gelu(x[i]);
                assertThat(Accuracy.relErr(run(be, xb, x.length), want)).as("%s", f).isLessThan(BOUND);
            }
    }
}
