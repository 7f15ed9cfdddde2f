package dev.hydra.io;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.hydra.HydraException;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A read-only, memory-mapped safetensors file. The header is validated completely when the file is
 * opened (sizes, dtypes, shapes, offsets that must tile the data section without overlap), so that
 * reading a tensor afterwards cannot fail or read out of bounds. Reads copy into heap arrays,
 * converting any float dtype to float or double. Close it to unmap the file. Reads may come from many
 * threads at once; closing must not race with them.
 */
public final class SafeTensors implements TensorSource, AutoCloseable {
    /** Headers above this size are refused rather than parsed (the format's own reference uses 100 MB). */
    public static final long MAX_HEADER_BYTES = 100L << 20;

    private static final ObjectMapper JSON = new ObjectMapper()
            .enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION)
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);

    static {
        JSON.getFactory().setStreamReadConstraints(StreamReadConstraints.builder().maxNestingDepth(64).build());
    }


    private final String source;
    private final Arena arena;
    private final MemorySegment data;
    private final Map<String, TensorInfo> tensors;
    private final Map<String, String> metadata;

    private SafeTensors(String source, Arena arena, MemorySegment data, Map<String, TensorInfo> tensors,
                        Map<String, String> metadata) {
        this.source = source;
        this.arena = arena;
        this.data = data;
        this.tensors = tensors;
        this.metadata = metadata;
    }

    /** Maps and validates {@code path}; every problem is a {@link HydraException} naming the file. */
    public static SafeTensors open(Path path) {
        return MappedFiles.map(path, SafeTensors::parse);
    }

    /** Validates an in-memory safetensors image (used by tests and fuzzers); the bytes are copied. */
    public static SafeTensors fromBytes(String name, byte[] bytes) {
        return MappedFiles.copy(name, bytes, SafeTensors::parse);
    }

    private static SafeTensors parse(String src, Arena arena, MemorySegment file, long size) {
        if (size < 8) throw new HydraException(src + ": not a safetensors file (" + size + " bytes, shorter than the 8-byte header length)");
        long headerLen = file.get(LittleEndian.I64, 0);
        if (headerLen < 2) throw new HydraException(src + ": header length " + headerLen + " is invalid");
        if (headerLen > MAX_HEADER_BYTES) throw new HydraException(src + ": header length " + headerLen + " exceeds the limit of " + MAX_HEADER_BYTES + " bytes");
        if (headerLen > size - 8) throw new HydraException(src + ": header length " + headerLen + " runs past the end of the file (" + size + " bytes)");
        byte[] headerBytes = file.asSlice(8, headerLen).toArray(ValueLayout.JAVA_BYTE);
        JsonNode root;
        try {
            root = JSON.readTree(new String(headerBytes, StandardCharsets.UTF_8));
        } catch (IOException e) {
            throw new HydraException(src + ": header is not valid JSON (" + firstLine(e.getMessage()) + ")");
        } catch (RuntimeException e) {
            throw new HydraException(src + ": header is not valid JSON (" + firstLine(String.valueOf(e.getMessage())) + ")");
        }
        if (root == null || !root.isObject()) throw new HydraException(src + ": header is not a JSON object");
        long dataStart = 8 + headerLen;
        long dataSize = size - dataStart;
        Map<String, TensorInfo> tensors = new LinkedHashMap<>();
        Map<String, String> metadata = new LinkedHashMap<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = root.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            String name = e.getKey();
            JsonNode v = e.getValue();
            if (name.equals("__metadata__")) {
                if (!v.isObject()) throw new HydraException(src + ": __metadata__ is not an object");
                for (Iterator<Map.Entry<String, JsonNode>> m = v.fields(); m.hasNext(); ) {
                    Map.Entry<String, JsonNode> kv = m.next();
                    if (!kv.getValue().isTextual()) throw new HydraException(src + ": metadata '" + kv.getKey() + "' is not a string");
                    metadata.put(kv.getKey(), kv.getValue().asText());
                }
                continue;
            }
            tensors.put(name, parseEntry(src, name, v, dataSize));
        }
        checkTiling(src, tensors, dataSize);
        MemorySegment data = file.asSlice(dataStart, dataSize);
        return new SafeTensors(src, arena, data, Collections.unmodifiableMap(tensors), Collections.unmodifiableMap(metadata));
    }

    private static TensorInfo parseEntry(String src, String name, JsonNode v, long dataSize) {
        String where = src + ": tensor '" + name + "'";
        if (!v.isObject()) throw new HydraException(where + " is not an object");
        JsonNode dt = v.get("dtype"), sh = v.get("shape"), off = v.get("data_offsets");
        if (dt == null || !dt.isTextual()) throw new HydraException(where + " has no dtype");
        if (sh == null || !sh.isArray()) throw new HydraException(where + " has no shape");
        if (off == null || !off.isArray() || off.size() != 2) throw new HydraException(where + " has no data_offsets [begin, end]");
        DType dtype;
        try {
            dtype = DType.parse(dt.asText(), name);
        } catch (HydraException e) {
            throw new HydraException(src + ": " + e.getMessage());
        }
        if (sh.size() > 16) throw new HydraException(where + " has " + sh.size() + " dimensions (at most 16)");
        long[] shape = new long[sh.size()];
        long count = 1;
        for (int i = 0; i < shape.length; i++) {
            JsonNode d = sh.get(i);
            if (!d.isIntegralNumber() || !d.canConvertToLong() || d.asLong() < 0)
                throw new HydraException(where + " has an invalid dimension " + d + " in its shape");
            shape[i] = d.asLong();
            try {
                count = Math.multiplyExact(count, shape[i]);
            } catch (ArithmeticException ex) {
                throw new HydraException(where + " has a shape whose element count overflows");
            }
        }
        long bytes;
        try {
            bytes = Math.multiplyExact(count, dtype.bytes);
        } catch (ArithmeticException ex) {
            throw new HydraException(where + " has a shape whose byte size overflows");
        }
        JsonNode b = off.get(0), e = off.get(1);
        if (!b.isIntegralNumber() || !e.isIntegralNumber() || !b.canConvertToLong() || !e.canConvertToLong())
            throw new HydraException(where + " has non-integer data_offsets");
        long begin = b.asLong(), end = e.asLong();
        if (begin < 0 || end < begin) throw new HydraException(where + " has invalid data_offsets [" + begin + ", " + end + "]");
        if (end > dataSize) throw new HydraException(where + " has data_offsets [" + begin + ", " + end + "] beyond the data section (" + dataSize + " bytes)");
        if (end - begin != bytes)
            throw new HydraException(where + " of dtype " + dtype + " and shape " + new TensorInfo(name, dtype, shape, 0, 0).shapeString()
                    + " needs " + bytes + " bytes but its data_offsets span " + (end - begin));
        return new TensorInfo(name, dtype, shape, begin, end);
    }

    /** The tensors' bytes must cover the data section exactly: no overlap and, as the format requires, no hole. */
    private static void checkTiling(String src, Map<String, TensorInfo> tensors, long dataSize) {
        List<TensorInfo> sorted = new ArrayList<>(tensors.values());
        sorted.sort(Comparator.comparingLong(TensorInfo::begin).thenComparingLong(TensorInfo::end));
        long previousEnd = 0;
        String previous = null;
        for (TensorInfo t : sorted) {
            if (t.end() == t.begin()) continue; // empty tensors occupy no bytes
            if (t.begin() < previousEnd)
                throw new HydraException(src + ": tensor '" + t.name() + "' overlaps tensor '" + previous + "' in the data section");
            if (t.begin() > previousEnd)
                throw new HydraException(src + ": tensor '" + t.name() + "' starts at byte " + t.begin()
                        + " of the data section, leaving a hole after byte " + previousEnd);
            previousEnd = t.end();
            previous = t.name();
        }
        if (previousEnd != dataSize)
            throw new HydraException(src + ": the data section has " + dataSize + " bytes but its tensors end at byte " + previousEnd);
    }

    private static String firstLine(String s) {
        if (s == null) return "unknown error";
        int nl = s.indexOf('\n');
        return nl < 0 ? s : s.substring(0, nl);
    }

    public String source() {
        return source;
    }

    public Set<String> names() {
        return tensors.keySet();
    }

    public Map<String, String> metadata() {
        return metadata;
    }

    public boolean contains(String name) {
        return tensors.containsKey(name);
    }

    /** The header entry of {@code name}, or a {@link HydraException} naming the file and the tensor. */
    public TensorInfo info(String name) {
        TensorInfo t = tensors.get(name);
        if (t == null) throw new HydraException(source + ": no tensor '" + name + "'");
        return t;
    }

    public float[] floats(String name) {
        TensorInfo t = info(name);
        int n = checkedCount(t);
        float[] out = new float[n];
        MemorySegment s = data.asSlice(t.begin(), t.end() - t.begin());
        switch (t.dtype()) {
            case F32 -> MemorySegment.copy(s, LittleEndian.F32, 0, out, 0, n);
            case F64 -> { for (int i = 0; i < n; i++) out[i] = (float) s.getAtIndex(LittleEndian.F64, i); }
            case F16 -> { for (int i = 0; i < n; i++) out[i] = Float.float16ToFloat(s.getAtIndex(LittleEndian.I16, i)); }
            case BF16 -> { for (int i = 0; i < n; i++) out[i] = Float.intBitsToFloat((s.getAtIndex(LittleEndian.I16, i) & 0xffff) << 16); }
            default -> throw notFloat(t);
        }
        return out;
    }

    public double[] doubles(String name) {
        TensorInfo t = info(name);
        int n = checkedCount(t);
        double[] out = new double[n];
        MemorySegment s = data.asSlice(t.begin(), t.end() - t.begin());
        switch (t.dtype()) {
            case F64 -> MemorySegment.copy(s, LittleEndian.F64, 0, out, 0, n);
            case F32 -> { for (int i = 0; i < n; i++) out[i] = s.getAtIndex(LittleEndian.F32, i); }
            case F16 -> { for (int i = 0; i < n; i++) out[i] = Float.float16ToFloat(s.getAtIndex(LittleEndian.I16, i)); }
            case BF16 -> { for (int i = 0; i < n; i++) out[i] = Float.intBitsToFloat((s.getAtIndex(LittleEndian.I16, i) & 0xffff) << 16); }
            default -> throw notFloat(t);
        }
        return out;
    }

    /** Integer tensors (token ids, masks) as longs. */
    public long[] longs(String name) {
        TensorInfo t = info(name);
        int n = checkedCount(t);
        long[] out = new long[n];
        MemorySegment s = data.asSlice(t.begin(), t.end() - t.begin());
        switch (t.dtype()) {
            case I64 -> MemorySegment.copy(s, LittleEndian.I64, 0, out, 0, n);
            case I32 -> { for (int i = 0; i < n; i++) out[i] = s.getAtIndex(LittleEndian.I32, i); }
            case I16 -> { for (int i = 0; i < n; i++) out[i] = s.getAtIndex(LittleEndian.I16, i); }
            case I8, BOOL -> { for (int i = 0; i < n; i++) out[i] = s.get(ValueLayout.JAVA_BYTE, i); }
            case U8 -> { for (int i = 0; i < n; i++) out[i] = s.get(ValueLayout.JAVA_BYTE, i) & 0xff; }
            default -> throw new HydraException(source + ": tensor '" + t.name() + "' has dtype " + t.dtype() + ", expected an integer type");
        }
        return out;
    }

    private HydraException notFloat(TensorInfo t) {
        return new HydraException(source + ": tensor '" + t.name() + "' has dtype " + t.dtype() + ", expected a float type");
    }

    private int checkedCount(TensorInfo t) {
        long n = t.elementCount();
        if (n > Integer.MAX_VALUE - 8)
            throw new HydraException(source + ": tensor '" + t.name() + "' has " + n + " elements, more than a Java array holds");
        return (int) n;
    }

    /** The JSON object stored in metadata key {@code key}, or a named error. */
    public ObjectNode metadataJson(String key) {
        String text = metadata.get(key);
        if (text == null) throw new HydraException(source + ": no metadata '" + key + "'");
        try {
            JsonNode n = JSON.readTree(text);
            if (n instanceof ObjectNode o) return o;
        } catch (IOException e) {
            // reported below
        }
        throw new HydraException(source + ": metadata '" + key + "' is not a JSON object");
    }

    @Override
    public void close() {
        arena.close();
    }
}
