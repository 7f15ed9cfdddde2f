package dev.hydra.bert;

import dev.hydra.HydraException;
import dev.hydra.backend.Backend;
import dev.hydra.io.TensorInfo;
import dev.hydra.io.TensorSource;
import dev.hydra.weights.Precision;

import java.util.Collections;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Where the release's names sit in a state dict (docs/spec.md §3): the encoder at the root ({@code BertModel}),
 * under {@code bert.} (task models), under {@code model.} or {@code model.bert.} (Composer), the heads beside the
 * {@code bert.} level. Every tensor of the state dict must be used by the model: anything else (a layer too many,
 * another head) is an error naming it. The one buffer the release stores that the forward pass does not read,
 * {@code embeddings.position_ids}, is accepted.
 */
public record CheckpointLayout(String encoderPrefix, String headPrefix) {

    private static final List<String> ENCODER_PREFIXES = List.of("", "bert.", "model.", "model.bert.");

    /** State-dict names (below the encoder prefix) of buffers the release saves and the forward pass does not read. */
    public static final Set<String> UNREAD_BUFFERS = Set.of("embeddings.position_ids");

    public static CheckpointLayout of(TensorSource src) {
        List<String> found = ENCODER_PREFIXES.stream().filter(p -> src.contains(p + "embeddings.word_embeddings.weight")).toList();
        if (found.isEmpty())
            throw new HydraException(src.source() + ": no BERT encoder (no 'embeddings.word_embeddings.weight' at the root or under "
                    + "bert., model. or model.bert.)");
        if (found.size() > 1)
            throw new HydraException(src.source() + ": holds two encoders ('" + found.get(0) + "embeddings.word_embeddings.weight' and '"
                    + found.get(1) + "embeddings.word_embeddings.weight')");
        String encoder = found.getFirst();
        return new CheckpointLayout(encoder, encoder.endsWith("bert.") ? encoder.substring(0, encoder.length() - "bert.".length()) : encoder);
    }

    /** Loads the model from a state dict in this layout, refusing tensors it does not use. */
    public BertModel load(BertConfig config, TensorSource src, Precision<?> precision, Backend backend) {
        UseTracking tracked = new UseTracking(src);
        for (String buffer : UNREAD_BUFFERS) tracked.used.add(encoderPrefix + buffer);
        BertModel model = BertModel.load(config, tracked, encoderPrefix, headPrefix, precision, backend);
        TreeSet<String> unused = new TreeSet<>(src.names());
        unused.removeAll(tracked.used);
        if (!unused.isEmpty()) {
            model.close();
            throw new HydraException(src.source() + ": unexpected tensor '" + unused.first() + "' (not a parameter of this model"
                    + (unused.size() > 1 ? "; " + (unused.size() - 1) + " more" : "") + ")");
        }
        return model;
    }

    /** The state-dict name of {@code name} as transformers saves it: without the Composer {@code model.} level. */
    public String savedName(String name) {
        return name.substring(headPrefix.length());
    }

    /** A tensor source that records which tensors were looked at or read. */
    private static final class UseTracking implements TensorSource {
        final TensorSource src;
        final Set<String> used = Collections.newSetFromMap(new ConcurrentHashMap<>());

        UseTracking(TensorSource src) {
            this.src = src;
        }

        public String source() { return src.source(); }
        public Set<String> names() { return src.names(); }
        public boolean contains(String name) { return src.contains(name); }

        public TensorInfo info(String name) {
            used.add(name);
            return src.info(name);
        }

        public float[] floats(String name) {
            used.add(name);
            return src.floats(name);
        }

        public double[] doubles(String name) {
            used.add(name);
            return src.doubles(name);
        }
    }
}
