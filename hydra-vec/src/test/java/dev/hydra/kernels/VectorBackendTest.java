package dev.hydra.kernels;

import dev.hydra.backend.Backend;
import dev.hydra.backend.Buf;
import dev.hydra.backend.HeapBuf;
import dev.hydra.backend.ScanLayout;
import dev.hydra.backend.Sequences;
import dev.hydra.backend.Workspace;
import dev.hydra.config.HydraConfig;
import dev.hydra.layer.HydraLayer;
import dev.hydra.weights.HydraWeights;
import dev.hydra.weights.Precision;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Random;
import java.util.function.Function;
import java.util.stream.IntStream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** Every VectorBackend kernel against ScalarBackend on random shapes (tails of the species included), and thread-count determinism. */
class VectorBackendTest {
    private static final ScalarBackend SCALAR = new ScalarBackend();
    private static final VectorBackend VECTOR = new VectorBackend(2);
    private static final int VL = VectorBackend.lanes();

    @Test
    void runsAtTheRequestedSpeciesWidth() {
        String bits = System.getProperty(VectorBackend.WIDTH_PROPERTY);
        int expected = bits == null ? VectorBackend.preferredBits() : Integer.parseInt(bits);
        assertThat(VL * Float.SIZE).isEqualTo(expected);
        assertThatThrownBy(() -> VectorBackend.species("384")).hasMessage("hydra.tests.vectorsize must be 128, 256 or 512, got '384'");
    }

    @Test
    void linearMatchesScalar() {
        Random rnd = new Random(1);
        int[] sizes = {1, 3, 5, VL - 1, VL, VL + 1, 2 * VL + 3, 4 * VL * 2 + 7, 300};
        for (int trial = 0; trial < 40; trial++) {
            int rows = pick(rnd, 1, 2, 6, 7, 13, 97, 100, 800), in = pick(rnd, sizes), out = pick(rnd, sizes);
            int xCol = rnd.nextInt(3), xStride = in + xCol + rnd.nextInt(3);
            float[] x = random(rnd, rows * xStride), w = random(rnd, out * in), bias = rnd.nextBoolean() ? random(rnd, out) : null;
            String what = "linear rows=" + rows + " in=" + in + " out=" + out;
            compare(what, rows * out, be -> {
                Buf y = be.allocate(rows * out);
                be.linear(be.upload(x), xStride, xCol, rows, in, be.upload(w), bias == null ? null : be.upload(bias), out, y);
                return y;
            }, 1e-5);
        }
    }

    @Test
    void linearOnPackedRowsGivesTheBitsOfItsTilesOnXsRows() {
        assumeTrue(VectorBackend.panelStrips(800, 600, 1) > 0, "x is packed only on AVX-512");
        Random rnd = new Random(3);
        VectorBackend packing = new VectorBackend(1), onRows = new VectorBackend(3);
        // rows: a partial last panel and row block, or neither; in: below, at and across KC; out: a narrow last strip, and groups
        for (int[] shape : new int[][]{{300, 1, 256}, {413, 17, 300}, {384, 256, 600}, {800, 300, 256}, {413, 300, 521}, {301, 520, 260}}) {
            int rows = shape[0], in = shape[1], out = shape[2], xCol = 2, xStride = in + 5;
            assertThat(VectorBackend.panelStrips(rows, out, 1)).as("packs at %s", java.util.Arrays.toString(shape)).isPositive();
            assertThat(VectorBackend.panelStrips(rows, out, 3)).as("tiles on rows at %s", java.util.Arrays.toString(shape)).isZero();
            float[] x = random(rnd, rows * xStride), w = random(rnd, out * in);
            for (float[] bias : new float[][]{null, random(rnd, out)}) {
                float[][] ys = new float[2][];
                VectorBackend[] backends = {packing, onRows};
                for (int b = 0; b < 2; b++) {
                    Backend be = backends[b];
                    Buf y = be.allocate(rows * out);
                    be.linear(be.upload(x), xStride, xCol, rows, in, be.upload(w), bias == null ? null : be.upload(bias), out, y);
                    ys[b] = new float[rows * out];
                    be.download(y, ys[b]);
                }
                assertThat(ys[0]).as("rows=%d in=%d out=%d bias=%s", rows, in, out, bias != null).isEqualTo(ys[1]);
            }
        }
    }

