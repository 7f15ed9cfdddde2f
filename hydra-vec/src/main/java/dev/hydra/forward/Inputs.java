package dev.hydra.forward;

import dev.hydra.HydraException;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.stream.IntStream;

/**
 * The checks around a forward pass, with messages that name the offending element: the input's shape and
 * finiteness, the memory its activations need, and the output's finiteness (overflow).
 */
public final class Inputs {
    private static final double GIB = 1L << 30;

    private Inputs() {}

    public static void checkShape(long length, int batch, int len, int width, String what) {
        if (batch < 1 || len < 1)
            throw new HydraException(what + ": batch and length must be positive, got (" + batch + ", " + len + ")");
        if ((long) batch * len * width != length)
            throw new HydraException(what + ": " + length + " values do not match shape (" + batch + ", " + len + ", " + width + ")");
    }

    /**
     * Refuses host rows given as a segment that cannot be read (or, for an {@code output}, written) as the
     * floats of shape (batch, len, width): a wrong size, a native address not aligned to a float, a read-only output.
     */
    public static void checkHostRows(MemorySegment s, int batch, int len, int width, String what, boolean output) {
        if (s.byteSize() % Float.BYTES != 0)
            throw new HydraException(what + ": a segment of " + s.byteSize() + " bytes does not hold whole floats");
        if (s.isNative() && s.address() % Float.BYTES != 0)
            throw new HydraException(what + ": a native segment at address " + s.address() + " is not aligned to 4 bytes");
        if (output && s.isReadOnly()) throw new HydraException(what + ": the segment is read-only");
        checkShape(s.byteSize() / Float.BYTES, batch, len, width, what);
    }

    public static void checkFinite(float[] u, int len, int width, String what) {
        int i = firstNonFinite(u);
        if (i >= 0) throw notFinite(what, u[i], i, len, width);
    }

    /** Refuses {@code u} in one line naming its element {@code i} (a non-finite one, as {@link #firstNonFinite} finds); nothing when i < 0. */
    public static void refuseNonFinite(MemorySegment u, int i, int len, int width, String what) {
        if (i >= 0) throw notFinite(what, u.getAtIndex(ValueLayout.JAVA_FLOAT, i), i, len, width);
    }

    /** Arrays above this many floats are scanned in slices of this size on the common pool. */
    private static final int PARALLEL_SCAN = 1 << 20;

    /** The index of the first NaN or infinity in {@code v}, or -1; large arrays are scanned in parallel slices. */
    public static int firstNonFinite(float[] v) {
        if (v.length <= PARALLEL_SCAN) return firstNonFinite(v, 0, v.length);
        return IntStream.range(0, (v.length + PARALLEL_SCAN - 1) / PARALLEL_SCAN).parallel()
                .map(k -> firstNonFinite(v, k * PARALLEL_SCAN, Math.min(v.length, (k + 1) * PARALLEL_SCAN)))
                .filter(i -> i >= 0).min().orElse(-1);
    }

    private static int firstNonFinite(float[] v, int from, int to) {
        for (int i = from; i < to; i++) if (!Float.isFinite(v[i])) return i;
        return -1;
    }

    public static void checkFinite(double[] u, int len, int width, String what) {
        for (int i = 0; i < u.length; i++)
            if (!Double.isFinite(u[i])) throw notFinite(what, u[i], i, len, width);
    }

    /**
     * Refuses, before anything is allocated, a forward pass of (batch, len) that cannot be held: one whose
     * largest activation tensor has more elements than a Java array holds, or whose activations need more
     * bytes than the heap can still give. Garbage counts as used until collected, so near the limit this
     * asks for one collection before refusing; other threads' concurrent requests are not reserved for.
     */
    public static void checkActivations(long bytes, long largestTensor, int batch, int len) {
        String pass = "input: a forward pass of (" + batch + ", " + len + ")";
        if (largestTensor > Integer.MAX_VALUE - 8)
            throw new HydraException(pass + " needs an activation tensor of " + largestTensor
                    + " elements, more than a Java array holds; split the batch");
        Runtime rt = Runtime.getRuntime();
        if (bytes <= heapFree()) return;
        if (bytes <= rt.maxMemory()) System.gc();
        long free = heapFree();
        if (bytes > free)
            throw new HydraException(String.format("%s needs about %.2f GiB of activations but the heap has %.2f GiB free;"
                    + " raise -Xmx or split the batch", pass, bytes / GIB, free / GIB));
    }

    /** Bytes the heap can still give: its maximum less what is in use. */
    public static long heapFree() {
        Runtime rt = Runtime.getRuntime();
        return rt.maxMemory() - (rt.totalMemory() - rt.freeMemory());
    }

    /**
     * A non-finite output from finite input and finite weights means an intermediate overflowed the
     * precision's range (the scans' products grow like the fourth power of the input's scale).
     */
    public static void checkOverflow(float[] out, int len, int width, String precision) {
        int i = firstNonFinite(out);
        if (i >= 0) throw overflow(precision, out[i], i, len, width);
    }

    /** {@link #checkOverflow} for an output whose first non-finite element {@code i} is known; nothing when i < 0. */
    public static void refuseOverflow(MemorySegment out, int i, int len, int width, String precision) {
        if (i >= 0) throw overflow(precision, out.getAtIndex(ValueLayout.JAVA_FLOAT, i), i, len, width);
    }

    public static void checkOverflow(double[] out, int len, int width, String precision) {
        for (int i = 0; i < out.length; i++)
            if (!Double.isFinite(out[i])) throw overflow(precision, out[i], i, len, width);
    }

    private static HydraException overflow(String precision, double v, int i, int len, int width) {
        int b = i / (len * width), t = (i / width) % len, c = i % width;
        return new HydraException("input: the forward pass overflowed the " + precision + " range (output element ("
                + b + ", " + t + ", " + c + ") is " + v + " from finite input); scale the input down"
                + (precision.equals("fp32") ? " or run in fp64" : ""));
    }

    private static HydraException notFinite(String what, double v, int i, int len, int width) {
        int b = i / (len * width), t = (i / width) % len, c = i % width;
        return new HydraException(what + ": element (" + b + ", " + t + ", " + c + ") is " + v + "; inputs must be finite");
    }
}
