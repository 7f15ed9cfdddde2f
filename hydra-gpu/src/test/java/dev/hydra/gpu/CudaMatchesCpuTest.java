package dev.hydra.gpu;

import dev.hydra.Accuracy;
import dev.hydra.backend.Backend;
import dev.hydra.backend.Buf;
import dev.hydra.backend.Sequences;
import dev.hydra.config.HydraConfig;
import dev.hydra.forward.Stages;
import dev.hydra.kernels.ScalarBackend;
import dev.hydra.layer.HydraLayer;
import dev.hydra.weights.HydraWeights;
import dev.hydra.weights.Precision;
import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.SplittableRandom;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The GPU layer (default 3xTF32 projections) equals the scalar CPU layer, stage by stage, on random
 * configurations and inputs, to fp32 rounding (5e-5 relative); and the elementwise kernels, each on the
 * shapes that pick its float4 and scalar paths, equal the CPU's operations.
 */
class CudaMatchesCpuTest {

    @Test
    void randomConfigurationsIncludingShortAndRaggedSequences() {
        SplittableRandom r = new SplittableRandom(20261123);
        try (CudaBackend gpu = Gpu.backend()) {
            // (d_model, d_state, d_conv, headdim, ngroups, chunk, init states, bias, batch, len)
            int[][] cases = {
                    {64, 16, 7, 16, 1, 16, 0, 0, 2, 1},      // L = 1
                    {64, 16, 7, 16, 1, 16, 1, 1, 3, 37},     // L not a multiple of the chunk, learnable init states
                    {32, 8, 3, 8, 2, 8, 0, 1, 1, 29},        // two groups
                    {96, 24, 5, 24, 2, 20, 1, 0, 2, 83},     // sizes off every tile edge
                    {128, 64, 7, 64, 1, 64, 0, 0, 1, 200},
                    {160, 80, 7, 80, 2, 100, 0, 1, 2, 130},  // P, N above one 64-wide tile
                    {64, 16, 7, 16, 1, 256, 0, 0, 1, 300},   // chunk 256 (the release's default)
                    {30, 8, 3, 10, 1, 8, 0, 1, 2, 19},       // rows not 16-byte aligned: FFMA projections
                    {64, 16, 17, 16, 1, 16, 0, 0, 2, 41},    // a conv wider than the kernel's register window
            };
            for (int[] k : cases) {
                HydraConfig cfg = new HydraConfig(k[0], k[1], k[2], 2, k[3], k[4], 0.0, Double.POSITIVE_INFINITY, k[6] == 1, k[7] == 1, true, k[5]);
                HydraWeights<float[]> w = HydraWeights.load(cfg, HydraWeights.seeded(cfg, r.nextLong()), "", Precision.FP32);
                int b = k[8], l = k[9];
                float[] u = new float[b * l * cfg.dModel()];
                for (int i = 0; i < u.length; i++) u[i] = (float) r.nextGaussian();
                try (HydraLayer onGpu = new HydraLayer(w, gpu); HydraLayer onCpu = new HydraLayer(w, new ScalarBackend())) {
                    Stages<float[]> g = onGpu.forwardStages(u, b, l), c = onCpu.forwardStages(u, b, l);
                    String what = String.format("d_model %d d_state %d headdim %d groups %d chunk %d B %d L %d", k[0], k[1], k[3], k[4], k[5], b, l);
                    var gs = g.named();
                    c.named().forEach((name, cpu) -> {
                        double e = Accuracy.relErr(gs.get(name), cpu);
                        assertThat(e).as("%s: %s", what, name).isLessThanOrEqualTo(5e-5);
                    });
                    System.out.printf("gpu == cpu: %s: output rel err %.2e%n", what, Accuracy.relErr(g.output(), c.output()));
                }
            }
        }
    }

