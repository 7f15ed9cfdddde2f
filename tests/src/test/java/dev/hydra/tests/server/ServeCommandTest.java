package dev.hydra.tests.server;

import dev.hydra.cli.HydraCli;
import dev.hydra.tests.bert.TinyBertDir;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@code hydra serve} as a process: SIGTERM answers the queued requests (held by a 30 s batch wait, which the
 * stop cuts short) and exits 0; bad options are one line.
 */
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class ServeCommandTest {
    @TempDir Path tmp;

    @Test
    void sigtermAnswersQueuedRequestsAndExitsZero() throws Exception {
        Path model = TinyBertDir.create(tmp.resolve("tiny"), true);
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        Path stdout = tmp.resolve("stdout.txt");
        Process p = new ProcessBuilder(java, "--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED", "-Xmx1g",
                "-cp", System.getProperty("java.class.path"), HydraCli.class.getName(),
                "serve", "--model", model.toString(), "--port", "0", "--max-batch", "64", "--max-wait-ms", "30000")
                .redirectOutput(stdout.toFile()).redirectError(tmp.resolve("stderr.txt").toFile()).start();
        try {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(90);
            while (!Files.readString(stdout).contains("hydra serve: ready")) {
                assertThat(p.isAlive()).as("the server died: " + Files.readString(tmp.resolve("stderr.txt"))).isTrue();
                assertThat(System.nanoTime()).as("the server never got ready").isLessThan(deadline);
                Thread.sleep(20);
            }
            List<String> lines = Files.readAllLines(stdout);
            Matcher m = Pattern.compile("hydra serve: listening on http://127\\.0\\.0\\.1:(\\d+) ").matcher(lines.getFirst());
            assertThat(m.find()).as(lines.getFirst()).isTrue();
            assertThat(lines.get(1)).startsWith("hydra serve: ready, model 'tiny'");
            Http http = new Http(Integer.parseInt(m.group(1)), null);
            assertThat(http.get("/health").status()).isEqualTo(200);

            List<CompletableFuture<Http.Reply>> queued = new ArrayList<>();
            for (String t : EmbeddingServerTest.TEXTS) queued.add(http.postAsync("/v1/embeddings", Http.json(Map.of("input", t))));
            while (EmbeddingServerTest.value(http.get("/metrics").body(), "hydra_queue_depth") < queued.size()) {
                assertThat(System.nanoTime()).as("the requests never queued").isLessThan(deadline);
                Thread.sleep(10);
            }
            p.destroy(); // SIGTERM
            for (CompletableFuture<Http.Reply> f : queued) {
                Http.Reply r = f.get(60, TimeUnit.SECONDS);
                assertThat(r.status()).as(r.body()).isEqualTo(200);
                assertThat(r.json().get("data").get(0).get("embedding")).hasSize(16);
            }
            assertThat(p.waitFor(60, TimeUnit.SECONDS)).as("the server exits").isTrue();
            assertThat(p.exitValue()).isZero();
            assertThat(Files.readAllLines(stdout)).last().isEqualTo("hydra serve: stopped");
        } finally {
            p.destroyForcibly();
        }
    }

    @Test
    void badOptionsAreOneLineErrors() {
        Path model = TinyBertDir.create(tmp.resolve("tiny"), true);
        assertThat(error(1, "serve", "--model", tmp.resolve("missing").toString(), "--port", "0")).contains("no such model directory");
        assertThat(error(1, "serve", "--model", model.toString(), "--port", "0", "--max-batch", "0")).contains("--max-batch must be positive");
        assertThat(error(1, "serve", "--model", model.toString(), "--port", "70000")).contains("--port must be in [0, 65535]");
        assertThat(error(1, "serve", "--model", model.toString(), "--port", "0", "--pool", "max")).contains("--pool must be cls or mean");
        assertThat(error(2, "serve", "--port", "0")).contains("Missing required option: '--model=DIR'");
        // the backend is made for the precision, so bf16 on the CPU is the backend's own refusal
        assertThat(error(1, "serve", "--model", model.toString(), "--port", "0", "--precision", "bf16")).contains("bf16 runs only on the gpu backend");
    }

    private static String error(int code, String... args) {
        StringWriter out = new StringWriter(), err = new StringWriter();
        assertThat(HydraCli.run(new PrintWriter(out), new PrintWriter(err), args)).as(err.toString()).isEqualTo(code);
        assertThat(err.toString()).startsWith("hydra: ").hasLineCount(1);
        return err.toString();
    }
}