    @Test
    void uploadedWeightsPackedOnceGiveTheSameBitsAsWeightsPackedPerCall() {
        Random rnd = new Random(11);
        for (int trial = 0; trial < 10; trial++) {
            int rows = pick(rnd, 1, 7, 100, 400), a = pick(rnd, 5, VL + 1, 2 * VL, 300), b = pick(rnd, 3, VL, 4 * VL + 1, 260);
            float[] w = random(rnd, a * b), bias = random(rnd, Math.max(a, b));
            Buf uploaded = VECTOR.upload(w), wrapped = VECTOR.wrap(w.clone()), biasBuf = VECTOR.upload(bias);
            // the same uploaded W read as (a, b) and then as (b, a) must be repacked, not served stale
            for (int[] shape : new int[][]{{a, b}, {a, b}, {b, a}, {a, b}}) {
                int out = shape[0], in = shape[1];
                Buf x = VECTOR.upload(random(rnd, rows * in));
                float[] packedOnce = linear(VECTOR, x, rows, in, uploaded, biasBuf, out), packedPerCall = linear(VECTOR, x, rows, in, wrapped, biasBuf, out);
                assertThat(packedOnce).as("rows=%d in=%d out=%d", rows, in, out).isEqualTo(packedPerCall);
            }
        }
    }

    @Test
    void linearToHostGivesLinearsBitsInEveryKindOfHostMemoryAndFindsTheFirstNonFiniteOutput() {
        Random rnd = new Random(12);
        int rows = 100, in = 2 * VL + 3, out = 3 * VL + 1;
        float[] w = random(rnd, out * in), bias = random(rnd, out), x = random(rnd, rows * in);
        x[37 * in + 2] = Float.POSITIVE_INFINITY;  // row 37's outputs are not finite
        for (Backend be : new Backend[] {SCALAR, VECTOR}) {
            Buf xb = be.upload(x), wb = be.upload(w), biasb = be.upload(bias);
            float[] expected = linear(be, xb, rows, in, wb, biasb, out);
            int firstBad = IntStream.range(0, expected.length).filter(i -> !Float.isFinite(expected[i])).findFirst().orElseThrow();
            assertThat(firstBad / out).isEqualTo(37);
            float[] whole = new float[rows * out], slice = new float[rows * out + 5];
            try (Buf y = be.allocate(rows * out); Arena arena = Arena.ofConfined()) {
                MemorySegment nativeRows = arena.allocate((long) rows * out * Float.BYTES, Float.BYTES);
                MemorySegment[] hosts = {MemorySegment.ofArray(whole),
                        MemorySegment.ofArray(slice).asSlice(5L * Float.BYTES), nativeRows};
                for (MemorySegment host : hosts) {
                    assertThat(be.linearToHost(xb, in, 0, rows, in, wb, biasb, out, y, host)).as("%s, %s", be.name(), host).isEqualTo(firstBad);
                    assertThat(host.toArray(ValueLayout.JAVA_FLOAT)).as("%s, %s", be.name(), host).isEqualTo(expected);
                }
            }
            x[37 * in + 2] = 0.5f;
            assertThat(be.linearToHost(be.upload(x), in, 0, rows, in, wb, biasb, out, be.allocate(rows * out), MemorySegment.ofArray(whole)))
                    .as(be.name()).isEqualTo(-1);
            x[37 * in + 2] = Float.POSITIVE_INFINITY;
        }
    }

    /** Slices of 65536 floats, vectors of VL lanes and a scalar tail: every position of a non-finite value is found first. */
    @Test
    void firstNonFiniteFindsTheFirstNaNOrInfinityWhereverItIs() {
        int n = 3 * 65536 + 2 * VL + 5;
        float[] v = random(new Random(13), n);
        assertThat(VECTOR.firstNonFinite(v)).isEqualTo(-1);
        assertThat(VECTOR.firstNonFinite(new float[0])).isEqualTo(-1);
        float[] bad = {Float.NaN, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY};
        int[] at = {0, VL - 1, VL, 65535, 65536, 2 * 65536 + 7, n - VL - 5, n - 1};
        for (float b : bad)
            for (int i : at) {
                float keep = v[i];
                v[i] = b;
                v[Math.min(n - 1, i + 70000)] = Float.NaN;  // a later one, in the next slice
                assertThat(VECTOR.firstNonFinite(v)).as("%s at %d", b, i).isEqualTo(i).isEqualTo(SCALAR.firstNonFinite(v));
                v[Math.min(n - 1, i + 70000)] = 0.25f;
                v[i] = keep;
            }
        v[3] = Float.MAX_VALUE;
        v[4] = -Float.MAX_VALUE;
        assertThat(VECTOR.firstNonFinite(v)).isEqualTo(-1);
    }

