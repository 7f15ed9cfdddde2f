package dev.hydra.tests.harden;

import dev.hydra.HydraException;
import dev.hydra.io.SafeTensors;
import dev.hydra.io.SafeTensorsWriter;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Nothing lost: {@link SafeTensorsWriter} never replaces a file unasked and never leaves a partial or temp file. */
class AtomicWriteTest {

    @Test
    void refusesToReplaceAnExistingFileUnlessAsked(@TempDir Path dir) throws Exception {
        Path target = dir.resolve("out.safetensors");
        Files.writeString(target, "precious");
        assertThatThrownBy(() -> writer(1).write(target, false)).isInstanceOf(HydraException.class)
                .hasMessage(target + ": already exists (use --force to overwrite)");
        assertThat(Files.readString(target)).isEqualTo("precious");
        writer(2).write(target, true);
        try (SafeTensors st = SafeTensors.open(target)) {
            assertThat(st.floats("x")).containsOnly(2f);
        }
        assertThat(listing(dir)).containsExactly("out.safetensors");
    }

    @Test
    void aWriteThatFailsAtTheRenameLeavesTheTargetAndNoTempFile(@TempDir Path dir) throws Exception {
        Path target = dir.resolve("taken");
        Files.createDirectory(target);
        Files.writeString(target.resolve("inside"), "keep");
        assertThatThrownBy(() -> writer(3).write(target, true)).isInstanceOf(HydraException.class)
                .hasMessageStartingWith(target + ": cannot write");
        assertThat(Files.readString(target.resolve("inside"))).isEqualTo("keep");
        assertThat(listing(dir)).containsExactly("taken");
    }

    /** Eight writers racing on one path: the survivor is one whole file, never a mix or a prefix. */
    @Test
    void racingWritersLeaveExactlyOneWholeFile(@TempDir Path dir) throws Exception {
        Path target = dir.resolve("raced.safetensors");
        ExecutorService pool = Executors.newFixedThreadPool(8);
        try {
            List<Future<?>> done = new ArrayList<>();
            for (int w = 1; w <= 8; w++) {
                int value = w;
                done.add(pool.submit(() -> writer(value).write(target, true)));
            }
            for (Future<?> f : done) f.get();
        } finally {
            pool.shutdownNow();
        }
        try (SafeTensors st = SafeTensors.open(target)) {
            float[] x = st.floats("x");
            assertThat(x).hasSize(100_000).containsOnly(x[0]);
            assertThat(x[0]).isBetween(1f, 8f);
        }
        assertThat(listing(dir)).containsExactly("raced.safetensors");
    }

    private static SafeTensorsWriter writer(float value) {
        float[] x = new float[100_000];
        java.util.Arrays.fill(x, value);
        return new SafeTensorsWriter().put("x", x, x.length);
    }

    private static List<String> listing(Path dir) throws Exception {
        try (Stream<Path> s = Files.list(dir)) {
            return s.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }
}
