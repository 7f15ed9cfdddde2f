package dev.hydra.gpu;

import dev.hydra.Accuracy;
import dev.hydra.HydraException;
import dev.hydra.backend.Backend;
import dev.hydra.backend.Buf;
import dev.hydra.runtime.Backends;
import dev.hydra.config.HydraConfig;
import dev.hydra.io.SafeTensors;
import dev.hydra.kernels.ScalarBackend;
import dev.hydra.layer.HydraLayer;
import dev.hydra.forward.Stages;
import dev.hydra.weights.HydraWeights;
import dev.hydra.weights.Precision;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.net.URISyntaxException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Set;
import java.util.SplittableRandom;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The bf16 mode (projections and chunk-output products on bf16 tensor cores, fp32 accumulation) against
 * the fp64 goldens and against the scalar CPU layer in fp32, each held to the error measured on the H200
 * with a fixed margin (docs/gpu.md gives the measured figures); and the selection of bf16 by precision.
 */
class CudaBf16Test {
    /**
     * Twice the largest relative error measured on the H200: goldens 4.9e-3 (hydra_p1's output; mixer
     * outputs 2.1e-3 to 2.3e-3), the fp32 CPU 4.9e-3 (outputs 1.2e-4 to 4.9e-3, mixes 3.2e-4 to 3.0e-3).
     */
    static final double GOLDEN_BOUND = 1e-2, CPU_BOUND = 1e-2;

    @ParameterizedTest
    @CsvSource({"hydra_p1.safetensors", "hydra_p2.safetensors", "hydra_p3.safetensors"})
    void bf16GpuMatchesTheRelease(String file) throws URISyntaxException {
        try (CudaBackend gpu = Gpu.backend(CudaBackend.Matmul.BF16);
             SafeTensors st = SafeTensors.open(Path.of(CudaBf16Test.class.getResource("/golden/" + file).toURI()))) {
            HydraConfig cfg = HydraConfig.fromJson(st.metadataJson("config"), file, Set.of("batch", "seqlen", "triton_fp32_max_rel_err"));
            long[] shape = st.info("input").shape();
            try (HydraLayer layer = new HydraLayer(HydraWeights.load(cfg, st, "param.", Precision.BF16), gpu)) {
                Stages<float[]> s = layer.forwardStages(st.floats("input"), (int) shape[0], (int) shape[1]);
                double out = Accuracy.relErr(s.output(), st.doubles("output")), mix = Accuracy.relErr(s.mix(), st.doubles("mixer_output"));
                System.out.printf("golden %s, BF16: output rel err %.2e, mixer_output %.2e%n", file, out, mix);
                assertThat(out).as(file).isLessThanOrEqualTo(GOLDEN_BOUND);
                assertThat(mix).as(file).isLessThanOrEqualTo(GOLDEN_BOUND);
            }
        }
    }

