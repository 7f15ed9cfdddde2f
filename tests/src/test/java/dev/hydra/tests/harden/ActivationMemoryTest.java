package dev.hydra.tests.harden;

import dev.hydra.HydraException;
import dev.hydra.config.HydraConfig;
import dev.hydra.io.InMemoryTensors;
import dev.hydra.kernels.ScalarBackend;
import dev.hydra.layer.HydraLayer;
import dev.hydra.reference.ReferenceHydra;
import dev.hydra.reference.ReferenceHydra.Mixing;
import dev.hydra.weights.HydraWeights;
import dev.hydra.weights.Precision;
import org.junit.jupiter.api.Test;

import java.lang.management.ManagementFactory;
import java.util.Arrays;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * A request whose activations cannot be held is refused before anything is allocated, with the memory
 * it needs, instead of an OutOfMemoryError (or an int overflow) midway. The config is narrow at the
 * input (d_model 1) and wide inside (in_proj of 5122 columns), so that a small input asks for a lot.
 */
class ActivationMemoryTest {
    static final HydraConfig WIDE = new HydraConfig(1, 1024, 3, 512, 512, 1, 0.0, Double.POSITIVE_INFINITY, false, false, true, 256);

    @Test
    void aPassNeedingMoreThanTheHeapIsRefusedUpFrontWithItsSize() {
        int len = 400_000; // in_proj's output, 400k x 5122 floats, still fits one array
        assumeTrue(HydraLayer.activationBytes(WIDE, 1, len, false) > Runtime.getRuntime().maxMemory(), "heap too large for this test");
        InMemoryTensors t = Fixture.weights(WIDE, 31);
        double[] u = Fixture.input(32, len, 1);
        String refused = "input: a forward pass of \\(1, 400000\\) needs about \\d+\\.\\d\\d GiB of activations but the heap"
                + " has \\d+\\.\\d\\d GiB free; raise -Xmx or split the batch";
        try (HydraLayer layer = Fixture.fp32(WIDE, t)) {
            assertThatThrownBy(() -> layer.forward(Fixture.floats(u), 1, len)).isInstanceOf(HydraException.class).hasMessageMatching(refused);
        }
        assertThatThrownBy(() -> Fixture.fp64(WIDE, t).forward(u, 1, len)).isInstanceOf(HydraException.class).hasMessageMatching(refused);
        assertThat(ReferenceHydra.activationBytes(WIDE, 1, len, Mixing.CHUNKED)).isGreaterThan(HydraLayer.activationBytes(WIDE, 1, len, false));
    }

    @Test
    void aPassNeedingATensorLargerThanAnArrayIsRefused() {
        InMemoryTensors t = Fixture.weights(WIDE, 33);
        double[] u = Fixture.input(34, 1_000_000, 1);
        String refused = "input: a forward pass of (1, 1000000) needs an activation tensor of 5122000000 elements,"
                + " more than a Java array holds; split the batch";
        try (HydraLayer layer = Fixture.fp32(WIDE, t)) {
            assertThatThrownBy(() -> layer.forward(Fixture.floats(u), 1, 1_000_000)).isInstanceOf(HydraException.class).hasMessage(refused);
        }
        assertThatThrownBy(() -> Fixture.fp64(WIDE, t).forward(u, 1, 1_000_000)).isInstanceOf(HydraException.class).hasMessage(refused);
    }

    /**
     * The estimate is what a pass really allocates (measured per thread), give or take array headers, on the
     * scalar backend, which allocates nothing but activations (Vector API code allocates its vectors on the
     * heap until the JIT compiles it). A small pass runs first, so that class loading (and a fuzzing
     * agent's instrumentation) is not counted.
     */
    @Test
    void theEstimatesMatchWhatAPassAllocates() {
        HydraConfig c = Fixture.tiny(8);
        InMemoryTensors t = Fixture.weights(c, 35);
        int batch = 2, len = 5_000;
        double[] u = Fixture.input(36, batch * len * c.dModel(), 1);
        float[] f = Fixture.floats(u);
        ReferenceHydra ref = Fixture.fp64(c, t);
        try (HydraLayer layer = new HydraLayer(HydraWeights.load(c, t, "", Precision.FP32), new ScalarBackend())) {
            layer.forward(Arrays.copyOf(f, c.dModel()), 1, 1);
            long fp32 = allocatedBy(() -> layer.forward(f, batch, len));
            assertThat(fp32).isBetween(HydraLayer.activationBytes(c, batch, len, false) * 8 / 10,
                    HydraLayer.activationBytes(c, batch, len, false) * 105 / 100);
        }
        for (Mixing m : Mixing.values()) {
            int l = m == Mixing.DENSE ? 400 : len;
            double[] v = Arrays.copyOf(u, batch * l * c.dModel());
            long estimate = ReferenceHydra.activationBytes(c, batch, l, m);
            ref.forwardStages(Arrays.copyOf(u, c.dModel()), 1, 1, m);
            assertThat(allocatedBy(() -> ref.forwardStages(v, batch, l, m))).as("%s", m)
                    .isBetween(estimate * 8 / 10, estimate * 105 / 100);
        }
    }

    private static long allocatedBy(Runnable r) {
        var threads = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        long before = threads.getCurrentThreadAllocatedBytes();
        r.run();
        return threads.getCurrentThreadAllocatedBytes() - before;
    }
}
