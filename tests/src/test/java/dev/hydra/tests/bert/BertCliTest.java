package dev.hydra.tests.bert;

import dev.hydra.Accuracy;
import dev.hydra.cli.HydraCli;
import dev.hydra.io.SafeTensors;
import dev.hydra.io.SafeTensorsWriter;
import dev.hydra.tests.Bounds;
import dev.hydra.tests.Golden;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

/** hydra encode / classify / fill-mask. */
class BertCliTest {
    @TempDir Path tmp;

    /** The golden's model as a model directory, and its token ids as a pre-tokenized input file. */
    Path goldenModel() throws Exception {
        Path dir = Files.createDirectories(tmp.resolve("golden-model"));
        try (SafeTensors st = Golden.open("hydrabert_pub.safetensors")) {
            Files.writeString(dir.resolve("config.json"), Golden.config(st).toPrettyString());
            SafeTensorsWriter w = new SafeTensorsWriter();
            for (String name : st.names())
                if (name.startsWith("param.")) w.put(name.substring("param.".length()), st.floats(name), st.info(name).shape());
            w.write(dir.resolve("model.safetensors"), false);
            long[] shape = st.info("input_ids").shape();
            new SafeTensorsWriter().put("input_ids", st.longs("input_ids"), shape).put("token_type_ids", st.longs("token_type_ids"), shape)
                    .put("attention_mask", st.longs("attention_mask"), shape).write(tmp.resolve("ids.safetensors"), false);
        }
        return dir;
    }

    @Test
    void encodeFromIdsReproducesTheGolden() throws Exception {
        Path dir = goldenModel();
        for (String precision : new String[] {"fp64", "fp32"}) {
            Path out = tmp.resolve("out-" + precision + ".safetensors");
            assertThat(HydraCli.run("encode", "--model", dir.toString(), "--input-ids", tmp.resolve("ids.safetensors").toString(),
                    "--precision", precision, "--batch-size", "2", "--output", out.toString())).isZero();
            boolean fp64 = precision.equals("fp64");
            try (SafeTensors o = SafeTensors.open(out); SafeTensors g = Golden.open("hydrabert_pub.safetensors")) {
                assertThat(o.info("sequence_output").shape()).containsExactly(3, 20, 64);
                assertThat(Accuracy.relErr(o.doubles("sequence_output"), g.doubles("sequence_output"))).isLessThan(fp64 ? Bounds.BERT_SEQUENCE : 1e-4);
                assertThat(Accuracy.relErr(o.doubles("pooled_output"), g.doubles("pooled_output"))).isLessThan(fp64 ? Bounds.BERT_POOLED : 1e-4);
                assertThat(o.longs("attention_mask")).containsExactly(g.longs("attention_mask"));
            }
        }
    }

    @Test
    void idsInputErrorsAreOneLine() throws Exception {
        Path dir = goldenModel();
        assertThat(error("encode", "--model", dir.toString(), "--input-ids", tmp.resolve("ids.safetensors").toString(),
                "--precision", "bf16", "--output", tmp.resolve("x").toString())).contains("bf16 runs only on the gpu backend").contains("--backend cpu");
        Path bad = tmp.resolve("bad-ids.safetensors");
        new SafeTensorsWriter().put("input_ids", new long[] {1, 2, 3}, 1, 3).write(bad, false);
        assertThat(error("encode", "--model", dir.toString(), "--input-ids", bad.toString(), "--output", tmp.resolve("x").toString()))
                .contains("missing tensor 'attention_mask'");
        Path notPadded = tmp.resolve("left-padded.safetensors");
        new SafeTensorsWriter().put("input_ids", new long[] {1, 2, 3}, 1, 3).put("attention_mask", new long[] {0, 1, 1}, 1, 3)
                .write(notPadded, false);
        assertThat(error("encode", "--model", dir.toString(), "--input-ids", notPadded.toString(), "--output", tmp.resolve("x").toString()))
                .contains("attention_mask is not ones followed by zeros");
        Path outOfVocab = tmp.resolve("oov.safetensors");
        new SafeTensorsWriter().put("input_ids", new long[] {1, 200, 3}, 1, 3).put("attention_mask", new long[] {1, 1, 1}, 1, 3)
                .write(outOfVocab, false);
        assertThat(error("encode", "--model", dir.toString(), "--input-ids", outOfVocab.toString(), "--output", tmp.resolve("x").toString()))
                .contains("input_ids[0, 1] is 200, outside the vocabulary [0, 100)");
        assertThat(error("fill-mask", "--model", dir.toString(), "--text", "a [MASK]")).contains("has no tokenizer (tokenizer.json or vocab.txt beside it)");
    }

