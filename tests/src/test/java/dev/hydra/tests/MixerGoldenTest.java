package dev.hydra.tests;

import dev.hydra.Accuracy;
import dev.hydra.config.MixerConfig;
import dev.hydra.io.SafeTensors;
import dev.hydra.kernels.ScalarBackend;
import dev.hydra.layer.Layers;
import dev.hydra.layer.MixerLayer;
import dev.hydra.layer.SequenceLayer;
import dev.hydra.reference.ReferenceMixer;
import dev.hydra.weights.MixerWeights;
import dev.hydra.weights.Precision;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/** Every mixer_pub_*.safetensors golden of the PyTorch release, in fp64 (both paths) and fp32. */
class MixerGoldenTest {
    static Stream<String> files() {
        return Stream.of(
            "mixer_pub_dense_di.safetensors", "mixer_pub_toeplitz_dd.safetensors", "mixer_pub_toeplitz_di.safetensors",
            "mixer_pub_vandermonde_dd.safetensors", "mixer_pub_vandermonde_di.safetensors",
            "mixer_pub_cauchy_dd.safetensors", "mixer_pub_cauchy_di.safetensors",
            "mixer_pub_low_rank_dd.safetensors", "mixer_pub_low_rank_di.safetensors",
            "mixer_pub_attention_dd.safetensors",
            "mixer_pub_quasiseparable_dd.safetensors", "mixer_pub_quasiseparable_di.safetensors");
    }

    @ParameterizedTest
    @MethodSource("files")
    void fp64MatchesTheReleaseOnBothPaths(String file) {
        try (SafeTensors st = Golden.open(file)) {
            MixerConfig cfg = MixerConfig.fromJson(Golden.config(st), file, Golden.ANNOTATIONS);
            ReferenceMixer ref = new ReferenceMixer(MixerWeights.load(cfg, st, "param.", Precision.FP64));
            long[] shape = st.info("input").shape();
            int b = (int) shape[0], l = (int) shape[1];
            for (ReferenceMixer.Path path : ReferenceMixer.Path.values())
                assertThat(Accuracy.relErr(ref.forward(st.doubles("input"), b, l, path), st.doubles("output")))
                        .as("%s, %s", file, path).isLessThanOrEqualTo(Bounds.mixerOutput(file));
        }
    }

    @ParameterizedTest
    @MethodSource("files")
    void fp32MatchesTheRelease(String file) {
        try (SafeTensors st = Golden.open(file)) {
            MixerConfig cfg = MixerConfig.fromJson(Golden.config(st), file, Golden.ANNOTATIONS);
            long[] shape = st.info("input").shape();
            try (MixerLayer layer = new MixerLayer(MixerWeights.load(cfg, st, "param.", Precision.FP32), new ScalarBackend())) {
                float[] out = layer.forward(st.floats("input"), (int) shape[0], (int) shape[1]);
                assertThat(Accuracy.relErr(out, st.doubles("output"))).as(file).isLessThanOrEqualTo(1e-4);
            }
        }
    }

    @ParameterizedTest
    @MethodSource("files")
    void layersLoadReturnsTheMixerInBothPrecisions(String file) {
        try (SafeTensors st = Golden.open(file)) {
            long[] shape = st.info("input").shape();
            int b = (int) shape[0], l = (int) shape[1];
            for (Precision<?> p : new Precision<?>[] {Precision.FP64, Precision.FP32}) {
                try (SequenceLayer layer = Layers.load(Golden.config(st), file, Golden.ANNOTATIONS, st, "param.", p, new ScalarBackend())) {
                    assertThat(layer.precision()).isEqualTo(p);
                    assertThat(layer.heads()).isEqualTo(4);
                    assertThat(Accuracy.relErr(layer.forward(st.doubles("input"), b, l), st.doubles("output")))
                            .as("%s, %s", file, p).isLessThanOrEqualTo(p == Precision.FP64 ? Bounds.mixerOutput(file) : 1e-4);
                }
            }
        }
    }
}
