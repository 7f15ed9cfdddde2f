package dev.hydra.io;

import dev.hydra.HydraException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Every way a safetensors image can be malformed, with the exact one-line message each one gets. */
class SafeTensorsMalformedTest {
    private static final String NAME = "bad.safetensors";

    @TempDir
    Path dir;

    /** An image: the 8-byte little-endian header length, the header, then {@code dataBytes} zero bytes. */
    static byte[] image(String header, int dataBytes) {
        byte[] h = header.getBytes(StandardCharsets.UTF_8);
        return ByteBuffer.allocate(8 + h.length + dataBytes).order(ByteOrder.LITTLE_ENDIAN).putLong(h.length).put(h).array();
    }

    /** An image whose first 8 bytes claim {@code headerLength}, {@code size} bytes in all. */
    static byte[] claiming(long headerLength, int size) {
        return ByteBuffer.allocate(size).order(ByteOrder.LITTLE_ENDIAN).putLong(headerLength).array();
    }

    static String tensor(String name, String dtype, String shape, long begin, long end) {
        return "\"" + name + "\":{\"dtype\":\"" + dtype + "\",\"shape\":" + shape + ",\"data_offsets\":[" + begin + "," + end + "]}";
    }

    private static void rejects(byte[] image, String message) {
        assertThatThrownBy(() -> SafeTensors.fromBytes(NAME, image)).isInstanceOf(HydraException.class).hasMessage(message);
    }

    private void rejectsFile(byte[] image, String message) throws IOException {
        Path f = dir.resolve(NAME);
        Files.write(f, image);
        assertThatThrownBy(() -> SafeTensors.open(f)).isInstanceOf(HydraException.class).hasMessage(f + ": " + message);
    }

    @Test
    void emptyFile() throws IOException {
        String message = "not a safetensors file (0 bytes, shorter than the 8-byte header length)";
        rejects(new byte[0], NAME + ": " + message);
        rejectsFile(new byte[0], message);
    }

    @Test
    void shorterThanTheHeaderLength() throws IOException {
        String message = "not a safetensors file (5 bytes, shorter than the 8-byte header length)";
        rejects(new byte[5], NAME + ": " + message);
        rejectsFile(new byte[5], message);
    }

    @Test
    void headerLengthPastTheEnd() throws IOException {
        String message = "header length 100 runs past the end of the file (20 bytes)";
        rejects(claiming(100, 20), NAME + ": " + message);
        rejectsFile(claiming(100, 20), message);
    }

    @Test
    void headerLengthOverTheLimit() throws IOException {
        String message = "header length 104857601 exceeds the limit of 104857600 bytes";
        rejects(claiming(SafeTensors.MAX_HEADER_BYTES + 1, 16), NAME + ": " + message);
        rejectsFile(claiming(SafeTensors.MAX_HEADER_BYTES + 1, 16), message);
    }

    @Test
    void negativeOrTinyHeaderLength() {
        rejects(claiming(-1, 16), NAME + ": header length -1 is invalid");
        rejects(claiming(Long.MIN_VALUE, 16), NAME + ": header length " + Long.MIN_VALUE + " is invalid");
        rejects(claiming(0, 16), NAME + ": header length 0 is invalid");
    }

    @Test
    void headerThatIsNotJson() throws IOException {
        assertThatThrownBy(() -> SafeTensors.fromBytes(NAME, image("{not json", 0))).isInstanceOf(HydraException.class)
                .hasMessageStartingWith(NAME + ": header is not valid JSON (").hasMessageNotContaining("\n");
        Path f = dir.resolve(NAME);
        Files.write(f, image("{\"a\":", 0));
        assertThatThrownBy(() -> SafeTensors.open(f)).isInstanceOf(HydraException.class)
                .hasMessageStartingWith(f + ": header is not valid JSON (").hasMessageNotContaining("\n");
    }

    @Test
    void headerWithTrailingGarbage() {
        assertThatThrownBy(() -> SafeTensors.fromBytes(NAME, image("{} {}", 0))).isInstanceOf(HydraException.class)
                .hasMessageStartingWith(NAME + ": header is not valid JSON (");
    }