    private static float[] linear(Backend be, Buf x, int rows, int in, Buf w, Buf bias, int out) {
        float[] y = new float[rows * out];
        try (Buf yb = be.allocate(y.length)) {
            be.linear(x, in, 0, rows, in, w, bias, out, yb);
            be.download(yb, y);
        }
        return y;
    }

    @Test
    void convSiluMatchesScalar() {
        Random rnd = new Random(2);
        for (int trial = 0; trial < 30; trial++) {
            int batch = pick(rnd, 1, 2), len = pick(rnd, 1, 2, 5, 70, 130), ch = pick(rnd, 1, 7, VL, VL + 3, 3 * VL + 5), k = pick(rnd, 1, 2, 3, 4, 7);
            int col = rnd.nextInt(4), stride = ch + col + rnd.nextInt(3);
            float[] src = random(rnd, batch * len * stride), w = random(rnd, ch * k), bias = rnd.nextBoolean() ? random(rnd, ch) : null;
            compare("conv batch=" + batch + " len=" + len + " ch=" + ch + " k=" + k, batch * len * ch, be -> {
                Buf d = be.allocate(batch * len * ch);
                be.convSilu(be.upload(src), stride, col, Sequences.uniform(batch, len), ch, be.upload(w), bias == null ? null : be.upload(bias), k, d);
                return d;
            }, 1e-5);
        }
    }

    @Test
    void ssdScanMatchesScalarInBothDirections() {
        Random rnd = new Random(3), packing = new Random(33);
        for (int trial = 0; trial < 60; trial++) {
            int batch = pick(rnd, 1, 2), len = pick(rnd, 1, 2, 5, 37, 100, 129, 300), heads = pick(rnd, 1, 2, 4, 6, 10), groups = heads % 2 == 0 ? pick(rnd, 1, 2) : 1;
            int P = pick(rnd, 1, 5, 8, VL, VL + 1, 64), N = pick(rnd, 1, 3, 8, 16, VL + 1, 64), Q = pick(rnd, 1, 3, 4, 7, 16, 17, 64, 150);
            boolean forward = rnd.nextBoolean();
            int HP = heads * P, GN = groups * N, S = HP + 2 * GN + 1 + rnd.nextInt(2), dtStride = heads + 2;
            // from trial 40 on, a packed batch of up to 12 mixed lengths instead of (batch, len)
            Sequences seqs = trial < 40 ? Sequences.uniform(batch, len) : Sequences.of(packing.ints(1 + packing.nextInt(12), 1, 140).toArray());
            int rows = seqs.rows();
            ScanLayout s = new ScanLayout(seqs, heads, P, groups, N, Q, S, 0, HP, HP + GN, dtStride, 1, forward);
            float[] xbc = random(rnd, rows * S), dt = new float[rows * dtStride], a = new float[heads];
            for (int i = 0; i < dt.length; i++) dt[i] = 0.01f + 0.2f * rnd.nextFloat();
            for (int h = 0; h < heads; h++) a[h] = -(0.5f + 4 * rnd.nextFloat());
            float[] init = rnd.nextBoolean() ? random(rnd, heads * P * N) : null;
            compare("scan " + s, rows * HP, be -> {
                Buf y = be.allocate(rows * HP);
                be.ssdScan(s, be.upload(xbc), be.upload(dt), be.upload(a), init == null ? null : be.upload(init), y);
                return y;
            }, 2e-5);
        }
    }

    @Test
    void ssdScanWithAStateLongerThanOneBlockOfTermsMatchesScalar() {
        // chunk 200 (run as chunks of 64) at headdim 64 and state 128: C S_in's k axis (the states) runs in two
        // blocks, and the rows in tiles of 8 (512 bits) or 4, with partial tiles at a chunk's end; lengths end inside a chunk
        scanOfSequencesMatchesScalar(new Random(8), Sequences.of(450, 77, 201), 3, 64, 128, 200);
    }

    @Test
    void ssdScanOverSeveralStagesOfHeadsMatchesScalar() {
        // chunk 512 (run as chunks of 64) at headdim 768: the scan's staging block holds two heads, so five heads run
        // as stages of 2, 2 and 1 (each written to y at its own columns); sequences of several chunks and of one
        scanOfSequencesMatchesScalar(new Random(12), Sequences.of(1100, 30), 5, 768, 16, 512);
        // headdim 333, state 5: six heads a stage, so a head's columns start off any vector boundary
        scanOfSequencesMatchesScalar(new Random(13), Sequences.of(700, 3), 7, 333, 5, 512);
    }

