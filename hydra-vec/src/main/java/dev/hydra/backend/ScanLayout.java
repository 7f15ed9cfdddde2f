package dev.hydra.backend;

/**
 * Where one direction's chunked scan finds its operands (docs/spec.md §1.3 steps 4-5), so that it reads them in
 * place: {@code x}, {@code B} and {@code C} are column ranges of the conv output (rows of
 * {@code xbcStride} floats; x is H*P wide, B and C G*N wide); {@code dt} is column range
 * [{@code dtCol}, {@code dtCol} + H) of a (rows, {@code dtStride}) buffer; the output y is (rows, H*P).
 * The scan runs over every sequence of {@code seqs} (a padded batch or a packed one of mixed lengths), each
 * on its own rows and from its own initial state. {@code forward == false} runs each recurrence from its
 * last position down to its first. A {@code chunk} longer than the longest sequence is the same single
 * chunk for every sequence, so it is stored as that length: backends size scratch by it.
 */
public record ScanLayout(Sequences seqs, int heads, int headdim, int groups, int state, int chunk,
                         int xbcStride, int xCol, int bCol, int cCol, int dtStride, int dtCol, boolean forward) {

    public ScanLayout {
        chunk = Math.min(chunk, seqs.longest());
    }

    public int group(int head) {
        return head / (heads / groups);
    }

    /** Row of the s-th step of this direction in sequence b. */
    public int row(int b, int s) {
        return seqs.start(b) + (forward ? s : seqs.length(b) - 1 - s);
    }
}
