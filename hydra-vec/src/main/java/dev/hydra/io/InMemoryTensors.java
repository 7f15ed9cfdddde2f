package dev.hydra.io;

import dev.hydra.HydraException;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

/** Float32 tensors held in memory (seeded weights, tests); reads convert exactly to double. */
public final class InMemoryTensors implements TensorSource {
    private record Entry(float[] data, long[] shape) {}

    private final String source;
    private final Map<String, Entry> entries = new LinkedHashMap<>();

    public InMemoryTensors(String source) {
        this.source = source;
    }

    public InMemoryTensors put(String name, float[] data, long... shape) {
        long n = 1;
        for (long d : shape) n *= d;
        if (n != data.length) throw new HydraException(source + ": tensor '" + name + "' has " + data.length + " values for shape " + java.util.Arrays.toString(shape));
        entries.put(name, new Entry(data, shape.clone()));
        return this;
    }

    public InMemoryTensors remove(String name) {
        entries.remove(name);
        return this;
    }

    @Override
    public String source() {
        return source;
    }

    @Override
    public Set<String> names() {
        return Collections.unmodifiableSet(entries.keySet());
    }

    @Override
    public TensorInfo info(String name) {
        Entry e = entry(name);
        return new TensorInfo(name, DType.F32, e.shape().clone(), 0, 4L * e.data().length);
    }

    @Override
    public float[] floats(String name) {
        return entry(name).data().clone();
    }

    @Override
    public double[] doubles(String name) {
        float[] f = entry(name).data();
        double[] d = new double[f.length];
        for (int i = 0; i < f.length; i++) d[i] = f[i];
        return d;
    }

    /** Writes every tensor, float32, to a safetensors writer under an optional prefix. */
    public SafeTensorsWriter writeTo(SafeTensorsWriter w, String prefix) {
        entries.forEach((name, e) -> w.put(prefix + name, e.data(), e.shape()));
        return w;
    }

    private Entry entry(String name) {
        Entry e = entries.get(name);
        if (e == null) throw new HydraException(source + ": no tensor '" + name + "'");
        return e;
    }
}