    /** One group, both directions, initial states on the forward one. */
    private static void scanOfSequencesMatchesScalar(Random rnd, Sequences seqs, int heads, int P, int N, int chunk) {
        int HP = heads * P, S = HP + 2 * N, dtStride = heads, rows = seqs.rows();
        for (boolean forward : new boolean[] {true, false}) {
            ScanLayout s = new ScanLayout(seqs, heads, P, 1, N, chunk, S, 0, HP, HP + N, dtStride, 0, forward);
            float[] xbc = random(rnd, rows * S), dt = new float[rows * dtStride], a = new float[heads], init = forward ? random(rnd, heads * P * N) : null;
            for (int i = 0; i < dt.length; i++) dt[i] = 0.001f + 0.05f * rnd.nextFloat();
            for (int h = 0; h < heads; h++) a[h] = -(0.5f + 4 * rnd.nextFloat());
            compare("scan " + s, rows * HP, be -> {
                Buf y = be.allocate(rows * HP);
                be.ssdScan(s, be.upload(xbc), be.upload(dt), be.upload(a), init == null ? null : be.upload(init), y);
                return y;
            }, 2e-5);
        }
    }

    @Test
    void shiftAddDiagonalAndGatedNormMatchScalar() {
        Random rnd = new Random(4);
        for (int trial = 0; trial < 20; trial++) {
            int batch = pick(rnd, 1, 3), len = pick(rnd, 1, 2, 9, 70), heads = pick(rnd, 1, 3), P = pick(rnd, 1, 7, VL, VL + 5), D = heads * P;
            int xStride = D + rnd.nextInt(3), rows = batch * len;
            float[] yF = random(rnd, rows * D), yB = random(rnd, rows * D), x = random(rnd, rows * xStride), delta = random(rnd, rows * heads);
            compare("shift batch=" + batch + " len=" + len + " D=" + D, rows * D, be -> {
                Buf o = be.allocate(rows * D);
                be.shiftAddDiagonal(Sequences.uniform(batch, len), heads, P, be.upload(yF), be.upload(yB), be.upload(x), xStride, be.upload(delta), o);
                return o;
            }, 1e-6);
            int zCol = rnd.nextInt(3), zStride = D + zCol + rnd.nextInt(3);
            float[] z = random(rnd, rows * zStride), w = random(rnd, D);
            compare("norm rows=" + rows + " dim=" + D, rows * D, be -> {
                Buf o = be.allocate(rows * D);
                be.gatedRmsNorm(be.upload(yF), rows, D, be.upload(z), zStride, zCol, be.upload(w), 1e-5f, o);
                return o;
            }, 1e-5);
            compare("shift + norm, the mix through the output, rows=" + rows + " dim=" + D, rows * D, be -> {
                Buf o = be.allocate(rows * D);
                be.shiftAddDiagonalNorm(Sequences.uniform(batch, len), heads, P, be.upload(yF), be.upload(yB), be.upload(x), xStride,
                        be.upload(delta), be.upload(z), zStride, zCol, be.upload(w), 1e-5f, null, o);
                return o;
            }, 1e-5);
        }
    }

    @Test
    void expIsAccurateOverItsRange() {
        float[] in = new float[VL], out = new float[VL];
        double worst = 0;
        for (float v = -87f; v < 87.9f; v += 0.0137f) {
            for (int i = 0; i < VL; i++) in[i] = v + i * 1e-3f;
            VectorBackend.exp(in, 0, out, 0, VL, false);
            for (int i = 0; i < VL; i++) worst = Math.max(worst, Math.abs(out[i] / Math.exp(in[i]) - 1));
        }
        assertThat(worst).isLessThan(5e-7);
    }

    @Test
    void expClampsLargeInputsToItsLargestFiniteResult() {
        float[] in = new float[VL], out = new float[VL], top = new float[VL];
        java.util.Arrays.fill(in, 88f);
        VectorBackend.exp(in, 0, top, 0, VL, false);
        assertThat(top[0]).isFinite().isCloseTo((float) Math.exp(88), org.assertj.core.data.Percentage.withPercentage(1e-4));
        for (float v : new float[] {88.5f, 100f, 1e30f, Float.POSITIVE_INFINITY}) {
            java.util.Arrays.fill(in, v);
            VectorBackend.exp(in, 0, out, 0, VL, false);
            assertThat(out[0]).as("exp(%s)", v).isEqualTo(top[0]);
        }
    }

