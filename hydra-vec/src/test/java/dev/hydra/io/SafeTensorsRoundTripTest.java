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
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** SafeTensorsWriter -> SafeTensors: values, dtypes, metadata, empty tensors and the 8-byte alignment. */
class SafeTensorsRoundTripTest {
    @TempDir
    Path dir;

    @Test
    void floatDoubleAndLongTensorsThroughAFile() throws IOException {
        float[] f = {1.5f, -0f, Float.MIN_VALUE, Float.MAX_VALUE, -3.25e-20f, Float.NaN};
        double[] d = {Math.PI, -0.0, Double.MIN_VALUE, -Double.MAX_VALUE, Double.NEGATIVE_INFINITY, 1e-300};
        long[] l = {0, -1, Long.MIN_VALUE, Long.MAX_VALUE, 42, 7};
        Path file = dir.resolve("t.safetensors");
        new SafeTensorsWriter().put("f", f, 2, 3).put("d", d, 3, 2).put("l", l, 6).write(file, false);
        try (SafeTensors st = SafeTensors.open(file)) {
            assertThat(st.names()).containsExactly("f", "d", "l");
            assertThat(st.info("f").dtype()).isEqualTo(DType.F32);
            assertThat(st.info("f").shape()).containsExactly(2, 3);
            assertThat(st.info("d").dtype()).isEqualTo(DType.F64);
            assertThat(st.info("d").shape()).containsExactly(3, 2);
            assertThat(st.info("l").dtype()).isEqualTo(DType.I64);
            assertThat(bits(st.floats("f"))).containsExactly(bits(f));
            assertThat(bits(st.doubles("d"))).containsExactly(bits(d));
            assertThat(st.longs("l")).containsExactly(l);
            // widening and narrowing reads convert like a cast
            double[] fWide = st.doubles("f");
            for (int i = 0; i < f.length; i++) assertThat(Double.doubleToLongBits(fWide[i])).isEqualTo(Double.doubleToLongBits(f[i]));
            float[] dNarrow = st.floats("d");
            for (int i = 0; i < d.length; i++) assertThat(Float.floatToIntBits(dNarrow[i])).isEqualTo(Float.floatToIntBits((float) d[i]));
        }
    }

    @Test
    void halfPrecisionBitPatterns() {
        // bit pattern -> exact value, worked out from the IEEE binary16 layout (1 sign, 5 exponent, 10 fraction bits)
        short[] f16 = {0x3C00, (short) 0xC000, 0x7BFF, 0x0001, 0x03FF, 0x0400, 0x3555, 0x4248, (short) 0x8000, 0x7C00, (short) 0xFC00, 0x7E00};
        double[] f16Values = {1, -2, 65504, Math.scalb(1.0, -24), 1023 * Math.scalb(1.0, -24), Math.scalb(1.0, -14),
                0x555 * Math.scalb(1.0, -12), 3.140625, -0.0, Double.POSITIVE_INFINITY, Double.NEGATIVE_INFINITY, Double.NaN};
        // bfloat16 is the top half of a float32 (1 sign, 8 exponent, 7 fraction bits)
        short[] bf16 = {0x3F80, (short) 0xC000, 0x7F7F, 0x0080, 0x0001, 0x4049, 0x3EAB, (short) 0x8000, 0x7F80, (short) 0xFF80, 0x7FC0};
        double[] bf16Values = {1, -2, (2 - Math.scalb(1.0, -7)) * Math.scalb(1.0, 127), Math.scalb(1.0, -126), Math.scalb(1.0, -133),
                3.140625, 0.333984375, -0.0, Double.POSITIVE_INFINITY, Double.NEGATIVE_INFINITY, Double.NaN};
        byte[] img = new SafeTensorsWriter().putRaw("h", DType.F16, le(f16), f16.length)
                .putRaw("b", DType.BF16, le(bf16), 1, bf16.length).toBytes();
        try (SafeTensors st = SafeTensors.fromBytes("half", img)) {
            assertThat(st.info("h").dtype()).isEqualTo(DType.F16);
            assertThat(st.info("b").shape()).containsExactly(1, bf16.length);
            assertValues(st.doubles("h"), st.floats("h"), f16Values, "F16");
            assertValues(st.doubles("b"), st.floats("b"), bf16Values, "BF16");
        }
    }

    private static void assertValues(double[] asDoubles, float[] asFloats, double[] expected, String dtype) {
        assertThat(asDoubles).hasSameSizeAs(expected);
        for (int i = 0; i < expected.length; i++) {
            assertThat(Double.doubleToLongBits(asDoubles[i])).as("%s element %d as double", dtype, i)
                    .isEqualTo(Double.doubleToLongBits(expected[i]));
            assertThat(Float.floatToIntBits(asFloats[i])).as("%s element %d as float", dtype, i)
                    .isEqualTo(Float.floatToIntBits((float) expected[i]));
        }
    }

    @Test
    void metadata() {
        String config = "{\"d_model\": 8, \"dt_limit\": [0.0, \"inf\"]}";
        byte[] img = new SafeTensorsWriter().metadata("config", config).metadata("note", "ünïcode \"quoted\"\nnew line")
                .put("w", new float[] {1}, 1).toBytes();
        try (SafeTensors st = SafeTensors.fromBytes("meta", img)) {
            assertThat(st.metadata()).containsExactly(Map.entry("config", config), Map.entry("note", "ünïcode \"quoted\"\nnew line"));
            assertThat(st.metadataJson("config").get("d_model").intValue()).isEqualTo(8);
            assertThat(st.names()).containsExactly("w");
        }
        try (SafeTensors st = SafeTensors.fromBytes("meta only", new SafeTensorsWriter().metadata("k", "v").toBytes())) {
            assertThat(st.names()).isEmpty();
            assertThat(st.metadata()).containsExactly(Map.entry("k", "v"));
        }
    }

