package dev.hydra.io.torch;

import dev.hydra.HydraException;
import dev.hydra.io.LittleEndian;
import dev.hydra.io.DType;
import dev.hydra.io.MappedFiles;
import dev.hydra.io.TensorSource;

import java.io.IOException;
import java.io.InputStream;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * A {@code torch.save} file, read without Python and without executing anything it names: the zip
 * format of PyTorch 1.6+ ({@code pytorch_model.bin}, Composer {@code .pt} checkpoints), whose stored
 * storages are memory-mapped, and the legacy pre-1.6 format (a sequence of pickles followed by raw
 * storages). The pickle goes through a restricted unpickler ({@link #root()} is an inert value tree);
 * every size the file declares is checked against the file before anything is allocated or read.
 * Close it to unmap the file; reads may come from many threads, but must not race with closing.
 */
public final class TorchCheckpoint implements AutoCloseable {
    /** The first pickle of a legacy file is this number (PyTorch's {@code MAGIC_NUMBER}). */
    private static final BigInteger LEGACY_MAGIC = new BigInteger("1950a86a20f9469cfc6c", 16);
    private static final long LEGACY_PROTOCOL = 1001;
    /** PROTO 2, LONG1 of 10 bytes, then the magic number little-endian. */
    private static final byte[] LEGACY_PREFIX = {(byte) 0x80, 2, (byte) 0x8a, 10, 0x6c, (byte) 0xfc, (byte) 0x9c, 0x46, (byte) 0xf9, 0x20, 0x6a, (byte) 0xa8, 0x50, 0x19};

    private final String source;
    private final Arena arena;
    private final Object root;

    private TorchCheckpoint(String source, Arena arena, Object root) {
        this.source = source;
        this.arena = arena;
        this.root = root;
    }

    /** Maps and reads {@code path}; every problem is a one-line {@link HydraException} naming the file. */
    public static TorchCheckpoint open(Path path) {
        return MappedFiles.map(path, (src, arena, file, size) -> new TorchCheckpoint(src, arena, parse(src, file, size)));
    }

    /** Reads an in-memory image (tests and fuzzers); the bytes are copied. */
    public static TorchCheckpoint fromBytes(String name, byte[] bytes) {
        return MappedFiles.copy(name, bytes, (src, arena, file, size) -> new TorchCheckpoint(src, arena, parse(src, file, size)));
    }

    /** True when the file starts like a {@code torch.save} file: a zip archive or a legacy checkpoint's magic pickle. */
    public static boolean isTorchFile(Path path) {
        byte[] head = new byte[LEGACY_PREFIX.length];
        int n;
        try (InputStream in = Files.newInputStream(path)) {
            n = in.readNBytes(head, 0, head.length);
        } catch (IOException e) {
            return false;
        }
        MemorySegment seg = MemorySegment.ofArray(head);
        return ZipArchive.hasZipMagic(seg, n) || hasLegacyMagic(seg, n);
    }

    private static boolean hasLegacyMagic(MemorySegment file, long size) {
        if (size < LEGACY_PREFIX.length) return false;
        for (int i = 0; i < LEGACY_PREFIX.length; i++) {
            if (i != 1 && file.get(ValueLayout.JAVA_BYTE, i) != LEGACY_PREFIX[i]) return false;
        }
        return true;
    }

    private static Object parse(String src, MemorySegment file, long size) {
        if (ZipArchive.hasZipMagic(file, size)) return parseZip(src, ZipArchive.read(src, file, size));
        if (hasLegacyMagic(file, size)) return parseLegacy(src, file, size);
        throw new HydraException(src + ": not a PyTorch checkpoint (neither a torch.save zip archive nor the legacy format)");
    }

    // ---- the zip format: <archive>/data.pkl, <archive>/data/<key>, <archive>/byteorder

    private static Object parseZip(String src, ZipArchive zip) {
        String prefix = null;
        for (String name : zip.entries().keySet()) {
            int slash = name.indexOf('/');
            if (slash > 0 && name.substring(slash).equals("/data.pkl")) {
                if (prefix != null) throw new HydraException(src + ": holds more than one data.pkl ('" + prefix + "data.pkl', '" + name + "')");
                prefix = name.substring(0, slash + 1);
            }
        }
        if (prefix == null) throw new HydraException(src + ": zip archive without a <name>/data.pkl entry, not a torch.save checkpoint");
        ZipArchive.Entry order = zip.entries().get(prefix + "byteorder");
        if (order != null) {
            String o = new String(zip.bytes(order).toArray(ValueLayout.JAVA_BYTE), StandardCharsets.US_ASCII);
            if (!o.equals("little")) throw new HydraException(src + ": byteorder '" + o + "' is not supported (only little-endian storages)");
        }
        MemorySegment pickle = zip.bytes(zip.entries().get(prefix + "data.pkl"));
        String dataPrefix = prefix + "data/";
        Map<String, MemorySegment> storageBytes = new HashMap<>();
        Unpickler.PersistentLoader loader = (pid, where) -> {
            Tuple t = storageId(pid, 5, where);
            String key = (String) t.get(2);
            DType dtype = storageDType(t.get(1), where);
            long numel = numel(t.get(4), where);
            MemorySegment bytes = storageBytes.get(key);
            if (bytes == null) {
                ZipArchive.Entry e = zip.entries().get(dataPrefix + key);
                if (e == null) throw new HydraException(where + " refers to storage '" + key + "', which has no entry '" + dataPrefix + key + "'");
                bytes = zip.bytes(e);
                storageBytes.put(key, bytes);
            }
            long need = numel * dtype.bytes;
            if (numel > Long.MAX_VALUE / 8 || need > bytes.byteSize())
                throw new HydraException(where + " declares storage '" + key + "' of " + numel + " " + dtype + " elements but its entry holds " + bytes.byteSize() + " bytes");
            TorchStorage s = new TorchStorage(key, dtype, numel);
            s.bind(bytes.asSlice(0, need));
            return s;
        };
        return new Unpickler(src + ": " + prefix + "data.pkl", pickle, 0, pickle.byteSize(), loader).load();
    }

    // ---- the legacy format: magic, protocol, sys_info, the object, the storage keys, then each storage's bytes

    private static Object parseLegacy(String src, MemorySegment file, long size) {
        long[] pos = {0};
        Unpickler.PersistentLoader none = (pid, where) -> {
            throw new HydraException(where + " has a persistent id outside the object pickle");
        };
        Object magic = next(src, "magic number", file, pos, size, none);
        if (!LEGACY_MAGIC.equals(magic)) throw new HydraException(src + ": legacy checkpoint without PyTorch's magic number");
        Object protocol = next(src, "protocol version", file, pos, size, none);
        if (!Long.valueOf(LEGACY_PROTOCOL).equals(protocol))
            throw new HydraException(src + ": legacy checkpoint of protocol version " + protocol + " (only " + LEGACY_PROTOCOL + " is supported)");
        if (!(next(src, "sys_info", file, pos, size, none) instanceof Map<?, ?> sysInfo) || !Boolean.TRUE.equals(sysInfo.get("little_endian")))
            throw new HydraException(src + ": legacy checkpoint is not little-endian (or has no sys_info)");
        Map<String, TorchStorage> roots = new HashMap<>();
        Unpickler.PersistentLoader loader = (pid, where) -> legacyStorage(pid, where, roots);
        Object root = next(src, "object", file, pos, size, loader);
        if (!(next(src, "storage keys", file, pos, size, none) instanceof List<?> keys))
            throw new HydraException(src + ": legacy checkpoint's storage key list is not a list");
        for (Object k : keys) {
            TorchStorage s = k instanceof String key ? roots.get(key) : null;
            if (s == null) throw new HydraException(src + ": legacy storage key " + k + " is not one the object refers to");
            if (size - pos[0] < 8) throw new HydraException(src + ": truncated: storage '" + s.key + "' has no element count at byte " + pos[0]);
            long count = file.get(LittleEndian.I64, pos[0]);
            pos[0] += 8;
            if (count != s.numel)
                throw new HydraException(src + ": legacy storage '" + s.key + "' holds " + count + " elements but the object declares " + s.numel);
            long bytes = count * s.dtype.bytes;
            if (count > Long.MAX_VALUE / 8 || bytes > size - pos[0])
                throw new HydraException(src + ": truncated: storage '" + s.key + "' needs " + bytes + " bytes at byte " + pos[0] + ", " + (size - pos[0]) + " left");
            s.bind(file.asSlice(pos[0], bytes));
            pos[0] += bytes;
        }
        for (TorchStorage s : roots.values()) s.bytes(src); // every storage the object uses got its bytes
        return root;
    }

    private static Object next(String src, String what, MemorySegment file, long[] pos, long size, Unpickler.PersistentLoader loader) {
        if (pos[0] >= size) throw new HydraException(src + ": truncated legacy checkpoint: no " + what + " pickle");
        Unpickler u = new Unpickler(src + ": " + what + " pickle at byte " + pos[0], file, pos[0], size, loader);
        Object value = u.load();
        pos[0] = u.position();
        return value;
    }

    /** ('storage', type, root_key, location, numel, view_metadata) with view_metadata None or (view_key, offset, view_size). */
    private static TorchStorage legacyStorage(Object pid, String where, Map<String, TorchStorage> roots) {
        Tuple t = storageId(pid, 6, where);
        String key = (String) t.get(2);
        DType dtype = storageDType(t.get(1), where);
        long numel = numel(t.get(4), where);
        TorchStorage root = roots.computeIfAbsent(key, k -> new TorchStorage(k, dtype, numel));
        if (root.dtype != dtype || root.numel != numel)
            throw new HydraException(where + " declares storage '" + key + "' as " + numel + " " + dtype + " elements, elsewhere as " + root.numel + " " + root.dtype);
        if (t.get(5) == null) return root;
        if (!(t.get(5) instanceof Tuple view) || view.size() != 3 || !(view.get(0) instanceof String viewKey)
                || !(view.get(1) instanceof Long offset) || !(view.get(2) instanceof Long viewSize))
            throw new HydraException(where + " has view metadata of type " + Unpickler.typeName(t.get(5)) + ", not (key, offset, size)");
        if (offset < 0 || viewSize < 0 || offset > numel - viewSize)
            throw new HydraException(where + " views " + viewSize + " elements at " + offset + " of storage '" + key + "' of " + numel);
        TorchStorage v = new TorchStorage(viewKey, dtype, viewSize);
        v.viewOf(root, offset);
        return v;
    }

    private static Tuple storageId(Object pid, int length, String where) {
        if (!(pid instanceof Tuple t) || t.size() != length || !"storage".equals(t.get(0)) || !(t.get(2) instanceof String))
            throw new HydraException(where + " has a persistent id of type " + Unpickler.typeName(pid) + ", not ('storage', type, key, location, numel"
                    + (length == 6 ? ", view" : "") + ")");
        return t;
    }

    private static long numel(Object n, String where) {
        if (!(n instanceof Long v) || v < 0) throw new HydraException(where + " declares a storage of " + n + " elements");
        return v;
    }

    /** The element type a {@code torch.*Storage} class names; {@code UntypedStorage} is bytes. */
    private static DType storageDType(Object type, String where) {
        if (!(type instanceof PickleGlobal g) || !g.args().isEmpty())
            throw new HydraException(where + " names a storage type of type " + Unpickler.typeName(type));
        DType d = switch (g.qualifiedName()) {
            case "torch.FloatStorage" -> DType.F32;
            case "torch.DoubleStorage" -> DType.F64;
            case "torch.HalfStorage" -> DType.F16;
            case "torch.BFloat16Storage" -> DType.BF16;
            case "torch.LongStorage" -> DType.I64;
            case "torch.IntStorage" -> DType.I32;
            case "torch.ShortStorage" -> DType.I16;
            case "torch.CharStorage" -> DType.I8;
            case "torch.ByteStorage", "torch.UntypedStorage", "torch.storage.UntypedStorage" -> DType.U8;
            case "torch.BoolStorage" -> DType.BOOL;
            default -> null;
        };
        if (d == null) throw new HydraException(where + " has storage type " + g.qualifiedName() + ", which is not supported");
        return d;
    }

    // ---- the value tree

    public String source() {
        return source;
    }

    /**
     * The pickled object as an inert value tree: {@code Map<Object,Object>} (insertion-ordered), {@code
     * List<Object>} (lists, tuples, sets), String, Long (BigInteger beyond 64 bits), Double, Boolean, null,
     * byte[], {@link TorchTensor}, {@link PickleGlobal}.
     */
    public Object root() {
        return root;
    }

    /**
     * The value reached from the root through nested dicts by these keys; empty when a step is not a dict
     * holding the key, or when the value is None.
     */
    public Optional<Object> at(String... keys) {
        Object o = root;
        for (String k : keys) {
            if (!(o instanceof Map<?, ?> m) || !m.containsKey(k)) return Optional.empty();
            o = m.get(k);
        }
        return Optional.ofNullable(o);
    }

    /** The tensor-valued entries of {@code dict} with string keys, as named tensors; {@code description} says where the dict is. */
    public TensorSource tensors(Map<?, ?> dict, String description) {
        return new TensorDict(source + " " + description, dict);
    }

    /** The root as a state dict ({@code torch.save(model.state_dict())}, as in {@code pytorch_model.bin}). */
    public TensorSource stateDict() {
        if (!(root instanceof Map<?, ?> m)) throw new HydraException(source + ": holds a " + Unpickler.typeName(root) + ", not a state dict");
        return new TensorDict(source, m);
    }

    /**
     * Every tensor of the tree under the key path that first reaches it (keys and list indices joined by
     * '/'), in tree order, for listing what a file holds. A dict or list shared by several parents is
     * listed once.
     */
    public Map<String, TorchTensor> allTensors() {
        Map<String, TorchTensor> out = new LinkedHashMap<>();
        Set<Object> seen = Collections.newSetFromMap(new IdentityHashMap<>());
        List<Object[]> todo = new ArrayList<>();
        todo.add(new Object[] {"", root});
        while (!todo.isEmpty()) {
            Object[] item = todo.removeLast();
            String path = (String) item[0];
            if (!(item[1] instanceof TorchTensor) && !seen.add(item[1])) continue;
            List<Object[]> children = new ArrayList<>();
            if (item[1] instanceof TorchTensor t) out.put(path, t);
            else if (item[1] instanceof Map<?, ?> m) m.forEach((k, v) -> children.add(new Object[] {join(path, String.valueOf(k)), v}));
            else if (item[1] instanceof List<?> l) for (int i = 0; i < l.size(); i++) children.add(new Object[] {join(path, Integer.toString(i)), l.get(i)});
            for (int i = children.size() - 1; i >= 0; i--) todo.add(children.get(i));
        }
        return out;
    }

    private static String join(String path, String key) {
        return path.isEmpty() ? key : path + "/" + key;
    }

    @Override
    public void close() {
        arena.close();
    }
}
