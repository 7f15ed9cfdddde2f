package dev.hydra.kernels;

import dev.hydra.backend.Backend;
import dev.hydra.backend.Buf;
import dev.hydra.backend.HeapBuf;
import dev.hydra.backend.ScanLayout;
import dev.hydra.backend.Sequences;
import dev.hydra.math.ChunkedScan;
import dev.hydra.math.Recurrence;
import dev.hydra.math.ScanInputs;
import dev.hydra.math.ScanInputs.Direction;
import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.Random;
import java.util.function.IntPredicate;

import static dev.hydra.layer.Layers.widen;
import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The scan's edge cases on all three CPU paths (fp64 chunked reference, scalar, Vector API) against the
 * fp64 recurrence: decay exponents that must not be taken as differences of large prefix sums, decays
 * below the smallest normal float, and chunk sizes far beyond any tile.
 */
class ScanEdgeCaseTest {
    private static final int HEADS = 2, P = 8, N = 8, HP = HEADS * P, S = HP + 2 * N;

    /** x, B, C packed as one (rows, S) buffer the way the layer's conv output is: x, then B, then C. */
    private record Case(int len, float[] xbc, float[] dt, float[] a) {
        ScanLayout layout(int chunk, boolean forward) {
            return new ScanLayout(Sequences.uniform(1, len), HEADS, P, 1, N, chunk, S, 0, HP, HP + N, HEADS, 0, forward);
        }

        ScanInputs inputs() {
            double[] x = new double[len * HP], b = new double[len * N], c = new double[len * N], d = new double[len * HEADS], aa = new double[HEADS];
            for (int r = 0; r < len; r++) {
                for (int i = 0; i < HP; i++) x[r * HP + i] = xbc[r * S + i];
                for (int n = 0; n < N; n++) {
                    b[r * N + n] = xbc[r * S + HP + n];
                    c[r * N + n] = xbc[r * S + HP + N + n];
                }
                for (int h = 0; h < HEADS; h++) d[r * HEADS + h] = dt[r * HEADS + h];
            }
            for (int h = 0; h < HEADS; h++) aa[h] = a[h];
            return new ScanInputs(1, len, HEADS, P, 1, N, x, b, c, b, c, d, d, aa, null);
        }

        float[] run(Backend be, int chunk, boolean forward) {
            Buf y = be.allocate((long) len * HP);
            be.ssdScan(layout(chunk, forward), be.upload(xbc), be.upload(dt), be.upload(a), null, y);
            return HeapBuf.of(y);
        }
    }

    private static Case randomCase(int len, long seed) {
        Random rnd = new Random(seed);
        float[] xbc = new float[len * S], dt = new float[len * HEADS];
        for (int i = 0; i < xbc.length; i++) xbc[i] = (float) rnd.nextGaussian();
        for (int i = 0; i < dt.length; i++) dt[i] = 0.01f + 0.1f * rnd.nextFloat();
        return new Case(len, xbc, dt, new float[] {-1f, -0.5f});
    }

    @Test
    void oneHugeStepFollowedByTinyOnesKeepsTheTinyDecays() {
        // each chunk of 64 starts with one step whose |dt A| is ~1e14 times the others' (in scan order, both directions)
        hugeStepsKeepTheTinyDecays(r -> r % 64 == 0 || r % 64 == 63);
    }

    @Test
    void oneHugeStepInsideAChunkKeepsTheTinyDecaysAroundIt() {
        // the huge step inside each chunk of 64, where the vector kernel's decay factors (within a column vector,
        // between vectors, within a row's vector) meet it at every species width
        hugeStepsKeepTheTinyDecays(r -> r % 64 == 37);
    }

    private static void hugeStepsKeepTheTinyDecays(IntPredicate huge) {
        Case k = randomCase(192, 1);
        for (int r = 0; r < k.len; r++)
            for (int h = 0; h < HEADS; h++) k.dt[r * HEADS + h] = huge.test(r) ? 1e12f : 0.01f;
        for (boolean forward : new boolean[] {true, false}) {
            Direction dir = forward ? Direction.FORWARD : Direction.BACKWARD;
            double[] exact = Recurrence.scan(k.inputs(), dir);
            assertClose("fp64 chunked, forward=" + forward, ChunkedScan.scan(k.inputs(), dir, 64), exact, 1e-9);
            assertClose("scalar, forward=" + forward, widen(k.run(new ScalarBackend(), 64, forward)), exact, 1e-5);
            assertClose("vector, forward=" + forward, widen(k.run(new VectorBackend(2), 64, forward)), exact, 1e-5);
        }
    }

