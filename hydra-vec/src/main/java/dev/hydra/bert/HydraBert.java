package dev.hydra.bert;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.hydra.HydraException;
import dev.hydra.backend.Backend;
import dev.hydra.bert.BertModel.Padding;
import dev.hydra.io.SafeTensors;
import dev.hydra.runtime.Backends;
import dev.hydra.config.JsonKeys;
import dev.hydra.io.TensorSource;
import dev.hydra.weights.Precision;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.function.IntConsumer;
import java.util.stream.IntStream;

/**
 * A Hydra BERT model (a directory or checkpoint file in any of the release's formats, see {@link ModelFiles}) as
 * an application uses it: embeddings, labels and masked-token predictions for
 * texts. Inputs are bucketed by length into batches of at most {@link Options#maxBatch}; by default each
 * sequence runs exactly as if alone ({@link Padding#NONE}), so a text's result does not depend on the
 * other texts of the call. The whole model shares one backend. Safe to share between threads.
 */
public final class HydraBert implements AutoCloseable {

    /**
     * How the model is loaded and batched. With {@code autoBatch}, a batch that does not fit the free memory
     * (fp32: heap or device) is split in halves until it does; without, it is refused in one line.
     */
    public record Options(Precision<?> precision, Backend backend, Padding padding, int maxBatch, boolean autoBatch) {
        public Options {
            if (maxBatch < 1) throw new HydraException("max batch must be positive, got " + maxBatch);
        }

        public Options(Precision<?> precision, Backend backend, Padding padding, int maxBatch) {
            this(precision, backend, padding, maxBatch, false);
        }

        public static Options defaults() {
            return new Options(Precision.FP32, Backends.cpu(), Padding.NONE, 32);
        }

        public Options with(Precision<?> p) {
            return new Options(p, backend, padding, maxBatch, autoBatch);
        }

        public Options with(Padding p) {
            return new Options(precision, backend, p, maxBatch, autoBatch);
        }

        public Options withAutoBatch(boolean on) {
            return new Options(precision, backend, padding, maxBatch, on);
        }
    }

    /** Pooling of a text's embedding: the model's pooler (tanh(dense(h[CLS]))) or the mean of its token states. */
    public enum Pool { CLS, MEAN }

    /** A text's label: the argmax, its name (from config.json's id2label, else the index), the softmax and the logits it came from. */
    public record Classification(int label, String name, double[] probabilities, double[] logits) {}

    /** A candidate for a masked position: the token, its id and its softmax probability. */
    public record Prediction(int position, int tokenId, String token, double score) {}

    private final Path location;
    private final BertModel model;
    private final TextTokenizer tokenizer;
    private final Options options;
    private final String[] labelNames;

    private HydraBert(Path location, BertModel model, TextTokenizer tokenizer, Options options, String[] labelNames) {
        this.location = location;
        this.model = model;
        this.tokenizer = tokenizer;
        this.options = options;
        this.labelNames = labelNames;
    }

    /** Loads a model directory or checkpoint file (see {@link ModelFiles}) in fp32 on {@code Backends.cpu()}. */
    public static HydraBert load(Path model) {
        return load(model, Options.defaults());
    }

    public static HydraBert load(Path model, Options options) {
        return load(ModelFiles.locate(model, null), options);
    }

    /**
     * Loads the checkpoint in any of the release's layouts ({@link CheckpointLayout}) with its config: the config
     * file, else the config the checkpoint carries.
     */
    public static HydraBert load(ModelFiles files, Options options) {
        Precision<?> weights = BertModel.weightPrecision(options.precision(), options.backend());
        ObjectNode configJson;
        BertModel model;
        try (CheckpointFile checkpoint = CheckpointFile.open(files.weights())) {
            configJson = configJson(files, checkpoint);
            BertConfig config = BertConfig.fromJson(configJson, configSource(files));
            TensorSource stateDict = checkpoint.stateDict();
            model = CheckpointLayout.of(stateDict).load(config, stateDict, weights, options.backend());
        }
        try {
            String[] labels = labelNames(configJson, model.numLabels());
            TextTokenizer tokenizer = files.hasTokenizer() ? files.tokenizer(model.config().maxPositionEmbeddings(), files.weights()) : null;
            return new HydraBert(files.weights(), model, tokenizer, options, labels);
        } catch (RuntimeException failure) {
            model.close();
            throw failure;
        }
    }

