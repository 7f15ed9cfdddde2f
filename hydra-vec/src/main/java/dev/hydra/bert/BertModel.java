package dev.hydra.bert;

import dev.hydra.HydraException;
import dev.hydra.backend.Backend;
import dev.hydra.io.TensorSource;
import dev.hydra.layer.Layers;
import dev.hydra.math.Erf;
import dev.hydra.layer.SequenceLayer;
import dev.hydra.weights.ParamSpec;
import dev.hydra.weights.Precision;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static dev.hydra.math.Fp64Ops.linear;

/**
 * The release's Hydra BERT encoder (docs/spec.md §3) with its optional MLM and classification heads.
 * In fp64 everything runs as plain Java on doubles (the reference layers): the oracle. In fp32 the whole
 * encoder runs on one {@link Backend} ({@link BackendEncoder}): weights uploaded once, one workspace per
 * call. Immutable after loading and safe to share between threads.
 */
public final class BertModel implements AutoCloseable {

    /** How a padded batch is run. */
    public enum Padding {
        /** as the release: the whole (B, L) batch at once, padded positions zero at each mixer's input */
        RELEASE,
        /** each sequence exactly as if alone (at its own length); differs from the release by design */
        NONE
    }

    private final BertConfig c;
    private final Precision<?> precision;
    // fp64: the weights as doubles and the reference mixers; null (empty) in fp32
    private double[] word, type, pos, embNormW, embNormB, normFW, normFB, poolW, poolB;
    private double[][] layerNormW, layerNormB;
    private final List<SequenceLayer> mixers = new ArrayList<>();
    private MlmHead mlm;
    private double[] classifierW, classifierB;
    private final boolean hasPooler, hasMlm;
    private final int numLabels;
    /** fp32: the encoder on the backend; null in fp64 */
    private final BackendEncoder engine;

    private record MlmHead(double[] denseW, double[] denseB, double[] normW, double[] normB, double[] decoderB) {}

