package dev.hydra.tests.release;

import dev.hydra.Accuracy;
import dev.hydra.tests.Bounds;
import dev.hydra.HydraException;
import dev.hydra.runtime.Backends;
import dev.hydra.bert.BertModel;
import dev.hydra.bert.HydraBert;
import dev.hydra.bert.ModelConversion;
import dev.hydra.bert.ModelFiles;
import dev.hydra.bert.Output;
import dev.hydra.bert.Tokens;
import dev.hydra.io.SafeTensors;
import dev.hydra.io.SafeTensorsWriter;
import dev.hydra.weights.Precision;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.FieldSource;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The release's own files (checkpoints/): every file of every case loads straight from the release's format and
 * gives the golden sequence_output, pooled_output (where the model has a pooler) and logits: within {@link Bounds#releaseFp64} in fp64, 1e-4 in
 * fp32, relative to the tensor's max |value|.
 */
class ReleaseCheckpointTest {
    static final List<ReleaseFiles.Checkpoint> FILES = ReleaseFiles.ALL;

    @TempDir Path tmp;

    /** The model's outputs on the golden batch, in the release's padded mode: sequence, pooled (or null), logits. */
    static double[][] outputs(HydraBert bert, String folder) {
        BertModel m = bert.model();
        Tokens in = ReleaseFiles.goldenTokens(folder);
        Output o = m.forward(in, BertModel.Padding.RELEASE);
        double[] logits = m.hasMlmHead() ? m.mlmLogits(o.sequence(), in.batch() * in.len()) : m.classifierLogits(o.pooled(), in.batch());
        return new double[][] {o.sequence(), o.pooled(), logits};
    }

    static void assertGolden(double[][] outputs, String folder, double bound) {
        String[] names = {"sequence_output", "pooled_output", "logits"};
        for (int k = 0; k < names.length; k++) {
            double[] want = ReleaseFiles.golden(folder, names[k]);
            if (want == null) {
                assertThat(outputs[k]).as(names[k] + " of a model without a pooler").isNull();
                continue;
            }
            assertThat(Accuracy.relErr(outputs[k], want)).as(names[k]).isLessThan(bound);
        }
    }

    static HydraBert load(Path model, Precision<?> p) {
        return HydraBert.load(model, new HydraBert.Options(p, Backends.cpu(), BertModel.Padding.RELEASE, 32));
    }

    @ParameterizedTest(name = "{0}")
    @FieldSource("FILES")
    void fp64GivesTheGolden(ReleaseFiles.Checkpoint file) {
        try (HydraBert bert = load(file.path(), Precision.FP64)) {
            assertThat(bert.model().hasPooler()).isEqualTo(!file.isMaskedLm());
            assertGolden(outputs(bert, file.folder()), file.folder(), Bounds.releaseFp64(file.folder()));
        }
    }

    @ParameterizedTest(name = "{0}")
    @FieldSource("FILES")
    void fp32GivesTheGolden(ReleaseFiles.Checkpoint file) {
        try (HydraBert bert = load(file.path(), Precision.FP32)) {
            assertGolden(outputs(bert, file.folder()), file.folder(), 1e-4);
        }
    }

    @ParameterizedTest(name = "{0}")
    @FieldSource("FILES")
    void convertedFolderGivesTheGolden(ReleaseFiles.Checkpoint file) throws Exception {
        Path out = tmp.resolve("converted");
        ModelConversion.convert(ModelFiles.locate(file.path(), null), out, false);
        try (var names = Files.list(out)) {
            assertThat(names.map(p -> p.getFileName().toString()).toList()).containsExactlyInAnyOrder("model.safetensors", "config.json");
        }
        try (HydraBert bert = load(out, Precision.FP64)) {
            assertGolden(outputs(bert, file.folder()), file.folder(), Bounds.releaseFp64(file.folder()));
        }
    }

    @Test
    void aComposerCheckpointAloneUsesTheConfigItCarries() throws Exception {
        Path alone = Files.copy(ReleaseFiles.dir("ckpt_pub_mlm").resolve("composer-checkpoint.pt"),
                Files.createDirectories(tmp.resolve("alone")).resolve("hydra.pt"));
        for (Path model : List.of(alone, alone.getParent()))
            try (HydraBert bert = load(model, Precision.FP64)) {
                assertGolden(outputs(bert, "ckpt_pub_mlm"), "ckpt_pub_mlm", Bounds.releaseFp64("ckpt_pub_mlm"));
            }
        Path out = tmp.resolve("converted");
        ModelConversion.convert(ModelFiles.locate(alone, null), out, false);
        assertThat(out.resolve("config.json")).content().contains("\"matrix_mixer_type\" : \"hydra\"");
        try (HydraBert bert = load(out, Precision.FP64)) {
            assertGolden(outputs(bert, "ckpt_pub_mlm"), "ckpt_pub_mlm", Bounds.releaseFp64("ckpt_pub_mlm"));
        }
    }

    @Test
    void anExplicitConfigReplacesTheOneBesideTheCheckpoint() throws Exception {
        Path config = tmp.resolve("other.json");
        Files.writeString(config, Files.readString(ReleaseFiles.dir("ckpt_pub_mlm").resolve("config.json")).replace("\"d_state\": 16", "\"d_state\": 8"));
        ModelFiles files = ModelFiles.locate(ReleaseFiles.dir("ckpt_pub_mlm").resolve("pytorch_model.bin"), config);
        assertThatThrownBy(() -> HydraBert.load(files, HydraBert.Options.defaults())).isInstanceOf(HydraException.class)
                .hasMessageContaining("bert.encoder.layer.0.layer.mixer.in_proj.weight' has shape (336, 64)");
    }

    /** The classifier's folder with its state dict's names mapped by {@code rename} (null drops a tensor). */
    Path rewritten(String name, java.util.function.UnaryOperator<String> rename) throws Exception {
        Path dir = Files.createDirectories(tmp.resolve(name));
        Files.copy(ReleaseFiles.dir("ckpt_pub_lowrank").resolve("config.json"), dir.resolve("config.json"));
        try (SafeTensors st = SafeTensors.open(ReleaseFiles.dir("ckpt_pub_lowrank").resolve("model.safetensors"))) {
            SafeTensorsWriter w = new SafeTensorsWriter();
            for (String n : st.names())
                if (rename.apply(n) != null) w.put(rename.apply(n), st.floats(n), st.info(n).shape());
            w.write(dir.resolve("model.safetensors"), false);
        }
        return dir;
    }

    @Test
    void everyLayoutOfTheStateDictLoads() throws Exception {
        List<java.util.function.UnaryOperator<String>> layouts = List.of(
                n -> n.startsWith("bert.") ? n.substring(5) : n,       // BertModel: the encoder at the root
                n -> "model." + n,                                         // Composer: model.bert.*, model.classifier.*
                n -> "model." + (n.startsWith("bert.") ? n.substring(5) : n));
        for (int i = 0; i < layouts.size(); i++)
            try (HydraBert bert = load(rewritten("layout" + i, layouts.get(i)), Precision.FP64)) {
                assertGolden(outputs(bert, "ckpt_pub_lowrank"), "ckpt_pub_lowrank", Bounds.releaseFp64("ckpt_pub_lowrank"));
            }
    }

    @Test
    void aStateDictThatDoesNotFitIsRefusedNamingTheTensor() throws Exception {
        Path noPooler = rewritten("no-pooler", n -> n.startsWith("bert.pooler.") ? null : n);
        assertThatThrownBy(() -> load(noPooler, Precision.FP64)).isInstanceOf(HydraException.class)
                .hasMessageEndingWith("model.safetensors: tensor 'classifier.weight' needs the pooler (bert.pooler.dense.*), which is missing");
        Path twoEncoders = rewritten("two", n -> n.startsWith("bert.") ? n.substring(5) : "bert.embeddings.word_embeddings.weight");
        assertThatThrownBy(() -> load(twoEncoders, Precision.FP64)).isInstanceOf(HydraException.class)
                .hasMessageContaining("holds two encoders ('embeddings.word_embeddings.weight' and 'bert.embeddings.word_embeddings.weight')");
        Path none = rewritten("none", n -> "encoder." + n);
        assertThatThrownBy(() -> load(none, Precision.FP64)).isInstanceOf(HydraException.class)
                .hasMessageContaining("no BERT encoder (no 'embeddings.word_embeddings.weight' at the root or under bert., model. or model.bert.)");
    }

    @Test
    void aStoredDecoderWeightMustBeTheWordEmbeddings() throws Exception {
        Path dir = Files.createDirectories(tmp.resolve("untied"));
        Files.copy(ReleaseFiles.dir("ckpt_pub_mlm").resolve("config.json"), dir.resolve("config.json"));
        try (HydraBert bert = load(ReleaseFiles.dir("ckpt_pub_mlm"), Precision.FP64)) {
            assertThat(bert.model().hasMlmHead()).isTrue();
        }
        Path converted = tmp.resolve("mlm");
        ModelConversion.convert(ModelFiles.locate(ReleaseFiles.dir("ckpt_pub_mlm"), null), converted, false);
        try (SafeTensors st = SafeTensors.open(converted.resolve("model.safetensors"))) {
            SafeTensorsWriter w = new SafeTensorsWriter();
            for (String n : st.names()) {
                float[] v = st.floats(n);
                if (n.equals("cls.predictions.decoder.weight")) v[5] = -v[5];
                w.put(n, v, st.info(n).shape());
            }
            w.write(dir.resolve("model.safetensors"), false);
        }
        assertThatThrownBy(() -> load(dir, Precision.FP64)).isInstanceOf(HydraException.class)
                .hasMessageEndingWith("tensor 'cls.predictions.decoder.weight' differs from the word embeddings, to which the release ties it");
    }

    @Test
    void aModelDirectoryPicksItsCheckpoint() {
        assertThat(ModelFiles.locate(ReleaseFiles.dir("ckpt_pub_lowrank"), null).weights().getFileName().toString())
                .isEqualTo("model.safetensors");
    }

    @Test
    void convertRefusesToOverwriteWithoutForceAndReplacesWithIt() throws Exception {
        Path out = Files.createDirectories(tmp.resolve("taken"));
        Files.writeString(out.resolve("keep.txt"), "mine");
        ModelFiles src = ModelFiles.locate(ReleaseFiles.dir("ckpt_pub_lowrank"), null);
        assertThatThrownBy(() -> ModelConversion.convert(src, out, false)).isInstanceOf(HydraException.class)
                .hasMessage(out + ": already exists (use --force to overwrite)");
        assertThat(out.resolve("keep.txt")).hasContent("mine");
        ModelConversion.convert(src, out, true);
        assertThat(out.resolve("keep.txt")).doesNotExist();
        assertThat(out.resolve("model.safetensors")).exists();
        try (var left = Files.list(tmp)) {
            assertThat(left.map(p -> p.getFileName().toString()).toList()).containsExactly("taken");
        }
    }
}
