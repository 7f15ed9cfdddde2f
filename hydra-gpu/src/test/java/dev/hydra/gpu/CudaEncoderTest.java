package dev.hydra.gpu;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.hydra.Accuracy;
import dev.hydra.HydraException;
import dev.hydra.backend.Backend;
import dev.hydra.backend.Backend.Activation;
import dev.hydra.backend.Buf;
import dev.hydra.backend.Sequences;
import dev.hydra.bert.BertConfig;
import dev.hydra.bert.BertModel;
import dev.hydra.bert.BertModel.Padding;
import dev.hydra.bert.Output;
import dev.hydra.bert.SeededBert;
import dev.hydra.bert.Tokens;
import dev.hydra.io.InMemoryTensors;
import dev.hydra.io.SafeTensors;
import dev.hydra.kernels.ScalarBackend;
import dev.hydra.weights.Precision;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.SplittableRandom;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The encoder's operations on the GPU equal the scalar CPU ones; the whole fp32 encoder on the GPU against
 * the fp64 model, the CPU fp32 model and the release's golden; a batch beyond the device memory is refused.
 */
class CudaEncoderTest {
    static final int D = 45, B = 3, L = 17, ROWS = B * L;

    static float[] random(long seed, int n, double scale) {
        SplittableRandom r = new SplittableRandom(seed);
        float[] a = new float[n];
        for (int i = 0; i < n; i++) a[i] = (float) (scale * (2 * r.nextDouble() - 1));
        return a;
    }

    static float[] get(Backend be, Buf b, int n) {
        float[] h = new float[n];
        be.download(b, h);
        return h;
    }

    /** Runs {@code op} on both backends on copies of the same inputs and compares buffer {@code out} (index into the inputs). */
    interface Op {
        void run(Backend be, Buf[] bufs);
    }

    static void same(CudaBackend gpu, String what, float[][] inputs, int out, int n, double bound, Op op) {
        Backend cpu = new ScalarBackend();
        Buf[] g = new Buf[inputs.length], c = new Buf[inputs.length];
        for (int i = 0; i < inputs.length; i++) {
            g[i] = gpu.upload(inputs[i]);
            c[i] = cpu.upload(inputs[i]);
        }
        op.run(gpu, g);
        op.run(cpu, c);
        double e = Accuracy.relErr(get(gpu, g[out], n), get(cpu, c[out], n));
        for (Buf b : g) b.close();
        System.out.printf("gpu == cpu: %s: rel err %.2e%n", what, e);
        assertThat(e).as(what).isLessThanOrEqualTo(bound);
    }

    @Test
    void everyEncoderOperationMatchesTheCpu() {
        float[] mask = new float[ROWS];
        int[] lengths = {L, 9, 1};
        for (int b = 0; b < B; b++) for (int t = 0; t < lengths[b]; t++) mask[b * L + t] = 1;
        int V = 13;
        SplittableRandom r = new SplittableRandom(5);
        int[] ids = new int[ROWS], types = new int[ROWS];
        for (int i = 0; i < ROWS; i++) {
            ids[i] = r.nextInt(V);
            types[i] = r.nextInt(2);
        }
        try (CudaBackend gpu = Gpu.backend()) {
            float[] word = random(1, V * D, 1), type = random(2, 2 * D, 1), pos = random(3, L * D, 1), out = new float[ROWS * D];
            same(gpu, "embed", new float[][] {word, type, pos, out}, 3, ROWS * D, 0, (be, x) -> be.embed(ids, types, Sequences.uniform(B, L), x[0], x[1], x[2], D, x[3]));
            same(gpu, "embed, no positions", new float[][] {word, type, out}, 2, ROWS * D, 0, (be, x) -> be.embed(ids, types, Sequences.uniform(B, L), x[0], x[1], null, D, x[2]));
            float[] h = random(4, ROWS * D, 3), w = random(5, D, 1), bias = random(6, D, 1);
            for (int i = 0; i < h.length; i++) h[i] += 5;
            same(gpu, "layerNorm", new float[][] {h, w, bias, out}, 3, ROWS * D, 1e-6, (be, x) -> be.layerNorm(x[0], ROWS, D, x[1], x[2], 1e-12f, x[3]));
            same(gpu, "layerNorm in place", new float[][] {h, w, bias}, 0, ROWS * D, 1e-6, (be, x) -> be.layerNorm(x[0], ROWS, D, x[1], x[2], 1e-5f, x[0]));
            same(gpu, "addInPlace", new float[][] {h, random(7, ROWS * D, 1)}, 0, ROWS * D, 0, (be, x) -> be.addInPlace(x[0], x[1], (long) ROWS * D));
            same(gpu, "maskRows", new float[][] {h, mask, out}, 2, ROWS * D, 0, (be, x) -> be.maskRows(x[0], ROWS, D, x[1], x[2]));
            same(gpu, "maskRows in place", new float[][] {h, mask}, 0, ROWS * D, 0, (be, x) -> be.maskRows(x[0], ROWS, D, x[1], x[0]));
            float[] pooled = new float[B * D];
            same(gpu, "poolRows cls", new float[][] {h, mask, pooled}, 2, B * D, 0, (be, x) -> be.poolRows(x[0], Sequences.uniform(B, L), D, x[1], false, x[2]));
            same(gpu, "poolRows mean", new float[][] {h, mask, pooled}, 2, B * D, 1e-6, (be, x) -> be.poolRows(x[0], Sequences.uniform(B, L), D, x[1], true, x[2]));
            float[] a = random(8, 5001, 6);
            same(gpu, "tanh", new float[][] {a}, 0, a.length, 1e-6, (be, x) -> be.activate(x[0], a.length, Activation.TANH));
            same(gpu, "gelu", new float[][] {a}, 0, a.length, 1e-6, (be, x) -> be.activate(x[0], a.length, Activation.GELU));
        }
    }