    @Test
    void emptyAndScalarTensors() {
        byte[] img = new SafeTensorsWriter().put("empty", new float[0], 0).put("a", new double[] {2.5}, 1)
                .put("none", new long[0], 3, 0).put("scalar", new float[] {7}).put("also empty", new double[0], 0, 5).toBytes();
        try (SafeTensors st = SafeTensors.fromBytes("empty", img)) {
            assertThat(st.floats("empty")).isEmpty();
            assertThat(st.info("empty").shape()).containsExactly(0);
            assertThat(st.longs("none")).isEmpty();
            assertThat(st.info("none").shape()).containsExactly(3, 0);
            assertThat(st.doubles("also empty")).isEmpty();
            assertThat(st.info("scalar").shape()).isEmpty();
            assertThat(st.floats("scalar")).containsExactly(7);
            assertThat(st.doubles("a")).containsExactly(2.5);
        }
        try (SafeTensors st = SafeTensors.fromBytes("nothing", new SafeTensorsWriter().toBytes())) {
            assertThat(st.names()).isEmpty();
            assertThat(st.metadata()).isEmpty();
        }
    }

    @Test
    void dataSectionStartsOnAnEightByteBoundary() {
        for (int nameLength = 1; nameLength <= 16; nameLength++) {
            byte[] img = new SafeTensorsWriter().put("x".repeat(nameLength), new double[] {nameLength}, 1).toBytes();
            long headerLength = ByteBuffer.wrap(img).order(ByteOrder.LITTLE_ENDIAN).getLong(0);
            assertThat((8 + headerLength) % 8).as("data offset with a name of %d chars", nameLength).isZero();
            assertThat(img.length).isEqualTo(8 + headerLength + 8);
            String header = new String(img, 8, (int) headerLength, StandardCharsets.UTF_8);
            assertThat(header.strip()).startsWith("{").endsWith("}");
            assertThat(header.substring(header.lastIndexOf('}') + 1)).matches(" *"); // padded with spaces
            assertThat(ByteBuffer.wrap(img).order(ByteOrder.LITTLE_ENDIAN).getDouble((int) (8 + headerLength))).isEqualTo(nameLength);
            try (SafeTensors st = SafeTensors.fromBytes("aligned", img)) {
                assertThat(st.doubles("x".repeat(nameLength))).containsExactly(nameLength);
            }
        }
    }

    @Test
    void inMemoryTensorsUnderAPrefix() {
        InMemoryTensors t = new InMemoryTensors("mem").put("a", new float[] {1, 2, 3, 4}, 2, 2).put("b", new float[] {5}, 1);
        try (SafeTensors st = SafeTensors.fromBytes("prefixed", t.writeTo(new SafeTensorsWriter(), "layers.3.").toBytes())) {
            assertThat(st.names()).containsExactly("layers.3.a", "layers.3.b");
            assertThat(st.floats("layers.3.a")).containsExactly(1, 2, 3, 4);
            assertThat(st.info("layers.3.a").shape()).containsExactly(2, 2);
        }
    }

    @Test
    void writerRefusals() throws IOException {
        assertThatThrownBy(() -> new SafeTensorsWriter().put("w", new float[3], 2, 2)).isInstanceOf(HydraException.class)
                .hasMessage("tensor 'w': 3 values do not fill shape [2, 2]");
        assertThatThrownBy(() -> new SafeTensorsWriter().putRaw("h", DType.F16, new byte[5], 3)).isInstanceOf(HydraException.class)
                .hasMessage("tensor 'h': 5 bytes do not match shape and dtype F16");
        assertThatThrownBy(() -> new SafeTensorsWriter().put("__metadata__", new float[1], 1)).isInstanceOf(HydraException.class)
                .hasMessage("'__metadata__' is not a valid tensor name");
        Path file = dir.resolve("exists.safetensors");
        new SafeTensorsWriter().put("v", new float[] {1}, 1).write(file, false);
        assertThatThrownBy(() -> new SafeTensorsWriter().put("v", new float[] {2}, 1).write(file, false))
                .isInstanceOf(HydraException.class).hasMessage(file + ": already exists (use --force to overwrite)");
        new SafeTensorsWriter().put("v", new float[] {2}, 1).write(file, true);
        try (SafeTensors st = SafeTensors.open(file)) {
            assertThat(st.floats("v")).containsExactly(2);
        }
        try (var files = Files.list(dir)) {
            assertThat(files.map(p -> p.getFileName().toString())).containsExactly("exists.safetensors"); // no temporary left
        }
    }

    private static int[] bits(float[] f) {
        int[] b = new int[f.length];
        for (int i = 0; i < f.length; i++) b[i] = Float.floatToIntBits(f[i]);
        return b;
    }

    private static long[] bits(double[] d) {
        long[] b = new long[d.length];
        for (int i = 0; i < d.length; i++) b[i] = Double.doubleToLongBits(d[i]);
        return b;
    }

    private static byte[] le(short[] v) {
        ByteBuffer b = ByteBuffer.allocate(2 * v.length).order(ByteOrder.LITTLE_ENDIAN);
        for (short s : v) b.putShort(s);
        return b.array();
    }
}
