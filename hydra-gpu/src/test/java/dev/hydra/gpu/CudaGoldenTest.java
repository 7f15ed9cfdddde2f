package dev.hydra.gpu;

import dev.hydra.config.HydraConfig;
import dev.hydra.io.SafeTensors;
import dev.hydra.layer.HydraLayer;
import dev.hydra.layer.Stages;
import dev.hydra.weights.HydraWeights;
import dev.hydra.weights.Precision;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.net.URISyntaxException;
import java.nio.file.Path;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;

/** Every hydra_*.safetensors golden of the PyTorch release (fp64) against the fp32 FFMA kernels: 1e-4. */
class CudaGoldenTest {

    @ParameterizedTest
    @ValueSource(strings = {"hydra_p1.safetensors", "hydra_p2.safetensors", "hydra_p3.safetensors"})
    void fp32GpuMatchesTheRelease(String file) throws URISyntaxException {
        try (CudaBackend gpu = Gpu.backend();
             SafeTensors st = SafeTensors.open(Path.of(CudaGoldenTest.class.getResource("/golden/" + file).toURI()))) {
            HydraConfig cfg = HydraConfig.fromJson(st.metadataJson("config"), file, Set.of("batch", "seqlen", "triton_fp32_max_rel_err"));
            long[] shape = st.info("input").shape();
            try (HydraLayer layer = new HydraLayer(HydraWeights.load(cfg, st, "param.", Precision.FP32), gpu)) {
                Stages<float[]> s = layer.forwardStages(st.floats("input"), (int) shape[0], (int) shape[1]);
                double out = Gpu.relErr(s.output(), st.doubles("output")), mix = Gpu.relErr(s.mix(), st.doubles("mixer_output"));
                System.out.printf("golden %s: output rel err %.2e, mixer_output %.2e%n", file, out, mix);
                assertThat(out).as(file).isLessThanOrEqualTo(1e-4);
                assertThat(mix).as(file).isLessThanOrEqualTo(1e-4);
            }
        }
    }
}
