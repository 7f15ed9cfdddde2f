package dev.hydra.layer;

import dev.hydra.backend.Backend;
import dev.hydra.backend.Buf;
import dev.hydra.backend.HeapBuf;
import dev.hydra.backend.ScanLayout;
import dev.hydra.backend.Sequences;
import dev.hydra.backend.Workspace;
import dev.hydra.config.HydraConfig;
import dev.hydra.forward.Inputs;
import dev.hydra.forward.Stages;
import dev.hydra.weights.HydraWeights;

import java.lang.foreign.MemorySegment;

/**
 * The Hydra layer in fp32 on any {@link Backend}: weights are uploaded once, and each forward pass
 * runs docs/spec.md §1.3 steps 1-8 as backend operations on activations taken from a {@link Workspace}. Safe to
 * share between threads: a call owns its workspace. Close it to release the weights' device memory.
 */
public final class HydraLayer implements BufLayer {
    // Workspace slots, each (B*L, width):
    /** (B*L, projDim): z, x, B, C of both directions, dt of both directions */
    private static final int ZXBCDT = 0;
    /** (B*L, convDim): the conv's silu output, x | B_f | C_f | B_b | C_b */
    private static final int XBC = 1;
    /** (B*L, 2H): dt of the forward then the backward direction */
    private static final int DT = 2;
    /** (B*L, dInner) each: the forward and backward scans' outputs */
    private static final int Y_F = 3, Y_B = 4;
    /** (B*L, H): the diagonal term's per-head weight */
    private static final int DELTA = 5;
    /** (B*L, dInner): step 6's mix, then step 7's gated norm */
    private static final int MIX = 6, NORMED = 7;
    /** (B*L, d_model): the output of the float[] entry point */
    private static final int OUT = 8;

    private final HydraConfig c;
    private final Backend be;
    private final Buf inW, inB, convW, convB, dtBias, a, fcD, d, normW, outW, outB, init;
    /** Idle workspaces of the float[] entry point, reused by later calls. */
    private final Workspace.Pool workspaces;

