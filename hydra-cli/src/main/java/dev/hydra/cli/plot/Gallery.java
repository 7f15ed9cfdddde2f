package dev.hydra.cli.plot;

import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.util.List;

/**
 * Renders L x L matrices as a grid of heatmap panels with a title, a label and the scale under each
 * panel, and a colour-scale legend. Each panel has its own scale (printed under it), so that matrices of
 * very different magnitudes stay readable side by side.
 */
public final class Gallery {
    private Gallery() {}

    /** One panel: an L x L row-major matrix (null leaves an empty cell with only the label). */
    public record Panel(String label, double[] matrix, int len) {}

    private static final int MARGIN = 24, GAP = 28, LABEL = 40, TITLE = 40, LEGEND = 70;

    public static BufferedImage render(String title, List<Panel> panels, int columns, int panelPx) {
        int rows = (panels.size() + columns - 1) / columns;
        int width = 2 * MARGIN + columns * panelPx + (columns - 1) * GAP;
        int height = TITLE + rows * (panelPx + LABEL) + (rows - 1) * GAP / 2 + LEGEND + MARGIN;
        BufferedImage img = new BufferedImage(width, height, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = img.createGraphics();
        g.setRenderingHint(RenderingHints.KEY_TEXT_ANTIALIASING, RenderingHints.VALUE_TEXT_ANTIALIAS_ON);
        g.setColor(Color.WHITE);
        g.fillRect(0, 0, width, height);
        g.setColor(Color.BLACK);
        g.setFont(new Font(Font.SANS_SERIF, Font.BOLD, 16));
        g.drawString(title, MARGIN, 26);
        g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 12));
        for (int i = 0; i < panels.size(); i++) {
            Panel p = panels.get(i);
            int x0 = MARGIN + (i % columns) * (panelPx + GAP), y0 = TITLE + (i / columns) * (panelPx + LABEL + GAP / 2);
            g.setColor(Color.BLACK);
            g.drawString(p.label(), x0, y0 + panelPx + 16);
            if (p.matrix() == null) {
                g.setColor(Color.LIGHT_GRAY);
                g.drawRect(x0, y0, panelPx - 1, panelPx - 1);
                g.drawString("(no such variant)", x0 + 8, y0 + panelPx / 2);
                continue;
            }
            double max = scale(p.matrix());
            int n = p.len();
            for (int py = 0; py < panelPx; py++)
                for (int px = 0; px < panelPx; px++) {
                    double v = p.matrix()[(py * n / panelPx) * n + px * n / panelPx];
                    img.setRGB(x0 + px, y0 + py, Heatmap.colour(max == 0 ? 0 : v / max));
                }
            g.setColor(Color.GRAY);
            g.setStroke(new BasicStroke(1));
            g.drawRect(x0 - 1, y0 - 1, panelPx + 1, panelPx + 1);
            g.setColor(Color.DARK_GRAY);
            g.drawString(String.format("s = %.3g", max), x0, y0 + panelPx + 31);
        }
        legend(g, MARGIN, height - LEGEND - MARGIN / 2 + 20, Math.min(360, width - 2 * MARGIN));
        g.dispose();
        return img;
    }

    /** The panel's colour scale: the 95th percentile of |M|, so that a dominant diagonal does not wash out the rest. */
    static double scale(double[] m) {
        double[] a = new double[m.length];
        for (int i = 0; i < m.length; i++) a[i] = Math.abs(m[i]);
        java.util.Arrays.sort(a);
        double s = a[(int) Math.floor(0.95 * (a.length - 1))];
        return s > 0 ? s : a[a.length - 1];
    }

    private static void legend(Graphics2D g, int x0, int y0, int w) {
        for (int px = 0; px < w; px++) {
            g.setColor(new Color(Heatmap.colour(2.0 * px / (w - 1) - 1)));
            g.drawLine(x0 + px, y0, x0 + px, y0 + 14);
        }
        g.setColor(Color.GRAY);
        g.drawRect(x0, y0, w, 14);
        g.setColor(Color.BLACK);
        g.drawString("-s", x0, y0 + 30);
        g.drawString("0", x0 + w / 2 - 3, y0 + 30);
        g.drawString("+s", x0 + w - 14, y0 + 30);
        g.drawString("colour scale per panel: s = the 95th percentile of |M| in that panel (larger entries saturate)", x0 + w + 16, y0 + 12);
    }
}