    /** The config file's JSON, else the config the checkpoint carries. */
    public static ObjectNode configJson(ModelFiles files, CheckpointFile checkpoint) {
        if (files.config() != null) return JsonKeys.readObject(files.config());
        return checkpoint.carriedConfig().orElseThrow(() -> new HydraException(files.weights()
                + ": no config.json beside it and the checkpoint carries no config (give one with --config)"));
    }

    public static String configSource(ModelFiles files) {
        return files.config() != null ? files.config().toString() : files.weights() + " (its config)";
    }

    private static String[] labelNames(ObjectNode config, int n) {
        String[] names = new String[n];
        JsonNode id2label = config.get("id2label");
        for (int i = 0; i < n; i++)
            names[i] = id2label != null && id2label.hasNonNull(Integer.toString(i)) ? id2label.get(Integer.toString(i)).asText() : Integer.toString(i);
        return names;
    }

    public BertModel model() {
        return model;
    }

    public TextTokenizer tokenizer() {
        if (tokenizer == null) throw new HydraException(location + ": the model has no tokenizer (tokenizer.json or vocab.txt beside it), so it takes token ids only");
        return tokenizer;
    }

    /**
     * Runs a batch of token sequences of any lengths, bucketed by length into batches of at most
     * {@code maxBatch}, each right-padded to its longest; results come back in input order.
     * {@code progress} receives the count of sequences done after each bucket (may be null).
     */
    public List<Output> encode(List<TextTokenizer.Encoded> items, IntConsumer progress) {
        Integer[] order = IntStream.range(0, items.size()).boxed().toArray(Integer[]::new);
        Arrays.sort(order, Comparator.comparingInt(i -> items.get(i).length()));
        Output[] out = new Output[items.size()];
        for (int from = 0; from < order.length; from += options.maxBatch()) {
            int to = Math.min(order.length, from + options.maxBatch());
            List<TextTokenizer.Encoded> bucket = new ArrayList<>();
            for (int k = from; k < to; k++) bucket.add(items.get(order[k]));
            Output o = run(TextTokenizer.batch(bucket));
            for (int k = from; k < to; k++) out[order[k]] = slice(o, k - from, items.get(order[k]).length());
            if (progress != null) progress.accept(to);
        }
        return Arrays.asList(out);
    }

    /**
     * Runs a pre-padded batch (right padding) in pieces of at most {@code maxBatch} rows, each at the batch's
     * length, so that {@link Padding#RELEASE} reproduces the release on the whole batch; the outputs are
     * cut to each row's tokens.
     */
    public List<Output> encode(Tokens batch, IntConsumer progress) {
        int[] lengths = batch.rightPaddedLengths("a batch of token ids");
        List<Output> out = new ArrayList<>();
        for (int from = 0; from < batch.batch(); from += options.maxBatch()) {
            int to = Math.min(batch.batch(), from + options.maxBatch());
            Output o = run(batch.rows(from, to));
            for (int b = from; b < to; b++) out.add(slice(o, b - from, lengths[b]));
            if (progress != null) progress.accept(to);
        }
        return out;
    }

    /** One batch through the model; with automatic batching, in halves while it does not fit. */
    private Output run(Tokens t) {
        if (!options.autoBatch() || t.batch() == 1 || model.fits(t, options.padding())) return model.forward(t, options.padding());
        int half = t.batch() / 2;
        Output a = run(t.rows(0, half)), b = run(t.rows(half, t.batch()));
        return new Output(t.batch(), t.len(), a.hidden(), concat(a.sequence(), b.sequence()), concat(a.pooled(), b.pooled()));
    }