    @Test
    void headerThatIsNotAnObject() {
        rejects(image("[1, 2]", 0), NAME + ": header is not a JSON object");
        rejects(image("\"w\"", 0), NAME + ": header is not a JSON object");
        rejects(image("null", 0), NAME + ": header is not a JSON object");
    }

    @Test
    void entryThatIsNotAnObject() {
        rejects(image("{\"w\": [1]}", 0), NAME + ": tensor 'w' is not an object");
    }

    @Test
    void unknownDtype() {
        rejects(image("{" + tensor("w", "F8", "[2]", 0, 2) + "}", 2), NAME + ": tensor 'w' has unsupported dtype 'F8'");
        rejects(image("{" + tensor("w", "f32", "[2]", 0, 8) + "}", 8), NAME + ": tensor 'w' has unsupported dtype 'f32'");
    }

    @Test
    void missingDtypeShapeOrOffsets() {
        rejects(image("{\"w\":{\"shape\":[2],\"data_offsets\":[0,8]}}", 8), NAME + ": tensor 'w' has no dtype");
        rejects(image("{\"w\":{\"dtype\":3,\"shape\":[2],\"data_offsets\":[0,8]}}", 8), NAME + ": tensor 'w' has no dtype");
        rejects(image("{\"w\":{\"dtype\":\"F32\",\"data_offsets\":[0,8]}}", 8), NAME + ": tensor 'w' has no shape");
        rejects(image("{\"w\":{\"dtype\":\"F32\",\"shape\":2,\"data_offsets\":[0,8]}}", 8), NAME + ": tensor 'w' has no shape");
        rejects(image("{\"w\":{\"dtype\":\"F32\",\"shape\":[2]}}", 8), NAME + ": tensor 'w' has no data_offsets [begin, end]");
        rejects(image("{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0]}}", 8), NAME + ": tensor 'w' has no data_offsets [begin, end]");
    }

    @Test
    void invalidDimensions() {
        rejects(image("{" + tensor("w", "F32", "[2, -1]", 0, 8) + "}", 8), NAME + ": tensor 'w' has an invalid dimension -1 in its shape");
        rejects(image("{" + tensor("w", "F32", "[1.5]", 0, 8) + "}", 8), NAME + ": tensor 'w' has an invalid dimension 1.5 in its shape");
        rejects(image("{" + tensor("w", "F32", "[\"2\"]", 0, 8) + "}", 8), NAME + ": tensor 'w' has an invalid dimension \"2\" in its shape");
        rejects(image("{" + tensor("w", "F32", "[1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1]", 0, 4) + "}", 4),
                NAME + ": tensor 'w' has 17 dimensions (at most 16)");
    }

    @Test
    void byteSizeThatDisagreesWithTheOffsets() {
        rejects(image("{" + tensor("w", "F32", "[2, 3]", 0, 20) + "}", 24),
                NAME + ": tensor 'w' of dtype F32 and shape (2, 3) needs 24 bytes but its data_offsets span 20");
        rejects(image("{" + tensor("w", "BF16", "[3]", 0, 8) + "}", 8),
                NAME + ": tensor 'w' of dtype BF16 and shape (3) needs 6 bytes but its data_offsets span 8");
    }

    @Test
    void offsetsBeyondTheDataSection() {
        rejects(image("{" + tensor("w", "F32", "[8]", 0, 32) + "}", 24),
                NAME + ": tensor 'w' has data_offsets [0, 32] beyond the data section (24 bytes)");
    }

    @Test
    void invalidOffsets() {
        rejects(image("{" + tensor("w", "F32", "[1]", 8, 4) + "}", 8), NAME + ": tensor 'w' has invalid data_offsets [8, 4]");
        rejects(image("{" + tensor("w", "F32", "[1]", -4, 0) + "}", 8), NAME + ": tensor 'w' has invalid data_offsets [-4, 0]");
        rejects(image("{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,\"4\"]}}", 8), NAME + ": tensor 'w' has non-integer data_offsets");
        rejects(image("{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,1e30]}}", 8), NAME + ": tensor 'w' has non-integer data_offsets");
    }

