package dev.hydra.mixer;

/** Vandermonde DD: M[t, l] = sum_d cos(2 pi e q[t,d] l) - cos(2 pi e k[l,d] t), e = 1e-3 (docs/spec.md §2.3). */
final class VandermondeMixing extends RowMixing {
    private static final double EPS = 1e-3;

    @Override
    void row(MixerOperands o, int b, int h, int t, double[] row) {
        int qo = o.qk(b, t, h);
        for (int l = 0; l < o.len(); l++) {
            int ko = o.qk(b, l, h);
            double s = 0;
            for (int d = 0; d < o.qkDim(); d++)
                s += Math.cos(2 * Math.PI * EPS * o.q()[qo + d] * l) - Math.cos(2 * Math.PI * EPS * o.k()[ko + d] * t);
            row[l] = o.scale() * s;
        }
    }
}