    private BertModel(BertConfig c, Precision<?> precision, TensorSource src, String prefix, String headPrefix, Backend backend) {
        this.c = c;
        this.precision = precision;
        int d = c.hiddenSize();
        String e = prefix + "embeddings.";
        ParamSpec emb = new ParamSpec().add("word_embeddings.weight", c.vocabSize(), d)
                .add("token_type_embeddings.weight", c.typeVocabSize(), d);
        if (c.usePositionEmbeddings()) emb.add("position_embeddings.weight", c.maxPositionEmbeddings(), d);
        emb.add("LayerNorm.weight", d).add("LayerNorm.bias", d).check(src, e);
        int n = c.numHiddenLayers();
        for (int i = 0; i < n; i++)
            new ParamSpec().add("weight", d).add("bias", d).check(src, prefix + "encoder.layer." + i + ".layer.norm.");
        String layerN = prefix + "encoder.layer." + n + ".";
        for (String name : src.names())
            if (name.startsWith(layerN))
                throw new HydraException(src.source() + ": unexpected tensor '" + name + "' (num_hidden_layers is " + n + ")");
        String f = prefix + "encoder.norm_f.";
        if (c.prenorm()) new ParamSpec().add("weight", d).add("bias", d).check(src, f);
        else if (src.contains(f + "weight")) throw new HydraException(src.source() + ": unexpected tensor '" + f + "weight' (is_prenorm is false)");
        // a masked-LM model (the release's BertForMaskedLM) has no pooler
        hasPooler = src.contains(prefix + "pooler.dense.weight") || src.contains(prefix + "pooler.dense.bias");
        if (hasPooler) new ParamSpec().add("dense.weight", d, d).add("dense.bias", d).check(src, prefix + "pooler.");

        String p = headPrefix + "cls.predictions.";
        hasMlm = src.contains(p + "decoder.bias");
        if (hasMlm) {
            ParamSpec s = new ParamSpec().add("transform.dense.weight", d, d).add("transform.dense.bias", d)
                    .add("transform.LayerNorm.weight", d).add("transform.LayerNorm.bias", d).add("decoder.bias", c.vocabSize());
            if (src.contains(p + "decoder.weight")) s.add("decoder.weight", c.vocabSize(), d); // tied: the word embeddings are used
            if (src.contains(p + "bias")) s.add("bias", c.vocabSize());                        // tied to decoder.bias
            s.check(src, p);
            if (src.contains(p + "decoder.weight")
                    && !Arrays.equals(Precision.FP32.read(src, p + "decoder.weight"), Precision.FP32.read(src, e + "word_embeddings.weight")))
                throw new HydraException(src.source() + ": tensor '" + p + "decoder.weight' differs from the word embeddings, "
                        + "to which the release ties it");
        }
        String k = headPrefix + "classifier.";
        if (src.contains(k + "weight")) {
            if (!hasPooler)
                throw new HydraException(src.source() + ": tensor '" + k + "weight' needs the pooler (" + prefix + "pooler.dense.*), which is missing");
            long[] shape = src.info(k + "weight").shape();
            if (shape.length != 2 || shape[1] != d || shape[0] < 1 || shape[0] > 1 << 20)
                throw new HydraException(src.source() + ": tensor '" + k + "weight' has shape " + src.info(k + "weight").shapeString()
                        + ", expected (num_labels, " + d + ")");
            numLabels = (int) shape[0];
            new ParamSpec().add("weight", numLabels, d).add("bias", numLabels).check(src, k);
        } else {
            numLabels = 0;
        }
        if (precision == Precision.FP32) {
            engine = new BackendEncoder(c, src, prefix, headPrefix, hasPooler, hasMlm, numLabels, backend);
            return;
        }
        engine = null;
        word = read(src, e + "word_embeddings.weight");
        type = read(src, e + "token_type_embeddings.weight");
        pos = c.usePositionEmbeddings() ? read(src, e + "position_embeddings.weight") : null;
        embNormW = read(src, e + "LayerNorm.weight");
        embNormB = read(src, e + "LayerNorm.bias");
        layerNormW = new double[n][];
        layerNormB = new double[n][];
        for (int i = 0; i < n; i++) {
            String l = prefix + "encoder.layer." + i + ".layer.norm.";
            layerNormW[i] = read(src, l + "weight");
            layerNormB[i] = read(src, l + "bias");
        }
        normFW = c.prenorm() ? read(src, f + "weight") : null;
        normFB = c.prenorm() ? read(src, f + "bias") : null;
        poolW = hasPooler ? read(src, prefix + "pooler.dense.weight") : null;
        poolB = hasPooler ? read(src, prefix + "pooler.dense.bias") : null;
        if (hasMlm) mlm = new MlmHead(read(src, p + "transform.dense.weight"), read(src, p + "transform.dense.bias"),
                read(src, p + "transform.LayerNorm.weight"), read(src, p + "transform.LayerNorm.bias"), read(src, p + "decoder.bias"));
        if (numLabels > 0) {
            classifierW = read(src, k + "weight");
            classifierB = read(src, k + "bias");
        }
        for (int i = 0; i < n; i++)
            mixers.add(Layers.load(c.mixer(), c.source(), Set.of(), src, prefix + "encoder.layer." + i + ".layer.mixer.", precision, backend));
    }

    /**
     * The precision to load the weights in for {@code requested} on {@code backend}: bf16 is the fp32 model on a
     * backend whose products round their operands to bf16 ({@link Backend#bf16Products}); anywhere else it is
     * refused in one line.
     */
    public static Precision<?> weightPrecision(Precision<?> requested, Backend backend) {
        if (requested != Precision.BF16) return requested;
        if (!backend.bf16Products())
            throw new HydraException("bf16 runs on the gpu backend made for it (--backend gpu, or Backends.named(\"gpu\", Precision.BF16)); "
                    + "backend '" + backend.name() + "' computes in fp32");
        return Precision.FP32;
    }

    /**
     * Loads the encoder whose state dict sits under {@code prefix} ("" or "bert." in task models) and the
     * heads under {@code headPrefix}, when present.
     */
    public static BertModel load(BertConfig config, TensorSource src, String prefix, String headPrefix,
                                 Precision<?> precision, Backend backend) {
        return new BertModel(config, precision, src, prefix, headPrefix, backend);
    }

