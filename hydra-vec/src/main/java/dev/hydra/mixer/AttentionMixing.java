package dev.hydra.mixer;

/** Attention: M[t, :] = softmax_l(q[t] . k[l] / sqrt(qk_dim)), each row a probability vector. */
final class AttentionMixing extends RowMixing {
    @Override
    void row(MixerOperands o, int b, int h, int t, double[] row) {
        int qo = o.qk(b, t, h), L = o.len();
        double inv = 1 / Math.sqrt(o.qkDim()), max = Double.NEGATIVE_INFINITY, sum = 0;
        for (int l = 0; l < L; l++) {
            int ko = o.qk(b, l, h);
            double s = 0;
            for (int d = 0; d < o.qkDim(); d++) s += o.q()[qo + d] * o.k()[ko + d];
            row[l] = s * inv;
            max = Math.max(max, row[l]);
        }
        for (int l = 0; l < L; l++) {
            row[l] = Math.exp(row[l] - max);
            sum += row[l];
        }
        for (int l = 0; l < L; l++) row[l] = o.scale() * row[l] / sum;
    }
}
