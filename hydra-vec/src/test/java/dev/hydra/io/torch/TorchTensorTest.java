package dev.hydra.io.torch;

import dev.hydra.io.DType;
import dev.hydra.io.TensorSource;
import org.junit.jupiter.api.Test;

import java.util.LinkedHashMap;
import java.util.Map;

import static dev.hydra.io.torch.Pickle.littleEndian;
import static org.assertj.core.api.Assertions.assertThat;

/** Hand-written checkpoints: every dtype, shared storages, offsets, non-contiguous and degenerate views. */
class TorchTensorTest {
    private static long[] dims(long... d) {
        return d;
    }

    /** A state dict {name: tensor} over the given storages, as a zip archive. */
    private static TorchCheckpoint checkpoint(Pickle dictBody, Map<String, byte[]> storages) {
        byte[] pkl = Pickle.proto(2).op('}').mark().raw(dictBody.bytes()).op('u').stop();
        return TorchCheckpoint.fromBytes("hand.pt", Pickle.zip(pkl, storages));
    }

    @Test
    void everyDtypeReadsLittleEndian() {
        Map<String, byte[]> s = new LinkedHashMap<>();
        s.put("f32", littleEndian(4, Float.floatToRawIntBits(1.5f), Float.floatToRawIntBits(-2.25f)));
        s.put("f64", littleEndian(8, Double.doubleToRawLongBits(Math.PI), Double.doubleToRawLongBits(-1e300)));
        s.put("f16", littleEndian(2, Float.floatToFloat16(0.5f), Float.floatToFloat16(-65504f)));
        s.put("bf16", littleEndian(2, Float.floatToRawIntBits(3.0f) >>> 16, Float.floatToRawIntBits(-0.125f) >>> 16));
        s.put("i64", littleEndian(8, Long.MIN_VALUE, 7));
        s.put("i32", littleEndian(4, -5, Integer.MAX_VALUE));
        s.put("i16", littleEndian(2, -300, 300));
        s.put("i8", littleEndian(1, -3, 127));
        s.put("u8", littleEndian(1, 200, 1));
        s.put("bool", littleEndian(1, 1, 0));
        Pickle p = new Pickle();
        String[][] types = {{"f32", "FloatStorage"}, {"f64", "DoubleStorage"}, {"f16", "HalfStorage"}, {"bf16", "BFloat16Storage"},
                {"i64", "LongStorage"}, {"i32", "IntStorage"}, {"i16", "ShortStorage"}, {"i8", "CharStorage"}, {"u8", "ByteStorage"}, {"bool", "BoolStorage"}};
        for (String[] t : types) p.str(t[0]).tensor(t[1], t[0], 2, 0, dims(2), dims(1));
        try (TorchCheckpoint c = checkpoint(p, s)) {
            Map<?, ?> root = (Map<?, ?>) c.root();
            TensorSource sd = c.stateDict();
            assertThat(sd.floats("f32")).containsExactly(1.5f, -2.25f);
            assertThat(sd.doubles("f32")).containsExactly(1.5, -2.25);
            assertThat(sd.doubles("f64")).containsExactly(Math.PI, -1e300);
            assertThat(sd.floats("f64")).containsExactly((float) Math.PI, Float.NEGATIVE_INFINITY);
            assertThat(sd.floats("f16")).containsExactly(0.5f, -65504f);
            assertThat(sd.doubles("bf16")).containsExactly(3.0, -0.125);
            assertThat(((TorchTensor) root.get("i64")).longs()).containsExactly(Long.MIN_VALUE, 7);
            assertThat(((TorchTensor) root.get("i32")).longs()).containsExactly(-5, Integer.MAX_VALUE);
            assertThat(((TorchTensor) root.get("i16")).longs()).containsExactly(-300, 300);
            assertThat(((TorchTensor) root.get("i8")).longs()).containsExactly(-3, 127);
            assertThat(((TorchTensor) root.get("u8")).longs()).containsExactly(200, 1);
            assertThat(((TorchTensor) root.get("bool")).longs()).containsExactly(1, 0);
            for (String[] t : types) assertThat(sd.info(t[0]).dtype()).isEqualTo(DType.valueOf(t[0].toUpperCase()));
        }
    }

