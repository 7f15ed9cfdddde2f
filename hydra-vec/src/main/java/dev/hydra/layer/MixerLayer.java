package dev.hydra.layer;

import dev.hydra.backend.Backend;
import dev.hydra.backend.Buf;
import dev.hydra.backend.HeapBuf;
import dev.hydra.backend.ScanLayout;
import dev.hydra.backend.Sequences;
import dev.hydra.backend.Workspace;
import dev.hydra.config.MixerConfig;
import dev.hydra.config.MixerType;
import dev.hydra.forward.Inputs;
import dev.hydra.mixer.MixingStep;
import dev.hydra.weights.HydraWeights;
import dev.hydra.weights.MixerWeights;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The matrix mixer layer in fp32 on a {@link Backend}. in_proj, the conv and its activation, gated
 * RMSNorm and out_proj are backend operations; the quasiseparable mixing runs the backend's chunked SSD
 * scan (one group of state size H*qk_dim, the same B and C columns in both directions). The other six
 * types mix on the host, by the fp64 mixing step applied to the fp32 activations (their structured
 * algorithms have no backend operation yet: on a GPU their operands go to the host and back). Safe to
 * share between threads; close it to free weights.
 */
public final class MixerLayer implements BufLayer {
    private final MixerConfig c;
    private final Backend be;
    private final List<Buf> owned = new ArrayList<>();
    private final Buf inW, convW, convB, convWv, convBv, convWqk, convBqk, normW, outW;
    private final Buf dtBias, a, fcD, d;
    private final float[] bcHost;
    private final MixingStep hostStep;

    public MixerLayer(MixerWeights<float[]> w, Backend backend) {
        this.c = w.config();
        this.be = backend;
        int dIn = c.dInner(), K = c.dConv(), H = c.nheads();
        inW = up(w.inProjW());
        normW = up(w.normW());
        outW = up(w.outProjW());
        if (c.siluChannels() == c.convDim()) {
            convW = up(w.convW());
            convB = up(w.convB());
            convWv = convBv = convWqk = convBqk = null;
        } else {
            convW = convB = null;
            convWv = up(Arrays.copyOfRange(w.convW(), 0, dIn * K));
            convBv = up(Arrays.copyOfRange(w.convB(), 0, dIn));
            convWqk = up(Arrays.copyOfRange(w.convW(), dIn * K, c.convDim() * K));
            convBqk = up(Arrays.copyOfRange(w.convB(), dIn, c.convDim()));
        }
        if (c.type() == MixerType.QUASISEPARABLE) {
            float[] bias = w.mixer("dt_bias"), twice = new float[2 * H], aHost = new float[H];
            System.arraycopy(bias, 0, twice, 0, H);
            System.arraycopy(bias, 0, twice, H, H);
            for (int h = 0; h < H; h++) aHost[h] = HydraWeights.aFloat(w.mixer("A_log")[h]);
            dtBias = up(twice);
            a = up(aHost);
            fcD = up(w.mixer("fc_D.weight"));
            d = up(w.mixer("D"));
            bcHost = w.mixer("BC");
            hostStep = null;
        } else {
            dtBias = a = fcD = d = null;
            bcHost = null;
            Map<String, double[]> wide = new LinkedHashMap<>();
            w.mixer().forEach((k, v) -> wide.put(k, Layers.widen(v)));
            hostStep = new MixingStep(c, wide);
        }
    }

    private Buf up(float[] host) {
        Buf b = be.upload(host);
        owned.add(b);
        return b;
    }

    public MixerConfig config() {
        return c;
    }


    // Workspace slots, each (B*L, width):
    /** (B*L, projDim): in_proj's output */
    private static final int ZX = 0;
    /** (B*L, 2H): dt of both directions (quasiseparable) */
    private static final int DT = 1;
    /** (B*L, dIn + 2 d_state): x | B | C read by the scans (quasiseparable); (B*L, convDim) the conv output otherwise */
    private static final int XBC = 2;
    /** (B*L, dIn): the conv's x (data-independent quasiseparable); v (types with silu on v only) */
    private static final int X = 3;
    /** (B*L, convDim - dIn): the conv's q and k channels (types with silu on v only) */
    private static final int QK = 4;
    /** (B*L, dIn) each: the scans' outputs */
    private static final int Y_F = 5, Y_B = 6;
    /** (B*L, H): the diagonal term's weight */
    private static final int DELTA = 7;
    /** (B*L, dIn): the mixing output, then the gated norm */
    private static final int MIX = 8, NORMED = 9;
    /** (B*L, d_model): the output of the float[] entry point */
    private static final int OUT = 10;

