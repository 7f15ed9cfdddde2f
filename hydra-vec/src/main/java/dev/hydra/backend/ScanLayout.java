package dev.hydra.backend;

/**
 * Where one direction's chunked scan finds its operands (docs/spec.md §1.3 steps 4-5), so that it reads them in
 * place: {@code x}, {@code B} and {@code C} are column ranges of the conv output (rows of
 * {@code xbcStride} floats; x is H*P wide, B and C G*N wide); {@code dt} is column range
 * [{@code dtCol}, {@code dtCol} + H) of a (B*L, {@code dtStride}) buffer; the output y is (B*L, H*P).
 * {@code forward == false} runs the recurrence from t = L-1 down to 0. A {@code chunk} longer than the
 * sequence is the same single chunk, so it is stored as {@code len}: backends size scratch by it.
 * The {@code batch} sequences of {@code len} are rows [{@code firstRow}, firstRow + batch*len) of xbc, dt
 * and y: one run of a packed batch ({@link Sequences.Run}).
 */
public record ScanLayout(int batch, int len, int heads, int headdim, int groups, int state, int chunk,
                         int xbcStride, int xCol, int bCol, int cCol, int dtStride, int dtCol, boolean forward, int firstRow) {

    public ScanLayout {
        chunk = Math.min(chunk, len);
    }

    /** A layout whose sequences start at row 0. */
    public ScanLayout(int batch, int len, int heads, int headdim, int groups, int state, int chunk,
                      int xbcStride, int xCol, int bCol, int cCol, int dtStride, int dtCol, boolean forward) {
        this(batch, len, heads, headdim, groups, state, chunk, xbcStride, xCol, bCol, cCol, dtStride, dtCol, forward, 0);
    }

    public int group(int head) {
        return head / (heads / groups);
    }

    /** Row of the s-th step of this direction in sequence b. */
    public int row(int b, int s) {
        return firstRow + b * len + position(s);
    }

    /** Sequence position of the s-th step of this direction. */
    public int position(int s) {
        return forward ? s : len - 1 - s;
    }
}
