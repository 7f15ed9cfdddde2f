package dev.hydra.io.torch;

import dev.hydra.HydraException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;

import static dev.hydra.io.torch.Pickle.littleEndian;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * Malicious, truncated, oversized and mistyped checkpoints: each is refused with a one-line
 * {@link HydraException} that names the problem, or read as inert values; nothing runs, nothing is left behind.
 */
class TorchCheckpointMalformedTest {
    @TempDir
    Path dir;

    private static final byte[] FOUR_FLOATS = littleEndian(4, 0, 0, 0, 0);

    private static byte[] zipped(byte[] pickle) {
        return Pickle.zip(pickle, Map.of("0", FOUR_FLOATS));
    }

    /** A pickle of {'w': tensor} whose tensor is described by the given storage and view. */
    private static byte[] tensorPickle(String type, long numel, long offset, long[] size, long[] stride) {
        return Pickle.proto(2).op('}').str("w").tensor(type, "0", numel, offset, size, stride).op('s').stop();
    }

    static String refusal(byte[] image) {
        try (TorchCheckpoint c = TorchCheckpoint.fromBytes("bad.pt", image)) {
            throw new AssertionError("opened: " + c.root());
        } catch (HydraException e) {
            assertThat(e.getMessage()).isNotBlank().doesNotContainPattern("[\\p{Cntrl}\u2028\u2029]").startsWith("bad.pt");
            return e.getMessage();
        }
    }

    private static void refuses(byte[] image, String... parts) {
        assertThat(refusal(image)).contains(parts);
    }

    private static Object rootOf(byte[] pickle) {
        try (TorchCheckpoint c = TorchCheckpoint.fromBytes("ok.pt", zipped(pickle))) {
            return c.root();
        }
    }

    // ---- nothing is executed

    @Test
    void osSystemThroughReduceIsAnInertPlaceholder() {
        Path witness = dir.resolve("pwned");
        String command = "touch " + witness;
        List<byte[]> attacks = List.of(
                Pickle.proto(2).global("os", "system").mark().str(command).tuple().op('R').stop(),
                Pickle.proto(4).str("posix").str("system").op(0x93).str(command).op(0x85, 'R').stop(),
                Pickle.proto(2).global("subprocess", "Popen").mark().mark().str("sh").str("-c").str(command).op('l').tuple().op(0x81).stop(),
                Pickle.proto(2).mark().str(command).op('i').raw("os\nsystem\n".getBytes(StandardCharsets.US_ASCII)).stop(),
                Pickle.proto(2).mark().global("os", "system").str(command).op('o').stop(),
                Pickle.proto(2).global("builtins", "eval").mark().str("__import__('os').system('" + command + "')").tuple().op('R').stop(),
                Pickle.proto(2).global("builtins", "exec").mark().str("open('" + witness + "', 'w')").tuple().op('R').stop(),
                Pickle.proto(2).global("builtins", "getattr").mark().global("builtins", "__import__").mark().str("os").tuple().op('R')
                        .str("system").tuple().op('R').mark().str(command).tuple().op('R').stop(),
                Pickle.proto(2).global("copyreg", "_reconstructor").mark().global("os", "system").global("builtins", "object").op('N').tuple().op('R')
                        .op('}').str("__setstate__").global("os", "system").op('s').op('b').stop());
        for (byte[] attack : attacks) {
            Object root = rootOf(attack);
            assertThat(root).isInstanceOf(PickleGlobal.class);
            assertThat(witness).doesNotExist();
        }
        PickleGlobal system = (PickleGlobal) rootOf(attacks.getFirst());
        assertThat(system.qualifiedName()).isEqualTo("os.system");
        assertThat(system.args()).containsExactly(command);
        PickleGlobal built = (PickleGlobal) rootOf(attacks.getLast());
        assertThat(built.state()).isInstanceOf(Map.class);
        assertThat(built.toString()).isEqualTo("PickleGlobal[copyreg._reconstructor, 3 args, with state]");
    }

