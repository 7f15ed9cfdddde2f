package dev.hydra.bert;

import dev.hydra.HydraException;
import dev.hydra.backend.Backend;
import dev.hydra.backend.Backend.Activation;
import dev.hydra.backend.Buf;
import dev.hydra.backend.HeapBuf;
import dev.hydra.backend.Sequences;
import dev.hydra.backend.Workspace;
import dev.hydra.io.TensorSource;
import dev.hydra.layer.BufLayer;
import dev.hydra.forward.Inputs;
import dev.hydra.layer.Layers;
import dev.hydra.weights.Precision;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Set;

/**
 * The fp32 encoder (docs/spec.md §3) end to end on one {@link Backend}: the weights are uploaded once;
 * a call uploads the token ids and the mask, runs every step as backend operations on one
 * {@link Workspace} that all mixers share, and downloads the sequence and (with a pooler) pooled outputs. Workspaces are
 * pooled, one per concurrent call; safe to share between threads.
 */
final class BackendEncoder implements AutoCloseable {
    // Model slots of the workspace:
    /** (B*L, d): the hidden state h */
    private static final int HIDDEN = Workspace.FIRST_MODEL_SLOT;
    /** (B*L, d): a mixer's input (normed and masked h), then its output */
    private static final int MIXER_IN = HIDDEN + 1, MIXER_OUT = HIDDEN + 2;
    /** (B, d): the pooler's input (CLS rows or masked means), then its output */
    private static final int POOL_IN = HIDDEN + 3, POOLED = HIDDEN + 4;
    private static final double GIB = 1L << 30;

    private final BertConfig c;
    private final Backend be;
    private final List<Buf> weights = new ArrayList<>();
    private final Buf word, type, pos, embNormW, embNormB, normFW, normFB, poolW, poolB;
    private final Buf[] layerNormW, layerNormB;
    private final List<BufLayer> layers = new ArrayList<>();
    /** MLM head: transform dense, its LayerNorm, the decoder bias (the decoder is tied to {@link #word}); null without. */
    private final Buf mlmW, mlmB, mlmNormW, mlmNormB, decoderB;
    private final Buf classifierW, classifierB;
    private final int numLabels;
    /** Idle workspaces kept for later calls. */
    private final Workspace.Pool workspaces;

    /** Loads the tensors that {@link BertModel} has checked; {@code pooler} false: a masked-LM model; {@code numLabels} 0: no classifier. */
    BackendEncoder(BertConfig c, TensorSource src, String prefix, String headPrefix, boolean pooler, boolean mlm, int numLabels,
                   Backend backend) {
        this.c = c;
        this.be = backend;
        this.workspaces = new Workspace.Pool(backend);
        this.numLabels = numLabels;
        try {
            String e = prefix + "embeddings.";
            word = up(src, e + "word_embeddings.weight");
            type = up(src, e + "token_type_embeddings.weight");
            pos = c.usePositionEmbeddings() ? up(src, e + "position_embeddings.weight") : null;
            embNormW = up(src, e + "LayerNorm.weight");
            embNormB = up(src, e + "LayerNorm.bias");
            int n = c.numHiddenLayers();
            layerNormW = new Buf[n];
            layerNormB = new Buf[n];
            for (int i = 0; i < n; i++) {
                String l = prefix + "encoder.layer." + i + ".layer.";
                layerNormW[i] = up(src, l + "norm.weight");
                layerNormB[i] = up(src, l + "norm.bias");
                layers.add(Layers.loadFp32(c.mixer(), c.source(), Set.of(), src, l + "mixer.", backend));
            }
            normFW = c.prenorm() ? up(src, prefix + "encoder.norm_f.weight") : null;
            normFB = c.prenorm() ? up(src, prefix + "encoder.norm_f.bias") : null;
            poolW = pooler ? up(src, prefix + "pooler.dense.weight") : null;
            poolB = pooler ? up(src, prefix + "pooler.dense.bias") : null;
            String p = headPrefix + "cls.predictions.";
            mlmW = mlm ? up(src, p + "transform.dense.weight") : null;
            mlmB = mlm ? up(src, p + "transform.dense.bias") : null;
            mlmNormW = mlm ? up(src, p + "transform.LayerNorm.weight") : null;
            mlmNormB = mlm ? up(src, p + "transform.LayerNorm.bias") : null;
            decoderB = mlm ? up(src, p + "decoder.bias") : null;
            classifierW = numLabels > 0 ? up(src, headPrefix + "classifier.weight") : null;
            classifierB = numLabels > 0 ? up(src, headPrefix + "classifier.bias") : null;
        } catch (RuntimeException failure) {
            close();
            throw failure;
        }
    }

