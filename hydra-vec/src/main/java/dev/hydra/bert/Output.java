package dev.hydra.bert;

import dev.hydra.HydraException;

/**
 * The encoder's result for a batch (B, L): {@code sequence} (B, L, hidden) with zeros at padded
 * positions, {@code pooled} (B, hidden), null for a model without a pooler (a masked-LM model).
 */
public record Output(int batch, int len, int hidden, double[] sequence, double[] pooled) {

    /** The hidden state of row {@code b} at position {@code t}. */
    public double[] token(int b, int t) {
        double[] v = new double[hidden];
        System.arraycopy(sequence, (b * len + t) * hidden, v, 0, hidden);
        return v;
    }

    public double[] pooled(int b) {
        if (pooled == null)
            throw new HydraException("the model has no pooler (a masked-LM model), so it has no pooled output; use mean pooling");
        double[] v = new double[hidden];
        System.arraycopy(pooled, b * hidden, v, 0, hidden);
        return v;
    }
}