    /** Runs the command expecting exit code 1 and one line on stderr; returns that line. */
    private static String error(String... args) {
        StringWriter out = new StringWriter(), err = new StringWriter();
        assertThat(HydraCli.run(new PrintWriter(out), new PrintWriter(err), args)).isEqualTo(1);
        assertThat(err.toString()).startsWith("hydra: ").hasLineCount(1);
        return err.toString();
    }

    @Test
    void textCommands() throws Exception {
        Path dir = TinyBertDir.create(tmp.resolve("m"), true);
        Path texts = tmp.resolve("texts.txt");
        Files.writeString(texts, "the cat sat\n\na dog on the mat\nthe cats\n");
        Path out = tmp.resolve("e.safetensors");
        StringWriter progress = new StringWriter();
        assertThat(HydraCli.run(new PrintWriter(new StringWriter()), new PrintWriter(progress), "encode", "--model", dir.toString(),
                "--input-file", texts.toString(), "--pool", "mean", "--progress", "--output", out.toString())).isZero();
        assertThat(progress.toString()).contains("encode [").contains("3/3");
        try (SafeTensors o = SafeTensors.open(out)) {
            assertThat(o.info("sequence_output").shape()).containsExactly(3, 7, 16);
            assertThat(o.info("pooled_output").shape()).containsExactly(3, 16);
            assertThat(o.longs("attention_mask")).containsExactly(1, 1, 1, 1, 1, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0);
        }
        StringWriter err = new StringWriter();
        assertThat(HydraCli.run(new PrintWriter(new StringWriter()), new PrintWriter(err), "encode", "--model", dir.toString(),
                "--text", "x", "--output", out.toString())).isEqualTo(1);
        assertThat(err.toString()).startsWith("hydra: ").contains("already exists").hasLineCount(1);

        String labels = stdout("classify", "--model", dir.toString(), "--text", "the cat", "--text", "a dog");
        assertThat(labels.lines()).hasSize(2).allMatch(l -> l.matches("(negative|neutral|positive)\\t[0-9.]+(\\t[0-9.]+){3}"));
        String masks = stdout("fill-mask", "--model", dir.toString(), "--text", "the [MASK] sat", "--top-k", "2");
        assertThat(masks.lines()).hasSize(2).allMatch(l -> l.startsWith("2\t"));
    }

    /** Runs the command expecting success; returns its stdout. */
    private static String stdout(String... args) {
        StringWriter out = new StringWriter(), err = new StringWriter();
        assertThat(HydraCli.run(new PrintWriter(out), new PrintWriter(err), args)).as(err.toString()).isZero();
        return out.toString();
    }

    /** hydra bench with a BERT config.json: the whole encoder timed, in both precisions, with the heap it peaked at. */
    @Test
    void benchTimesAWholeEncoderFromABertConfig() throws Exception {
        Path cfg = tmp.resolve("bert.json");
        Files.writeString(cfg, BertModelTest.config(false).toJson().toPrettyString());
        for (String precision : new String[] {"fp32", "fp64"}) {
            java.io.ByteArrayOutputStream buf = new java.io.ByteArrayOutputStream();
            java.io.PrintStream old = System.out;
            System.setOut(new java.io.PrintStream(buf, true));
            try {
                assertThat(HydraCli.run("bench", "--config", cfg.toString(), "--batch", "2", "--seqlen", "8", "--seconds", "0.05",
                        "--precision", precision, "--backend", "scalar", "--against-layer", precision.equals("fp32") ? "1" : "0")).isZero();
            } finally {
                System.setOut(old);
            }
            assertThat(buf.toString()).contains("Hydra BERT: 2 layers, hidden 16, vocab 50, Hydra mixer; B=2 L=8, " + precision + ", scalar backend")
                    .containsPattern("sequences/s: \\d+\\.\\d").containsPattern("tokens/s: \\d+").containsPattern("peak heap: \\d+\\.\\d\\d GiB");
            if (precision.equals("fp32")) assertThat(buf.toString()).containsPattern("layers' share: 2 layer calls / one encoder call = \\d+\\.\\d{3} ");
        }
    }
}
