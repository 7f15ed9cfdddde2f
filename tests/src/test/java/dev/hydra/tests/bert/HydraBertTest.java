package dev.hydra.tests.bert;

import dev.hydra.HydraException;
import dev.hydra.bert.BertModel.Padding;
import dev.hydra.bert.HydraBert;
import dev.hydra.bert.HydraBert.Pool;
import dev.hydra.bert.Output;
import dev.hydra.bert.Tokens;
import dev.hydra.weights.Precision;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The model-directory API: texts in, embeddings, labels and masked-token predictions out; load errors. */
class HydraBertTest {
    @TempDir Path tmp;

    @Test
    void embeddingsOfTextsEqualTheEncoderOnTheirIdsWhateverTheBatch() {
        try (HydraBert m = HydraBert.load(TinyBertDir.create(tmp.resolve("m"), true))) {
            List<String> texts = List.of("the cat sat on the mat", "a dog", "the cats");
            double[][] cls = m.embed(texts, Pool.CLS), mean = m.embed(texts, Pool.MEAN);
            // "a dog" = [CLS] a dog [SEP]
            Output alone = m.model().forward(new Tokens(1, 4, new int[] {2, 12, 10, 3}, new int[4], new int[] {1, 1, 1, 1}), Padding.NONE);
            assertThat(cls[1]).containsExactly(alone.pooled(0));
            double[] avg = new double[16];
            for (int t = 0; t < 4; t++) for (int i = 0; i < 16; i++) avg[i] += alone.token(0, t)[i] / 4;
            for (int i = 0; i < 16; i++) assertThat(mean[1][i]).isCloseTo(avg[i], org.assertj.core.data.Offset.offset(1e-12));
            assertThat(m.embed(List.of("a dog"), Pool.CLS)[0]).containsExactly(cls[1]);
        }
    }

    /** The thread-safety contract (docs/harden.md): 16 threads x 60 calls (embed CLS, embed mean, classify), bit-identical to sequential calls. */
    @Test
    void sixteenThreadsSharingOneModelGetTheSequentialResults() throws Exception {
        try (HydraBert m = HydraBert.load(TinyBertDir.create(tmp.resolve("m"), true))) {
            List<String> texts = List.of("the cat sat on the mat", "a dog", "the cats", "a mat on a dog");
            double[][] cls = m.embed(texts, Pool.CLS), mean = m.embed(texts, Pool.MEAN);
            var labels = m.classify(texts);
            var pool = java.util.concurrent.Executors.newFixedThreadPool(16);
            try {
                var start = new java.util.concurrent.CountDownLatch(1);
                var futures = new java.util.ArrayList<java.util.concurrent.Future<Integer>>();
                for (int thread = 0; thread < 16; thread++) {
                    int id = thread;
                    futures.add(pool.submit(() -> {
                        start.await();
                        int bad = 0;
                        for (int call = 0; call < 60; call++) {
                            boolean same = switch ((id + call) % 3) {
                                case 0 -> java.util.Arrays.deepEquals(m.embed(texts, Pool.CLS), cls);
                                case 1 -> java.util.Arrays.deepEquals(m.embed(texts, Pool.MEAN), mean);
                                default -> sameLabels(m.classify(texts), labels);
                            };
                            if (!same) bad++;
                        }
                        return bad;
                    }));
                }
                start.countDown();
                for (var f : futures) assertThat(f.get(120, java.util.concurrent.TimeUnit.SECONDS)).isZero();
            } finally {
                pool.shutdownNow();
            }
        }
    }

    private static boolean sameLabels(List<HydraBert.Classification> a, List<HydraBert.Classification> b) {
        if (a.size() != b.size()) return false;
        for (int i = 0; i < a.size(); i++)
            if (a.get(i).label() != b.get(i).label() || !java.util.Arrays.equals(a.get(i).probabilities(), b.get(i).probabilities())) return false;
        return true;
    }

