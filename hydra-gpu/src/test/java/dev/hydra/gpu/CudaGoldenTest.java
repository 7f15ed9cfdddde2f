package dev.hydra.gpu;

import dev.hydra.Accuracy;
import dev.hydra.config.HydraConfig;
import dev.hydra.forward.Stages;
import dev.hydra.io.SafeTensors;
import dev.hydra.layer.HydraLayer;
import dev.hydra.weights.HydraWeights;
import dev.hydra.weights.Precision;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.net.URISyntaxException;
import java.nio.file.Path;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Every hydra_*.safetensors golden of the PyTorch release (fp64) against the fp32 GPU layer, with each
 * way of running the projections: FFMA and 3xTF32 within 1e-4 (the golden README's fp32 bound),
 * plain TF32 within 1e-3.
 */
class CudaGoldenTest {

    @ParameterizedTest
    @CsvSource({"hydra_p1.safetensors, FFMA, 1e-4", "hydra_p2.safetensors, FFMA, 1e-4", "hydra_p3.safetensors, FFMA, 1e-4",
            "hydra_p1.safetensors, TF32X3, 1e-4", "hydra_p2.safetensors, TF32X3, 1e-4", "hydra_p3.safetensors, TF32X3, 1e-4",
            "hydra_p1.safetensors, TF32, 1e-3", "hydra_p2.safetensors, TF32, 1e-3", "hydra_p3.safetensors, TF32, 1e-3"})
    void fp32GpuMatchesTheRelease(String file, CudaBackend.Matmul matmul, double bound) throws URISyntaxException {
        try (CudaBackend gpu = Gpu.backend(matmul);
             SafeTensors st = SafeTensors.open(Path.of(CudaGoldenTest.class.getResource("/golden/" + file).toURI()))) {
            HydraConfig cfg = HydraConfig.fromJson(st.metadataJson("config"), file, Set.of("batch", "seqlen", "triton_fp32_max_rel_err"));
            long[] shape = st.info("input").shape();
            try (HydraLayer layer = new HydraLayer(HydraWeights.load(cfg, st, "param.", Precision.FP32), gpu)) {
                Stages<float[]> s = layer.forwardStages(st.floats("input"), (int) shape[0], (int) shape[1]);
                double out = Accuracy.relErr(s.output(), st.doubles("output")), mix = Accuracy.relErr(s.mix(), st.doubles("mixer_output"));
                System.out.printf("golden %s, %s: output rel err %.2e, mixer_output %.2e%n", file, matmul, out, mix);
                assertThat(out).as("%s %s", file, matmul).isLessThanOrEqualTo(bound);
                assertThat(mix).as("%s %s", file, matmul).isLessThanOrEqualTo(bound);
            }
        }
    }
}
