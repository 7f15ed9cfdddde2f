package dev.hydra.layer;

import dev.hydra.weights.Precision;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A sequence layer as the CLI and applications run it, whatever its kind (Hydra or a matrix mixer),
 * in the precision it was loaded in. Inputs and outputs are (B, L, d_model) row-major, passed as
 * doubles; an fp32 layer rounds its input to float and its outputs are exact floats widened to double.
 */
public interface SequenceLayer extends AutoCloseable {
    int dModel();

    /** Heads of the mixer matrix (the H of {@link #materialize}). */
    int heads();

    Precision<?> precision();

    double[] forward(double[] u, int batch, int len);

    /** Named intermediates (docs/spec.md §1.3) and {@code "output"}; layers without stages give only the output. */
    default Map<String, double[]> forwardStages(double[] u, int batch, int len) {
        Map<String, double[]> m = new LinkedHashMap<>();
        m.put("output", forward(u, batch, len));
        return m;
    }

    /** The mixer matrix (B, H, L, L), fp64, of the mixing step for this input. */
    double[] materialize(double[] u, int batch, int len);

    @Override
    default void close() {}
}
