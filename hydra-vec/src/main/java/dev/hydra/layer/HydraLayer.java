package dev.hydra.layer;

import dev.hydra.backend.Backend;
import dev.hydra.backend.Buf;
import dev.hydra.backend.HeapBuf;
import dev.hydra.backend.ScanLayout;
import dev.hydra.config.HydraConfig;
import dev.hydra.forward.Inputs;
import dev.hydra.forward.Stages;
import dev.hydra.weights.HydraWeights;

import java.util.concurrent.ConcurrentHashMap;

/**
 * The Hydra layer in fp32 on any {@link Backend}: weights are uploaded once, and each forward pass
 * runs docs/spec.md §1.3 steps 1-8 as backend operations. Safe to share between threads: a call owns its
 * workspace. Close it to release the weights' device memory.
 */
public final class HydraLayer implements AutoCloseable {
    private final HydraConfig c;
    private final Backend be;
    private final Buf inW, inB, convW, convB, dtBias, a, fcD, d, normW, outW, outB, init;
    /** Idle workspaces by (batch, len), at most one per shape and {@link #IDLE_SHAPES} shapes, reused by {@link #forward(float[], int, int)}. */
    private final ConcurrentHashMap<Long, Workspace> idle = new ConcurrentHashMap<>();
    private static final int IDLE_SHAPES = 4;

    public HydraLayer(HydraWeights<float[]> w, Backend backend) {
        this.c = w.config();
        this.be = backend;
        inW = backend.upload(w.inProjW());
        inB = w.inProjB() == null ? null : backend.upload(w.inProjB());
        convW = backend.upload(w.convW());
        convB = w.convB() == null ? null : backend.upload(w.convB());
        // dt_bias once per direction, so that step 3 is one call over the 2H dt columns
        float[] dtBiasTwice = new float[2 * c.nheads()];
        System.arraycopy(w.dtBias(), 0, dtBiasTwice, 0, c.nheads());
        System.arraycopy(w.dtBias(), 0, dtBiasTwice, c.nheads(), c.nheads());
        dtBias = backend.upload(dtBiasTwice);
        float[] aHost = new float[c.nheads()];
        for (int h = 0; h < aHost.length; h++) aHost[h] = HydraWeights.aFloat(w.aLog()[h]);
        a = backend.upload(aHost);
        fcD = backend.upload(w.fcDW());
        d = backend.upload(w.d());
        normW = backend.upload(w.normW());
        outW = backend.upload(w.outProjW());
        outB = w.outProjB() == null ? null : backend.upload(w.outProjB());
        init = w.initStates() == null ? null : backend.upload(w.initStates());
    }

    public HydraConfig config() {
        return c;
    }

    public Backend backend() {
        return be;
    }

    /** u (B, L, d_model) to the layer output (B, L, d_model). Refuses non-finite input. */
    public float[] forward(float[] u, int batch, int len) {
        return run(u, batch, len, false, null, null).output();
    }

    /** Receives the end of each stage of a timed forward pass, in order: {@link #STAGES}. */
    @FunctionalInterface
    public interface StageClock {
        void stageDone(String stage);
    }

    /** The stages a timed forward reports, in order (the FLOPs of each: {@code LayerFlops.stages}). */
    public static final java.util.List<String> STAGES =
            java.util.List.of("in_proj", "conv", "dt", "scan fwd", "scan bwd", "diag/shift", "norm", "out_proj");

    /** {@link #forward(float[], int, int)}, telling {@code clock} as each stage ends (on a CPU backend, when its work is done). */
    public float[] forward(float[] u, int batch, int len, StageClock clock) {
        return run(u, batch, len, false, clock, null).output();
    }

    /** {@link #forward(float[], int, int)} into the caller's {@code out} (B*L*d_model floats), which it returns. */
    public float[] forward(float[] u, int batch, int len, float[] out) {
        Inputs.checkShape(out.length, batch, len, c.dModel(), "output array");
        return run(u, batch, len, false, null, out).output();
    }

    /** The forward pass with every intermediate of {@link Stages} downloaded. */
    public Stages<float[]> forwardStages(float[] u, int batch, int len) {
        return run(u, batch, len, true, null, null);
    }

    /**
     * Heap bytes a forward pass of (batch, len) on a CPU backend allocates: the {@link Workspace}, the
     * uploaded input and the output (and, with {@code stages}, their downloaded copies).
     */
    public static long activationBytes(HydraConfig c, int batch, int len, boolean stages) {
        long rows = (long) batch * len;
        long workspace = rows * (c.projDim() + c.convDim() + 3L * c.nheads() + 4L * c.dInner() + c.dModel());
        return Float.BYTES * ((stages ? 2 : 1) * workspace + 2 * rows * c.dModel());
    }

