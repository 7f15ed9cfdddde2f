package dev.hydra.config;

import dev.hydra.HydraException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Config validation (one message per impossible option) and the JSON round trip. */
class HydraConfigTest {
    private static final String SRC = "cfg.json";
    private static final String KNOWN = "d_model, d_state, d_conv, expand, headdim, ngroups, dt_limit, learnable_init_states, bias, conv_bias, chunk_size";

    @TempDir
    Path dir;

    private static HydraConfig parse(String json) {
        return HydraConfig.parse(json, SRC, Set.of());
    }

    private static void rejects(String json, String message) {
        assertThatThrownBy(() -> parse(json)).isInstanceOf(HydraException.class).hasMessage(SRC + ": " + message);
    }

    private static HydraConfig config(int dModel, int dState, int dConv, int expand, int headdim, int ngroups,
                                      double dtMin, double dtMax, int chunk) {
        return new HydraConfig(dModel, dState, dConv, expand, headdim, ngroups, dtMin, dtMax, false, false, true, chunk);
    }

    @Test
    void defaultsAreTheReleases() {
        HydraConfig c = parse("{\"d_model\": 128}");
        assertThat(c).isEqualTo(HydraConfig.defaults(128));
        assertThat(c).isEqualTo(new HydraConfig(128, 64, 7, 2, 64, 1, 0, Double.POSITIVE_INFINITY, false, false, true, 256));
        assertThat(c.dInner()).isEqualTo(256);
        assertThat(c.nheads()).isEqualTo(4);
        assertThat(c.convDim()).isEqualTo(256 + 4 * 64);
        assertThat(c.projDim()).isEqualTo(2 * 256 + 4 * 64 + 2 * 4);
        assertThat(c.hasDtLimit()).isFalse();
    }

    @Test
    void evenConvWidth() {
        assertThatThrownBy(() -> config(8, 4, 4, 2, 4, 1, 0, Double.POSITIVE_INFINITY, 8)).isInstanceOf(HydraException.class)
                .hasMessage("config: d_conv must be odd (the conv is centred), got 4");
        rejects("{\"d_model\": 32, \"d_conv\": 6}", "d_conv must be odd (the conv is centred), got 6");
    }

    @Test
    void innerWidthNotDivisibleByHeaddim() {
        assertThatThrownBy(() -> config(10, 4, 3, 2, 3, 1, 0, Double.POSITIVE_INFINITY, 8)).isInstanceOf(HydraException.class)
                .hasMessage("config: d_inner = expand * d_model = 20 is not divisible by headdim 3");
        rejects("{\"d_model\": 10, \"headdim\": 64}", "d_inner = expand * d_model = 20 is not divisible by headdim 64");
    }

    @Test
    void headsNotDivisibleByGroups() {
        assertThatThrownBy(() -> config(8, 4, 3, 2, 4, 3, 0, Double.POSITIVE_INFINITY, 8)).isInstanceOf(HydraException.class)
                .hasMessage("config: nheads = 4 is not divisible by ngroups 3");
        rejects("{\"d_model\": 8, \"headdim\": 4, \"ngroups\": 8}", "nheads = 4 is not divisible by ngroups 8");
    }

    @ParameterizedTest
    @ValueSource(strings = {"d_model", "d_state", "d_conv", "expand", "headdim", "ngroups", "chunk_size"})
    void nonPositiveSizes(String key) {
        String base = key.equals("d_model") ? "{" : "{\"d_model\": 32, ";
        rejects(base + "\"" + key + "\": 0}", key + " must be a positive integer, got 0");
        rejects(base + "\"" + key + "\": -3}", key + " must be a positive integer, got -3");
    }

    @Test
    void impossibleDtLimits() {
        String must = "dt_limit must be [min, max] with 0 <= min <= max and min finite, got ";
        rejects("{\"d_model\": 32, \"dt_limit\": [0.1, 0.01]}", must + "[0.1, 0.01]");
        rejects("{\"d_model\": 32, \"dt_limit\": [-0.5, 1]}", must + "[-0.5, 1.0]");
        rejects("{\"d_model\": 32, \"dt_limit\": [\"inf\", \"inf\"]}", must + "[Infinity, Infinity]");
        assertThatThrownBy(() -> config(8, 4, 3, 2, 4, 1, Double.NaN, 1, 8)).isInstanceOf(HydraException.class)
                .hasMessage("config: " + must + "[NaN, 1.0]");
        assertThatThrownBy(() -> config(8, 4, 3, 2, 4, 1, 0, Double.NaN, 8)).isInstanceOf(HydraException.class)
                .hasMessage("config: " + must + "[0.0, NaN]");
    }

    @Test
    void malformedDtLimits() {
        rejects("{\"d_model\": 32, \"dt_limit\": [0.1]}", "config key 'dt_limit' must be [min, max], got [0.1]");
        rejects("{\"d_model\": 32, \"dt_limit\": 0.1}", "config key 'dt_limit' must be [min, max], got 0.1");
        rejects("{\"d_model\": 32, \"dt_limit\": [0, \"nan\"]}", "config key 'dt_limit' holds \"nan\", not a number or \"inf\"");
        rejects("{\"d_model\": 32, \"dt_limit\": [\"-inf\", 1]}", "config key 'dt_limit' holds \"-inf\", not a number or \"inf\"");
        rejects("{\"d_model\": 32, \"dt_limit\": [0, null]}", "config key 'dt_limit' holds null, not a number or \"inf\"");
    }

