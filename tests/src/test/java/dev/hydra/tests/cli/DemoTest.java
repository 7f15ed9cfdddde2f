package dev.hydra.tests.cli;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.imageio.ImageIO;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

/** {@code hydra demo} on a short batch: checks pass, throughput is printed, the heatmap is a PNG. */
class DemoTest {
    @TempDir
    Path dir;

    @Test
    void demoPassesItsChecksAndWritesAPng() throws IOException {
        Path png = dir.resolve("demo.png");
        CliRun r = CliRun.of("demo", "--batch", "1", "--seqlen", "48", "--check-len", "40", "--runs", "1", "--warm-up", "0.2",
                "--png", png.toString());
        assertThat(r.code()).as(r.out() + r.err()).isZero();
        assertThat(r.out()).containsPattern("throughput: fp32, backend \\w+, batch 1 x 48 tokens: \\d+ tokens/s \\(median of 1 runs: [0-9.]+ s per batch; after [1-9]\\d* warm-up runs\\)")
                .contains("(recurrence) on 1 x 40 tokens", "(dense) on 1 x 40 tokens", "all checks passed")
                .doesNotContain("FAIL");
        assertThat(r.out().split("PASS", -1)).hasSize(3);
        BufferedImage img = ImageIO.read(png.toFile());
        assertThat(img).isNotNull();
        assertThat(img.getWidth()).isGreaterThan(400);
        assertThat(img.getHeight()).isGreaterThan(400);
    }

    @Test
    void demoKeepsAnExistingPngWithoutForce() throws IOException {
        Path png = Files.writeString(dir.resolve("demo.png"), "keep me");
        CliRun r = CliRun.of("demo", "--png", png.toString());
        assertThat(r.code()).isEqualTo(1);
        assertThat(r.err()).isEqualTo("hydra: " + png + ": already exists (use --force to overwrite)\n");
        assertThat(png).hasContent("keep me");
    }

    @Test
    void demoRefusesANegativeWarmUp() {
        CliRun r = CliRun.of("demo", "--warm-up", "-1", "--png", dir.resolve("x.png").toString());
        assertThat(r.code()).isEqualTo(2);
        assertThat(r.err()).startsWith("hydra: --warm-up must be between 0 and 600 seconds");
    }

    @Test
    void demoRefusesACheckLongerThanTheBatch() {
        CliRun r = CliRun.of("demo", "--seqlen", "16", "--check-len", "32", "--png", dir.resolve("x.png").toString());
        assertThat(r.code()).isEqualTo(2);
        assertThat(r.err()).startsWith("hydra: --check-len must be in [1, --seqlen]");
    }
}
