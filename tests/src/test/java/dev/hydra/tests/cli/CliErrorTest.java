package dev.hydra.tests.cli;

import dev.hydra.cli.HydraCli;
import dev.hydra.config.HydraConfig;
import dev.hydra.io.InMemoryTensors;
import dev.hydra.io.SafeTensors;
import dev.hydra.io.SafeTensorsWriter;
import dev.hydra.weights.HydraWeights;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

/** Bad input and bad usage: exit code, and one line on stderr naming the file, tensor, key or option. */
class CliErrorTest {
    private static final String CONFIG = "{\"d_model\": 16, \"d_state\": 4, \"headdim\": 8, \"d_conv\": 3, \"chunk_size\": 4}";
    private static final int B = 1, L = 6, D = 16;

    @TempDir
    Path dir;
    Path weights, config, input, output;

    @BeforeEach
    void files() throws IOException {
        config = Files.writeString(dir.resolve("c.json"), CONFIG);
        weights = dir.resolve("w.safetensors");
        seeded().writeTo(new SafeTensorsWriter(), "").write(weights, false);
        input = dir.resolve("x.safetensors");
        new SafeTensorsWriter().put("input", ramp(B * L * D), B, L, D).write(input, false);
        output = dir.resolve("y.safetensors");
    }

    @Test
    void theFixturesRun() {
        CliRun r = layer();
        assertThat(r.code()).as(r.err()).isZero();
        assertThat(r.err()).isEmpty();
        assertThat(output).exists();
    }

    @Test
    void anyFloatInputDtypeGivesTheSameOutput() {
        assertThat(layer("--precision", "fp64").code()).isZero();
        double[] fromF32 = outputValues();
        float[] u = ramp(B * L * D);
        double[] wide = new double[u.length];
        for (int i = 0; i < u.length; i++) wide[i] = u[i];
        new SafeTensorsWriter().put("input", wide, B, L, D).write(input, true);
        assertThat(layer("--precision", "fp64", "--force").code()).isZero();
        assertThat(outputValues()).containsExactly(fromF32);
    }

    private double[] outputValues() {
        try (SafeTensors y = SafeTensors.open(output)) {
            return y.doubles("output");
        }
    }

    @Test
    void missingWeightsFile() {
        weights = dir.resolve("absent.safetensors");
        assertOneLineError(layer(), 1, "hydra: " + weights + ": no such file");
    }

    @Test
    void missingInputTensor() {
        new SafeTensorsWriter().put("inputs", ramp(B * L * D), B, L, D).write(input, true);
        assertOneLineError(layer(), 1, "hydra: " + input + ": no tensor 'input'");
    }

    @Test
    void inputOfTheWrongWidth() {
        new SafeTensorsWriter().put("input", ramp(B * L * 8), B, L, 8).write(input, true);
        assertOneLineError(layer(), 1, "hydra: " + input + ": tensor 'input' has shape (1, 6, 8), expected (B, L, 16)");
    }

    @Test
    void weightsWithAWrongShapeTensor() {
        seeded().put("D", new float[3], 3).writeTo(new SafeTensorsWriter(), "").write(weights, true);
        assertOneLineError(layer(), 1, "hydra: " + weights + ": tensor 'D' has shape (3), expected (4)");
    }

    @Test
    void unknownConfigKey() throws IOException {
        Files.writeString(config, CONFIG.replace("}", ", \"batch\": 2}"));
        assertOneLineError(layer(), 1, "hydra: " + config + ": unknown config key 'batch'");
    }

    @Test
    void weightsWithoutConfigMetadataNeedAConfigFile() {
        CliRun r = CliRun.of("layer", "--weights", weights.toString(), "--input", input.toString(), "--output", output.toString());
        assertOneLineError(r, 1, "hydra: " + weights + ": no 'config' metadata; give the layer's config with --config");
    }

    @Test
    void nanInTheInput() {
        float[] u = ramp(B * L * D);
        u[3 * D + 5] = Float.NaN;
        new SafeTensorsWriter().put("input", u, B, L, D).write(input, true);
        assertOneLineError(layer(), 1, "hydra: " + input + ": tensor 'input': element (0, 3, 5) is NaN; inputs must be finite");
        assertThat(output).doesNotExist();
    }