    public HydraLayer(HydraWeights<float[]> w, Backend backend) {
        this.c = w.config();
        this.be = backend;
        this.workspaces = new Workspace.Pool(backend);
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

    /** u (B, L, d_model) to the layer output (B, L, d_model). Refuses non-finite input. */
    public float[] forward(float[] u, int batch, int len) {
        return run(MemorySegment.ofArray(u), batch, len, false, null, null).output();
    }

    /** Receives the end of each stage of a timed forward pass, in order: {@link #STAGES}. */
    @FunctionalInterface
    public interface StageClock {
        void stageDone(String stage);
    }

    /** The stages a timed forward reports, in order (the FLOPs of each: {@code LayerFlops.stages}). */
    public static final java.util.List<String> STAGES =
            java.util.List.of("in_proj", "conv", "dt", "scan fwd", "scan bwd", "fc_D", "mix+norm", "out_proj");

    /** {@link #forward(float[], int, int)} into the caller's {@code out} (B*L*d_model floats), which it returns. */
    public float[] forward(float[] u, int batch, int len, float[] out) {
        return forward(u, batch, len, out, null);
    }

    /** {@link #forward(float[], int, int, float[])}, telling {@code clock} (nullable) as each stage ends (on a CPU backend, when its work is done). */
    public float[] forward(float[] u, int batch, int len, float[] out, StageClock clock) {
        Inputs.checkShape(out.length, batch, len, c.dModel(), "output array");
        run(MemorySegment.ofArray(u), batch, len, false, clock, MemorySegment.ofArray(out));
        return out;
    }

    /**
     * {@link #forward(float[], int, int)} from and into host memory given as segments of B*L*d_model floats
     * each: Java arrays' segments or native memory. Memory from the backend's {@link Backend#allocateHost}
     * (page-locked on a GPU) moves to and from the device by DMA, with no staging copy.
     */
    public void forward(MemorySegment u, int batch, int len, MemorySegment out) {
        Inputs.checkHostRows(out, batch, len, c.dModel(), "output", true);
        run(u, batch, len, false, null, out);
    }

    /** The forward pass with every intermediate of {@link Stages} downloaded. */
    public Stages<float[]> forwardStages(float[] u, int batch, int len) {
        return run(MemorySegment.ofArray(u), batch, len, true, null, null);
    }

    @Override
    public long workspaceFloats(long rows) {
        return workspaceFloats(c, rows);
    }

    /** Floats of the mixer's workspace slots (all but the float[] entry point's output) over {@code rows} rows. */
    private static long workspaceFloats(HydraConfig c, long rows) {
        return rows * (c.projDim() + c.convDim() + 3L * c.nheads() + 4L * c.dInner());
    }

    /**
     * Heap bytes a forward pass of (batch, len) through {@link #forward(float[], int, int)} on a CPU backend
     * allocates: the workspace, the uploaded input and the output (and, with {@code stages}, their downloaded copies).
     */
    public static long activationBytes(HydraConfig c, int batch, int len, boolean stages) {
        long rows = (long) batch * len;
        long workspace = workspaceFloats(c, rows) + rows * c.dModel();
        return Float.BYTES * ((stages ? 2 : 1) * workspace + 2 * rows * c.dModel());
    }

    /** The host-rows forward pass into {@code into}, or into a new array when it is null (then {@link Stages#output} is that array). */
    private Stages<float[]> run(MemorySegment u, int batch, int len, boolean keepStages, StageClock clock, MemorySegment into) {
        Inputs.checkHostRows(u, batch, len, c.dModel(), "input", false);
        Inputs.checkActivations(inW instanceof HeapBuf ? activationBytes(c, batch, len, keepStages) : 0,
                (long) batch * len * c.projDim(), batch, len);
        Workspace ws = workspaces.take();
        int rows = batch * len;
        StageClock done = clock == null ? stage -> { } : clock;
        try {
            Buf zxbcdt = ws.get(ZXBCDT, (long) rows * c.projDim());
            Inputs.refuseNonFinite(u, be.linearFromHost(u, rows, c.dModel(), inW, inB, c.projDim(), zxbcdt), len, c.dModel(), "input"); // step 1
            done.stageDone("in_proj");
            Buf normed = mixer(zxbcdt, Sequences.uniform(batch, len), ws, keepStages, done);
            float[] newOut = into == null ? new float[rows * c.dModel()] : null;
            MemorySegment out = into != null ? into : MemorySegment.ofArray(newOut);
            int dIn = c.dInner();
            int overflow = be.linearToHost(normed, dIn, 0, rows, dIn, outW, outB, c.dModel(), ws.get(OUT, (long) rows * c.dModel()), out); // step 8
            done.stageDone("out_proj");
            Inputs.refuseOverflow(out, overflow, len, c.dModel(), "fp32");
            if (!keepStages) return new Stages<>(null, null, null, null, null, null, null, null, newOut);
            float[] dt = get(ws.get(DT, 0), rows * 2 * c.nheads());
            return new Stages<>(get(ws.get(XBC, 0), rows * c.convDim()), columns(dt, rows, 2 * c.nheads(), 0, c.nheads()),
                    columns(dt, rows, 2 * c.nheads(), c.nheads(), c.nheads()),
                    get(ws.get(Y_F, 0), rows * c.dInner()), get(ws.get(Y_B, 0), rows * c.dInner()), get(ws.get(DELTA, 0), rows * c.nheads()),
                    get(ws.get(MIX, 0), rows * c.dInner()), get(ws.get(NORMED, 0), rows * c.dInner()), newOut);
        } finally {
            workspaces.give(ws);
        }
    }

    @Override
    public void forward(Buf u, Buf out, Sequences seqs, Workspace ws) {
        int r = seqs.rows(), dIn = c.dInner();
        Buf zxbcdt = ws.get(ZXBCDT, (long) r * c.projDim());
        be.linear(u, c.dModel(), 0, r, c.dModel(), inW, inB, c.projDim(), zxbcdt);                     // step 1
        Buf normed = mixer(zxbcdt, seqs, ws, false, stage -> { });
        be.linear(normed, dIn, 0, r, dIn, outW, outB, c.dModel(), out);                                 // step 8
    }

    /** Steps 2-7 on in_proj's output: the gated norm's output (rows, d_inner), a workspace buffer; step 6's mix kept with keepMix. */
    private Buf mixer(Buf zxbcdt, Sequences seqs, Workspace ws, boolean keepMix, StageClock done) {
        long rows = seqs.rows();
        int r = Math.toIntExact(rows), H = c.nheads(), GN = c.ngroups() * c.dState(), dIn = c.dInner(), proj = c.projDim();
        Buf xbc = ws.get(XBC, rows * c.convDim()), dt = ws.get(DT, rows * 2 * H);
        Buf yF = ws.get(Y_F, rows * dIn), yB = ws.get(Y_B, rows * dIn), delta = ws.get(DELTA, rows * H);
        Buf normed = ws.get(NORMED, rows * dIn);
        be.convSilu(zxbcdt, proj, dIn, seqs, c.convDim(), convW, convB, c.dConv(), xbc);                // step 2
        done.stageDone("conv");
        be.softplusDt(zxbcdt, proj, proj - 2 * H, r, 2 * H, dtBias, (float) c.dtMin(), (float) c.dtMax(), dt); // step 3
        done.stageDone("dt");
        be.ssdScan(new ScanLayout(seqs, H, c.headdim(), c.ngroups(), c.dState(), c.chunkSize(),         // step 4
                c.convDim(), 0, dIn, dIn + GN, 2 * H, 0, true), xbc, dt, a, init, yF);
        done.stageDone("scan fwd");
        be.ssdScan(new ScanLayout(seqs, H, c.headdim(), c.ngroups(), c.dState(), c.chunkSize(),         // step 5
                c.convDim(), 0, dIn + 2 * GN, dIn + 3 * GN, 2 * H, H, false), xbc, dt, a, init, yB);
        done.stageDone("scan bwd");
        be.linear(xbc, c.convDim(), 0, r, dIn, fcD, d, H, delta);                                      // step 6's delta
        done.stageDone("fc_D");
        be.shiftAddDiagonalNorm(seqs, H, c.headdim(), yF, yB, xbc, c.convDim(), delta, zxbcdt, proj, 0, normW, 1e-5f, // steps 6-7
                keepMix ? ws.get(MIX, rows * dIn) : null, normed);
        done.stageDone("mix+norm");
        return normed;
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

    @Override
    public void close() {
        workspaces.close();
        for (Buf b : new Buf[] {inW, inB, convW, convB, dtBias, a, fcD, d, normW, outW, outB, init})
            if (b != null) b.close();
    }
}
