package dev.hydra.bench;

import dev.hydra.layer.HydraLayer;
import org.openjdk.jmh.annotations.*;

import java.util.concurrent.TimeUnit;

/** One forward pass of the 768-wide layer on the Vector API backend. */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
// the heap committed and touched at start (-Xms = -Xmx, AlwaysPreTouch): each forward returns a new output array, and
// pages the collector gave back and takes again fault in one by one, which cost a VM up to 3x on out_proj (docs/vector.md)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "-Xms10g", "-Xmx10g", "-XX:+AlwaysPreTouch", "-XX:+UseParallelGC"})
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
public class LayerBench {
    @Param({"1x512", "8x512", "1x8192", "1x65536"})
    public String shape;

    /** 0: one per available processor. */
    @Param({"0"})
    public int threads;

    private HydraLayer layer;
    private float[] u;
    private int batch, len;

    @Setup
    public void setup() {
        int[] bl = BenchLayer.shape(shape);
        batch = bl[0];
        len = bl[1];
        layer = BenchLayer.create(threads);
        u = BenchLayer.input(batch * len * BenchLayer.CONFIG.dModel());
        // compile the kernels on a short sequence first (they do not depend on the shape), so that the
        // few warm-up iterations of a long sequence do not run interpreted code
        float[] shortInput = BenchLayer.input(256 * BenchLayer.CONFIG.dModel());
        long end = System.nanoTime() + 5_000_000_000L;
        for (int i = 0; i < 10 || System.nanoTime() < end; i++) layer.forward(shortInput, 1, 256);
    }

    @Benchmark
    public float[] forward() {
        return layer.forward(u, batch, len);
    }

    @TearDown
    public void tearDown() {
        layer.close();
    }
}
