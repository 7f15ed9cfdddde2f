package dev.hydra.cli.plot;

import dev.hydra.HydraException;
import dev.hydra.io.AtomicFiles;

import javax.imageio.ImageIO;
import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.awt.FontMetrics;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.geom.AffineTransform;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.file.Path;

/**
 * A signed matrix as a PNG heatmap (pure JDK: java.desktop's java.awt.image and javax.imageio; runs
 * headless). Values map to a diverging blue-white-red scale on a signed log scale spanning
 * {@value #DECADES} decades below the largest magnitude, so that small entries far from the diagonal
 * stay visible beside large ones; a colour bar with labelled ticks shows the scale.
 */
public final class Heatmap {
    /** Decades of magnitude the colour scale spans; smaller magnitudes all render as near-white. */
    public static final int DECADES = 4;

    static {
        System.setProperty("java.awt.headless", "true");
    }

    // RdBu anchors at scale positions -1, -0.5, 0, 0.5, 1
    private static final int[][] ANCHORS = {{5, 48, 97}, {67, 147, 195}, {247, 247, 247}, {214, 96, 77}, {103, 0, 31}};
    private static final int TARGET_PIXELS = 512, MARGIN = 16, BAR = 18, LINE = 16;

    private Heatmap() {}

    /**
     * Renders {@code matrix} (rows x cols, row-major) with row 0 at the top. {@code title} may hold
     * several lines separated by '\n'.
     */
    public static BufferedImage render(double[] matrix, int rows, int cols, String title) {
        if (rows < 1 || cols < 1 || (long) rows * cols != matrix.length)
            throw new HydraException("heatmap: " + matrix.length + " values do not fill " + rows + " x " + cols);
        double amax = 0;
        for (double v : matrix) {
            if (!Double.isFinite(v)) throw new HydraException("heatmap: the matrix holds " + v);
            amax = Math.max(amax, Math.abs(v));
        }
        SignedLogScale scale = new SignedLogScale(amax == 0 ? 1 : amax);
        String[] titleLines = title.split("\n");
        int cell = Math.max(1, Math.round((float) TARGET_PIXELS / Math.max(rows, cols)));
        int plotW = cell * cols, plotH = cell * rows;
        int left = 64, top = MARGIN + LINE * titleLines.length + 8;
        int width = left + plotW + 24 + BAR + 86, height = top + plotH + 48;

        BufferedImage img = new BufferedImage(width, height, BufferedImage.TYPE_INT_RGB);
        for (int i = 0; i < rows; i++)
            for (int j = 0; j < cols; j++) {
                int rgb = colour(scale.position(matrix[i * cols + j]));
                for (int y = 0; y < cell; y++)
                    for (int x = 0; x < cell; x++) img.setRGB(left + j * cell + x, top + i * cell + y, rgb);
            }

        Graphics2D g = img.createGraphics();
        try {
            g.setRenderingHint(RenderingHints.KEY_TEXT_ANTIALIASING, RenderingHints.VALUE_TEXT_ANTIALIAS_ON);
            g.setRenderingHint(RenderingHints.KEY_ANTIALIASING, RenderingHints.VALUE_ANTIALIAS_ON);
            g.setColor(Color.WHITE);
            g.fillRect(0, 0, width, top);
            g.fillRect(0, 0, left, height);
            g.fillRect(0, top + plotH, width, height - top - plotH);
            g.fillRect(left + plotW, 0, width - left - plotW, height);
            g.setColor(Color.BLACK);
            g.setFont(new Font(Font.SANS_SERIF, Font.BOLD, 13));
            for (int k = 0; k < titleLines.length; k++) {
                if (k == 1) g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 12));
                g.drawString(titleLines[k], MARGIN, MARGIN + 12 + LINE * k);
            }
            g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 11));
            g.setStroke(new BasicStroke(1));
            g.drawRect(left - 1, top - 1, plotW + 1, plotH + 1);
            axes(g, left, top, plotW, plotH, rows, cols, cell);
            colourBar(g, scale, left + plotW + 24, top, plotH);
        } finally {
            g.dispose();
        }
        return img;
    }

    /** Writes {@code image} as PNG, atomically; an existing file is replaced only when {@code force}. */
    public static void write(BufferedImage image, Path path, boolean force) {
        AtomicFiles.refuseExisting(path, force);
        ByteArrayOutputStream png = new ByteArrayOutputStream();
        try {
            ImageIO.write(image, "png", png);
        } catch (IOException e) {
            throw new HydraException(path + ": cannot encode PNG (" + e.getMessage() + ")");
        }
        AtomicFiles.write(path, png.toByteArray(), force);
    }

    private static void axes(Graphics2D g, int left, int top, int plotW, int plotH, int rows, int cols, int cell) {
        FontMetrics fm = g.getFontMetrics();
        for (int j : new int[] {0, cols / 2, cols - 1}) {
            String s = Integer.toString(j);
            int x = left + j * cell + cell / 2;
            g.drawLine(x, top + plotH + 1, x, top + plotH + 4);
            g.drawString(s, x - fm.stringWidth(s) / 2, top + plotH + 16);
        }
        for (int i : new int[] {0, rows / 2, rows - 1}) {
            String s = Integer.toString(i);
            int y = top + i * cell + cell / 2;
            g.drawLine(left - 5, y, left - 2, y);
            g.drawString(s, left - 8 - fm.stringWidth(s), y + fm.getAscent() / 2 - 1);
        }
        String colLabel = "column j";
        g.drawString(colLabel, left + plotW / 2 - fm.stringWidth(colLabel) / 2, top + plotH + 34);
        AffineTransform saved = g.getTransform();
        g.rotate(-Math.PI / 2);
        String rowLabel = "row i";
        g.drawString(rowLabel, -(top + plotH / 2 + fm.stringWidth(rowLabel) / 2), left - 36);
        g.setTransform(saved);
    }

    private static void colourBar(Graphics2D g, SignedLogScale scale, int x, int top, int h) {
        for (int y = 0; y < h; y++) {
            g.setColor(new Color(colour(1 - 2.0 * y / (h - 1))));
            g.drawLine(x, top + y, x + BAR - 1, top + y);
        }
        g.setColor(Color.BLACK);
        g.drawRect(x - 1, top - 1, BAR + 1, h + 1);
        FontMetrics fm = g.getFontMetrics();
        for (double v : scale.ticks()) {
            int y = top + (int) Math.round((1 - scale.position(v)) / 2 * (h - 1));
            g.drawLine(x + BAR, y, x + BAR + 3, y);
            g.drawString(v == 0 ? "0" : String.format("%+.1e", v), x + BAR + 6, y + fm.getAscent() / 2 - 1);
        }
    }

    /** The 0xRRGGBB colour of a scale position in [-1, 1]: blue below zero, white at zero, red above. */
    public static int colour(double p) {
        double t = (Math.max(-1, Math.min(1, p)) + 1) * 2; // 0..4 over the anchors
        int k = Math.min(3, (int) t);
        double f = t - k;
        int rgb = 0;
        for (int c = 0; c < 3; c++) {
            int v = (int) Math.round(ANCHORS[k][c] + f * (ANCHORS[k + 1][c] - ANCHORS[k][c]));
            rgb = rgb << 8 | v;
        }
        return rgb;
    }

    /**
     * sign(v) log10(1 + |v| / floor) / log10(1 + max / floor), floor = max 10^-DECADES: linear near zero,
     * logarithmic above the floor, and +-1 at the largest magnitude.
     */
    record SignedLogScale(double max) {
        double floor() {
            return max * Math.pow(10, -DECADES);
        }

        double position(double v) {
            return Math.signum(v) * Math.log10(1 + Math.abs(v) / floor()) / Math.log10(1 + max / floor());
        }

        /** 0 and +-max, +-max/10, ... down to the floor. */
        double[] ticks() {
            double[] t = new double[2 * DECADES + 1];
            for (int d = 0; d < DECADES; d++) {
                t[2 * d] = max * Math.pow(10, -d);
                t[2 * d + 1] = -t[2 * d];
            }
            return t;
        }
    }
}
