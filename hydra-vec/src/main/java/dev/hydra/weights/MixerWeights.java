package dev.hydra.weights;

import dev.hydra.config.MixerConfig;
import dev.hydra.io.InMemoryTensors;
import dev.hydra.io.TensorSource;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * The parameters of one matrix mixer layer (docs/spec.md §2) in {@code float[]} or {@code double[]},
 * flattened row-major as the release's state dict stores them; {@code mixer} holds the type's own
 * {@code matrix_mixer.*} parameters by their state-dict names.
 */
public record MixerWeights<A>(MixerConfig config, A inProjW, A convW, A convB, A normW, A outProjW, Map<String, A> mixer) {

    /** The state-dict names and shapes this config expects. */
    public static ParamSpec spec(MixerConfig c) {
        ParamSpec s = new ParamSpec()
                .add("in_proj.weight", c.projDim(), c.dModel())
                .add("conv1d.weight", c.convDim(), 1, c.dConv())
                .add("conv1d.bias", c.convDim());
        int h = c.nheads(), l = c.maxSeqLen(), dd = c.dState();
        String m = "matrix_mixer.";
        switch (c.type()) {
            case DENSE -> s.add(m + "M", h, l, l);
            case TOEPLITZ -> { if (!c.dataDependent()) s.add(m + "conv_params", h, 2L * l - 1); }
            case VANDERMONDE -> { if (!c.dataDependent()) s.add(m + "dft_matrix", l, l); }
            case CAUCHY -> {
                if (c.dataDependent()) s.add(m + "bias");
                else s.add(m + "q_matrix", l, h, c.qkDim()).add(m + "k_matrix", l, h, c.qkDim());
            }
            case LOW_RANK, ATTENTION -> {
                if (!c.dataDependent()) s.add(m + "q_matrix", l, h, c.qkDim()).add(m + "k_matrix", l, h, c.qkDim());
            }
            case QUASISEPARABLE -> {
                if (!c.dataDependent()) s.add(m + "BC", l, 2L * dd);
                s.add(m + "dt_bias", h).add(m + "A_log", h).add(m + "D", h).add(m + "fc_D.weight", h, c.dInner());
            }
        }
        return s.add("norm.weight", c.dInner()).add("out_proj.weight", c.dModel(), c.dInner());
    }

    /** Loads the layer's parameters under {@code prefix}, checking presence, shapes and that nothing else is there. */
    public static <A> MixerWeights<A> load(MixerConfig c, TensorSource src, String prefix, Precision<A> p) {
        ParamSpec spec = spec(c);
        spec.check(src, prefix);
        Map<String, A> mixer = new LinkedHashMap<>();
        for (String name : spec.shapes().keySet())
            if (name.startsWith("matrix_mixer.")) mixer.put(name, p.read(src, prefix + name));
        return new MixerWeights<>(c, p.read(src, prefix + "in_proj.weight"), p.read(src, prefix + "conv1d.weight"),
                p.read(src, prefix + "conv1d.bias"), p.read(src, prefix + "norm.weight"),
                p.read(src, prefix + "out_proj.weight"), mixer);
    }

    /** A parameter of the type's own, by its name after {@code matrix_mixer.}. */
    public A mixer(String name) {
        return mixer.get("matrix_mixer." + name);
    }

    /**
     * Seeded float32 parameters drawn like the release's initialisation: fan-in uniform projections,
     * Xavier-scaled mixer matrices, the release's DFT buffer, and dt, A, D as Hydra draws them.
     */
    public static InMemoryTensors seeded(MixerConfig c, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        InMemoryTensors t = new InMemoryTensors("seeded " + c.variant() + " mixer weights (seed " + seed + ")");
        int h = c.nheads(), l = c.maxSeqLen();
        for (Map.Entry<String, long[]> e : spec(c).shapes().entrySet()) {
            long[] shape = e.getValue();
            int n = 1;
            for (long d : shape) n *= (int) d;
            float[] v = switch (e.getKey()) {
                case "in_proj.weight" -> uniform(r, n, 1 / Math.sqrt(c.dModel()));
                case "conv1d.weight", "conv1d.bias" -> uniform(r, n, 1 / Math.sqrt(c.dConv()));
                case "norm.weight" -> shifted(uniform(r, n, 0.2), 1);
                case "out_proj.weight", "matrix_mixer.fc_D.weight" -> uniform(r, n, 1 / Math.sqrt(c.dInner()));
                case "matrix_mixer.bias" -> new float[] {0.5f};
                case "matrix_mixer.dft_matrix" -> dft(l);
                case "matrix_mixer.D" -> shifted(uniform(r, n, 0.1), 1);
                case "matrix_mixer.A_log" -> logUniformA(r, h);
                case "matrix_mixer.dt_bias" -> inverseSoftplusDt(r, h);
                default -> uniform(r, n, Math.sqrt(6.0 / (shape[shape.length - 1] + shape[shape.length - 2]))); // Xavier
            };
            t.put(e.getKey(), v, shape);
        }
        return t;
    }

    /** The release's buffer cos(2 pi t l / L) (docs/spec.md §2.3, vandermonde DI). */
    static float[] dft(int l) {
        float[] m = new float[l * l];
        for (int t = 0; t < l; t++)
            for (int j = 0; j < l; j++) m[t * l + j] = (float) Math.cos(2 * Math.PI * ((long) t * j % l) / l);
        return m;
    }

    private static float[] logUniformA(SplittableRandom r, int h) {
        float[] a = new float[h];
        for (int i = 0; i < h; i++) a[i] = (float) Math.log(1 + 15 * r.nextDouble());
        return a;
    }

    private static float[] inverseSoftplusDt(SplittableRandom r, int h) {
        float[] b = new float[h];
        for (int i = 0; i < h; i++) {
            double dt = Math.exp(Math.log(0.001) + r.nextDouble() * (Math.log(0.1) - Math.log(0.001)));
            b[i] = (float) (dt + Math.log(-Math.expm1(-dt)));
        }
        return b;
    }

    private static float[] shifted(float[] a, float by) {
        for (int i = 0; i < a.length; i++) a[i] += by;
        return a;
    }

    private static float[] uniform(SplittableRandom r, int n, double bound) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) a[i] = (float) (bound * (2 * r.nextDouble() - 1));
        return a;
    }
}
