package dev.hydra.bert;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.hydra.HydraException;
import dev.hydra.backend.Backend;
import dev.hydra.backend.Backends;
import dev.hydra.bert.BertModel.Padding;
import dev.hydra.io.SafeTensors;
import dev.hydra.weights.Precision;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.function.IntConsumer;
import java.util.stream.IntStream;

/**
 * A Hydra BERT model directory ({@code config.json}, {@code model.safetensors}, optionally
 * {@code tokenizer.json}) as an application uses it: embeddings, labels and masked-token predictions for
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

    /** A text's label: the argmax, its name (from config.json's id2label, else the index) and the softmax. */
    public record Classification(int label, String name, double[] probabilities) {}

    /** A candidate for a masked position: the token, its id and its softmax probability. */
    public record Prediction(int position, int tokenId, String token, double score) {}

    private final Path dir;
    private final BertModel model;
    private final TextTokenizer tokenizer;
    private final Options options;
    private final String[] labelNames;

    private HydraBert(Path dir, BertModel model, TextTokenizer tokenizer, Options options, String[] labelNames) {
        this.dir = dir;
        this.model = model;
        this.tokenizer = tokenizer;
        this.options = options;
        this.labelNames = labelNames;
    }

    public static HydraBert load(Path dir) {
        return load(dir, Options.defaults());
    }

    /**
     * Loads the directory; the encoder's names may carry the {@code bert.} prefix of task models (found
     * automatically), the heads sit at the root.
     */
    public static HydraBert load(Path dir, Options options) {
        if (!Files.isDirectory(dir)) throw new HydraException(dir + ": no such model directory");
        BertConfig config = BertConfig.read(dir.resolve("config.json"));
        Path weights = dir.resolve("model.safetensors");
        if (!Files.isRegularFile(weights)) throw new HydraException(weights + ": no such file (the model directory needs model.safetensors)");
        BertModel model;
        try (SafeTensors st = SafeTensors.open(weights)) {
            String prefix = st.contains("bert.embeddings.word_embeddings.weight") ? "bert." : "";
            model = BertModel.load(config, st, prefix, "", options.precision(), options.backend());
        }
        try {
            String[] labels = labelNames(dir.resolve("config.json"), model.numLabels());
            Path tok = dir.resolve("tokenizer.json");
            TextTokenizer tokenizer = Files.isRegularFile(tok) ? TextTokenizer.load(tok, config.maxPositionEmbeddings()) : null;
            return new HydraBert(dir, model, tokenizer, options, labels);
        } catch (RuntimeException failure) {
            model.close();
            throw failure;
        }
    }

    private static String[] labelNames(Path config, int n) {
        String[] names = new String[n];
        for (int i = 0; i < n; i++) names[i] = Integer.toString(i);
        try {
            JsonNode id2label = new ObjectMapper().readTree(Files.readString(config)).get("id2label");
            if (id2label != null) for (int i = 0; i < n; i++)
                if (id2label.hasNonNull(Integer.toString(i))) names[i] = id2label.get(Integer.toString(i)).asText();
        } catch (IOException e) {
            throw new HydraException(config + ": cannot read (" + e.getMessage() + ")");
        }
        return names;
    }

    public BertModel model() {
        return model;
    }

    public TextTokenizer tokenizer() {
        if (tokenizer == null) throw new HydraException(dir + ": the model directory has no tokenizer.json, so it takes token ids only");
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
        if (!options.autoBatch() || t.batch() == 1 || model.fits(t.batch(), t.len())) return model.forward(t, options.padding());
        int half = t.batch() / 2;
        Output a = run(t.rows(0, half)), b = run(t.rows(half, t.batch()));
        double[] seq = Arrays.copyOf(a.sequence(), a.sequence().length + b.sequence().length);
        System.arraycopy(b.sequence(), 0, seq, a.sequence().length, b.sequence().length);
        double[] pooled = Arrays.copyOf(a.pooled(), a.pooled().length + b.pooled().length);
        System.arraycopy(b.pooled(), 0, pooled, a.pooled().length, b.pooled().length);
        return new Output(t.batch(), t.len(), a.hidden(), seq, pooled);
    }

    /** Row b of a batch output, cut to its n tokens, as an output of batch 1. */
    private static Output slice(Output o, int b, int n) {
        int d = o.hidden();
        return new Output(1, n, d, Arrays.copyOfRange(o.sequence(), b * o.len() * d, (b * o.len() + n) * d), o.pooled(b));
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

    public List<Classification> classifyOutputs(List<Output> outputs) {
        List<Classification> out = new ArrayList<>();
        for (Output o : outputs) {
            double[] p = softmax(model.classifierLogits(o.pooled(0), 1));
            int best = 0;
            for (int k = 1; k < p.length; k++) if (p[k] > p[best]) best = k;
            out.add(new Classification(best, labelNames[best], p));
        }
        return out;
    }

    /** The {@code topK} candidates for each mask token ([MASK] or &lt;mask&gt;) of the text, position by position. */
    public List<List<Prediction>> fillMask(String text, int topK) {
        TextTokenizer.Encoded e = tokenizer().encode(text);
        List<Integer> masks = new ArrayList<>();
        for (int t = 0; t < e.length(); t++)
            if (e.tokens()[t].equals("[MASK]") || e.tokens()[t].equals("<mask>")) masks.add(t);
        if (masks.isEmpty()) throw new HydraException("fill-mask: the text has no [MASK] (or <mask>) token");
        Output o = encode(List.of(e), null).getFirst();
        int V = model.config().vocabSize(), d = o.hidden();
        double[] hidden = new double[masks.size() * d];
        for (int k = 0; k < masks.size(); k++) System.arraycopy(o.sequence(), masks.get(k) * d, hidden, k * d, d);
        double[] logits = model.mlmLogits(hidden, masks.size());
        List<List<Prediction>> out = new ArrayList<>();
        for (int k = 0; k < masks.size(); k++) {
            double[] p = softmax(Arrays.copyOfRange(logits, k * V, (k + 1) * V));
            int pos = masks.get(k);
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