    @Test
    void decaysBelowTheSmallestNormalFloatFlushToZeroOnBothFp32Paths() {
        // one huge x at the first step, zero elsewhere: y_i is that x decayed by exp(-i), down past 2^-126 and zero
        Case k = randomCase(160, 2);
        for (int r = 0; r < k.len; r++) {
            for (int i = 0; i < HP; i++) k.xbc[r * S + i] = r == 0 ? 1e30f : 0f;
            for (int h = 0; h < HEADS; h++) k.dt[r * HEADS + h] = 1f;
        }
        double[] exact = Recurrence.scan(k.inputs(), Direction.FORWARD);
        double cb = 0;
        for (int r = 0; r < k.len; r++)
            for (int n = 0; n < N; n++) cb = Math.max(cb, Math.abs(k.xbc[r * S + HP + N + n] * k.xbc[HP + n]) * N);
        for (Backend be : new Backend[] {new ScalarBackend(), new VectorBackend(2)}) {
            float[] y = k.run(be, 128, true);
            for (int i = 0; i < exact.length; i++) {
                // each element is right to fp32 accuracy, or zero where its decay fell below the smallest normal float
                double err = Math.abs(y[i] - exact[i]);
                boolean flushed = y[i] == 0 && Math.abs(exact[i]) <= 1e30 * cb * 2 * Float.MIN_NORMAL;
                assertThat(err <= 1e-4 * Math.abs(exact[i]) + 1e-30 || flushed)
                        .as("%s: element %d (exact %s, got %s)", be.name(), i, exact[i], y[i]).isTrue();
            }
        }
    }

    @Test
    void aChunkAsLongAsTheSequenceRunsInBoundedMemoryAndChangesNothing() {
        int len = 65536;
        Case k = randomCase(len, 3);
        VectorBackend one = new VectorBackend(1);
        float[] tiled = k.run(one, 256, true);
        com.sun.management.ThreadMXBean mx = (com.sun.management.ThreadMXBean) java.lang.management.ManagementFactory.getThreadMXBean();
        long io = 4L * len * (S + HEADS + HP), allocated = Long.MAX_VALUE;
        float[] whole = null;
        // until the JIT has compiled the kernels (the Vector API's interpreted form boxes every vector); on a busy
        // 2-core machine C2 can take seconds, so the wait is bounded by time, not by a call count. A width wider
        // than the machine's never compiles to registers: one call checks the result, not the memory.
        boolean measurable = VectorBackend.intrinsicWidth();
        long end = System.nanoTime() + (measurable ? 30_000_000_000L : 0);
        for (int call = 0; (call < (measurable ? 10 : 1) || System.nanoTime() < end) && allocated > io + (64L << 20); call++) {
            long before = mx.getCurrentThreadAllocatedBytes();
            whole = k.run(one, len, true);
            allocated = mx.getCurrentThreadAllocatedBytes() - before;
        }
        double scale = 0, err = 0;
        for (int i = 0; i < tiled.length; i++) {
            scale = Math.max(scale, Math.abs(tiled[i]));
            err = Math.max(err, Math.abs(whole[i] - tiled[i]));
        }
        assertThat(err / scale).as("chunk %d vs chunk 256", len).isLessThan(1e-5);
        assumeTrue(measurable, "species wider than this machine's: the Vector API's fallback boxes vectors");
        assertThat(allocated).as("bytes allocated by the scan beyond its inputs and output").isLessThan(io + (64L << 20));
    }

