package dev.hydra.tests.bert;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.hydra.Accuracy;
import dev.hydra.bert.BertConfig;
import dev.hydra.bert.BertModel.Padding;
import dev.hydra.bert.BertModel;
import dev.hydra.bert.Output;
import dev.hydra.bert.SeededBert;
import dev.hydra.bert.Tokens;
import dev.hydra.io.InMemoryTensors;
import dev.hydra.io.TensorSource;
import dev.hydra.runtime.Backends;
import dev.hydra.tests.Golden;
import dev.hydra.weights.Precision;
import org.junit.jupiter.api.Test;

import java.util.SplittableRandom;

import static org.assertj.core.api.Assertions.assertThat;

/** Unpadded mode, the pre-norm path and the heads on small seeded models. */
class BertModelTest {
    static final int V = 50, D = 16;

    static BertConfig config(boolean prenorm) {
        ObjectNode o = new ObjectMapper().createObjectNode();
        o.put("vocab_size", V).put("hidden_size", D).put("num_hidden_layers", 2).put("type_vocab_size", 2)
                .put("max_position_embeddings", 32).put("is_prenorm", prenorm).put("use_position_embeddings", prenorm)
                .put("d_state", 4).put("headdim", 8).put("expand", 2).put("d_conv", 3).put("chunk_size", 4);
        return BertConfig.fromJson(o, "test config");
    }

    static BertModel model(BertConfig c, TensorSource w, Precision<?> p) {
        return BertModel.load(c, w, "", "", p, Backends.cpu());
    }

    /** Random tokens with the given lengths, right-padded to the longest. */
    static Tokens tokens(long seed, int... lengths) {
        int L = java.util.Arrays.stream(lengths).max().orElseThrow(), B = lengths.length;
        SplittableRandom r = new SplittableRandom(seed);
        int[] ids = new int[B * L], types = new int[B * L], mask = new int[B * L];
        for (int b = 0; b < B; b++)
            for (int t = 0; t < lengths[b]; t++) {
                ids[b * L + t] = r.nextInt(V);
                types[b * L + t] = t < lengths[b] / 2 ? 0 : 1;
                mask[b * L + t] = 1;
            }
        return new Tokens(B, L, ids, types, mask);
    }

    static double[] rows(double[] a, int from, int n, int width) {
        return java.util.Arrays.copyOfRange(a, from * width, (from + n) * width);
    }

    @Test
    void unpaddedSequenceDoesNotDependOnItsCompanions() {
        BertConfig c = config(false);
        for (Precision<?> p : new Precision<?>[] {Precision.FP64, Precision.FP32})
            try (BertModel m = model(c, SeededBert.weights(c, 1, false, 0, ""), p)) {
                Tokens batch = tokens(7, 5, 11, 8);
                Tokens alone = new Tokens(1, 5, java.util.Arrays.copyOf(batch.ids(), 5), java.util.Arrays.copyOf(batch.typeIds(), 5), new int[] {1, 1, 1, 1, 1});
                Output inBatch = m.forward(batch, Padding.NONE), single = m.forward(alone, Padding.NONE);
                assertThat(rows(inBatch.sequence(), 0, 5, D)).containsExactly(single.sequence());
                assertThat(rows(inBatch.pooled(), 0, 1, D)).containsExactly(single.pooled());
                for (int t = 5; t < 11; t++) assertThat(inBatch.token(0, t)).containsOnly(0.0);
                // other companions, same first row: same first-row output
                Tokens other = tokens(99, 5, 3, 6);
                System.arraycopy(batch.ids(), 0, other.ids(), 0, 5);
                System.arraycopy(batch.typeIds(), 0, other.typeIds(), 0, 5);
                assertThat(rows(m.forward(other, Padding.NONE).sequence(), 0, 5, D)).containsExactly(single.sequence());
                // the release's padded mode lets padding reach the short row (by design of the release)
                double[] released = rows(m.forward(batch, Padding.RELEASE).sequence(), 0, 5, D);
                assertThat(Accuracy.relErr(released, single.sequence())).isGreaterThan(1e-6);
            }
    }

