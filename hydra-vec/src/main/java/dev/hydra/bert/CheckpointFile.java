package dev.hydra.bert;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.hydra.HydraException;
import dev.hydra.io.SafeTensors;
import dev.hydra.io.TensorInfo;
import dev.hydra.io.TensorSource;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * A checkpoint file opened for reading, whatever its format: the model's state dict as tensors, the config it
 * carries (a Composer checkpoint's {@code state.integrations.huggingface.model.config.content}), and, for
 * {@code hydra inspect}, every tensor it holds. Close it to release the mapped file.
 */
public final class CheckpointFile implements AutoCloseable {
    /** One tensor of the file: its path inside the file (a state-dict name, or dotted keys for tensors elsewhere). */
    public record Entry(String path, TensorInfo info) {}

    private final String format;
    private final TensorSource stateDict;
    private final ObjectNode carriedConfig;
    private final List<Entry> entries;
    private final Map<String, String> metadata;
    private final AutoCloseable resource;

    private CheckpointFile(String format, TensorSource stateDict, ObjectNode carriedConfig, List<Entry> entries,
                           Map<String, String> metadata, AutoCloseable resource) {
        this.format = format;
        this.stateDict = stateDict;
        this.carriedConfig = carriedConfig;
        this.entries = entries;
        this.metadata = metadata;
        this.resource = resource;
    }

    public static CheckpointFile open(Path file) {
        SafeTensors st = SafeTensors.open(file);
        List<Entry> entries = st.names().stream().sorted().map(n -> new Entry(n, st.info(n))).toList();
        return new CheckpointFile("safetensors", st, null, entries, st.metadata(), st);
    }

    /** The format, in words. */
    public String format() {
        return format;
    }

    public TensorSource stateDict() {
        return stateDict;
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
            throw new HydraException(stateDict.source() + ": cannot close (" + e.getMessage() + ")");
        }
    }
}
