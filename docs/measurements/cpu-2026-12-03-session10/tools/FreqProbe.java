package dev.hydra.kernels;

import dev.hydra.backend.Buf;
import java.util.SplittableRandom;
import java.util.concurrent.*;
import java.util.concurrent.atomic.AtomicBoolean;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/** A dependent chain of double adds on one thread (its rate tracks that core's clock) while T-1 others idle, run an FMA loop, or a cache-resident GEMM. */
public final class FreqProbe {
    static volatile double sink;
    static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;

    public static void main(String[] a) throws Exception {
        int T = Integer.parseInt(a[0]);
        for (int rep = 0; rep < 2; rep++)
            for (String load : new String[] {"idle", "fma", "gemm"}) {
                double r = probe(T, load);
                System.out.printf("load %-5s on %2d threads: probe %.3f adds/ns%n", load, T - 1, r);
            }
        System.exit(0);
    }

    static double chain(long n) {
        double x = 0, d = 1e-9;
        for (long i = 0; i < n; i++) x = x + d;
        return x;
    }

    static double probe(int T, String load) throws Exception {
        AtomicBoolean stop = new AtomicBoolean();
        ExecutorService ex = Executors.newFixedThreadPool(Math.max(1, T - 1));
        CountDownLatch ready = new CountDownLatch(T - 1);
        for (int t = 0; t < T - 1; t++) {
            final int seed = t;
            ex.submit(() -> {
                if (load.equals("idle")) { ready.countDown(); return null; }
                if (load.equals("fma")) {
                    FloatVector a0 = FloatVector.broadcast(F, 1f), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0, a8 = a0, a9 = a0, a10 = a0, a11 = a0;
                    FloatVector m = FloatVector.broadcast(F, 0.999999f), c = FloatVector.broadcast(F, 1e-7f);
                    ready.countDown();
                    while (!stop.get())
                        for (int i = 0; i < 100000; i++) {
                            a0 = a0.fma(m, c); a1 = a1.fma(m, c); a2 = a2.fma(m, c); a3 = a3.fma(m, c); a4 = a4.fma(m, c); a5 = a5.fma(m, c);
                            a6 = a6.fma(m, c); a7 = a7.fma(m, c); a8 = a8.fma(m, c); a9 = a9.fma(m, c); a10 = a10.fma(m, c); a11 = a11.fma(m, c);
                        }
                    sink = a0.add(a1).add(a2).add(a3).add(a4).add(a5).add(a6).add(a7).add(a8).add(a9).add(a10).add(a11).reduceLanes(jdk.incubator.vector.VectorOperators.ADD);
                    return null;
                }
                VectorBackend be = new VectorBackend(1);
                int rows = 384, in = 256, out = 256;
                SplittableRandom r = new SplittableRandom(seed);
                float[] x = new float[rows * in], w = new float[out * in];
                for (int i = 0; i < x.length; i++) x[i] = (float) r.nextDouble();
                for (int i = 0; i < w.length; i++) w[i] = (float) r.nextDouble() * 1e-3f;
                Buf xb = be.upload(x), wb = be.upload(w), bb = be.upload(new float[out]), yb = be.upload(new float[rows * out]);
                for (int i = 0; i < 100; i++) be.linear(xb, in, 0, rows, in, wb, bb, out, yb);
                ready.countDown();
                while (!stop.get()) be.linear(xb, in, 0, rows, in, wb, bb, out, yb);
                return null;
            });
        }
        ready.await();
        for (int i = 0; i < 3; i++) sink = chain(50_000_000);
        Thread.sleep(300);
        long n = 400_000_000L, t0 = System.nanoTime();
        sink = chain(n);
        double rate = n / (double) (System.nanoTime() - t0);
        stop.set(true);
        ex.shutdown();
        ex.awaitTermination(10, TimeUnit.SECONDS);
        return rate;
    }
}