    /** a then b; null for a model without a pooler. */
    private static double[] concat(double[] a, double[] b) {
        if (a == null) return null;
        double[] ab = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, ab, a.length, b.length);
        return ab;
    }

    /** Row b of a batch output, cut to its n tokens, as an output of batch 1. */
    private static Output slice(Output o, int b, int n) {
        int d = o.hidden();
        return new Output(1, n, d, Arrays.copyOfRange(o.sequence(), b * o.len() * d, (b * o.len() + n) * d),
                o.pooled() == null ? null : o.pooled(b));
    }

    public List<TextTokenizer.Encoded> tokenize(List<String> texts) {
        TextTokenizer t = tokenizer();
        return texts.stream().map(t::encode).toList();
    }

    /** Text pairs (first[i], second[i]) as the tokenizer's pair template encodes them (type ids 0, then 1). */
    public List<TextTokenizer.Encoded> tokenizePairs(List<String> first, List<String> second) {
        if (first.size() != second.size())
            throw new HydraException("text pairs: " + first.size() + " first texts but " + second.size() + " second texts");
        TextTokenizer t = tokenizer();
        return IntStream.range(0, first.size()).mapToObj(i -> t.encode(first.get(i), second.get(i))).toList();
    }

    /** One embedding (hidden) per text. */
    public double[][] embed(List<String> texts, Pool pool) {
        return pool(encode(tokenize(texts), null), pool);
    }

    public static double[][] pool(List<Output> outputs, Pool pool) {
        return outputs.stream().map(o -> pool == Pool.CLS ? o.pooled(0) : mean(o)).toArray(double[][]::new);
    }

    private static double[] mean(Output o) {
        double[] m = new double[o.hidden()];
        for (int t = 0; t < o.len(); t++)
            for (int i = 0; i < m.length; i++) m[i] += o.sequence()[t * m.length + i] / o.len();
        return m;
    }

    public List<Classification> classify(List<String> texts) {
        return classifyOutputs(encode(tokenize(texts), null));
    }

    /** Labels of text pairs (sentence-pair tasks). */
    public List<Classification> classifyPairs(List<String> first, List<String> second) {
        return classifyOutputs(encode(tokenizePairs(first, second), null));
    }

    /** The name of label {@code k} (from config.json's id2label, else the index). */
    public String labelName(int k) {
        return labelNames[k];
    }

    public List<Classification> classifyOutputs(List<Output> outputs) {
        if (model.numLabels() == 0) throw new HydraException("classify: the checkpoint has no classification head (classifier.*)");
        List<Classification> out = new ArrayList<>();
        for (Output o : outputs) {
            double[] logits = model.classifierLogits(o.pooled(0), 1), p = softmax(logits);
            int best = 0;
            for (int k = 1; k < p.length; k++) if (p[k] > p[best]) best = k;
            out.add(new Classification(best, labelNames[best], p, logits));
        }
        return out;
    }

    /** The {@code topK} candidates for each mask token ([MASK] or &lt;mask&gt;) of the text, position by position. */
    public List<List<Prediction>> fillMask(String text, int topK) {
        TextTokenizer.Encoded e = tokenizer().encode(text);
        maskPositions(e);
        return fillMask(e, encode(List.of(e), null).getFirst(), topK);
    }

    /** The positions of the mask tokens ([MASK] or &lt;mask&gt;) of an encoded text; an error when it has none. */
    public static int[] maskPositions(TextTokenizer.Encoded e) {
        int[] masks = IntStream.range(0, e.length()).filter(t -> e.tokens()[t].equals("[MASK]") || e.tokens()[t].equals("<mask>")).toArray();
        if (masks.length == 0) throw new HydraException("fill-mask: the text has no [MASK] (or <mask>) token");
        return masks;
    }

    /** {@link #fillMask(String, int)} for a text already encoded ({@code e}) and run ({@code o}, its output). */
    public List<List<Prediction>> fillMask(TextTokenizer.Encoded e, Output o, int topK) {
        int[] masks = maskPositions(e);
        int V = model.config().vocabSize(), d = o.hidden();
        double[] hidden = new double[masks.length * d];
        for (int k = 0; k < masks.length; k++) System.arraycopy(o.sequence(), masks[k] * d, hidden, k * d, d);
        double[] logits = model.mlmLogits(hidden, masks.length);
        List<List<Prediction>> out = new ArrayList<>();
        for (int k = 0; k < masks.length; k++) {
            double[] p = softmax(Arrays.copyOfRange(logits, k * V, (k + 1) * V));
            int pos = masks[k];
            out.add(IntStream.range(0, V).boxed().sorted(Comparator.comparingDouble(i -> -p[i])).limit(topK)
                    .map(i -> new Prediction(pos, i, tokenizer.token(i), p[i])).toList());
        }
        return out;
    }

    private static double[] softmax(double[] logits) {
        double max = Arrays.stream(logits).max().orElseThrow(), sum = 0;
        double[] p = new double[logits.length];
        for (int i = 0; i < p.length; i++) sum += p[i] = Math.exp(logits[i] - max);
        for (int i = 0; i < p.length; i++) p[i] /= sum;
        return p;
    }

    @Override
    public void close() {
        model.close();
        if (tokenizer != null) tokenizer.close();
    }
}
