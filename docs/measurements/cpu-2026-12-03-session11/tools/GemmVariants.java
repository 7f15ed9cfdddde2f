package dev.hydra.kernels;

import jdk.incubator.vector.*;
import java.util.SplittableRandom;

/*
 * Throwaway measurement tool (eleventh session). Variant A is a deliberate copy of VectorBackend's gemmTask and gemm6
 * as of e856c2b, so that MC and KC can be set per JVM (-Dmc, -Dkc; in VectorBackend they are constants); variant B
 * is the same tile reading x from packed micro-panels. Not part of the build.
 */
/** Single-thread GEMM variants over the whole product (tasks in order): A = committed layout (x rows strided), B = x block packed in MR-row micro-panels. */
public final class GemmVariants {
    static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    static final int VL = F.length(), MR = 6, NR = 2 * VL, MC = Integer.getInteger("mc", 384), KC = Integer.getInteger("kc", 256), STRIPS = 8;

    public static void main(String[] a) throws Exception {
        double seconds = Double.parseDouble(a[0]);
        double peak = FmaPeak.measure(1, 1000);
        System.out.printf("1 thread, FMA peak %.1f GFLOP/s, MC %d KC %d%n", peak, MC, KC);
        for (int i = 1; i < a.length; i++) {
            String[] s = a[i].split("x");
            int rows = Integer.parseInt(s[0]), in = Integer.parseInt(s[1]), out = Integer.parseInt(s[2]);
            SplittableRandom r = new SplittableRandom(i);
            float[] x = new float[rows * in], w = new float[out * in], b = new float[out];
            for (int j = 0; j < x.length; j++) x[j] = (float) r.nextDouble();
            for (int j = 0; j < w.length; j++) w[j] = (float) r.nextDouble() * 1e-3f;
            float[] p = pack(w, in, out, new float[(out + NR - 1) / NR * NR * in]);
            float[] yA = new float[rows * out], yB = new float[rows * out];
            double[] sum = new double[2]; int[] n = new int[2];
            for (int round = 0; round < 6; round++)
                for (int v = 0; v < 2; v++) {
                    long t0 = System.nanoTime(), end = t0 + (long) (seconds * 1e9 / 6), now; int calls = 0;
                    do { run(v, x, in, rows, p, b, v == 0 ? yA : yB, out); calls++; } while ((now = System.nanoTime()) < end);
                    if (round > 0) { sum[v] += 2.0 * rows * in * out * calls / (now - t0); n[v]++; }
                }
            System.out.printf("%-18s A %7.1f GFLOP/s (%5.1f%%)  B packed %7.1f (%5.1f%%)  same %b%n", a[i], sum[0] / n[0], 100 * sum[0] / n[0] / peak,
                    sum[1] / n[1], 100 * sum[1] / n[1] / peak, java.util.Arrays.equals(yA, yB));
        }
        System.exit(0);
    }

    static void run(int v, float[] x, int in, int rows, float[] p, float[] bias, float[] y, int out) {
        int nc = STRIPS * NR, colTasks = (out + nc - 1) / nc, rowTasks = (rows + MC - 1) / MC;
        float[] ap = new float[0];
        for (int t = 0; t < rowTasks * colTasks; t++) {
            int r0 = (t / colTasks) * MC, r1 = Math.min(rows, r0 + MC), o0 = (t % colTasks) * nc;
            if (v == 0) task(x, in, 0, in, p, bias, y, out, r0, r1, o0, nc);
            else taskPacked(x, in, 0, in, p, bias, y, out, r0, r1, o0, nc, PA);
        }
    }
    static final float[] PA = new float[MC * KC];

    static float[] pack(float[] w, int in, int out, float[] p) {
        for (int o = 0; o < out; o += NR) {
            int nr = Math.min(NR, out - o);
            for (int i = 0; i < NR; i++) {
                if (i < nr) for (int k = 0; k < in; k++) p[o * in + k * NR + i] = w[(o + i) * in + k];
                else for (int k = 0; k < in; k++) p[o * in + k * NR + i] = 0;
            }
        }
        return p;
    }

