package dev.hydra.tests;

import dev.hydra.cli.HydraCli;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.imageio.ImageIO;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

/** {@code hydra plot}: the gallery and a golden layer's matrix become PNGs; bad options are one-line errors. */
class PlotCommandTest {
    static {
        System.setProperty("java.awt.headless", "true");
    }

    @Test
    void galleryRendersFourteenPanelsAndALegend(@TempDir Path dir) throws Exception {
        Path out = dir.resolve("gallery.png");
        assertThat(HydraCli.run("plot", "--gallery", "--panel-px", "64", "-o", out.toString())).isZero();
        BufferedImage img = ImageIO.read(out.toFile());
        assertThat(img.getWidth()).isEqualTo(2 * 24 + 7 * 64 + 6 * 28);
        assertThat(distinctColours(img)).isGreaterThan(50);
    }

    @Test
    void plotsEveryHeadOfAGoldenLayer(@TempDir Path dir) throws Exception {
        Path golden = Golden.path("mixer_pub_quasiseparable_dd.safetensors"), out = dir.resolve("m.png");
        assertThat(HydraCli.run("plot", "--weights", golden.toString(), "--prefix", "param.", "--input", golden.toString(),
                "--batch-index", "1", "--panel-px", "48", "-o", out.toString())).isZero();
        assertThat(ImageIO.read(out.toFile()).getWidth()).isEqualTo(2 * 24 + 4 * 48 + 3 * 28);
    }

    @Test
    void badOptionsAreOneLineErrors(@TempDir Path dir) {
        Path golden = Golden.path("mixer_pub_toeplitz_di.safetensors");
        PrintStream err = System.err;
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        System.setErr(new PrintStream(buf, true));
        try {
            assertThat(HydraCli.run("plot", "--weights", golden.toString(), "--prefix", "param.", "--length", "5",
                    "-o", dir.resolve("x.png").toString())).isEqualTo(1);
        } finally {
            System.setErr(err);
        }
        assertThat(buf.toString().strip()).isEqualTo("hydra: input: the toeplitz data-independent mixer runs at length "
                + "max_seq_len = 24 only, got length 5 (data-dependent variants accept any length)");
    }

    @Test
    void usageErrorsExitTwoAndAnExistingOutputNeedsForce(@TempDir Path dir) throws Exception {
        PrintStream err = System.err;
        System.setErr(new PrintStream(new ByteArrayOutputStream(), true));
        try {
            assertThat(HydraCli.run("plot", "-o", dir.resolve("x.png").toString())).isEqualTo(2);
            Path out = java.nio.file.Files.writeString(dir.resolve("taken.png"), "keep");
            assertThat(HydraCli.run("plot", "--gallery", "--panel-px", "16", "-o", out.toString())).isEqualTo(1);
            assertThat(java.nio.file.Files.readString(out)).isEqualTo("keep");
            assertThat(HydraCli.run("plot", "--gallery", "--panel-px", "16", "--force", "-o", out.toString())).isZero();
            assertThat(ImageIO.read(out.toFile())).isNotNull();
        } finally {
            System.setErr(err);
        }
    }

    private static int distinctColours(BufferedImage img) {
        java.util.Set<Integer> s = new java.util.HashSet<>();
        for (int y = 0; y < img.getHeight(); y += 2)
            for (int x = 0; x < img.getWidth(); x += 2) s.add(img.getRGB(x, y));
        return s.size();
    }
}
