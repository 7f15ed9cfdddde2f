package dev.hydra.mixer;

/**
 * Low rank: M[t, l] = q[t] . k[l]. Structured by associativity, y = Q (K^T v): O(L qk_dim P) per head
 * instead of O(L^2 P).
 */
final class LowRankMixing extends RowMixing {
    @Override
    void row(MixerOperands o, int b, int h, int t, double[] row) {
        int qo = o.qk(b, t, h);
        for (int l = 0; l < o.len(); l++) {
            int ko = o.qk(b, l, h);
            double s = 0;
            for (int d = 0; d < o.qkDim(); d++) s += o.q()[qo + d] * o.k()[ko + d];
            row[l] = o.scale() * s;
        }
    }

    @Override
    public double[] mix(MixerOperands o) {
        int L = o.len(), P = o.headdim(), W = o.width(), D = o.qkDim();
        double[] y = new double[o.batch() * L * W], kv = new double[D * P];
        for (int b = 0; b < o.batch(); b++)
            for (int h = 0; h < o.heads(); h++) {
                java.util.Arrays.fill(kv, 0);
                for (int l = 0; l < L; l++) {                   // K^T v, (qk_dim, P)
                    int ko = o.qk(b, l, h), vo = (b * L + l) * W + h * P;
                    for (int d = 0; d < D; d++) {
                        double kd = o.k()[ko + d];
                        for (int p = 0; p < P; p++) kv[d * P + p] += kd * o.v()[vo + p];
                    }
                }
                for (int t = 0; t < L; t++) {                   // y[t] = s q[t] (K^T v)
                    int qo = o.qk(b, t, h), yo = (b * L + t) * W + h * P;
                    for (int d = 0; d < D; d++) {
                        double qd = o.scale() * o.q()[qo + d];
                        for (int p = 0; p < P; p++) y[yo + p] += qd * kv[d * P + p];
                    }
                }
            }
        return y;
    }
}
