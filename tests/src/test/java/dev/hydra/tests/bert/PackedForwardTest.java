package dev.hydra.tests.bert;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.hydra.HydraException;
import dev.hydra.backend.Backend;
import dev.hydra.backend.Buf;
import dev.hydra.backend.Sequences;
import dev.hydra.bert.BertConfig;
import dev.hydra.bert.BertModel;
import dev.hydra.bert.BertModel.Padding;
import dev.hydra.bert.Output;
import dev.hydra.bert.SeededBert;
import dev.hydra.bert.Tokens;
import dev.hydra.io.InMemoryTensors;
import dev.hydra.kernels.VectorBackend;
import dev.hydra.weights.Precision;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;

import static dev.hydra.tests.bert.BertModelTest.tokens;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The unpadded mode's packed forward (every sequence of a call laid end to end in one engine call) gives
 * each sequence exactly, bit for bit, what it gives alone: Hydra and the matrix mixers (the scan on the
 * backend, the mixing on the host), mixed lengths from 1 to beyond chunk_size in and out of order, CLS
 * and mean pooling, with and without a pooler, on the scalar and Vector API backends. And every row-wise
 * kernel gives a row the same bits wherever it sits in a batch.
 */
class PackedForwardTest {
    /** chunk_size is 4: lengths 1, below, at and above it, equal lengths adjacent and apart. */
    private static final int[] LENGTHS = {9, 1, 4, 4, 13, 1, 3, 9, 6, 6, 6, 2};

    private static BertConfig mixer(String type, boolean poolAll) {
        ObjectNode o = new ObjectMapper().createObjectNode();
        o.put("vocab_size", BertModelTest.V).put("hidden_size", BertModelTest.D).put("num_hidden_layers", 2).put("matrix_mixer_type", type)
                .put("is_data_dependent", true).put("qk_dim", 4).put("max_seq_len", 16).put("headdim", 8)
                .put("expand", 2).put("d_conv", 3).put("chunk_size", 4).put("pool_all", poolAll);
        return BertConfig.fromJson(o, type + " config");
    }

    @ParameterizedTest
    @MethodSource("dev.hydra.tests.bert.BertOnBackendTest#backends")
    void aPackedCallGivesEachSequenceExactlyWhatItGivesAlone(Backend be) {
        List<BertConfig> configs = List.of(BertOnBackendTest.config(false, false), BertOnBackendTest.config(true, true), mixer("quasiseparable", false),
                mixer("low_rank", true), mixer("attention", false));
        for (BertConfig c : configs)
            for (boolean pooler : new boolean[] {true, false}) {
                InMemoryTensors w = SeededBert.weights(c, 31, false, 0, "");
                if (!pooler) w.remove("pooler.dense.weight").remove("pooler.dense.bias");
                String what = be.name() + " " + c.source() + (c.poolAll() ? " mean" : " cls") + (pooler ? "" : " no pooler");
                Tokens batch = tokens(32, LENGTHS);
                try (BertModel m = BertModel.load(c, w, "", "", Precision.FP32, be)) {
                    Output packed = m.forward(batch, Padding.NONE);
                    assertThat(packed.pooled() != null).as(what).isEqualTo(pooler);
                    for (int b = 0; b < LENGTHS.length; b++) {
                        Output alone = m.forward(alone(batch, b, LENGTHS[b]), Padding.NONE);
                        for (int t = 0; t < batch.len(); t++)
                            if (t < LENGTHS[b]) assertThat(packed.token(b, t)).as("%s row %d token %d", what, b, t).containsExactly(alone.token(0, t));
                            else assertThat(packed.token(b, t)).as("%s row %d padding %d", what, b, t).containsOnly(0.0);
                        if (pooler)
                            assertThat(Arrays.copyOfRange(packed.pooled(), b * c.hiddenSize(), (b + 1) * c.hiddenSize()))
                                    .as("%s row %d pooled", what, b).containsExactly(alone.pooled());
                    }
                }
            }
    }