    private Buf up(TensorSource src, String name) {
        Buf b = be.upload(Precision.FP32.read(src, name));
        weights.add(b);
        return b;
    }

    /**
     * Bytes a call of {@code count} sequences in {@code rows} rows needs, its outputs padded to {@code outRows}
     * rows: on the backend, the workspace (the largest mixer's activations and the model's own slots); on the
     * heap, the downloaded outputs (floats, and the doubles of {@link Output}).
     */
    long[] callBytes(long rows, long outRows, int count) {
        long d = c.hiddenSize();
        long layer = 0;
        for (BufLayer l : layers) layer = Math.max(layer, l.workspaceFloats(rows));
        long backend = Float.BYTES * (layer + 3 * rows * d + rows + 2L * count * d);
        long host = Float.BYTES * rows * d + (Float.BYTES + Double.BYTES) * (outRows * d + (long) count * d);
        return new long[] {backend, host};
    }

    /** True when a padded call of (batch, len) fits the free memory now (after one collection when the heap is short). */
    boolean fits(int batch, int len) {
        return shortfall((long) batch * len, (long) batch * len, batch) == null;
    }

    /** True when the packed call of {@code lengths} (its outputs padded to {@code len}) fits the free memory now. */
    boolean fitsPacked(int[] lengths, int len) {
        return shortfall(packedRows(lengths), (long) lengths.length * len, lengths.length) == null;
    }

    private static long packedRows(int[] lengths) {
        long rows = 0;
        for (int n : lengths) rows += n;
        return rows;
    }

    /** Null when a call fits, else the one-line reason. */
    private String shortfall(long rows, long outRows, int count) {
        long[] need = callBytes(rows, outRows, count);
        boolean heap = word instanceof HeapBuf;
        Workspace reusable = workspaces.peek();   // an idle workspace's buffers are reused, not allocated again
        long workspace = Math.max(0, need[0] - (reusable == null ? 0 : Float.BYTES * reusable.floats()));
        long onBackend = heap ? workspace + need[1] : workspace;
        if (outRows * c.hiddenSize() > Integer.MAX_VALUE - 8)
            return String.format("(%d sequences, %d rows) has more hidden values than a Java array holds", count, outRows);
        String r = compare(onBackend, be.availableBytes(), be.memoryName(), heap);
        if (r != null || heap) return r;
        return compare(need[1], Inputs.heapFree(), "the heap", true);
    }

    private String compare(long need, long free, String where, boolean heap) {
        if (need <= free) return null;
        if (heap) {
            System.gc();
            free = Inputs.heapFree();
            if (need <= free) return null;
        }
        return String.format("needs about %.2f GiB but %s has %.2f GiB free", need / GIB, where, free / GIB);
    }

    /** docs/spec.md §3.3 steps 1-4, on the padded batch; refuses, before running, a batch that cannot fit. */
    Output forward(Tokens in) {
        int B = in.batch(), L = in.len();
        refuseShortfall(shortfall((long) B * L, (long) B * L, B), "a batch of (" + B + ", " + L + ")");
        float[] mask = new float[B * L];
        for (int r = 0; r < mask.length; r++) mask[r] = in.mask()[r];
        return run(in.ids(), in.typeIds(), mask, Sequences.uniform(B, L), L);
    }

    /**
     * {@link BertModel.Padding#NONE}: row b's first {@code lengths[b]} tokens as a sequence alone, all rows
     * packed end to end into one engine call (per-token steps once over all rows, conv and scan per
     * sequence); the outputs padded back to (B, L) with zero rows.
     */
    Output forwardPacked(Tokens in, int[] lengths) {
        int B = in.batch(), L = in.len();
        Sequences seqs = Sequences.of(lengths);
        refuseShortfall(shortfall(seqs.rows(), (long) B * L, B), "a batch of " + B + " sequences (" + seqs.rows() + " tokens)");
        int[] ids = new int[seqs.rows()], types = new int[seqs.rows()];
        for (int b = 0; b < B; b++) {
            System.arraycopy(in.ids(), b * L, ids, seqs.start(b), lengths[b]);
            System.arraycopy(in.typeIds(), b * L, types, seqs.start(b), lengths[b]);
        }
        float[] mask = new float[seqs.rows()];
        Arrays.fill(mask, 1f);
        return run(ids, types, mask, seqs, L);
    }

    private void refuseShortfall(String why, String what) {
        if (why != null)
            throw new HydraException("input: " + what + " " + why + "; split the batch"
                    + (word instanceof HeapBuf ? ", raise -Xmx" : "") + " or ask for automatic batching");
    }

