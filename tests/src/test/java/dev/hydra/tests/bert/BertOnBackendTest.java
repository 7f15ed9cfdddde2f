package dev.hydra.tests.bert;

import dev.hydra.Accuracy;
import dev.hydra.HydraException;
import dev.hydra.backend.Backend;
import dev.hydra.bert.BertConfig;
import dev.hydra.bert.BertModel;
import dev.hydra.bert.BertModel.Padding;
import dev.hydra.bert.Output;
import dev.hydra.bert.SeededBert;
import dev.hydra.bert.Tokens;
import dev.hydra.io.InMemoryTensors;
import dev.hydra.kernels.ScalarBackend;
import dev.hydra.kernels.VectorBackend;
import dev.hydra.weights.Precision;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.stream.Stream;

import static dev.hydra.tests.bert.BertModelTest.tokens;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The fp32 encoder on each CPU backend (everything on the backend, one workspace per call) against the fp64
 * model: post-norm and pre-norm, CLS and mean pooling, both heads; a workspace reused across shapes; the
 * refusal of a batch that cannot fit.
 */
class BertOnBackendTest {

    static Stream<Backend> backends() {
        return Stream.of(new ScalarBackend(), new VectorBackend(2));
    }

    static BertConfig config(boolean prenorm, boolean poolAll) {
        var o = BertModelTest.config(prenorm).toJson();
        o.put("pool_all", poolAll);
        return BertConfig.fromJson(o, "test config");
    }

    @ParameterizedTest
    @MethodSource("backends")
    void fp32OnTheBackendMatchesFp64(Backend be) {
        for (boolean prenorm : new boolean[] {false, true})
            for (boolean poolAll : new boolean[] {false, true}) {
                BertConfig c = config(prenorm, poolAll);
                InMemoryTensors w = SeededBert.weights(c, 21, true, 3, "");
                Tokens in = tokens(22, 12, 7, 1);
                try (BertModel m64 = BertModel.load(c, w, "", "", Precision.FP64, be);
                     BertModel m32 = BertModel.load(c, w, "", "", Precision.FP32, be)) {
                    Output o64 = m64.forward(in, Padding.RELEASE), o32 = m32.forward(in, Padding.RELEASE);
                    String what = be.name() + (prenorm ? " prenorm" : " postnorm") + (poolAll ? " mean pool" : " cls pool");
                    assertThat(Accuracy.relErr(o32.sequence(), o64.sequence())).as(what).isLessThan(1e-5).isGreaterThan(0);
                    assertThat(Accuracy.relErr(o32.pooled(), o64.pooled())).as(what).isLessThan(1e-5);
                    for (int t = 7; t < 12; t++) assertThat(o32.token(1, t)).as(what).containsOnly(0.0);
                    double[] h = o64.sequence();
                    assertThat(Accuracy.relErr(m32.mlmLogits(h, 36), m64.mlmLogits(h, 36))).as(what).isLessThan(1e-5);
                    assertThat(Accuracy.relErr(m32.classifierLogits(o64.pooled(), 3), m64.classifierLogits(o64.pooled(), 3)))
                            .as(what).isLessThan(1e-5);
                }
            }
    }

    /** A call after a larger one reuses the (larger) workspace and gives exactly what a fresh model gives. */
    @ParameterizedTest
    @MethodSource("backends")
    void aReusedWorkspaceGivesTheSameResultAsAFreshOne(Backend be) {
        BertConfig c = config(false, false);
        InMemoryTensors w = SeededBert.weights(c, 23, false, 0, "");
        Tokens big = tokens(24, 16, 16, 9, 3), small = tokens(25, 6, 2);
        Output fresh;
        try (BertModel m = BertModel.load(c, w, "", "", Precision.FP32, be)) {
            fresh = m.forward(small, Padding.RELEASE);
        }
        try (BertModel m = BertModel.load(c, w, "", "", Precision.FP32, be)) {
            m.forward(big, Padding.RELEASE);
            Output reused = m.forward(small, Padding.RELEASE);
            assertThat(reused.sequence()).containsExactly(fresh.sequence());
            assertThat(reused.pooled()).containsExactly(fresh.pooled());
        }
    }

    /** Far more activations than the test JVM's heap: refused before anything runs, in one line with the GiB needed. */
    @Test
    void aBatchThatCannotFitIsRefusedWithTheMemoryItNeeds() {
        BertConfig c = BertModelTest.config(false);
        int len = 8_000_000;
        try (BertModel m = BertModel.load(c, SeededBert.weights(c, 26, false, 0, ""), "", "", Precision.FP32, new VectorBackend(2))) {
            assertThat(m.fits(1, len)).isFalse();
            assertThat(m.fits(2, 16)).isTrue();
            Tokens huge = new Tokens(1, len, new int[len], new int[len], filledOnes(len));
            assertThatThrownBy(() -> m.forward(huge, Padding.RELEASE)).isInstanceOf(HydraException.class)
                    .hasMessageMatching("input: a batch of \\(1, 8000000\\) needs about \\d+\\.\\d\\d GiB but the heap has \\d+\\.\\d\\d GiB free;"
                            + " split the batch, raise -Xmx or ask for automatic batching");
        }
    }

    static int[] filledOnes(int n) {
        int[] a = new int[n];
        java.util.Arrays.fill(a, 1);
        return a;
    }
}
