package dev.hydra.tests.harden;

import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.hydra.HydraException;
import dev.hydra.io.TensorSource;
import dev.hydra.io.torch.PickleGlobal;
import dev.hydra.io.torch.TorchCheckpoint;
import dev.hydra.io.torch.TorchTensor;

import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.stream.Stream;
import java.util.zip.CRC32;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Coverage-guided fuzzing of the PyTorch checkpoint reader (zip directory, restricted unpickler, tensor
 * views, legacy format). The rule: any byte string either opens (and then every tensor reads back in its
 * dtype family and the state-dict view works), or is refused with a one-line {@link HydraException}; any
 * other throwable, a hang or a crash is a finding. Under plain {@code mvn test} this replays the committed
 * corpus in {@code TorchCheckpointFuzzTestInputs/} (seeds written by Python's own pickler); with
 * {@code JAZZER_FUZZ=1} it fuzzes (see docs/harden.md).
 */
class TorchCheckpointFuzzTest {
    /** An input starting with this is a bare pickle, fuzzed as the data.pkl of a zip with storages "0".."3" of 64 bytes each. */
    static final byte[] PICKLE_ONLY = "PKL:".getBytes(StandardCharsets.US_ASCII);

    @FuzzTest(maxDuration = "60s")
    void torchCheckpoint(byte[] bytes) {
        try (TorchCheckpoint c = TorchCheckpoint.fromBytes("fuzz.pt", image(bytes))) {
            readEverything(c);
        } catch (HydraException e) {
            OneLine.check(e);
        }
    }

    static byte[] image(byte[] bytes) {
        if (!Arrays.equals(bytes, 0, Math.min(bytes.length, PICKLE_ONLY.length), PICKLE_ONLY, 0, PICKLE_ONLY.length)) return bytes;
        ByteArrayOutputStream zip = new ByteArrayOutputStream();
        try (ZipOutputStream z = new ZipOutputStream(zip)) {
            z.setMethod(ZipOutputStream.STORED);
            stored(z, "archive/data.pkl", Arrays.copyOfRange(bytes, PICKLE_ONLY.length, bytes.length));
            for (int k = 0; k < 4; k++) stored(z, "archive/data/" + k, new byte[64]);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return zip.toByteArray();
    }

    private static void stored(ZipOutputStream z, String name, byte[] data) throws IOException {
        ZipEntry e = new ZipEntry(name);
        e.setSize(data.length);
        e.setCompressedSize(data.length);
        CRC32 crc = new CRC32();
        crc.update(data);
        e.setCrc(crc.getValue());
        z.putNextEntry(e);
        z.write(data);
        z.closeEntry();
    }

    static void readEverything(TorchCheckpoint c) {
        for (TorchTensor t : c.allTensors().values()) {
            if (t.dtype().isFloat()) {
                assertThat(t.floats()).hasSize((int) t.elementCount());
                t.doubles();
            } else {
                t.longs();
            }
        }
        if (c.root() instanceof Map<?, ?>) {
            TensorSource sd = c.stateDict();
            for (String name : sd.names()) if (sd.info(name).dtype().isFloat()) sd.floats(name);
        }
    }

    /** The seeds that open; "pickle_*" seeds are bare pickles (see {@link #PICKLE_ONLY}). */
    static final Set<String> VALID_SEEDS = Set.of("state_dict_p2", "state_dict_p4_deflated", "composer_like_p5", "legacy",
            "os_system_reduce", "text_protocol_0", "pickle_state_dict_p2", "pickle_everything_p4", "pickle_text_p0");

    private static Path seed(String name) throws Exception {
        return Path.of(TorchCheckpointFuzzTest.class.getResource("TorchCheckpointFuzzTestInputs/torchCheckpoint/" + name).toURI());
    }

    /** The memory-mapped path gives the same verdict as the in-memory one on every corpus file, and only the valid seeds open. */
    @Test
    void openingTheCorpusFromDiskAgreesWithFromBytes() throws Exception {
        List<Path> files;
        try (Stream<Path> s = Files.list(seed(""))) {
            files = s.sorted().toList();
        }
        assertThat(files).hasSizeGreaterThanOrEqualTo(13);
        for (Path f : files) {
            String name = f.getFileName().toString();
            String fromBytes = verdict(() -> TorchCheckpoint.fromBytes(f.toString(), image(Files.readAllBytes(f))));
            if (!name.startsWith("pickle_")) assertThat(verdict(() -> TorchCheckpoint.open(f))).as(name).isEqualTo(fromBytes);
            assertThat(fromBytes.startsWith("opens with")).as(name + ": " + fromBytes).isEqualTo(VALID_SEEDS.contains(name));
        }
    }

    /** What Python's pickler wrote (protocols 0, 2, 4, 5; zip and legacy) reads back as the values it pickled. */
    @Test
    void seedsWrittenByPythonReadBackAsPickled() throws Exception {
        for (String name : new String[] {"state_dict_p2", "state_dict_p4_deflated", "composer_like_p5", "legacy"}) {
            try (TorchCheckpoint c = TorchCheckpoint.open(seed(name))) {
                Map<?, ?> sd = name.equals("state_dict_p2") || name.equals("legacy") ? (Map<?, ?>) c.root()
                        : (Map<?, ?>) c.at("state", "model").orElseThrow();
                TensorSource t = c.tensors(sd, "model");
                assertThat(t.names()).as(name).containsExactly("w", "w_t", "b", "step");
                assertThat(t.floats("w")).containsExactly(0, 1, 2, 3, 4, 5);
                assertThat(t.floats("w_t")).containsExactly(0, 3, 1, 4, 2, 5);
                assertThat(t.doubles("b")).containsExactly(2, -3, 0);
                assertThat(((TorchTensor) sd.get("step")).longs()).containsExactly(7);
            }
        }
        try (TorchCheckpoint c = TorchCheckpoint.open(seed("composer_like_p5"))) {
            assertThat(c.at("state", "timestamp")).get().isInstanceOfSatisfying(PickleGlobal.class, g -> {
                assertThat(g.qualifiedName()).isEqualTo("composer.core.time.Timestamp");
                assertThat(g.state()).isEqualTo(Map.of("_epoch", 3L, "_batch", 10L));
            });
            assertThat(c.at("state", "integrations", "huggingface", "model", "config", "content", "id2label")).contains(Map.of(0L, "A"));
        }
        try (TorchCheckpoint c = TorchCheckpoint.open(seed("text_protocol_0"))) {
            assertThat(c.at("big")).contains(BigInteger.TWO.pow(70));
            assertThat(c.at("a")).get().asList().containsExactly(1L, 2.5, "x", null, true, List.of(1L));
        }
        try (TorchCheckpoint c = TorchCheckpoint.open(seed("state_dict_p4_deflated"))) {
            assertThat(c.at("state", "n")).get().asList().hasSize(9).startsWith(1L, 2.5, null, true)
                    .contains("é", List.of(1L, 2L), List.of(5L));
        }
    }

    private static String verdict(Callable<TorchCheckpoint> open) throws Exception {
        try (TorchCheckpoint c = open.call()) {
            readEverything(c);
            return "opens with " + c.allTensors().keySet();
        } catch (HydraException e) {
            OneLine.check(e);
            return e.getMessage().replaceFirst("^[^:]*: ", "");
        }
    }
}
