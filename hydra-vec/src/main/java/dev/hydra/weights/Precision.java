package dev.hydra.weights;

import dev.hydra.io.TensorSource;

import java.util.function.BiFunction;

/**
 * The two numeric precisions of the engine, typed by the array that holds their values, so that one
 * loader fills either {@code float[]} (fp32 engines) or {@code double[]} (fp64 reference) parameters.
 */
public final class Precision<A> {
    public static final Precision<float[]> FP32 = new Precision<>("fp32", TensorSource::floats);
    public static final Precision<double[]> FP64 = new Precision<>("fp64", TensorSource::doubles);

    private final String name;
    private final BiFunction<TensorSource, String, A> reader;

    private Precision(String name, BiFunction<TensorSource, String, A> reader) {
        this.name = name;
        this.reader = reader;
    }

    public A read(TensorSource source, String tensor) {
        return reader.apply(source, tensor);
    }

    public String name() {
        return name;
    }

    @Override
    public String toString() {
        return name;
    }
}
