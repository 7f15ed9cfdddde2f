package dev.hydra.bert;

import dev.hydra.HydraException;

/**
 * A batch of token sequences (B, L) row-major: ids, token type ids and the attention mask (1 = token,
 * 0 = padding). {@link #lengths()} counts each row's tokens.
 */
public record Tokens(int batch, int len, int[] ids, int[] typeIds, int[] mask) {

    public Tokens {
        if (batch < 1 || len < 1)
            throw new HydraException("tokens: batch and length must be positive, got (" + batch + ", " + len + ")");
        long n = (long) batch * len;
        if (ids.length != n || typeIds.length != n || mask.length != n)
            throw new HydraException("tokens: input_ids, token_type_ids and attention_mask must each hold " + n
                    + " values for shape (" + batch + ", " + len + "), got " + ids.length + ", " + typeIds.length + ", " + mask.length);
        for (int i = 0; i < mask.length; i++)
            if (mask[i] != 0 && mask[i] != 1)
                throw new HydraException("tokens: attention_mask" + at(i, len) + " is " + mask[i] + ", expected 0 or 1");
    }

    /** Converts int64 tensors (as a pre-tokenized safetensors file holds them), checking the range. */
    public static Tokens ofLongs(int batch, int len, long[] ids, long[] typeIds, long[] mask) {
        return new Tokens(batch, len, toInts(ids, "input_ids"), toInts(typeIds, "token_type_ids"), toInts(mask, "attention_mask"));
    }

    private static int[] toInts(long[] v, String what) {
        int[] out = new int[v.length];
        for (int i = 0; i < v.length; i++) {
            if (v[i] < Integer.MIN_VALUE || v[i] > Integer.MAX_VALUE)
                throw new HydraException("tokens: " + what + " element " + i + " is " + v[i] + ", out of range");
            out[i] = (int) v[i];
        }
        return out;
    }

    static String at(int i, int len) {
        return "[" + i / len + ", " + i % len + "]";
    }

    public int[] lengths() {
        int[] n = new int[batch];
        for (int i = 0; i < mask.length; i++) n[i / len] += mask[i];
        return n;
    }

    /** {@link #lengths()}, checking that each mask row is ones followed by zeros (which {@code what} needs). */
    public int[] rightPaddedLengths(String what) {
        int[] n = lengths();
        for (int b = 0; b < batch; b++)
            for (int t = 0; t < len; t++)
                if (mask[b * len + t] != (t < n[b] ? 1 : 0))
                    throw new HydraException("tokens: row " + b + " of attention_mask is not ones followed by zeros, which " + what + " needs");
        return n;
    }

    /** Rows [from, to) as a batch of the same length. */
    public Tokens rows(int from, int to) {
        return new Tokens(to - from, len, java.util.Arrays.copyOfRange(ids, from * len, to * len),
                java.util.Arrays.copyOfRange(typeIds, from * len, to * len), java.util.Arrays.copyOfRange(mask, from * len, to * len));
    }
}
