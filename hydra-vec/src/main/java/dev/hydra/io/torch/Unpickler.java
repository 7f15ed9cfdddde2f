package dev.hydra.io.torch;

import dev.hydra.HydraException;
import dev.hydra.io.LittleEndian;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.math.BigInteger;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A restricted pickle reader (protocols 0-5) that builds an inert value tree and never imports, calls or
 * instantiates anything the pickle names. Values: {@code Map<Object,Object>} (insertion-ordered; dict and
 * OrderedDict), {@code List<Object>} (list, tuple, set, frozenset), String, Long, BigInteger, Double,
 * Boolean, null, byte[], {@link TorchTensor} for the tensor-rebuild functions, and {@link PickleGlobal}
 * for every other global and for what REDUCE, NEWOBJ and BUILD would have made of it. Persistent ids go to
 * a {@link PersistentLoader}. Every malformed, truncated or oversized input is a one-line
 * {@link HydraException} naming the opcode and its offset; the finished tree is checked for reference
 * cycles and nesting depth, so printing or walking it cannot overflow the stack.
 */
final class Unpickler {
    /** Deepest nesting of values, and of MARKs, accepted (a checkpoint needs about ten). */
    static final int MAX_DEPTH = 200;
    static final int MAX_STACK = 1 << 20;
    static final int MAX_MEMO = 1 << 20;
    /** Longest argument line of a text opcode (GLOBAL's module and name, INT, FLOAT, ...). */
    static final int MAX_LINE = 1 << 16;
    /** Most values (nested tuples counted each time they are reached) that a tuple used as a dict key may hold. */
    static final int MAX_KEY_VALUES = 1 << 12;

    /** Turns a persistent id (BINPERSID, PERSID) into the value it stands for, or refuses it. */
    interface PersistentLoader {
        Object load(Object pid, String where);
    }