    private Stages<float[]> run(float[] u, int batch, int len, boolean keepStages, StageClock clock, float[] into) {
        Inputs.checkShape(u.length, batch, len, c.dModel(), "input");
        Inputs.checkFinite(u, len, c.dModel(), "input");
        Inputs.checkActivations(inW instanceof HeapBuf ? activationBytes(c, batch, len, keepStages) : 0,
                (long) batch * len * c.projDim(), batch, len);
        Long shape = ((long) batch << 32) | len;
        Workspace pooled = idle.remove(shape);
        Workspace ws = pooled != null ? pooled : new Workspace(batch, len);
        try (Buf ub = be.wrap(u)) {
            forward(ub, batch, len, ws, clock);
            int rows = batch * len;
            float[] out = into != null ? into : new float[rows * c.dModel()];
            be.download(ws.out, out);
            Inputs.checkOverflow(out, len, c.dModel(), "fp32");
            if (!keepStages) return new Stages<>(null, null, null, null, null, null, null, null, out);
            float[] dt = get(ws.dt, rows * 2 * c.nheads());
            return new Stages<>(get(ws.xbc, rows * c.convDim()), columns(dt, rows, 2 * c.nheads(), 0, c.nheads()),
                    columns(dt, rows, 2 * c.nheads(), c.nheads(), c.nheads()),
                    get(ws.yF, rows * c.dInner()), get(ws.yB, rows * c.dInner()), get(ws.delta, rows * c.nheads()),
                    get(ws.mix, rows * c.dInner()), get(ws.normed, rows * c.dInner()), out);
        } finally {
            if (idle.size() >= IDLE_SHAPES || idle.putIfAbsent(shape, ws) != null) ws.close();
        }
    }

    /**
     * Device-resident forward: {@code u} (B*L, d_model) already on this layer's backend; the result is
     * in the returned workspace's {@link Workspace#output()} until the workspace is closed.
     */
    public Workspace forward(Buf u, int batch, int len) {
        Workspace ws = new Workspace(batch, len);
        forward(u, batch, len, ws, null);
        return ws;
    }

    private void forward(Buf u, int batch, int len, Workspace ws, StageClock clock) {
        int rows = batch * len, H = c.nheads(), GN = c.ngroups() * c.dState(), dIn = c.dInner(), proj = c.projDim();
        StageClock done = clock == null ? stage -> { } : clock;
        be.linear(u, c.dModel(), 0, rows, c.dModel(), inW, inB, proj, ws.zxbcdt);                       // step 1
        done.stageDone("in_proj");
        be.convSilu(ws.zxbcdt, proj, dIn, batch, len, c.convDim(), convW, convB, c.dConv(), ws.xbc);     // step 2
        done.stageDone("conv");
        be.softplusDt(ws.zxbcdt, proj, proj - 2 * H, rows, 2 * H, dtBias, (float) c.dtMin(),
                (float) c.dtMax(), ws.dt);                                                              // step 3
        done.stageDone("dt");
        ScanLayout fwd = new ScanLayout(batch, len, H, c.headdim(), c.ngroups(), c.dState(), c.chunkSize(),
                c.convDim(), 0, dIn, dIn + GN, 2 * H, 0, true);
        ScanLayout bwd = new ScanLayout(batch, len, H, c.headdim(), c.ngroups(), c.dState(), c.chunkSize(),
                c.convDim(), 0, dIn + 2 * GN, dIn + 3 * GN, 2 * H, H, false);
        be.ssdScan(fwd, ws.xbc, ws.dt, a, init, ws.yF);                                                 // step 4
        done.stageDone("scan fwd");
        be.ssdScan(bwd, ws.xbc, ws.dt, a, init, ws.yB);                                                 // step 5
        done.stageDone("scan bwd");
        be.linear(ws.xbc, c.convDim(), 0, rows, dIn, fcD, d, H, ws.delta);
        be.shiftAddDiagonal(batch, len, H, c.headdim(), ws.yF, ws.yB, ws.xbc, c.convDim(), ws.delta, ws.mix); // step 6
        done.stageDone("diag/shift");
        be.gatedRmsNorm(ws.mix, rows, dIn, ws.zxbcdt, proj, 0, normW, 1e-5f, ws.normed);                // step 7
        done.stageDone("norm");
        be.linear(ws.normed, dIn, 0, rows, dIn, outW, outB, c.dModel(), ws.out);                        // step 8
        done.stageDone("out_proj");
    }

    private float[] get(Buf b, int n) {
        float[] h = new float[n];
        be.download(b, h);
        return h;
    }

    private static float[] columns(float[] m, int rows, int stride, int from, int n) {
        float[] out = new float[rows * n];
        for (int r = 0; r < rows; r++) System.arraycopy(m, r * stride + from, out, r * n, n);
        return out;
    }

    /** The activations of one forward pass on this layer's backend. */
    public final class Workspace implements AutoCloseable {
        final Buf zxbcdt, xbc, dt, yF, yB, delta, mix, normed, out;

        Workspace(int batch, int len) {
            long rows = (long) batch * len;
            zxbcdt = be.allocate(rows * c.projDim());
            xbc = be.allocate(rows * c.convDim());
            dt = be.allocate(rows * 2 * c.nheads());
            yF = be.allocate(rows * c.dInner());
            yB = be.allocate(rows * c.dInner());
            delta = be.allocate(rows * c.nheads());
            mix = be.allocate(rows * c.dInner());
            normed = be.allocate(rows * c.dInner());
            out = be.allocate(rows * c.dModel());
        }

        public Buf output() {
            return out;
        }

        @Override
        public void close() {
            for (Buf b : new Buf[] {zxbcdt, xbc, dt, yF, yB, delta, mix, normed, out}) b.close();
        }
    }

    @Override
    public void close() {
        idle.values().forEach(Workspace::close);
        idle.clear();
        for (Buf b : new Buf[] {inW, inB, convW, convB, dtBias, a, fcD, d, normW, outW, outB, init})
            if (b != null) b.close();
    }
}
