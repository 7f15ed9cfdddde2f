package dev.hydra.backend;

import dev.hydra.HydraException;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * Where the sequences of one call sit in the rows of a buffer: laid end to end in order, without
 * padding rows, sequence i holding rows [{@link #start}(i), start(i) + {@link #length}(i)). A padded
 * (batch, len) tensor is {@link #uniform}; a packed batch of mixed lengths is {@link #of}. The
 * sequence-aware backend operations (conv, shift, embedding positions, pooling, the scan) read it. Immutable.
 */
public final class Sequences {
    /** count + 1 row offsets: sequence i is rows [starts[i], starts[i + 1]) */
    private final int[] starts;
    private final List<Run> runs, runsLongestFirst;

    /** Sequences [first, first + count), each of {@code len} rows, the first at row {@code firstRow}. */
    public record Run(int first, int firstRow, int count, int len) {
        public int rows() {
            return count * len;
        }
    }

    private Sequences(int[] starts) {
        this.starts = starts;
        List<Run> r = new ArrayList<>();
        for (int i = 0; i < count(); ) {
            int j = i + 1;
            while (j < count() && length(j) == length(i)) j++;
            r.add(new Run(i, starts[i], j - i, length(i)));
            i = j;
        }
        this.runs = List.copyOf(r);
        r.sort(Comparator.comparingInt(Run::len).reversed());
        this.runsLongestFirst = List.copyOf(r);
    }

    /** {@code batch} sequences of {@code len} rows: a padded (batch, len) tensor. */
    public static Sequences uniform(int batch, int len) {
        if (batch < 0 || len < 0 || (long) batch * len > Integer.MAX_VALUE)
            throw new HydraException("sequences: (" + batch + ", " + len + ") is not a valid batch shape");
        int[] s = new int[batch + 1];
        for (int b = 0; b <= batch; b++) s[b] = b * len;
        return new Sequences(s);
    }

    /** Sequences of these lengths (each at least 1), laid end to end. */
    public static Sequences of(int... lengths) {
        int[] s = new int[lengths.length + 1];
        long rows = 0;
        for (int i = 0; i < lengths.length; i++) {
            if (lengths[i] < 1) throw new HydraException("sequences: sequence " + i + " has length " + lengths[i] + ", expected at least 1");
            rows += lengths[i];
            if (rows > Integer.MAX_VALUE) throw new HydraException("sequences: " + rows + "+ rows are more than one buffer indexes");
            s[i + 1] = (int) rows;
        }
        return new Sequences(s);
    }

    public int count() {
        return starts.length - 1;
    }

    /** Rows of all sequences together. */
    public int rows() {
        return starts[count()];
    }

    public int start(int i) {
        return starts[i];
    }

    public int length(int i) {
        return starts[i + 1] - starts[i];
    }

    /** The sequence holding {@code row}, a row in [0, rows()). */
    public int sequenceOf(int row) {
        int lo = 0, hi = count() - 1;
        while (lo < hi) {
            int mid = (lo + hi + 1) >>> 1;
            if (starts[mid] <= row) lo = mid;
            else hi = mid - 1;
        }
        return lo;
    }

    /** Maximal runs of consecutive sequences of equal length, in order; one run for a uniform batch. */
    public List<Run> runs() {
        return runs;
    }

    /** {@link #runs} ordered by length, longest first (runs of one length in order). */
    public List<Run> runsLongestFirst() {
        return runsLongestFirst;
    }

    /** The length of the longest sequence (0 without sequences). */
    public int longest() {
        return runsLongestFirst.isEmpty() ? 0 : runsLongestFirst.getFirst().len();
    }
}