    @Test
    void chunkParallelScanOverSeveralWindowsMatchesScalarAndIsBitIdenticalForAnyThreadCount() {
        // 8 heads of 64 x 64 states, chunk 2: 300 chunks hold more states than one window (2^23 floats) takes
        int heads = 8, p = 64, n = 64, len = 600, hp = heads * p, stride = hp + 4 * n;
        Random rnd = new Random(4);
        float[] xbc = new float[len * stride], dt = new float[len * heads], a = new float[heads], init = new float[heads * p * n];
        for (int i = 0; i < xbc.length; i++) xbc[i] = (float) rnd.nextGaussian();
        for (int i = 0; i < dt.length; i++) dt[i] = 0.001f + 0.01f * rnd.nextFloat();
        for (int h = 0; h < heads; h++) a[h] = -(0.5f + rnd.nextFloat());
        for (int i = 0; i < init.length; i++) init[i] = (float) rnd.nextGaussian();
        for (boolean forward : new boolean[] {true, false}) {
            ScanLayout s = new ScanLayout(Sequences.uniform(1, len), heads, p, 2, n, 2, stride, 0, hp, hp + 2 * n, heads, 0, forward);
            java.util.function.Function<Backend, float[]> run = be -> {
                Buf y = be.allocate((long) len * hp);
                be.ssdScan(s, be.upload(xbc), be.upload(dt), be.upload(a), be.upload(init), y);
                return HeapBuf.of(y);
            };
            // one thread takes the chunks in order; 3 and 7 threads (and windowsOnly) in windows of chunk-parallel passes
            assertThat(VectorBackend.inOrderBlock(s.seqs(), heads, 2, 1)).isEqualTo(4);
            assertThat(VectorBackend.inOrderBlock(s.seqs(), heads, 2, 3)).isZero();
            float[] one = run.apply(new VectorBackend(1));
            for (int threads : new int[] {2, 3, 7}) {
                assertThat(run.apply(new VectorBackend(threads))).as("%d threads vs 1, forward=%s", threads, forward).isEqualTo(one);
                assertThat(run.apply(new VectorBackend(threads, true))).as("%d threads in windows vs 1 in order, forward=%s", threads, forward).isEqualTo(one);
            }
            assertClose("vector vs scalar, forward=" + forward, widen(one), widen(run.apply(new ScalarBackend())), 2e-5);
        }
    }

    @Test
    void aPackedCallOfMixedLengthsGivesEverySequenceItsBitsAloneForAnyThreadCount() {
        // 8 heads of 64 x 64 states, chunk 2: a window holds 256 chunk states, so windows end inside a sequence (the
        // middle one both starts and ends inside one) and between two; lengths out of order, equal ones apart, sequences
        // of one chunk (with a state only when there are initial states)
        int[] lengths = {150, 2, 301, 1, 77, 5, 180, 3, 77, 150, 250};
        Sequences seqs = Sequences.of(lengths);
        Packed k = Packed.random(seqs.rows(), 8, 64, 64, new Random(5));
        for (boolean forward : new boolean[] {true, false})
            for (float[] init : new float[][] {k.init, null}) {
                String what = "forward=" + forward + (init == null ? "" : ", initial states");
                float[] packed = k.scan(new VectorBackend(1), seqs, 0, init, forward);
                for (int threads : new int[] {2, 3, 7}) {
                    assertThat(k.scan(new VectorBackend(threads), seqs, 0, init, forward)).as("%s: %d threads vs 1", what, threads).isEqualTo(packed);
                    assertThat(k.scan(new VectorBackend(threads, true), seqs, 0, init, forward)).as("%s: %d threads in windows vs 1 in order", what, threads).isEqualTo(packed);
                }
                float[] scalar = k.scan(new ScalarBackend(), seqs, 0, init, forward);
                assertClose("vector vs scalar, " + what, widen(packed), widen(scalar), 2e-5);
                for (int i = 0; i < lengths.length; i++) {
                    int from = seqs.start(i) * k.hp(), to = from + lengths[i] * k.hp();
                    assertThat(k.scan(new VectorBackend(2), Sequences.of(lengths[i]), seqs.start(i), init, forward))
                            .as("%s: vector, sequence %d alone", what, i).isEqualTo(Arrays.copyOfRange(packed, from, to));
                    assertThat(k.scan(new ScalarBackend(), Sequences.of(lengths[i]), seqs.start(i), init, forward))
                            .as("%s: scalar, sequence %d alone", what, i).isEqualTo(Arrays.copyOfRange(scalar, from, to));
                }
            }
    }