    @Override
    public long workspaceFloats(long rows) {
        int dIn = c.dInner(), C = c.convDim();
        return rows * (c.projDim() + 2L * c.nheads() + Math.max(C, dIn + 2L * c.dState()) + C + 5L * dIn + c.nheads());
    }

    /**
     * Heap bytes a forward pass of (batch, len) on a CPU backend allocates, an upper bound for either path:
     * the fp32 activations (input, in_proj, conv, the scans or the host mix, norm, output, with their host
     * copies) and the host mixing's fp64 operands and result.
     */
    public static long activationBytes(MixerConfig c, int batch, int len) {
        long rows = (long) batch * len;
        long floats = rows * (2L * c.dModel() + c.projDim() + 2L * c.convDim() + 4L * c.dInner() + 2L * c.nheads());
        long doubles = rows * (2L * c.convDim() + 2L * c.dInner());
        return Float.BYTES * floats + Double.BYTES * doubles;
    }

    /** u (B, L, d_model) to the layer output (B, L, d_model). Refuses non-finite input and a pass that overflows fp32. */
    public float[] forward(float[] u, int batch, int len) {
        Inputs.checkShape(u.length, batch, len, c.dModel(), "input");
        Inputs.checkFinite(u, len, c.dModel(), "input");
        c.checkLength(len);
        Inputs.checkActivations(inW instanceof HeapBuf ? activationBytes(c, batch, len) : 0,
                (long) batch * len * c.projDim(), batch, len);
        int rows = batch * len;
        try (Workspace ws = new Workspace(be); Buf ub = be.upload(u)) {
            Buf out = ws.get(OUT, (long) rows * c.dModel());
            forward(ub, out, Sequences.uniform(batch, len), ws);
            float[] host = new float[rows * c.dModel()];
            be.download(out, host);
            Inputs.checkOverflow(host, len, c.dModel(), "fp32");
            return host;
        }
    }

    @Override
    public void forward(Buf u, Buf out, Sequences seqs, Workspace ws) {
        for (Sequences.Run run : seqs.runs()) c.checkLength(run.len());
        long rows = seqs.rows();
        int r = Math.toIntExact(rows), dIn = c.dInner(), proj = c.projDim();
        List<Buf> tmp = new ArrayList<>();
        try {
            Buf zx = ws.get(ZX, rows * proj);
            be.linear(u, c.dModel(), 0, r, c.dModel(), inW, null, proj, zx);
            Buf mix = c.type() == MixerType.QUASISEPARABLE ? scan(zx, seqs, ws, tmp) : hostMix(zx, seqs, ws, tmp);
            Buf normed = ws.get(NORMED, rows * dIn);
            be.gatedRmsNorm(mix, r, dIn, zx, proj, 0, normW, 1e-5f, normed);
            be.linear(normed, dIn, 0, r, dIn, outW, null, c.dModel(), out);
        } finally {
            for (Buf b : tmp) b.close();
        }
    }

