package dev.hydra.kernels;

import dev.hydra.HydraException;
import dev.hydra.backend.Buf;
import dev.hydra.backend.HeapBuf;
import dev.hydra.backend.ScanLayout;
import dev.hydra.backend.Sequences;
import java.util.Arrays;
import java.util.Collections;
import java.util.Map;
import java.util.Queue;
import java.util.WeakHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicInteger;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * The fp32 kernels on the Vector API (widest preferred species), run on a {@link WorkerPool}. Loaded
 * reflectively by {@code Backends.cpu()} only when {@code jdk.incubator.vector} is
 * readable, so the scalar path never links against it.
 *
 * <p>Every kernel splits its output into tasks that each own fixed output elements and compute them
 * in a fixed order, so results are bit-identical for any thread count. Transcendentals use
 * {@link #exp}, built from exact IEEE lane operations, because the Vector API's own EXP differs
 * between its intrinsic and its Java fallback. Per-thread scratch ({@link Scratch}) is reused, so
 * steady-state calls allocate only a small task descriptor. Buffers made by {@link #upload} are the
 * layers' weights and inputs, never written after: {@link #linear} packs such a W once and keeps it.
 */
public final class VectorBackend extends ScalarBackend {
    /** Test-only override of the species width: {@value #WIDTH_PROPERTY} = 128, 256 or 512 (bits), read once when the class loads. */
    public static final String WIDTH_PROPERTY = "hydra.tests.vectorsize";
    private static final VectorSpecies<Float> F = species(System.getProperty(WIDTH_PROPERTY));
    private static final int VL = F.length();
    /** GEMM register tile: MR rows by NR = two vectors of outputs; cache tiles: MC rows, KC depth (and up to MAX_STRIPS strips of outputs). */
    private static final int MR = 6, NR = 2 * VL, MC = 384, KC = 256;
    /** The widest column block of one GEMM task on x's rows, in strips of NR outputs (see {@link #linear}); the depth of a block of one strip. */
    private static final int MAX_STRIPS = 8, STRIP_DEPTH = 4096;
    /**
     * GEMM on packed x (AVX-512, see {@link #panelTask}): register tile PR rows by NR outputs (24 accumulators of the
     * 32 registers); cache tiles: PANEL_ROWS rows of x packed over the whole depth, GROUP strips of W per KC block.
     * A task packs its rows once for all its strips, so it packs only where it has PACK_MIN_STRIPS strips or more.
     */
    private static final int PR = 12, PANEL_ROWS = 96, GROUP = 16, PACK_MIN_STRIPS = 8;
    /** Rows per task of the row-wise kernels (conv, dt, shift, norms), and the fewest they take on short inputs (see {@link #rowsPerTask}). */
    private static final int ROWS_PER_TASK = 64, MIN_ROWS_PER_TASK = 8;
    /**
     * Longest chunk the scan runs: a longer chunk_size runs as chunks of this length, the same math (docs/spec.md
     * §1.5) with fewer FLOPs: per step, the quadratic part (C B^T per group and M X per head, N Q / 2 and P Q / 2
     * multiply-adds) shrinks with the chunk and the state part (2 N P per head) does not, and pass (c)'s working set
     * halves. Of 32, 64, 128 and 256, 64 ran fastest on the Intel and AMD CPUs (docs/vector.md, ninth session).
     */
    private static final int MAX_CHUNK = 64;
    /** Floats of chunk states one window of a scan call holds (32 MB; a call holds two windows' at once), which bounds the window's chunks. */
    private static final long WINDOW_FLOATS = 1 << 23;
    /** Floats of the block pass (c) of the scan stages a few heads' outputs in (512 KB: within L2). */
    private static final int STAGE_FLOATS = 1 << 17;
    /** Four-vector-wide register tiles in the scan's products: sixteen accumulators, which need the 32 registers of AVX-512. */
    private static final boolean WIDE_TILES = F.vectorBitSize() >= 512;
    private static final FloatVector IOTA = FloatVector.fromArray(F, iota(), 0);
    private static final ThreadLocal<Scratch> SCRATCH = ThreadLocal.withInitial(Scratch::new);

    /** An uploaded W packed (see {@link #pack}) as a linear of (in, out) reads it. */
    private record PackedWeights(int in, int out, float[] strips) {}
    /** An uploaded buffer that no linear has read as W yet. */
    private static final PackedWeights UNPACKED = new PackedWeights(0, 0, null);

    private final WorkerPool pool;
    /** The arrays of the buffers this backend uploaded, by identity (weak keys: dropped with the buffer), with their packing. */
    private final Map<float[], PackedWeights> weights = Collections.synchronizedMap(new WeakHashMap<>());
    /** The scan's chunk lists with their window buffers, reused by later calls (one per concurrent call). */
    private final Queue<Chunks> chunkLists = new ConcurrentLinkedQueue<>();
    private final boolean windowsOnly;

    /** One thread per available processor. */
    public VectorBackend() {
        this(Runtime.getRuntime().availableProcessors());
    }

    public VectorBackend(int threads) {
        this(threads, false);
    }

    /** With {@code windowsOnly}, every scan call runs in windows of chunk-parallel passes (for tests of that order). */
    VectorBackend(int threads, boolean windowsOnly) {
        if (threads < 1) throw new HydraException("threads must be at least 1, got " + threads);
        pool = WorkerPool.of(threads);
        this.windowsOnly = windowsOnly;
    }

    @Override
    public String name() {
        return "vector";
    }

    public int threads() {
        return pool.threads();
    }

    /**
     * Rows per task of a row-wise kernel over {@code rows} rows: {@link #ROWS_PER_TASK}, or fewer where that leaves a
     * thread without four tasks (a short text on many cores: 512 rows were 8 tasks for 16 threads); each row's
     * result is the same in any task.
     */
    private int rowsPerTask(int rows) {
        return Math.max(MIN_ROWS_PER_TASK, Math.min(ROWS_PER_TASK, ceilDiv(rows, 4 * pool.threads())));
    }

    /** Lanes of the species the kernels run on (16 with AVX-512). */
    public static int lanes() {
        return VL;
    }

    /** Bits of the machine's preferred fp32 species (0 when the Vector API has no vector shape here); read by the provider selection. */
    public static int preferredBits() {
        return FloatVector.SPECIES_PREFERRED.vectorBitSize();
    }

    /**
     * Whether the kernels' species is no wider than the machine's preferred one: only then does C2 compile its
     * vectors to registers; a wider test override ({@value #WIDTH_PROPERTY}) runs the Vector API's Java
     * fallback, which boxes every vector (right results, not allocation-free).
     */
    static boolean intrinsicWidth() {
        return F.vectorBitSize() <= preferredBits();
    }

    /** The species the kernels run on. */
    static VectorSpecies<Float> species() {
        return F;
    }

    static VectorSpecies<Float> species(String bits) {
        if (bits == null || bits.isBlank()) return FloatVector.SPECIES_PREFERRED;
        return switch (bits.strip()) {
            case "128" -> FloatVector.SPECIES_128;
            case "256" -> FloatVector.SPECIES_256;
            case "512" -> FloatVector.SPECIES_512;
            default -> throw new HydraException(WIDTH_PROPERTY + " must be 128, 256 or 512, got '" + bits + "'");
        };
    }

    // ---- step 1, 6 (fc_D) and 8: y = x W^T + b ------------------------------------------------------

    @Override
    public Buf upload(float[] host) {
        Buf b = super.upload(host);
        weights.put(HeapBuf.of(b), UNPACKED);
        return b;
    }

    @Override
    public void linear(Buf xb, int xStride, int xCol, int rows, int in, Buf wb, Buf biasb, int out, Buf yb) {
        float[] x = HeapBuf.of(xb), p = packedWeights(HeapBuf.of(wb), in, out), bias = HeapBuf.of(biasb), y = HeapBuf.of(yb);
        // on AVX-512, x packed where that pays (see panelStrips); else tiles on x's rows, in
        // the widest column blocks that still give every thread four tasks: a task reads its rows of x, its strips
        // of W and its block of y from beyond its core's L2 once, so a wider block does more arithmetic per byte of
        // the cache and memory bandwidth all cores share; then, where one column block is still too few tasks (fc_D's
        // few heads, or few rows, on many threads), the tallest row blocks that do (which part of y a task computes
        // never changes its sums)
        int strips = ceilDiv(out, NR), threads = pool.threads(), panelStrips = panelStrips(rows, out, threads);
        if (panelStrips > 0) {
            int nc = panelStrips * NR, colTasks = ceilDiv(out, nc);
            pool.forEach(ceilDiv(rows, PANEL_ROWS) * colTasks, (long) rows * in * out, t -> panelTask(x, xStride, xCol, in, p, bias, y, out,
                    (t / colTasks) * PANEL_ROWS, Math.min(rows, (t / colTasks + 1) * PANEL_ROWS), (t % colTasks) * nc, Math.min(out, (t % colTasks + 1) * nc)));
            return;
        }
        int perTask = MAX_STRIPS;
        while (perTask > 1 && (long) ceilDiv(rows, MC) * ceilDiv(strips, perTask) < 4L * threads) perTask /= 2;
        int nc = perTask * NR, colTasks = ceilDiv(out, nc), mc = MC;
        while (mc > 4 * MR && (long) ceilDiv(rows, mc) * colTasks < 4L * threads) mc /= 2;
        int rowBlock = mc, rowTasks = ceilDiv(rows, mc);
        pool.forEach(rowTasks * colTasks, (long) rows * in * out,
                t -> gemmTask(x, xStride, xCol, in, p, bias, y, out, (t / colTasks) * rowBlock, Math.min(rows, (t / colTasks + 1) * rowBlock), (t % colTasks) * nc, nc));
    }

    /**
     * Strips of outputs per task where a linear of these rows and outputs packs x (see {@link #panelTask}), or 0
     * where it runs its tiles on x's rows: on AVX-512, the widest column blocks that give every thread four tasks
     * of PANEL_ROWS rows, packing only where they are PACK_MIN_STRIPS strips or wider (fc_D's one strip, or a short
     * input on many threads, would pack x for too few outputs).
     */
    static int panelStrips(int rows, int out, int threads) {
        if (!WIDE_TILES) return 0;
        int strips = ceilDiv(out, NR), perTask = strips, rowTasks = ceilDiv(rows, PANEL_ROWS);
        while (perTask >= 2 * PACK_MIN_STRIPS && (long) rowTasks * ceilDiv(strips, perTask) < 4L * threads) perTask = ceilDiv(perTask, 2);
        return perTask >= PACK_MIN_STRIPS && (long) rowTasks * ceilDiv(strips, perTask) >= 4L * threads ? perTask : 0;
    }

    /**
     * W packed for the register tiles: an uploaded W (a constant) is packed on first use and kept; any
     * other W is packed on every call, into the calling thread's scratch.
     */
    private float[] packedWeights(float[] w, int in, int out) {
        PackedWeights p = weights.get(w);
        if (p == null) return pack(w, in, out, SCRATCH.get().pack(ceilDiv(out, NR) * NR * in));
        if (p.in != in || p.out != out) {
            p = new PackedWeights(in, out, pack(w, in, out, new float[ceilDiv(out, NR) * NR * in]));
            weights.put(w, p);
        }
        return p.strips;
    }

    /**
     * W (out, in) as strips of NR outputs, k-major so that a strip row is two vectors: output o + i of
     * the strip starting at o, depth k, is at o * in + k * NR + i; the last strip is zero-padded.
     */
    private static float[] pack(float[] w, int in, int out, float[] p) {
        for (int o = 0; o < out; o += NR) {
            int nr = Math.min(NR, out - o);
            for (int i = 0; i < NR; i++) {
                if (i < nr) for (int k = 0; k < in; k++) p[o * in + k * NR + i] = w[(o + i) * in + k];
                else for (int k = 0; k < in; k++) p[o * in + k * NR + i] = 0;
            }
        }
        return p;
    }

    /**
     * Rows [r0, r1) and outputs [o0, o0 + nc) of y from the packed W: 6x2-vector register tiles
     * accumulate over each KC-deep block of a strip, starting from the bias (first block) or y (later blocks).
     */
    private static void gemmTask(float[] x, int xs, int xc, int in, float[] p, float[] bias, float[] y, int out, int r0, int r1, int o0, int nc) {
        int o1 = Math.min(o0 + nc, out);
        float[] edge = SCRATCH.get().edge(MC * NR);
        // a block of one strip (fc_D's) takes its depth in blocks of up to STRIP_DEPTH: its W stays in L2 all the same,
        // and its tiles then read each row of x as one long run and load and store y once
        int depth = o1 - o0 <= NR ? STRIP_DEPTH : KC;
        for (int k0 = 0; k0 < in; k0 += depth) {
            int kc = Math.min(depth, in - k0);
            boolean first = k0 == 0;
            for (int o = o0; o < o1; o += NR) {
                int nr = Math.min(NR, o1 - o), base = o * in + k0 * NR;
                if (nr == NR) {
                    gemmRows(x, xs, xc + k0, r0, r1, kc, p, base, y, r0 * out + o, out, bias, o, first);
                    continue;
                }
                // the last, narrower strip: run the same tiles on a zero-padded copy of its outputs
                edgeIn(edge, r1 - r0, r0, r1 - r0, o, nr, first, bias, y, out);
                gemmRows(x, xs, xc + k0, r0, r1, kc, p, base, edge, 0, NR, null, 0, false);
                edgeOut(edge, r0, r1 - r0, o, nr, y, out);
            }
        }
    }

    /**
     * Rows [r0, r1) and outputs [o0, o1) of y from the packed W and the rows packed as panels of PR (see
     * {@link #packPanels}): per GROUP strips (in L2 with the panels) and KC-deep block, every panel's PRx2-vector
     * register tiles accumulate over the block, starting from the bias (first block) or y (later blocks), as the
     * tiles on x's rows do: the same sums in the same order.
     */
    private static void panelTask(float[] x, int xs, int xc, int in, float[] p, float[] bias, float[] y, int out, int r0, int r1, int o0, int o1) {
        Scratch sc = SCRATCH.get();
        int panels = ceilDiv(r1 - r0, PR);
        float[] xp = packPanels(x, xs, xc, in, r0, r1, sc.panels(panels * PR * in)), edge = sc.edge(PR * NR);
        for (int g = o0; g < o1; g += GROUP * NR) {
            int g1 = Math.min(o1, g + GROUP * NR);
            for (int k0 = 0; k0 < in; k0 += KC) {
                int kc = Math.min(KC, in - k0);
                boolean first = k0 == 0;
                for (int q = 0; q < panels; q++) {
                    int r = r0 + q * PR, mr = Math.min(PR, r1 - r), xo = q * PR * in + k0 * PR;
                    for (int o = g; o < g1; o += NR) {
                        int nr = Math.min(NR, g1 - o), pb = o * in + k0 * NR;
                        if (mr == PR && nr == NR) {
                            gemm12(xp, xo, kc, p, pb, y, r * out + o, out, bias, o, first);
                            continue;
                        }
                        // a tile past the last row or output: the same tile on a zero-padded copy
                        edgeIn(edge, PR, r, mr, o, nr, first, bias, y, out);
                        gemm12(xp, xo, kc, p, pb, edge, 0, NR, null, 0, false);
                        edgeOut(edge, r, mr, o, nr, y, out);
                    }
                }
            }
        }
    }

    /**
     * A zero-padded copy, padRows rows of NR, of what a tile accumulates onto at y's rows [r, r + rows) and outputs
     * [o, o + nr): the bias in a first depth block, else y.
     */
    private static void edgeIn(float[] edge, int padRows, int r, int rows, int o, int nr, boolean first, float[] bias, float[] y, int out) {
        for (int i = 0; i < padRows; i++)
            for (int j = 0; j < NR; j++)
                edge[i * NR + j] = i >= rows || j >= nr ? 0 : first ? (bias == null ? 0 : bias[o + j]) : y[(r + i) * out + o + j];
    }

    /** The {@link #edgeIn} copy's rows and outputs back into y. */
    private static void edgeOut(float[] edge, int r, int rows, int o, int nr, float[] y, int out) {
        for (int i = 0; i < rows; i++) System.arraycopy(edge, i * NR, y, (r + i) * out + o, nr);
    }

    /**
     * Rows [r0, r1) of x (columns xc.. of rows xs apart) as panels of PR rows over the whole depth, k-major: row r0 +
     * q PR + i, depth k is at q PR in + k PR + i; the last panel's missing rows are zeros.
     */
    private static float[] packPanels(float[] x, int xs, int xc, int in, int r0, int r1, float[] xp) {
        int padded = ceilDiv(r1 - r0, PR) * PR;
        for (int i = 0; i < padded; i++) {
            int o = (i / PR) * PR * in + i % PR, xr = (r0 + i) * xs + xc;
            if (r0 + i < r1) for (int k = 0; k < in; k++) xp[o + k * PR] = x[xr + k];
            else for (int k = 0; k < in; k++) xp[o + k * PR] = 0;
        }
        return xp;
    }

    /** Rows [r0, r1) of one strip; y0 is row r0's first output in y (rows ys apart). */
    private static void gemmRows(float[] x, int xs, int xc, int r0, int r1, int kc, float[] p, int pb,
                                 float[] y, int y0, int ys, float[] bias, int bo, boolean first) {
        int r = r0;
        for (; r + MR <= r1; r += MR) gemm6(x, r * xs + xc, xs, kc, p, pb, y, y0 + (r - r0) * ys, ys, bias, bo, first);
        for (; r < r1; r++) gemm1(x, r * xs + xc, kc, p, pb, y, y0 + (r - r0) * ys, bias, bo, first);
    }

    private static void gemm6(float[] x, int x0, int xs, int kc, float[] p, int pb, float[] y, int y0, int ys, float[] bias, int bo, boolean first) {
        FloatVector c00, c01, c10, c11, c20, c21, c30, c31, c40, c41, c50, c51;
        if (first) {
            FloatVector b0 = bias == null ? FloatVector.zero(F) : FloatVector.fromArray(F, bias, bo);
            FloatVector b1 = bias == null ? FloatVector.zero(F) : FloatVector.fromArray(F, bias, bo + VL);
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

    private static void gemm1(float[] x, int x0, int kc, float[] p, int pb, float[] y, int y0, float[] bias, int bo, boolean first) {
        FloatVector c0, c1;
        if (first) {
            c0 = bias == null ? FloatVector.zero(F) : FloatVector.fromArray(F, bias, bo);
            c1 = bias == null ? FloatVector.zero(F) : FloatVector.fromArray(F, bias, bo + VL);
        } else {
            c0 = FloatVector.fromArray(F, y, y0);
            c1 = FloatVector.fromArray(F, y, y0 + VL);
        }
        for (int k = 0, pk = pb; k < kc; k++, pk += NR) {
            FloatVector a = FloatVector.broadcast(F, x[x0 + k]);
            c0 = FloatVector.fromArray(F, p, pk).fma(a, c0);
            c1 = FloatVector.fromArray(F, p, pk + VL).fma(a, c1);
        }
        c0.intoArray(y, y0);
        c1.intoArray(y, y0 + VL);
    }

    /** One PR x 2-vector tile on a packed panel (x0: its depth k0), the 24 accumulators of {@link #gemm6}'s scheme. */
    private static void gemm12(float[] x, int x0, int kc, float[] p, int pb, float[] y, int y0, int ys, float[] bias, int bo, boolean first) {
        FloatVector c00, c01, c10, c11, c20, c21, c30, c31, c40, c41, c50, c51, c60, c61, c70, c71, c80, c81, c90, c91, ca0, ca1, cb0, cb1;
        if (first) {
            FloatVector b0 = bias == null ? FloatVector.zero(F) : FloatVector.fromArray(F, bias, bo);
            FloatVector b1 = bias == null ? FloatVector.zero(F) : FloatVector.fromArray(F, bias, bo + VL);
            c00 = c10 = c20 = c30 = c40 = c50 = c60 = c70 = c80 = c90 = ca0 = cb0 = b0;
            c01 = c11 = c21 = c31 = c41 = c51 = c61 = c71 = c81 = c91 = ca1 = cb1 = b1;
        } else {
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
        for (int k = 0, pk = pb, xk = x0; k < kc; k++, pk += NR, xk += PR) {
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
            a = FloatVector.broadcast(F, x[xk + 6]);
            c60 = w0.fma(a, c60); c61 = w1.fma(a, c61);
            a = FloatVector.broadcast(F, x[xk + 7]);
            c70 = w0.fma(a, c70); c71 = w1.fma(a, c71);
            a = FloatVector.broadcast(F, x[xk + 8]);
            c80 = w0.fma(a, c80); c81 = w1.fma(a, c81);
            a = FloatVector.broadcast(F, x[xk + 9]);
            c90 = w0.fma(a, c90); c91 = w1.fma(a, c91);
            a = FloatVector.broadcast(F, x[xk + 10]);
            ca0 = w0.fma(a, ca0); ca1 = w1.fma(a, ca1);
            a = FloatVector.broadcast(F, x[xk + 11]);
            cb0 = w0.fma(a, cb0); cb1 = w1.fma(a, cb1);
        }
        c00.intoArray(y, y0); c01.intoArray(y, y0 + VL);
        c10.intoArray(y, y0 + ys); c11.intoArray(y, y0 + ys + VL);
        c20.intoArray(y, y0 + 2 * ys); c21.intoArray(y, y0 + 2 * ys + VL);
        c30.intoArray(y, y0 + 3 * ys); c31.intoArray(y, y0 + 3 * ys + VL);
        c40.intoArray(y, y0 + 4 * ys); c41.intoArray(y, y0 + 4 * ys + VL);
        c50.intoArray(y, y0 + 5 * ys); c51.intoArray(y, y0 + 5 * ys + VL);
        c60.intoArray(y, y0 + 6 * ys); c61.intoArray(y, y0 + 6 * ys + VL);
        c70.intoArray(y, y0 + 7 * ys); c71.intoArray(y, y0 + 7 * ys + VL);
        c80.intoArray(y, y0 + 8 * ys); c81.intoArray(y, y0 + 8 * ys + VL);
        c90.intoArray(y, y0 + 9 * ys); c91.intoArray(y, y0 + 9 * ys + VL);
        ca0.intoArray(y, y0 + 10 * ys); ca1.intoArray(y, y0 + 10 * ys + VL);
        cb0.intoArray(y, y0 + 11 * ys); cb1.intoArray(y, y0 + 11 * ys + VL);
    }

    // ---- step 2: depthwise conv + bias + silu ----------------------------------------------------------

    @Override
    public void convSilu(Buf srcb, int srcStride, int srcCol, Sequences seqs, int channels, Buf wb, Buf biasb, int k, Buf dstb) {
        float[] src = HeapBuf.of(srcb), w = HeapBuf.of(wb), bias = HeapBuf.of(biasb), dst = HeapBuf.of(dstb);
        // taps transposed to (k, channels), so that one tap of consecutive channels is a vector
        float[] wt = SCRATCH.get().convTaps(k * channels);
        for (int c = 0; c < channels; c++)
            for (int j = 0; j < k; j++) wt[j * channels + c] = w[c * k + j];
        int rows = seqs.rows(), pad = k / 2, cv = F.loopBound(channels), perTask = rowsPerTask(rows);
        pool.forEach(ceilDiv(rows, perTask), (long) rows * channels * k, task -> {
            Scratch sc = SCRATCH.get();
            float[] row = sc.row(cv), tmp = sc.siluStage(cv);
            int r = task * perTask, r1 = Math.min(rows, r + perTask);
            for (int b = seqs.sequenceOf(r); r < r1; r++) {
                if (r == seqs.start(b) + seqs.length(b)) b++;
                int t = r - seqs.start(b), len = seqs.length(b);
                int jLo = Math.max(0, pad - t), jHi = Math.min(k, len + pad - t), d0 = r * channels;
                int s0 = (r - pad) * srcStride + srcCol;
                for (int c = 0; c < cv; c += VL) {
                    FloatVector acc = bias == null ? FloatVector.zero(F) : FloatVector.fromArray(F, bias, c);
                    for (int j = jLo; j < jHi; j++)
                        acc = FloatVector.fromArray(F, wt, j * channels + c).fma(FloatVector.fromArray(F, src, s0 + j * srcStride + c), acc);
                    acc.intoArray(row, c);
                }
                silu(row, 0, dst, d0, cv, tmp);
                for (int c = cv; c < channels; c++) {
                    float s = bias == null ? 0 : bias[c];
                    for (int j = jLo; j < jHi; j++) s = Math.fma(wt[j * channels + c], src[s0 + j * srcStride + c], s);
                    dst[d0 + c] = silu(s);
                }
            }
        });
    }

    // ---- step 3: dt = clamp(softplus(dt + dt_bias)), the scalar kernel on row blocks ------------------

    @Override
    public void softplusDt(Buf srcb, int srcStride, int srcCol, int rows, int heads, Buf dtBiasb, float lo, float hi, Buf dstb) {
        float[] src = HeapBuf.of(srcb), dtBias = HeapBuf.of(dtBiasb), dst = HeapBuf.of(dstb);
        int perTask = rowsPerTask(rows);
        pool.forEach(ceilDiv(rows, perTask), 16L * rows * heads, t -> softplusDtRows(src, srcStride, srcCol, t * perTask, Math.min(rows, (t + 1) * perTask), heads, dtBias, lo, hi, dst));
    }

    // ---- steps 4, 5: chunked SSD as small matrix products -----------------------------------------------

    /**
     * The chunked algorithm of docs/spec.md §1.5, in one of two orders. Where the call has enough (sequence, head) pairs
     * for the threads ({@link #inOrderBlock}), one task per (sequence, block of heads of one group) takes its chunks in
     * order, its running states in scratch ({@link ChunkMath#sequenceInOrder}). Otherwise in three passes over windows
     * of chunks, so that chunks are a parallel axis: (a) per chunk whose state a later chunk reads, that state S_c from a
     * zero start; (b) the state passing S_in[c+1] = exp(sum of chunk c's dt A) S_in[c] + S_c, sequential over chunks,
     * one task per (sequence, head, slice of the state); (c) per chunk, its outputs Y = M X with M = (C B^T) o
     * exp(segsum) o dt plus the entering state's Y += diag(exp(cum)) C S_in^T, so that y is written once and never read
     * back. Passes (a) and (c) run one task per (chunk, block of heads). Both orders do the same operations on every
     * element, the blocks only share C B^T and the windows only bound memory, so results never depend on the thread
     * count. A window's pass (c) and the next window's pass (a) run as one call (two calls per window, not three). The
     * chunks of all the call's sequences, whatever their lengths, are one list ({@link Chunks}), so a packed batch of
     * mixed lengths is one call of a few pool hand-offs. A chunk longer than {@link #MAX_CHUNK} runs as chunks of that
     * length (the same math with fewer FLOPs), so tiles stay small.
     */
    @Override
    public void ssdScan(ScanLayout s, Buf xbcb, Buf dtb, Buf ab, Buf initb, Buf yb) {
        float[] xbc = HeapBuf.of(xbcb), dt = HeapBuf.of(dtb), a = HeapBuf.of(ab), init = HeapBuf.of(initb), y = HeapBuf.of(yb);
        int Q = scanChunk(s.chunk());
        long perChunk = (long) s.heads() * s.state() * s.headdim();
        Chunks list = takeChunks();
        try {
            int block = windowsOnly ? 0 : inOrderBlock(s.seqs(), s.heads(), s.groups(), pool.threads());
            if (block > 0) {
                int sequences = list.order(s.seqs());
                ChunkMath m = new ChunkMath(s, xbc, dt, a, init, y, Q, block);
                // per step: S_c and C S_in (N P each) and M X (Q P / 2) per head, C B^T (Q N / 2) per group
                long perStep = s.heads() * (2L * m.NP + (long) Q * m.P / 2) + (long) s.groups() * Q * m.N / 2;
                pool.forEach(sequences * m.units, perStep * s.seqs().rows(), t -> m.sequenceInOrder(list.order[t / m.units], t % m.units));
                return;
            }
            list.fill(s, Q, init != null);
            // the chunk states one window holds: all the call's, or as many as fit in WINDOW_FLOATS (short texts: none)
            int slots = (int) Math.min(list.stateful, Math.max(1, WINDOW_FLOATS / perChunk));
            // windows of equal size (a last small one would leave most threads idle)
            if (slots > 0) slots = ceilDiv(list.stateful, ceilDiv(list.stateful, slots));
            // a second window's states only when there is a second window
            int halves = list.stateful > slots ? 2 : 1;
            list.window(slots == 0 ? 0 : Math.toIntExact((2L + (long) halves * slots) * perChunk + 2L * slots * s.heads()));
            Window first = new Window(s, xbc, dt, a, init, y, Q, list, 0, slots, 0, pool.threads());
            if (first.stateChunks > 0)
                pool.forEach(first.stateChunks * first.m.units, first.stateWork, t -> first.chunkState(list.states[t / first.m.units], t % first.m.units));
            for (Window w = first; w != null; ) w = passAndOutputs(w, list);
        } finally {
            chunkLists.offer(list);
        }
    }

    /**
     * Pass (b) of window w, then in one call its pass (c) and the next window's pass (a), which touch distinct halves
     * of the buffer (the next window's smaller tasks fill the end of w's); returns the next window, or null.
     */
    private Window passAndOutputs(Window w, Chunks list) {
        if (w.stateSeqs > 0) pool.forEach(w.stateSeqs * w.H * w.slices, w.passWork,
                i -> w.passStates(list.passes[i / (w.H * w.slices)], i / w.slices % w.H, i % w.slices));
        Window next = w.from + w.count < list.count ? w.following(list, pool.threads()) : null;
        int outputs = w.count * w.m.units, states = next == null ? 0 : next.stateChunks * next.m.units;
        pool.forEach(outputs + states, w.outputWork + (next == null ? 0 : next.stateWork), t -> {
            if (t < outputs) w.chunkOutput(w.from + t / w.m.units, t % w.m.units);
            else next.chunkState(list.states[(t - outputs) / next.m.units], (t - outputs) % next.m.units);
        });
        return next;
    }

    /**
     * The block of heads for a scan call that takes each sequence's chunks in order ({@link ChunkMath#sequenceInOrder}),
     * or 0 where it runs in windows of chunk-parallel passes: the largest block (a group's heads, halved) whose tasks,
     * taken longest first by whichever thread is free (the pool's order), end within 10% of an even split of the work;
     * 0 where even one head per task does not. Wide blocks read and write y's rows in long runs and share C B^T.
     */
    static int inOrderBlock(Sequences seqs, int heads, int groups, int threads) {
        int perGroup = heads / groups;
        long even = (long) seqs.rows() * heads;
        for (int b = perGroup; ; b = ceilDiv(b, 2)) {
            if (10 * busiestThread(seqs, groups, perGroup, b, threads) * threads <= 11 * even) return b;
            if (b == 1) return 0;
        }
    }

    /** The work (steps times heads) of the busiest thread when the in-order tasks of blocks of b heads run on the pool. */
    private static long busiestThread(Sequences seqs, int groups, int perGroup, int b, int threads) {
        long[] load = new long[threads];   // a min-heap: the thread that is free first takes the next task
        for (Sequences.Run run : seqs.runsLongestFirst())
            for (int i = 0; i < run.count() * groups; i++)
                for (int h = 0; h < perGroup; h += b) {
                    load[0] += (long) run.len() * Math.min(b, perGroup - h);
                    for (int j = 0, c; (c = 2 * j + 1) < threads; j = c) {
                        if (c + 1 < threads && load[c + 1] < load[c]) c++;
                        if (load[j] <= load[c]) break;
                        long t = load[j];
                        load[j] = load[c];
                        load[c] = t;
                    }
                }
        return Arrays.stream(load).max().orElse(0);
    }

    @Override
    public int scanChunk(int chunkSize) {
        return Math.min(chunkSize, MAX_CHUNK);
    }

    /** A reused chunk list (the pool holds one per concurrent scan call). */
    private Chunks takeChunks() {
        Chunks c = chunkLists.poll();
        return c != null ? c : new Chunks();
    }

    /**
     * A scan call's chunks, (sequence, chunk) pairs in the order its tasks take them: the sequences longest
     * first (the costliest tasks start first, so the threads finish together), each one's chunks in order (or, for
     * the in-order scan, just the sequences in that order: {@code order}); a chunk's slot among its window's states, -1 where its sequence holds no states (one chunk without
     * initial states: a short text). Also each window's first chunk of every sequence with states
     * ({@code passes}), its chunks whose state a later chunk reads ({@code states}) and the window buffer:
     * two running states (H, N*P), the one entering the window and the one leaving it, alternating; two
     * windows' chunk decays (2, slots, H); their chunk states (2, slots, H, N*P), each (N, P), a window's half
     * by its parity (one half when the call has one window). Reused by later calls.
     */
    private static final class Chunks {
        int[] seq = new int[0], chunk = new int[0], slot = new int[0], passes = new int[0], states = new int[0], order = new int[0];
        float[] buf = new float[0];
        int count, stateful;

        /** The sequences, longest first, into {@code order}; returns their count. */
        int order(Sequences seqs) {
            if (order.length < seqs.count()) order = new int[seqs.count()];
            int n = 0;
            for (Sequences.Run run : seqs.runsLongestFirst())
                for (int b = run.first(); b < run.first() + run.count(); b++) order[n++] = b;
            return n;
        }

        void fill(ScanLayout s, int Q, boolean init) {
            count = 0;
            stateful = 0;
            for (Sequences.Run run : s.seqs().runsLongestFirst()) count += run.count() * ceilDiv(run.len(), Q);
            if (seq.length < count) {
                seq = new int[count];
                chunk = new int[count];
                slot = new int[count];
                passes = new int[count];
                states = new int[count];
            }
            int k = 0;
            for (Sequences.Run run : s.seqs().runsLongestFirst()) {
                int chunks = ceilDiv(run.len(), Q);
                boolean states = chunks > 1 || init;
                for (int b = run.first(); b < run.first() + run.count(); b++)
                    for (int c = 0; c < chunks; c++, k++) {
                        seq[k] = b;
                        chunk[k] = c;
                        slot[k] = states ? 0 : -1;
                    }
                if (states) stateful += run.count() * chunks;
            }
        }

        void window(int floats) {
            if (buf.length < floats) buf = new float[floats];
        }
    }

    /**
     * The arithmetic of a chunk for a block of heads of one group (docs/spec.md §1.5), whichever order a scan call takes
     * its chunks in: the operands' packing and the three products per head. A block shares the chunk's C B^T; its size
     * only trades that sharing against the task count (every head's arithmetic is the same in any block).
     */
    private static final class ChunkMath {
        final ScanLayout s;
        final float[] xbc, dt, a, init, y;
        final int Q, Qp, P, N, Np, NP, H, perGroup, block, units, stage, stageRow;

        ChunkMath(ScanLayout s, float[] xbc, float[] dt, float[] a, float[] init, float[] y, int Q, int block) {
            this.s = s;
            this.xbc = xbc;
            this.dt = dt;
            this.a = a;
            this.init = init;
            this.y = y;
            this.Q = Q;
            this.block = block;
            Qp = ceilDiv(Q, VL) * VL;
            P = s.headdim();
            N = s.state();
            Np = ceilDiv(N, VL) * VL;
            NP = N * P;
            H = s.heads();
            perGroup = H / s.groups();
            units = s.groups() * ceilDiv(perGroup, block);
            stage = Math.max(1, Math.min(block, STAGE_FLOATS / (Q * P)));
            // a stage's rows one cache line (or half) longer than its heads: rows a power of two apart would share
            // a few sets of L1, and a register tile reads 64 of them
            stageRow = stage * P + VL;
        }

        /** This thread's scratch, its scan tiles sized for these shapes. */
        Scratch scratch() {
            Scratch sc = SCRATCH.get();
            sc.ssd(Q, Qp, P, N, stageRow);
            return sc;
        }

        /** First and one-past-last head of block u (heads of one group, at most {@code block}). */
        int firstHead(int u) {
            int blocks = ceilDiv(perGroup, block);
            return (u / blocks) * perGroup + (u % blocks) * block;
        }

        int lastHead(int h0) {
            return Math.min(h0 + block, (h0 / perGroup + 1) * perGroup);
        }

        /** The rows of chunk c of sequence b into scratch; returns their count q. */
        int chunkRows(Scratch sc, int b, int c) {
            int c0 = c * Q, q = Math.min(Q, s.seqs().length(b) - c0);
            for (int i = 0; i < q; i++) sc.rows[i] = s.row(b, c0 + i);
            return q;
        }

        /** B of group g, (q, N) in rows Np apart, for {@link #headState}. */
        void packB(Scratch sc, int g, int q) {
            int S = s.xbcStride(), bo = s.bCol() + g * N;
            for (int i = 0; i < q; i++) System.arraycopy(xbc, sc.rows[i] * S + bo, sc.b, i * Np, N);
        }

        /**
         * The chunk's scores for {@link #headOutput}, transposed: (C B^T)^T = B C^T, row j holding C_i . B_j for the steps
         * i >= j; from B of group g in panels (the A operand, see {@link #smallGemm}) and C^T, (N, Qp).
         */
        void chunkScores(Scratch sc, int g, int q) {
            int S = s.xbcStride(), bo = s.bCol() + g * N, co = s.cCol() + g * N;
            for (int i = 0; i < q; i++) {
                int r = sc.rows[i] * S, panel = i / VL * VL * N + i % VL;
                for (int n = 0; n < N; n++) {
                    sc.bp[panel + n * VL] = xbc[r + bo + n];
                    sc.ct[n * Qp + i] = xbc[r + co + n];
                }
            }
            smallGemm(q, N, false, true, sc.bp, N, sc.ct, Qp, 0, Qp, sc.scores, sc.mRow, false);
        }

        /**
         * x of heads [hs, he) for the chunk's rows, (q, (he - hs) P) in rows {@link #stageRow} apart, each row one run of
         * memory (a head's own rows lie a row of all heads apart, too far for the prefetchers).
         */
        void packX(Scratch sc, int hs, int he, int q) {
            int S = s.xbcStride(), xo = s.xCol() + hs * P;
            for (int i = 0; i < q; i++) System.arraycopy(xbc, sc.rows[i] * S + xo, sc.x, i * stageRow, (he - hs) * P);
        }

        /** dt and dt A of head h at each of the chunk's steps. */
        void headSteps(Scratch sc, int h, int q) {
            float ah = a[h];
            for (int i = 0; i < q; i++) {
                float dti = dt[sc.rows[i] * s.dtStride() + s.dtCol() + h];
                sc.dts[i] = dti;
                sc.dA[i] = (double) dti * ah;
            }
        }

        /**
         * The chunk's S_c = B^T diag(w) X of the head staged at column c0 into sc.st, (N, P), with
         * w_j = exp(dA_{j+1} + ... + dA_end) dt_j, every exponent summed over its own segment; returns the chunk's total
         * decay exp(dA_0 + ... + dA_end). Needs {@link #packB}, {@link #packX} and {@link #headSteps}.
         */
        float headState(Scratch sc, int c0, int q) {
            double segment = 0;
            for (int i = q - 1; i >= 0; i--) {
                sc.e[i] = (float) segment;
                segment += sc.dA[i];
            }
            decayInPlace(sc.e, q);
            mulFlushed(sc.e, 0, sc.dts, 0, sc.e, 0, Qp);
            // B^T diag(w) in panels of VL states: (n, j) at (n / VL Qp + j) VL + n % VL
            for (int j = 0; j < q; j++)
                for (int n = 0; n < N; n += VL) {
                    FloatVector v = FloatVector.fromArray(F, sc.b, j * Np + n).mul(sc.e[j]);
                    v.blend(0f, v.abs().compare(VectorOperators.LT, Float.MIN_NORMAL)).intoArray(sc.btw, (n / VL * Qp + j) * VL);
                }
            // the output's columns count from c0 as x's do, hence rows c0 before their place
            for (int n = 0; n < N; n++) sc.stateRow[n] = n * P - c0;
            smallGemm(N, q, false, false, sc.btw, Qp, sc.x, stageRow, c0, P, sc.st, sc.stateRow, false);
            return flushed((float) Math.exp(segment));
        }

        /**
         * The outputs of the head staged at column c0 into the same columns of the staging rows: Y = M X (lower triangle of
         * M) and, where a state enters the chunk ({@code states} not null, S_in (N, P) at so), Y += diag(exp(dA_0 + ... +
         * dA_i)) C S_in^T. Needs {@link #chunkScores}, {@link #packX} and {@link #headSteps}.
         */
        void headOutput(Scratch sc, int c0, int q, float[] states, int so) {
            decayMask(sc, q, Qp);
            smallGemm(q, q, true, false, sc.m, Qp, sc.x, stageRow, c0, P, sc.staging, sc.yRow, false);
            if (states == null) return;
            double fromStart = 0;
            for (int i = 0; i < q; i++) {
                fromStart += sc.dA[i];
                sc.e[i] = (float) fromStart;
            }
            decayInPlace(sc.e, q);
            // diag(e) C in panels of VL steps: (i, n) at (i / VL N + n) VL + i % VL
            for (int i = 0; i < q; i += VL)
                for (int n = 0; n < N; n++) {
                    FloatVector v = FloatVector.fromArray(F, sc.ct, n * Qp + i).mul(FloatVector.fromArray(F, sc.e, i));
                    v.blend(0f, v.abs().compare(VectorOperators.LT, Float.MIN_NORMAL)).intoArray(sc.ce, (i / VL * N + n) * VL);
                }
            System.arraycopy(states, so, sc.st, 0, NP);
            for (int i = 0; i < q; i++) sc.headRow[i] = sc.yRow[i] + c0;
            smallGemm(q, N, false, false, sc.ce, N, sc.st, P, 0, P, sc.staging, sc.headRow, true);
        }

        /**
         * The staged outputs of heads [hs, he) to y in runs the prefetchers follow: a head's rows of y lie a row of all
         * heads apart, so that the tiles' own stores there would each wait for a line of memory.
         */
        void unstage(Scratch sc, int hs, int he, int q) {
            for (int i = 0; i < q; i++) System.arraycopy(sc.staging, i * stageRow, y, sc.rows[i] * H * P + hs * P, (he - hs) * P);
        }

        /** Elements [e0, e1) of the state entering head h's first chunk, (N, P) at ro: the initial state (H, P, N) transposed, or zero. */
        void initialState(float[] run, int ro, int h, int e0, int e1) {
            for (int e = e0; e < e1; e++) run[ro + e] = init == null ? 0 : init[(h * P + e % P) * N + e / P];
        }

        /**
         * Head block u of sequence b, all three passes in one task, the chunks in order: each chunk's outputs from the
         * state entering it, then (but for the last) its S_c and the state entering the next chunk, by the same
         * operations as the chunk-parallel passes (so the same bits). The block's running states stay in this thread's
         * scratch: no chunk state goes to memory, and x and the chunk's rows are staged once for both products.
         */
        void sequenceInOrder(int b, int u) {
            Scratch sc = scratch();
            int h0 = firstHead(u), h1 = lastHead(h0), g = s.group(h0), chunks = ceilDiv(s.seqs().length(b), Q);
            float[] run = sc.run((h1 - h0) * NP);
            for (int h = h0; h < h1; h++) initialState(run, (h - h0) * NP, h, 0, NP);
            for (int c = 0; c < chunks; c++) {
                boolean last = c == chunks - 1, entering = c > 0 || init != null;
                int q = chunkRows(sc, b, c);
                chunkScores(sc, g, q);
                if (!last) packB(sc, g, q);
                for (int hs = h0; hs < h1; hs += stage) {
                    int he = Math.min(h1, hs + stage);
                    packX(sc, hs, he, q);
                    for (int h = hs; h < he; h++) {
                        int ro = (h - h0) * NP;
                        headSteps(sc, h, q);
                        headOutput(sc, (h - hs) * P, q, entering ? run : null, ro);
                        if (!last) advance(run, ro, headState(sc, (h - hs) * P, q), sc.st, 0, NP);
                    }
                    unstage(sc, hs, he, q);
                }
            }
        }
    }

    /**
     * The state entering a head's next chunk, S_in d + S_c (docs/spec.md §1.5), over n floats: run (at ro) holds S_in
     * and takes the sum; s (at so) holds S_c and takes S_in, the state entering this chunk.
     */
    private static void advance(float[] run, int ro, float d, float[] s, int so, int n) {
        int pv = F.loopBound(n);
        FloatVector dv = FloatVector.broadcast(F, d);
        for (int e = 0; e < pv; e += VL) {
            FloatVector entering = FloatVector.fromArray(F, run, ro + e);
            entering.fma(dv, FloatVector.fromArray(F, s, so + e)).intoArray(run, ro + e);
            entering.intoArray(s, so + e);
        }
        for (int e = pv; e < n; e++) {
            float entering = run[ro + e];
            run[ro + e] = Math.fma(entering, d, s[so + e]);
            s[so + e] = entering;
        }
    }

    /**
     * One window of a scan call's chunk-parallel passes: chunks [from, from + count) of its {@link Chunks}, the stateful
     * ones among them at most {@code slots}, and the passes' tasks and work estimates (multiply-adds, roughly).
     */
    private static final class Window {
        final ChunkMath m;
        final float[] buf;
        final int[] seq, chunk, slot;
        final int H, NP, slots, parity, stateBase, carryIn, carryOut, decays, from, count, stateSeqs, stateChunks, slices, sliceLen;
        final long stateWork, passWork, outputWork;

        Window(ScanLayout s, float[] xbc, float[] dt, float[] a, float[] init, float[] y, int Q, Chunks list, int from, int slots, int parity, int threads) {
            this.from = from;
            buf = list.buf;
            seq = list.seq;
            chunk = list.chunk;
            slot = list.slot;
            int N = s.state(), P = s.headdim(), perGroup = s.heads() / s.groups();
            NP = N * P;
            H = s.heads();
            this.slots = slots;
            this.parity = parity;
            carryIn = parity * H * NP;
            carryOut = (1 - parity) * H * NP;
            decays = 2 * H * NP + parity * slots * H;
            stateBase = 2 * H * NP + 2 * slots * H + parity * slots * H * NP;
            // the window's chunks, its slots numbered in order, and its tasks of passes (a) and (b)
            int k = from, used = 0, p = 0, st = 0;
            long states = 0, outputs = 0;
            for (; k < list.count; k++) {
                boolean stateful = slot[k] >= 0;
                if (stateful && used == slots) break;
                int q = Math.min(Q, s.seqs().length(seq[k]) - chunk[k] * Q);
                // C B^T per group and M X per head (lower triangles), C S_in per head
                outputs += (long) q * q * (s.groups() * N + H * P) / 2 + (chunk[k] > 0 || init != null ? (long) q * H * NP : 0);
                if (!stateful) continue;
                slot[k] = used++;
                if (k == from || seq[k] != seq[k - 1]) list.passes[p++] = k;
                if ((chunk[k] + 1) * Q < s.seqs().length(seq[k])) {
                    list.states[st++] = k;
                    states += (long) q * H * NP;
                }
            }
            count = k - from;
            stateSeqs = p;
            stateChunks = st;
            stateWork = states;
            passWork = (long) used * H * NP;
            outputWork = outputs;
            // the largest blocks of heads that still give every thread several tasks
            int b = perGroup;
            while (b > 1 && (long) count * s.groups() * ceilDiv(perGroup, b) < 4L * threads) b = ceilDiv(b, 2);
            m = new ChunkMath(s, xbc, dt, a, init, y, Q, b);
            // pass (b) is elementwise over a state's N*P floats: slices of them are tasks too, so that a few
            // sequences' heads still give every thread work
            int sl = 1;
            while ((long) stateSeqs * H * sl < 4L * threads && NP / (2 * sl) >= 4 * VL) sl *= 2;
            sliceLen = ceilDiv(ceilDiv(NP, sl), VL) * VL;
            slices = ceilDiv(NP, sliceLen);
        }

        /** The window after this one, its states in the other half of the buffer. */
        Window following(Chunks list, int threads) {
            return new Window(m.s, m.xbc, m.dt, m.a, m.init, m.y, m.Q, list, from + count, slots, parity ^ 1, threads);
        }

        private int state(int slot, int h) {
            return stateBase + (slot * H + h) * NP;
        }

        /** Pass (a) for chunk k of the list, head block u: per head S_c to the chunk's slot, and the chunk's total decay. */
        void chunkState(int k, int u) {
            Scratch sc = m.scratch();
            int h0 = m.firstHead(u), h1 = m.lastHead(h0), q = m.chunkRows(sc, seq[k], chunk[k]);
            m.packB(sc, m.s.group(h0), q);
            for (int hs = h0; hs < h1; hs += m.stage) {
                int he = Math.min(h1, hs + m.stage);
                m.packX(sc, hs, he, q);
                for (int h = hs; h < he; h++) {
                    m.headSteps(sc, h, q);
                    buf[decays + slot[k] * H + h] = m.headState(sc, (h - hs) * m.P, q);
                    // into scratch, then to the window in one run (the tiles' own stores there would wait on memory)
                    System.arraycopy(sc.st, 0, buf, state(slot[k], h), NP);
                }
            }
        }

        /**
         * Pass (b) for head h of the sequence whose first chunk in the window is k, state elements [j sliceLen,
         * (j + 1) sliceLen): each of its slots' S_c becomes the state entering its chunk. The running state starts as the
         * initial state or zero, or, for a sequence that began in the window before, the state that left that window;
         * it leaves this window the same way when the sequence goes on.
         */
        void passStates(int k, int h, int j) {
            int b = seq[k], chunks = ceilDiv(m.s.seqs().length(b), m.Q), end = from + count;
            int e0 = j * sliceLen, e1 = Math.min(NP, e0 + sliceLen), n = e1 - e0;
            float[] run = SCRATCH.get().run(NP);
            if (chunk[k] > 0) System.arraycopy(buf, carryIn + h * NP + e0, run, e0, n);
            else m.initialState(run, 0, h, e0, e1);
            for (; k < end && seq[k] == b; k++) {
                int o = state(slot[k], h);
                if (chunk[k] == chunks - 1) {   // the sequence's last chunk: only the state entering it
                    System.arraycopy(run, e0, buf, o + e0, n);
                    return;
                }
                advance(run, e0, buf[decays + slot[k] * H + h], buf, o + e0, n);
            }
            System.arraycopy(run, e0, buf, carryOut + h * NP + e0, n);
        }

        /** Pass (c) for chunk k of the list, head block u: the chunk's C B^T once for the block, then per head its outputs. */
        void chunkOutput(int k, int u) {
            Scratch sc = m.scratch();
            int h0 = m.firstHead(u), h1 = m.lastHead(h0), q = m.chunkRows(sc, seq[k], chunk[k]);
            boolean entering = chunk[k] > 0 || m.init != null;
            m.chunkScores(sc, m.s.group(h0), q);
            for (int hs = h0; hs < h1; hs += m.stage) {
                int he = Math.min(h1, hs + m.stage);
                m.packX(sc, hs, he, q);
                for (int h = hs; h < he; h++) {
                    m.headSteps(sc, h, q);
                    m.headOutput(sc, (h - hs) * m.P, q, entering ? buf : null, entering ? state(slot[k], h) : 0);
                }
                m.unstage(sc, hs, he, q);
            }
        }
    }

    /**
     * M (q x q) in panels of VL rows (see {@link #smallGemm}: M[i][j] at (I Qp + j) VL + i - I VL for I = i / VL) from
     * the transposed scores (C_i . B_j at j Qp + i): M[i][j] = (C_i . B_j) exp(dA_{j+1} + ... + dA_i) dt_j for
     * j <= i, 0 beyond. In the vectors of the diagonal's panel, each element's exponent is summed over its own
     * segment. Below it, for j in vector J (steps s_J to e_J) and i in vector I, the decay is the product of the
     * decays over three adjacent segments, exp(dA_{j+1} + ... + dA_{e_J}) exp(dA_{e_J+1} + ... + dA_{s_I - 1})
     * exp(dA_{s_I} + ... + dA_i), each exponent again summed over its own segment (a difference of two running
     * sums would lose the small terms next to a huge one): one exp per column, per pair of vectors and per row
     * instead of one per element. Magnitudes below the smallest normal float are flushed to zero (a flushed
     * factor only drops products below it).
     */
    private static void decayMask(Scratch sc, int q, int Qp) {
        int vectors = ceilDiv(q, VL), vp = ceilDiv(vectors, VL) * VL;
        // per column j: dt_j exp(dA_{j+1} + ... + dA_{e_J}); per vector: the sum of its dA
        for (int J = 0; J < vectors; J++) {
            double tail = 0;
            for (int j = Math.min(q, (J + 1) * VL) - 1; j >= J * VL; j--) {
                sc.colW[j] = (float) tail;
                tail += sc.dA[j];
            }
            sc.vectorSum[J] = tail;
        }
        decayInPlace(sc.colW, q);
        mulFlushed(sc.colW, 0, sc.dts, 0, sc.colW, 0, Qp);
        // per row i: exp(dA_{s_I} + ... + dA_i)
        double head = 0;
        for (int i = 0; i < q; i++) {
            if (i % VL == 0) head = 0;
            head += sc.dA[i];
            sc.rowHead[i] = (float) head;
        }
        decayInPlace(sc.rowHead, q);
        // per pair J < I, at I * vp + J: exp(dA_{e_J+1} + ... + dA_{s_I - 1}), the vectors between them
        for (int I = 1; I < vectors; I++) {
            double between = 0;
            for (int J = I - 1; J >= 0; J--) {
                sc.between[I * vp + J] = (float) between;
                between += sc.vectorSum[J];
            }
        }
        decayInPlace(sc.between, vectors * vp);
        for (int J = 0, j0 = 0; J < vectors; J++, j0 += VL) {
            int cols = Math.min(VL, q - j0);
            decayInPlace(sc.tri, diagonalExponents(sc, j0, cols));
            for (int t = 0; t < cols; t++) {
                int j = j0 + t;
                // column t's decays start at lane t of this load (the lanes before it are masked)
                FloatVector v = FloatVector.fromArray(F, sc.scores, j * Qp + j0).mul(FloatVector.fromArray(F, sc.tri, t * VL - t * (t + 1) / 2))
                        .mul(sc.dts[j]);
                VectorMask<Float> drop = IOTA.compare(VectorOperators.LT, (float) t).or(v.abs().compare(VectorOperators.LT, Float.MIN_NORMAL));
                v.blend(0f, drop).intoArray(sc.m, (J * Qp + j) * VL);
            }
            for (int I = J + 1, i0 = j0 + VL; I < vectors; I++, i0 += VL) {
                FloatVector rowE = FloatVector.fromArray(F, sc.rowHead, i0).mul(sc.between[I * vp + J]);
                rowE = rowE.blend(0f, rowE.abs().compare(VectorOperators.LT, Float.MIN_NORMAL));
                for (int j = j0; j < j0 + cols; j++) {
                    FloatVector v = FloatVector.fromArray(F, sc.scores, j * Qp + i0).mul(sc.colW[j]).mul(rowE);
                    v.blend(0f, v.abs().compare(VectorOperators.LT, Float.MIN_NORMAL)).intoArray(sc.m, (I * Qp + j) * VL);
                }
            }
        }
    }

    /**
     * The decay exponents of the diagonal's panel, all at once (so that their exps overlap): for column t (step
     * j0 + t) and each row r in [t, VL), dA_{j0+t+1} + ... + dA_{j0+r} summed in row order (0 for rows past the
     * chunk), the columns one after another: row r of column t at tri[t VL - t (t - 1) / 2 + r - t]; returns the
     * lanes used.
     */
    private static int diagonalExponents(Scratch sc, int j0, int cols) {
        int lanes = 0;
        for (int t = 0; t < VL; t++) {
            double sum = 0;
            for (int r = t; r < VL; r++) {
                if (r > t && r < cols) sum += sc.dA[j0 + r];
                sc.tri[lanes++] = r < cols ? (float) sum : 0;
            }
        }
        return lanes;
    }

    /** out[o + i] = a[ao + i] b[bo + i] for i < n (a multiple of VL), flushed below the smallest normal float. */
    private static void mulFlushed(float[] a, int ao, float[] b, int bo, float[] out, int o, int n) {
        for (int i = 0; i < n; i += VL) {
            FloatVector v = FloatVector.fromArray(F, a, ao + i).mul(FloatVector.fromArray(F, b, bo + i));
            v.blend(0f, v.abs().compare(VectorOperators.LT, Float.MIN_NORMAL)).intoArray(out, o + i);
        }
    }

    /** Just above ln(2^-126) = -87.3365, so that {@link #exp} of it is still normal: a decay exponent below it gives a zero decay. */
    private static final float LN_MIN_NORMAL = -87.33f;

    /** a[0, roundUp(n)) = e^a flushed below the smallest normal float (see {@link #exp}). */
    private static void decayInPlace(float[] a, int n) {
        exp(a, 0, a, 0, ceilDiv(n, VL) * VL, true);
    }

    /**
     * out[outRow[r] + c] (+)= sum_k A(r, k) B[k*bRow + c] for r < rows, c0 <= c < c0 + cols, with A in panels of VL
     * rows, each k-major: A(r, k) at (r / VL) VL aK + k VL + r % VL, so that a register tile's rows at one k are
     * adjacent and one index register serves all its broadcasts (an Intel core runs out of registers on eight row
     * offsets and spills them through the ports its FMAs use). Register tiles of eight rows by two vectors (512 bits)
     * or four rows by up to four vectors. {@code triK}: row r only needs k <= r (A is zero beyond, up to the end of
     * its panel's diagonal block); {@code upper}: row r only needs the columns from its own on (computed from the
     * pair of vectors that holds it). Accumulating starts from out. The k axis runs in blocks of {@link #K_BLOCK},
     * every row tile per block, so that the block of B the tiles share stays in L1 (a whole S_in of 128 states,
     * 32 KB, would not); an accumulator stored and reloaded between blocks is the same float, so the sums are those of one
     * pass over k.
     */
    private static void smallGemm(int rows, int kn, boolean triK, boolean upper, float[] A, int aK, float[] B, int bRow,
                                  int c0, int cols, float[] out, int[] outRow, boolean accumulate) {
        for (int k0 = 0; k0 < kn; k0 += K_BLOCK)
            smallGemmBlock(rows, k0, Math.min(kn, k0 + K_BLOCK), triK, upper, A, aK, B, bRow, c0, cols, out, outRow, accumulate || k0 > 0);
    }

    /** Rows of B one pass of {@link #smallGemm} over its row tiles reads: 64 rows of 64 floats, 16 KB. */
    private static final int K_BLOCK = 64;

    /** {@link #smallGemm}'s terms k0 <= k < k1; with {@code triK}, rows below k0 have none. */
    private static void smallGemmBlock(int rows, int k0, int kn, boolean triK, boolean upper, float[] A, int aK, float[] B, int bRow,
                                       int c0, int cols, float[] out, int[] outRow, boolean accumulate) {
        int ce = c0 + cols;
        for (int r0 = triK ? k0 / 4 * 4 : 0, rn; r0 < rows; r0 += rn) {
            int ap = r0 / VL * VL * aK + r0 % VL, cs = upper ? c0 + r0 / (2 * VL) * (2 * VL) : c0;
            if (WIDE_TILES && r0 + 8 <= rows && (ce - cs) % (2 * VL) == 0) {
                int k8 = triK ? Math.min(kn, r0 + 8) : kn;
                for (int c = cs; c < ce; c += 2 * VL) tile8x2(k0, k8, A, ap, B, bRow, c, out, outRow, r0, accumulate);
                rn = 8;
                continue;
            }
            // four rows (or the last one to three) stay in one panel: r0 is a multiple of four and VL of eight or four
            rn = Math.min(4, rows - r0);
            int k1 = triK ? Math.min(kn, r0 + rn) : kn, cv = ce - (ce - cs) % VL;
            if (rn == 4) {
                int o0 = outRow[r0], o1 = outRow[r0 + 1], o2 = outRow[r0 + 2], o3 = outRow[r0 + 3];
                int c = cs;
                if (WIDE_TILES) for (; c + 4 * VL <= cv; c += 4 * VL) tile4x4(k0, k1, A, ap, B, bRow, c, out, o0, o1, o2, o3, accumulate);
                for (; c + 2 * VL <= cv; c += 2 * VL) tile4x2(k0, k1, A, ap, B, bRow, c, out, o0, o1, o2, o3, accumulate);
                for (; c < cv; c += VL) {
                    FloatVector s0, s1, s2, s3;
                    if (accumulate) {
                        s0 = FloatVector.fromArray(F, out, o0 + c);
                        s1 = FloatVector.fromArray(F, out, o1 + c);
                        s2 = FloatVector.fromArray(F, out, o2 + c);
                        s3 = FloatVector.fromArray(F, out, o3 + c);
                    } else {
                        s0 = s1 = s2 = s3 = FloatVector.zero(F);
                    }
                    for (int k = k0, a = ap + k0 * VL; k < k1; k++, a += VL) {
                        FloatVector bv = FloatVector.fromArray(F, B, k * bRow + c);
                        s0 = bv.fma(FloatVector.broadcast(F, A[a]), s0);
                        s1 = bv.fma(FloatVector.broadcast(F, A[a + 1]), s1);
                        s2 = bv.fma(FloatVector.broadcast(F, A[a + 2]), s2);
                        s3 = bv.fma(FloatVector.broadcast(F, A[a + 3]), s3);
                    }
                    s0.intoArray(out, o0 + c);
                    s1.intoArray(out, o1 + c);
                    s2.intoArray(out, o2 + c);
                    s3.intoArray(out, o3 + c);
                }
            } else {
                for (int r = r0; r < r0 + rn; r++) {
                    int a0 = ap + r - r0, o0 = outRow[r], kr = triK ? Math.min(kn, r + 1) : kn;
                    for (int c = cs; c < cv; c += VL) {
                        FloatVector s0 = accumulate ? FloatVector.fromArray(F, out, o0 + c) : FloatVector.zero(F);
                        for (int k = k0; k < kr; k++) s0 = FloatVector.fromArray(F, B, k * bRow + c).fma(FloatVector.broadcast(F, A[a0 + k * VL]), s0);
                        s0.intoArray(out, o0 + c);
                    }
                }
            }
            for (int r = r0; r < r0 + rn; r++) {
                int a0 = ap + r - r0, kr = triK ? Math.min(kn, r + 1) : kn;
                for (int c = cv; c < ce; c++) {
                    float s0 = accumulate ? out[outRow[r] + c] : 0;
                    for (int k = k0; k < kr; k++) s0 = Math.fma(A[a0 + k * VL], B[k * bRow + c], s0);
                    out[outRow[r] + c] = s0;
                }
            }
        }
    }

    /** Four rows by four vectors of {@link #smallGemm}, columns [c, c + 4 VL): sixteen accumulators, eight loads per sixteen FMAs. */
    private static void tile4x4(int k0, int k1, float[] A, int ap, float[] B, int bRow, int c,
                                float[] out, int o0, int o1, int o2, int o3, boolean accumulate) {
        FloatVector s0, s1, s2, s3, t0, t1, t2, t3, u0, u1, u2, u3, v0, v1, v2, v3;
        if (accumulate) {
            s0 = FloatVector.fromArray(F, out, o0 + c); t0 = FloatVector.fromArray(F, out, o0 + c + VL);
            u0 = FloatVector.fromArray(F, out, o0 + c + 2 * VL); v0 = FloatVector.fromArray(F, out, o0 + c + 3 * VL);
            s1 = FloatVector.fromArray(F, out, o1 + c); t1 = FloatVector.fromArray(F, out, o1 + c + VL);
            u1 = FloatVector.fromArray(F, out, o1 + c + 2 * VL); v1 = FloatVector.fromArray(F, out, o1 + c + 3 * VL);
            s2 = FloatVector.fromArray(F, out, o2 + c); t2 = FloatVector.fromArray(F, out, o2 + c + VL);
            u2 = FloatVector.fromArray(F, out, o2 + c + 2 * VL); v2 = FloatVector.fromArray(F, out, o2 + c + 3 * VL);
            s3 = FloatVector.fromArray(F, out, o3 + c); t3 = FloatVector.fromArray(F, out, o3 + c + VL);
            u3 = FloatVector.fromArray(F, out, o3 + c + 2 * VL); v3 = FloatVector.fromArray(F, out, o3 + c + 3 * VL);
        } else {
            s0 = s1 = s2 = s3 = t0 = t1 = t2 = t3 = u0 = u1 = u2 = u3 = v0 = v1 = v2 = v3 = FloatVector.zero(F);
        }
        for (int k = k0, a = ap + k0 * VL, b = c + k0 * bRow; k < k1; k++, a += VL, b += bRow) {
            FloatVector w = FloatVector.fromArray(F, B, b), x = FloatVector.fromArray(F, B, b + VL);
            FloatVector y = FloatVector.fromArray(F, B, b + 2 * VL), z = FloatVector.fromArray(F, B, b + 3 * VL);
            FloatVector r = FloatVector.broadcast(F, A[a]);
            s0 = w.fma(r, s0); t0 = x.fma(r, t0); u0 = y.fma(r, u0); v0 = z.fma(r, v0);
            r = FloatVector.broadcast(F, A[a + 1]);
            s1 = w.fma(r, s1); t1 = x.fma(r, t1); u1 = y.fma(r, u1); v1 = z.fma(r, v1);
            r = FloatVector.broadcast(F, A[a + 2]);
            s2 = w.fma(r, s2); t2 = x.fma(r, t2); u2 = y.fma(r, u2); v2 = z.fma(r, v2);
            r = FloatVector.broadcast(F, A[a + 3]);
            s3 = w.fma(r, s3); t3 = x.fma(r, t3); u3 = y.fma(r, u3); v3 = z.fma(r, v3);
        }
        s0.intoArray(out, o0 + c); t0.intoArray(out, o0 + c + VL); u0.intoArray(out, o0 + c + 2 * VL); v0.intoArray(out, o0 + c + 3 * VL);
        s1.intoArray(out, o1 + c); t1.intoArray(out, o1 + c + VL); u1.intoArray(out, o1 + c + 2 * VL); v1.intoArray(out, o1 + c + 3 * VL);
        s2.intoArray(out, o2 + c); t2.intoArray(out, o2 + c + VL); u2.intoArray(out, o2 + c + 2 * VL); v2.intoArray(out, o2 + c + 3 * VL);
        s3.intoArray(out, o3 + c); t3.intoArray(out, o3 + c + VL); u3.intoArray(out, o3 + c + 2 * VL); v3.intoArray(out, o3 + c + 3 * VL);
    }

    /**
     * Eight rows by two vectors of {@link #smallGemm}, columns [c, c + 2 VL), for 512-bit vectors (32 registers):
     * sixteen accumulators like {@link #tile4x4}, with half its loads of B per FMA.
     */
    private static void tile8x2(int k0, int k1, float[] A, int ap, float[] B, int bRow, int c,
                                float[] out, int[] outRow, int r0, boolean accumulate) {
        int o0 = outRow[r0] + c, o1 = outRow[r0 + 1] + c, o2 = outRow[r0 + 2] + c, o3 = outRow[r0 + 3] + c;
        int o4 = outRow[r0 + 4] + c, o5 = outRow[r0 + 5] + c, o6 = outRow[r0 + 6] + c, o7 = outRow[r0 + 7] + c;
        FloatVector s0, s1, s2, s3, s4, s5, s6, s7, t0, t1, t2, t3, t4, t5, t6, t7;
        if (accumulate) {
            s0 = FloatVector.fromArray(F, out, o0); t0 = FloatVector.fromArray(F, out, o0 + VL);
            s1 = FloatVector.fromArray(F, out, o1); t1 = FloatVector.fromArray(F, out, o1 + VL);
            s2 = FloatVector.fromArray(F, out, o2); t2 = FloatVector.fromArray(F, out, o2 + VL);
            s3 = FloatVector.fromArray(F, out, o3); t3 = FloatVector.fromArray(F, out, o3 + VL);
            s4 = FloatVector.fromArray(F, out, o4); t4 = FloatVector.fromArray(F, out, o4 + VL);
            s5 = FloatVector.fromArray(F, out, o5); t5 = FloatVector.fromArray(F, out, o5 + VL);
            s6 = FloatVector.fromArray(F, out, o6); t6 = FloatVector.fromArray(F, out, o6 + VL);
            s7 = FloatVector.fromArray(F, out, o7); t7 = FloatVector.fromArray(F, out, o7 + VL);
        } else {
            s0 = s1 = s2 = s3 = s4 = s5 = s6 = s7 = t0 = t1 = t2 = t3 = t4 = t5 = t6 = t7 = FloatVector.zero(F);
        }
        for (int k = k0, a = ap + k0 * VL, b = c + k0 * bRow; k < k1; k++, a += VL, b += bRow) {
            FloatVector u = FloatVector.fromArray(F, B, b), v = FloatVector.fromArray(F, B, b + VL);
            FloatVector x = FloatVector.broadcast(F, A[a]);
            s0 = u.fma(x, s0); t0 = v.fma(x, t0);
            x = FloatVector.broadcast(F, A[a + 1]);
            s1 = u.fma(x, s1); t1 = v.fma(x, t1);
            x = FloatVector.broadcast(F, A[a + 2]);
            s2 = u.fma(x, s2); t2 = v.fma(x, t2);
            x = FloatVector.broadcast(F, A[a + 3]);
            s3 = u.fma(x, s3); t3 = v.fma(x, t3);
            x = FloatVector.broadcast(F, A[a + 4]);
            s4 = u.fma(x, s4); t4 = v.fma(x, t4);
            x = FloatVector.broadcast(F, A[a + 5]);
            s5 = u.fma(x, s5); t5 = v.fma(x, t5);
            x = FloatVector.broadcast(F, A[a + 6]);
            s6 = u.fma(x, s6); t6 = v.fma(x, t6);
            x = FloatVector.broadcast(F, A[a + 7]);
            s7 = u.fma(x, s7); t7 = v.fma(x, t7);
        }
        s0.intoArray(out, o0); t0.intoArray(out, o0 + VL);
        s1.intoArray(out, o1); t1.intoArray(out, o1 + VL);
        s2.intoArray(out, o2); t2.intoArray(out, o2 + VL);
        s3.intoArray(out, o3); t3.intoArray(out, o3 + VL);
        s4.intoArray(out, o4); t4.intoArray(out, o4 + VL);
        s5.intoArray(out, o5); t5.intoArray(out, o5 + VL);
        s6.intoArray(out, o6); t6.intoArray(out, o6 + VL);
        s7.intoArray(out, o7); t7.intoArray(out, o7 + VL);
    }

    /** Four rows by two vectors of {@link #smallGemm}, columns [c, c + 2 VL): six loads per eight FMAs instead of five per four. */
    private static void tile4x2(int k0, int k1, float[] A, int ap, float[] B, int bRow, int c,
                                float[] out, int o0, int o1, int o2, int o3, boolean accumulate) {
        FloatVector s0, s1, s2, s3, t0, t1, t2, t3;
        if (accumulate) {
            s0 = FloatVector.fromArray(F, out, o0 + c);
            s1 = FloatVector.fromArray(F, out, o1 + c);
            s2 = FloatVector.fromArray(F, out, o2 + c);
            s3 = FloatVector.fromArray(F, out, o3 + c);
            t0 = FloatVector.fromArray(F, out, o0 + c + VL);
            t1 = FloatVector.fromArray(F, out, o1 + c + VL);
            t2 = FloatVector.fromArray(F, out, o2 + c + VL);
            t3 = FloatVector.fromArray(F, out, o3 + c + VL);
        } else {
            s0 = s1 = s2 = s3 = t0 = t1 = t2 = t3 = FloatVector.zero(F);
        }
        for (int k = k0, a = ap + k0 * VL, b = c + k0 * bRow; k < k1; k++, a += VL, b += bRow) {
            FloatVector u = FloatVector.fromArray(F, B, b), v = FloatVector.fromArray(F, B, b + VL);
            FloatVector x = FloatVector.broadcast(F, A[a]);
            s0 = u.fma(x, s0); t0 = v.fma(x, t0);
            x = FloatVector.broadcast(F, A[a + 1]);
            s1 = u.fma(x, s1); t1 = v.fma(x, t1);
            x = FloatVector.broadcast(F, A[a + 2]);
            s2 = u.fma(x, s2); t2 = v.fma(x, t2);
            x = FloatVector.broadcast(F, A[a + 3]);
            s3 = u.fma(x, s3); t3 = v.fma(x, t3);
        }
        s0.intoArray(out, o0 + c); t0.intoArray(out, o0 + c + VL);
        s1.intoArray(out, o1 + c); t1.intoArray(out, o1 + c + VL);
        s2.intoArray(out, o2 + c); t2.intoArray(out, o2 + c + VL);
        s3.intoArray(out, o3 + c); t3.intoArray(out, o3 + c + VL);
    }

    // ---- step 6: shift + sum + diagonal ------------------------------------------------------------

    @Override
    public void shiftAddDiagonal(Sequences seqs, int heads, int headdim, Buf yFb, Buf yBb, Buf xb, int xStride, Buf deltab, Buf outb) {
        float[] yF = HeapBuf.of(yFb), yB = HeapBuf.of(yBb), x = HeapBuf.of(xb), delta = HeapBuf.of(deltab), out = HeapBuf.of(outb);
        int D = heads * headdim, rows = seqs.rows(), pv = F.loopBound(headdim), perTask = rowsPerTask(rows);
        pool.forEach(ceilDiv(rows, perTask), 3L * rows * D, task -> {
            int r = task * perTask, r1 = Math.min(rows, r + perTask);
            for (int b = seqs.sequenceOf(r); r < r1; r++) {
                if (r == seqs.start(b) + seqs.length(b)) b++;
                int t = r - seqs.start(b), len = seqs.length(b);
                for (int h = 0; h < heads; h++) {
                    float d = delta[r * heads + h];
                    int i0 = h * headdim;
                    for (int p = 0; p < pv; p += VL) {
                        int i = i0 + p;
                        FloatVector v = FloatVector.fromArray(F, x, r * xStride + i).mul(d);
                        if (t > 0) v = v.add(FloatVector.fromArray(F, yF, (r - 1) * D + i));
                        if (t < len - 1) v = v.add(FloatVector.fromArray(F, yB, (r + 1) * D + i));
                        v.intoArray(out, r * D + i);
                    }
                    for (int p = pv; p < headdim; p++) {
                        int i = i0 + p;
                        float v = x[r * xStride + i] * d;
                        if (t > 0) v += yF[(r - 1) * D + i];
                        if (t < len - 1) v += yB[(r + 1) * D + i];
                        out[r * D + i] = v;
                    }
                }
            }
        });
    }

    // ---- step 7: gated RMSNorm ----------------------------------------------------------------------

    @Override
    public void gatedRmsNorm(Buf yb, int rows, int dim, Buf zb, int zStride, int zCol, Buf wb, float eps, Buf outb) {
        float[] y = HeapBuf.of(yb), z = HeapBuf.of(zb), w = HeapBuf.of(wb), out = HeapBuf.of(outb);
        int dv = F.loopBound(dim), perTask = rowsPerTask(rows);
        pool.forEach(ceilDiv(rows, perTask), 8L * rows * dim, task -> {
            Scratch sc = SCRATCH.get();
            float[] lanes = sc.lanes, gate = sc.row(dv);
            for (int r = task * perTask, r1 = Math.min(rows, r + perTask); r < r1; r++) {
                int y0 = r * dim, z0 = r * zStride + zCol;
                FloatVector acc = FloatVector.zero(F);
                for (int i = 0; i < dv; i += VL) {
                    FloatVector v = FloatVector.fromArray(F, y, y0 + i);
                    acc = v.fma(v, acc);
                }
                acc.intoArray(lanes, 0);
                double ss = sum(lanes);
                for (int i = dv; i < dim; i++) ss += (double) y[y0 + i] * y[y0 + i];
                float inv = (float) (1 / Math.sqrt(ss / dim + eps));
                silu(z, z0, gate, 0, dv, gate);
                for (int i = 0; i < dv; i += VL)
                    FloatVector.fromArray(F, y, y0 + i).mul(inv).mul(FloatVector.fromArray(F, w, i))
                            .mul(FloatVector.fromArray(F, gate, i)).intoArray(out, y0 + i);
                for (int i = dv; i < dim; i++) out[y0 + i] = y[y0 + i] * inv * w[i] * silu(z[z0 + i]);
            }
        });
    }

    // ---- the encoder around the mixers: LayerNorm and the residual vectorized and on the workers; embed,
    // maskRows, poolRows and activate (per call: a gather, a row copy, the pooler's few rows) are the scalar ones

    @Override
    public void layerNorm(Buf xb, int rows, int d, Buf wb, Buf bb, float eps, Buf outb) {
        float[] x = HeapBuf.of(xb), w = HeapBuf.of(wb), b = HeapBuf.of(bb), out = HeapBuf.of(outb);
        int dv = F.loopBound(d), perTask = rowsPerTask(rows);
        pool.forEach(ceilDiv(rows, perTask), 4L * rows * d, task -> {
            float[] lanes = SCRATCH.get().lanes;
            for (int r = task * perTask, r1 = Math.min(rows, r + perTask); r < r1; r++) {
                int o = r * d;
                if (dv == 0) {
                    normalizeRow(x, o, d, w, b, eps, out);
                    continue;
                }
                FloatVector acc = FloatVector.zero(F);
                for (int i = 0; i < dv; i += VL) acc = acc.add(FloatVector.fromArray(F, x, o + i));
                acc.intoArray(lanes, 0);
                double mean = sum(lanes);
                for (int i = dv; i < d; i++) mean += x[o + i];
                mean /= d;
                float m = (float) mean;
                acc = FloatVector.zero(F);
                for (int i = 0; i < dv; i += VL) {
                    FloatVector c = FloatVector.fromArray(F, x, o + i).sub(m);
                    acc = c.fma(c, acc);
                }
                acc.intoArray(lanes, 0);
                double var = sum(lanes);
                for (int i = dv; i < d; i++) var += (x[o + i] - mean) * (x[o + i] - mean);
                float inv = (float) (1 / Math.sqrt(var / d + eps));
                for (int i = 0; i < dv; i += VL)
                    FloatVector.fromArray(F, x, o + i).sub(m).mul(inv).fma(FloatVector.fromArray(F, w, i), FloatVector.fromArray(F, b, i))
                            .intoArray(out, o + i);
                for (int i = dv; i < d; i++) out[o + i] = (x[o + i] - m) * inv * w[i] + b[i];
            }
        });
    }

    private static double sum(float[] lanes) {
        double s = 0;
        for (float l : lanes) s += l;
        return s;
    }

    /** Floats of one task of {@link #firstNonFinite}. */
    private static final int CHECK_SLICE = 1 << 16;

    /** In slices on this backend's threads, a vector of lanes at a time (on the common pool, one float at a time, a 65536-token input took 4-5 ms on 16 threads). */
    @Override
    public int firstNonFinite(float[] host) {
        AtomicInteger first = new AtomicInteger(Integer.MAX_VALUE);
        pool.forEach(ceilDiv(host.length, CHECK_SLICE), host.length, k -> {
            int i = firstNonFinite(host, k * CHECK_SLICE, Math.min(host.length, (k + 1) * CHECK_SLICE));
            if (i >= 0) first.accumulateAndGet(i, Math::min);
        });
        return first.get() == Integer.MAX_VALUE ? -1 : first.get();
    }

    private static int firstNonFinite(float[] v, int from, int to) {
        int i = from;
        for (int end = from + F.loopBound(to - from); i < end; i += VL)
            if (!FloatVector.fromArray(F, v, i).abs().compare(VectorOperators.LE, Float.MAX_VALUE).allTrue()) break;
        for (; i < to; i++) if (!Float.isFinite(v[i])) return i;
        return -1;
    }

    @Override
    public void addInPlace(Buf accb, Buf xb, long n) {
        float[] acc = HeapBuf.of(accb), x = HeapBuf.of(xb);
        int total = Math.toIntExact(n), block = ROWS_PER_TASK * 1024;
        pool.forEach(ceilDiv(total, block), total, task -> {
            int i0 = task * block, i1 = Math.min(total, i0 + block), iv = i0 + F.loopBound(i1 - i0);
            int i = i0;
            for (; i < iv; i += VL) FloatVector.fromArray(F, acc, i).add(FloatVector.fromArray(F, x, i)).intoArray(acc, i);
            for (; i < i1; i++) acc[i] += x[i];
        });
    }

    // ---- lane math --------------------------------------------------------------------------------------

    private static final float LOG2E = 1.44269504f, LN2_HI = 0.693359375f, LN2_LO = -2.12194440e-4f;
    /** 1.5 * 2^23: adding it rounds to an integer held in the low mantissa bits. */
    private static final float ROUNDER = 12582912f;

    /**
     * out[o, o + n) = e^in[io, io + n) for n a multiple of VL, within 2 ulp where the result is a normal float: x = m ln2 + r
     * with e^r by its Taylor series to r^7. 2^m is applied as 2^(m>>1) 2^(m - (m>>1)), both normal, so that results
     * below 2^-126 round once into the subnormals as Math.exp's do; x is clamped to [-104, 88], and e^-104 rounds to
     * zero. With {@code flush}, results below the smallest normal float are zero instead, and no subnormal is ever
     * computed (an Intel core takes a microcode assist for each). Lane math takes and gives arrays, never vectors:
     * the JIT does not inline a callee it has already compiled on its own to more than -XX:InlineSmallCode bytes,
     * and a vector passed to or returned from a call it does not inline is boxed, an allocation in every kernel loop
     * for as long as the caller's compiled code lives (VectorBackendTest#steadyStateForwardAllocatesOnlyItsOutput
     * failed about one run in fifteen that way when exp took and gave a vector).
     */
    static void exp(float[] in, int io, float[] out, int o, int n, boolean flush) {
        for (int j = 0; j < n; j += VL) {
            FloatVector x = FloatVector.fromArray(F, in, io + j);
            // computed either way: a mask that is null on one path is an object, boxed on every call
            VectorMask<Float> underflow = x.compare(VectorOperators.LT, LN_MIN_NORMAL);
            // clamps as compare and blend: max and min with Java's NaN and signed-zero rules take six instructions each
            if (flush) x = x.blend(LN_MIN_NORMAL, underflow);
            x = x.blend(-104f, x.compare(VectorOperators.LT, -104f));
            x = x.blend(88f, x.compare(VectorOperators.GT, 88f));
            FloatVector t = x.fma(LOG2E, ROUNDER);
            FloatVector whole = t.sub(ROUNDER);
            FloatVector r = whole.fma(FloatVector.broadcast(F, -LN2_HI), x);
            r = whole.fma(FloatVector.broadcast(F, -LN2_LO), r);
            FloatVector p = FloatVector.broadcast(F, 1 / 5040f).fma(r, FloatVector.broadcast(F, 1 / 720f))
                    .fma(r, FloatVector.broadcast(F, 1 / 120f)).fma(r, FloatVector.broadcast(F, 1 / 24f))
                    .fma(r, FloatVector.broadcast(F, 1 / 6f)).fma(r, FloatVector.broadcast(F, 0.5f))
                    .fma(r, FloatVector.broadcast(F, 1f)).fma(r, FloatVector.broadcast(F, 1f));
            IntVector k = t.reinterpretAsInts().sub(Float.floatToRawIntBits(ROUNDER)), half = k.lanewise(VectorOperators.ASHR, 1);
            FloatVector lo = half.add(127).lanewise(VectorOperators.LSHL, 23).reinterpretAsFloats();
            FloatVector hi = k.sub(half).add(127).lanewise(VectorOperators.LSHL, 23).reinterpretAsFloats();
            FloatVector e = p.mul(lo).mul(hi);
            (flush ? e.blend(0f, underflow) : e).intoArray(out, o + j);
        }
    }

    /**
     * out[o, o + n) = silu(in[io, io + n)) = x / (1 + e^-x) for n a multiple of VL, e^-x staged in tmp[0, n) (which
     * may be out when o is 0), so that out is written once; in must overlap neither.
     */
    static void silu(float[] in, int io, float[] out, int o, int n, float[] tmp) {
        for (int j = 0; j < n; j += VL) FloatVector.fromArray(F, in, io + j).neg().intoArray(tmp, j);
        exp(tmp, 0, tmp, 0, n, false);
        for (int j = 0; j < n; j += VL)
            FloatVector.fromArray(F, in, io + j).div(FloatVector.fromArray(F, tmp, j).add(1f)).intoArray(out, o + j);
    }

    private static int ceilDiv(int a, int b) {
        return (a + b - 1) / b;
    }

    private static float[] iota() {
        float[] f = new float[VL];
        for (int i = 0; i < VL; i++) f[i] = i;
        return f;
    }

    /** Per-thread working memory, grown on demand and reused by every later call. */
    private static final class Scratch {
        final float[] lanes = new float[VL];
        private float[] pack = new float[0], panels = new float[0], convTaps = new float[0], edge = new float[0], run = new float[0], row = new float[0], siluStage = new float[0];
        private int lastQ = -1, lastP = -1, lastN = -1, lastStageRow = -1;
        /** The scan's tiles: x and the outputs (staging) of a stage of heads, Q rows; a chunk's B, C^T, M and so on. */
        float[] x = new float[0], staging = new float[0], e = new float[0], b = new float[0], bp = new float[0], ct = new float[0], btw = new float[0], ce = new float[0], scores = new float[0], m = new float[0], dts = new float[0], st = new float[0];
        /** The decay mask's factors (see {@link #decayMask}). */
        float[] colW = new float[0], rowHead = new float[0], between = new float[0], tri = new float[VL * VL + VL];
        double[] dA = new double[0], vectorSum = new double[0];
        /** yRow: the staging block's rows (i stageRow); headRow: one head's columns of them. */
        int[] rows = new int[0], yRow = new int[0], headRow = new int[0], mRow = new int[0], stateRow = new int[0];

        float[] pack(int n) {
            return pack = atLeast(pack, n);
        }

        float[] convTaps(int n) {
            return convTaps = atLeast(convTaps, n);
        }

        /** x's rows packed as panels for {@link #panelTask}. */
        float[] panels(int n) {
            return panels = atLeast(panels, n);
        }

        float[] edge(int n) {
            return edge = atLeast(edge, n);
        }

        /** A row of a row-wise kernel: conv's sums before silu, the norm's gate. */
        float[] row(int n) {
            return row = atLeast(row, n);
        }

        /** {@link #silu}'s e^-x where its output is not scratch itself (the conv's). */
        float[] siluStage(int n) {
            return siluStage = atLeast(siluStage, n);
        }

        /** The scan's running states: one (sequence, head) in pass (b), or a block of heads taking its chunks in order. */
        float[] run(int n) {
            return run = atLeast(run, n);
        }

        /** {@code a}, or a new array of n floats where a is shorter (its contents are not kept). */
        private static float[] atLeast(float[] a, int n) {
            return a.length < n ? new float[n] : a;
        }

        /** Sizes the scan's tiles for chunk Q (padded to Qp), headdim P, state N and a stage's rows {@code stageRow} floats apart. */
        void ssd(int Q, int Qp, int P, int N, int stageRow) {
            if (Q == lastQ && P == lastP && N == lastN && stageRow == lastStageRow) return;
            x = new float[Q * stageRow];
            staging = new float[Q * stageRow];
            int Np = ceilDiv(N, VL) * VL;
            b = new float[Q * Np];
            bp = new float[Qp * N];
            ct = new float[N * Qp];
            btw = new float[Np * Qp];
            ce = new float[Qp * N];
            scores = new float[Q * Qp];
            m = new float[Qp * Qp];
            st = new float[N * P];
            dts = new float[Qp];
            e = new float[Qp];
            dA = new double[Qp];
            colW = new float[Qp];
            vectorSum = new double[Qp / VL];
            rowHead = new float[Qp];
            between = new float[Qp / VL * (ceilDiv(Qp / VL, VL) * VL)];
            rows = new int[Qp];
            yRow = new int[Qp];
            for (int i = 0; i < Qp; i++) yRow[i] = i * stageRow;
            headRow = new int[Qp];
            mRow = new int[Q];
            for (int i = 0; i < Q; i++) mRow[i] = i * Qp;
            stateRow = new int[N];
            lastQ = Q;
            lastP = P;
            lastN = N;
            lastStageRow = stageRow;
        }
    }
}