    private static double[] read(TensorSource src, String name) {
        return Precision.FP64.read(src, name);
    }

    public BertConfig config() {
        return c;
    }

    public Precision<?> precision() {
        return precision;
    }

    /** False for a masked-LM model, which has no pooler (its outputs have no pooled output). */
    public boolean hasPooler() {
        return hasPooler;
    }

    public boolean hasMlmHead() {
        return hasMlm;
    }

    /**
     * True when a {@link Padding#RELEASE} call of (batch, len) fits the memory free now (fp32: the backend's
     * and the heap's; fp64 runs layer by layer and each layer checks its own).
     */
    public boolean fits(int batch, int len) {
        return engine == null || engine.fits(batch, len);
    }

    /** {@link #fits(int, int)} for a call of {@code in} in {@code padding} (unpadded: its sequences' tokens only). */
    public boolean fits(Tokens in, Padding padding) {
        if (engine == null || padding == Padding.RELEASE) return fits(in.batch(), in.len());
        return engine.fitsPacked(in.rightPaddedLengths("unpadded mode"), in.len());
    }

    /** Labels of the classification head; 0 when the checkpoint has none. */
    public int numLabels() {
        return numLabels;
    }

    public Output forward(Tokens in, Padding padding) {
        check(in);
        if (padding == Padding.RELEASE) return forwardPadded(in);
        int d = c.hiddenSize(), L = in.len();
        int[] lengths = in.rightPaddedLengths("unpadded mode");
        for (int b = 0; b < lengths.length; b++)
            if (lengths[b] == 0) throw new HydraException("tokens: row " + b + " has no tokens");
        // fp32: every sequence at its own length, packed end to end into one engine call
        if (engine != null) return engine.forwardPacked(in, lengths);
        double[] seq = new double[in.batch() * L * d], pooled = hasPooler() ? new double[in.batch() * d] : null;
        // fp64: sequences of one length run together as one batch without padding
        Map<Integer, List<Integer>> byLength = new LinkedHashMap<>();
        for (int b = 0; b < in.batch(); b++) byLength.computeIfAbsent(lengths[b], x -> new ArrayList<>()).add(b);
        for (var group : byLength.entrySet()) {
            int n = group.getKey();
            List<Integer> rows = group.getValue();
            int[] ids = new int[rows.size() * n], types = new int[ids.length], mask = new int[ids.length];
            Arrays.fill(mask, 1);
            for (int j = 0; j < rows.size(); j++) {
                System.arraycopy(in.ids(), rows.get(j) * L, ids, j * n, n);
                System.arraycopy(in.typeIds(), rows.get(j) * L, types, j * n, n);
            }
            Output o = forwardPadded(new Tokens(rows.size(), n, ids, types, mask));
            for (int j = 0; j < rows.size(); j++) {
                System.arraycopy(o.sequence(), j * n * d, seq, rows.get(j) * L * d, n * d);
                if (pooled != null) System.arraycopy(o.pooled(), j * d, pooled, rows.get(j) * d, d);
            }
        }
        return new Output(in.batch(), L, d, seq, pooled);
    }

    private void check(Tokens in) {
        for (int i = 0; i < in.ids().length; i++) {
            if (in.ids()[i] < 0 || in.ids()[i] >= c.vocabSize())
                throw new HydraException("tokens: input_ids" + Tokens.at(i, in.len()) + " is " + in.ids()[i] + ", outside the vocabulary [0, " + c.vocabSize() + ")");
            if (in.typeIds()[i] < 0 || in.typeIds()[i] >= c.typeVocabSize())
                throw new HydraException("tokens: token_type_ids" + Tokens.at(i, in.len()) + " is " + in.typeIds()[i] + ", outside [0, " + c.typeVocabSize() + ")");
        }
        if (c.usePositionEmbeddings() && in.len() > c.maxPositionEmbeddings())
            throw new HydraException("tokens: length " + in.len() + " exceeds max_position_embeddings " + c.maxPositionEmbeddings());
    }