    private static final ValueLayout.OfDouble F64_BIG_ENDIAN = ValueLayout.JAVA_DOUBLE_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN);

    private final String source;
    private final MemorySegment in;
    private final long start;
    private final long end;
    private final PersistentLoader loader;
    private final ArrayList<Object> stack = new ArrayList<>();
    private int[] marks = new int[16];
    private int markCount;
    private final HashMap<Long, Object> memo = new HashMap<>();
    private long pos;
    private long opOffset;
    private int op;

    Unpickler(String source, MemorySegment in, long start, long end, PersistentLoader loader) {
        this.source = source;
        this.in = in;
        this.start = start;
        this.end = end;
        this.loader = loader;
        this.pos = start;
    }

    /** Where the pickle's STOP opcode ended, after {@link #load()}. */
    long position() {
        return pos;
    }

    Object load() {
        while (true) {
            opOffset = pos;
            op = in.get(ValueLayout.JAVA_BYTE, need(1)) & 0xff;
            switch (op) {
                case 0x80 -> { // PROTO
                    int protocol = u8();
                    if (protocol > 5) throw error("unsupported pickle protocol " + protocol);
                }
                case 0x95 -> { // FRAME: the frame's length only groups opcodes
                    long n = in.get(LittleEndian.I64, need(8));
                    if (n < 0 || n > end - pos) throw error("frame of " + n + " bytes with " + (end - pos) + " left");
                }
                case '.' -> { // STOP
                    Object result = pop();
                    checkTree(result);
                    return result;
                }
                case '(' -> pushMark();
                case '0' -> { // POP
                    if (stack.size() > currentMark()) stack.removeLast();
                    else popMark();
                }
                case '1' -> popMarkItems(); // POP_MARK
                case '2' -> push(peek()); // DUP
                case 'N' -> push(null);
                case 0x88 -> push(Boolean.TRUE);
                case 0x89 -> push(Boolean.FALSE);
                case 'K' -> push((long) u8());
                case 'M' -> push((long) (in.get(LittleEndian.I16, need(2)) & 0xffff));
                case 'J' -> push((long) in.get(LittleEndian.I32, need(4)));
                case 0x8a -> push(littleEndianInt(u8()));
                case 0x8b -> push(littleEndianInt(length(in.get(LittleEndian.I32, need(4)), "LONG4")));
                case 'G' -> push(in.get(F64_BIG_ENDIAN, need(8)));
                case 'I' -> push(textInt(line()));
                case 'L' -> push(textLong(line()));
                case 'F' -> push(textFloat(line()));
                case 'S' -> push(textString(line()));
                case 'V' -> push(rawUnicodeEscape(line()));
                case 'T' -> push(latin1(length(in.get(LittleEndian.I32, need(4)), "BINSTRING")));
                case 'U' -> push(latin1(u8()));
                case 'X' -> push(utf8(length(in.get(LittleEndian.I32, need(4)) & 0xffffffffL, "BINUNICODE")));
                case 0x8c -> push(utf8(u8()));
                case 0x8d -> push(utf8(length(in.get(LittleEndian.I64, need(8)), "BINUNICODE8")));
                case 'B' -> push(bytes(length(in.get(LittleEndian.I32, need(4)) & 0xffffffffL, "BINBYTES")));
                case 'C' -> push(bytes(u8()));
                case 0x8e -> push(bytes(length(in.get(LittleEndian.I64, need(8)), "BINBYTES8")));
                case 0x96 -> push(bytes(length(in.get(LittleEndian.I64, need(8)), "BYTEARRAY8")));
                case ')' -> push(new Tuple(new Object[0]));
                case 0x85 -> tuple(1);
                case 0x86 -> tuple(2);
                case 0x87 -> tuple(3);
                case 't' -> push(checkedTuple(popMarkItems()));
                case ']' -> push(new ArrayList<>());
                case 'l' -> push(new ArrayList<>(Arrays.asList(popMarkItems())));
                case 0x8f -> push(new ArrayList<>()); // EMPTY_SET
                case 0x91 -> push(new ArrayList<>(Arrays.asList(popMarkItems()))); // FROZENSET
                case '}' -> push(new LinkedHashMap<>());
                case 'd' -> {
                    Object[] items = popMarkItems();
                    Map<Object, Object> dict = new LinkedHashMap<>();
                    setItems(dict, items);
                    push(dict);
                }
                case 'a' -> {
                    Object item = pop();
                    append(peek(), new Object[] {item});
                }
                case 'e', 0x90 -> { // APPENDS, ADDITEMS
                    Object[] items = popMarkItems();
                    append(peek(), items);
                }
                case 's' -> {
                    Object value = pop(), key = pop();
                    setItemsOn(peek(), new Object[] {key, value});
                }
                case 'u' -> {
                    Object[] items = popMarkItems();
                    setItemsOn(peek(), items);
                }
                case 'p' -> memoPut(parseIndex(line()));
                case 'q' -> memoPut(u8());
                case 'r' -> memoPut(in.get(LittleEndian.I32, need(4)) & 0xffffffffL);
                case 0x94 -> memoPut(memo.size()); // MEMOIZE
                case 'g' -> push(memoGet(parseIndex(line())));
                case 'h' -> push(memoGet(u8()));
                case 'j' -> push(memoGet(in.get(LittleEndian.I32, need(4)) & 0xffffffffL));
                case 'c' -> {
                    String module = line(), name = line();
                    push(new PickleGlobal(module, name, List.of()));
                }
                case 0x93 -> { // STACK_GLOBAL
                    Object name = pop(), module = pop();
                    if (!(module instanceof String m) || !(name instanceof String n))
                        throw error("expects two strings, got " + typeName(module) + " and " + typeName(name));
                    push(new PickleGlobal(m, n, List.of()));
                }
                case 'R' -> {
                    Object args = pop(), callable = pop();
                    push(call(callable, args));
                }
                case 0x81 -> { // NEWOBJ
                    Object args = pop(), cls = pop();
                    push(call(cls, args));
                }
                case 0x92 -> { // NEWOBJ_EX
                    Object kwargs = pop(), args = pop(), cls = pop();
                    if (!(kwargs instanceof Map<?, ?> kw)) throw error("expects keyword arguments as a dict, got " + typeName(kwargs));
                    if (!(args instanceof Tuple a)) throw error("expects arguments as a tuple, got " + typeName(args));
                    if (kw.isEmpty()) push(call(cls, a));
                    else {
                        Object[] all = Arrays.copyOf(a.toArray(), a.size() + 1);
                        all[a.size()] = kw;
                        push(call(cls, new Tuple(all)));
                    }
                }
                case 'i' -> { // INST
                    String module = line(), name = line();
                    push(call(new PickleGlobal(module, name, List.of()), checkedTuple(popMarkItems())));
                }
                case 'o' -> { // OBJ
                    Object[] items = popMarkItems();
                    if (items.length == 0) throw error("has no class to instantiate");
                    push(call(items[0], checkedTuple(Arrays.copyOfRange(items, 1, items.length))));
                }
                case 'b' -> { // BUILD: the state of a placeholder is recorded; a dict's or tensor's Python attributes are dropped
                    Object state = pop();
                    if (peek() instanceof PickleGlobal g) g.build(state);
                }
                case 'Q' -> push(loader.load(pop(), where()));
                case 'P' -> push(loader.load(line(), where()));
                case 0x82, 0x83, 0x84 -> throw error("uses the copyreg extension registry, which a checkpoint does not need");
                case 0x97, 0x98 -> throw error("uses out-of-band buffers, which a file cannot carry");
                default -> throw new HydraException(source + ": unknown pickle opcode 0x" + Integer.toHexString(op) + " at offset " + (opOffset - start));
            }
        }
    }

    // ---- the only globals with meaning; everything else stays a placeholder

    private Object call(Object callable, Object args) {
        if (!(callable instanceof PickleGlobal g)) throw error("calls a " + typeName(callable) + ", not a class or function");
        if (!(args instanceof Tuple a)) throw error("calls " + g.qualifiedName() + " with " + typeName(args) + " instead of an argument tuple");
        return switch (g.qualifiedName()) {
            case "torch._utils._rebuild_tensor_v2", "torch._utils._rebuild_tensor" -> rebuildTensor(a);
            case "torch._utils._rebuild_parameter", "torch._utils._rebuild_parameter_with_state" -> {
                if (a.isEmpty() || !(a.get(0) instanceof TorchTensor t)) throw error("rebuilds a parameter from " + (a.isEmpty() ? "nothing" : typeName(a.get(0))) + ", not a tensor");
                yield t;
            }
            case "torch._tensor._rebuild_from_type_v2" -> {
                if (a.size() < 3) throw error("_rebuild_from_type_v2 needs (func, type, args, state)");
                yield call(a.get(0), a.get(2));
            }
            case "collections.OrderedDict" -> {
                if (!a.isEmpty()) throw error("builds an OrderedDict from arguments, which torch.save never writes");
                yield new LinkedHashMap<>();
            }
            default -> new PickleGlobal(g.module(), g.name(), a);
        };
    }

    /** {@code _rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata])}. */
    private TorchTensor rebuildTensor(Tuple a) {
        if (a.size() < 4) throw error("rebuilds a tensor from " + a.size() + " arguments (needs storage, offset, size, stride)");
        if (!(a.get(0) instanceof TorchStorage storage)) throw error("rebuilds a tensor on a " + typeName(a.get(0)) + ", not a storage");
        if (!(a.get(1) instanceof Long offset)) throw error("rebuilds a tensor with a storage offset of type " + typeName(a.get(1)));
        return TorchTensor.view(source, storage, offset, longs(a.get(2), "size"), longs(a.get(3), "stride"));
    }

    private long[] longs(Object value, String what) {
        if (!(value instanceof Tuple t)) throw error("rebuilds a tensor with a " + what + " of type " + typeName(value) + ", not a tuple");
        if (t.size() > TorchTensor.MAX_DIMS) throw error("rebuilds a tensor with " + t.size() + " dimensions (at most " + TorchTensor.MAX_DIMS + ")");
        long[] out = new long[t.size()];
        for (int i = 0; i < out.length; i++) {
            if (!(t.get(i) instanceof Long v)) throw error("rebuilds a tensor with a " + what + " entry of type " + typeName(t.get(i)));
            out[i] = v;
        }
        return out;
    }

    // ---- containers

    private void tuple(int n) {
        if (stack.size() - currentMark() < n) throw error("needs " + n + " items on the stack");
        Object[] items = new Object[n];
        for (int i = n - 1; i >= 0; i--) items[i] = stack.removeLast();
        push(checkedTuple(items));
    }

    private Tuple checkedTuple(Object[] items) {
        Tuple t = new Tuple(items);
        if (t.depth > MAX_DEPTH) throw error("nests tuples deeper than " + MAX_DEPTH + " levels");
        return t;
    }

    @SuppressWarnings("unchecked")
    private void append(Object target, Object[] items) {
        if (target instanceof ArrayList<?> list) ((ArrayList<Object>) list).addAll(Arrays.asList(items));
        else if (!(target instanceof PickleGlobal)) throw error("appends to a " + typeName(target) + ", not a list");
    }

    @SuppressWarnings("unchecked")
    private void setItemsOn(Object target, Object[] items) {
        if (target instanceof LinkedHashMap<?, ?> dict) setItems((Map<Object, Object>) dict, items);
        else if (!(target instanceof PickleGlobal)) throw error("sets items on a " + typeName(target) + ", not a dict");
    }

    private void setItems(Map<Object, Object> dict, Object[] items) {
        if (items.length % 2 != 0) throw error("has an odd number (" + items.length + ") of keys and values");
        for (int i = 0; i < items.length; i += 2) {
            checkHashable(items[i]);
            dict.put(items[i], items[i + 1]);
        }
    }

    /** Dict keys are what Python can hash: scalars, strings, bytes, placeholders, tensors, and (small) tuples of those. */
    private void checkHashable(Object key) {
        if (key instanceof Tuple t) {
            if (t.weight > MAX_KEY_VALUES) throw error("uses a tuple of more than " + MAX_KEY_VALUES + " values as a dict key");
            for (Object o : t) checkHashable(o);
        } else if (key instanceof List<?> || key instanceof Map<?, ?>) {
            throw error("uses an unhashable " + typeName(key) + " as a dict key");
        }
    }

    /** Refuses reference cycles and nesting deeper than {@link #MAX_DEPTH}, without recursion. */
    private void checkTree(Object root) {
        IdentityHashMap<Object, Integer> depthOf = new IdentityHashMap<>(); // -1 while on the path
        ArrayList<Object> path = new ArrayList<>();
        ArrayList<Object[]> pending = new ArrayList<>();
        ArrayList<int[]> cursor = new ArrayList<>();
        if (children(root) == null) return;
        path.add(root);
        pending.add(children(root));
        cursor.add(new int[] {0, 0});
        depthOf.put(root, -1);
        while (!path.isEmpty()) {
            int top = path.size() - 1;
            Object[] kids = pending.get(top);
            int[] c = cursor.get(top);
            if (c[0] < kids.length) {
                Object child = kids[c[0]++];
                Object[] grandKids = children(child);
                if (grandKids == null) continue;
                Integer known = depthOf.get(child);
                if (known == null) {
                    if (path.size() >= MAX_DEPTH) throw new HydraException(source + ": values nest deeper than " + MAX_DEPTH + " levels");
                    depthOf.put(child, -1);
                    path.add(child);
                    pending.add(grandKids);
                    cursor.add(new int[] {0, 0});
                } else if (known < 0) {
                    throw new HydraException(source + ": a value contains itself (a reference cycle), which a checkpoint does not need");
                } else {
                    c[1] = Math.max(c[1], known);
                }
            } else {
                int depth = c[1] + 1;
                if (depth > MAX_DEPTH) throw new HydraException(source + ": values nest deeper than " + MAX_DEPTH + " levels");
                depthOf.put(path.removeLast(), depth);
                pending.removeLast();
                cursor.removeLast();
                if (!cursor.isEmpty()) cursor.getLast()[1] = Math.max(cursor.getLast()[1], depth);
            }
        }
    }

    /** The values a container holds (keys too), or null for a leaf. */
    private static Object[] children(Object o) {
        if (o instanceof List<?> l) return l.toArray();
        if (o instanceof Map<?, ?> m) {
            Object[] out = new Object[2 * m.size()];
            int i = 0;
            for (Map.Entry<?, ?> e : m.entrySet()) {
                out[i++] = e.getKey();
                out[i++] = e.getValue();
            }
            return out;
        }
        if (o instanceof PickleGlobal g) return new Object[] {g.args(), g.state()};
        return null;
    }

    // ---- stack, marks, memo

    private void push(Object o) {
        if (stack.size() >= MAX_STACK) throw error("pushes more than " + MAX_STACK + " values on the stack");
        stack.add(o);
    }

    private Object pop() {
        if (stack.size() <= currentMark()) throw error("pops from an empty stack");
        return stack.removeLast();
    }

    private Object peek() {
        if (stack.size() <= currentMark()) throw error("needs a value on the stack");
        return stack.getLast();
    }

    private int currentMark() {
        return markCount == 0 ? 0 : marks[markCount - 1];
    }

    private void pushMark() {
        if (markCount >= MAX_DEPTH) throw error("nests MARKs deeper than " + MAX_DEPTH + " levels");
        if (markCount == marks.length) marks = Arrays.copyOf(marks, marks.length * 2);
        marks[markCount++] = stack.size();
    }

    private void popMark() {
        if (markCount == 0) throw error("pops from an empty stack");
        markCount--;
    }

    private Object[] popMarkItems() {
        if (markCount == 0) throw error("has no MARK to collect items from");
        int mark = marks[--markCount];
        List<Object> top = stack.subList(mark, stack.size());
        Object[] items = top.toArray();
        top.clear();
        return items;
    }

    private void memoPut(long index) {
        if (memo.size() >= MAX_MEMO && !memo.containsKey(index)) throw error("stores more than " + MAX_MEMO + " memo entries");
        memo.put(index, peek());
    }

    private Object memoGet(long index) {
        Object o = memo.get(index);
        if (o == null && !memo.containsKey(index)) throw error("reads memo entry " + index + ", which was never stored");
        return o;
    }

    // ---- reading the input

    /** Checks that {@code n} more bytes are there and returns where they start. */
    private long need(long n) {
        if (n > end - pos && pos == opOffset) throw new HydraException(source + ": truncated pickle: ends at offset " + (pos - start) + " without a STOP opcode");
        if (n > end - pos) throw new HydraException(source + ": truncated pickle: " + opName() + " at offset " + (opOffset - start) + " needs " + n + " bytes, " + (end - pos) + " left");
        long p = pos;
        pos += n;
        return p;
    }

    private int u8() {
        return in.get(ValueLayout.JAVA_BYTE, need(1)) & 0xff;
    }

    private long length(long n, String what) {
        if (n < 0) throw error("declares a negative " + what + " length " + n);
        if (n > end - pos) throw error("declares " + n + " bytes with only " + (end - pos) + " left in the pickle");
        if (n > Integer.MAX_VALUE - 8) throw error("declares " + n + " bytes, more than a Java array holds");
        return n;
    }

    private byte[] bytes(long n) {
        return in.asSlice(need(n), n).toArray(ValueLayout.JAVA_BYTE);
    }

    private String utf8(long n) {
        return new String(bytes(n), StandardCharsets.UTF_8);
    }

    private String latin1(long n) {
        return new String(bytes(n), StandardCharsets.ISO_8859_1);
    }

    /** A text opcode's argument: the bytes up to the next newline (latin-1), which must come within {@link #MAX_LINE}. */
    private String line() {
        long limit = Math.min(end, pos + MAX_LINE);
        for (long p = pos; p < limit; p++) {
            if (in.get(ValueLayout.JAVA_BYTE, p) == '\n') {
                String s = new String(in.asSlice(pos, p - pos).toArray(ValueLayout.JAVA_BYTE), StandardCharsets.ISO_8859_1);
                pos = p + 1;
                return s;
            }
        }
        if (limit == end) throw new HydraException(source + ": truncated pickle: " + opName() + " at offset " + (opOffset - start) + " has no end of line");
        throw error("has an argument line longer than " + MAX_LINE + " bytes");
    }

    private Object littleEndianInt(long n) {
        byte[] le = bytes(n);
        if (n == 0) return 0L;
        byte[] be = new byte[le.length];
        for (int i = 0; i < le.length; i++) be[i] = le[le.length - 1 - i];
        return narrow(new BigInteger(be));
    }

    private static Object narrow(BigInteger v) {
        return v.bitLength() < 64 ? (Object) v.longValue() : v;
    }

    private Object textInt(String s) {
        if (s.equals("00")) return Boolean.FALSE;
        if (s.equals("01")) return Boolean.TRUE;
        return textLong(s);
    }

    private Object textLong(String s) {
        String digits = s.endsWith("L") ? s.substring(0, s.length() - 1) : s;
        try {
            return narrow(new BigInteger(digits.strip()));
        } catch (NumberFormatException e) {
            throw error("has an invalid integer '" + s + "'");
        }
    }

    private long parseIndex(String s) {
        Object v = textLong(s);
        if (!(v instanceof Long n) || n < 0) throw error("has an invalid memo index '" + s + "'");
        return n;
    }

    private double textFloat(String s) {
        switch (s.strip()) {
            case "inf" -> { return Double.POSITIVE_INFINITY; }
            case "-inf" -> { return Double.NEGATIVE_INFINITY; }
            case "nan" -> { return Double.NaN; }
            default -> {
                try {
                    return Double.parseDouble(s);
                } catch (NumberFormatException e) {
                    throw error("has an invalid float '" + s + "'");
                }
            }
        }
    }

    /** STRING's argument is a quoted Python 2 string literal; its escapes are decoded to bytes, read as latin-1. */
    private String textString(String s) {
        if (s.length() < 2 || (s.charAt(0) != '\'' && s.charAt(0) != '"') || s.charAt(s.length() - 1) != s.charAt(0))
            throw error("has an unquoted string argument");
        String body = s.substring(1, s.length() - 1);
        StringBuilder out = new StringBuilder(body.length());
        for (int i = 0; i < body.length(); i++) {
            char c = body.charAt(i);
            if (c != '\\' || i + 1 == body.length()) {
                out.append(c);
                continue;
            }
            char e = body.charAt(++i);
            switch (e) {
                case 'n' -> out.append('\n');
                case 'r' -> out.append('\r');
                case 't' -> out.append('\t');
                case 'x' -> {
                    out.append((char) hex(body, i + 1, 2));
                    i += 2;
                }
                case '\\', '\'', '"' -> out.append(e);
                default -> out.append('\\').append(e);
            }
        }
        return out.toString();
    }

    /** UNICODE's argument is raw-unicode-escape: only backslash-u and backslash-U sequences are escapes. */
    private String rawUnicodeEscape(String s) {
        StringBuilder out = new StringBuilder(s.length());
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '\\' && i + 1 < s.length() && (s.charAt(i + 1) == 'u' || s.charAt(i + 1) == 'U')) {
                int digits = s.charAt(i + 1) == 'u' ? 4 : 8;
                int cp = hex(s, i + 2, digits);
                if (!Character.isValidCodePoint(cp)) throw error("has an invalid code point escape");
                out.appendCodePoint(cp);
                i += 1 + digits;
            } else {
                out.append(c);
            }
        }
        return out.toString();
    }

    private int hex(String s, int from, int digits) {
        if (from + digits > s.length()) throw error("has a truncated escape sequence");
        try {
            return (int) Long.parseLong(s.substring(from, from + digits), 16);
        } catch (NumberFormatException e) {
            throw error("has an invalid escape sequence");
        }
    }

    // ---- messages

    private String where() {
        return source + ": " + opName() + " at offset " + (opOffset - start);
    }

    private HydraException error(String what) {
        return new HydraException(where() + " " + what);
    }

    private String opName() {
        String name = switch (op) {
            case 0x80 -> "PROTO"; case 0x95 -> "FRAME"; case '.' -> "STOP"; case '(' -> "MARK"; case '0' -> "POP";
            case '1' -> "POP_MARK"; case '2' -> "DUP"; case 'N' -> "NONE"; case 0x88 -> "NEWTRUE"; case 0x89 -> "NEWFALSE";
            case 'K' -> "BININT1"; case 'M' -> "BININT2"; case 'J' -> "BININT"; case 0x8a -> "LONG1"; case 0x8b -> "LONG4";
            case 'G' -> "BINFLOAT"; case 'I' -> "INT"; case 'L' -> "LONG"; case 'F' -> "FLOAT"; case 'S' -> "STRING";
            case 'V' -> "UNICODE"; case 'T' -> "BINSTRING"; case 'U' -> "SHORT_BINSTRING"; case 'X' -> "BINUNICODE";
            case 0x8c -> "SHORT_BINUNICODE"; case 0x8d -> "BINUNICODE8"; case 'B' -> "BINBYTES"; case 'C' -> "SHORT_BINBYTES";
            case 0x8e -> "BINBYTES8"; case 0x96 -> "BYTEARRAY8"; case ')' -> "EMPTY_TUPLE"; case 0x85 -> "TUPLE1";
            case 0x86 -> "TUPLE2"; case 0x87 -> "TUPLE3"; case 't' -> "TUPLE"; case ']' -> "EMPTY_LIST"; case 'l' -> "LIST";
            case 0x8f -> "EMPTY_SET"; case 0x91 -> "FROZENSET"; case '}' -> "EMPTY_DICT"; case 'd' -> "DICT"; case 'a' -> "APPEND";
            case 'e' -> "APPENDS"; case 0x90 -> "ADDITEMS"; case 's' -> "SETITEM"; case 'u' -> "SETITEMS"; case 'p' -> "PUT";
            case 'q' -> "BINPUT"; case 'r' -> "LONG_BINPUT"; case 0x94 -> "MEMOIZE"; case 'g' -> "GET"; case 'h' -> "BINGET";
            case 'j' -> "LONG_BINGET"; case 'c' -> "GLOBAL"; case 0x93 -> "STACK_GLOBAL"; case 'R' -> "REDUCE"; case 0x81 -> "NEWOBJ";
            case 0x92 -> "NEWOBJ_EX"; case 'i' -> "INST"; case 'o' -> "OBJ"; case 'b' -> "BUILD"; case 'Q' -> "BINPERSID";
            case 'P' -> "PERSID"; case 0x82 -> "EXT1"; case 0x83 -> "EXT2"; case 0x84 -> "EXT4"; case 0x97 -> "NEXT_BUFFER";
            case 0x98 -> "READONLY_BUFFER";
            default -> "opcode 0x" + Integer.toHexString(op);
        };
        return name;
    }

    static String typeName(Object o) {
        if (o == null) return "None";
        if (o instanceof String) return "str";
        if (o instanceof Long || o instanceof BigInteger) return "int";
        if (o instanceof Double) return "float";
        if (o instanceof Boolean) return "bool";
        if (o instanceof byte[]) return "bytes";
        if (o instanceof Tuple) return "tuple";
        if (o instanceof List<?>) return "list";
        if (o instanceof Map<?, ?>) return "dict";
        if (o instanceof TorchTensor) return "tensor";
        if (o instanceof TorchStorage) return "storage";
        if (o instanceof PickleGlobal g) return g.qualifiedName();
        return o.getClass().getSimpleName();
    }
}