    // assumes out % NR == 0 and rows % MR == 0 for the probe
    static void task(float[] x, int xs, int xc, int in, float[] p, float[] bias, float[] y, int out, int r0, int r1, int o0, int nc) {
        int o1 = Math.min(o0 + nc, out);
        for (int k0 = 0; k0 < in; k0 += KC) {
            int kc = Math.min(KC, in - k0);
            boolean first = k0 == 0;
            for (int o = o0; o < o1; o += NR) {
                int base = o * in + k0 * NR;
                for (int r = r0; r + MR <= r1; r += MR) gemm6(x, r * xs + xc + k0, xs, kc, p, base, y, r * out + o, out, bias, o, first);
            }
        }
    }

    static void taskPacked(float[] x, int xs, int xc, int in, float[] p, float[] bias, float[] y, int out, int r0, int r1, int o0, int nc, float[] ap) {
        int o1 = Math.min(o0 + nc, out);
        for (int k0 = 0; k0 < in; k0 += KC) {
            int kc = Math.min(KC, in - k0);
            boolean first = k0 == 0;
            // rows [r0, r1) x [k0, k0 + kc) as micro-panels of MR rows, k-major: (r - r0) / MR * MR * kc + k * MR + (r - r0) % MR
            for (int g = r0; g + MR <= r1; g += MR) {
                int base = (g - r0) * kc;
                for (int i = 0; i < MR; i++) {
                    int src = (g + i) * xs + xc + k0;
                    for (int k = 0; k < kc; k++) ap[base + k * MR + i] = x[src + k];
                }
            }
            for (int o = o0; o < o1; o += NR) {
                int base = o * in + k0 * NR;
                for (int r = r0; r + MR <= r1; r += MR) gemm6p(ap, (r - r0) * kc, kc, p, base, y, r * out + o, out, bias, o, first);
            }
        }
    }

    static void gemm6(float[] x, int x0, int xs, int kc, float[] p, int pb, float[] y, int y0, int ys, float[] bias, int bo, boolean first) {
        FloatVector c00, c01, c10, c11, c20, c21, c30, c31, c40, c41, c50, c51;
        if (first) {
            FloatVector b0 = FloatVector.fromArray(F, bias, bo), b1 = FloatVector.fromArray(F, bias, bo + VL);
            c00 = c10 = c20 = c30 = c40 = c50 = b0;
            c01 = c11 = c21 = c31 = c41 = c51 = b1;
        } else {
            c00 = FloatVector.fromArray(F, y, y0); c01 = FloatVector.fromArray(F, y, y0 + VL);
            c10 = FloatVector.fromArray(F, y, y0 + ys); c11 = FloatVector.fromArray(F, y, y0 + ys + VL);
            c20 = FloatVector.fromArray(F, y, y0 + 2 * ys); c21 = FloatVector.fromArray(F, y, y0 + 2 * ys + VL);
            c30 = FloatVector.fromArray(F, y, y0 + 3 * ys); c31 = FloatVector.fromArray(F, y, y0 + 3 * ys + VL);
            c40 = FloatVector.fromArray(F, y, y0 + 4 * ys); c41 = FloatVector.fromArray(F, y, y0 + 4 * ys + VL);
            c50 = FloatVector.fromArray(F, y, y0 + 5 * ys); c51 = FloatVector.fromArray(F, y, y0 + 5 * ys + VL);
        }
        for (int k = 0, pk = pb; k < kc; k++, pk += NR) {
            FloatVector w0 = FloatVector.fromArray(F, p, pk), w1 = FloatVector.fromArray(F, p, pk + VL);
            FloatVector a = FloatVector.broadcast(F, x[x0 + k]);
            c00 = w0.fma(a, c00); c01 = w1.fma(a, c01);
            a = FloatVector.broadcast(F, x[x0 + xs + k]);
            c10 = w0.fma(a, c10); c11 = w1.fma(a, c11);
            a = FloatVector.broadcast(F, x[x0 + 2 * xs + k]);
            c20 = w0.fma(a, c20); c21 = w1.fma(a, c21);
            a = FloatVector.broadcast(F, x[x0 + 3 * xs + k]);
            c30 = w0.fma(a, c30); c31 = w1.fma(a, c31);
            a = FloatVector.broadcast(F, x[x0 + 4 * xs + k]);
            c40 = w0.fma(a, c40); c41 = w1.fma(a, c41);
            a = FloatVector.broadcast(F, x[x0 + 5 * xs + k]);
            c50 = w0.fma(a, c50); c51 = w1.fma(a, c51);
        }
        c00.intoArray(y, y0); c01.intoArray(y, y0 + VL);
        c10.intoArray(y, y0 + ys); c11.intoArray(y, y0 + ys + VL);
        c20.intoArray(y, y0 + 2 * ys); c21.intoArray(y, y0 + 2 * ys + VL);
        c30.intoArray(y, y0 + 3 * ys); c31.intoArray(y, y0 + 3 * ys + VL);
        c40.intoArray(y, y0 + 4 * ys); c41.intoArray(y, y0 + 4 * ys + VL);
        c50.intoArray(y, y0 + 5 * ys); c51.intoArray(y, y0 + 5 * ys + VL);
    }

