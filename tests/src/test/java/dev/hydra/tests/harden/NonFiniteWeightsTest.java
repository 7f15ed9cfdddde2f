package dev.hydra.tests.harden;

import dev.hydra.HydraException;
import dev.hydra.bert.BertConfig;
import dev.hydra.bert.BertModel;
import dev.hydra.bert.SeededBert;
import dev.hydra.config.MixerConfig;
import dev.hydra.config.MixerType;
import dev.hydra.io.InMemoryTensors;
import dev.hydra.runtime.Backends;
import dev.hydra.weights.MixerWeights;
import dev.hydra.weights.Precision;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * Every model kind reads its parameters through one path that refuses NaN and infinities, naming the
 * tensor and the flat index (Hydra's own case is in {@link ExtremeInputsTest}).
 */
class NonFiniteWeightsTest {

    private static InMemoryTensors poison(InMemoryTensors t, String name, int index, float value) {
        float[] w = t.floats(name);
        w[index] = value;
        return t.put(name, w, t.info(name).shape());
    }

    @Test
    void everyMatrixMixerRefusesANonFiniteParameterOfItsOwn() {
        for (MixerType type : MixerType.values()) {
            MixerConfig c = new MixerConfig(type, type != MixerType.DENSE, 8, 2, 6, 3, 2, 4, 4);
            InMemoryTensors t = MixerWeights.seeded(c, 3);
            String own = t.names().stream().filter(n -> n.startsWith("matrix_mixer.")).findFirst().orElse("conv1d.bias");
            poison(t, own, 0, Float.POSITIVE_INFINITY);
            poison(t, "out_proj.weight", 1, Float.NaN);
            for (Precision<?> p : new Precision<?>[] {Precision.FP32, Precision.FP64})
                assertThatThrownBy(() -> MixerWeights.load(c, t, "", p)).as("%s %s", type, p).isInstanceOf(HydraException.class)
                        .hasMessage(t.source() + ": tensor '" + own + "' holds a non-finite value at flat index 0");
        }
    }

    @Test
    void bertRefusesANonFiniteEmbeddingOrHeadTensor() {
        ObjectNode o = new ObjectMapper().createObjectNode();
        o.put("vocab_size", 20).put("hidden_size", 8).put("num_hidden_layers", 1).put("type_vocab_size", 2)
                .put("max_position_embeddings", 16).put("d_state", 4).put("headdim", 4).put("expand", 2)
                .put("d_conv", 3).put("chunk_size", 4);
        BertConfig c = BertConfig.fromJson(o, "test config");
        for (String name : new String[] {"embeddings.word_embeddings.weight", "encoder.layer.0.layer.norm.bias",
                "pooler.dense.weight", "cls.predictions.decoder.bias", "encoder.layer.0.layer.mixer.A_log"}) {
            InMemoryTensors t = poison(SeededBert.weights(c, 5, true, 0, ""), name, 2, Float.NaN);
            for (Precision<?> p : new Precision<?>[] {Precision.FP32, Precision.FP64})
                assertThatThrownBy(() -> BertModel.load(c, t, "", "", p, Backends.cpu())).as("%s %s", name, p)
                        .isInstanceOf(HydraException.class)
                        .hasMessage(t.source() + ": tensor '" + name + "' holds a non-finite value at flat index 2");
        }
    }
}
