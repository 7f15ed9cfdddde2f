package dev.hydra.kernels;

import dev.hydra.backend.Backend;
import dev.hydra.config.HydraConfig;
import dev.hydra.layer.HydraLayer;
import dev.hydra.weights.HydraWeights;
import dev.hydra.weights.Precision;
import java.util.*;

/** Alternates the old and new VectorBackend in one JVM on the 768 layer; per-stage medians (ms). */
public final class ScanAB {
    public static void main(String[] a) throws Exception {
        int threads = Integer.parseInt(a[0]), batch = Integer.parseInt(a[1]), len = Integer.parseInt(a[2]), rounds = Integer.parseInt(a[3]);
        HydraConfig c = new HydraConfig(768, 64, 7, 2, 64, 1, 0.0, Double.POSITIVE_INFINITY, false, false, true, 256);
        String[] names = a.length > 4 ? java.util.Arrays.copyOfRange(a, 4, a.length) : new String[] {"VectorBackendOld", "VectorBackend"};
        int nb = names.length;
        Backend[] bs = new Backend[nb];
        for (int b = 0; b < nb; b++) bs[b] = (Backend) Class.forName("dev.hydra.kernels." + names[b]).getConstructor(int.class).newInstance(threads);
        HydraLayer[] ls = new HydraLayer[nb];
        for (int b = 0; b < nb; b++) ls[b] = new HydraLayer(HydraWeights.load(c, HydraWeights.seeded(c, 1), "", Precision.FP32), bs[b]);
        SplittableRandom r = new SplittableRandom(2);
        float[] u = new float[batch * len * 768];
        for (int i = 0; i < u.length; i++) u[i] = (float) (r.nextDouble() * 2 - 1);
        float[][] out = new float[nb][u.length];
        List<String> st = HydraLayer.STAGES;
        double[][][] t = new double[nb][st.size() + 1][rounds];
        for (int k = -2; k < rounds; k++)
            for (int b = 0; b < nb; b++) {
                final int kk = k, bb = b;
                long[] last = {System.nanoTime()};
                long s0 = last[0];
                ls[b].forward(u, batch, len, out[b], stage -> {
                    long now = System.nanoTime();
                    if (kk >= 0) t[bb][st.indexOf(stage)][kk] = (now - last[0]) / 1e6;
                    last[0] = now;
                });
                if (k >= 0) t[b][st.size()][k] = (System.nanoTime() - s0) / 1e6;
            }
        double peak = FmaPeak.measure(threads, 2000);
        java.util.Map<String, Double> fl = dev.hydra.perf.LayerFlops.stages(c);
        System.out.printf("FMA peak on %d threads: %.1f GFLOP/s (after the runs)%n", threads, peak);
        System.out.println("same bits: " + Arrays.equals(out[0], out[Math.min(1, nb - 1)]) + " " + Arrays.equals(out[0], out[nb - 1]) + "  threads " + threads + " shape " + batch + "x" + len + " rounds " + rounds);
        for (int i = 0; i <= st.size(); i++) {
            StringBuilder sb = new StringBuilder(String.format("%-10s", i < st.size() ? st.get(i) : "total"));
            for (int b = 0; b < nb; b++) { double[] v = t[b][i].clone(); Arrays.sort(v); sb.append(String.format("  %s %8.2f (%8.2f)", names[b].replace("VectorBackend", "VB"), v[v.length / 2], v[0])); }
            if (i < st.size() && fl.get(st.get(i)) > 0)
                for (int b = 0; b < nb; b++) { double[] v = t[b][i].clone(); Arrays.sort(v); double g = fl.get(st.get(i)) * batch * len / (v[v.length / 2] * 1e6); sb.append(String.format(" | %s %.0f GF/s %.0f%%", names[b].replace("VectorBackend", "VB"), g, 100 * g / peak)); }
            System.out.println(sb);
        }
        System.exit(0);
    }
}