    /**
     * Steps 6-7 in one pass on the GPU (shift_diagonal_norm_kernel) against the two steps on the CPU, on packed
     * sequences of unequal lengths (several runs, a length of 1), in float4 and in scalar accesses, with the mix
     * kept and without it.
     */
    @Test
    void shiftDiagonalAndNormInOnePassMatchTheTwoStepsOnTheCpu() {
        SplittableRandom r = new SplittableRandom(613);
        Sequences seqs = Sequences.of(5, 1, 37, 37, 2, 130);
        int rows = seqs.rows();
        ScalarBackend cpu = new ScalarBackend();
        try (CudaBackend gpu = Gpu.backend()) {
            // heads, headdim, x stride, z stride, z column: the release's widths (float4); headdim 10 (scalar); z rows off 16 bytes (scalar); z column 4 (float4)
            int[][] cases = {{24, 64, 1792, 3376, 0}, {3, 10, 34, 70, 3}, {5, 8, 44, 90, 2}, {5, 8, 44, 92, 4}};
            for (int[] k : cases) {
                int heads = k[0], headdim = k[1], xStride = k[2], zStride = k[3], zCol = k[4], D = heads * headdim;
                float[] yF = gaussian(r, rows * D), yB = gaussian(r, rows * D), x = gaussian(r, rows * xStride), delta = gaussian(r, rows * heads),
                        z = gaussian(r, rows * zStride), w = gaussian(r, D);
                Buf mixC = cpu.allocate((long) rows * D), outC = cpu.allocate((long) rows * D);
                cpu.shiftAddDiagonal(seqs, heads, headdim, cpu.upload(yF), cpu.upload(yB), cpu.upload(x), xStride, cpu.upload(delta), mixC);
                cpu.gatedRmsNorm(mixC, rows, D, cpu.upload(z), zStride, zCol, cpu.upload(w), 1e-5f, outC);
                float[] mixWant = new float[rows * D], outWant = new float[rows * D];
                cpu.download(mixC, mixWant);
                cpu.download(outC, outWant);
                for (boolean keepMix : new boolean[] {true, false})
                    try (Buf gyF = gpu.upload(yF); Buf gyB = gpu.upload(yB); Buf gx = gpu.upload(x); Buf gd = gpu.upload(delta); Buf gz = gpu.upload(z);
                         Buf gw = gpu.upload(w); Buf mix = keepMix ? gpu.allocate((long) rows * D) : null; Buf out = gpu.allocate((long) rows * D)) {
                        gpu.shiftAddDiagonalNorm(seqs, heads, headdim, gyF, gyB, gx, xStride, gd, gz, zStride, zCol, gw, 1e-5f, mix, out);
                        String what = Arrays.toString(k) + (keepMix ? ", mix kept" : "");
                        float[] got = new float[rows * D];
                        gpu.download(out, got);
                        assertThat(Accuracy.relErr(got, outWant)).as("%s: output", what).isLessThanOrEqualTo(5e-6);
                        if (keepMix) {
                            gpu.download(mix, got);
                            assertThat(Accuracy.relErr(got, mixWant)).as("%s: mix", what).isLessThanOrEqualTo(1e-6);
                        }
                    }
            }
        }
    }

    /**
     * The conv (4 channels a thread where rows and columns are 16-byte aligned, else one; kernel widths in each
     * register window and above them; packed sequences) and fc_D's skinny product (float4 or scalar loads;
     * rows, K and outputs off the kernel's 128, 32 and 8) on the GPU against the CPU.
     */
    @Test
    void convAndSkinnyProductMatchTheCpu() {
        SplittableRandom r = new SplittableRandom(614);
        Sequences seqs = Sequences.of(9, 1, 40, 40, 3, 131);
        int rows = seqs.rows();
        ScalarBackend cpu = new ScalarBackend();
        try (CudaBackend gpu = Gpu.backend()) {
            // channels, source stride, source column, kernel width
            int[][] convs = {{92, 164, 60, 7}, {92, 164, 60, 3}, {40, 52, 8, 4}, {90, 164, 60, 7}, {92, 166, 60, 5}, {90, 164, 60, 3}, {92, 164, 61, 9}, {24, 32, 4, 17}};
            for (int[] k : convs) {
                int ch = k[0], stride = k[1], col = k[2], width = k[3];
                float[] src = gaussian(r, rows * stride), w = gaussian(r, ch * width), bias = gaussian(r, ch);
                Buf want = cpu.allocate((long) rows * ch);
                cpu.convSilu(cpu.upload(src), stride, col, seqs, ch, cpu.upload(w), cpu.upload(bias), width, want);
                try (Buf gs = gpu.upload(src); Buf gw = gpu.upload(w); Buf gb = gpu.upload(bias); Buf got = gpu.allocate((long) rows * ch)) {
                    gpu.convSilu(gs, stride, col, seqs, ch, gw, gb, width, got);
                    assertThat(Accuracy.relErr(host(gpu, got, rows * ch), host(cpu, want, rows * ch))).as("conv %s", Arrays.toString(k)).isLessThanOrEqualTo(2e-6);
                }
            }
            // rows, K, outputs, x stride, x column, bias
            int[][] products = {{300, 1536, 24, 1792, 0, 1}, {131, 60, 5, 92, 0, 0}, {257, 70, 32, 93, 3, 1}, {1, 32, 1, 32, 0, 0}, {129, 100, 9, 104, 4, 1}};
            for (int[] k : products) {
                int m = k[0], in = k[1], out = k[2], stride = k[3], col = k[4];
                float[] x = gaussian(r, m * stride), w = gaussian(r, out * in), bias = k[5] == 1 ? gaussian(r, out) : null;
                Buf want = cpu.allocate((long) m * out);
                cpu.linear(cpu.upload(x), stride, col, m, in, cpu.upload(w), bias == null ? null : cpu.upload(bias), out, want);
                try (Buf gx = gpu.upload(x); Buf gw = gpu.upload(w); Buf gb = bias == null ? null : gpu.upload(bias); Buf got = gpu.allocate((long) m * out)) {
                    gpu.linear(gx, stride, col, m, in, gw, gb, out, got);
                    assertThat(Accuracy.relErr(host(gpu, got, m * out), host(cpu, want, m * out))).as("skinny %s", Arrays.toString(k)).isLessThanOrEqualTo(1e-5);
                }
            }
        }
    }

    private static float[] host(Backend be, Buf b, int n) {
        float[] h = new float[n];
        be.download(b, h);
        return h;
    }

    private static float[] gaussian(SplittableRandom r, int n) {
        float[] f = new float[n];
        for (int i = 0; i < n; i++) f[i] = (float) r.nextGaussian();
        return f;
    }
}
