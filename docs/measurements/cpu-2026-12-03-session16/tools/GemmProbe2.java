// Standalone GEMM probe (sixteenth session): tile shapes, x packed or not, loop orders; java --add-modules jdk.incubator.vector GemmProbe2 M K N threads variant KC MC NCS (see intel-gemm-probe.log)
import jdk.incubator.vector.*;
import java.util.concurrent.*;
import java.util.*;

public class GemmProbe2 {
    static final VectorSpecies<Float> F = FloatVector.SPECIES_512;
    static final int VL = 16;
    static int M, K, N, KC, MC, NCS; // NCS: strips per column block
    static float[] x, xp, w, wp, y;
    static ExecutorService pool;
    static final boolean GROUPFIRST = Boolean.getBoolean("groupfirst");
    static final boolean ROWPACK = Boolean.getBoolean("rowpack"), NOCOMPUTE = Boolean.getBoolean("nocompute");
    static final boolean ORDER2 = Boolean.getBoolean("order2");
    static int threads;

    public static void main(String[] a) throws Exception {
        M = Integer.parseInt(a[0]); K = Integer.parseInt(a[1]); N = Integer.parseInt(a[2]);
        threads = Integer.parseInt(a[3]); String variant = a[4];
        KC = Integer.parseInt(a[5]); MC = Integer.parseInt(a[6]); NCS = Integer.parseInt(a[7]);
        int MR = variant.startsWith("p12") ? 12 : variant.startsWith("p8") ? 8 : 6;
        int NR = variant.endsWith("x3") ? 48 : 32;
        pool = Executors.newFixedThreadPool(threads, rr -> { Thread th = new Thread(rr); th.setDaemon(true); return th; });
        Random rnd = new Random(1);
        x = new float[M * K]; for (int i = 0; i < x.length; i++) x[i] = rnd.nextFloat() - 0.5f;
        int Np = (N + NR - 1) / NR * NR;
        wp = new float[Np * K]; for (int i = 0; i < wp.length; i++) wp[i] = rnd.nextFloat() - 0.5f;
        y = new float[M * Np];
        int Mp = (M + MR - 1) / MR * MR;
        xp = new float[Mp * K];
        packX(MR);
        double flops = 2.0 * M * K * N;
        double[] ts = new double[9];
        for (int it = 0; it < 4 + ts.length; it++) {
            long t0 = System.nanoTime();
            run(variant, MR, NR, Np);
            long t1 = System.nanoTime();
            if (it >= 4) ts[it - 4] = (t1 - t0) / 1e6;
        }
        Arrays.sort(ts);
        System.out.printf("%-8s %dx%d->%d thr=%d KC=%d MC=%d NCS=%d median %.2f ms %.1f GFLOP/s (min %.2f)%n", variant, M, K, N, threads, KC, MC, NCS, ts[4], flops / ts[4] / 1e6, ts[0]);
        pool.shutdown();
    }

    // x panels: for each panel of MR rows, k-major over the full depth
    static void packX(int MR) {
        for (int r0 = 0; r0 < M; r0 += MR)
            for (int k = 0; k < K; k++)
                for (int r = 0; r < MR; r++)
                    xp[r0 * K + k * MR + r] = r0 + r < M ? x[(r0 + r) * K + k] : 0;
    }