    /** Quasiseparable: Hydra's steps 3-6 on the backend, one group of state ds, B and C shared by both directions. */
    private Buf scan(Buf zx, Sequences seqs, Workspace ws, List<Buf> tmp) {
        int rows = seqs.rows(), dIn = c.dInner(), H = c.nheads(), ds = c.dState(), proj = c.projDim(), P = c.headdim();
        int width = dIn + 2 * ds;
        Buf xbc, dt = ws.get(DT, (long) rows * 2 * H);
        if (c.dataDependent()) {
            xbc = ws.get(XBC, (long) rows * width);
            be.convSilu(zx, proj, dIn, seqs, width, convW, convB, c.dConv(), xbc);
            be.softplusDt(zx, proj, proj - 2 * H, rows, 2 * H, dtBias, 0f, Float.POSITIVE_INFINITY, dt);
        } else {
            Buf x = ws.get(X, (long) rows * dIn);
            be.convSilu(zx, proj, dIn, seqs, dIn, convW, convB, c.dConv(), x);
            // x beside the parameter BC (L, 2 ds), repeated over the sequences, so that the scan reads one buffer
            float[] xh = new float[rows * dIn], host = new float[rows * width];
            be.download(x, xh);
            for (int b = 0; b < seqs.count(); b++)
                for (int t = 0, r = seqs.start(b); t < seqs.length(b); t++, r++) {
                    System.arraycopy(xh, r * dIn, host, r * width, dIn);
                    System.arraycopy(bcHost, t * 2 * ds, host, r * width + dIn, 2 * ds);
                }
            xbc = keep(tmp, be.upload(host));
            // dt_raw is dt_bias at every position: softplus of zeros plus the bias
            Buf zeros = keep(tmp, be.allocate((long) rows * 2 * H));
            be.softplusDt(zeros, 2 * H, 0, rows, 2 * H, dtBias, 0f, Float.POSITIVE_INFINITY, dt);
        }
        Buf yF = ws.get(Y_F, (long) rows * dIn), yB = ws.get(Y_B, (long) rows * dIn);
        be.ssdScan(new ScanLayout(seqs, H, P, 1, ds, c.chunkSize(), width, 0, dIn, dIn + ds, 2 * H, 0, true), xbc, dt, a, null, yF);
        be.ssdScan(new ScanLayout(seqs, H, P, 1, ds, c.chunkSize(), width, 0, dIn, dIn + ds, 2 * H, H, false), xbc, dt, a, null, yB);
        Buf delta = ws.get(DELTA, (long) rows * H);
        be.linear(xbc, width, 0, rows, dIn, fcD, d, H, delta);
        Buf mix = ws.get(MIX, (long) rows * dIn);
        be.shiftAddDiagonal(seqs, H, P, yF, yB, xbc, width, delta, mix);
        return mix;
    }

    /** The other types: conv and activation on the backend, the mixing step on the host, run by run of equal lengths. */
    private Buf hostMix(Buf zx, Sequences seqs, Workspace ws, List<Buf> tmp) {
        int rows = seqs.rows(), dIn = c.dInner(), C = c.convDim(), proj = c.projDim();
        float[] conv = new float[rows * C];
        if (c.siluChannels() == C) {
            Buf all = ws.get(XBC, (long) rows * C);
            be.convSilu(zx, proj, dIn, seqs, C, convW, convB, c.dConv(), all);
            be.download(all, conv);
        } else {
            Buf v = ws.get(X, (long) rows * dIn), qk = ws.get(QK, (long) rows * (C - dIn));
            be.convSilu(zx, proj, dIn, seqs, dIn, convWv, convBv, c.dConv(), v);
            be.depthwiseConv(zx, proj, 2 * dIn, seqs, C - dIn, convWqk, convBqk, c.dConv(), qk);
            float[] vh = new float[rows * dIn], qkh = new float[rows * (C - dIn)];
            be.download(v, vh);
            be.download(qk, qkh);
            for (int r = 0; r < rows; r++) {
                System.arraycopy(vh, r * dIn, conv, r * C, dIn);
                System.arraycopy(qkh, r * (C - dIn), conv, r * C + dIn, C - dIn);
            }
        }
        float[] y = new float[rows * dIn];
        for (Sequences.Run run : seqs.runs()) {
            double[] operands = Layers.widen(Arrays.copyOfRange(conv, run.firstRow() * C, (run.firstRow() + run.rows()) * C));
            float[] mixed = Layers.narrow(hostStep.mix(hostStep.operands(operands, null, run.count(), run.len()), false));
            System.arraycopy(mixed, 0, y, run.firstRow() * dIn, mixed.length);
        }
        return keep(tmp, be.upload(y));
    }

    private static Buf keep(List<Buf> tmp, Buf b) {
        tmp.add(b);
        return b;
    }

    @Override
    public void close() {
        for (Buf b : owned) b.close();
        owned.clear();
    }
}
