package dev.hydra.mixer;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.hydra.HydraException;
import dev.hydra.config.MixerConfig;
import dev.hydra.config.MixerType;
import dev.hydra.weights.MixerWeights;
import dev.hydra.weights.Precision;
import org.junit.jupiter.api.Test;

import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Config parsing and validation, and weight checks, with their pinned one-line messages. */
class MixerConfigTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    private static MixerConfig parse(String json) throws Exception {
        return MixerConfig.fromJson((ObjectNode) JSON.readTree(json), "c.json", Set.of());
    }

    private static void rejects(String json, String message) {
        assertThatThrownBy(() -> parse(json)).isInstanceOf(HydraException.class).hasMessage(message);
    }

    @Test
    void parsesTheReleaseKeysWithTheirDefaults() throws Exception {
        MixerConfig c = parse("{\"matrix_mixer_type\": \"low_rank\", \"is_data_dependent\": true, \"d_model\": 128, \"qk_dim\": 16, \"max_seq_len\": 64}");
        assertThat(c).isEqualTo(new MixerConfig(MixerType.LOW_RANK, true, 128, 16, 64, 7, 2, 128, 256));
        assertThat(c.nheads()).isEqualTo(2);
        assertThat(c.dState()).isEqualTo(32);
        assertThat(c.projDim()).isEqualTo(2 * 256 + 64);
        assertThat(parse(c.toJson().toString())).isEqualTo(c);
    }

    @Test
    void badConfigsHaveNamedErrors() {
        rejects("{\"matrix_mixer_type\": \"circulant\", \"is_data_dependent\": true, \"d_model\": 8, \"qk_dim\": 2}",
                "c.json: unknown matrix_mixer_type 'circulant' (known: dense, toeplitz, vandermonde, cauchy, low_rank, attention, quasiseparable)");
        rejects("{\"matrix_mixer_type\": \"dense\", \"is_data_dependent\": true, \"d_model\": 8, \"qk_dim\": 2, \"max_seq_len\": 4}",
                "c.json: matrix_mixer_type 'dense' has no data-dependent variant (set is_data_dependent to false)");
        rejects("{\"matrix_mixer_type\": \"attention\", \"is_data_dependent\": false, \"d_model\": 8, \"qk_dim\": 2, \"headdim\": 4}",
                "c.json: the attention data-independent mixer needs max_seq_len");
        rejects("{\"matrix_mixer_type\": \"toeplitz\", \"is_data_dependent\": true, \"d_model\": 8, \"qk_dim\": 2, \"headdim\": 4}",
                "c.json: the toeplitz data-dependent mixer needs max_seq_len");
        rejects("{\"matrix_mixer_type\": \"cauchy\", \"is_data_dependent\": true, \"d_model\": 8, \"max_seq_len\": 4}",
                "c.json: missing required config key 'qk_dim'");
        rejects("{\"matrix_mixer_type\": \"cauchy\", \"is_data_dependent\": \"yes\", \"d_model\": 8, \"qk_dim\": 2}",
                "c.json: config key 'is_data_dependent' must be true or false, got \"yes\"");
        rejects("{\"matrix_mixer_type\": \"cauchy\", \"is_data_dependent\": true, \"d_model\": 8, \"qk_dim\": 2, \"max_seq_len\": 4, \"headdim\": 5}",
                "c.json: d_inner = expand * d_model = 16 is not divisible by headdim 5");
        rejects("{\"matrix_mixer_type\": \"cauchy\", \"is_data_dependent\": true, \"d_model\": 8, \"qk_dim\": 2, \"max_seq_len\": 4, \"headdim\": 4, \"d_conv\": 4}",
                "c.json: d_conv must be odd (the conv is centred), got 4");
        rejects("{\"matrix_mixer_type\": \"cauchy\", \"is_data_dependent\": true, \"d_model\": 8, \"qk_dim\": 2, \"ngroups\": 1}",
                "c.json: unknown config key 'ngroups' (known: matrix_mixer_type, is_data_dependent, d_model, qk_dim, max_seq_len, d_conv, expand, headdim, chunk_size)");
    }

    @Test
    void dataDependentAttentionAndQuasiseparableNeedNoMaxSeqLen() throws Exception {
        assertThat(parse("{\"matrix_mixer_type\": \"quasiseparable\", \"is_data_dependent\": true, \"d_model\": 8, \"qk_dim\": 2, \"headdim\": 4}").maxSeqLen()).isZero();
    }

    @Test
    void weightsAreCheckedByName() {
        MixerConfig c = new MixerConfig(MixerType.DENSE, false, 8, 2, 6, 3, 2, 4, 4);
        assertThatThrownBy(() -> MixerWeights.load(c, MixerWeights.seeded(c, 1).remove("matrix_mixer.M"), "", Precision.FP64))
                .isInstanceOf(HydraException.class)
                .hasMessage("seeded dense data-independent mixer weights (seed 1): missing tensor 'matrix_mixer.M'");
        MixerConfig other = new MixerConfig(MixerType.DENSE, false, 8, 2, 5, 3, 2, 4, 4);
        assertThatThrownBy(() -> MixerWeights.load(other, MixerWeights.seeded(c, 1), "", Precision.FP64))
                .isInstanceOf(HydraException.class)
                .hasMessage("seeded dense data-independent mixer weights (seed 1): tensor 'matrix_mixer.M' has shape (4, 6, 6), expected (4, 5, 5)");
    }
}