    static void run(String variant, int MR, int NR, int Np) throws Exception {
        int strips = Np / NR;
        if (variant.startsWith("pack")) {
            // time packing too: parallel over panels
            List<Future<?>> fs = new ArrayList<>();
            int panels = (M + MR - 1) / MR;
            for (int t = 0; t < threads; t++) { final int tt = t; fs.add(pool.submit(() -> { for (int p = tt; p < panels; p += threads) packPanel(p * MR, MR); })); }
            for (Future<?> f : fs) f.get();
        }
        if (variant.equals("t12")) { runTasks(NR, Np); return; }
        int rowBlocks = (M + MC - 1) / MC, colBlocks = (strips + NCS - 1) / NCS;
        int tasks = rowBlocks * colBlocks;
        java.util.concurrent.atomic.AtomicInteger next = new java.util.concurrent.atomic.AtomicInteger();
        List<Future<?>> fs = new ArrayList<>();
        for (int t = 0; t < threads; t++) fs.add(pool.submit(() -> {
            for (int task; (task = next.getAndIncrement()) < tasks; ) {
                int rb = task / colBlocks, cb = task % colBlocks;
                int r0 = rb * MC, r1 = Math.min(M, r0 + MC), s0 = cb * NCS, s1 = Math.min(strips, s0 + NCS);
                for (int k0 = 0; k0 < K; k0 += KC) {
                    int kc = Math.min(KC, K - k0);
                    boolean first = k0 == 0;
                    if (ORDER2) { for (int r = r0; r + MR <= r1; r += MR) for (int s = s0; s < s1; s++) { int pb = s * NR * K + k0 * NR; int yo = r * Np + s * NR;
                            if (MR == 6 && NR == 32) p6x2(xp, r * K + k0 * 6, kc, wp, pb, y, yo, Np, first);
                            else if (MR == 12) p12x2(xp, r * K + k0 * 12, kc, wp, pb, y, yo, Np, first);
                            else if (MR == 8 && NR == 48) p8x3(xp, r * K + k0 * 8, kc, wp, pb, y, yo, Np, first); } continue; }
                    for (int s = s0; s < s1; s++) {
                        int pb = s * NR * K + k0 * NR;
                        for (int r = r0; r + MR <= r1; r += MR) {
                            int yo = r * Np + s * NR;
                            if (variant.equals("u6x2")) u6x2(x, r * K + k0, K, kc, wp, pb, y, yo, Np, first);
                            else if (MR == 6 && NR == 32) p6x2(xp, r * K + k0 * 6, kc, wp, pb, y, yo, Np, first);
                            else if (MR == 12) p12x2(xp, r * K + k0 * 12, kc, wp, pb, y, yo, Np, first);
                            else if (MR == 8 && NR == 48) p8x3(xp, r * K + k0 * 8, kc, wp, pb, y, yo, Np, first);
                        }
                    }
                }
            }
        }));
        for (Future<?> f : fs) f.get();
    }