    static BertConfig config(boolean prenorm, boolean poolAll) {
        ObjectNode o = new ObjectMapper().createObjectNode();
        o.put("vocab_size", 60).put("hidden_size", 64).put("num_hidden_layers", 3).put("max_position_embeddings", 64)
                .put("is_prenorm", prenorm).put("use_position_embeddings", prenorm).put("pool_all", poolAll)
                .put("d_state", 16).put("headdim", 16).put("chunk_size", 16);
        return BertConfig.fromJson(o, "test config");
    }

    static Tokens tokens(int vocab, int... lengths) {
        int len = java.util.Arrays.stream(lengths).max().orElseThrow(), b = lengths.length;
        SplittableRandom r = new SplittableRandom(11);
        int[] ids = new int[b * len], types = new int[b * len], mask = new int[b * len];
        for (int i = 0; i < b; i++)
            for (int t = 0; t < lengths[i]; t++) {
                ids[i * len + t] = r.nextInt(vocab);
                types[i * len + t] = t % 2;
                mask[i * len + t] = 1;
            }
        return new Tokens(b, len, ids, types, mask);
    }

    @Test
    void theWholeEncoderOnTheGpuMatchesFp64AndTheCpu() {
        try (CudaBackend gpu = Gpu.backend()) {
            for (boolean prenorm : new boolean[] {false, true})
                for (boolean poolAll : new boolean[] {false, true}) {
                    BertConfig c = config(prenorm, poolAll);
                    InMemoryTensors w = SeededBert.weights(c, 12, true, 4, "");
                    Tokens in = tokens(60, 40, 23, 5);
                    try (BertModel g = BertModel.load(c, w, "", "", Precision.FP32, gpu);
                         BertModel cpu = BertModel.load(c, w, "", "", Precision.FP32, new ScalarBackend());
                         BertModel ref = BertModel.load(c, w, "", "", Precision.FP64, new ScalarBackend())) {
                        Output og = g.forward(in, Padding.RELEASE), oc = cpu.forward(in, Padding.RELEASE), o64 = ref.forward(in, Padding.RELEASE);
                        String what = (prenorm ? "prenorm" : "postnorm") + (poolAll ? ", mean pool" : ", cls pool");
                        double e = Accuracy.relErr(og.sequence(), o64.sequence());
                        System.out.printf("gpu bert %s: sequence rel err vs fp64 %.2e, vs cpu fp32 %.2e%n", what, e, Accuracy.relErr(og.sequence(), oc.sequence()));
                        assertThat(e).as(what).isLessThan(1e-5);
                        assertThat(Accuracy.relErr(og.pooled(), o64.pooled())).as(what).isLessThan(1e-5);
                        assertThat(Accuracy.relErr(og.sequence(), oc.sequence())).as(what).isLessThan(1e-5);
                        for (int t = 23; t < 40; t++) assertThat(og.token(1, t)).as(what).containsOnly(0.0);
                        double[] h = o64.sequence();
                        assertThat(Accuracy.relErr(g.mlmLogits(h, 120), ref.mlmLogits(h, 120))).as(what).isLessThan(1e-5);
                        assertThat(Accuracy.relErr(g.classifierLogits(o64.pooled(), 3), ref.classifierLogits(o64.pooled(), 3))).as(what).isLessThan(1e-5);
                        // unpadded mode packs the sequences end to end on the same workspace
                        Output none = g.forward(in, Padding.NONE), noneCpu = ref.forward(in, Padding.NONE);
                        assertThat(Accuracy.relErr(none.sequence(), noneCpu.sequence())).as(what).isLessThan(1e-5);
                    }
                }
        }
    }

