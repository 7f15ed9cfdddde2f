package dev.hydra.cli.plot;

/** A blue-white-red diverging colour map: -1 dark blue, 0 white, +1 dark red (clamped outside [-1, 1]). */
public final class DivergingColourMap {
    private DivergingColourMap() {}

    private static final int[] NEG = {33, 102, 172}, POS = {178, 24, 43}, MID = {247, 247, 247};

    /** 0xRRGGBB of {@code x} in [-1, 1]. */
    public static int rgb(double x) {
        double t = Double.isNaN(x) ? 0 : Math.max(-1, Math.min(1, x));
        int[] end = t < 0 ? NEG : POS;
        double f = Math.abs(t);
        int r = (int) Math.round(MID[0] + f * (end[0] - MID[0]));
        int g = (int) Math.round(MID[1] + f * (end[1] - MID[1]));
        int b = (int) Math.round(MID[2] + f * (end[2] - MID[2]));
        return r << 16 | g << 8 | b;
    }
}
