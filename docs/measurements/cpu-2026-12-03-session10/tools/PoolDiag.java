package dev.hydra.kernels;

import dev.hydra.config.HydraConfig;
import dev.hydra.layer.HydraLayer;
import dev.hydra.weights.HydraWeights;
import dev.hydra.weights.Precision;
import java.util.*;

/** Per stage: wall ms, pool calls, time in pool calls, busy (task time / T), start lag / T, end idle / T, outside pool. Medians over rounds. */
public final class PoolDiag {
    public static void main(String[] a) throws Exception {
        int threads = Integer.parseInt(a[0]), batch = Integer.parseInt(a[1]), len = Integer.parseInt(a[2]), rounds = Integer.parseInt(a[3]);
        HydraConfig c = new HydraConfig(768, 64, 7, 2, 64, 1, 0.0, Double.POSITIVE_INFINITY, false, false, true, 256);
        VectorBackend be = new VectorBackend(threads);
        HydraLayer layer = new HydraLayer(HydraWeights.load(c, HydraWeights.seeded(c, 1), "", Precision.FP32), be);
        SplittableRandom r = new SplittableRandom(2);
        float[] u = new float[batch * len * 768];
        for (int i = 0; i < u.length; i++) u[i] = (float) (r.nextDouble() * 2 - 1);
        float[] out = new float[u.length];
        List<String> st = HydraLayer.STAGES;
        int S = st.size() + 1, M = 8;
        double[][][] t = new double[S][M][rounds];
        for (int k = -2; k < rounds; k++) {
            final int kk = k;
            long[] last = {System.nanoTime()};
            long[] snap = new long[8];
            synchronized (WorkerPool.STATS) { System.arraycopy(WorkerPool.STATS, 0, snap, 0, 8); }
            long s0 = last[0];
            long[] first = snap.clone();
            layer.forward(u, batch, len, out, stage -> {
                long now = System.nanoTime();
                long[] cur = new long[8];
                synchronized (WorkerPool.STATS) { System.arraycopy(WorkerPool.STATS, 0, cur, 0, 8); }
                if (kk >= 0) record(t[st.indexOf(stage)], kk, now - last[0], cur, snap, threads);
                System.arraycopy(cur, 0, snap, 0, 8);
                last[0] = now;
            });
            long[] cur = new long[8];
            synchronized (WorkerPool.STATS) { System.arraycopy(WorkerPool.STATS, 0, cur, 0, 8); }
            if (k >= 0) record(t[S - 1], k, System.nanoTime() - s0, cur, first, threads);
        }
        double peak = FmaPeak.measure(threads, 2000);
        System.out.printf("threads %d shape %dx%d rounds %d spin %d; FMA peak %.1f GFLOP/s%n", threads, batch, len, rounds, WorkerPool.SPIN_MICROS, peak);
        System.out.printf("%-10s %9s %6s %9s %9s %9s %9s %9s %9s%n", "stage", "ms", "calls", "inPool", "busy/T", "lag/T", "tail/T", "outside", "inline");
        for (int i = 0; i < S; i++) {
            double[] m = new double[M];
            for (int j = 0; j < M; j++) { double[] v = t[i][j].clone(); Arrays.sort(v); m[j] = v[v.length / 2]; }
            System.out.printf("%-10s %9.2f %6.0f %9.2f %9.2f %9.2f %9.2f %9.2f %9.2f%n", i < S - 1 ? st.get(i) : "total", m[0], m[1], m[2], m[3], m[4], m[5], m[2] >= 0 ? m[0] - m[2] - m[6] : 0, m[6]);
        }
        System.exit(0);
    }

    static void record(double[][] t, int k, long wall, long[] cur, long[] prev, int T) {
        t[0][k] = wall / 1e6;
        t[1][k] = cur[0] - prev[0];
        t[2][k] = (cur[1] - prev[1]) / 1e6;
        t[3][k] = (cur[2] - prev[2]) / 1e6 / T;
        t[4][k] = (cur[3] - prev[3]) / 1e6 / T;
        t[5][k] = (cur[4] - prev[4]) / 1e6 / T;
        t[6][k] = (cur[6] - prev[6]) / 1e6;
    }
}
