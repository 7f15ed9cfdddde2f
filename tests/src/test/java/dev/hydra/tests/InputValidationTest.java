package dev.hydra.tests;

import dev.hydra.HydraException;
import dev.hydra.config.HydraConfig;
import dev.hydra.kernels.ScalarBackend;
import dev.hydra.layer.HydraLayer;
import dev.hydra.reference.ReferenceHydra;
import dev.hydra.reference.ReferenceHydra.Mixing;
import dev.hydra.weights.HydraWeights;
import dev.hydra.weights.Precision;
import org.assertj.core.api.ThrowableAssert.ThrowingCallable;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.function.Function;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Bad input arrays, refused with the same message by the fp32 layer and the fp64 reference. */
class InputValidationTest {
    static final HydraConfig CONFIG = new HydraConfig(6, 4, 3, 2, 4, 1, 0, Double.POSITIVE_INFINITY, false, false, true, 4);
    static final int D = CONFIG.dModel();

    private final HydraLayer fp32 = new HydraLayer(HydraWeights.load(CONFIG, HydraWeights.seeded(CONFIG, 5), "", Precision.FP32), new ScalarBackend());
    private final ReferenceHydra fp64 = new ReferenceHydra(HydraWeights.load(CONFIG, HydraWeights.seeded(CONFIG, 5), "", Precision.FP64));

    @AfterEach
    void close() {
        fp32.close();
    }

    /** Every entry point given (u, batch, len): fp32 forward and stages, fp64 forward, stages (each mixing) and materialize. */
    private List<ThrowingCallable> calls(double[] u, int batch, int len) {
        float[] f = new float[u.length];
        for (int i = 0; i < u.length; i++) f[i] = (float) u[i];
        List<ThrowingCallable> calls = new ArrayList<>();
        calls.add(() -> fp32.forward(f, batch, len));
        calls.add(() -> fp32.forwardStages(f, batch, len));
        calls.add(() -> fp64.forward(u, batch, len));
        for (Mixing m : Mixing.values()) calls.add(() -> fp64.forwardStages(u, batch, len, m));
        calls.add(() -> fp64.materialize(u, batch, len));
        return calls;
    }

    private void refusedEverywhere(double[] u, int batch, int len, String message) {
        List<ThrowingCallable> calls = calls(u, batch, len);
        for (int i = 0; i < calls.size(); i++)
            assertThatThrownBy(calls.get(i)).as("entry point %d", i).isInstanceOf(HydraException.class).hasMessage(message);
    }

    @Test
    void theFirstNonFiniteElementOfALargeInputIsNamed() {
        int len = (3 << 20) / D + 5;  // over three of the parallel scan's slices of 2^20 floats
        float[] u = new float[2 * len * D];
        int second = u.length - 7, first = (1 << 20) + 3;
        u[second] = Float.NaN;
        assertThatThrownBy(() -> fp32.forward(u, 2, len)).isInstanceOf(HydraException.class)
                .hasMessage("input: element (" + second / (len * D) + ", " + second / D % len + ", " + second % D + ") is NaN; inputs must be finite");
        u[first] = Float.NEGATIVE_INFINITY;
        assertThatThrownBy(() -> fp32.forward(u, 2, len)).isInstanceOf(HydraException.class)
                .hasMessage("input: element (0, " + first / D + ", " + first % D + ") is -Infinity; inputs must be finite");
    }

    @Test
    void forwardIntoTheCallersArrayGivesTheSameOutputAndRefusesAWrongLength() {
        float[] u = new float[2 * 5 * D];
        for (int i = 0; i < u.length; i++) u[i] = (float) Math.sin(i);
        float[] out = new float[u.length];
        assertThat(fp32.forward(u, 2, 5, out)).isSameAs(out).containsExactly(fp32.forward(u, 2, 5));
        assertThatThrownBy(() -> fp32.forward(u, 2, 5, new float[u.length - 1])).isInstanceOf(HydraException.class)
                .hasMessage("output array: 59 values do not match shape (2, 5, 6)");
    }