    static void gemm6p(float[] x, int x0, int kc, float[] p, int pb, float[] y, int y0, int ys, float[] bias, int bo, boolean first) {
        FloatVector c00, c01, c10, c11, c20, c21, c30, c31, c40, c41, c50, c51;
        if (first) {
            FloatVector b0 = FloatVector.fromArray(F, bias, bo), b1 = FloatVector.fromArray(F, bias, bo + VL);
            c00 = c10 = c20 = c30 = c40 = c50 = b0;
            c01 = c11 = c21 = c31 = c41 = c51 = b1;
        } else {
            c00 = FloatVector.fromArray(F, y, y0); c01 = FloatVector.fromArray(F, y, y0 + VL);
            c10 = FloatVector.fromArray(F, y, y0 + ys); c11 = FloatVector.fromArray(F, y, y0 + ys + VL);
            c20 = FloatVector.fromArray(F, y, y0 + 2 * ys); c21 = FloatVector.fromArray(F, y, y0 + 2 * ys + VL);
            c30 = FloatVector.fromArray(F, y, y0 + 3 * ys); c31 = FloatVector.fromArray(F, y, y0 + 3 * ys + VL);
            c40 = FloatVector.fromArray(F, y, y0 + 4 * ys); c41 = FloatVector.fromArray(F, y, y0 + 4 * ys + VL);
            c50 = FloatVector.fromArray(F, y, y0 + 5 * ys); c51 = FloatVector.fromArray(F, y, y0 + 5 * ys + VL);
        }
        for (int k = 0, pk = pb, xk = x0; k < kc; k++, pk += NR, xk += MR) {
            FloatVector w0 = FloatVector.fromArray(F, p, pk), w1 = FloatVector.fromArray(F, p, pk + VL);
            FloatVector a = FloatVector.broadcast(F, x[xk]);
            c00 = w0.fma(a, c00); c01 = w1.fma(a, c01);
            a = FloatVector.broadcast(F, x[xk + 1]);
            c10 = w0.fma(a, c10); c11 = w1.fma(a, c11);
            a = FloatVector.broadcast(F, x[xk + 2]);
            c20 = w0.fma(a, c20); c21 = w1.fma(a, c21);
            a = FloatVector.broadcast(F, x[xk + 3]);
            c30 = w0.fma(a, c30); c31 = w1.fma(a, c31);
            a = FloatVector.broadcast(F, x[xk + 4]);
            c40 = w0.fma(a, c40); c41 = w1.fma(a, c41);
            a = FloatVector.broadcast(F, x[xk + 5]);
            c50 = w0.fma(a, c50); c51 = w1.fma(a, c51);
        }
        c00.intoArray(y, y0); c01.intoArray(y, y0 + VL);
        c10.intoArray(y, y0 + ys); c11.intoArray(y, y0 + ys + VL);
        c20.intoArray(y, y0 + 2 * ys); c21.intoArray(y, y0 + 2 * ys + VL);
        c30.intoArray(y, y0 + 3 * ys); c31.intoArray(y, y0 + 3 * ys + VL);
        c40.intoArray(y, y0 + 4 * ys); c41.intoArray(y, y0 + 4 * ys + VL);
        c50.intoArray(y, y0 + 5 * ys); c51.intoArray(y, y0 + 5 * ys + VL);
    }
}
