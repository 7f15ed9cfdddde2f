package dev.hydra.runtime;

import dev.hydra.HydraException;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/** The CPU provider selection: the Vector API path is refused where it would be slower than the scalar kernels, and stops on a setting it cannot read. */
class BackendsTest {

    @Test
    void vectorPathIsRefusedWithoutAVectorShapeOrWithoutC2() {
        assertThat(Backends.vectorRefusal(512, false, true, 4)).isNull();
        assertThat(Backends.vectorRefusal(128, false, false, 1)).as("C2 only (-XX:-TieredCompilation)").isNull();
        assertThat(Backends.vectorRefusal(64, false, true, 4)).contains("64 bits");
        assertThat(Backends.vectorRefusal(0, false, true, 4)).contains("0 bits");
        assertThat(Backends.vectorRefusal(256, true, true, 4)).contains("-Xint");
        assertThat(Backends.vectorRefusal(256, false, true, 1)).contains("-XX:TieredStopAtLevel=1");
        assertThat(Backends.vectorRefusal(256, false, true, 3)).contains("-XX:TieredStopAtLevel=3");
    }

    @Test
    void aJvmWithoutC2GetsTheScalarKernelsAndOneLineSayingWhy() throws IOException, InterruptedException {
        String cp = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
        Path java = Path.of(System.getProperty("java.home"), "bin", "java");
        for (String flag : List.of("-XX:TieredStopAtLevel=1", "-Xint")) {
            Process p = new ProcessBuilder(java.toString(), flag, "--add-modules", "jdk.incubator.vector", "-cp", cp, PrintCpuBackend.class.getName())
                    .redirectErrorStream(false).start();
            assertThat(p.waitFor(60, TimeUnit.SECONDS)).as("child JVM with %s finished", flag).isTrue();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
            List<String> err = new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8).lines()
                    .filter(l -> !l.contains("incubator")).toList();
            assertThat(out).as("backend with %s", flag).isEqualTo("scalar");
            assertThat(err).as("stderr with %s", flag).hasSize(1);
            assertThat(err.get(0)).startsWith("hydra: using the scalar CPU kernels, the Vector API ones would be slower: ");
        }
    }

    @Test
    void aVectorKernelPropertyThatCannotBeReadIsOneLineErrorNotTheScalarKernels() throws IOException, InterruptedException {
        for (String[] c : new String[][] {
                {"-Dhydra.tests.vectorsize=100", "error: hydra.tests.vectorsize must be 128, 256 or 512, got '100'"},
                {"-Dhydra.vector.spinMicros=abc", "error: -Dhydra.vector.spinMicros=abc: must be a whole number from 0 to 1000000"},
                {"-Dhydra.vector.inlineWork=-5", "error: -Dhydra.vector.inlineWork=-5: must be a whole number from 0 to " + Long.MAX_VALUE}}) {
            Process p = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(), c[0],
                    "--add-modules", "jdk.incubator.vector", "-cp", System.getProperty("surefire.test.class.path", System.getProperty("java.class.path")),
                    PrintCpuBackend.class.getName()).start();
            assertThat(p.waitFor(60, TimeUnit.SECONDS)).as("child JVM with %s finished", c[0]).isTrue();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
            List<String> err = new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8).lines()
                    .filter(l -> !l.contains("incubator")).toList();
            assertThat(out).as("with %s", c[0]).isEqualTo(c[1]);
            assertThat(err).as("stderr with %s", c[0]).isEmpty();
        }
    }

    /** Child JVM entry point: prints the name of {@link Backends#cpu()}, or "error: " and the one-line error. */
    public static final class PrintCpuBackend {
        public static void main(String[] args) {
            try {
                System.out.println(Backends.cpu(1).name());
            } catch (HydraException e) {
                System.out.println("error: " + e.getMessage());
            }
        }
    }
}
