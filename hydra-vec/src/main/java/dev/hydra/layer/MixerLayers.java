package dev.hydra.layer;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.hydra.HydraException;
import dev.hydra.backend.Backend;
import dev.hydra.config.MixerConfig;
import dev.hydra.io.TensorSource;
import dev.hydra.reference.ReferenceMixer;
import dev.hydra.weights.MixerWeights;
import dev.hydra.weights.Precision;

import java.util.Map;
import java.util.Set;

/** A matrix mixer described by a JSON config, as a {@link SequenceLayer} (the entry {@link Layers#load} uses). */
public final class MixerLayers {
    private MixerLayers() {}

    public static SequenceLayer load(ObjectNode config, String configSource, Set<String> ignored, TensorSource src,
                                     String prefix, Precision<?> precision, Backend backend) {
        MixerConfig c = MixerConfig.fromJson(config, configSource, ignored);
        return precision == Precision.FP64
                ? of(new ReferenceMixer(MixerWeights.load(c, src, prefix, Precision.FP64)))
                : of(new MixerLayer(MixerWeights.load(c, src, prefix, Precision.FP32), backend));
    }

    public static MixerLayer loadFp32(ObjectNode config, String configSource, Set<String> ignored, TensorSource src,
                                      String prefix, Backend backend) {
        return new MixerLayer(MixerWeights.load(MixerConfig.fromJson(config, configSource, ignored), src, prefix, Precision.FP32), backend);
    }

    public static SequenceLayer of(ReferenceMixer ref) {
        return new SequenceLayer() {
            public int dModel() { return ref.config().dModel(); }
            public int heads() { return ref.config().nheads(); }
            public Precision<?> precision() { return Precision.FP64; }
            public double[] forward(double[] u, int b, int l) { return ref.forward(u, b, l); }
            public Map<String, double[]> forwardStages(double[] u, int b, int l) {
                return ref.forwardStages(u, b, l, ReferenceMixer.Path.STRUCTURED);
            }
            public double[] materialize(double[] u, int b, int l) { return ref.materialize(u, b, l); }
        };
    }

    public static SequenceLayer of(MixerLayer layer) {
        return new SequenceLayer() {
            public int dModel() { return layer.config().dModel(); }
            public int heads() { return layer.config().nheads(); }
            public Precision<?> precision() { return Precision.FP32; }
            public double[] forward(double[] u, int b, int l) { return Layers.widen(layer.forward(Layers.narrow(u), b, l)); }
            public double[] materialize(double[] u, int b, int l) {
                throw new HydraException("materialize: load the layer in fp64 to materialize its matrix");
            }
            public void close() { layer.close(); }
        };
    }
}