    @Test
    void globalsThatMeanSomethingAreOnlyTheTensorRebuildersStoragesAndOrderedDict() {
        Object root = rootOf(Pickle.proto(2).global("collections", "OrderedDict").op(')', 'R').str("k")
                .global("torch._utils", "_rebuild_parameter").mark().tensor("FloatStorage", "0", 4, 0, new long[] {4}, new long[] {1})
                .op(0x88).global("collections", "OrderedDict").op(')', 'R').tuple().op('R').op('s').stop());
        assertThat(root).isInstanceOf(Map.class);
        assertThat(((Map<?, ?>) root).get("k")).isInstanceOf(TorchTensor.class);
        refuses(zipped(Pickle.proto(2).global("collections", "OrderedDict").mark().mark().op(')').op('l').tuple().op('R').stop()),
                "REDUCE at offset 32 builds an OrderedDict from arguments");
        refuses(zipped(tensorPickle("QInt8Storage", 4, 0, new long[] {4}, new long[] {1})), "storage type torch.QInt8Storage, which is not supported");
    }

    // ---- oversized and deep

    @Test
    void deepNestingIsRefusedWithoutOverflowingTheStack() {
        Pickle marks = Pickle.proto(2);
        for (int i = 0; i < 1_000_000; i++) marks.op('(');
        refuses(zipped(marks.stop()), "MARK at offset 202 nests MARKs deeper than 200 levels");

        Pickle lists = Pickle.proto(2);
        for (int i = 0; i < 1_000_000; i++) lists.op(']');
        for (int i = 0; i < 999_999; i++) lists.op('a');
        refuses(zipped(lists.stop()), "values nest deeper than 200 levels");

        Pickle tuples = Pickle.proto(2).op('N');
        for (int i = 0; i < 1_000_000; i++) tuples.op(0x85);
        refuses(zipped(tuples.stop()), "TUPLE1 at offset 203 nests tuples deeper than 200 levels");

        Pickle viaMemo = Pickle.proto(2).op(']', 'r').u32(0); // the stack holds only the root: each step nests one list in the deepest
        for (int i = 0; i < 100_000; i++) viaMemo.op('j').u32(i).op(']', 'r').u32(i + 1).op('a', '0');
        refuses(zipped(viaMemo.stop()), "values nest deeper than 200 levels");

        Pickle stack = Pickle.proto(2);
        for (int i = 0; i <= Unpickler.MAX_STACK; i++) stack.op('N');
        refuses(zipped(stack.stop()), "pushes more than 1048576 values on the stack");
    }

    @Test
    void cyclesAreRefusedAndSharedValuesAreWalkedOnce() {
        refuses(zipped(Pickle.proto(2).op(']', 0x94, 'h', 0, 'a').stop()), "a value contains itself (a reference cycle)");
        refuses(zipped(Pickle.proto(2).op('}', 0x94).str("me").op('h', 0, 's').stop()), "reference cycle");
        // 150 levels, each a list holding the level below twice: 2^150 paths, 150 distinct lists
        Pickle dag = Pickle.proto(2).op(']', 'q', 0);
        for (int i = 1; i < 150; i++) dag.op(']', 'h', i - 1, 'a', 'h', i - 1, 'a', 'q', i);
        try (TorchCheckpoint c = TorchCheckpoint.fromBytes("dag.pt", zipped(dag.stop()))) {
            assertThat(c.root()).isInstanceOf(List.class);
            assertThat(c.allTensors()).isEmpty();
        }
    }

    @Test
    void memoLimitsAndHugeIndices() {
        Object root = rootOf(Pickle.proto(2).op('K', 9, 'r').u32(0xffffffffL).op('0', 'j').u32(0xffffffffL).stop());
        assertThat(root).isEqualTo(9L);
        refuses(zipped(Pickle.proto(2).op('h', 7).stop()), "BINGET at offset 2 reads memo entry 7, which was never stored");
        Pickle memo = Pickle.proto(4).op('N');
        for (int i = 0; i <= Unpickler.MAX_MEMO; i++) memo.op(0x94);
        refuses(zipped(memo.stop()), "stores more than 1048576 memo entries");
    }

