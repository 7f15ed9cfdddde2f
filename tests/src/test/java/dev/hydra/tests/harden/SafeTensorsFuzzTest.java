package dev.hydra.tests.harden;

import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.hydra.HydraException;
import dev.hydra.config.HydraConfig;
import dev.hydra.io.SafeTensors;
import dev.hydra.io.TensorInfo;
import dev.hydra.layer.HydraLayer;
import dev.hydra.reference.ReferenceHydra;
import dev.hydra.runtime.Backends;
import dev.hydra.weights.HydraWeights;
import dev.hydra.weights.Precision;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * Coverage-guided fuzzing of the safetensors reader and of the weight loader on top of it. The rule:
 * any byte string either opens (and then every tensor reads back, and the layer loads or is refused),
 * or is refused with a one-line {@link HydraException}; any other throwable is a finding. Under plain
 * {@code mvn test} this replays the committed corpus in {@code SafeTensorsFuzzTestInputs/}; with
 * {@code JAZZER_FUZZ=1} it fuzzes (see docs/harden.md).
 */
class SafeTensorsFuzzTest {
    /** The config that weight files without a {@code config} metadata entry are loaded with. */
    static final HydraConfig TINY = new HydraConfig(2, 2, 3, 1, 1, 1, 0.0, Double.POSITIVE_INFINITY, false, false, true, 4);

    @FuzzTest(maxDuration = "60s")
    void safetensors(byte[] bytes) {
        try (SafeTensors st = SafeTensors.fromBytes("fuzz.safetensors", bytes)) {
            readEverything(st);
            loadLayer(st);
        } catch (HydraException e) {
            OneLine.check(e);
        }
    }

    /** The well-formed files of the seed corpus; every other seed (and finding) is malformed. */
    static final Set<String> VALID_SEEDS = Set.of("tiny_layer_f32", "tiny_layer_f64_with_config", "optional_params_bf16",
            "ints_and_empty", "empty_header", "metadata_only");

    /** The memory-mapped path gives the same verdict as the in-memory one on every corpus file, and only the valid seeds open. */
    @Test
    void openingTheCorpusFromDiskAgreesWithFromBytes() throws Exception {
        Path corpus = Path.of(SafeTensorsFuzzTest.class.getResource("SafeTensorsFuzzTestInputs/safetensors").toURI());
        List<Path> files;
        try (Stream<Path> s = Files.list(corpus)) {
            files = s.sorted().toList();
        }
        assertThat(files).hasSizeGreaterThanOrEqualTo(17);
        for (Path f : files) {
            String name = f.getFileName().toString();
            String fromBytes = verdict(() -> SafeTensors.fromBytes(f.toString(), Files.readAllBytes(f)));
            assertThat(verdict(() -> SafeTensors.open(f))).as(name).isEqualTo(fromBytes);
            assertThat(fromBytes.startsWith("opens with")).as(name + ": " + fromBytes).isEqualTo(VALID_SEEDS.contains(name));
        }
    }

    @Test
    void trailingGarbageAndDuplicateTensorNamesAreRefused() throws Exception {
        for (String file : new String[] {"trailing_garbage", "duplicate_tensor"}) {
            byte[] bytes = SafeTensorsFuzzTest.class.getResourceAsStream("SafeTensorsFuzzTestInputs/safetensors/" + file).readAllBytes();
            assertThatThrownBy(() -> SafeTensors.fromBytes(file, bytes)).isInstanceOf(HydraException.class)
                    .hasMessageStartingWith(file + ": header is not valid JSON (");
        }
    }

    /** The tensor names of a file that opens, or the one-line message that refused it. */
    private static String verdict(Callable<SafeTensors> open) throws Exception {
        try (SafeTensors st = open.call()) {
            readEverything(st);
            return "opens with " + st.names();
        } catch (HydraException e) {
            OneLine.check(e);
            return e.getMessage();
        }
    }

    /** Every tensor of a file that opened must read back in the dtype family it declares. */
    static void readEverything(SafeTensors st) {
        for (String name : st.names()) {
            TensorInfo t = st.info(name);
            if (t.dtype().isFloat()) {
                st.floats(name);
                st.doubles(name);
            } else {
                st.longs(name);
            }
        }
    }

    /**
     * Loads the file as a Hydra layer in both precisions, with the config it carries or {@link #TINY}, and
     * runs it on a (2, 3) input: a finite output, or a refusal (weights so large that the pass overflows).
     */
    static void loadLayer(SafeTensors st) {
        HydraConfig c = st.metadata().containsKey("config")
                ? HydraConfig.fromJson(st.metadataJson("config"), st.source(), Set.of())
                : TINY;
        HydraWeights<float[]> w32 = HydraWeights.load(c, st, "", Precision.FP32);
        HydraWeights<double[]> w64 = HydraWeights.load(c, st, "", Precision.FP64);
        double[] u = new double[2 * 3 * c.dModel()];
        for (int i = 0; i < u.length; i++) u[i] = Math.sin(i);
        try (HydraLayer layer = new HydraLayer(w32, Backends.cpu())) {
            assertThat(Fixture.firstNonFinite(layer.forward(Fixture.floats(u), 2, 3))).isEqualTo(-1);
        }
        assertThat(Fixture.firstNonFinite(new ReferenceHydra(w64).forward(u, 2, 3))).isEqualTo(-1);
    }
}
