package dev.hydra.bert;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.hydra.HydraException;
import dev.hydra.io.SafeTensors;
import dev.hydra.io.TensorInfo;
import dev.hydra.io.TensorSource;
import dev.hydra.io.torch.TorchCheckpoint;

import java.math.BigInteger;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Supplier;

/**
 * A checkpoint file opened for reading, whatever its format: the model's state dict as tensors, the config it
 * carries (a Composer checkpoint's {@code state.integrations.huggingface.model.config.content}), and, for
 * {@code hydra inspect}, every tensor it holds. Close it to release the mapped file.
 */
public final class CheckpointFile implements AutoCloseable {
    /** One tensor of the file: its path inside the file (a state-dict name, or dotted keys for tensors elsewhere). */
    public record Entry(String path, TensorInfo info) {}

    private final String format;
    private final Supplier<TensorSource> stateDict;
    private final ObjectNode carriedConfig;
    private final List<Entry> entries;
    private final Map<String, String> metadata;
    private final AutoCloseable resource;

    private CheckpointFile(String format, Supplier<TensorSource> stateDict, ObjectNode carriedConfig, List<Entry> entries,
                           Map<String, String> metadata, AutoCloseable resource) {
        this.format = format;
        this.stateDict = stateDict;
        this.carriedConfig = carriedConfig;
        this.entries = entries;
        this.metadata = metadata;
        this.resource = resource;
    }

    /**
     * Opens a safetensors file or a {@code torch.save} file (zip or pre-1.6 format, read by the restricted reader of
     * {@link TorchCheckpoint}): a Composer checkpoint's state dict is {@code state.model}, any other file's is its root.
     */
    public static CheckpointFile open(Path file) {
        if (!TorchCheckpoint.isTorchFile(file)) {
            SafeTensors st = SafeTensors.open(file);
            List<Entry> entries = st.names().stream().sorted().map(n -> new Entry(n, st.info(n))).toList();
            return new CheckpointFile("safetensors", () -> st, null, entries, st.metadata(), st);
        }
        TorchCheckpoint torch = TorchCheckpoint.open(file);
        try {
            Optional<Object> composerModel = torch.at("state", "model");
            Supplier<TensorSource> stateDict = () -> {    // on demand: inspect lists any file, a state dict or not
                if (composerModel.isEmpty()) return torch.stateDict();
                if (composerModel.get() instanceof Map<?, ?> dict) return torch.tensors(dict, "state.model");
                throw new HydraException(file + ": state.model is not a state dict");
            };
            ObjectNode config = torch.at("state", "integrations", "huggingface", "model", "config", "content")
                    .map(c -> c instanceof Map<?, ?> m ? (ObjectNode) json(m) : null).orElse(null);
            List<Entry> entries = new ArrayList<>();
            torch.allTensors().forEach((path, t) -> entries.add(new Entry(path, new TensorInfo(path, t.dtype(), t.shape(), 0, 0))));
            return new CheckpointFile(composerModel.isPresent() ? "Composer checkpoint (torch.save)" : "torch.save state dict",
                    stateDict, config, entries, Map.of(), torch);
        } catch (RuntimeException e) {
            torch.close();
            throw e;
        }
    }

    /** A pickled config value as JSON; anything that is not plain data (a tensor, a class) becomes its description. */
    private static JsonNode json(Object value) {
        return switch (value) {
            case null -> JsonNodeFactory.instance.nullNode();
            case Map<?, ?> m -> {
                ObjectNode o = JsonNodeFactory.instance.objectNode();
                m.forEach((k, v) -> o.set(String.valueOf(k), json(v)));
                yield o;
            }
            case List<?> l -> {
                ArrayNode a = JsonNodeFactory.instance.arrayNode();
                l.forEach(v -> a.add(json(v)));
                yield a;
            }
            case String s -> JsonNodeFactory.instance.textNode(s);
            case Boolean b -> JsonNodeFactory.instance.booleanNode(b);
            case Long n -> JsonNodeFactory.instance.numberNode(n);
            case BigInteger n -> JsonNodeFactory.instance.numberNode(n);
            case Double d when Double.isFinite(d) -> JsonNodeFactory.instance.numberNode(d);
            default -> JsonNodeFactory.instance.textNode(String.valueOf(value));
        };
    }

    /** The format, in words. */
    public String format() {
        return format;
    }

    /** The model's state dict; an error naming the file when it holds none. */
    public TensorSource stateDict() {
        return stateDict.get();
    }

    public Optional<ObjectNode> carriedConfig() {
        return Optional.ofNullable(carriedConfig);
    }

    public List<Entry> entries() {
        return entries;
    }

    /** A safetensors file's string metadata (empty for other formats). */
    public Map<String, String> metadata() {
        return metadata;
    }

    @Override
    public void close() {
        try {
            resource.close();
        } catch (Exception e) {
            throw new HydraException("cannot close a checkpoint (" + e.getMessage() + ")");
        }
    }
}
