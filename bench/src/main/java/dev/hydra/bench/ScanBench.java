package dev.hydra.bench;

import dev.hydra.backend.Backend;
import dev.hydra.backend.Buf;
import dev.hydra.backend.ScanLayout;
import dev.hydra.backend.Sequences;
import dev.hydra.config.HydraConfig;
import dev.hydra.runtime.Backends;
import org.openjdk.jmh.annotations.*;

import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;

/**
 * The forward scan (step 4) of the 768-wide layer alone, on the Vector API backend: seeded conv outputs,
 * dt log-uniform in [0.001, 0.1] and A from -1 to -16 across the heads, as the layer's initialization
 * gives. Its FLOPs per token are the "scan fwd" stage of {@code LayerFlops.stages} (802,816 for this layer).
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "-Xmx4g", "-XX:+UseParallelGC"})
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
public class ScanBench {
    @Param({"8x512", "1x8192"})
    public String shape;

    /** 0: one per available processor. */
    @Param({"1"})
    public int threads;

    private Backend be;
    private ScanLayout layout;
    private Buf xbc, dt, a, y;

    @Setup
    public void setup() {
        HydraConfig c = BenchLayer.CONFIG;
        int[] bl = BenchLayer.shape(shape);
        int rows = bl[0] * bl[1], H = c.nheads(), dIn = c.dInner(), gn = c.ngroups() * c.dState();
        be = threads == 0 ? Backends.cpu() : Backends.cpu(threads);
        layout = new ScanLayout(Sequences.uniform(bl[0], bl[1]), H, c.headdim(), c.ngroups(), c.dState(), c.chunkSize(),
                c.convDim(), 0, dIn, dIn + gn, H, 0, true);
        SplittableRandom r = new SplittableRandom(3);
        float[] dts = new float[rows * H], as = new float[H];
        for (int i = 0; i < dts.length; i++) dts[i] = (float) Math.exp(Math.log(0.001) + r.nextDouble() * Math.log(100));
        for (int h = 0; h < H; h++) as[h] = -(1 + 15f * h / Math.max(1, H - 1));
        xbc = be.upload(BenchLayer.input(rows * c.convDim()));
        dt = be.upload(dts);
        a = be.upload(as);
        y = be.allocate((long) rows * dIn);
        // the Vector API kernels run thousands of times slower until C2 has compiled them
        long end = System.nanoTime() + 5_000_000_000L;
        for (int i = 0; i < 10 || System.nanoTime() < end; i++) scan();
    }

    @Benchmark
    public Buf scan() {
        be.ssdScan(layout, xbc, dt, a, null, y);
        return y;
    }
}
