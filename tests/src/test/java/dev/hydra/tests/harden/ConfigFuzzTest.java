package dev.hydra.tests.harden;

import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.hydra.HydraException;
import dev.hydra.config.HydraConfig;

import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * Coverage-guided fuzzing of config parsing: any text either parses to a valid config, which then
 * survives a round trip through its own JSON unchanged, or is refused with a one-line
 * {@link HydraException}. Corpus: {@code ConfigFuzzTestInputs/}.
 */
class ConfigFuzzTest {

    @FuzzTest(maxDuration = "30s")
    void config(byte[] bytes) {
        HydraConfig c;
        try {
            c = HydraConfig.parse(new String(bytes, StandardCharsets.UTF_8), "fuzz.json", Set.of());
        } catch (HydraException e) {
            OneLine.check(e);
            return;
        }
        assertThat(HydraConfig.parse(c.toJsonString(), "round trip", Set.of())).isEqualTo(c);
    }

    /** The fuzzer's first finding (corpus: finding_line_break_in_key): a key's line break split the message. */
    @Test
    void aLineBreakInAnUnknownKeyIsEscapedInTheMessage() {
        assertThatThrownBy(() -> HydraConfig.parse("{\"d_model\": 4, \"lear\\nable\": true}", "c.json", Set.of()))
                .isInstanceOf(HydraException.class)
                .hasMessageStartingWith("c.json: unknown config key 'lear\\nable' (known: d_model,");
    }

    @Test
    void duplicateKeysAndTrailingValuesAreRefused() {
        assertThatThrownBy(() -> HydraConfig.parse("{\"d_model\": 4, \"d_model\": 8}", "c.json", Set.of()))
                .isInstanceOf(HydraException.class).hasMessageContaining("c.json: not valid JSON (Duplicate field 'd_model')");
        assertThatThrownBy(() -> HydraConfig.parse("{\"d_model\": 4} {\"d_model\": 8}", "c.json", Set.of()))
                .isInstanceOf(HydraException.class).hasMessageStartingWith("c.json: not valid JSON (Trailing token");
    }
}
