package dev.hydra.io;

import java.util.Set;

/** Named tensors to build a layer from: a safetensors file, or tensors made in memory. */
public interface TensorSource {
    /** Where the tensors come from, for error messages (a file path, or a description). */
    String source();

    Set<String> names();

    TensorInfo info(String name);

    default boolean contains(String name) {
        return names().contains(name);
    }

    float[] floats(String name);

    double[] doubles(String name);
}