    @Test
    void declaredLengthsBeyondTheInputAreRefusedBeforeAllocating() {
        refuses(zipped(Pickle.proto(2).op('X').u32(0x7fffffff).stop()), "BINUNICODE at offset 2 declares 2147483647 bytes with only 1 left in the pickle");
        refuses(zipped(Pickle.proto(4).op(0x8e).u64(1L << 62).stop()), "BINBYTES8 at offset 2 declares 4611686018427387904 bytes");
        refuses(zipped(Pickle.proto(4).op(0x8d).u64(-5).stop()), "declares a negative BINUNICODE8 length -5");
        refuses(zipped(Pickle.proto(2).op(0x8b).u32(0x7ffffff0).stop()), "LONG4 at offset 2 declares");
        refuses(zipped(Pickle.proto(2).op('T').u32(-1).stop()), "declares a negative BINSTRING length -1");
        refuses(zipped(Pickle.proto(4).op(0x95).u64(1L << 40).stop()), "FRAME at offset 2 frame of 1099511627776 bytes");
        refuses(zipped(Pickle.proto(2).op('c').raw(new byte[70_000]).stop()), "GLOBAL at offset 2 has an argument line longer than 65536 bytes");
    }

    @Test
    void unknownOpcodesAndProtocolsAreNamed() {
        refuses(zipped(Pickle.proto(2).op(0xff).stop()), "unknown pickle opcode 0xff at offset 2");
        refuses(zipped(Pickle.proto(6).stop()), "PROTO at offset 0 unsupported pickle protocol 6");
        refuses(zipped(Pickle.proto(2).op(0x82, 1).stop()), "EXT1 at offset 2 uses the copyreg extension registry");
        refuses(zipped(Pickle.proto(5).op(0x97).stop()), "NEXT_BUFFER at offset 2 uses out-of-band buffers");
        refuses(zipped(Pickle.proto(2).op('.').bytes()), "STOP at offset 2 pops from an empty stack");
        refuses(zipped(Pickle.proto(2).op('e').stop()), "APPENDS at offset 2 has no MARK to collect items from");
    }

    // ---- tensors that do not fit their storages, and wrong types

    @Test
    void tensorViewsAreCheckedAgainstTheirStorage() {
        refuses(zipped(tensorPickle("FloatStorage", 100, 0, new long[] {4}, new long[] {1})), "declares storage '0' of 100 F32 elements but its entry holds 16 bytes");
        refuses(zipped(tensorPickle("FloatStorage", 4, 1, new long[] {2}, new long[] {3})), "needs 5 elements but the storage holds 4");
        refuses(zipped(tensorPickle("FloatStorage", 4, 4, new long[] {1}, new long[] {1})), "needs 5 elements but the storage holds 4");
        refuses(zipped(tensorPickle("FloatStorage", 4, 0, new long[] {-1}, new long[] {1})), "negative size or stride");
        refuses(zipped(tensorPickle("FloatStorage", 4, 0, new long[] {2}, new long[] {-1})), "negative size or stride");
        refuses(zipped(tensorPickle("FloatStorage", 4, -1, new long[] {2}, new long[] {1})), "negative storage offset -1");
        refuses(zipped(tensorPickle("FloatStorage", 4, 0, new long[] {1L << 40, 1L << 40}, new long[] {1, 1})), "overflows its element count or extent");
        refuses(zipped(tensorPickle("FloatStorage", 4, 0, new long[] {2, 2}, new long[] {1})), "has 2 sizes but 1 strides");
        refuses(zipped(tensorPickle("FloatStorage", 1L << 62, 0, new long[] {1}, new long[] {1})), "declares storage '0' of 4611686018427387904 F32 elements");
        refuses(Pickle.zip(tensorPickle("FloatStorage", 4, 0, new long[] {4}, new long[] {1}), Map.of("1", FOUR_FLOATS)), "refers to storage '0', which has no entry 'archive/data/0'");
    }

