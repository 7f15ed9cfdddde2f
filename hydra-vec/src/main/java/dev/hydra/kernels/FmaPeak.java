package dev.hydra.kernels;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.atomic.DoubleAdder;

/**
 * The machine's fp32 FMA peak as Java can reach it: twelve independent vector accumulators (enough to
 * cover the FMA latency on both pipes) on the preferred species, one such loop per thread.
 */
public final class FmaPeak {
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    private static final int ACCUMULATORS = 12;

    private FmaPeak() {}

    /** FLOPs of one {@link #loop} call of {@code iterations}. */
    public static double flops(long iterations) {
        return 2.0 * iterations * ACCUMULATORS * F.length();
    }

    /** {@code iterations} rounds of twelve vector FMAs; the result only keeps the JIT from removing them. */
    public static float loop(long iterations, float seed) {
        FloatVector m = FloatVector.broadcast(F, 0.999999f), a = FloatVector.broadcast(F, 1e-7f);
        FloatVector c0 = FloatVector.broadcast(F, seed), c1 = c0.add(1), c2 = c0.add(2), c3 = c0.add(3), c4 = c0.add(4), c5 = c0.add(5);
        FloatVector c6 = c0.add(6), c7 = c0.add(7), c8 = c0.add(8), c9 = c0.add(9), c10 = c0.add(10), c11 = c0.add(11);
        for (long i = 0; i < iterations; i++) {
            c0 = c0.fma(m, a); c1 = c1.fma(m, a); c2 = c2.fma(m, a); c3 = c3.fma(m, a);
            c4 = c4.fma(m, a); c5 = c5.fma(m, a); c6 = c6.fma(m, a); c7 = c7.fma(m, a);
            c8 = c8.fma(m, a); c9 = c9.fma(m, a); c10 = c10.fma(m, a); c11 = c11.fma(m, a);
        }
        return c0.add(c1).add(c2).add(c3).add(c4).add(c5).add(c6).add(c7).add(c8).add(c9).add(c10).add(c11).reduceLanes(jdk.incubator.vector.VectorOperators.ADD);
    }

    /** GFLOP/s of {@code threads} threads each running the loop for about {@code millis} ms, after a warm-up. */
    public static double measure(int threads, int millis) throws InterruptedException {
        long chunk = 1 << 20;
        for (int i = 0; i < 20; i++) loop(chunk, i);
        DoubleAdder flops = new DoubleAdder();
        CyclicBarrier start = new CyclicBarrier(threads + 1);
        Thread[] ts = new Thread[threads];
        for (int t = 0; t < threads; t++) {
            ts[t] = new Thread(() -> {
                try {
                    start.await();
                    long end = System.nanoTime() + millis * 1_000_000L;
                    float sink = 0;
                    while (System.nanoTime() < end) {
                        sink += loop(chunk, sink);
                        flops.add(flops(chunk));
                    }
                    if (sink == 42) System.out.print("");
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            });
            ts[t].start();
        }
        try {
            start.await();
        } catch (java.util.concurrent.BrokenBarrierException e) {
            throw new IllegalStateException(e);
        }
        long t0 = System.nanoTime();
        for (Thread t : ts) t.join();
        return flops.sum() / (System.nanoTime() - t0);
    }
}
