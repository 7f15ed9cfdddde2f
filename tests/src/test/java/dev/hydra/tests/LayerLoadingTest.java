package dev.hydra.tests;

import dev.hydra.Accuracy;
import dev.hydra.HydraException;
import dev.hydra.config.HydraConfig;
import dev.hydra.io.DType;
import dev.hydra.io.InMemoryTensors;
import dev.hydra.io.SafeTensors;
import dev.hydra.io.SafeTensorsWriter;
import dev.hydra.kernels.ScalarBackend;
import dev.hydra.layer.HydraLayer;
import dev.hydra.layer.Layers;
import dev.hydra.layer.SequenceLayer;
import dev.hydra.reference.ReferenceHydra;
import dev.hydra.weights.HydraWeights;
import dev.hydra.weights.Precision;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Loading a layer's parameters from a safetensors file: every refusal names the tensor; a prefix picks one layer. */
class LayerLoadingTest {
    /** Every optional parameter present: in/out biases, conv bias, initial states; 4 heads in 2 groups. */
    static final HydraConfig CONFIG = new HydraConfig(8, 4, 3, 2, 4, 2, 0, Double.POSITIVE_INFINITY, true, true, true, 4);

    @TempDir
    Path dir;

    private Path write(String name, SafeTensorsWriter w) {
        Path f = dir.resolve(name);
        w.write(f, false);
        return f;
    }

    private static void refuses(Path file, HydraConfig c, String prefix, String message) {
        try (SafeTensors st = SafeTensors.open(file)) {
            for (Precision<?> p : new Precision<?>[] {Precision.FP32, Precision.FP64})
                assertThatThrownBy(() -> HydraWeights.load(c, st, prefix, p)).as("%s", p).isInstanceOf(HydraException.class)
                        .hasMessage(file + ": " + message);
        }
    }

    @Test
    void missingTensor() {
        Path f = write("missing.safetensors", HydraWeights.seeded(CONFIG, 1).remove("D").writeTo(new SafeTensorsWriter(), ""));
        refuses(f, CONFIG, "", "missing tensor 'D'");
        Path g = write("missing-prefixed.safetensors",
                HydraWeights.seeded(CONFIG, 1).remove("init_states").writeTo(new SafeTensorsWriter(), "layers.0."));
        refuses(g, CONFIG, "layers.0.", "missing tensor 'layers.0.init_states'");
    }

    @Test
    void extraTensorUnderThePrefix() {
        Path f = write("extra.safetensors", HydraWeights.seeded(CONFIG, 1).writeTo(new SafeTensorsWriter(), "mixer.")
                .put("mixer.dt_proj.weight", new float[] {1}, 1));
        refuses(f, CONFIG, "mixer.", "unexpected tensor 'mixer.dt_proj.weight' (not a parameter of this layer)");
        // a parameter the config does not ask for is extra too
        HydraConfig noBias = new HydraConfig(8, 4, 3, 2, 4, 2, 0, Double.POSITIVE_INFINITY, true, false, true, 4);
        Path g = write("bias.safetensors", HydraWeights.seeded(CONFIG, 1).remove("out_proj.bias").writeTo(new SafeTensorsWriter(), ""));
        refuses(g, noBias, "", "unexpected tensor 'in_proj.bias' (not a parameter of this layer)");
    }

    @Test
    void wrongShape() {
        InMemoryTensors t = HydraWeights.seeded(CONFIG, 1).remove("A_log");
        Path f = write("shape.safetensors", t.writeTo(new SafeTensorsWriter(), "").put("A_log", new float[5], 5));
        refuses(f, CONFIG, "", "tensor 'A_log' has shape (5), expected (4)");
        InMemoryTensors u = HydraWeights.seeded(CONFIG, 1).remove("conv1d.weight");
        int convDim = CONFIG.convDim();
        Path g = write("conv.safetensors", u.writeTo(new SafeTensorsWriter(), "").put("conv1d.weight", new float[convDim * 3], convDim, 3));
        refuses(g, CONFIG, "", "tensor 'conv1d.weight' has shape (" + convDim + ", 3), expected (" + convDim + ", 1, 3)");
    }

    @Test
    void integerParameter() {
        InMemoryTensors t = HydraWeights.seeded(CONFIG, 1).remove("D");
        Path f = write("int.safetensors", t.writeTo(new SafeTensorsWriter(), "").put("D", new long[] {1, 1, 1, 1}, 4));
        refuses(f, CONFIG, "", "tensor 'D' has dtype I64, expected a float type");
        InMemoryTensors u = HydraWeights.seeded(CONFIG, 1).remove("norm.weight");
        Path g = write("u8.safetensors", u.writeTo(new SafeTensorsWriter(), "")
                .putRaw("norm.weight", DType.U8, new byte[CONFIG.dInner()], CONFIG.dInner()));
        refuses(g, CONFIG, "", "tensor 'norm.weight' has dtype U8, expected a float type");
    }