    @Test
    void siluMatchesTheScalarOneAtExtremesWithItsStagingApartOrInItsOutput() {
        // below -88, e^-x is exp's clamped e^88, so silu(x) is x e^-88 rather than the scalar's -0: equal within 1e-30 down to -1.6e8
        float[] values = {0f, -0f, 1e-30f, -1e-30f, 0.5f, -3f, 20f, -20f, 87f, -87f, 88.5f, -88.5f, 1000f, -1000f, 1e30f, -1e8f};
        float[] in = new float[VL], out = new float[VL], apart = new float[VL], inOut = new float[VL];
        for (int i0 = 0; i0 < values.length; i0 += VL) {
            for (int i = 0; i < VL; i++) in[i] = values[(i0 + i) % values.length];
            VectorBackend.silu(in, 0, out, 0, VL, apart);
            VectorBackend.silu(in, 0, inOut, 0, VL, inOut);
            for (int i = 0; i < VL; i++) {
                float exact = ScalarBackend.silu(in[i]);
                assertThat(out[i]).as("silu(%s)", in[i]).isCloseTo(exact, org.assertj.core.data.Offset.offset(1e-6f * Math.abs(exact) + 1e-30f));
                assertThat(inOut[i]).as("silu(%s), staged in its output", in[i]).isEqualTo(out[i]);
            }
        }
    }

    @Test
    void expRoundsIntoTheSubnormalsAndFlushesToZeroLikeMathExp() {
        float[] in = new float[VL], out = new float[VL];
        for (float v = -110f; v < -86f; v += 0.0071f) {
            for (int i = 0; i < VL; i++) in[i] = v + i * 1e-3f;
            VectorBackend.exp(in, 0, out, 0, VL, false);
            for (int i = 0; i < VL; i++) {
                double exact = Math.exp(in[i]);
                // one rounding into the subnormals: at most one quantum (2^-149) beyond the normal-range error
                assertThat((double) out[i]).as("exp(%s)", in[i]).isCloseTo(exact, org.assertj.core.data.Offset.offset(5e-7 * exact + Float.MIN_VALUE));
            }
        }
        // flushed: zero below the smallest normal float's exponent, the same bits above it
        float[] flushed = new float[VL];
        for (float v = -110f; v < -80f; v += 0.0071f) {
            for (int i = 0; i < VL; i++) in[i] = v + i * 1e-3f;
            VectorBackend.exp(in, 0, out, 0, VL, false);
            VectorBackend.exp(in, 0, flushed, 0, VL, true);
            for (int i = 0; i < VL; i++)
                assertThat(flushed[i]).as("flushed exp(%s)", in[i]).isEqualTo(in[i] < -87.33f ? 0f : out[i]);
        }
        for (float v : new float[] {-104f, -200f, -1e30f, Float.NEGATIVE_INFINITY}) {
            java.util.Arrays.fill(in, v);
            VectorBackend.exp(in, 0, out, 0, VL, false);
            assertThat(out[0]).as("exp(%s)", v).isEqualTo(0f);
        }
    }

    @Test
    void layerIsBitIdenticalForAnyThreadCount() {
        HydraConfig c = new HydraConfig(64, 16, 7, 2, 16, 2, 0.0, Double.POSITIVE_INFINITY, true, false, true, 32);
        HydraWeights<float[]> w = HydraWeights.load(c, HydraWeights.seeded(c, 7), "", Precision.FP32);
        float[] u = random(new Random(5), 3 * 100 * c.dModel());
        float[] one = forward(w, new VectorBackend(1), u);
        for (int threads : new int[] {2, 3, 7}) assertThat(forward(w, new VectorBackend(threads), u)).as("%d threads vs 1", threads).isEqualTo(one);
        assertThat(forward(w, SCALAR, u)).usingComparatorWithPrecision(1e-4f).containsExactly(one);
    }