    @Test
    void aScanTakesSequencesInOrderInTheWidestBlocksOfHeadsThatKeepTheThreadsEvenlyBusy() {
        Sequences batch = Sequences.uniform(8, 512), one = Sequences.uniform(1, 8192);
        // 8 sequences: whole groups of heads on 1 and 2 threads, 8 tasks; halves on 16 threads, 16 tasks
        assertThat(VectorBackend.inOrderBlock(batch, 24, 1, 1)).isEqualTo(24);
        assertThat(VectorBackend.inOrderBlock(batch, 24, 1, 2)).isEqualTo(24);
        assertThat(VectorBackend.inOrderBlock(batch, 24, 1, 16)).isEqualTo(12);
        assertThat(VectorBackend.inOrderBlock(batch, 24, 2, 16)).isEqualTo(12);
        // one long sequence: two tasks of 12 heads on 2 threads, 24 of one head on 5 (5 for the busiest thread, 4.8
        // for an even split); on 7 or 16 threads every block leaves the busiest thread 17% or more beyond an even
        // split: chunk-parallel windows
        assertThat(VectorBackend.inOrderBlock(one, 24, 1, 2)).isEqualTo(12);
        assertThat(VectorBackend.inOrderBlock(one, 24, 1, 4)).isEqualTo(6);
        assertThat(VectorBackend.inOrderBlock(one, 24, 1, 5)).isEqualTo(1);
        assertThat(VectorBackend.inOrderBlock(one, 24, 1, 7)).isZero();
        assertThat(VectorBackend.inOrderBlock(one, 24, 1, 16)).isZero();
        // a long sequence among short ones: on 2 threads its two halves, then the short ones' 8 tasks, 4 each; on 8
        // threads its heads in eighths, then the short ones' 32 tasks fill the threads to an even split
        Sequences mixed = Sequences.of(4096, 256, 256, 256, 256);
        assertThat(VectorBackend.inOrderBlock(mixed, 24, 1, 2)).isEqualTo(12);
        assertThat(VectorBackend.inOrderBlock(mixed, 24, 1, 8)).isEqualTo(3);
    }

    /** Scan operands over {@code rows} rows: x, B and C of two groups, chunk 2; B and C of the backward direction beside. */
    private record Packed(int heads, int p, int n, float[] xbc, float[] dt, float[] a, float[] init) {
        static Packed random(int rows, int heads, int p, int n, Random rnd) {
            float[] xbc = new float[rows * (heads * p + 4 * n)], dt = new float[rows * heads], a = new float[heads], init = new float[heads * p * n];
            for (int i = 0; i < xbc.length; i++) xbc[i] = (float) rnd.nextGaussian();
            for (int i = 0; i < dt.length; i++) dt[i] = 0.001f + 0.01f * rnd.nextFloat();
            for (int h = 0; h < heads; h++) a[h] = -(0.5f + rnd.nextFloat());
            for (int i = 0; i < init.length; i++) init[i] = (float) rnd.nextGaussian();
            return new Packed(heads, p, n, xbc, dt, a, init);
        }

        int hp() {
            return heads * p;
        }

        /** y of the sequences {@code s} laid on rows [row0, row0 + s.rows()), as a call of their own. */
        float[] scan(Backend be, Sequences s, int row0, float[] init, boolean forward) {
            int stride = hp() + 4 * n, rows = s.rows();
            ScanLayout l = new ScanLayout(s, heads, p, 2, n, 2, stride, 0, hp(), hp() + 2 * n, heads, 0, forward);
            Buf y = be.allocate((long) rows * hp());
            be.ssdScan(l, be.upload(Arrays.copyOfRange(xbc, row0 * stride, (row0 + rows) * stride)),
                    be.upload(Arrays.copyOfRange(dt, row0 * heads, (row0 + rows) * heads)), be.upload(a), init == null ? null : be.upload(init), y);
            return HeapBuf.of(y);
        }
    }

    private static void assertClose(String what, double[] actual, double[] exact, double rel) {
        double scale = 0;
        for (double v : exact) scale = Math.max(scale, Math.abs(v));
        for (int i = 0; i < exact.length; i++) {
            double bound = rel * scale;
            assertThat(Math.abs(actual[i] - exact[i])).as("%s: element %d (exact %s, got %s)", what, i, exact[i], actual[i]).isLessThanOrEqualTo(bound);
        }
    }

}
