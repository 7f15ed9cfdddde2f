package dev.hydra.tests.release;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.hydra.Accuracy;
import dev.hydra.tests.Bounds;
import dev.hydra.cli.HydraCli;
import dev.hydra.io.SafeTensors;
import dev.hydra.io.SafeTensorsWriter;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.FieldSource;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** The release's files through the CLI: encode, classify, fill-mask, tokenize, convert, inspect, and their one-line errors. */
class ReleaseCliTest {
    static final List<ReleaseFiles.Checkpoint> FILES = ReleaseFiles.ALL;

    @TempDir Path tmp;

    /** hydra encode --input-ids golden.safetensors on the file; checks every output against the golden. */
    void encodeGivesTheGolden(Path model, String folder, String precision) throws Exception {
        Path out = tmp.resolve("out-" + precision + ".safetensors");
        Files.deleteIfExists(out);
        stdout("encode", "--model", model.toString(), "--input-ids", ReleaseFiles.golden(folder).toString(),
                "--precision", precision, "--batch-size", "2", "--output", out.toString());
        double bound = precision.equals("fp64") ? Bounds.releaseFp64(folder) : 1e-4;
        try (SafeTensors o = SafeTensors.open(out); SafeTensors g = SafeTensors.open(ReleaseFiles.golden(folder))) {
            for (String name : List.of("sequence_output", "pooled_output", "logits")) {
                assertThat(o.contains(name)).as(name).isEqualTo(g.contains(name));
                if (!g.contains(name)) continue;
                assertThat(o.info(name).shape()).as(name).containsExactly(g.info(name).shape());
                assertThat(o.info(name).dtype().name()).isEqualTo(precision.equals("fp64") ? "F64" : "F32");
                assertThat(Accuracy.relErr(o.doubles(name), g.doubles(name))).as(name).isLessThan(bound);
            }
        }
    }

    @ParameterizedTest(name = "{0}")
    @FieldSource("FILES")
    void encodeReproducesTheGolden(ReleaseFiles.Checkpoint file) throws Exception {
        encodeGivesTheGolden(file.path(), file.folder(), "fp64");
        encodeGivesTheGolden(file.path(), file.folder(), "fp32");
    }

    @Test
    void convertedFoldersEncodeTheGolden() throws Exception {
        for (ReleaseFiles.Checkpoint file : FILES) {
            Path out = tmp.resolve("converted-" + file.folder() + "-" + file.file());
            stdout("convert", "--model", file.path().toString(), "--output", out.toString());
            encodeGivesTheGolden(out, file.folder(), "fp64");
        }
        Path out = tmp.resolve("converted-ckpt_pub_mlm-pytorch_model.bin");
        assertThat(error("convert", "--model", FILES.getFirst().path().toString(), "--output", out.toString()))
                .isEqualTo("hydra: " + out + ": already exists (use --force to overwrite)");
        stdout("convert", "--model", FILES.getFirst().path().toString(), "--output", out.toString(), "--force");
        encodeGivesTheGolden(out, FILES.getFirst().folder(), "fp64");
    }

    @Test
    void aMaskedLmModelHasNoPooledOutputButMeanPoolingWorks() throws Exception {
        Path model = ReleaseFiles.dir("ckpt_pub_mlm");
        Path golden = ReleaseFiles.golden("ckpt_pub_mlm");
        assertThat(error("encode", "--model", model.toString(), "--input-ids", golden.toString(), "--pool", "cls", "--output",
                tmp.resolve("x.safetensors").toString())).isEqualTo("hydra: --pool cls: the model has no pooler (a masked-LM model), "
                + "so there is no pooled output; use --pool mean");
        Path out = tmp.resolve("mean.safetensors");
        stdout("encode", "--model", model.toString(), "--input-ids", golden.toString(), "--pool", "mean", "--precision", "fp64",
                "--output", out.toString());
        double[] seq = ReleaseFiles.golden("ckpt_pub_mlm", "sequence_output");
        int[] lengths = {20, 13, 7};
        double[] want = new double[3 * 64];
        for (int b = 0; b < 3; b++)
            for (int t = 0; t < lengths[b]; t++)
                for (int i = 0; i < 64; i++) want[b * 64 + i] += seq[(b * 20 + t) * 64 + i] / lengths[b];
        try (SafeTensors o = SafeTensors.open(out)) {
            assertThat(Accuracy.relErr(o.doubles("pooled_output"), want)).isLessThan(1e-6);
        }
    }

