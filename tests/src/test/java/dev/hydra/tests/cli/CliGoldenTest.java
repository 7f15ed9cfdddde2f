package dev.hydra.tests.cli;

import dev.hydra.Accuracy;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.hydra.config.HydraConfig;
import dev.hydra.io.DType;
import dev.hydra.io.SafeTensors;
import dev.hydra.tests.Bounds;
import dev.hydra.tests.Golden;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

/** The hydra_p* goldens of the PyTorch release, reproduced from the command line. */
class CliGoldenTest {
    @TempDir
    Path dir;

    @ParameterizedTest
    @ValueSource(strings = {"hydra_p1.safetensors", "hydra_p2.safetensors", "hydra_p3.safetensors"})
    void layerFp64WithStagesReproducesOutputAndMixerOutput(String file) {
        Path y = dir.resolve("y.safetensors");
        CliRun r = run(file, "layer", "--precision", "fp64", "--stages", "--output", y.toString());
        assertThat(r.code()).as(r.err()).isZero();
        try (SafeTensors golden = Golden.open(file); SafeTensors out = SafeTensors.open(y)) {
            HydraConfig cfg = HydraConfig.fromJson(Golden.config(golden), file, Golden.ANNOTATIONS);
            long[] in = golden.info("input").shape();
            assertThat(out.info("output").dtype()).isEqualTo(DType.F64);
            assertThat(out.info("output").shape()).containsExactly(in);
            assertThat(Accuracy.relErr(out.doubles("output"), golden.doubles("output"))).isLessThanOrEqualTo(Bounds.HYDRA_OUTPUT);
            assertThat(Accuracy.relErr(out.doubles("stage.mix"), golden.doubles("mixer_output"))).isLessThanOrEqualTo(Bounds.HYDRA_MIXER);
            assertThat(out.names()).contains("stage.conv_silu", "stage.dt_forward", "stage.dt_backward", "stage.delta",
                    "stage.mix", "stage.normed", "output");
            assertThat(out.info("stage.conv_silu").shape()).containsExactly(in[0], in[1], cfg.convDim());
            assertThat(out.info("stage.dt_forward").shape()).containsExactly(in[0], in[1], cfg.nheads());
            assertThat(out.info("stage.mix").shape()).containsExactly(in[0], in[1], cfg.dInner());
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"hydra_p1.safetensors", "hydra_p2.safetensors", "hydra_p3.safetensors"})
    void layerFp32ReproducesOutputAsFloat32(String file) {
        Path y = dir.resolve("y.safetensors");
        CliRun r = run(file, "layer", "--precision", "fp32", "--backend", "scalar", "--stages", "--output", y.toString());
        assertThat(r.code()).as(r.err()).isZero();
        try (SafeTensors golden = Golden.open(file); SafeTensors out = SafeTensors.open(y)) {
            assertThat(out.info("output").dtype()).isEqualTo(DType.F32);
            assertThat(out.info("stage.mix").dtype()).isEqualTo(DType.F32);
            assertThat(Accuracy.relErr(out.doubles("output"), golden.doubles("output"))).isLessThanOrEqualTo(1e-4);
            assertThat(Accuracy.relErr(out.doubles("stage.mix"), golden.doubles("mixer_output"))).isLessThanOrEqualTo(1e-4);
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"hydra_p1.safetensors", "hydra_p2.safetensors", "hydra_p3.safetensors"})
    void matrixReproducesMixerMatrix(String file) {
        Path m = dir.resolve("m.safetensors");
        CliRun r = run(file, "matrix", "--output", m.toString());
        assertThat(r.code()).as(r.err()).isZero();
        try (SafeTensors golden = Golden.open(file); SafeTensors out = SafeTensors.open(m)) {
            assertThat(out.info("matrix").dtype()).isEqualTo(DType.F64);
            assertThat(out.info("matrix").shape()).containsExactly(golden.info("mixer_matrix").shape());
            assertThat(Accuracy.relErr(out.doubles("matrix"), golden.doubles("mixer_matrix"))).isLessThanOrEqualTo(Bounds.HYDRA_MIXER);
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"hydra_p2.safetensors"})
    void anExplicitConfigFileGivesTheSameLayer(String file) throws IOException {
        ObjectNode cfg;
        try (SafeTensors golden = Golden.open(file)) {
            cfg = Golden.config(golden);
        }
        Golden.ANNOTATIONS.forEach(cfg::remove);
        Path c = Files.writeString(dir.resolve("c.json"), cfg.toPrettyString());
        Path y = dir.resolve("y.safetensors");
        CliRun r = run(file, "layer", "--precision", "fp64", "--config", c.toString(), "--output", y.toString());
        assertThat(r.code()).as(r.err()).isZero();
        try (SafeTensors golden = Golden.open(file); SafeTensors out = SafeTensors.open(y)) {
            assertThat(Accuracy.relErr(out.doubles("output"), golden.doubles("output"))).isLessThanOrEqualTo(Bounds.HYDRA_OUTPUT);
        }
    }

    /** A command on a golden file that holds both the weights (under "param.") and the input. */
    private static CliRun run(String file, String command, String... more) {
        String g = Golden.path(file).toString();
        String[] args = new String[7 + more.length];
        String[] base = {command, "--weights", g, "--prefix", "param.", "--input", g};
        System.arraycopy(base, 0, args, 0, base.length);
        System.arraycopy(more, 0, args, base.length, more.length);
        return CliRun.of(args);
    }
}