    @Test
    void packedLayerOfMixedLengthsIsBitIdenticalForAnyThreadCountAndGivesEachSequenceItsBitsAlone() {
        // chunk 32: lengths below, at and above it, out of order, equal ones apart; initial states (every sequence has states)
        HydraConfig c = new HydraConfig(64, 16, 7, 2, 16, 2, 0.0, Double.POSITIVE_INFINITY, true, false, true, 32);
        HydraWeights<float[]> w = HydraWeights.load(c, HydraWeights.seeded(c, 7), "", Precision.FP32);
        int[] lengths = {70, 1, 33, 5, 100, 5, 31, 32, 2, 70};
        Sequences seqs = Sequences.of(lengths);
        float[] u = random(new Random(9), seqs.rows() * c.dModel());
        float[] one = packedForward(w, new VectorBackend(1), u, seqs);
        for (int threads : new int[] {2, 3, 7})
            assertThat(packedForward(w, new VectorBackend(threads), u, seqs)).as("%d threads vs 1", threads).isEqualTo(one);
        for (int i = 0; i < lengths.length; i++) {
            int from = seqs.start(i) * c.dModel(), to = from + lengths[i] * c.dModel();
            assertThat(packedForward(w, VECTOR, java.util.Arrays.copyOfRange(u, from, to), Sequences.of(lengths[i])))
                    .as("sequence %d alone", i).isEqualTo(java.util.Arrays.copyOfRange(one, from, to));
        }
    }

    private static float[] packedForward(HydraWeights<float[]> w, Backend be, float[] u, Sequences seqs) {
        try (HydraLayer layer = new HydraLayer(w, be); Workspace ws = new Workspace(be); Buf in = be.upload(u); Buf out = be.allocate(u.length)) {
            layer.forward(in, out, seqs, ws);
            float[] y = new float[u.length];
            be.download(out, y);
            return y;
        }
    }

    @Test
    void steadyStateForwardAllocatesOnlyItsOutput() {
        assumeTrue(VectorBackend.intrinsicWidth(), "species wider than this machine's: the Vector API's fallback boxes vectors");
        HydraConfig c = HydraConfig.defaults(64);
        HydraWeights<float[]> w = HydraWeights.load(c, HydraWeights.seeded(c, 8), "", Precision.FP32);
        int batch = 2, len = 300;
        float[] u = random(new Random(6), batch * len * c.dModel());
        com.sun.management.ThreadMXBean mx = (com.sun.management.ThreadMXBean) java.lang.management.ManagementFactory.getThreadMXBean();
        try (HydraLayer layer = new HydraLayer(w, new VectorBackend(1))) {
            long outputBytes = 4L * batch * len * c.dModel(), allocated = Long.MAX_VALUE;
            // until the JIT has compiled the kernels (the Vector API's interpreted form boxes every vector); on a busy
            // 2-core machine C2 can take seconds, so the wait is bounded by time, not by a call count
            long end = System.nanoTime() + 30_000_000_000L;
            for (int call = 0; (call < 200 || System.nanoTime() < end) && allocated > outputBytes + 16_384; call++) {
                long before = mx.getCurrentThreadAllocatedBytes();
                layer.forward(u, batch, len);
                allocated = mx.getCurrentThreadAllocatedBytes() - before;
            }
            assertThat(allocated).as("bytes allocated by a steady-state forward (output: %d)", outputBytes).isBetween(outputBytes, outputBytes + 16_384);
        }
    }

    private static float[] forward(HydraWeights<float[]> w, Backend be, float[] u) {
        try (HydraLayer layer = new HydraLayer(w, be)) {
            return layer.forward(u, 3, 100);
        }
    }

    /** Runs {@code op} on both backends; max |vector - scalar| <= tol * max(1, max |scalar|). */
    private static void compare(String what, int n, Function<Backend, Buf> op, double tol) {
        float[] s = HeapBuf.of(op.apply(SCALAR)), v = HeapBuf.of(op.apply(VECTOR));
        assertThat(v.length).isEqualTo(s.length).isGreaterThanOrEqualTo(n);
        double scale = 1, err = 0;
        for (float f : s) scale = Math.max(scale, Math.abs(f));
        for (int i = 0; i < n; i++) {
            assertThat(Float.isFinite(v[i])).as("%s: element %d finite", what, i).isTrue();
            err = Math.max(err, Math.abs(v[i] - s[i]));
        }
        assertThat(err / scale).as(what).isLessThanOrEqualTo(tol);
    }

    private static int pick(Random rnd, int... options) {
        return options[rnd.nextInt(options.length)];
    }

    private static float[] random(Random rnd, int n) {
        float[] f = new float[n];
        for (int i = 0; i < n; i++) f[i] = (float) rnd.nextGaussian();
        return f;
    }
}