    @Test
    void classifyPrintsTheSoftmaxOfTheGoldenLogits() {
        String[] lines = stdout("classify", "--model", ReleaseFiles.dir("ckpt_pub_lowrank").toString(), "--precision", "fp64",
                "--input-ids", ReleaseFiles.golden("ckpt_pub_lowrank").toString()).split("\n");
        double[] logits = ReleaseFiles.golden("ckpt_pub_lowrank", "logits");
        assertThat(lines).hasSize(2);
        for (int b = 0; b < 2; b++) {
            double[] p = softmax(Arrays.copyOfRange(logits, 2 * b, 2 * b + 2));
            String[] cols = lines[b].split("\t");
            assertThat(cols[0]).isEqualTo(p[1] > p[0] ? "1" : "0");     // config.json has no id2label: the index
            assertThat(Double.parseDouble(cols[2])).isCloseTo(p[0], org.assertj.core.data.Offset.offset(1e-6));
            assertThat(Double.parseDouble(cols[3])).isCloseTo(p[1], org.assertj.core.data.Offset.offset(1e-6));
        }
    }

    @Test
    void fillMaskOnTheMaskedLmGivesTheSoftmaxOfItsLogits() throws Exception {
        Path dir = Files.createDirectories(tmp.resolve("mlm"));
        for (String f : List.of("pytorch_model.bin", "config.json")) Files.copy(ReleaseFiles.dir("ckpt_pub_mlm").resolve(f), dir.resolve(f));
        List<String> vocab = new ArrayList<>(Files.readAllLines(ReleaseFiles.dir("tokenizer_pub").resolve("vocab.txt")));
        for (int i = vocab.size(); i < 128; i++) vocab.add("[unused" + i + "]");   // the model's vocabulary has 128 entries
        Files.write(dir.resolve("vocab.txt"), vocab);
        String text = "the hydra [MASK] space model";
        JsonNode tok = new ObjectMapper().readTree(stdout("tokenize", "--model", dir.toString(), "--text", text));
        int mask = 0;
        while (!tok.get("tokens").get(mask).asText().equals("[MASK]")) mask++;
        Path out = tmp.resolve("logits.safetensors");
        stdout("encode", "--model", dir.toString(), "--text", text, "--precision", "fp64", "--output", out.toString());
        double[] logits;
        try (SafeTensors o = SafeTensors.open(out)) {
            assertThat(o.info("logits").shape()).containsExactly(1, 7, 128);
            logits = Arrays.copyOfRange(o.doubles("logits"), mask * 128, (mask + 1) * 128);
        }
        double[] p = softmax(logits);
        Integer[] best = new Integer[128];
        for (int i = 0; i < 128; i++) best[i] = i;
        Arrays.sort(best, Comparator.comparingDouble(i -> -p[i]));
        String[] lines = stdout("fill-mask", "--model", dir.toString(), "--text", text, "--top-k", "3", "--precision", "fp64").split("\n");
        assertThat(lines).hasSize(3);
        for (int k = 0; k < 3; k++) {
            String[] cols = lines[k].split("\t");
            assertThat(cols[0]).isEqualTo(Integer.toString(mask));
            assertThat(Double.parseDouble(cols[2])).isCloseTo(p[best[k]], org.assertj.core.data.Offset.offset(1e-6));
        }
    }

    @Test
    void tokenizePrintsTheGoldenIdsForEveryTextAndPair() throws Exception {
        JsonNode g = WordPieceGoldenTest.golden();
        String dir = ReleaseFiles.dir("tokenizer_pub").toString();
        ObjectMapper json = new ObjectMapper();
        for (JsonNode e : g.get("texts")) {
            JsonNode out = json.readTree(stdout("tokenize", "--model", dir, "--text", e.get("text").asText()));
            assertThat(out.get("input_ids")).isEqualTo(e.get("input_ids"));
            assertThat(out.get("tokens")).isEqualTo(e.get("tokens"));
        }
        for (JsonNode e : g.get("pairs")) {
            JsonNode out = json.readTree(stdout("tokenize", "--model", dir, "--text", e.get("text").asText(),
                    "--text-pair", e.get("text_pair").asText()));
            assertThat(out.get("input_ids")).isEqualTo(e.get("input_ids"));
            assertThat(out.get("token_type_ids")).isEqualTo(e.get("token_type_ids"));
        }
    }

    @Test
    void inspectListsTensorsAndTheCarriedConfig() {
        String composer = stdout("inspect", ReleaseFiles.dir("ckpt_pub_mlm").resolve("composer-checkpoint.pt").toString());
        assertThat(composer.lines().findFirst().orElseThrow()).endsWith("composer-checkpoint.pt: Composer checkpoint (torch.save), 43 tensors");
        assertThat(composer).contains("state/model/model.bert.embeddings.word_embeddings.weight\tF32\t(128, 64)\n")
                .contains("state/optimizers/DecoupledAdamW/state/0/exp_avg\tF32\t(128, 64)\n")
                .containsPattern("config: \\{.*\"matrix_mixer_type\":\"hydra\".*\\}");
        String safetensors = stdout("inspect", ReleaseFiles.dir("ckpt_pub_lowrank").resolve("model.safetensors").toString());
        assertThat(safetensors).contains("safetensors, 22 tensors\n").contains("classifier.weight\tF32\t(2, 64)\n")
                .contains("metadata format: pt\n").contains("config: none\n");
    }

