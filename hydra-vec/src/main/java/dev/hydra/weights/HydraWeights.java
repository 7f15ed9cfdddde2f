package dev.hydra.weights;

import dev.hydra.config.HydraConfig;
import dev.hydra.io.InMemoryTensors;
import dev.hydra.io.TensorSource;

import java.util.SplittableRandom;

/**
 * The parameters of one Hydra layer (docs/spec.md §1), in {@code float[]} or {@code double[]},
 * flattened row-major exactly as the state dict stores them. Optional ones are null when absent.
 */
public record HydraWeights<A>(HydraConfig config, A inProjW, A inProjB, A convW, A convB, A dtBias, A aLog,
                              A d, A fcDW, A normW, A outProjW, A outProjB, A initStates) {

    /** The state-dict names and shapes this config expects. */
    public static ParamSpec spec(HydraConfig c) {
        ParamSpec s = new ParamSpec()
                .add("in_proj.weight", c.projDim(), c.dModel());
        if (c.bias()) s.add("in_proj.bias", c.projDim());
        s.add("conv1d.weight", c.convDim(), 1, c.dConv());
        if (c.convBias()) s.add("conv1d.bias", c.convDim());
        s.add("dt_bias", c.nheads()).add("A_log", c.nheads()).add("D", c.nheads())
                .add("fc_D.weight", c.nheads(), c.dInner())
                .add("norm.weight", c.dInner())
                .add("out_proj.weight", c.dModel(), c.dInner());
        if (c.bias()) s.add("out_proj.bias", c.dModel());
        if (c.learnableInitStates()) s.add("init_states", c.nheads(), c.headdim(), c.dState());
        return s;
    }

    /**
     * docs/spec.md §1.3 step 3's {@code A = -exp(A_log)}, kept finite: where exp overflows (A_log above about 709.8) it
     * is the most negative finite double, which decays every step with dt above 4e-306 to exactly 0, as
     * -inf would, while {@code dt A} stays 0 (not NaN) at dt = 0, as with the exact A.
     */
    public static double a(double aLog) {
        return Math.max(-Math.exp(aLog), -Double.MAX_VALUE);
    }

    /**
     * {@link #a} in float32 for the fp32 engines, kept finite the same way: above A_log of about 88.7 it is
     * the most negative finite float, which decays every step with dt above 3e-36 to exactly 0.
     */
    public static float aFloat(double aLog) {
        return Math.max((float) a(aLog), -Float.MAX_VALUE);
    }

    /**
     * Loads the layer's parameters under {@code prefix} (for example {@code "encoder.layer.0.layer.mixer."}),
     * checking that each is present with its shape and that nothing else sits under the prefix.
     */
    public static <A> HydraWeights<A> load(HydraConfig c, TensorSource src, String prefix, Precision<A> p) {
        spec(c).check(src, prefix);
        return new HydraWeights<>(c,
                p.read(src, prefix + "in_proj.weight"),
                c.bias() ? p.read(src, prefix + "in_proj.bias") : null,
                p.read(src, prefix + "conv1d.weight"),
                c.convBias() ? p.read(src, prefix + "conv1d.bias") : null,
                p.read(src, prefix + "dt_bias"),
                p.read(src, prefix + "A_log"),
                p.read(src, prefix + "D"),
                p.read(src, prefix + "fc_D.weight"),
                p.read(src, prefix + "norm.weight"),
                p.read(src, prefix + "out_proj.weight"),
                c.bias() ? p.read(src, prefix + "out_proj.bias") : null,
                c.learnableInitStates() ? p.read(src, prefix + "init_states") : null);
    }

    /**
     * Seeded float32 parameters drawn like the release's initialisation (A in [1, 16], dt in [0.001, 0.1]
     * log-uniform through an inverse softplus, uniform fan-in projections), with every optional parameter
     * the config names, and the norm, D and fc_D perturbed so that every weight matters.
     */
    public static InMemoryTensors seeded(HydraConfig c, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        InMemoryTensors t = new InMemoryTensors("seeded weights (seed " + seed + ")");
        int h = c.nheads();
        t.put("in_proj.weight", uniform(r, c.projDim() * c.dModel(), 1 / Math.sqrt(c.dModel())), c.projDim(), c.dModel());
        if (c.bias()) t.put("in_proj.bias", uniform(r, c.projDim(), 0.1), c.projDim());
        t.put("conv1d.weight", uniform(r, c.convDim() * c.dConv(), 1 / Math.sqrt(c.dConv())), c.convDim(), 1, c.dConv());
        if (c.convBias()) t.put("conv1d.bias", uniform(r, c.convDim(), 1 / Math.sqrt(c.dConv())), c.convDim());
        float[] dtBias = new float[h], aLog = new float[h], d = new float[h];
        for (int i = 0; i < h; i++) {
            double dt = Math.exp(Math.log(0.001) + r.nextDouble() * (Math.log(0.1) - Math.log(0.001)));
            dtBias[i] = (float) (dt + Math.log(-Math.expm1(-dt))); // inverse softplus
            aLog[i] = (float) Math.log(1 + 15 * r.nextDouble());
            d[i] = (float) (1 + 0.1 * (2 * r.nextDouble() - 1));
        }
        t.put("dt_bias", dtBias, h).put("A_log", aLog, h).put("D", d, h);
        t.put("fc_D.weight", uniform(r, h * c.dInner(), 1 / Math.sqrt(c.dInner())), h, c.dInner());
        float[] norm = uniform(r, c.dInner(), 0.2);
        for (int i = 0; i < norm.length; i++) norm[i] += 1;
        t.put("norm.weight", norm, c.dInner());
        t.put("out_proj.weight", uniform(r, c.dModel() * c.dInner(), 1 / Math.sqrt(c.dInner())), c.dModel(), c.dInner());
        if (c.bias()) t.put("out_proj.bias", uniform(r, c.dModel(), 0.1), c.dModel());
        if (c.learnableInitStates())
            t.put("init_states", uniform(r, h * c.headdim() * c.dState(), 0.5), h, c.headdim(), c.dState());
        return t;
    }

    private static float[] uniform(SplittableRandom r, int n, double bound) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) a[i] = (float) (bound * (2 * r.nextDouble() - 1));
        return a;
    }
}
