package dev.hydra.gpu;

import dev.hydra.HydraException;
import dev.hydra.backend.Buf;
import dev.hydra.backend.Sequences;
import dev.hydra.backend.Workspace;
import dev.hydra.config.HydraConfig;
import dev.hydra.forward.Inputs;
import dev.hydra.layer.HydraLayer;
import dev.hydra.weights.HydraWeights;
import dev.hydra.weights.Precision;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;
import java.util.SplittableRandom;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

/**
 * The host-array entry point's pipelined first and last products (input and output in pinned slices,
 * products in launches of a few rows, finiteness checked on the device) against the unpipelined
 * device-resident path: the same bits, the same one-line refusals, flat device memory.
 */
class CudaHostRowsTest {
    private static final HydraConfig CFG = new HydraConfig(64, 16, 7, 2, 16, 1, 0.0, Double.POSITIVE_INFINITY, false, true, true, 16);
    /** d_model 30: rows not 16-byte aligned, the FFMA products. */
    private static final HydraConfig UNALIGNED = new HydraConfig(30, 8, 3, 2, 10, 1, 0.0, Double.POSITIVE_INFINITY, false, true, true, 32);
    /** Pinned slices of 1000 floats (15 rows of 64, 33 of 30) and launches of 100 rows: every shape below is ragged. */
    private static final int SLICE = 1000, PRODUCT_ROWS = 100;

    private static HydraLayer layer(HydraConfig cfg, CudaBackend gpu) {
        Precision<float[]> p = gpu.matmul() == CudaBackend.Matmul.BF16 ? Precision.BF16 : Precision.FP32;
        return new HydraLayer(HydraWeights.load(cfg, HydraWeights.seeded(cfg, 5), "", p), gpu);
    }

    private static float[] input(int n, long seed, double scale) {
        SplittableRandom r = new SplittableRandom(seed);
        float[] u = new float[n];
        for (int i = 0; i < n; i++) u[i] = (float) (scale * r.nextGaussian());
        return u;
    }

    /** The unpipelined path: the whole input uploaded, the device-resident forward, the whole output downloaded. */
    private static float[] resident(CudaBackend gpu, HydraLayer layer, float[] u, int b, int l) {
        try (Buf ub = gpu.upload(u); Buf out = gpu.allocate(u.length); Workspace ws = new Workspace(gpu)) {
            layer.forward(ub, out, Sequences.uniform(b, l), ws);
            float[] host = new float[u.length];
            gpu.download(out, host);
            return host;
        }
    }

    /** Bit for bit, naming the first difference (AssertJ's containsExactly is quadratic in the length). */
    private static void assertSameBits(float[] actual, float[] expected, String what) {
        int at = Arrays.mismatch(actual, expected);
        assertThat(at).as("%s: first differing element %d (%s vs %s)", what, at, at >= 0 && at < actual.length ? actual[at] : "-",
                at >= 0 && at < expected.length ? expected[at] : "-").isEqualTo(-1);
    }

    @Test
    void pipelinedEqualsUnpipelinedBitForBit() {
        for (CudaBackend.Matmul mode : CudaBackend.Matmul.values()) {
            try (CudaBackend small = Gpu.backend(mode, SLICE, PRODUCT_ROWS); CudaBackend whole = Gpu.backend(mode)) {
                for (HydraConfig cfg : new HydraConfig[] {CFG, UNALIGNED}) {
                    try (HydraLayer layer = layer(cfg, small); HydraLayer wholeLayer = layer(cfg, whole)) {
                        for (int[] bl : new int[][] {{1, 1}, {1, 37}, {3, 77}, {2, 1000}}) {
                            float[] u = input(bl[0] * bl[1] * cfg.dModel(), bl[1], 1);
                            float[] want = resident(small, layer, u, bl[0], bl[1]);
                            String what = String.format("%s d_model %d (%d, %d)", mode, cfg.dModel(), bl[0], bl[1]);
                            assertSameBits(layer.forward(u, bl[0], bl[1]), want, what);
                            assertSameBits(wholeLayer.forward(u, bl[0], bl[1]), want, what + ", default slices");
                        }
                    }
                }
            }
        }
    }