    /** The unpadded mode's packed call gives each sequence exactly what it gives alone (lengths 1 to above chunk_size 16). */
    @Test
    void aPackedCallGivesEachSequenceExactlyWhatItGivesAloneOnTheGpu() {
        int[] lengths = {20, 1, 7, 7, 33, 1, 16, 20, 3};
        try (CudaBackend gpu = Gpu.backend()) {
            for (boolean poolAll : new boolean[] {false, true}) {
                BertConfig c = config(true, poolAll);
                Tokens in = tokens(60, lengths);
                try (BertModel g = BertModel.load(c, SeededBert.weights(c, 14, false, 0, ""), "", "", Precision.FP32, gpu)) {
                    Output packed = g.forward(in, Padding.NONE);
                    for (int b = 0; b < lengths.length; b++) {
                        int n = lengths[b], d = c.hiddenSize();
                        int[] mask = new int[n];
                        java.util.Arrays.fill(mask, 1);
                        Tokens one = new Tokens(1, n, java.util.Arrays.copyOfRange(in.ids(), b * in.len(), b * in.len() + n),
                                java.util.Arrays.copyOfRange(in.typeIds(), b * in.len(), b * in.len() + n), mask);
                        Output alone = g.forward(one, Padding.NONE);
                        for (int t = 0; t < n; t++) assertThat(packed.token(b, t)).as("row %d token %d", b, t).containsExactly(alone.token(0, t));
                        assertThat(java.util.Arrays.copyOfRange(packed.pooled(), b * d, (b + 1) * d)).as("row %d pooled", b).containsExactly(alone.pooled());
                    }
                }
            }
        }
    }

    @Test
    void theReleasesGoldenOnTheGpu() throws Exception {
        try (CudaBackend gpu = Gpu.backend();
             SafeTensors st = SafeTensors.open(Path.of(CudaEncoderTest.class.getResource("/golden/hydrabert_pub.safetensors").toURI()));
             BertModel m = BertModel.load(BertConfig.fromJson(st.metadataJson("config"), "golden config"), st, "param.", "param.", Precision.FP32, gpu)) {
            long[] shape = st.info("input_ids").shape();
            Tokens in = Tokens.ofLongs((int) shape[0], (int) shape[1], st.longs("input_ids"), st.longs("token_type_ids"), st.longs("attention_mask"));
            Output o = m.forward(in, Padding.RELEASE);
            double seq = Accuracy.relErr(o.sequence(), st.doubles("sequence_output")), pooled = Accuracy.relErr(o.pooled(), st.doubles("pooled_output"));
            System.out.printf("golden hydrabert_pub on the gpu: sequence_output rel err %.2e, pooled_output %.2e%n", seq, pooled);
            assertThat(seq).isLessThan(1e-4);
            assertThat(pooled).isLessThan(1e-4);
        }
    }

    /** bf16 HydraBERT: the fp32 model on a bf16 backend, through HydraBert's precision rule, against the release's golden. */
    @Test
    void theReleasesGoldenInBf16() throws Exception {
        try (CudaBackend gpu = Gpu.backend(CudaBackend.Matmul.BF16);
             SafeTensors st = SafeTensors.open(Path.of(CudaEncoderTest.class.getResource("/golden/hydrabert_pub.safetensors").toURI()));
             BertModel m = BertModel.load(BertConfig.fromJson(st.metadataJson("config"), "golden config"), st, "param.", "param.",
                     BertModel.weightPrecision(Precision.BF16, gpu), gpu)) {
            long[] shape = st.info("input_ids").shape();
            Tokens in = Tokens.ofLongs((int) shape[0], (int) shape[1], st.longs("input_ids"), st.longs("token_type_ids"), st.longs("attention_mask"));
            Output o = m.forward(in, Padding.RELEASE);
            double seq = Accuracy.relErr(o.sequence(), st.doubles("sequence_output")), pooled = Accuracy.relErr(o.pooled(), st.doubles("pooled_output"));
            System.out.printf("golden hydrabert_pub on the gpu in bf16: sequence_output rel err %.2e, pooled_output %.2e%n", seq, pooled);
            assertThat(seq).isLessThan(7e-3);       // measured on an H200: 3.2e-3
            assertThat(pooled).isLessThan(2.5e-2);  // measured: 1.1e-2
            assertThat(seq).as("bf16 differs from fp32").isGreaterThan(1e-5);
        }
    }

    /** 2M tokens of a 1024-wide, expand-4 model need ~230 GiB of device activations: refused before anything runs. */
    @Test
    void aBatchBeyondTheDeviceMemoryIsRefusedInOneLine() {
        ObjectNode o = new ObjectMapper().createObjectNode();
        o.put("vocab_size", 8).put("hidden_size", 1024).put("num_hidden_layers", 1).put("expand", 4);
        BertConfig c = BertConfig.fromJson(o, "wide config");
        int len = 2_000_000;
        int[] ones = new int[len];
        java.util.Arrays.fill(ones, 1);
        try (CudaBackend gpu = Gpu.backend(); BertModel m = BertModel.load(c, SeededBert.weights(c, 13, false, 0, ""), "", "", Precision.FP32, gpu)) {
            assertThat(m.fits(1, len)).isFalse();
            assertThatThrownBy(() -> m.forward(new Tokens(1, len, new int[len], new int[len], ones), Padding.RELEASE))
                    .isInstanceOf(HydraException.class)
                    .hasMessageMatching("input: a batch of \\(1, 2000000\\) needs about \\d+\\.\\d\\d GiB but the gpu has \\d+\\.\\d\\d GiB free;"
                            + " split the batch or ask for automatic batching");
        }
    }
}
