package dev.hydra.layer;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.hydra.backend.Backend;
import dev.hydra.config.HydraConfig;
import dev.hydra.config.MixerConfig;
import dev.hydra.io.TensorSource;
import dev.hydra.reference.ReferenceHydra;
import dev.hydra.weights.HydraWeights;
import dev.hydra.weights.Precision;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

/**
 * Loads the layer a JSON config describes from a tensor source: a matrix mixer (docs/spec.md §2) when the
 * config has {@code matrix_mixer_type}, else Hydra (section 1).
 */
public final class Layers {
    private Layers() {}

    /**
     * @param config  the layer's JSON config; keys in {@code ignored} are allowed beside the layer's own
     * @param prefix  state-dict prefix of the layer inside {@code src} ("" for a file of one layer)
     * @param backend runs the fp32 layer; unused in fp64
     */
    public static SequenceLayer load(ObjectNode config, String configSource, Set<String> ignored, TensorSource src,
                                     String prefix, Precision<?> precision, Backend backend) {
        if (MixerConfig.describes(config)) return MixerLayers.load(config, configSource, ignored, src, prefix, precision, backend);
        HydraConfig c = HydraConfig.fromJson(config, configSource, ignored);
        return precision == Precision.FP64
                ? hydra64(new ReferenceHydra(HydraWeights.load(c, src, prefix, Precision.FP64)))
                : hydra32(new HydraLayer(HydraWeights.load(c, src, prefix, Precision.FP32), backend));
    }

    /** {@link #load} in fp32, as the layer a model chains on {@code backend}. */
    public static BufLayer loadFp32(ObjectNode config, String configSource, Set<String> ignored, TensorSource src,
                                    String prefix, Backend backend) {
        if (MixerConfig.describes(config)) return MixerLayers.loadFp32(config, configSource, ignored, src, prefix, backend);
        return new HydraLayer(HydraWeights.load(HydraConfig.fromJson(config, configSource, ignored), src, prefix, Precision.FP32), backend);
    }

    static SequenceLayer hydra64(ReferenceHydra ref) {
        return new SequenceLayer() {
            public int dModel() { return ref.config().dModel(); }
            public int heads() { return ref.config().nheads(); }
            public Precision<?> precision() { return Precision.FP64; }
            public double[] forward(double[] u, int b, int l) { return ref.forward(u, b, l); }
            public Map<String, double[]> forwardStages(double[] u, int b, int l) {
                return ref.forwardStages(u, b, l, ReferenceHydra.Mixing.CHUNKED).named();
            }
            public double[] materialize(double[] u, int b, int l) { return ref.materialize(u, b, l); }
        };
    }

    static SequenceLayer hydra32(HydraLayer layer) {
        return new SequenceLayer() {
            public int dModel() { return layer.config().dModel(); }
            public int heads() { return layer.config().nheads(); }
            public Precision<?> precision() { return Precision.FP32; }
            public double[] forward(double[] u, int b, int l) { return widen(layer.forward(narrow(u), b, l)); }
            public Map<String, double[]> forwardStages(double[] u, int b, int l) {
                Map<String, double[]> m = new LinkedHashMap<>();
                layer.forwardStages(narrow(u), b, l).named().forEach((k, v) -> m.put(k, widen(v)));
                return m;
            }
            public double[] materialize(double[] u, int b, int l) {
                throw new dev.hydra.HydraException("materialize: load the layer in fp64 to materialize its matrix");
            }
            public void close() { layer.close(); }
        };
    }

    public static float[] narrow(double[] d) {
        float[] f = new float[d.length];
        for (int i = 0; i < d.length; i++) f[i] = (float) d[i];
        return f;
    }

    public static double[] widen(float[] f) {
        double[] d = new double[f.length];
        for (int i = 0; i < f.length; i++) d[i] = f[i];
        return d;
    }
}