    @Test
    void pageLockedSegmentsMoveByDmaAndGiveTheArraysBits() {
        for (CudaBackend.Matmul mode : new CudaBackend.Matmul[] {CudaBackend.Matmul.TF32X3, CudaBackend.Matmul.BF16}) {
            try (CudaBackend small = Gpu.backend(mode, SLICE, PRODUCT_ROWS); CudaBackend whole = Gpu.backend(mode)) {
                for (HydraConfig cfg : new HydraConfig[] {CFG, UNALIGNED}) {
                    try (HydraLayer layer = layer(cfg, small); HydraLayer wholeLayer = layer(cfg, whole)) {
                        for (int[] bl : new int[][] {{1, 1}, {3, 77}, {2, 1000}}) {
                            float[] u = input(bl[0] * bl[1] * cfg.dModel(), bl[1], 1);
                            float[] want = layer.forward(u, bl[0], bl[1]);
                            String what = String.format("%s d_model %d (%d, %d)", mode, cfg.dModel(), bl[0], bl[1]);
                            long bytes = (long) u.length * Float.BYTES;
                            MemorySegment freed;
                            try (Arena arena = Arena.ofConfined()) {
                                // the input 16 bytes into its block: a slice of page-locked memory is page-locked
                                MemorySegment in = small.allocateHost(u.length + 4, arena).asSlice(16, bytes), out = small.allocateHost(u.length, arena);
                                MemorySegment plainIn = arena.allocate(bytes, 4), plainOut = arena.allocate(bytes, 4);
                                MemorySegment.copy(u, 0, in, ValueLayout.JAVA_FLOAT, 0, u.length);
                                MemorySegment.copy(u, 0, plainIn, ValueLayout.JAVA_FLOAT, 0, u.length);
                                assertThat(CudaBackend.pageLocked(in)).isTrue();
                                assertThat(CudaBackend.pageLocked(plainIn)).isFalse();
                                layer.forward(in, bl[0], bl[1], out);
                                assertSameBits(out.toArray(ValueLayout.JAVA_FLOAT), want, what + ", page-locked");
                                wholeLayer.forward(in, bl[0], bl[1], out);
                                assertSameBits(out.toArray(ValueLayout.JAVA_FLOAT), want, what + ", page-locked, default slices");
                                layer.forward(plainIn, bl[0], bl[1], plainOut);
                                assertSameBits(plainOut.toArray(ValueLayout.JAVA_FLOAT), want, what + ", native, not page-locked");
                                in.setAtIndex(ValueLayout.JAVA_FLOAT, u.length - 1, Float.NaN);
                                float[] bad = u.clone();
                                bad[u.length - 1] = Float.NaN;
                                String cpu = catchThrowableOfType(HydraException.class, () -> Inputs.checkFinite(bad, bl[1], cfg.dModel(), "input")).getMessage();
                                assertThatThrownBy(() -> layer.forward(in, bl[0], bl[1], out)).isInstanceOf(HydraException.class).hasMessage(cpu);
                                // freed with the arena: its address is no longer taken for page-locked memory
                                freed = MemorySegment.ofAddress(in.address()).reinterpret(bytes);
                            }
                            assertThat(CudaBackend.pageLocked(freed)).as("after the arena closed").isFalse();
                        }
                    }
                }
            }
        }
    }

    @Test
    void defaultSlicesAndLaunchesAtAShapeOfSeveralOfEach() {
        // 3 x 7001 rows of 64: slices of 4096 rows (the last ragged), launches of a wave of tiles or a sixteenth of the rows
        try (CudaBackend gpu = Gpu.backend(); HydraLayer layer = layer(CFG, gpu)) {
            float[] u = input(3 * 7001 * 64, 9, 1);
            assertSameBits(layer.forward(u, 3, 7001), resident(gpu, layer, u, 3, 7001), "(3, 7001)");
        }
    }

    @Test
    void aNonFiniteInputIsRefusedNamingItsFirstElementAsOnTheCpu() {
        try (CudaBackend gpu = Gpu.backend(CudaBackend.Matmul.TF32X3, SLICE, PRODUCT_ROWS); HydraLayer layer = layer(CFG, gpu)) {
            int b = 2, l = 300, d = CFG.dModel();
            float[] clean = input(b * l * d, 1, 1);
            float[] want = layer.forward(clean, b, l);
            int[][] bad = {{1, 17, 5}, {0, 0, 0}, {1, 299, 63}, {0, 150, 31}};
            for (int[] at : bad) {
                float[] u = clean.clone();
                int i = (at[0] * l + at[1]) * d + at[2];
                u[i] = Float.NaN;
                // a later infinity, in a later slice, does not win
                if (i + 5 * d < u.length) u[i + 5 * d] = Float.POSITIVE_INFINITY;
                String cpu = catchThrowableOfType(HydraException.class, () -> Inputs.checkFinite(u, l, d, "input")).getMessage();
                assertThat(cpu).contains("(" + at[0] + ", " + at[1] + ", " + at[2] + ")");
                assertThatThrownBy(() -> layer.forward(u, b, l)).isInstanceOf(HydraException.class).hasMessage(cpu);
            }
            float[] lastOnly = clean.clone();
            lastOnly[lastOnly.length - 1] = Float.NEGATIVE_INFINITY;
            assertThatThrownBy(() -> layer.forward(lastOnly, b, l)).isInstanceOf(HydraException.class)
                    .hasMessage("input: element (1, 299, 63) is -Infinity; inputs must be finite");
            // the backend keeps working, and its flag was reset
            assertSameBits(layer.forward(clean, b, l), want, "after the refusals");
        }
    }

