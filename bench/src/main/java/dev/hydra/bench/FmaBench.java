package dev.hydra.bench;

import dev.hydra.kernels.FmaPeak;
import org.openjdk.jmh.annotations.*;

import java.util.concurrent.TimeUnit;

/** The fp32 FMA peak: ops/s times {@link #FLOPS_PER_OP}, summed over the benchmark's threads (one per core in the suite). */
@State(Scope.Thread)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector"})
@Warmup(iterations = 2, time = 1)
@Measurement(iterations = 3, time = 1)
public class FmaBench {
    static final long ITERATIONS = 1 << 16;
    static final double FLOPS_PER_OP = FmaPeak.flops(ITERATIONS);

    private float seed = 1;

    @Benchmark
    public float fma() {
        return FmaPeak.loop(ITERATIONS, seed);
    }
}