    @Test
    void dtLimitSpellingsOfInfinity() {
        for (String inf : new String[] {"inf", "Infinity", "+inf", "INF"})
            assertThat(parse("{\"d_model\": 32, \"dt_limit\": [0.001, \"" + inf + "\"]}").dtMax()).as(inf).isEqualTo(Double.POSITIVE_INFINITY);
        HydraConfig c = parse("{\"d_model\": 32, \"dt_limit\": [0.001, 0.1]}");
        assertThat(c.dtMin()).isEqualTo(0.001);
        assertThat(c.dtMax()).isEqualTo(0.1);
        assertThat(c.hasDtLimit()).isTrue();
    }

    @Test
    void unknownKeys() {
        rejects("{\"d_model\": 32, \"d_stat\": 16}", "unknown config key 'd_stat' (known: " + KNOWN + ")");
        assertThat(HydraConfig.parse("{\"d_model\": 32, \"seqlen\": 16}", SRC, Set.of("seqlen")).dModel()).isEqualTo(32);
    }

    @Test
    void wrongJsonTypes() {
        rejects("{\"d_model\": \"8\"}", "config key 'd_model' must be an integer, got \"8\"");
        rejects("{\"d_model\": 8.5}", "config key 'd_model' must be an integer, got 8.5");
        rejects("{\"d_model\": 32, \"d_state\": 3000000000}", "config key 'd_state' must be an integer, got 3000000000");
        rejects("{\"d_model\": 32, \"d_state\": [16]}", "config key 'd_state' must be an integer, got [16]");
        rejects("{\"d_model\": 32, \"bias\": \"true\"}", "config key 'bias' must be true or false, got \"true\"");
        rejects("{\"d_model\": 32, \"conv_bias\": 1}", "config key 'conv_bias' must be true or false, got 1");
        rejects("{\"d_model\": 32, \"learnable_init_states\": {}}", "config key 'learnable_init_states' must be true or false, got {}");
    }

    @Test
    void missingModelWidth() {
        rejects("{}", "missing required config key 'd_model'");
        rejects("{\"d_model\": null}", "missing required config key 'd_model'");
        rejects("{\"d_state\": 16}", "missing required config key 'd_model'");
    }

    @Test
    void invalidJson() {
        assertThatThrownBy(() -> parse("{\"d_model\": 8")).isInstanceOf(HydraException.class)
                .hasMessageStartingWith(SRC + ": not valid JSON (").hasMessageNotContaining("\n");
        assertThatThrownBy(() -> parse("{\"d_model\": 8} {\"d_model\": 16}")).isInstanceOf(HydraException.class)
                .hasMessageStartingWith(SRC + ": not valid JSON (");
        assertThatThrownBy(() -> parse("{\"d_model\": 32, \"d_model\": 16}")).isInstanceOf(HydraException.class)
                .hasMessage(SRC + ": not valid JSON (Duplicate field 'd_model')");
        rejects("[8]", "config is not a JSON object");
        rejects("8", "config is not a JSON object");
        rejects("", "config is not a JSON object");
    }

    @Test
    void sizesTooLargeForOneArray() {
        assertThatThrownBy(() -> config(65536, 64, 7, 2, 64, 1, 0, Double.POSITIVE_INFINITY, 256)).isInstanceOf(HydraException.class)
                .hasMessage("config: in_proj of " + (2L * 131072 + 4 * 64 + 2 * 2048) + " x 65536 is too large for one array");
    }

    @Test
    void readsAFile() throws IOException {
        Path f = dir.resolve("layer.json");
        HydraConfig c = new HydraConfig(12, 5, 3, 3, 9, 2, 0.002, 0.2, true, true, false, 7);
        Files.writeString(f, c.toJsonString());
        assertThat(HydraConfig.read(f, Set.of())).isEqualTo(c);
        Path missing = dir.resolve("missing.json");
        assertThatThrownBy(() -> HydraConfig.read(missing, Set.of())).isInstanceOf(HydraException.class).hasMessage(missing + ": no such file");
        assertThatThrownBy(() -> HydraConfig.read(dir, Set.of())).isInstanceOf(HydraException.class).hasMessageStartingWith(dir + ": cannot read (");
        Files.writeString(f, "{\"d_model\": 12, \"d_conv\": 2}");
        assertThatThrownBy(() -> HydraConfig.read(f, Set.of())).isInstanceOf(HydraException.class)
                .hasMessage(f + ": d_conv must be odd (the conv is centred), got 2");
    }

    @Test
    void jsonRoundTrip() {
        for (HydraConfig c : new HydraConfig[] {
                HydraConfig.defaults(64),
                new HydraConfig(12, 5, 3, 3, 9, 2, 0.002, 0.2, true, true, false, 7),
                new HydraConfig(6, 1, 1, 1, 1, 6, 0.01, Double.POSITIVE_INFINITY, false, true, true, 1),
                new HydraConfig(4, 8, 5, 4, 2, 8, 0, 0, true, false, false, Integer.MAX_VALUE)}) {
            assertThat(HydraConfig.parse(c.toJsonString(), SRC, Set.of())).isEqualTo(c);
            assertThat(HydraConfig.fromJson(c.toJson(), SRC, Set.of())).isEqualTo(c);
        }
        assertThat(HydraConfig.defaults(64).toJson().get("dt_limit").toString()).isEqualTo("[0.0,\"inf\"]");
        assertThat(HydraConfig.defaults(64).toJson().properties()).extracting(java.util.Map.Entry::getKey)
                .containsExactlyElementsOf(HydraConfig.KEYS);
    }
}