    @Test
    void forwardOnHostSegmentsGivesTheArraysBitsAndRefusesBadSegmentsInOneLine() {
        float[] u = new float[2 * 5 * D];
        for (int i = 0; i < u.length; i++) u[i] = (float) Math.sin(i);
        float[] want = fp32.forward(u, 2, 5);
        long bytes = 4L * u.length;
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment in = new ScalarBackend().allocateHost(u.length, arena), out = new ScalarBackend().allocateHost(u.length, arena);
            MemorySegment.copy(u, 0, in, ValueLayout.JAVA_FLOAT, 0, u.length);
            fp32.forward(in, 2, 5, out);
            assertThat(out.toArray(ValueLayout.JAVA_FLOAT)).containsExactly(want);
            // slices of Java arrays, not whole arrays
            float[] wider = new float[u.length + 3], widerOut = new float[u.length + 1];
            System.arraycopy(u, 0, wider, 3, u.length);
            fp32.forward(MemorySegment.ofArray(wider).asSlice(12, bytes), 2, 5, MemorySegment.ofArray(widerOut).asSlice(4, bytes));
            assertThat(Arrays.copyOfRange(widerOut, 1, widerOut.length)).containsExactly(want);

            assertThatThrownBy(() -> fp32.forward(in, 2, 5, out.asSlice(0, bytes - 4))).isInstanceOf(HydraException.class)
                    .hasMessage("output: 59 values do not match shape (2, 5, 6)");
            assertThatThrownBy(() -> fp32.forward(in, 2, 5, out.asReadOnly())).isInstanceOf(HydraException.class)
                    .hasMessage("output: the segment is read-only");
            assertThatThrownBy(() -> fp32.forward(in.asSlice(0, bytes - 2), 2, 5, out)).isInstanceOf(HydraException.class)
                    .hasMessage("input: a segment of 238 bytes does not hold whole floats");
            MemorySegment odd = arena.allocate(bytes + 8, 8).asSlice(2, bytes);
            assertThatThrownBy(() -> fp32.forward(odd, 2, 5, out)).isInstanceOf(HydraException.class)
                    .hasMessage("input: a native segment at address " + odd.address() + " is not aligned to 4 bytes");
            in.setAtIndex(ValueLayout.JAVA_FLOAT, 37, Float.NaN);
            assertThatThrownBy(() -> fp32.forward(in, 2, 5, out)).isInstanceOf(HydraException.class)
                    .hasMessage("input: element (1, 1, 1) is NaN; inputs must be finite");
            assertThatThrownBy(() -> new ScalarBackend().allocateHost(-1, arena)).isInstanceOf(HydraException.class)
                    .hasMessage("host buffer: negative size -1");
            assertThatThrownBy(() -> new ScalarBackend().allocateHost(Long.MAX_VALUE / 2, arena)).isInstanceOf(HydraException.class)
                    .hasMessage("host buffer: " + Long.MAX_VALUE / 2 + " floats of native memory cannot be allocated");
        }
        Arena closed = Arena.ofConfined();
        closed.close();
        assertThatThrownBy(() -> new ScalarBackend().allocateHost(8, closed)).isInstanceOf(HydraException.class)
                .hasMessage("host buffer: the arena is closed");
    }

    @Test
    void wrongLength() {
        refusedEverywhere(new double[2 * 3 * D - 1], 2, 3, "input: 35 values do not match shape (2, 3, 6)");
        refusedEverywhere(new double[2 * 3 * D + D], 2, 3, "input: 42 values do not match shape (2, 3, 6)");
        refusedEverywhere(new double[0], 1, 1, "input: 0 values do not match shape (1, 1, 6)");
    }

    @Test
    void nonPositiveBatchOrLength() {
        refusedEverywhere(new double[0], 0, 3, "input: batch and length must be positive, got (0, 3)");
        refusedEverywhere(new double[0], 2, 0, "input: batch and length must be positive, got (2, 0)");
        refusedEverywhere(new double[D], -1, -1, "input: batch and length must be positive, got (-1, -1)");
    }

    @Test
    void lengthTimesWidthBeyondAnInt() {
        refusedEverywhere(new double[D], 1 << 20, 1 << 20, "input: 6 values do not match shape (1048576, 1048576, 6)");
    }

    @Test
    void nonFiniteElementsAreNamedByPosition() {
        int batch = 2, len = 3;
        Function<Double, double[]> at = v -> {
            double[] u = new double[batch * len * D];
            u[(1 * len + 2) * D + 5] = v; // element (1, 2, 5)
            return u;
        };
        refusedEverywhere(at.apply(Double.NaN), batch, len, "input: element (1, 2, 5) is NaN; inputs must be finite");
        refusedEverywhere(at.apply(Double.POSITIVE_INFINITY), batch, len, "input: element (1, 2, 5) is Infinity; inputs must be finite");
        refusedEverywhere(at.apply(Double.NEGATIVE_INFINITY), batch, len, "input: element (1, 2, 5) is -Infinity; inputs must be finite");
        double[] first = new double[batch * len * D];
        first[0] = Double.NaN;
        first[first.length - 1] = Double.NaN;
        refusedEverywhere(first, batch, len, "input: element (0, 0, 0) is NaN; inputs must be finite");
    }

    @Test
    void materializingALayerWithInitialStates() {
        HydraConfig c = new HydraConfig(6, 4, 3, 2, 4, 1, 0, Double.POSITIVE_INFINITY, true, false, true, 4);
        ReferenceHydra ref = new ReferenceHydra(HydraWeights.load(c, HydraWeights.seeded(c, 5), "", Precision.FP64));
        assertThatThrownBy(() -> ref.materialize(new double[2 * D], 1, 2)).isInstanceOf(HydraException.class)
                .hasMessage("materialize: this layer has learnable initial states, so its mixer is affine, not a matrix");
        assertThatThrownBy(() -> ref.forwardStages(new double[2 * D], 1, 2, Mixing.DENSE)).isInstanceOf(HydraException.class)
                .hasMessage("materialize: this layer has learnable initial states, so its mixer is affine, not a matrix");
    }
}