    /** Row b's first n tokens as a batch of one. */
    private static Tokens alone(Tokens batch, int b, int n) {
        int[] ids = Arrays.copyOfRange(batch.ids(), b * batch.len(), b * batch.len() + n);
        int[] types = Arrays.copyOfRange(batch.typeIds(), b * batch.len(), b * batch.len() + n), mask = new int[n];
        Arrays.fill(mask, 1);
        return new Tokens(1, n, ids, types, mask);
    }

    /** linear computes each row the same way in any batch: in > one k block, an out that leaves a narrow last strip. */
    @ParameterizedTest
    @MethodSource("dev.hydra.tests.bert.BertOnBackendTest#backends")
    void linearGivesARowTheSameBitsWhereverItSits(Backend be) {
        int rows = 23, in = 300, out = 45;
        SplittableRandom r = new SplittableRandom(33);
        float[] x = new float[rows * in], wt = new float[out * in], bias = new float[out];
        for (int i = 0; i < x.length; i++) x[i] = (float) r.nextDouble(-1, 1);
        for (int i = 0; i < wt.length; i++) wt[i] = (float) r.nextDouble(-1, 1);
        for (int i = 0; i < out; i++) bias[i] = (float) r.nextDouble(-1, 1);
        try (Buf xb = be.upload(x); Buf w = be.upload(wt); Buf b = be.upload(bias); Buf all = be.allocate((long) rows * out)) {
            be.linear(xb, in, 0, rows, in, w, b, out, all);
            float[] whole = new float[rows * out];
            be.download(all, whole);
            // every block [r0, r0 + n): rows alone, in the tiles' remainders and at every offset in them
            for (int r0 = 0; r0 < rows; r0++)
                for (int n = 1; r0 + n <= rows; n++) {
                    float[] part = new float[n * in];
                    System.arraycopy(x, r0 * in, part, 0, n * in);
                    try (Buf pb = be.upload(part); Buf y = be.allocate((long) n * out)) {
                        be.linear(pb, in, 0, n, in, w, b, out, y);
                        float[] got = new float[n * out];
                        be.download(y, got);
                        assertThat(got).as("%s rows [%d, %d)", be.name(), r0, r0 + n)
                                .containsExactly(Arrays.copyOfRange(whole, r0 * out, (r0 + n) * out));
                    }
                }
        }
    }

    @Test
    void aRowWithoutTokensIsRefusedInOneLine() {
        BertConfig c = BertOnBackendTest.config(false, false);
        Tokens in = tokens(34, 5, 3);
        Arrays.fill(in.mask(), in.len(), 2 * in.len(), 0);
        try (BertModel m = BertModel.load(c, SeededBert.weights(c, 35, false, 0, ""), "", "", Precision.FP32, new VectorBackend(2))) {
            assertThatThrownBy(() -> m.forward(in, Padding.NONE)).isInstanceOf(HydraException.class).hasMessage("tokens: row 1 has no tokens");
        }
    }

    @Test
    void sequencesDescribeRowsAndRunsOfEqualLengths() {
        Sequences s = Sequences.of(3, 3, 1, 5, 5, 5, 3);
        assertThat(s.count()).isEqualTo(7);
        assertThat(s.rows()).isEqualTo(25);
        assertThat(s.runs()).containsExactly(new Sequences.Run(0, 0, 2, 3), new Sequences.Run(2, 6, 1, 1),
                new Sequences.Run(3, 7, 3, 5), new Sequences.Run(6, 22, 1, 3));
        for (int i = 0; i < s.count(); i++)
            for (int row = s.start(i); row < s.start(i) + s.length(i); row++) assertThat(s.sequenceOf(row)).isEqualTo(i);
        assertThat(Sequences.uniform(4, 6).runs()).containsExactly(new Sequences.Run(0, 0, 4, 6));
    }
}
