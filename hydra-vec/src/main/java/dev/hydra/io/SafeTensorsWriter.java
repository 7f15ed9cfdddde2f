package dev.hydra.io;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.hydra.HydraException;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Builds a safetensors file from heap arrays and writes it atomically: to a temporary file beside the
 * target, then renamed over it, so that a crash never leaves a half-written output. A writer is built
 * by one thread; several writes racing on one path leave one writer's whole file.
 */
public final class SafeTensorsWriter {
    private record Entry(DType dtype, long[] shape, byte[] bytes) {}

    private final Map<String, Entry> entries = new LinkedHashMap<>();
    private final Map<String, String> metadata = new LinkedHashMap<>();

    public SafeTensorsWriter metadata(String key, String value) {
        metadata.put(key, value);
        return this;
    }

    public SafeTensorsWriter put(String name, float[] data, long... shape) {
        checkCount(name, data.length, shape);
        ByteBuffer b = ByteBuffer.allocate(data.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        b.asFloatBuffer().put(data);
        return add(name, DType.F32, shape, b.array());
    }

    public SafeTensorsWriter put(String name, double[] data, long... shape) {
        checkCount(name, data.length, shape);
        ByteBuffer b = ByteBuffer.allocate(data.length * 8).order(ByteOrder.LITTLE_ENDIAN);
        b.asDoubleBuffer().put(data);
        return add(name, DType.F64, shape, b.array());
    }

    public SafeTensorsWriter put(String name, long[] data, long... shape) {
        checkCount(name, data.length, shape);
        ByteBuffer b = ByteBuffer.allocate(data.length * 8).order(ByteOrder.LITTLE_ENDIAN);
        b.asLongBuffer().put(data);
        return add(name, DType.I64, shape, b.array());
    }

    /** Raw little-endian bytes of any dtype (F16/BF16 weights, for instance). */
    public SafeTensorsWriter putRaw(String name, DType dtype, byte[] bytes, long... shape) {
        long n = 1;
        for (long d : shape) n *= d;
        if (n * dtype.bytes != bytes.length)
            throw new HydraException("tensor '" + name + "': " + bytes.length + " bytes do not match shape and dtype " + dtype);
        return add(name, dtype, shape, bytes.clone());
    }

    private SafeTensorsWriter add(String name, DType dtype, long[] shape, byte[] bytes) {
        if (name.equals("__metadata__")) throw new HydraException("'__metadata__' is not a valid tensor name");
        entries.put(name, new Entry(dtype, shape.clone(), bytes));
        return this;
    }

    private static void checkCount(String name, int length, long[] shape) {
        long n = 1;
        for (long d : shape) n *= d;
        if (n != length) throw new HydraException("tensor '" + name + "': " + length + " values do not fill shape " + java.util.Arrays.toString(shape));
    }

    public byte[] toBytes() {
        ObjectMapper json = new ObjectMapper();
        ObjectNode header = json.createObjectNode();
        if (!metadata.isEmpty()) {
            ObjectNode m = header.putObject("__metadata__");
            metadata.forEach(m::put);
        }
        long offset = 0;
        for (Map.Entry<String, Entry> e : entries.entrySet()) {
            ObjectNode t = header.putObject(e.getKey());
            t.put("dtype", e.getValue().dtype().name());
            ArrayNode s = t.putArray("shape");
            for (long d : e.getValue().shape()) s.add(d);
            ArrayNode o = t.putArray("data_offsets");
            o.add(offset);
            offset += e.getValue().bytes().length;
            o.add(offset);
        }
        byte[] h = header.toString().getBytes(StandardCharsets.UTF_8);
        int pad = (8 - h.length % 8) % 8; // align the data section to 8 bytes, as the reference writer does
        byte[] out = new byte[Math.toIntExact(8 + h.length + pad + offset)];
        ByteBuffer b = ByteBuffer.wrap(out).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(h.length + pad).put(h);
        for (int i = 0; i < pad; i++) b.put((byte) ' ');
        for (Entry e : entries.values()) b.put(e.bytes());
        return out;
    }

    /** Writes to {@code target} atomically; refuses to replace an existing file unless {@code overwrite}. */
    public void write(Path target, boolean overwrite) {
        AtomicFiles.refuseExisting(target, overwrite);
        AtomicFiles.write(target, toBytes(), overwrite);
    }
}