    @Test
    void anExistingOutputIsKeptWithoutForceAndReplacedWithIt() throws IOException {
        Files.writeString(output, "keep me");
        assertOneLineError(layer(), 1, "hydra: " + output + ": already exists (use --force to overwrite)");
        assertThat(output).hasContent("keep me");

        CliRun r = layer("--force");
        assertThat(r.code()).as(r.err()).isZero();
        try (SafeTensors y = SafeTensors.open(output)) {
            assertThat(y.info("output").shape()).containsExactly(B, L, D);
        }
    }

    @Test
    void badPrecisionIsAUsageError() {
        CliRun r = layer("--precision", "fp16");
        assertThat(r.code()).isEqualTo(2);
        assertThat(r.errLines()).hasSize(1);
        assertThat(r.err()).startsWith("hydra: ").contains("--precision", "fp16", "fp32, fp64");
        assertThat(output).doesNotExist();
    }

    @Test
    void bf16OnACpuBackendIsRefusedInOneLine() {
        for (String backend : new String[] {"cpu", "scalar"}) {
            CliRun r = layer("--precision", "bf16", "--backend", backend);
            assertThat(r.code()).isEqualTo(1);
            assertThat(r.errLines()).hasSize(1);
            assertThat(r.err()).startsWith("hydra: bf16 runs only on the gpu backend").contains("--backend " + backend);
            assertThat(output).doesNotExist();
        }
    }

    @Test
    void aMissingRequiredOptionIsAUsageError() {
        CliRun r = CliRun.of("matrix", "--weights", weights.toString(), "--output", output.toString());
        assertThat(r.code()).isEqualTo(2);
        assertThat(r.errLines()).hasSize(1);
        assertThat(r.err()).startsWith("hydra: ").contains("--input");
    }

    @Test
    void unknownBackendNamesItself() {
        assertOneLineError(layer("--backend", "tpu"), 1, "hydra: backend 'tpu' is not available in this build");
    }

    @Test
    void verboseAddsTheTrace() {
        weights = dir.resolve("absent.safetensors");
        CliRun r = layer("--verbose");
        assertThat(r.code()).isEqualTo(1);
        assertThat(r.err()).contains("dev.hydra.HydraException", "\tat ").contains("hydra: " + weights + ": no such file");
    }

    @Test
    void helpDocumentsTheExitCodes() {
        for (String cmd : new String[] {"layer", "matrix", "demo"}) {
            CliRun r = CliRun.of(cmd, "--help");
            assertThat(r.code()).isZero();
            assertThat(r.out()).contains("Exit codes:", "0", "1", "2");
        }
    }

    /** picocli formats each description with String.format and, where that fails, prints a warning to System.err. */
    @Test
    void everyCommandsHelpFormatsEveryDescription() {
        PrintStream stderr = System.err;
        ByteArrayOutputStream warnings = new ByteArrayOutputStream();
        System.setErr(new PrintStream(warnings, true, StandardCharsets.UTF_8));
        try {
            for (String cmd : new CommandLine(new HydraCli()).getSubcommands().keySet()) {
                CliRun r = CliRun.of(cmd, "--help");
                assertThat(r.code()).as(cmd).isZero();
                assertThat(r.out()).as(cmd).contains("Usage: hydra " + cmd);
            }
        } finally {
            System.setErr(stderr);
        }
        assertThat(warnings.toString(StandardCharsets.UTF_8)).isEmpty();
    }

    private CliRun layer(String... more) {
        String[] base = {"layer", "--weights", weights.toString(), "--config", config.toString(),
                "--input", input.toString(), "--output", output.toString()};
        String[] args = new String[base.length + more.length];
        System.arraycopy(base, 0, args, 0, base.length);
        System.arraycopy(more, 0, args, base.length, more.length);
        return CliRun.of(args);
    }

    private static void assertOneLineError(CliRun r, int code, String prefix) {
        assertThat(r.code()).as(r.err()).isEqualTo(code);
        assertThat(r.errLines()).as(r.err()).hasSize(1);
        assertThat(r.err()).startsWith(prefix);
    }

    private static InMemoryTensors seeded() {
        return HydraWeights.seeded(HydraConfig.parse(CONFIG, "test", java.util.Set.of()), 7);
    }

    private static float[] ramp(int n) {
        float[] u = new float[n];
        for (int i = 0; i < n; i++) u[i] = (float) Math.sin(0.37 * i);
        return u;
    }
}
