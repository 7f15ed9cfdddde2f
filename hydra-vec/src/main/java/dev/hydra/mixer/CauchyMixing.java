package dev.hydra.mixer;

/** Cauchy: M[t, l] = sum_d 1 / (q'[t,d] + k'[l,d] + 1e-8), with q' = exp(q) + b and k' = exp(k) + b given. */
final class CauchyMixing extends RowMixing {
    private static final double TOL = 1e-8;

    @Override
    void row(MixerOperands o, int b, int h, int t, double[] row) {
        int qo = o.qk(b, t, h);
        for (int l = 0; l < o.len(); l++) {
            int ko = o.qk(b, l, h);
            double s = 0;
            for (int d = 0; d < o.qkDim(); d++) s += 1 / (o.q()[qo + d] + o.k()[ko + d] + TOL);
            row[l] = o.scale() * s;
        }
    }
}