    @Test
    void stridedAndOffsetViewsGatherInRowMajorOrder() {
        long[] v = new long[24];
        for (int i = 0; i < v.length; i++) v[i] = Float.floatToRawIntBits(i);
        Pickle p = new Pickle()
                .str("transposed").tensor("FloatStorage", "0", 24, 0, dims(3, 4), dims(1, 3))  // a (4, 3) matrix, transposed
                .str("offset").tensor("FloatStorage", "0", 24, 5, dims(2, 2), dims(2, 1))
                .str("every_fifth").tensor("FloatStorage", "0", 24, 2, dims(3), dims(5))
                .str("broadcast").tensor("FloatStorage", "0", 24, 7, dims(2, 3), dims(0, 1))
                .str("permuted3d").tensor("FloatStorage", "0", 24, 0, dims(2, 3, 4), dims(1, 8, 2))
                .str("scalar").tensor("FloatStorage", "0", 24, 23, dims(), dims())
                .str("empty").tensor("FloatStorage", "0", 24, 24, dims(0, 5), dims(5, 1));
        try (TorchCheckpoint c = checkpoint(p, Map.of("0", littleEndian(4, v)))) {
            TensorSource sd = c.stateDict();
            assertThat(sd.floats("transposed")).containsExactly(0, 3, 6, 9, 1, 4, 7, 10, 2, 5, 8, 11);
            assertThat(sd.doubles("offset")).containsExactly(5, 6, 7, 8);
            assertThat(sd.floats("every_fifth")).containsExactly(2, 7, 12);
            assertThat(sd.floats("broadcast")).containsExactly(7, 8, 9, 7, 8, 9);
            float[] permuted = sd.floats("permuted3d");
            for (int i = 0; i < 2; i++)
                for (int j = 0; j < 3; j++)
                    for (int k = 0; k < 4; k++) assertThat(permuted[(i * 3 + j) * 4 + k]).isEqualTo(i + 8 * j + 2 * k);
            assertThat(sd.floats("scalar")).containsExactly(23);
            assertThat(sd.info("scalar").shape()).isEmpty();
            assertThat(sd.floats("empty")).isEmpty();
            assertThat(sd.info("empty").shape()).containsExactly(0, 5);
            Map<?, ?> root = (Map<?, ?>) c.root();
            assertThat(((TorchTensor) root.get("offset")).isContiguous()).isTrue();
            assertThat(((TorchTensor) root.get("transposed")).isContiguous()).isFalse();
            assertThat(((TorchTensor) root.get("every_fifth")).stride()).containsExactly(5);
            assertThat(((TorchTensor) root.get("transposed")).storageOffset()).isZero();
        }
    }

    @Test
    void contiguousOffsetViewOfAFloat64StorageCopiesTheRightRun() {
        long[] v = new long[10];
        for (int i = 0; i < v.length; i++) v[i] = Double.doubleToRawLongBits(i * 0.5);
        Pickle p = new Pickle().str("tail").tensor("DoubleStorage", "k", 10, 6, dims(2, 2), dims(2, 1));
        try (TorchCheckpoint c = checkpoint(p, Map.of("k", littleEndian(8, v)))) {
            assertThat(c.stateDict().doubles("tail")).containsExactly(3.0, 3.5, 4.0, 4.5);
            assertThat(c.stateDict().floats("tail")).containsExactly(3.0f, 3.5f, 4.0f, 4.5f);
            assertThat(c.stateDict().info("tail").begin()).isEqualTo(48);
        }
    }

    @Test
    void tensorsSharingAStorageSeeTheSameBytes() {
        Pickle p = new Pickle()
                .str("a").tensor("FloatStorage", "s", 4, 0, dims(4), dims(1))
                .str("b").tensor("FloatStorage", "s", 4, 2, dims(2), dims(1))
                .str("c").integer(5);
        long[] v = {Float.floatToRawIntBits(1f), Float.floatToRawIntBits(2f), Float.floatToRawIntBits(3f), Float.floatToRawIntBits(4f)};
        try (TorchCheckpoint c = checkpoint(p, Map.of("s", littleEndian(4, v)))) {
            assertThat(c.stateDict().names()).containsExactly("a", "b");
            assertThat(c.stateDict().floats("b")).containsExactly(3f, 4f);
            assertThat(c.at("c")).contains(5L);
        }
    }
}
