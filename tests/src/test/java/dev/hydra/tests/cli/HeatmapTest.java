package dev.hydra.tests.cli;

import dev.hydra.HydraException;
import dev.hydra.cli.plot.Heatmap;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.imageio.ImageIO;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Heatmap colours by sign and magnitude, its input checks and its PNG output. */
class HeatmapTest {
    @TempDir
    Path dir;

    @Test
    void positiveIsRedNegativeIsBlueZeroIsWhite() {
        // one row: +1, -1, 0, +1e-6 (below the colour scale's floor: near white)
        BufferedImage img = Heatmap.render(new double[] {1, -1, 0, 1e-6}, 1, 4, "t");
        int[] pos = rgb(centre(img, 0)), neg = rgb(centre(img, 1)), zero = rgb(centre(img, 2)), tiny = rgb(centre(img, 3));
        assertThat(pos[0]).isGreaterThan(pos[2] + 50);
        assertThat(neg[2]).isGreaterThan(neg[0] + 50);
        assertThat(zero).containsExactly(247, 247, 247);
        assertThat(tiny[0]).isGreaterThan(240);
        assertThat(tiny[2]).isGreaterThan(240);
    }

    @Test
    void refusesAMatrixOfTheWrongSizeOrNonFiniteValues() {
        assertThatThrownBy(() -> Heatmap.render(new double[5], 2, 3, "t")).isInstanceOf(HydraException.class)
                .hasMessage("heatmap: 5 values do not fill 2 x 3");
        assertThatThrownBy(() -> Heatmap.render(new double[] {1, Double.NaN}, 1, 2, "t")).isInstanceOf(HydraException.class)
                .hasMessage("heatmap: the matrix holds NaN");
    }

    @Test
    void writesAPngAndKeepsAnExistingOneUnlessForced() throws IOException {
        Path png = dir.resolve("m.png");
        BufferedImage img = Heatmap.render(new double[] {1, 2, 3, 4}, 2, 2, "two\nlines");
        Heatmap.write(img, png, false);
        assertThat(ImageIO.read(png.toFile()).getWidth()).isEqualTo(img.getWidth());
        assertThatThrownBy(() -> Heatmap.write(img, png, false)).isInstanceOf(HydraException.class)
                .hasMessage(png + ": already exists (use --force to overwrite)");
        BufferedImage wide = Heatmap.render(new double[] {1, 2, 3, 4}, 1, 4, "one row");
        Heatmap.write(wide, png, true);
        assertThat(ImageIO.read(png.toFile()).getHeight()).isEqualTo(wide.getHeight()).isNotEqualTo(img.getHeight());
    }

    /** The colour at the centre of cell (0, col) of a one-row heatmap: found as the col-th run of plot pixels. */
    private static int centre(BufferedImage img, int col) {
        // the plot is square-celled and 512 px wide for one row of 4: cells of 128 px, plot top at the first
        // row whose pixel at the plot's centre differs from the white margin
        int cell = 128, left = 64;
        int x = left + col * cell + cell / 2;
        for (int y = 0; y < img.getHeight(); y++) {
            int c = img.getRGB(left + cell / 2, y) & 0xffffff;
            if (c != 0xffffff && c != 0 && Math.abs(((c >> 16) & 0xff) - (c & 0xff)) > 50) return img.getRGB(x, y + cell / 2);
        }
        throw new AssertionError("no plot found");
    }

    private static int[] rgb(int c) {
        return new int[] {(c >> 16) & 0xff, (c >> 8) & 0xff, c & 0xff};
    }
}
