package dev.hydra.tests.harden;

import dev.hydra.Accuracy;
import dev.hydra.HydraException;
import dev.hydra.config.HydraConfig;
import dev.hydra.forward.Stages;
import dev.hydra.io.InMemoryTensors;
import dev.hydra.layer.HydraLayer;
import dev.hydra.reference.ReferenceHydra.Mixing;
import dev.hydra.reference.ReferenceHydra;
import dev.hydra.weights.HydraWeights;
import dev.hydra.weights.Precision;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.math.BigDecimal;
import java.math.MathContext;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * Numerics at the edges (docs/harden.md): a million positions, dt at its limits, huge A_log, inputs of
 * 1e30 and 1e-30. Where the exact result is finite the engine must give a finite one, and the fp64
 * algorithms (recurrence, chunked, dense) must still agree; non-finite input is refused by the check.
 */
class ExtremeInputsTest {

    @Test
    void aMillionPositionsWithLongMemoryStayFiniteAndAgree() {
        HydraConfig c = Fixture.tiny(16);
        // A = -exp(-10): a step decays the state by about 1 - 5e-6, so it carries across the whole sequence
        InMemoryTensors t = Fixture.fill(Fixture.weights(c, 1), "A_log", -10f);
        int len = 1_000_000;
        double[] u = Fixture.input(2, len * c.dModel(), 1);
        ReferenceHydra ref = Fixture.fp64(c, t);
        double[] chunked = ref.forward(u, 1, len);
        assertThat(Fixture.firstNonFinite(chunked)).isEqualTo(-1);
        double[] recurrence = ref.forwardStages(u, 1, len, Mixing.RECURRENCE).output();
        assertThat(Accuracy.relErr(chunked, recurrence)).isLessThan(2e-11);
        try (HydraLayer layer = Fixture.fp32(c, t)) {
            float[] out = layer.forward(Fixture.floats(u), 1, len);
            assertThat(Fixture.firstNonFinite(out)).isEqualTo(-1);
            assertThat(Accuracy.relErr(out, chunked)).isLessThan(1e-3);
        }
    }

    @Test
    void dtLimitClampsEveryStepEvenWithAHugeBias() {
        HydraConfig c = new HydraConfig(4, 2, 3, 1, 2, 1, 0.05, 0.05, false, false, true, 8);
        for (float bias : new float[] {1e30f, -1e30f, 0f}) {
            InMemoryTensors t = Fixture.fill(Fixture.weights(c, 3), "dt_bias", bias);
            double[] u = Fixture.input(4, 3 * 17 * c.dModel(), 1);
            Stages<double[]> s64 = Fixture.fp64(c, t).forwardStages(u, 3, 17, Mixing.CHUNKED);
            assertThat(s64.dtF()).as("dt_bias %s", bias).containsOnly(0.05);
            assertThat(s64.dtB()).as("dt_bias %s", bias).containsOnly(0.05);
            try (HydraLayer layer = Fixture.fp32(c, t)) {
                Stages<float[]> s32 = layer.forwardStages(Fixture.floats(u), 3, 17);
                assertThat(s32.dtF()).as("dt_bias %s", bias).containsOnly(0.05f);
                assertThat(Accuracy.relErr(s32.output(), s64.output())).as("dt_bias %s", bias).isLessThan(1e-4);
            }
        }
    }

