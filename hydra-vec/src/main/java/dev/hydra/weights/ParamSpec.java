package dev.hydra.weights;

import dev.hydra.HydraException;
import dev.hydra.io.TensorInfo;
import dev.hydra.io.TensorSource;

import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The parameters a module expects (state-dict names and shapes). {@link #check} compares them with a
 * tensor source under a prefix and names the first tensor that is missing, misshapen or extra.
 */
public final class ParamSpec {
    private final Map<String, long[]> shapes = new LinkedHashMap<>();

    public ParamSpec add(String name, long... shape) {
        shapes.put(name, shape);
        return this;
    }

    public Map<String, long[]> shapes() {
        return shapes;
    }

    public void check(TensorSource src, String prefix) {
        for (Map.Entry<String, long[]> e : shapes.entrySet()) {
            String full = prefix + e.getKey();
            if (!src.contains(full)) throw new HydraException(src.source() + ": missing tensor '" + full + "'");
            TensorInfo t = src.info(full);
            if (!t.hasShape(e.getValue()))
                throw new HydraException(src.source() + ": tensor '" + full + "' has shape " + t.shapeString()
                        + ", expected " + Arrays.toString(e.getValue()).replace('[', '(').replace(']', ')'));
            if (!t.dtype().isFloat())
                throw new HydraException(src.source() + ": tensor '" + full + "' has dtype " + t.dtype() + ", expected a float type");
        }
        for (String name : src.names()) {
            if (name.startsWith(prefix) && !shapes.containsKey(name.substring(prefix.length())))
                throw new HydraException(src.source() + ": unexpected tensor '" + name + "' (not a parameter of this layer)");
        }
    }
}