    /** docs/spec.md §3.3 steps 1-4, on the padded batch. */
    private Output forwardPadded(Tokens in) {
        if (engine != null) return engine.forward(in);
        int B = in.batch(), L = in.len(), d = c.hiddenSize(), rows = B * L;
        double[] h = new double[rows * d];
        for (int r = 0; r < rows; r++) {                                                          // step 1
            int w = in.ids()[r] * d, t = in.typeIds()[r] * d, p = (r % L) * d;
            for (int i = 0; i < d; i++) h[r * d + i] = word[w + i] + type[t + i] + (pos == null ? 0 : pos[p + i]);
        }
        EncoderMath.layerNorm(h, rows, d, embNormW, embNormB, c.layerNormEps());
        for (int l = 0; l < mixers.size(); l++) {                                                 // step 2
            double[] x = h.clone();
            if (c.prenorm()) EncoderMath.layerNorm(x, rows, d, layerNormW[l], layerNormB[l], c.mixerLayerNormEps());
            zeroPadded(x, in);
            double[] m = mixers.get(l).forward(x, B, L);
            for (int i = 0; i < h.length; i++) h[i] += m[i];
            if (!c.prenorm()) EncoderMath.layerNorm(h, rows, d, layerNormW[l], layerNormB[l], c.mixerLayerNormEps());
        }
        if (c.prenorm()) EncoderMath.layerNorm(h, rows, d, normFW, normFB, c.layerNormEps());    // step 3
        zeroPadded(h, in);
        return new Output(B, L, d, h, pool(h, in));
    }

    /** Step 4: tanh(dense(h[:, 0])), or of the masked mean with pool_all; null without a pooler. */
    private double[] pool(double[] h, Tokens in) {
        if (!hasPooler) return null;
        int B = in.batch(), L = in.len(), d = c.hiddenSize();
        double[] first = new double[B * d];
        int[] lengths = in.lengths();
        for (int b = 0; b < B; b++) {
            if (!c.poolAll()) {
                System.arraycopy(h, b * L * d, first, b * d, d);
                continue;
            }
            for (int t = 0; t < L; t++)
                for (int i = 0; i < d; i++) first[b * d + i] += h[(b * L + t) * d + i]; // padded rows are zero
            for (int i = 0; i < d; i++) first[b * d + i] /= Math.max(lengths[b], 1);
        }
        double[] pooled = linear(first, B, d, poolW, poolB, d);
        EncoderMath.tanh(pooled);
        return pooled;
    }

    private static void zeroPadded(double[] x, Tokens in) {
        int d = x.length / in.mask().length;
        for (int r = 0; r < in.mask().length; r++)
            if (in.mask()[r] == 0) Arrays.fill(x, r * d, (r + 1) * d, 0);
    }

    /** Step 5, MLM head: logits (rows, vocab) for hidden states (rows, hidden), the decoder tied to the word embeddings. */
    public double[] mlmLogits(double[] hidden, int rows) {
        if (!hasMlm) throw new HydraException("fill-mask: the checkpoint has no MLM head (cls.predictions.*)");
        if (engine != null) return engine.mlmLogits(hidden, rows);
        int d = c.hiddenSize();
        double[] t = linear(hidden, rows, d, mlm.denseW(), mlm.denseB(), d);
        for (int i = 0; i < t.length; i++) t[i] = Erf.gelu(t[i]);
        EncoderMath.layerNorm(t, rows, d, mlm.normW(), mlm.normB(), 1e-12);
        double[] logits = linear(t, rows, d, word, mlm.decoderB(), c.vocabSize());
        return logits;
    }

    /** Step 5, classification head: logits (batch, num_labels) from pooled outputs (batch, hidden). */
    public double[] classifierLogits(double[] pooled, int batch) {
        if (numLabels == 0) throw new HydraException("classify: the checkpoint has no classification head (classifier.*)");
        if (engine != null) return engine.classifierLogits(pooled, batch);
        double[] logits = linear(pooled, batch, c.hiddenSize(), classifierW, classifierB, numLabels);
        return logits;
    }

    @Override
    public void close() {
        mixers.forEach(SequenceLayer::close);
        if (engine != null) engine.close();
    }
}
