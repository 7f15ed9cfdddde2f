package dev.hydra.io.torch;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.hydra.io.DType;
import dev.hydra.io.SafeTensors;
import dev.hydra.io.TensorSource;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.Iterator;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/** The release's own checkpoint files read tensor for tensor like their safetensors twins, and the Composer checkpoint's extras stay inert. */
class TorchCheckpointFilesTest {
    static Path resource(String name) throws Exception {
        return Path.of(TorchCheckpointFilesTest.class.getResource(name).toURI());
    }

    @Test
    void pytorchModelBinAndComposerCheckpointHoldTheSameStateDict() throws Exception {
        try (TorchCheckpoint bin = TorchCheckpoint.open(resource("mlm-pytorch_model.bin"));
             TorchCheckpoint pt = TorchCheckpoint.open(resource("mlm-composer-checkpoint.pt"))) {
            TensorSource sd = bin.stateDict();
            Map<?, ?> model = (Map<?, ?>) pt.at("state", "model").orElseThrow();
            TensorSource composer = pt.tensors(model, "state.model");
            assertThat(sd.names()).hasSize(32).contains("bert.embeddings.word_embeddings.weight", "cls.predictions.decoder.weight");
            assertThat(composer.names()).hasSameSizeAs(sd.names());
            for (String name : sd.names()) {
                assertThat(composer.info("model." + name).shape()).as(name).isEqualTo(sd.info(name).shape());
                assertThat(sd.info(name).dtype()).isEqualTo(DType.F32);
                assertThat(composer.floats("model." + name)).as(name).isEqualTo(sd.floats(name));
                assertThat(composer.doubles("model." + name)).as(name).isEqualTo(sd.doubles(name));
            }
            assertThat(sd.info("bert.embeddings.word_embeddings.weight").shape()).containsExactly(128, 64);
            // the tied decoder weight is stored as the same storage as the word embeddings
            assertThat(sd.floats("cls.predictions.decoder.weight")).isEqualTo(sd.floats("bert.embeddings.word_embeddings.weight"));
        }
    }

    @Test
    void legacyFormatEqualsModelSafetensors() throws Exception {
        try (TorchCheckpoint legacy = TorchCheckpoint.open(resource("lowrank-legacy-format.bin"));
             SafeTensors st = SafeTensors.open(resource("lowrank-model.safetensors"))) {
            TensorSource sd = legacy.stateDict();
            assertThat(sd.names()).containsExactlyInAnyOrderElementsOf(st.names());
            assertThat(sd.names()).contains("classifier.weight", "bert.pooler.dense.weight");
            for (String name : st.names()) {
                assertThat(sd.info(name).dtype()).as(name).isEqualTo(st.info(name).dtype());
                assertThat(sd.info(name).shape()).as(name).isEqualTo(st.info(name).shape());
                assertThat(sd.floats(name)).as(name).isEqualTo(st.floats(name));
                assertThat(sd.doubles(name)).as(name).isEqualTo(st.doubles(name));
            }
        }
    }

    @Test
    void composerCheckpointCarriesTheConfigAndKeepsEverythingElseInert() throws Exception {
        try (TorchCheckpoint pt = TorchCheckpoint.open(resource("mlm-composer-checkpoint.pt"))) {
            Map<?, ?> content = (Map<?, ?>) pt.at("state", "integrations", "huggingface", "model", "config", "content").orElseThrow();
            JsonNode json = new ObjectMapper().readTree(resource("mlm-config.json").toFile());
            for (Iterator<Map.Entry<String, JsonNode>> it = json.fields(); it.hasNext(); ) {
                Map.Entry<String, JsonNode> e = it.next();
                Object v = content.get(e.getKey());
                JsonNode j = e.getValue();
                if (j.isNull()) assertThat(v).as(e.getKey()).isNull();
                else if (j.isBoolean()) assertThat(v).as(e.getKey()).isEqualTo(j.booleanValue());
                else if (j.isIntegralNumber()) assertThat(v).as(e.getKey()).isEqualTo(j.longValue());
                else if (j.isNumber()) assertThat(v).as(e.getKey()).isEqualTo(j.doubleValue());
                else if (j.isTextual()) assertThat(v).as(e.getKey()).isEqualTo(j.textValue());
            }
            assertThat(content.get("matrix_mixer_type")).isEqualTo("hydra");
            assertThat(content.get("hidden_size")).isEqualTo(64L);
            assertThat(pt.at("state", "timestamp")).get().isInstanceOfSatisfying(PickleGlobal.class,
                    g -> assertThat(g.qualifiedName()).isEqualTo("composer.core.time.Timestamp"));
            assertThat(pt.at("rng")).get().asList().isNotEmpty();
            assertThat(pt.at("state", "no such key")).isEmpty();
            assertThat(pt.at("state", "model", "model.bert.embeddings.word_embeddings.weight", "deeper")).isEmpty();
            // optimizer state holds tensors too; all of them are listed, each once
            Map<String, TorchTensor> all = pt.allTensors();
            assertThat(all.keySet()).contains("state/model/model.cls.predictions.decoder.weight")
                    .anyMatch(k -> k.startsWith("state/optimizers/"));
        }
    }

    @Test
    void torchFilesAreRecognisedByTheirFirstBytes() throws Exception {
        assertThat(TorchCheckpoint.isTorchFile(resource("mlm-pytorch_model.bin"))).isTrue();
        assertThat(TorchCheckpoint.isTorchFile(resource("mlm-composer-checkpoint.pt"))).isTrue();
        assertThat(TorchCheckpoint.isTorchFile(resource("lowrank-legacy-format.bin"))).isTrue();
        assertThat(TorchCheckpoint.isTorchFile(resource("lowrank-model.safetensors"))).isFalse();
        assertThat(TorchCheckpoint.isTorchFile(resource("mlm-config.json"))).isFalse();
        assertThat(TorchCheckpoint.isTorchFile(Path.of("no such file"))).isFalse();
    }
}