    @Test
    void bf16GpuMatchesTheFp32CpuOnRandomConfigurations() {
        SplittableRandom r = new SplittableRandom(20261202);
        try (CudaBackend gpu = Gpu.backend(CudaBackend.Matmul.BF16)) {
            // (d_model, d_state, d_conv, headdim, ngroups, chunk, init states, bias, batch, len)
            int[][] cases = {
                    {64, 16, 7, 16, 1, 16, 1, 1, 3, 37},     // L not a multiple of the chunk, learnable init states
                    {96, 24, 5, 24, 2, 20, 1, 0, 2, 83},     // d_state 24: k padded to 32 for the m16n8k16 products
                    {160, 80, 7, 80, 2, 100, 0, 1, 2, 130},  // P, N above one 64-wide tile
                    {768, 64, 7, 64, 1, 256, 0, 0, 2, 600},  // the release's layer, several chunks
                    {30, 8, 3, 10, 1, 8, 0, 1, 2, 19},       // rows not 16-byte aligned: FFMA projections
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
                    double out = Accuracy.relErr(g.output(), c.output()), mix = Accuracy.relErr(g.mix(), c.mix());
                    System.out.printf("bf16 gpu vs fp32 cpu: %s: output rel err %.2e, mix %.2e%n", what, out, mix);
                    assertThat(out).as(what).isLessThanOrEqualTo(CPU_BOUND);
                    assertThat(mix).as(what).isLessThanOrEqualTo(CPU_BOUND);
                }
            }
        }
    }

    /**
     * linear_bf16_kernel on the shapes at its tiles' edges (rows and outputs off the 128-wide tiles, odd
     * output counts, K off the 32-wide step, x a column range of a wider tensor, with and without bias)
     * against the exact product of the operands rounded to nearest even bf16. The operands are integers,
     * |x| <= 2048 (from 256 up many are ties between two bf16, which only round-to-even gets right) and
     * |W| <= 3, scaled by powers of two per row: every partial sum is the element's scale times an integer
     * below 2048 * 3 * 1536 < 2^24, so fp32 accumulation is exact in any order, and the bias is added with
     * one rounding: the result must be bit-identical to the double-precision reference rounded to float.
     */
    @Test
    void bf16ProductIsTheExactProductOfOperandsRoundedToNearestEven() {
        SplittableRandom r = new SplittableRandom(1302);
        try (CudaBackend gpu = Gpu.backend(CudaBackend.Matmul.BF16)) {
            // rows, K, outputs, x stride, x column, bias
            int[][] products = {{300, 1536, 200, 1544, 8, 1}, {131, 100, 77, 104, 4, 0}, {257, 36, 129, 40, 4, 1}, {1, 768, 3376, 768, 0, 0},
                    {128, 4, 128, 4, 0, 1}, {513, 64, 33, 72, 8, 1}};
            for (int[] k : products) {
                int m = k[0], in = k[1], out = k[2], stride = k[3], col = k[4];
                float[] x = new float[m * stride], w = new float[out * in], bias = k[5] == 1 ? new float[out] : null;
                for (int i = 0; i < m; i++)
                    for (int c = 0; c < stride; c++) x[i * stride + c] = Math.scalb((float) r.nextInt(-2048, 2049), -(i % 5));
                for (int n = 0; n < out; n++)
                    for (int c = 0; c < in; c++) w[n * in + c] = Math.scalb((float) r.nextInt(-3, 4), n % 3);
                if (bias != null) for (int n = 0; n < out; n++) bias[n] = r.nextInt(-1000, 1001);
                float[] want = new float[m * out], got = new float[m * out];
                for (int i = 0; i < m; i++)
                    for (int n = 0; n < out; n++) {
                        double sum = bias == null ? 0 : bias[n];
                        for (int c = 0; c < in; c++) sum += (double) bf16(x[i * stride + col + c]) * bf16(w[n * in + c]);
                        want[i * out + n] = (float) sum;
                    }
                try (Buf gx = gpu.upload(x); Buf gw = gpu.upload(w); Buf gb = bias == null ? null : gpu.upload(bias); Buf y = gpu.allocate((long) m * out)) {
                    gpu.linear(gx, stride, col, m, in, gw, gb, out, y);
                    gpu.download(y, got);
                }
                int at = Arrays.mismatch(got, want);
                assertThat(at).as("bf16 product %s: first differing element %d (%s, exact %s)", Arrays.toString(k), at, at >= 0 ? got[at] : "-",
                        at >= 0 ? want[at] : "-").isEqualTo(-1);
            }
        }
    }

    /** v rounded to the nearest bf16, ties to even (finite v far from the largest float). */
    private static float bf16(float v) {
        int b = Float.floatToRawIntBits(v);
        return Float.intBitsToFloat((b + 0x7fff + ((b >>> 16) & 1)) & 0xffff0000);
    }

    @Test
    void bf16IsTheGpuBackendsModeAndTheCpuRefusesIt() {
        for (String cpu : new String[] {"cpu", "scalar"})
            assertThatThrownBy(() -> Backends.named(cpu, Precision.BF16)).isInstanceOf(HydraException.class)
                    .hasMessage("bf16 runs only on the gpu backend; the CPU backends compute in fp32 or fp64 (got --backend " + cpu + ")");
        String why = CudaDriver.unavailableReason();
        if (why != null) {
            assertThatThrownBy(() -> Backends.named("gpu", Precision.BF16)).isInstanceOf(HydraException.class)
                    .hasMessageContaining("the GPU cannot run here: " + why);
            return;
        }
        try (Backend gpu = Backends.named("gpu", Precision.BF16); Backend auto = Backends.named("auto", Precision.BF16);
             Backend fp32 = Backends.named("gpu", Precision.FP32)) {
            assertThat(((CudaBackend) gpu).matmul()).isEqualTo(CudaBackend.Matmul.BF16);
            assertThat(((CudaBackend) auto).matmul()).isEqualTo(CudaBackend.Matmul.BF16);
            assertThat(((CudaBackend) fp32).matmul()).isNotEqualTo(CudaBackend.Matmul.BF16);
        }
    }
}
