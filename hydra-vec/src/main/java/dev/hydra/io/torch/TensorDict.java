package dev.hydra.io.torch;

import dev.hydra.HydraException;
import dev.hydra.io.TensorInfo;
import dev.hydra.io.TensorSource;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

/**
 * The tensor-valued, string-keyed entries of one dict of a checkpoint as named tensors. {@link #info}
 * gives a tensor's dtype and shape; its begin and end are the byte range its elements span in their
 * storage when it is contiguous (a strided view spans more, and is read by its strides).
 */
final class TensorDict implements TensorSource {
    private final String source;
    private final Map<String, TorchTensor> tensors = new LinkedHashMap<>();

    TensorDict(String source, Map<?, ?> dict) {
        this.source = source;
        dict.forEach((k, v) -> {
            if (k instanceof String name && v instanceof TorchTensor t) tensors.put(name, t);
        });
    }

    @Override
    public String source() {
        return source;
    }

    @Override
    public Set<String> names() {
        return Collections.unmodifiableSet(tensors.keySet());
    }

    @Override
    public TensorInfo info(String name) {
        TorchTensor t = tensor(name);
        long begin = t.storageOffset() * t.dtype().bytes;
        return new TensorInfo(name, t.dtype(), t.shape(), begin, begin + t.elementCount() * t.dtype().bytes);
    }

    @Override
    public float[] floats(String name) {
        return floatTensor(name).floats();
    }

    @Override
    public double[] doubles(String name) {
        return floatTensor(name).doubles();
    }

    private TorchTensor floatTensor(String name) {
        TorchTensor t = tensor(name);
        if (!t.dtype().isFloat()) throw new HydraException(source + ": tensor '" + name + "' has dtype " + t.dtype() + ", expected a float type");
        return t;
    }

    private TorchTensor tensor(String name) {
        TorchTensor t = tensors.get(name);
        if (t == null) throw new HydraException(source + ": no tensor '" + name + "'");
        return t;
    }
}
