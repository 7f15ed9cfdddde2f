package dev.hydra.kernels;

import dev.hydra.backend.Buf;
import java.util.SplittableRandom;

/** One VectorBackend(T): linear rows x in -> out (x rows xs apart) for `seconds` after a warm-up of the same length; GFLOP/s and % of FmaPeak on T threads. */
public final class GemmProbe {
    public static void main(String[] a) throws Exception {
        int T = Integer.parseInt(a[0]);
        double seconds = Double.parseDouble(a[1]);
        double peak = FmaPeak.measure(T, 1000);
        System.out.printf("threads %d, FMA peak %.1f GFLOP/s%n", T, peak);
        VectorBackend be = new VectorBackend(T);
        for (int i = 2; i < a.length; i++) {
            String[] s = a[i].split("x");
            int rows = Integer.parseInt(s[0]), in = Integer.parseInt(s[1]), out = Integer.parseInt(s[2]);
            int xs = s.length > 3 ? Integer.parseInt(s[3]) : in;
            SplittableRandom r = new SplittableRandom(i);
            float[] x = new float[rows * xs], w = new float[out * in], b = new float[out];
            for (int j = 0; j < x.length; j++) x[j] = (float) r.nextDouble();
            for (int j = 0; j < w.length; j++) w[j] = (float) r.nextDouble() * 1e-3f;
            Buf xb = be.upload(x), wb = be.upload(w), bb = be.upload(b), yb = be.upload(new float[rows * out]);
            double best = 0, sum = 0; int reps = 0;
            for (int phase = 0; phase < 2; phase++) {
                long t0 = System.nanoTime(), end = t0 + (long) (seconds * 1e9), n = 0, now;
                do {
                    long c0 = System.nanoTime();
                    be.linear(xb, xs, 0, rows, in, wb, bb, out, yb);
                    long c1 = System.nanoTime();
                    if (phase == 1) { double g = 2.0 * rows * in * out / (c1 - c0); best = Math.max(best, g); sum += g; reps++; }
                    n++;
                } while ((now = System.nanoTime()) < end);
            }
            System.out.printf("%-22s mean %7.1f GFLOP/s (%5.1f%%)  best %7.1f (%5.1f%%)  calls %d%n", a[i], sum / reps, 100 * sum / reps / peak, best, 100 * best / peak, reps);
        }
        System.exit(0);
    }
}
