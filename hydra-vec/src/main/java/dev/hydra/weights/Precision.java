package dev.hydra.weights;

import dev.hydra.HydraException;
import dev.hydra.forward.Inputs;
import dev.hydra.io.TensorSource;

import java.util.function.BiFunction;
import java.util.function.ToIntFunction;

/**
 * The numeric precisions of the engine, typed by the array that holds their values, so that one
 * loader fills either {@code float[]} (fp32 engines) or {@code double[]} (fp64 reference) parameters.
 * {@link #BF16} holds its parameters in {@code float[]} like fp32: it is the fp32 layer on a backend
 * whose matrix products take bf16 operands (the CUDA backend's bf16 mode, chosen by
 * Backends.named(name, BF16)); the CPU backends refuse it.
 */
public final class Precision<A> {
    public static final Precision<float[]> FP32 = new Precision<>("fp32", TensorSource::floats, Inputs::firstNonFinite);
    public static final Precision<float[]> BF16 = new Precision<>("bf16", TensorSource::floats, Inputs::firstNonFinite);
    public static final Precision<double[]> FP64 = new Precision<>("fp64", TensorSource::doubles, Precision::firstNonFinite);

    private final String name;
    private final BiFunction<TensorSource, String, A> reader;
    private final ToIntFunction<A> firstNonFinite;

    private Precision(String name, BiFunction<TensorSource, String, A> reader, ToIntFunction<A> firstNonFinite) {
        this.name = name;
        this.reader = reader;
        this.firstNonFinite = firstNonFinite;
    }

    /**
     * The one way every model kind (Hydra, the matrix mixers, BERT) reads a parameter: converted to this
     * precision and refused, naming the tensor, if it holds NaN or an infinity (no trained model has one,
     * and it would poison every output).
     */
    public A read(TensorSource source, String tensor) {
        A values = reader.apply(source, tensor);
        int bad = firstNonFinite.applyAsInt(values);
        if (bad >= 0)
            throw new HydraException(source.source() + ": tensor '" + tensor + "' holds a non-finite value at flat index " + bad);
        return values;
    }

    private static int firstNonFinite(double[] v) {
        for (int i = 0; i < v.length; i++) if (!Double.isFinite(v[i])) return i;
        return -1;
    }

    public String name() {
        return name;
    }

    @Override
    public String toString() {
        return name;
    }
}