    @Test
    void overlappingTensors() {
        rejects(image("{" + tensor("a", "F32", "[4]", 0, 16) + "," + tensor("b", "F32", "[4]", 8, 24) + "}", 24),
                NAME + ": tensor 'b' overlaps tensor 'a' in the data section");
        rejects(image("{" + tensor("a", "F32", "[2]", 0, 8) + "," + tensor("b", "F64", "[1]", 0, 8) + "}", 8),
                NAME + ": tensor 'b' overlaps tensor 'a' in the data section");
    }

    @Test
    void holesInTheDataSection() {
        rejects(image("{" + tensor("a", "F32", "[2]", 0, 8) + "," + tensor("b", "F32", "[2]", 16, 24) + "}", 24),
                NAME + ": tensor 'b' starts at byte 16 of the data section, leaving a hole after byte 8");
        rejects(image("{" + tensor("b", "F32", "[2]", 8, 16) + "}", 16),
                NAME + ": tensor 'b' starts at byte 8 of the data section, leaving a hole after byte 0");
        rejects(image("{" + tensor("a", "F32", "[2]", 0, 8) + "}", 12),
                NAME + ": the data section has 12 bytes but its tensors end at byte 8");
    }

    @Test
    void elementCountOrByteSizeOverflow() {
        rejects(image("{" + tensor("w", "F32", "[4294967296, 4294967296]", 0, 0) + "}", 0),
                NAME + ": tensor 'w' has a shape whose element count overflows");
        rejects(image("{" + tensor("w", "F64", "[4611686018427387904]", 0, 0) + "}", 0),
                NAME + ": tensor 'w' has a shape whose byte size overflows");
        rejects(image("{" + tensor("w", "F32", "[9223372036854775808]", 0, 0) + "}", 0),
                NAME + ": tensor 'w' has an invalid dimension 9223372036854775808 in its shape");
    }

    @Test
    void duplicateKeys() {
        String w = tensor("w", "F32", "[1]", 0, 4);
        rejects(image("{" + w + "," + w + "}", 4), NAME + ": header is not valid JSON (Duplicate field 'w')");
        rejects(image("{\"__metadata__\":{\"k\":\"a\",\"k\":\"b\"}}", 0), NAME + ": header is not valid JSON (Duplicate field 'k')");
    }

    @Test
    void malformedMetadata() {
        rejects(image("{\"__metadata__\":[\"a\"]}", 0), NAME + ": __metadata__ is not an object");
        rejects(image("{\"__metadata__\":{\"config\":{\"d_model\":4}}}", 0), NAME + ": metadata 'config' is not a string");
    }

    @Test
    void readsThatDoNotFitTheTensor() {
        byte[] img = new SafeTensorsWriter().put("ids", new long[] {1, 2}, 2).put("w", new float[] {1, 2}, 2)
                .metadata("note", "plain text").toBytes();
        try (SafeTensors st = SafeTensors.fromBytes(NAME, img)) {
            assertThatThrownBy(() -> st.floats("ids")).isInstanceOf(HydraException.class)
                    .hasMessage(NAME + ": tensor 'ids' has dtype I64, expected a float type");
            assertThatThrownBy(() -> st.doubles("ids")).isInstanceOf(HydraException.class)
                    .hasMessage(NAME + ": tensor 'ids' has dtype I64, expected a float type");
            assertThatThrownBy(() -> st.longs("w")).isInstanceOf(HydraException.class)
                    .hasMessage(NAME + ": tensor 'w' has dtype F32, expected an integer type");
            assertThatThrownBy(() -> st.floats("v")).isInstanceOf(HydraException.class).hasMessage(NAME + ": no tensor 'v'");
            assertThatThrownBy(() -> st.metadataJson("config")).isInstanceOf(HydraException.class).hasMessage(NAME + ": no metadata 'config'");
            assertThatThrownBy(() -> st.metadataJson("note")).isInstanceOf(HydraException.class)
                    .hasMessage(NAME + ": metadata 'note' is not a JSON object");
            assertThat(st.floats("w")).containsExactly(1, 2);
        }
    }

    @Test
    void missingFileOrDirectory() {
        Path missing = dir.resolve("missing.safetensors");
        assertThatThrownBy(() -> SafeTensors.open(missing)).isInstanceOf(HydraException.class).hasMessage(missing + ": no such file");
        assertThatThrownBy(() -> SafeTensors.open(dir)).isInstanceOf(HydraException.class).hasMessageStartingWith(dir + ": cannot read (");
    }
}