    @Test
    void anFp32OverflowInTheOutputIsRefusedAsOnTheUnpipelinedPath() {
        try (CudaBackend gpu = Gpu.backend(CudaBackend.Matmul.TF32X3, SLICE, PRODUCT_ROWS); HydraLayer layer = layer(CFG, gpu)) {
            int b = 2, l = 300, d = CFG.dModel();
            float[] u = input(b * l * d, 4, 1);
            // one row scaled up far enough that the scans overflow from there on
            for (int c = 0; c < d; c++) u[(l + 123) * d + c] *= 1e15f;
            float[] unpipelined = resident(gpu, layer, u, b, l);
            int first = Inputs.firstNonFinite(unpipelined);
            assertThat(first).as("the scaled row overflows").isGreaterThanOrEqualTo(0);
            String want = catchThrowableOfType(HydraException.class, () -> Inputs.checkOverflow(unpipelined, l, d, "fp32")).getMessage();
            assertThat(want).contains("overflowed the fp32 range");
            assertThatThrownBy(() -> layer.forward(u, b, l)).isInstanceOf(HydraException.class).hasMessage(want);
        }
    }

    @Test
    void linearToHostReportsTheFirstNonFiniteOutput() {
        try (CudaBackend gpu = Gpu.backend(CudaBackend.Matmul.TF32X3, SLICE, PRODUCT_ROWS)) {
            int rows = 333, in = 8, out = 40;
            float[] x = input(rows * in, 2, 1), w = input(out * in, 3, 1);
            for (int k = 0; k < in; k++) {
                x[200 * in + k] = Float.POSITIVE_INFINITY;  // row 200's outputs are not finite
                x[37 * in + k] = Float.POSITIVE_INFINITY;   // nor row 37's, the first
            }
            try (Buf xb = gpu.upload(x); Buf wb = gpu.upload(w); Buf y = gpu.allocate((long) rows * out); Arena arena = Arena.ofConfined()) {
                float[] whole = new float[rows * out];
                gpu.linear(xb, in, 0, rows, in, wb, null, out, y);
                gpu.download(y, whole);
                Arrays.fill(x, 37 * in, 38 * in, 1f);
                Arrays.fill(x, 200 * in, 201 * in, 1f);
                // through the pinned ring (a Java array) and by DMA (page-locked memory)
                for (MemorySegment host : new MemorySegment[] {MemorySegment.ofArray(new float[rows * out]), gpu.allocateHost((long) rows * out, arena)}) {
                    int first = gpu.linearToHost(xb, in, 0, rows, in, wb, null, out, y, host);
                    float[] got = host.toArray(ValueLayout.JAVA_FLOAT);
                    assertThat(first).as("native %s", host.isNative()).isEqualTo(Inputs.firstNonFinite(got)).isBetween(37 * out, 38 * out - 1);
                    assertSameBits(got, whole, "linearToHost against linear and download, native " + host.isNative());
                    // finite rows give -1
                    try (Buf fine = gpu.upload(x)) {
                        assertThat(gpu.linearToHost(fine, in, 0, rows, in, wb, null, out, y, host)).as("native %s", host.isNative()).isEqualTo(-1);
                    }
                }
            }
        }
    }

    @Test
    void deviceMemoryStaysFlatOverManyPipelinedCalls() {
        try (CudaBackend gpu = Gpu.backend(CudaBackend.Matmul.TF32X3, SLICE, PRODUCT_ROWS); HydraLayer layer = layer(CFG, gpu)) {
            float[] u = input(3 * 77 * 64, 6, 1), out = new float[u.length];
            float[] first = layer.forward(u, 3, 77).clone();
            gpu.synchronize();
            long before = gpu.memoryInfo()[0];
            for (int i = 0; i < 2000; i++) layer.forward(u, 3, 77, out);
            gpu.synchronize();
            assertThat(gpu.memoryInfo()[0]).as("free device memory after 2,000 calls").isEqualTo(before);
            assertSameBits(out, first, "the last of 2,000 calls");
        }
    }
}