    @ParameterizedTest
    @ValueSource(floats = {1e30f, 80f, -80f, -1e30f})
    void extremeDtBiasStaysFinite(float bias) {
        HydraConfig c = Fixture.tiny(8);
        InMemoryTensors t = Fixture.fill(Fixture.weights(c, 5), "dt_bias", bias);
        double[] u = Fixture.input(6, 2 * 37 * c.dModel(), 1);
        ReferenceHydra ref = Fixture.fp64(c, t);
        Stages<double[]> s64 = ref.forwardStages(u, 2, 37, Mixing.CHUNKED);
        assertThat(Fixture.firstNonFinite(s64.output())).isEqualTo(-1);
        assertThat(Accuracy.relErr(s64.output(), ref.forwardStages(u, 2, 37, Mixing.RECURRENCE).output())).isLessThan(2e-14);
        if (bias < -1e3) { // dt underflows to 0: the scans add nothing, and nothing is decayed into NaN
            assertThat(s64.yF()).containsOnly(0.0);
            assertThat(s64.yB()).containsOnly(0.0);
        }
        try (HydraLayer layer = Fixture.fp32(c, t)) {
            float[] out = layer.forward(Fixture.floats(u), 2, 37);
            assertThat(Accuracy.relErr(out, s64.output())).isLessThan(1e-4);
        }
    }

    /** exp(A_log) overflows float32 above 88.7 and double above 709.8; A was then -inf and every scan gave NaN. */
    @ParameterizedTest
    @ValueSource(floats = {20f, 80f, 100f, 1e30f})
    void largeALogStaysFiniteAndTheAlgorithmsAgree(float aLog) {
        HydraConfig c = Fixture.tiny(8);
        for (float dtBias : new float[] {0f, -1e30f}) { // -1e30: dt = 0, so dt * A must be 0, not 0 * -inf
            InMemoryTensors t = Fixture.fill(Fixture.fill(Fixture.weights(c, 7), "A_log", aLog), "dt_bias", dtBias);
            double[] u = Fixture.input(8, 2 * 21 * c.dModel(), 1);
            ReferenceHydra ref = Fixture.fp64(c, t);
            double[] chunked = ref.forward(u, 2, 21);
            assertThat(Fixture.firstNonFinite(chunked)).as("A_log %s, dt_bias %s", aLog, dtBias).isEqualTo(-1);
            for (Mixing m : new Mixing[] {Mixing.RECURRENCE, Mixing.DENSE})
                assertThat(Accuracy.relErr(ref.forwardStages(u, 2, 21, m).output(), chunked))
                        .as("%s, A_log %s, dt_bias %s", m, aLog, dtBias).isLessThan(2e-15);
            try (HydraLayer layer = Fixture.fp32(c, t)) {
                assertThat(Accuracy.relErr(layer.forward(Fixture.floats(u), 2, 21), chunked))
                        .as("A_log %s, dt_bias %s", aLog, dtBias).isLessThan(1e-4);
            }
        }
    }

    @ParameterizedTest
    @ValueSource(doubles = {1e30, 1e50, 1e-30, 1e-300})
    void fp64HandlesInputsOfAnyScaleItCanRepresent(double scale) {
        HydraConfig c = Fixture.tiny(8);
        InMemoryTensors t = Fixture.weights(c, 9);
        ReferenceHydra ref = Fixture.fp64(c, t);
        double[] u = Fixture.input(10, 2 * 29 * c.dModel(), 1);
        for (int i = 0; i < u.length; i++) u[i] *= scale;
        Stages<double[]> s = ref.forwardStages(u, 2, 29, Mixing.CHUNKED);
        assertThat(Fixture.firstNonFinite(s.output())).isEqualTo(-1);
        assertThat(Accuracy.relErr(ref.forwardStages(u, 2, 29, Mixing.RECURRENCE).output(), s.output())).isLessThan(1e-14);
        // step 7 against an exact oracle: at 1e50 the sum of squares (about 1e400) overflows a double,
        // which used to zero whole rows of the output
        assertThat(Accuracy.relErr(s.normed(), gatedNormOracle(c, t, u, s.mix()))).isLessThan(2e-14);
    }