    static final int GRP = Integer.getInteger("grp", 16);
    static final ThreadLocal<float[]> BUF = ThreadLocal.withInitial(() -> new float[1 << 20]);
    static void runTasks(int NR, int Np) throws Exception {
        int strips = Np / NR;
        int rowBlocks = (M + MC - 1) / MC, colBlocks = (strips + NCS - 1) / NCS;
        int tasks = rowBlocks * colBlocks;
        java.util.concurrent.atomic.AtomicInteger next = new java.util.concurrent.atomic.AtomicInteger();
        List<Future<?>> fs = new ArrayList<>();
        for (int t = 0; t < threads; t++) fs.add(pool.submit(() -> {
            float[] buf = BUF.get();
            for (int task; (task = next.getAndIncrement()) < tasks; ) {
                int rb = task / colBlocks, cb = task % colBlocks;
                int r0 = rb * MC, r1 = Math.min(M, r0 + MC), s0 = cb * NCS, s1 = Math.min(strips, s0 + NCS);
                if (GROUPFIRST) {
                    // pack the row block over all depths: panel p at p*12*K, k-major
                    for (int r = r0; r < r0 + ((r1 - r0 + 11) / 12) * 12; r++) {
                        int o = ((r - r0) / 12) * 12 * K + (r - r0) % 12, xo = r * K;
                        if (r < r1) for (int k = 0; k < K; k++) buf[o + k * 12] = x[xo + k];
                        else for (int k = 0; k < K; k++) buf[o + k * 12] = 0;
                    }
                    for (int g0 = s0; g0 < s1; g0 += GRP) {
                        int g1 = Math.min(s1, g0 + GRP);
                        for (int k0 = 0; k0 < K; k0 += KC) {
                            int kc = Math.min(KC, K - k0);
                            boolean first = k0 == 0;
                            for (int r = r0; r + 12 <= r1; r += 12)
                                for (int s = g0; s < g1; s++)
                                    p12x2(buf, (r - r0) * K + k0 * 12, kc, wp, s * NR * K + k0 * NR, y, r * Np + s * NR, Np, first);
                        }
                    }
                    continue;
                }
                for (int k0 = 0; k0 < K; k0 += KC) {
                    int kc = Math.min(KC, K - k0);
                    boolean first = k0 == 0;
                    // pack rows [r0, r1) x depths [k0, k0+kc) into 12-row panels, k-major
                    if (ROWPACK) {
                        for (int r = r0; r < r1; r++) {
                            int o = ((r - r0) / 12) * 12 * kc + (r - r0) % 12, xo = r * K + k0;
                            for (int k = 0; k < kc; k++) buf[o + k * 12] = x[xo + k];
                        }
                        for (int r = r1; r < r0 + ((r1 - r0 + 11) / 12) * 12; r++) {
                            int o = ((r - r0) / 12) * 12 * kc + (r - r0) % 12;
                            for (int k = 0; k < kc; k++) buf[o + k * 12] = 0;
                        }
                    } else
                    for (int r = r0; r < r1; r += 12) {
                        int pbase = (r - r0) * kc;
                        for (int k = 0; k < kc; k++) {
                            int o = pbase + k * 12, xo = r * K + k0 + k;
                            for (int i = 0; i < 12; i++) buf[o + i] = r + i < r1 ? x[xo + i * K] : 0;
                        }
                    }
                    if (NOCOMPUTE) continue;
                    if (ORDER2) {
                        for (int g0 = s0; g0 < s1; g0 += GRP) {
                            int g1 = Math.min(s1, g0 + GRP);
                            for (int r = r0; r + 12 <= r1; r += 12)
                                for (int s = g0; s < g1; s++)
                                    p12x2(buf, (r - r0) * kc, kc, wp, s * NR * K + k0 * NR, y, r * Np + s * NR, Np, first);
                        }
                    } else {
                        for (int s = s0; s < s1; s++)
                            for (int r = r0; r + 12 <= r1; r += 12)
                                p12x2(buf, (r - r0) * kc, kc, wp, s * NR * K + k0 * NR, y, r * Np + s * NR, Np, first);
                    }
                }
            }
        }));
        for (Future<?> f : fs) f.get();
    }

    static void packPanel(int r0, int MR) {
        for (int k = 0; k < K; k++)
            for (int r = 0; r < MR; r++)
                xp[r0 * K + k * MR + r] = r0 + r < M ? x[(r0 + r) * K + k] : 0;
    }

    static void u6x2(float[] x, int x0, int xs, int kc, float[] p, int pb, float[] y, int y0, int ys, boolean first) {
        FloatVector c00, c01, c10, c11, c20, c21, c30, c31, c40, c41, c50, c51;
        if (first) { c00 = c10 = c20 = c30 = c40 = c50 = c01 = c11 = c21 = c31 = c41 = c51 = FloatVector.zero(F); }
        else {
            c00 = FloatVector.fromArray(F, y, y0); c01 = FloatVector.fromArray(F, y, y0 + VL);
            c10 = FloatVector.fromArray(F, y, y0 + ys); c11 = FloatVector.fromArray(F, y, y0 + ys + VL);
            c20 = FloatVector.fromArray(F, y, y0 + 2 * ys); c21 = FloatVector.fromArray(F, y, y0 + 2 * ys + VL);
            c30 = FloatVector.fromArray(F, y, y0 + 3 * ys); c31 = FloatVector.fromArray(F, y, y0 + 3 * ys + VL);
            c40 = FloatVector.fromArray(F, y, y0 + 4 * ys); c41 = FloatVector.fromArray(F, y, y0 + 4 * ys + VL);
            c50 = FloatVector.fromArray(F, y, y0 + 5 * ys); c51 = FloatVector.fromArray(F, y, y0 + 5 * ys + VL);
        }
        for (int k = 0, pk = pb; k < kc; k++, pk += 32) {
            FloatVector w0 = FloatVector.fromArray(F, p, pk), w1 = FloatVector.fromArray(F, p, pk + VL);
            FloatVector a = FloatVector.broadcast(F, x[x0 + k]); c00 = w0.fma(a, c00); c01 = w1.fma(a, c01);
            a = FloatVector.broadcast(F, x[x0 + xs + k]); c10 = w0.fma(a, c10); c11 = w1.fma(a, c11);
            a = FloatVector.broadcast(F, x[x0 + 2 * xs + k]); c20 = w0.fma(a, c20); c21 = w1.fma(a, c21);
            a = FloatVector.broadcast(F, x[x0 + 3 * xs + k]); c30 = w0.fma(a, c30); c31 = w1.fma(a, c31);
            a = FloatVector.broadcast(F, x[x0 + 4 * xs + k]); c40 = w0.fma(a, c40); c41 = w1.fma(a, c41);
            a = FloatVector.broadcast(F, x[x0 + 5 * xs + k]); c50 = w0.fma(a, c50); c51 = w1.fma(a, c51);
        }
        c00.intoArray(y, y0); c01.intoArray(y, y0 + VL); c10.intoArray(y, y0 + ys); c11.intoArray(y, y0 + ys + VL);
        c20.intoArray(y, y0 + 2 * ys); c21.intoArray(y, y0 + 2 * ys + VL); c30.intoArray(y, y0 + 3 * ys); c31.intoArray(y, y0 + 3 * ys + VL);
        c40.intoArray(y, y0 + 4 * ys); c41.intoArray(y, y0 + 4 * ys + VL); c50.intoArray(y, y0 + 5 * ys); c51.intoArray(y, y0 + 5 * ys + VL);
    }