    @Test
    void parametersStoredInF64AndBf16() {
        InMemoryTensors t = HydraWeights.seeded(CONFIG, 6);
        SafeTensorsWriter f64 = new SafeTensorsWriter(), bf16 = new SafeTensorsWriter();
        Map<String, double[]> exact = new HashMap<>();
        Map<String, float[]> truncated = new HashMap<>();
        for (String name : t.names()) {
            long[] shape = t.info(name).shape();
            float[] v = t.floats(name);
            double[] d = new double[v.length];
            float[] b = new float[v.length];
            ByteBuffer raw = ByteBuffer.allocate(2 * v.length).order(ByteOrder.LITTLE_ENDIAN);
            for (int i = 0; i < v.length; i++) {
                d[i] = v[i] + 1e-12 * i; // not representable in float: an fp64 load must keep it
                int top = Float.floatToIntBits(v[i]) >>> 16;  // bfloat16 by truncation
                raw.putShort((short) top);
                b[i] = Float.intBitsToFloat(top << 16);
            }
            f64.put(name, d, shape);
            bf16.putRaw(name, DType.BF16, raw.array(), shape);
            exact.put(name, d);
            truncated.put(name, b);
        }
        try (SafeTensors a = SafeTensors.open(write("f64.safetensors", f64)); SafeTensors b = SafeTensors.open(write("bf16.safetensors", bf16))) {
            HydraWeights<double[]> w64 = HydraWeights.load(CONFIG, a, "", Precision.FP64);
            assertThat(w64.inProjW()).containsExactly(exact.get("in_proj.weight"));
            assertThat(w64.initStates()).containsExactly(exact.get("init_states"));
            HydraWeights<float[]> w32 = HydraWeights.load(CONFIG, b, "", Precision.FP32);
            assertThat(w32.outProjW()).containsExactly(truncated.get("out_proj.weight"));
            assertThat(w32.convB()).containsExactly(truncated.get("conv1d.bias"));
        }
    }

    @Test
    void aPrefixSelectsOneLayerOfSeveral() {
        InMemoryTensors first = HydraWeights.seeded(CONFIG, 1), second = HydraWeights.seeded(CONFIG, 2);
        SafeTensorsWriter w = new SafeTensorsWriter();
        first.writeTo(w, "layers.0.");
        second.writeTo(w, "layers.1.");
        w.put("embedding.weight", new float[] {1, 2}, 2);
        Path f = write("two.safetensors", w);
        int batch = 2, len = 5;
        double[] u = input(batch * len * CONFIG.dModel());
        try (SafeTensors st = SafeTensors.open(f)) {
            for (int i = 0; i < 2; i++) {
                InMemoryTensors expected = i == 0 ? first : second;
                HydraWeights<double[]> loaded = HydraWeights.load(CONFIG, st, "layers." + i + ".", Precision.FP64);
                assertThat(loaded.aLog()).containsExactly(expected.doubles("A_log"));
                assertThat(loaded.initStates()).containsExactly(expected.doubles("init_states"));
                double[] fromFile = new ReferenceHydra(loaded).forward(u, batch, len);
                double[] fromMemory = new ReferenceHydra(HydraWeights.load(CONFIG, expected, "", Precision.FP64)).forward(u, batch, len);
                assertThat(fromFile).as("layer %d", i).containsExactly(fromMemory);
                try (HydraLayer fp32 = new HydraLayer(HydraWeights.load(CONFIG, st, "layers." + i + ".", Precision.FP32), new ScalarBackend());
                     HydraLayer mem32 = new HydraLayer(HydraWeights.load(CONFIG, expected, "", Precision.FP32), new ScalarBackend())) {
                    float[] u32 = Layers.narrow(u);
                    assertThat(fp32.forward(u32, batch, len)).containsExactly(mem32.forward(u32, batch, len));
                }
            }
            double[] out0 = new ReferenceHydra(HydraWeights.load(CONFIG, st, "layers.0.", Precision.FP64)).forward(u, batch, len);
            double[] out1 = new ReferenceHydra(HydraWeights.load(CONFIG, st, "layers.1.", Precision.FP64)).forward(u, batch, len);
            assertThat(out0).isNotEqualTo(out1);
            assertThatThrownBy(() -> HydraWeights.load(CONFIG, st, "layers.", Precision.FP64)).isInstanceOf(HydraException.class)
                    .hasMessage(f + ": missing tensor 'layers.in_proj.weight'");
            assertThatThrownBy(() -> HydraWeights.load(CONFIG, st, "", Precision.FP64)).isInstanceOf(HydraException.class)
                    .hasMessage(f + ": missing tensor 'in_proj.weight'");
        }
    }

    @Test
    void theCliEntryLoadsALayerByPrefixInBothPrecisions() {
        SafeTensorsWriter w = new SafeTensorsWriter();
        HydraWeights.seeded(CONFIG, 3).writeTo(w, "encoder.0.mixer.");
        HydraWeights.seeded(CONFIG, 4).writeTo(w, "encoder.1.mixer.");
        Path f = write("cli.safetensors", w);
        int batch = 1, len = 6;
        double[] u = input(batch * len * CONFIG.dModel());
        double[] expected = new ReferenceHydra(HydraWeights.load(CONFIG, HydraWeights.seeded(CONFIG, 4), "", Precision.FP64)).forward(u, batch, len);
        try (SafeTensors st = SafeTensors.open(f);
             SequenceLayer fp64 = Layers.load(CONFIG.toJson(), "layer.json", Set.of(), st, "encoder.1.mixer.", Precision.FP64, new ScalarBackend());
             SequenceLayer fp32 = Layers.load(CONFIG.toJson(), "layer.json", Set.of(), st, "encoder.1.mixer.", Precision.FP32, new ScalarBackend())) {
            assertThat(fp64.forward(u, batch, len)).containsExactly(expected);
            assertThat(Accuracy.relErr(fp32.forward(u, batch, len), expected)).isLessThanOrEqualTo(1e-5);
            assertThatThrownBy(() -> Layers.load(CONFIG.toJson(), "layer.json", Set.of(), st, "encoder.2.mixer.", Precision.FP32, new ScalarBackend()))
                    .isInstanceOf(HydraException.class).hasMessage(f + ": missing tensor 'encoder.2.mixer.in_proj.weight'");
        }
    }

    private static double[] input(int n) {
        SplittableRandom r = new SplittableRandom(11);
        double[] u = new double[n];
        for (int i = 0; i < n; i++) u[i] = (float) (2 * r.nextDouble() - 1);
        return u;
    }
}