    /** docs/spec.md §1.3 step 7 with the sum of squares in BigDecimal: y / sqrt(mean(y^2) + 1e-5) * norm.weight * silu(z). */
    private static double[] gatedNormOracle(HydraConfig c, InMemoryTensors t, double[] u, double[] mix) {
        int d = c.dInner(), m = c.dModel(), rows = u.length / m;
        double[] inW = t.doubles("in_proj.weight"), normW = t.doubles("norm.weight"), out = new double[rows * d];
        for (int r = 0; r < rows; r++) {
            BigDecimal ss = BigDecimal.ZERO;
            for (int i = 0; i < d; i++) ss = ss.add(new BigDecimal(mix[r * d + i]).pow(2));
            double rms = ss.divide(BigDecimal.valueOf(d), MathContext.DECIMAL128).add(new BigDecimal("1e-5"))
                    .sqrt(MathContext.DECIMAL128).doubleValue();
            for (int i = 0; i < d; i++) {
                double z = 0;
                for (int k = 0; k < m; k++) z += u[r * m + k] * inW[i * m + k];
                out[r * d + i] = mix[r * d + i] / rms * normW[i] * (z / (1 + Math.exp(-z)));
            }
        }
        return out;
    }

    @Test
    void fp32GivesFiniteResultsForTinyInputsAndRefusesOverflowingOnes() {
        HydraConfig c = Fixture.tiny(8);
        InMemoryTensors t = Fixture.weights(c, 11);
        double[] u = Fixture.input(12, 2 * 29 * c.dModel(), 1);
        try (HydraLayer layer = Fixture.fp32(c, t)) {
            for (double scale : new double[] {1e-30, 1e-45, 1e6}) {
                float[] out = layer.forward(scaled(u, scale), 2, 29);
                assertThat(Fixture.firstNonFinite(out)).as("scale %s", scale).isEqualTo(-1);
            }
            // the scans' products grow like scale^4: 1e120 is beyond float32, though the exact output is not
            assertThatThrownBy(() -> layer.forward(scaled(u, 1e30), 2, 29))
                    .isInstanceOf(HydraException.class)
                    .hasMessageStartingWith("input: the forward pass overflowed the fp32 range")
                    .hasMessageEndingWith("scale the input down or run in fp64");
        }
    }

    @Test
    void nonFiniteInputIsRefusedByTheCheckNamingTheElement() {
        HydraConfig c = Fixture.tiny(8);
        InMemoryTensors t = Fixture.weights(c, 13);
        ReferenceHydra ref = Fixture.fp64(c, t);
        try (HydraLayer layer = Fixture.fp32(c, t)) {
            for (double bad : new double[] {Double.NaN, Double.POSITIVE_INFINITY, Double.NEGATIVE_INFINITY}) {
                double[] u = Fixture.input(14, 2 * 5 * c.dModel(), 1);
                u[(5 + 3) * c.dModel() + 2] = bad; // element (1, 3, 2)
                String expected = "input: element (1, 3, 2) is " + bad + "; inputs must be finite";
                assertThatThrownBy(() -> ref.forward(u, 2, 5)).isInstanceOf(HydraException.class).hasMessage(expected);
                assertThatThrownBy(() -> layer.forward(Fixture.floats(u), 2, 5)).isInstanceOf(HydraException.class).hasMessage(expected);
            }
        }
    }

    @Test
    void nonFiniteWeightsAreRefusedAtLoad() {
        HydraConfig c = Fixture.tiny(8);
        InMemoryTensors t = Fixture.weights(c, 15);
        float[] w = t.floats("fc_D.weight");
        w[5] = Float.NaN;
        t.put("fc_D.weight", w, t.info("fc_D.weight").shape());
        for (Precision<?> p : new Precision<?>[] {Precision.FP32, Precision.FP64})
            assertThatThrownBy(() -> HydraWeights.load(c, t, "", p)).isInstanceOf(HydraException.class)
                    .hasMessage(t.source() + ": tensor 'fc_D.weight' holds a non-finite value at flat index 5");
    }

    private static float[] scaled(double[] u, double scale) {
        float[] f = new float[u.length];
        for (int i = 0; i < u.length; i++) f[i] = (float) (u[i] * scale);
        return f;
    }
}