    static void p6x2(float[] x, int x0, int kc, float[] p, int pb, float[] y, int y0, int ys, boolean first) {
        FloatVector c00, c01, c10, c11, c20, c21, c30, c31, c40, c41, c50, c51;
        if (first) { c00 = c10 = c20 = c30 = c40 = c50 = c01 = c11 = c21 = c31 = c41 = c51 = FloatVector.zero(F); }
        else {
            c00 = FloatVector.fromArray(F, y, y0); c01 = FloatVector.fromArray(F, y, y0 + VL);
            c10 = FloatVector.fromArray(F, y, y0 + ys); c11 = FloatVector.fromArray(F, y, y0 + ys + VL);
            c20 = FloatVector.fromArray(F, y, y0 + 2 * ys); c21 = FloatVector.fromArray(F, y, y0 + 2 * ys + VL);
            c30 = FloatVector.fromArray(F, y, y0 + 3 * ys); c31 = FloatVector.fromArray(F, y, y0 + 3 * ys + VL);
            c40 = FloatVector.fromArray(F, y, y0 + 4 * ys); c41 = FloatVector.fromArray(F, y, y0 + 4 * ys + VL);
            c50 = FloatVector.fromArray(F, y, y0 + 5 * ys); c51 = FloatVector.fromArray(F, y, y0 + 5 * ys + VL);
        }
        for (int k = 0, pk = pb, xk = x0; k < kc; k++, pk += 32, xk += 6) {
            FloatVector w0 = FloatVector.fromArray(F, p, pk), w1 = FloatVector.fromArray(F, p, pk + VL);
            FloatVector a = FloatVector.broadcast(F, x[xk]); c00 = w0.fma(a, c00); c01 = w1.fma(a, c01);
            a = FloatVector.broadcast(F, x[xk + 1]); c10 = w0.fma(a, c10); c11 = w1.fma(a, c11);
            a = FloatVector.broadcast(F, x[xk + 2]); c20 = w0.fma(a, c20); c21 = w1.fma(a, c21);
            a = FloatVector.broadcast(F, x[xk + 3]); c30 = w0.fma(a, c30); c31 = w1.fma(a, c31);
            a = FloatVector.broadcast(F, x[xk + 4]); c40 = w0.fma(a, c40); c41 = w1.fma(a, c41);
            a = FloatVector.broadcast(F, x[xk + 5]); c50 = w0.fma(a, c50); c51 = w1.fma(a, c51);
        }
        c00.intoArray(y, y0); c01.intoArray(y, y0 + VL); c10.intoArray(y, y0 + ys); c11.intoArray(y, y0 + ys + VL);
        c20.intoArray(y, y0 + 2 * ys); c21.intoArray(y, y0 + 2 * ys + VL); c30.intoArray(y, y0 + 3 * ys); c31.intoArray(y, y0 + 3 * ys + VL);
        c40.intoArray(y, y0 + 4 * ys); c41.intoArray(y, y0 + 4 * ys + VL); c50.intoArray(y, y0 + 5 * ys); c51.intoArray(y, y0 + 5 * ys + VL);
    }

