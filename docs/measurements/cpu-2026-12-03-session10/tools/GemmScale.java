package dev.hydra.kernels;

import dev.hydra.backend.Buf;
import java.util.SplittableRandom;
import java.util.concurrent.*;

/** T threads, each its own 1-thread VectorBackend, each a private cache-resident linear (rows x in -> out) for `seconds`: GFLOP/s in all. */
public final class GemmScale {
    public static void main(String[] a) throws Exception {
        int rows = Integer.parseInt(a[0]), in = Integer.parseInt(a[1]), out = Integer.parseInt(a[2]);
        double seconds = Double.parseDouble(a[3]);
        for (int i = 4; i < a.length; i++) {
            int T = Integer.parseInt(a[i]);
            double peak = FmaPeak.measure(T, 1000);
            double g = run(T, rows, in, out, seconds);
            System.out.printf("gemm %dx%d->%d  threads %2d: %8.1f GFLOP/s in all, %6.1f per thread; FMA peak %8.1f (%5.1f per thread): %.1f%%%n",
                    rows, in, out, T, g, g / T, peak, peak / T, 100 * g / peak);
        }
        System.exit(0);
    }

    static double run(int T, int rows, int in, int out, double seconds) throws Exception {
        ExecutorService ex = Executors.newFixedThreadPool(T);
        CyclicBarrier start = new CyclicBarrier(T);
        Future<long[]>[] fs = new Future[T];
        for (int t = 0; t < T; t++) {
            final int seed = t;
            fs[t] = ex.submit(() -> {
                VectorBackend be = new VectorBackend(1);
                SplittableRandom r = new SplittableRandom(seed);
                float[] x = new float[rows * in], w = new float[out * in], b = new float[out];
                for (int i = 0; i < x.length; i++) x[i] = (float) r.nextDouble();
                for (int i = 0; i < w.length; i++) w[i] = (float) r.nextDouble() * 1e-3f;
                Buf xb = be.upload(x), wb = be.upload(w), bb = be.upload(b), yb = be.upload(new float[rows * out]);
                for (int i = 0; i < 200; i++) be.linear(xb, in, 0, rows, in, wb, bb, out, yb);
                start.await();
                long t0 = System.nanoTime(), end = t0 + (long) (seconds * 1e9), n = 0, now;
                do { be.linear(xb, in, 0, rows, in, wb, bb, out, yb); n++; } while ((now = System.nanoTime()) < end);
                return new long[] {n, now - t0};
            });
        }
        double g = 0;
        for (Future<long[]> f : fs) { long[] v = f.get(); g += 2.0 * rows * in * out * v[0] / v[1]; }
        ex.shutdown();
        return g;
    }
}