    @Test
    void wrongTypesWhereATensorOrAStringBelongsAreNamed() {
        refuses(zipped(Pickle.proto(2).global("torch._utils", "_rebuild_tensor_v2").mark().str("not a storage").integer(0)
                .ints(1).ints(1).tuple().op('R').stop()), "REDUCE at offset", "rebuilds a tensor on a str, not a storage");
        refuses(zipped(Pickle.proto(2).global("torch._utils", "_rebuild_tensor_v2").mark().mark().str("storage").global("torch", "FloatStorage")
                .str("0").str("cpu").integer(4).tuple().op('Q').integer(0).mark().str("4").tuple().ints(1).tuple().op('R').stop()),
                "rebuilds a tensor with a size entry of type str");
        refuses(zipped(Pickle.proto(2).global("torch._utils", "_rebuild_parameter").mark().integer(3).tuple().op('R').stop()), "rebuilds a parameter from int, not a tensor");
        refuses(zipped(Pickle.proto(4).integer(1).integer(2).op(0x93).stop()), "STACK_GLOBAL at offset 6 expects two strings, got int and int");
        refuses(zipped(Pickle.proto(2).str("f").op(')', 'R').stop()), "REDUCE at offset 9 calls a str, not a class or function");
        refuses(zipped(Pickle.proto(2).global("os", "system").str("x").op('R').stop()), "calls os.system with str instead of an argument tuple");
        refuses(zipped(Pickle.proto(2).str("pid").op('Q').stop()), "BINPERSID at offset 10 has a persistent id of type str");
        refuses(zipped(Pickle.proto(2).integer(1).integer(2).op(']').op('s').stop()), "SETITEM at offset 7 sets items on a int, not a dict");
        refuses(zipped(Pickle.proto(2).op('}', ']', 'N', 's').stop()), "uses an unhashable list as a dict key");
        try (TorchCheckpoint c = TorchCheckpoint.fromBytes("list.pt", zipped(Pickle.proto(2).op(']').stop()))) {
            assertThatThrownBy(c::stateDict).isInstanceOf(HydraException.class).hasMessage("list.pt: holds a list, not a state dict");
        }
        byte[] longs = Pickle.proto(2).op('}').str("ids").tensor("LongStorage", "0", 2, 0, new long[] {2}, new long[] {1}).op('s').stop();
        try (TorchCheckpoint c = TorchCheckpoint.fromBytes("ids.pt", zipped(longs))) {
            assertThatThrownBy(() -> c.stateDict().floats("ids")).isInstanceOf(HydraException.class)
                    .hasMessage("ids.pt: tensor 'ids' has dtype I64, expected a float type");
            assertThatThrownBy(() -> c.tensors((Map<?, ?>) c.root(), "root").doubles("missing")).isInstanceOf(HydraException.class)
                    .hasMessage("ids.pt root: no tensor 'missing'");
            assertThat(c.stateDict().info("ids").shape()).containsExactly(2);
        }
    }

    // ---- truncated files

    @Test
    void everyTruncationOfAPickleIsRefusedInOneLine() {
        byte[] pickle = tensorPickle("FloatStorage", 4, 0, new long[] {2, 2}, new long[] {2, 1});
        assertThat(rootOf(pickle)).isInstanceOf(Map.class);
        for (int cut = 0; cut < pickle.length; cut++) refusal(zipped(Arrays.copyOf(pickle, cut)));
    }

    @Test
    void everyTruncationOfAZipArchiveIsRefusedInOneLine() throws Exception {
        byte[] zip = zipped(tensorPickle("FloatStorage", 4, 0, new long[] {4}, new long[] {1}));
        for (int cut = 0; cut < zip.length; cut++) refusal(Arrays.copyOf(zip, cut));
        byte[] bin = Files.readAllBytes(TorchCheckpointFilesTest.resource("mlm-pytorch_model.bin"));
        for (int cut = 0; cut < bin.length; cut += 1009) refusal(Arrays.copyOf(bin, cut));
    }