    @Test
    void unpaddedEqualsPaddedModeWithoutPadding() {
        BertConfig c = config(false);
        for (Precision<?> p : new Precision<?>[] {Precision.FP64, Precision.FP32})
            try (BertModel m = model(c, SeededBert.weights(c, 2, false, 0, ""), p)) {
                Tokens full = tokens(3, 9, 9, 9);
                Output a = m.forward(full, Padding.NONE), b = m.forward(full, Padding.RELEASE);
                assertThat(a.sequence()).containsExactly(b.sequence());
                assertThat(a.pooled()).containsExactly(b.pooled());
            }
    }

    @Test
    void prenormFp32AgreesWithFp64AndUsesNormF() {
        BertConfig c = config(true);
        InMemoryTensors w = SeededBert.weights(c, 4, false, 0, "");
        Tokens in = tokens(5, 12, 7);
        Output o64, o32;
        try (BertModel m = model(c, w, Precision.FP64)) { o64 = m.forward(in, Padding.RELEASE); }
        try (BertModel m = model(c, w, Precision.FP32)) { o32 = m.forward(in, Padding.RELEASE); }
        assertThat(Accuracy.relErr(o32.sequence(), o64.sequence())).isLessThan(1e-5);
        assertThat(Accuracy.relErr(o32.pooled(), o64.pooled())).isLessThan(1e-5);
        // norm_f is the last operation: shifting its bias shifts every valid output by the same amount
        float[] bias = w.floats("encoder.norm_f.bias");
        for (int i = 0; i < D; i++) bias[i] += 0.25f;
        w.put("encoder.norm_f.bias", bias, D);
        try (BertModel m = model(c, w, Precision.FP64)) {
            Output shifted = m.forward(in, Padding.RELEASE);
            int[] lengths = {12, 7};
            for (int b = 0; b < 2; b++)
                for (int t = 0; t < 12; t++)
                    for (int i = 0; i < D; i++) {
                        double want = t < lengths[b] ? o64.token(b, t)[i] + 0.25 : 0;
                        assertThat(shifted.token(b, t)[i]).isCloseTo(want, org.assertj.core.data.Offset.offset(1e-6));
                    }
        }
    }

    /** The other matrix mixers serve as the layer's mixer through Layers.load: fp32 agrees with fp64, padding zeros kept. */
    @Test
    void matrixMixersAsTheLayerMixer() {
        for (String type : new String[] {"quasiseparable", "toeplitz", "low_rank"}) {
            ObjectNode o = new ObjectMapper().createObjectNode();
            o.put("vocab_size", V).put("hidden_size", D).put("num_hidden_layers", 2).put("matrix_mixer_type", type)
                    .put("is_data_dependent", true).put("qk_dim", 4).put("max_seq_len", 12).put("headdim", 8)
                    .put("expand", 2).put("d_conv", 3).put("chunk_size", 4);
            BertConfig c = BertConfig.fromJson(o, type + " config");
            InMemoryTensors w = SeededBert.weights(c, 9, false, 0, "");
            Tokens in = tokens(10, 12, 7);
            Output o64, o32;
            try (BertModel m = model(c, w, Precision.FP64)) { o64 = m.forward(in, Padding.RELEASE); }
            try (BertModel m = model(c, w, Precision.FP32)) { o32 = m.forward(in, Padding.RELEASE); }
            assertThat(Accuracy.relErr(o32.sequence(), o64.sequence())).as(type).isLessThan(1e-4);
            assertThat(Accuracy.relErr(o32.pooled(), o64.pooled())).as(type).isLessThan(1e-4);
            assertThat(o64.token(1, 9)).containsOnly(0.0);
        }
    }

