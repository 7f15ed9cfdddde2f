package dev.hydra.tests;

import dev.hydra.Accuracy;
import dev.hydra.backend.Backend;
import dev.hydra.config.HydraConfig;
import dev.hydra.forward.Stages;
import dev.hydra.io.SafeTensors;
import dev.hydra.kernels.ScalarBackend;
import dev.hydra.layer.HydraLayer;
import dev.hydra.reference.ReferenceHydra.Mixing;
import dev.hydra.reference.ReferenceHydra;
import dev.hydra.runtime.Backends;
import dev.hydra.weights.HydraWeights;
import dev.hydra.weights.Precision;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

import static org.assertj.core.api.Assertions.assertThat;

/** Every hydra_*.safetensors golden of the PyTorch release, in fp64 (three mixing algorithms) and fp32. */
class HydraGoldenTest {

    @ParameterizedTest
    @ValueSource(strings = {"hydra_p1.safetensors", "hydra_p2.safetensors", "hydra_p3.safetensors"})
    void fp64MatchesTheReleaseWithEveryMixingAlgorithm(String file) {
        try (SafeTensors st = Golden.open(file)) {
            HydraConfig cfg = HydraConfig.fromJson(Golden.config(st), file, Golden.ANNOTATIONS);
            ReferenceHydra ref = new ReferenceHydra(HydraWeights.load(cfg, st, "param.", Precision.FP64));
            long[] shape = st.info("input").shape();
            int b = (int) shape[0], l = (int) shape[1];
            double[] u = st.doubles("input");
            for (Mixing m : Mixing.values()) {
                Stages<double[]> s = ref.forwardStages(u, b, l, m);
                assertThat(Accuracy.relErr(s.output(), st.doubles("output"))).as("%s output, %s", file, m).isLessThanOrEqualTo(Bounds.HYDRA_OUTPUT);
                assertThat(Accuracy.relErr(s.mix(), st.doubles("mixer_output"))).as("%s mixer_output, %s", file, m).isLessThanOrEqualTo(Bounds.HYDRA_MIXER);
                assertThat(Accuracy.relErr(columns(s.convOut(), b * l, cfg.convDim(), cfg.dInner()), st.doubles("mixer_input")))
                        .as("%s mixer_input, %s", file, m).isLessThanOrEqualTo(Bounds.HYDRA_MIXER_INPUT);
            }
            assertThat(Accuracy.relErr(ref.materialize(u, b, l), st.doubles("mixer_matrix"))).as("%s mixer_matrix", file).isLessThanOrEqualTo(Bounds.HYDRA_MIXER);
        }
    }

    /**
     * fp32 on the scalar kernels and on {@link Backends#cpu}: the Vector API backend, or the scalar
     * fallback in the surefire execution that runs without jdk.incubator.vector and sets
     * {@code hydra.expectScalar} (tests/pom.xml), where this also checks that the fallback happened.
     */
    @ParameterizedTest(name = "{0} on {1}")
    @CsvSource({"hydra_p1.safetensors, scalar", "hydra_p2.safetensors, scalar", "hydra_p3.safetensors, scalar",
                "hydra_p1.safetensors, cpu", "hydra_p2.safetensors, cpu", "hydra_p3.safetensors, cpu"})
    void fp32MatchesTheRelease(String file, String backend) {
        Backend be = backend.equals("scalar") ? new ScalarBackend() : Backends.cpu(2);
        if (backend.equals("cpu"))
            assertThat(be.name()).as("Backends.cpu() in this JVM").isEqualTo(Boolean.getBoolean("hydra.expectScalar") ? "scalar" : "vector");
        try (SafeTensors st = Golden.open(file)) {
            HydraConfig cfg = HydraConfig.fromJson(Golden.config(st), file, Golden.ANNOTATIONS);
            long[] shape = st.info("input").shape();
            try (HydraLayer layer = new HydraLayer(HydraWeights.load(cfg, st, "param.", Precision.FP32), be)) {
                Stages<float[]> s = layer.forwardStages(st.floats("input"), (int) shape[0], (int) shape[1]);
                assertThat(Accuracy.relErr(s.output(), st.doubles("output"))).as(file).isLessThanOrEqualTo(1e-4);
                assertThat(Accuracy.relErr(s.mix(), st.doubles("mixer_output"))).as(file).isLessThanOrEqualTo(1e-4);
            }
        }
    }

    private static double[] columns(double[] m, int rows, int stride, int n) {
        double[] out = new double[rows * n];
        for (int r = 0; r < rows; r++) System.arraycopy(m, r * stride, out, r * n, n);
        return out;
    }
}