    @Test
    void everyTruncationOfALegacyFileIsRefusedInOneLine() throws Exception {
        byte[] legacy = Files.readAllBytes(TorchCheckpointFilesTest.resource("lowrank-legacy-format.bin"));
        for (int cut = 0; cut < legacy.length; cut += cut < 3000 ? 1 : 1013) refusal(Arrays.copyOf(legacy, cut));
        assertThat(refusal(Arrays.copyOf(legacy, legacy.length - 1))).contains("truncated: storage '");
        assertThat(refusal(Arrays.copyOf(legacy, 2000))).contains("object pickle at byte 137");
    }

    @Test
    void legacyFilesWhoseStoragesDisagreeWithTheObjectAreRefused() throws Exception {
        byte[] legacy = Files.readAllBytes(TorchCheckpointFilesTest.resource("lowrank-legacy-format.bin"));
        byte[] wrongCount = legacy.clone();
        ByteBuffer.wrap(wrongCount).order(ByteOrder.LITTLE_ENDIAN).putLong(2963, 65); // the first storage's element count
        assertThat(refusal(wrongCount)).contains("legacy storage '1113773376' holds 65 elements but the object declares 64");
        byte[] bigEndian = legacy.clone();
        bigEndian[73] = (byte) 0x89; // sys_info's little_endian: True -> False
        assertThat(refusal(bigEndian)).contains("legacy checkpoint is not little-endian");
    }

    // ---- zip directories that lie

    /** The offset of the central directory record of {@code name}. */
    private static int central(byte[] zip, String name) {
        byte[] n = name.getBytes(StandardCharsets.UTF_8);
        ByteBuffer b = ByteBuffer.wrap(zip).order(ByteOrder.LITTLE_ENDIAN);
        for (int p = zip.length - 46; p >= 0; p--) {
            if (b.getInt(p) == 0x02014b50 && (b.getShort(p + 28) & 0xffff) == n.length
                    && Arrays.equals(Arrays.copyOfRange(zip, p + 46, p + 46 + n.length), n)) return p;
        }
        throw new AssertionError("no directory entry " + name);
    }

    @Test
    void zipEntriesOutsideTheArchiveAreRefused() {
        byte[] zip = zipped(tensorPickle("FloatStorage", 4, 0, new long[] {4}, new long[] {1}));
        byte[] farLocal = zip.clone();
        ByteBuffer.wrap(farLocal).order(ByteOrder.LITTLE_ENDIAN).putInt(central(zip, "archive/data/0") + 42, 0x7ffffff0);
        refuses(farLocal, "zip entry 'archive/data/0' has no local header at offset 2147483632");
        byte[] longData = zip.clone();
        int c = central(zip, "archive/data/0");
        ByteBuffer.wrap(longData).order(ByteOrder.LITTLE_ENDIAN).putInt(c + 20, 1 << 30).putInt(c + 24, 1 << 30);
        refuses(longData, "zip entry 'archive/data/0' data [", "lies outside the archive");
        byte[] farDirectory = zip.clone();
        ByteBuffer.wrap(farDirectory).order(ByteOrder.LITTLE_ENDIAN).putInt(zip.length - 6, 0x7ffffff0);
        refuses(farDirectory, "zip central directory [2147483632");
        byte[] manyEntries = zip.clone();
        ByteBuffer.wrap(manyEntries).order(ByteOrder.LITTLE_ENDIAN).putShort(zip.length - 12, (short) 0xfff0);
        refuses(manyEntries, "zip directory claims 65520 entries");
    }