    @Test
    void badInputsAreOneLineErrors() throws Exception {
        String golden = ReleaseFiles.golden("ckpt_pub_mlm").toString(), out = tmp.resolve("o.safetensors").toString();
        assertThat(error("encode", "--model", tmp.resolve("absent").toString(), "--input-ids", golden, "--output", out))
                .endsWith("absent: no such model directory or checkpoint file");
        Path two = Files.createDirectories(tmp.resolve("two"));
        Files.copy(ReleaseFiles.dir("ckpt_pub_mlm").resolve("composer-checkpoint.pt"), two.resolve("ep1.pt"));
        Files.copy(ReleaseFiles.dir("ckpt_pub_mlm").resolve("composer-checkpoint.pt"), two.resolve("ep2.pt"));
        assertThat(error("encode", "--model", two.toString(), "--input-ids", golden, "--output", out))
                .endsWith("two: holds 2 checkpoints (ep1.pt, ep2.pt); give --model the one to use");
        Path config = tmp.resolve("config.json");
        String release = Files.readString(ReleaseFiles.dir("ckpt_pub_mlm").resolve("config.json"));
        Files.writeString(config, release.replace("\"d_state\"", "\"d_stat\""));
        String bin = ReleaseFiles.dir("ckpt_pub_mlm").resolve("pytorch_model.bin").toString();
        assertThat(error("encode", "--model", bin, "--config", config.toString(), "--input-ids", golden, "--output", out))
                .contains("config.json: unknown config key 'd_stat'");
        Files.writeString(config, release.replace("\"hidden_act\": \"gelu\"", "\"hidden_act\": \"relu\""));
        assertThat(error("encode", "--model", bin, "--config", config.toString(), "--input-ids", golden, "--output", out))
                .contains("config.json: config key 'hidden_act' is \"relu\"; the MLM head implements \"gelu\" (exact erf) only");
        Path extra = tmp.resolve("extra.safetensors");
        try (SafeTensors st = SafeTensors.open(ReleaseFiles.dir("ckpt_pub_lowrank").resolve("model.safetensors"))) {
            SafeTensorsWriter w = new SafeTensorsWriter();
            for (String n : st.names()) w.put(n, st.floats(n), st.info(n).shape());
            w.put("cls.seq_relationship.weight", new float[128], 2, 64).write(extra, false);
        }
        Files.copy(ReleaseFiles.dir("ckpt_pub_lowrank").resolve("config.json"), tmp.resolve("config.json"), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        assertThat(error("encode", "--model", extra.toString(), "--input-ids", ReleaseFiles.golden("ckpt_pub_lowrank").toString(), "--output", out))
                .endsWith("extra.safetensors: unexpected tensor 'cls.seq_relationship.weight' (not a parameter of this model)");
        assertThat(error("classify", "--model", bin, "--input-ids", golden)).endsWith("the checkpoint has no classification head (classifier.*)");
        assertThat(error("tokenize", "--model", ReleaseFiles.dir("ckpt_pub_lowrank").toString(), "--text", "x"))
                .endsWith("ckpt_pub_lowrank: no tokenizer (tokenizer.json or vocab.txt), so it takes token ids only");
        assertThat(error("inspect", tmp.resolve("config.json").toString())).contains("config.json");
    }

    static double[] softmax(double[] logits) {
        double max = Arrays.stream(logits).max().orElseThrow(), sum = 0;
        double[] p = new double[logits.length];
        for (int i = 0; i < p.length; i++) sum += p[i] = Math.exp(logits[i] - max);
        for (int i = 0; i < p.length; i++) p[i] /= sum;
        return p;
    }

    static String stdout(String... args) {
        StringWriter out = new StringWriter(), err = new StringWriter();
        assertThat(HydraCli.run(new PrintWriter(out), new PrintWriter(err), args)).as(err.toString()).isZero();
        return out.toString();
    }

    /** Runs the command expecting exit code 1 and one line on stderr; returns that line without its newline. */
    static String error(String... args) {
        StringWriter out = new StringWriter(), err = new StringWriter();
        assertThat(HydraCli.run(new PrintWriter(out), new PrintWriter(err), args)).as(err.toString()).isEqualTo(1);
        assertThat(err.toString()).startsWith("hydra: ").hasLineCount(1);
        return err.toString().strip();
    }
}
