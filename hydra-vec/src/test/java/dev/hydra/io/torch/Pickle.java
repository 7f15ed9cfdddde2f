package dev.hydra.io.torch;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.zip.CRC32;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;

/** Writes pickle opcodes by hand, and wraps pickles and storages into torch.save zip archives, for tests. */
final class Pickle {
    private final ByteArrayOutputStream out = new ByteArrayOutputStream();

    static Pickle proto(int protocol) {
        return new Pickle().op(0x80, protocol);
    }

    Pickle op(int... bytes) {
        for (int b : bytes) out.write(b);
        return this;
    }

    Pickle raw(byte[] bytes) {
        out.writeBytes(bytes);
        return this;
    }

    Pickle u32(long v) {
        return raw(ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt((int) v).array());
    }

    Pickle u64(long v) {
        return raw(ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(v).array());
    }

    /** BINUNICODE. */
    Pickle str(String s) {
        byte[] b = s.getBytes(StandardCharsets.UTF_8);
        return op('X').u32(b.length).raw(b);
    }

    /** BININT (or BININT1 for small non-negative values). */
    Pickle integer(long v) {
        if (v >= 0 && v < 256) return op('K', (int) v);
        if (v >= Integer.MIN_VALUE && v <= Integer.MAX_VALUE) return op('J').u32(v);
        return op(0x8a, 8).u64(v);
    }

    /** GLOBAL module name. */
    Pickle global(String module, String name) {
        return op('c').raw((module + "\n" + name + "\n").getBytes(StandardCharsets.ISO_8859_1));
    }

    Pickle mark() {
        return op('(');
    }

    Pickle tuple() {
        return op('t');
    }

    Pickle ints(long... values) {
        mark();
        for (long v : values) integer(v);
        return tuple();
    }

    /** {@code _rebuild_tensor_v2(('storage', type, key, 'cpu', numel), offset, size, stride, False, OrderedDict())}. */
    Pickle tensor(String storageType, String key, long numel, long offset, long[] size, long[] stride) {
        global("torch._utils", "_rebuild_tensor_v2").mark();
        mark().str("storage").global("torch", storageType).str(key).str("cpu").integer(numel).tuple().op('Q');
        integer(offset).ints(size).ints(stride).op(0x89).global("collections", "OrderedDict").op(')', 'R');
        return tuple().op('R');
    }

    byte[] stop() {
        out.write('.');
        return out.toByteArray();
    }

    byte[] bytes() {
        return out.toByteArray();
    }

    /** A torch.save zip archive: archive/data.pkl, archive/data/KEY for each storage, stored uncompressed. */
    static byte[] zip(byte[] dataPkl, Map<String, byte[]> storages) {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (ZipOutputStream z = new ZipOutputStream(bytes)) {
            stored(z, "archive/data.pkl", dataPkl);
            for (Map.Entry<String, byte[]> e : storages.entrySet()) stored(z, "archive/data/" + e.getKey(), e.getValue());
            stored(z, "archive/version", "3\n".getBytes(StandardCharsets.US_ASCII));
        } catch (IOException e) {
            throw new AssertionError(e);
        }
        return bytes.toByteArray();
    }

    static void stored(ZipOutputStream z, String name, byte[] data) throws IOException {
        ZipEntry e = new ZipEntry(name);
        e.setMethod(ZipEntry.STORED);
        e.setSize(data.length);
        e.setCompressedSize(data.length);
        CRC32 crc = new CRC32();
        crc.update(data);
        e.setCrc(crc.getValue());
        z.putNextEntry(e);
        z.write(data);
        z.closeEntry();
    }

    static byte[] littleEndian(int elementBytes, long... values) {
        ByteBuffer b = ByteBuffer.allocate(values.length * elementBytes).order(ByteOrder.LITTLE_ENDIAN);
        for (long v : values) {
            switch (elementBytes) {
                case 1 -> b.put((byte) v);
                case 2 -> b.putShort((short) v);
                case 4 -> b.putInt((int) v);
                default -> b.putLong(v);
            }
        }
        return b.array();
    }
}
