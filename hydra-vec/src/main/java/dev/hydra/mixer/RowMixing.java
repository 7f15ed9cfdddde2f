package dev.hydra.mixer;

/**
 * A matrix class computed one row of {@code s M} at a time (O(L) memory): the direct algorithm of the
 * types without a faster one, and the materialization of all but the quasiseparable.
 */
abstract class RowMixing implements MatrixMixing {

    /** row[l] = s M[t, l] for batch b, head h. */
    abstract void row(MixerOperands o, int b, int h, int t, double[] row);

    @Override
    public double[] mix(MixerOperands o) {
        int L = o.len(), P = o.headdim(), W = o.width();
        double[] y = new double[o.batch() * L * W], row = new double[L];
        for (int b = 0; b < o.batch(); b++)
            for (int h = 0; h < o.heads(); h++)
                for (int t = 0; t < L; t++) {
                    row(o, b, h, t, row);
                    int yo = (b * L + t) * W + h * P;
                    for (int l = 0; l < L; l++) {
                        double m = row[l];
                        int vo = (b * L + l) * W + h * P;
                        for (int p = 0; p < P; p++) y[yo + p] += m * o.v()[vo + p];
                    }
                }
        return y;
    }

    @Override
    public double[] materialize(MixerOperands o) {
        int L = o.len(), H = o.heads();
        double[] m = new double[Math.toIntExact((long) o.batch() * H * L * L)], row = new double[L];
        for (int b = 0; b < o.batch(); b++)
            for (int h = 0; h < H; h++)
                for (int t = 0; t < L; t++) {
                    row(o, b, h, t, row);
                    System.arraycopy(row, 0, m, ((b * H + h) * L + t) * L, L);
                }
        return m;
    }
}
