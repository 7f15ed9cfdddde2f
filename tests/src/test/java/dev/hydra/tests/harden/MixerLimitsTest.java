package dev.hydra.tests.harden;

import dev.hydra.HydraException;
import dev.hydra.config.MixerConfig;
import dev.hydra.config.MixerType;
import dev.hydra.io.InMemoryTensors;
import dev.hydra.layer.MixerLayer;
import dev.hydra.reference.ReferenceMixer;
import dev.hydra.runtime.Backends;
import dev.hydra.weights.MixerWeights;
import dev.hydra.weights.Precision;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The matrix mixer layers refuse what the Hydra layers refuse, with the same messages: a pass whose
 * activations cannot be held (checked before anything is allocated) and an fp32 pass that overflowed.
 * The config is narrow at the input (d_model 1) and wide inside (in_proj of 4096 columns).
 */
class MixerLimitsTest {
    static final MixerConfig WIDE = new MixerConfig(MixerType.LOW_RANK, true, 1, 1024, 8, 3, 1024, 1024, 256);

    private static MixerLayer fp32(MixerConfig c, InMemoryTensors t) {
        return new MixerLayer(MixerWeights.load(c, t, "", Precision.FP32), Backends.cpu());
    }

    @Test
    void aPassNeedingATensorLargerThanAnArrayIsRefused() {
        InMemoryTensors t = MixerWeights.seeded(WIDE, 41);
        int len = 1_000_000;
        double[] u = Fixture.input(42, len, 1);
        String refused = "input: a forward pass of (1, 1000000) needs an activation tensor of 4096000000 elements,"
                + " more than a Java array holds; split the batch";
        try (MixerLayer layer = fp32(WIDE, t)) {
            assertThatThrownBy(() -> layer.forward(Fixture.floats(u), 1, len)).isInstanceOf(HydraException.class).hasMessage(refused);
        }
        ReferenceMixer ref = new ReferenceMixer(MixerWeights.load(WIDE, t, "", Precision.FP64));
        assertThatThrownBy(() -> ref.forward(u, 1, len)).isInstanceOf(HydraException.class).hasMessage(refused);
    }

    @Test
    void aPassNeedingMoreThanTheHeapIsRefusedUpFrontWithItsSize() {
        int len = 400_000;
        assumeTrue(MixerLayer.activationBytes(WIDE, 1, len) > Runtime.getRuntime().maxMemory(), "heap too large for this test");
        InMemoryTensors t = MixerWeights.seeded(WIDE, 43);
        double[] u = Fixture.input(44, len, 1);
        String refused = "input: a forward pass of \\(1, 400000\\) needs about \\d+\\.\\d\\d GiB of activations but the heap"
                + " has \\d+\\.\\d\\d GiB free; raise -Xmx or split the batch";
        try (MixerLayer layer = fp32(WIDE, t)) {
            assertThatThrownBy(() -> layer.forward(Fixture.floats(u), 1, len)).isInstanceOf(HydraException.class).hasMessageMatching(refused);
        }
        ReferenceMixer ref = new ReferenceMixer(MixerWeights.load(WIDE, t, "", Precision.FP64));
        assertThatThrownBy(() -> ref.forward(u, 1, len)).isInstanceOf(HydraException.class).hasMessageMatching(refused);
    }

    @ParameterizedTest
    @EnumSource(value = MixerType.class, names = {"LOW_RANK", "QUASISEPARABLE", "TOEPLITZ"})
    void anFp32PassThatOverflowsIsRefusedNotReturnedAsNaN(MixerType type) {
        MixerConfig c = new MixerConfig(type, true, 8, 2, 6, 3, 2, 4, 4);
        double[] u = Fixture.input(45, 2 * 6 * 8, 1e30);
        try (MixerLayer layer = fp32(c, MixerWeights.seeded(c, 46))) {
            assertThatThrownBy(() -> layer.forward(Fixture.floats(u), 2, 6)).isInstanceOf(HydraException.class)
                    .hasMessageStartingWith("input: the forward pass overflowed the fp32 range");
        }
    }
}