    /** Steps 1-4 over the rows of {@code seqs}; the sequence output padded to (count, len) with zero rows. */
    private Output run(int[] ids, int[] types, float[] maskHost, Sequences seqs, int len) {
        int B = seqs.count(), rows = seqs.rows(), d = c.hiddenSize();
        Workspace ws = workspaces.take();
        try (Buf mask = be.upload(maskHost)) {
            long n = (long) rows * d;
            Buf h = ws.get(HIDDEN, n), x = ws.get(MIXER_IN, n), m = ws.get(MIXER_OUT, n);
            be.embed(ids, types, seqs, word, type, pos, d, h);                                             // step 1
            be.layerNorm(h, rows, d, embNormW, embNormB, (float) c.layerNormEps(), h);
            float mixerEps = (float) c.mixerLayerNormEps();
            for (int l = 0; l < layers.size(); l++) {                                                       // step 2
                if (c.prenorm()) {
                    be.layerNorm(h, rows, d, layerNormW[l], layerNormB[l], mixerEps, x);
                    be.maskRows(x, rows, d, mask, x);
                } else {
                    be.maskRows(h, rows, d, mask, x);
                }
                layers.get(l).forward(x, m, seqs, ws);
                be.addInPlace(h, m, n);
                if (!c.prenorm()) be.layerNorm(h, rows, d, layerNormW[l], layerNormB[l], mixerEps, h);
            }
            if (c.prenorm()) be.layerNorm(h, rows, d, normFW, normFB, (float) c.layerNormEps(), h);         // step 3
            be.maskRows(h, rows, d, mask, h);
            double[] sequence = downloadPadded(h, seqs, len, d);
            if (poolW == null) return new Output(B, len, d, sequence, null);                              // no pooler
            Buf poolIn = ws.get(POOL_IN, (long) B * d), pooled = ws.get(POOLED, (long) B * d);              // step 4
            be.poolRows(h, seqs, d, mask, c.poolAll(), poolIn);
            be.linear(poolIn, d, 0, B, d, poolW, poolB, d, pooled);
            be.activate(pooled, (long) B * d, Activation.TANH);
            return new Output(B, len, d, sequence, download(pooled, B * d, 1, d));
        } finally {
            workspaces.give(ws);
        }
    }

    /** The rows of {@code seqs} in b as doubles (count, len, width), each sequence followed by zero rows up to len. */
    private double[] downloadPadded(Buf b, Sequences seqs, int len, int width) {
        float[] packed = new float[seqs.rows() * width];
        be.download(b, packed);
        float[] padded = packed;
        if (seqs.rows() != seqs.count() * len) {
            padded = new float[seqs.count() * len * width];
            for (int i = 0; i < seqs.count(); i++)
                System.arraycopy(packed, seqs.start(i) * width, padded, i * len * width, seqs.length(i) * width);
        }
        Inputs.checkOverflow(padded, len, width, "fp32");
        return Layers.widen(padded);
    }

    /** A result as doubles, refusing a non-finite one (an overflow of the fp32 range). */
    private double[] download(Buf b, int n, int len, int width) {
        float[] f = new float[n];
        be.download(b, f);
        Inputs.checkOverflow(f, len, width, "fp32");
        return Layers.widen(f);
    }

    /** Step 5, MLM head: dense, exact gelu, LayerNorm (eps 1e-12), the decoder tied to the word embeddings plus its bias. */
    double[] mlmLogits(double[] hidden, int rows) {
        int d = c.hiddenSize(), V = c.vocabSize();
        if ((long) rows * V > Integer.MAX_VALUE - 8)
            throw new HydraException("fill-mask: " + rows + " positions x " + V + " logits are too many for one call");
        try (Buf x = be.upload(Layers.narrow(hidden)); Buf t = be.allocate((long) rows * d); Buf logits = be.allocate((long) rows * V)) {
            be.linear(x, d, 0, rows, d, mlmW, mlmB, d, t);
            be.activate(t, (long) rows * d, Activation.GELU);
            be.layerNorm(t, rows, d, mlmNormW, mlmNormB, 1e-12f, t);
            be.linear(t, d, 0, rows, d, word, decoderB, V, logits);
            return download(logits, rows * V, 1, V);
        }
    }

    /** Step 5, classification head: logits (batch, num_labels) from pooled outputs (batch, hidden). */
    double[] classifierLogits(double[] pooled, int batch) {
        int d = c.hiddenSize();
        try (Buf x = be.upload(Layers.narrow(pooled)); Buf logits = be.allocate((long) batch * numLabels)) {
            be.linear(x, d, 0, batch, d, classifierW, classifierB, numLabels, logits);
            return download(logits, batch * numLabels, 1, numLabels);
        }
    }

    @Override
    public void close() {
        workspaces.close();
        layers.forEach(BufLayer::close);
        weights.forEach(Buf::close);
    }
}