    @Test
    void duplicateEntryNamesAreRefused() {
        byte[] zip = Pickle.zip(tensorPickle("FloatStorage", 4, 0, new long[] {4}, new long[] {1}), Map.of("0", FOUR_FLOATS, "1", FOUR_FLOATS));
        int c = central(zip, "archive/data/1");
        zip[c + 46 + "archive/data/".length()] = '0';
        refuses(zip, "zip entry 'archive/data/0' appears twice");
    }

    private static byte[] deflatedPickleZip(byte[] pickle) throws Exception {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (ZipOutputStream z = new ZipOutputStream(bytes)) {
            z.putNextEntry(new ZipEntry("archive/data.pkl"));
            z.write(pickle);
            z.closeEntry();
        }
        return bytes.toByteArray();
    }

    @Test
    void zipBombsAreRefusedBeforeOrWhileInflating() throws Exception {
        byte[] pickle = new byte[8 << 20];
        Arrays.fill(pickle, (byte) '(');
        byte[] zip = deflatedPickleZip(pickle);
        assertThat(zip.length).isLessThan(64 << 10);
        int c = central(zip, "archive/data.pkl");
        byte[] claimsHuge = zip.clone();
        ByteBuffer.wrap(claimsHuge).order(ByteOrder.LITTLE_ENDIAN).putInt(c + 24, 0xfffffff0);
        refuses(claimsHuge, "zip entry 'archive/data.pkl' declares 4294967280 inflated bytes from", "(a zip bomb or a corrupt size)");
        byte[] claimsSmall = zip.clone();
        ByteBuffer.wrap(claimsSmall).order(ByteOrder.LITTLE_ENDIAN).putInt(c + 24, 1000);
        refuses(claimsSmall, "zip entry 'archive/data.pkl' inflates beyond its declared 1000 bytes");
        // an honest deflated data.pkl reads
        try (TorchCheckpoint ok = TorchCheckpoint.fromBytes("deflated.pt", deflatedPickleZip(Pickle.proto(2).integer(42).stop()))) {
            assertThat(ok.root()).isEqualTo(42L);
        }
    }

    @Test
    void otherFilesAreNotCheckpoints() {
        refuses(new byte[0], "bad.pt: not a PyTorch checkpoint");
        refuses("{\"a\": 1}".getBytes(StandardCharsets.UTF_8), "not a PyTorch checkpoint");
        refuses(plainZip(), "zip archive without a <name>/data.pkl entry");
    }

    private static byte[] plainZip() {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (ZipOutputStream z = new ZipOutputStream(bytes)) {
            Pickle.stored(z, "readme.txt", "hello".getBytes(StandardCharsets.US_ASCII));
        } catch (java.io.IOException e) {
            throw new AssertionError(e);
        }
        return bytes.toByteArray();
    }

    // ---- nothing left behind

    @Test
    void refusingFilesLeavesNoThreadsAndNoTemporaryFiles() throws Exception {
        Set<Thread> threadsBefore = Thread.getAllStackTraces().keySet();
        List<byte[]> bad = new ArrayList<>();
        byte[] pickle = tensorPickle("FloatStorage", 4, 1, new long[] {4}, new long[] {1});
        bad.add(zipped(pickle));
        bad.add(Arrays.copyOf(zipped(pickle), 100));
        bad.add(deflatedPickleZip(new byte[1 << 16]));
        for (int i = 0; i < bad.size(); i++) {
            Path f = dir.resolve("bad" + i + ".pt");
            Files.write(f, bad.get(i));
            assertThatThrownBy(() -> TorchCheckpoint.open(f).close()).isInstanceOf(HydraException.class).hasMessageStartingWith(f.toString());
            Files.delete(f);
        }
        assertThatThrownBy(() -> TorchCheckpoint.open(dir.resolve("absent.pt"))).isInstanceOf(HydraException.class).hasMessageEndingWith("absent.pt: no such file");
        assertThat(Thread.getAllStackTraces().keySet()).isSubsetOf(threadsBefore);
        try (Stream<Path> left = Files.list(dir)) {
            assertThat(left).isEmpty();
        }
    }
}