    @Test
    void headsMatchAHandComputation() {
        BertConfig c = config(false);
        InMemoryTensors w = SeededBert.weights(c, 6, true, 3, "");
        try (BertModel m = model(c, w, Precision.FP64)) {
            assertThat(m.hasMlmHead()).isTrue();
            assertThat(m.numLabels()).isEqualTo(3);
            Output o = m.forward(tokens(8, 6, 4), Padding.RELEASE);
            double[] h = o.token(1, 2);
            double[] logits = m.mlmLogits(h, 1);
            assertThat(logits).hasSize(V);
            // by hand: LayerNorm(gelu(h Wt^T + bt), 1e-12) W_word^T + decoder.bias
            double[] t = new double[D];
            for (int j = 0; j < D; j++) {
                double s = w.doubles("cls.predictions.transform.dense.bias")[j];
                for (int i = 0; i < D; i++) s += h[i] * w.doubles("cls.predictions.transform.dense.weight")[j * D + i];
                t[j] = 0.5 * s * (1 + erf(s / Math.sqrt(2)));
            }
            double mean = 0, var = 0;
            for (double v : t) mean += v / D;
            for (double v : t) var += (v - mean) * (v - mean) / D;
            for (int j = 0; j < D; j++)
                t[j] = (t[j] - mean) / Math.sqrt(var + 1e-12) * w.doubles("cls.predictions.transform.LayerNorm.weight")[j]
                        + w.doubles("cls.predictions.transform.LayerNorm.bias")[j];
            for (int v = 0; v < V; v++) {
                double s = w.doubles("cls.predictions.decoder.bias")[v];
                for (int j = 0; j < D; j++) s += t[j] * w.doubles("embeddings.word_embeddings.weight")[v * D + j];
                assertThat(logits[v]).isCloseTo(s, org.assertj.core.data.Offset.offset(1e-13)); // measured 2.9e-15
            }
            double[] cls = m.classifierLogits(o.pooled(), 2);
            assertThat(cls).hasSize(6);
            for (int b = 0; b < 2; b++)
                for (int k = 0; k < 3; k++) {
                    double s = w.doubles("classifier.bias")[k];
                    for (int i = 0; i < D; i++) s += o.pooled(b)[i] * w.doubles("classifier.weight")[k * D + i];
                    assertThat(cls[b * 3 + k]).isCloseTo(s, org.assertj.core.data.Offset.offset(1e-14)); // measured 0
                }
        }
    }

    /** erf by Simpson's rule on 2/sqrt(pi) e^{-t^2}, independent of the engine's series. */
    static double erf(double x) {
        int n = 4000;
        double h = x / n, s = 1 + Math.exp(-x * x);
        for (int i = 1; i < n; i++) s += (i % 2 == 1 ? 4 : 2) * Math.exp(-(i * h) * (i * h));
        return s * h / 3 * 2 / Math.sqrt(Math.PI);
    }

    /** pool_all: the pooler reads the mean of the valid tokens' states instead of the first token's. */
    @Test
    void poolAllPoolsTheMeanOfTheValidTokens() {
        ObjectNode o = config(false).toJson();
        o.put("pool_all", true);
        BertConfig c = BertConfig.fromJson(o, "test config");
        InMemoryTensors w = SeededBert.weights(c, 9, false, 0, "");
        Tokens in = tokens(10, 9, 4);
        try (BertModel m = model(c, w, Precision.FP64); BertModel cls = model(config(false), w, Precision.FP64)) {
            Output out = m.forward(in, Padding.RELEASE);
            int[] lengths = {9, 4};
            for (int b = 0; b < 2; b++) {
                double[] mean = new double[D];
                for (int t = 0; t < lengths[b]; t++)
                    for (int i = 0; i < D; i++) mean[i] += out.token(b, t)[i] / lengths[b];
                for (int j = 0; j < D; j++) {
                    double s = w.doubles("pooler.dense.bias")[j];
                    for (int i = 0; i < D; i++) s += mean[i] * w.doubles("pooler.dense.weight")[j * D + i];
                    assertThat(out.pooled(b)[j]).as("batch %d, %d", b, j).isCloseTo(Math.tanh(s), org.assertj.core.data.Offset.offset(1e-14));
                }
            }
            Output first = cls.forward(in, Padding.RELEASE);
            assertThat(first.sequence()).containsExactly(out.sequence());
            assertThat(Accuracy.relErr(first.pooled(), out.pooled())).isGreaterThan(1e-3);
        }
    }
}
