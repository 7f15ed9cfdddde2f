package dev.hydra.io.torch;

import dev.hydra.HydraException;
import dev.hydra.io.DType;

import java.lang.foreign.MemorySegment;

/**
 * A storage a checkpoint's pickle refers to by key: its dtype and element count as the pickle declares
 * them, and its bytes once they are known (the zip format has them at once; the legacy format only after
 * the whole pickle, and a legacy view storage takes them from its root storage at an element offset).
 */
final class TorchStorage {
    final String key;
    final DType dtype;
    final long numel;
    private MemorySegment bytes;
    private TorchStorage root;
    private long rootOffset;

    TorchStorage(String key, DType dtype, long numel) {
        this.key = key;
        this.dtype = dtype;
        this.numel = numel;
    }

    void bind(MemorySegment bytes) {
        this.bytes = bytes;
    }

    void viewOf(TorchStorage root, long elementOffset) {
        this.root = root;
        this.rootOffset = elementOffset;
    }

    /** The storage's bytes ({@code numel * dtype.bytes} of them). */
    MemorySegment bytes(String source) {
        if (root != null) return root.bytes(source).asSlice(rootOffset * dtype.bytes, numel * dtype.bytes);
        if (bytes == null) throw new HydraException(source + ": storage '" + key + "' has no data");
        return bytes;
    }

    @Override
    public String toString() {
        return "TorchStorage[" + key + ", " + dtype + " x " + numel + "]";
    }
}
