package dev.hydra.bench;

import dev.hydra.config.MixerConfig;
import dev.hydra.config.MixerType;
import dev.hydra.reference.ReferenceMixer;
import dev.hydra.weights.MixerWeights;
import dev.hydra.weights.Precision;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;

/**
 * Each matrix mixer family's fp64 layer with its structured mixing (FFT for toeplitz, associativity for
 * low rank, chunked SSD for quasiseparable, row by row for the rest) against the same layer with the
 * materialized (B, H, L, L) matrix applied densely, at L in {256, 1024, 4096}. One head of width 128,
 * qk_dim 16, batch 1. The crossover is the smallest L where "structured" is faster.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 2, time = 2)
@Measurement(iterations = 3, time = 3)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "-Xmx8g"})
@State(Scope.Benchmark)
public class MixerBench {

    @Param({"dense", "toeplitz", "vandermonde", "cauchy", "low_rank", "attention", "quasiseparable"})
    public String type;

    @Param({"256", "1024", "4096"})
    public int len;

    private ReferenceMixer mixer;
    private double[] u;

    /** The config both paths run: the data-dependent variant where there is one, one head of width 128. */
    public static MixerConfig config(String type, int len) {
        MixerType t = MixerType.valueOf(type.toUpperCase());
        return new MixerConfig(t, t != MixerType.DENSE, 64, 16, len, 7, 2, 128, 256);
    }

    @Setup
    public void setup() {
        MixerConfig c = config(type, len);
        mixer = new ReferenceMixer(MixerWeights.load(c, MixerWeights.seeded(c, 1), "", Precision.FP64));
        SplittableRandom r = new SplittableRandom(2);
        u = new double[len * c.dModel()];
        for (int i = 0; i < u.length; i++) u[i] = 2 * r.nextDouble() - 1;
    }

    @Benchmark
    public double[] structured() {
        return mixer.forward(u, 1, len, ReferenceMixer.Path.STRUCTURED);
    }

    @Benchmark
    public double[] dense() {
        return mixer.forward(u, 1, len, ReferenceMixer.Path.DENSE);
    }
}