    static void p12x2(float[] x, int x0, int kc, float[] p, int pb, float[] y, int y0, int ys, boolean first) {
        FloatVector[] dummy = null;
        FloatVector c00, c01, c10, c11, c20, c21, c30, c31, c40, c41, c50, c51, c60, c61, c70, c71, c80, c81, c90, c91, ca0, ca1, cb0, cb1;
        if (first) { c00 = c10 = c20 = c30 = c40 = c50 = c01 = c11 = c21 = c31 = c41 = c51 = c60 = c61 = c70 = c71 = c80 = c81 = c90 = c91 = ca0 = ca1 = cb0 = cb1 = FloatVector.zero(F); }
        else {
            c00 = FloatVector.fromArray(F, y, y0); c01 = FloatVector.fromArray(F, y, y0 + VL);
            c10 = FloatVector.fromArray(F, y, y0 + ys); c11 = FloatVector.fromArray(F, y, y0 + ys + VL);
            c20 = FloatVector.fromArray(F, y, y0 + 2 * ys); c21 = FloatVector.fromArray(F, y, y0 + 2 * ys + VL);
            c30 = FloatVector.fromArray(F, y, y0 + 3 * ys); c31 = FloatVector.fromArray(F, y, y0 + 3 * ys + VL);
            c40 = FloatVector.fromArray(F, y, y0 + 4 * ys); c41 = FloatVector.fromArray(F, y, y0 + 4 * ys + VL);
            c50 = FloatVector.fromArray(F, y, y0 + 5 * ys); c51 = FloatVector.fromArray(F, y, y0 + 5 * ys + VL);
            c60 = FloatVector.fromArray(F, y, y0 + 6 * ys); c61 = FloatVector.fromArray(F, y, y0 + 6 * ys + VL);
            c70 = FloatVector.fromArray(F, y, y0 + 7 * ys); c71 = FloatVector.fromArray(F, y, y0 + 7 * ys + VL);
            c80 = FloatVector.fromArray(F, y, y0 + 8 * ys); c81 = FloatVector.fromArray(F, y, y0 + 8 * ys + VL);
            c90 = FloatVector.fromArray(F, y, y0 + 9 * ys); c91 = FloatVector.fromArray(F, y, y0 + 9 * ys + VL);
            ca0 = FloatVector.fromArray(F, y, y0 + 10 * ys); ca1 = FloatVector.fromArray(F, y, y0 + 10 * ys + VL);
            cb0 = FloatVector.fromArray(F, y, y0 + 11 * ys); cb1 = FloatVector.fromArray(F, y, y0 + 11 * ys + VL);
        }
        for (int k = 0, pk = pb, xk = x0; k < kc; k++, pk += 32, xk += 12) {
            FloatVector w0 = FloatVector.fromArray(F, p, pk), w1 = FloatVector.fromArray(F, p, pk + VL);
            FloatVector a = FloatVector.broadcast(F, x[xk]); c00 = w0.fma(a, c00); c01 = w1.fma(a, c01);
            a = FloatVector.broadcast(F, x[xk + 1]); c10 = w0.fma(a, c10); c11 = w1.fma(a, c11);
            a = FloatVector.broadcast(F, x[xk + 2]); c20 = w0.fma(a, c20); c21 = w1.fma(a, c21);
            a = FloatVector.broadcast(F, x[xk + 3]); c30 = w0.fma(a, c30); c31 = w1.fma(a, c31);
            a = FloatVector.broadcast(F, x[xk + 4]); c40 = w0.fma(a, c40); c41 = w1.fma(a, c41);
            a = FloatVector.broadcast(F, x[xk + 5]); c50 = w0.fma(a, c50); c51 = w1.fma(a, c51);
            a = FloatVector.broadcast(F, x[xk + 6]); c60 = w0.fma(a, c60); c61 = w1.fma(a, c61);
            a = FloatVector.broadcast(F, x[xk + 7]); c70 = w0.fma(a, c70); c71 = w1.fma(a, c71);
            a = FloatVector.broadcast(F, x[xk + 8]); c80 = w0.fma(a, c80); c81 = w1.fma(a, c81);
            a = FloatVector.broadcast(F, x[xk + 9]); c90 = w0.fma(a, c90); c91 = w1.fma(a, c91);
            a = FloatVector.broadcast(F, x[xk + 10]); ca0 = w0.fma(a, ca0); ca1 = w1.fma(a, ca1);
            a = FloatVector.broadcast(F, x[xk + 11]); cb0 = w0.fma(a, cb0); cb1 = w1.fma(a, cb1);
        }
        c00.intoArray(y, y0); c01.intoArray(y, y0 + VL); c10.intoArray(y, y0 + ys); c11.intoArray(y, y0 + ys + VL);
        c20.intoArray(y, y0 + 2 * ys); c21.intoArray(y, y0 + 2 * ys + VL); c30.intoArray(y, y0 + 3 * ys); c31.intoArray(y, y0 + 3 * ys + VL);
        c40.intoArray(y, y0 + 4 * ys); c41.intoArray(y, y0 + 4 * ys + VL); c50.intoArray(y, y0 + 5 * ys); c51.intoArray(y, y0 + 5 * ys + VL);
        c60.intoArray(y, y0 + 6 * ys); c61.intoArray(y, y0 + 6 * ys + VL); c70.intoArray(y, y0 + 7 * ys); c71.intoArray(y, y0 + 7 * ys + VL);
        c80.intoArray(y, y0 + 8 * ys); c81.intoArray(y, y0 + 8 * ys + VL); c90.intoArray(y, y0 + 9 * ys); c91.intoArray(y, y0 + 9 * ys + VL);
        ca0.intoArray(y, y0 + 10 * ys); ca1.intoArray(y, y0 + 10 * ys + VL); cb0.intoArray(y, y0 + 11 * ys); cb1.intoArray(y, y0 + 11 * ys + VL);
    }

