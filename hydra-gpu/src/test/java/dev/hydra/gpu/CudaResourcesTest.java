package dev.hydra.gpu;

import dev.hydra.HydraException;
import dev.hydra.backend.Backend;
import dev.hydra.backend.Buf;
import dev.hydra.config.HydraConfig;
import dev.hydra.layer.HydraLayer;
import dev.hydra.runtime.Backends;
import dev.hydra.weights.HydraWeights;
import dev.hydra.weights.Precision;
import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.SplittableRandom;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Device memory stays flat over many calls; a failed allocation leaves the backend working. */
class CudaResourcesTest {
    private static final HydraConfig CFG = new HydraConfig(64, 16, 7, 2, 16, 1, 0.0, Double.POSITIVE_INFINITY, false, false, true, 16);

    private static HydraLayer layer(Backend be) {
        return new HydraLayer(HydraWeights.load(CFG, HydraWeights.seeded(CFG, 7), "", Precision.FP32), be);
    }

    private static float[] input(int n) {
        SplittableRandom r = new SplittableRandom(3);
        float[] u = new float[n];
        for (int i = 0; i < n; i++) u[i] = (float) r.nextGaussian();
        return u;
    }

    /** Runs without a GPU too: the setting is read before the backend touches the driver. */
    @Test
    void aCopierCountItCannotReadIsOneLineErrorBeforeTheGpuIsTouched() {
        for (String bad : new String[] {"0", "65", "six"}) {
            System.setProperty("hydra.gpu.copiers", bad);
            try {
                assertThatThrownBy(CudaBackend::new).isInstanceOf(HydraException.class)
                        .hasMessage("-Dhydra.gpu.copiers=" + bad + ": must be a whole number from 1 to 64");
            } finally {
                System.clearProperty("hydra.gpu.copiers");
            }
        }
    }

    @Test
    void tenThousandCallsKeepDeviceMemoryFlat() {
        try (CudaBackend gpu = Gpu.backend(); HydraLayer layer = layer(gpu)) {
            float[] u = input(2 * 40 * 64);
            float[] first = layer.forward(u, 2, 40);
            gpu.synchronize();
            long before = gpu.memoryInfo()[0];
            float[] last = null;
            for (int i = 0; i < 10_000; i++) last = layer.forward(u, 2, 40);
            gpu.synchronize();
            long after = gpu.memoryInfo()[0];
            System.out.printf("10,000 calls: device free memory %d -> %d bytes%n", before, after);
            assertThat(after).as("free device memory after 10,000 calls").isEqualTo(before);
            assertThat(last).containsExactly(first);
        }
    }

    @Test
    void outOfMemoryFailsCleanlyAndTheBackendStaysUsable() {
        try (CudaBackend gpu = Gpu.backend(); HydraLayer layer = layer(gpu)) {
            float[] u = input(40 * 64);
            float[] before = layer.forward(u, 1, 40);
            long total = gpu.memoryInfo()[1];
            assertThatThrownBy(() -> gpu.allocate(2 * total / Float.BYTES))
                    .isInstanceOf(HydraException.class).hasMessageContaining("out of device memory");
            assertThat(layer.forward(u, 1, 40)).containsExactly(before);
            try (Buf b = gpu.upload(new float[] {1, 2, 3})) {
                float[] back = new float[3];
                gpu.download(b, back);
                assertThat(back).containsExactly(1, 2, 3);
            }
        }
    }

    @Test
    void anOperandTooSmallForTheCallIsRefusedBeforeAnyKernelRuns() {
        try (CudaBackend gpu = Gpu.backend(); Buf x = gpu.allocate(4 * 8); Buf w = gpu.allocate(16 * 8); Buf y = gpu.allocate(4 * 16 - 1)) {
            assertThatThrownBy(() -> gpu.linear(x, 8, 0, 4, 8, w, null, 16, y))
                    .isInstanceOf(HydraException.class).hasMessageContaining("linear y holds 63 floats, the call needs 64");
            try (Buf big = gpu.allocate(4 * 16)) {
                gpu.linear(x, 8, 0, 4, 8, w, null, 16, big);
                gpu.synchronize();
            }
        }
    }

    @Test
    void selectionByNameFallsBackOrFailsWithOneLineReason() {
        String why = new CudaBackendProvider().unavailableReason();
        if (why == null) {
            try (Backend be = Backends.named("gpu")) {
                assertThat(be).isInstanceOf(CudaBackend.class);
            }
            try (Backend be = Backends.auto()) {
                assertThat(be).isInstanceOf(CudaBackend.class);
            }
        } else {
            assertThat(why).doesNotContain("\n").isNotBlank();
            assertThatThrownBy(() -> Backends.named("gpu")).isInstanceOf(HydraException.class).hasMessageContaining(why);
            try (Backend be = Backends.auto(); Backend cpu = Backends.cpu()) {
                assertThat(be).isNotInstanceOf(CudaBackend.class);
                assertThat(be.name()).isEqualTo(cpu.name()).doesNotStartWith("gpu");
            }
        }
        assertThat(Arrays.asList(new CudaBackendProvider().name())).containsExactly("gpu");
    }
}
