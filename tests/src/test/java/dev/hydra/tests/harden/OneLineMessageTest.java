package dev.hydra.tests.harden;

import dev.hydra.HydraException;
import dev.hydra.io.SafeTensors;
import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Names taken from the input cannot break the one-line rule: control characters are escaped, huge names cut. */
class OneLineMessageTest {

    @Test
    void controlCharactersAreEscaped() {
        HydraException e = new HydraException("tensor 'a\nb\r\tc\u0000d\u2028e' is bad");
        assertThat(e.getMessage()).isEqualTo("tensor 'a\\nb\\r\\tc\\u0000d\\u2028e' is bad");
        OneLine.check(e);
    }

    @Test
    void aHugeNameKeepsTheHeadAndTailOfTheMessage() {
        String name = "x".repeat(40_000); // below Jackson's own 50,000-character limit on names
        byte[] header = ("{\"" + name + "\":{\"dtype\":\"F7\",\"shape\":[],\"data_offsets\":[0,0]}}").getBytes(StandardCharsets.UTF_8);
        byte[] file = ByteBuffer.allocate(8 + header.length).order(ByteOrder.LITTLE_ENDIAN).putLong(header.length).put(header).array();
        assertThatThrownBy(() -> SafeTensors.fromBytes("big.safetensors", file)).isInstanceOfSatisfying(HydraException.class, e -> {
            OneLine.check(e);
            assertThat(e.getMessage()).hasSizeLessThan(2_010).startsWith("big.safetensors: tensor 'xxx")
                    .contains(" ... ").endsWith("xxx' has unsupported dtype 'F7'");
        });
    }
}