    @Test
    void classifyAndFillMask() {
        try (HydraBert m = HydraBert.load(TinyBertDir.create(tmp.resolve("m"), true))) {
            var labels = m.classify(List.of("the cat sat", "a dog on a mat"));
            assertThat(labels).hasSize(2);
            for (var c : labels) {
                assertThat(c.probabilities()).hasSize(3);
                assertThat(java.util.Arrays.stream(c.probabilities()).sum()).isCloseTo(1, org.assertj.core.data.Offset.offset(1e-9));
                assertThat(c.probabilities()[c.label()]).isEqualTo(java.util.Arrays.stream(c.probabilities()).max().orElseThrow());
                assertThat(c.name()).isEqualTo(List.of("negative", "neutral", "positive").get(c.label()));
            }
            // a pair runs as [CLS] a [SEP] b [SEP] with type ids 0 then 1
            var pair = m.classifyPairs(List.of("the cat"), List.of("a dog")).getFirst();
            Output pairOut = m.model().forward(new Tokens(1, 7, new int[] {2, 5, 6, 3, 12, 10, 3}, new int[] {0, 0, 0, 0, 1, 1, 1},
                    new int[] {1, 1, 1, 1, 1, 1, 1}), Padding.NONE);
            double[] logits = m.model().classifierLogits(pairOut.pooled(), 1);
            double z = 0;
            for (double l : logits) z += Math.exp(l);
            for (int k = 0; k < 3; k++)
                assertThat(pair.probabilities()[k]).isCloseTo(Math.exp(logits[k]) / z, org.assertj.core.data.Offset.offset(1e-12));
            var pred = m.fillMask("the [MASK] sat", 3);
            assertThat(pred).hasSize(1);
            assertThat(pred.getFirst()).hasSize(3);
            assertThat(pred.getFirst().getFirst().position()).isEqualTo(2);
            assertThat(pred.getFirst().get(0).score()).isGreaterThanOrEqualTo(pred.getFirst().get(1).score());
            assertThat(pred.getFirst().get(1).score()).isGreaterThanOrEqualTo(pred.getFirst().get(2).score());
            assertThatThrownBy(() -> m.fillMask("no mask here", 3)).isInstanceOf(HydraException.class).hasMessageContaining("[MASK]");
        }
    }

    @Test
    void loadErrorsAreOneLineAndNameTheCulprit() throws Exception {
        oneLine(() -> HydraBert.load(tmp.resolve("absent")), "absent: no such model directory or checkpoint file");
        oneLine(() -> HydraBert.load(TinyBertDir.create(tmp.resolve("bf16"), false), HydraBert.Options.defaults().with(Precision.BF16)),
                "bf16 runs on the gpu backend made for it");
        Path noTok = TinyBertDir.create(tmp.resolve("ids-only"), false);
        try (HydraBert m = HydraBert.load(noTok)) {
            oneLine(() -> m.embed(List.of("x"), Pool.CLS), "has no tokenizer (tokenizer.json or vocab.txt beside it)");
        }
        Path d = TinyBertDir.create(tmp.resolve("broken"), false);
        Files.delete(d.resolve("config.json"));
        oneLine(() -> HydraBert.load(d), "model.safetensors: no config.json beside it and the checkpoint carries no config");
        Files.move(d.resolve("model.safetensors"), d.resolve("weights.bin"));
        oneLine(() -> HydraBert.load(d), "no checkpoint (model.safetensors, pytorch_model.bin or a *.pt Composer checkpoint)");
        Files.move(d.resolve("weights.bin"), d.resolve("model.safetensors"));
        Files.writeString(d.resolve("config.json"), "{\"vocab_size\": 50,");
        oneLine(() -> HydraBert.load(d), "config.json: not valid JSON");
        Files.writeString(d.resolve("config.json"), "{\"vocab_size\": 50, \"num_hidden_layers\": 2}");
        oneLine(() -> HydraBert.load(d), "missing required config key 'hidden_size'");
        Path other = TinyBertDir.create(tmp.resolve("other"), false);
        Files.writeString(other.resolve("config.json"), Files.readString(other.resolve("config.json")).replace("\"d_state\"", "\"d_stat\""));
        oneLine(() -> HydraBert.load(other), "config.json: unknown config key 'd_stat'");
        Files.writeString(other.resolve("config.json"), Files.readString(other.resolve("config.json"))
                .replace("\"d_stat\"", "\"d_state\"").replace("\"hidden_size\" : 16", "\"hidden_size\" : 24"));
        oneLine(() -> HydraBert.load(other), "bert.embeddings.word_embeddings.weight' has shape (50, 16)");
    }

    private static void oneLine(org.assertj.core.api.ThrowableAssert.ThrowingCallable call, String part) {
        assertThatThrownBy(call).isInstanceOf(HydraException.class).hasMessageContaining(part)
                .satisfies(e -> assertThat(e.getMessage()).doesNotContain("\n"));
    }
}