    static void p8x3(float[] x, int x0, int kc, float[] p, int pb, float[] y, int y0, int ys, boolean first) {
        FloatVector c00, c01, c02, c10, c11, c12, c20, c21, c22, c30, c31, c32, c40, c41, c42, c50, c51, c52, c60, c61, c62, c70, c71, c72;
        if (first) { c00 = c01 = c02 = c10 = c11 = c12 = c20 = c21 = c22 = c30 = c31 = c32 = c40 = c41 = c42 = c50 = c51 = c52 = c60 = c61 = c62 = c70 = c71 = c72 = FloatVector.zero(F); }
        else {
            c00 = FloatVector.fromArray(F, y, y0); c01 = FloatVector.fromArray(F, y, y0 + VL); c02 = FloatVector.fromArray(F, y, y0 + 2 * VL);
            c10 = FloatVector.fromArray(F, y, y0 + ys); c11 = FloatVector.fromArray(F, y, y0 + ys + VL); c12 = FloatVector.fromArray(F, y, y0 + ys + 2 * VL);
            c20 = FloatVector.fromArray(F, y, y0 + 2 * ys); c21 = FloatVector.fromArray(F, y, y0 + 2 * ys + VL); c22 = FloatVector.fromArray(F, y, y0 + 2 * ys + 2 * VL);
            c30 = FloatVector.fromArray(F, y, y0 + 3 * ys); c31 = FloatVector.fromArray(F, y, y0 + 3 * ys + VL); c32 = FloatVector.fromArray(F, y, y0 + 3 * ys + 2 * VL);
            c40 = FloatVector.fromArray(F, y, y0 + 4 * ys); c41 = FloatVector.fromArray(F, y, y0 + 4 * ys + VL); c42 = FloatVector.fromArray(F, y, y0 + 4 * ys + 2 * VL);
            c50 = FloatVector.fromArray(F, y, y0 + 5 * ys); c51 = FloatVector.fromArray(F, y, y0 + 5 * ys + VL); c52 = FloatVector.fromArray(F, y, y0 + 5 * ys + 2 * VL);
            c60 = FloatVector.fromArray(F, y, y0 + 6 * ys); c61 = FloatVector.fromArray(F, y, y0 + 6 * ys + VL); c62 = FloatVector.fromArray(F, y, y0 + 6 * ys + 2 * VL);
            c70 = FloatVector.fromArray(F, y, y0 + 7 * ys); c71 = FloatVector.fromArray(F, y, y0 + 7 * ys + VL); c72 = FloatVector.fromArray(F, y, y0 + 7 * ys + 2 * VL);
        }
        for (int k = 0, pk = pb, xk = x0; k < kc; k++, pk += 48, xk += 8) {
            FloatVector w0 = FloatVector.fromArray(F, p, pk), w1 = FloatVector.fromArray(F, p, pk + VL), w2 = FloatVector.fromArray(F, p, pk + 2 * VL);
            FloatVector a = FloatVector.broadcast(F, x[xk]); c00 = w0.fma(a, c00); c01 = w1.fma(a, c01); c02 = w2.fma(a, c02);
            a = FloatVector.broadcast(F, x[xk + 1]); c10 = w0.fma(a, c10); c11 = w1.fma(a, c11); c12 = w2.fma(a, c12);
            a = FloatVector.broadcast(F, x[xk + 2]); c20 = w0.fma(a, c20); c21 = w1.fma(a, c21); c22 = w2.fma(a, c22);
            a = FloatVector.broadcast(F, x[xk + 3]); c30 = w0.fma(a, c30); c31 = w1.fma(a, c31); c32 = w2.fma(a, c32);
            a = FloatVector.broadcast(F, x[xk + 4]); c40 = w0.fma(a, c40); c41 = w1.fma(a, c41); c42 = w2.fma(a, c42);
            a = FloatVector.broadcast(F, x[xk + 5]); c50 = w0.fma(a, c50); c51 = w1.fma(a, c51); c52 = w2.fma(a, c52);
            a = FloatVector.broadcast(F, x[xk + 6]); c60 = w0.fma(a, c60); c61 = w1.fma(a, c61); c62 = w2.fma(a, c62);
            a = FloatVector.broadcast(F, x[xk + 7]); c70 = w0.fma(a, c70); c71 = w1.fma(a, c71); c72 = w2.fma(a, c72);
        }
        c00.intoArray(y, y0); c01.intoArray(y, y0 + VL); c02.intoArray(y, y0 + 2 * VL);
        c10.intoArray(y, y0 + ys); c11.intoArray(y, y0 + ys + VL); c12.intoArray(y, y0 + ys + 2 * VL);
        c20.intoArray(y, y0 + 2 * ys); c21.intoArray(y, y0 + 2 * ys + VL); c22.intoArray(y, y0 + 2 * ys + 2 * VL);
        c30.intoArray(y, y0 + 3 * ys); c31.intoArray(y, y0 + 3 * ys + VL); c32.intoArray(y, y0 + 3 * ys + 2 * VL);
        c40.intoArray(y, y0 + 4 * ys); c41.intoArray(y, y0 + 4 * ys + VL); c42.intoArray(y, y0 + 4 * ys + 2 * VL);
        c50.intoArray(y, y0 + 5 * ys); c51.intoArray(y, y0 + 5 * ys + VL); c52.intoArray(y, y0 + 5 * ys + 2 * VL);
        c60.intoArray(y, y0 + 6 * ys); c61.intoArray(y, y0 + 6 * ys + VL); c62.intoArray(y, y0 + 6 * ys + 2 * VL);
        c70.intoArray(y, y0 + 7 * ys); c71.intoArray(y, y0 + 7 * ys + VL); c72.intoArray(y, y0 + 7 * ys + 2 * VL);
    }
}
