package dev.hydra.tests.release;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.hydra.HydraException;
import dev.hydra.bert.BertConfig;
import dev.hydra.config.HydraConfig;
import dev.hydra.config.JsonKeys;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.util.List;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** config.json as the release (transformers' BertConfig) writes it, and the mixer the release builds from it. */
class ReleaseConfigTest {

    static ObjectNode release(String folder) throws Exception {
        return JsonKeys.parseObject(Files.readString(ReleaseFiles.dir(folder).resolve("config.json")), folder + "/config.json");
    }

    @Test
    void hydraMixersTakeTheirKeysAndTheChunkIsCappedByThePositions() throws Exception {
        BertConfig c = BertConfig.fromJson(release("ckpt_pub_mlm"), "mlm");
        assertThat(c.mixer().toString()).isEqualTo("{\"chunk_size\":16,\"d_conv\":7,\"d_state\":16,\"expand\":2,\"headdim\":16,\"d_model\":64}");
        ObjectNode o = release("ckpt_pub_mlm");
        o.put("chunk_size", 256).put("max_position_embeddings", 100);
        assertThat(BertConfig.fromJson(o, "mlm").mixer().get("chunk_size").asInt()).isEqualTo(100);
        o.remove("chunk_size");
        assertThat(BertConfig.fromJson(o, "mlm").mixer().get("chunk_size").asInt()).isEqualTo(100);
    }

    @Test
    void matrixMixersGetMaxSeqLenFromThePositions() throws Exception {
        BertConfig c = BertConfig.fromJson(release("ckpt_pub_lowrank"), "lowrank");
        assertThat(c.mixer().toString()).isEqualTo("{\"chunk_size\":16,\"d_conv\":7,\"expand\":2,\"headdim\":16,\"is_data_dependent\":true,"
                + "\"matrix_mixer_type\":\"low_rank\",\"qk_dim\":8,\"d_model\":64,\"max_seq_len\":24}");
        for (String type : List.of("dense", "toeplitz", "vandermonde", "cauchy", "attention", "quasiseparable")) {
            ObjectNode o = release("ckpt_pub_lowrank");
            o.put("matrix_mixer_type", type).put("is_data_dependent", !type.equals("dense")).put("max_position_embeddings", 40);
            BertConfig t = BertConfig.fromJson(o, type);
            assertThat(t.mixer().get("max_seq_len").asInt()).as(type).isEqualTo(40);
            assertThat(t.mixer().get("chunk_size").asInt()).as(type).isEqualTo(16);
        }
    }

    @Test
    void keysThatDoNotChangeTheForwardPassAreIgnoredButOthersAreRefused() throws Exception {
        ObjectNode o = release("ckpt_pub_mlm");
        for (String key : List.of("torch_dtype", "output_hidden_states", "return_dict", "chunk_size_feed_forward", "is_encoder_decoder",
                "use_bfloat16", "pruned_heads", "num_beams", "tokenizer_class", "position_embedding_type", "max_position_embedding"))
            o.putNull(key);
        assertThat(BertConfig.fromJson(o, "c").numHiddenLayers()).isEqualTo(2);
        o.put("ngroup", 2);    // goes to the mixer's config, which refuses it when the model loads
        assertThatThrownBy(() -> HydraConfig.fromJson(BertConfig.fromJson(o, "c.json").mixer(), "c.json", Set.of()))
                .isInstanceOf(HydraException.class).hasMessageStartingWith("c.json: unknown config key 'ngroup'");
        o.remove("ngroup");
        o.put("hidden_act", "gelu_new");
        assertThatThrownBy(() -> BertConfig.fromJson(o, "c.json")).isInstanceOf(HydraException.class)
                .hasMessage("c.json: config key 'hidden_act' is \"gelu_new\"; the MLM head implements \"gelu\" (exact erf) only");
    }
}
