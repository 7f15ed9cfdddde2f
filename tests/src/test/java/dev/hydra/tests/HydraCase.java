package dev.hydra.tests;

import dev.hydra.backend.Backend;
import dev.hydra.config.HydraConfig;
import dev.hydra.forward.Stages;
import dev.hydra.io.InMemoryTensors;
import dev.hydra.layer.HydraLayer;
import dev.hydra.layer.Layers;
import dev.hydra.reference.ReferenceHydra.Mixing;
import dev.hydra.reference.ReferenceHydra;
import dev.hydra.weights.HydraWeights;
import dev.hydra.weights.Precision;

import java.util.Arrays;
import java.util.SplittableRandom;

/**
 * One random Hydra problem of the equivalence properties: a config, seeded weights and a seeded input.
 * A dt_limit is placed between the dt values the layer actually produces without one (see
 * {@link DtLimit}), so that a limited case really clamps.
 */
record HydraCase(HydraConfig config, int batch, int len, DtLimit dtLimit, InMemoryTensors weights, float[] input,
                 double[] unclampedDt) {

    /** How the sequence length relates to the chunk size. */
    enum LengthCase {
        ONE, SHORTER_THAN_CHUNK, MULTIPLE_OF_CHUNK, NOT_A_MULTIPLE;

        static LengthCase of(int len, int chunk) {
            if (len == 1) return ONE;
            if (len < chunk) return SHORTER_THAN_CHUNK;
            return len % chunk == 0 ? MULTIPLE_OF_CHUNK : NOT_A_MULTIPLE;
        }
    }

    /** Which sides of dt are clamped. */
    enum DtLimit { NONE, LOWER, UPPER, BOTH }

    /** The layer's widths: d_inner = ngroups * headsPerGroup * headdim, d_model = d_inner / expand. */
    record Shape(int ngroups, int headsPerGroup, int headdim, int expandPick, int dState, int dConv) {
        int dInner() {
            return ngroups * headsPerGroup * headdim;
        }

        /** The expand factor: the {@code expandPick}-th (cyclically) of 1..4 that divides d_inner. */
        int expand() {
            int[] divisors = java.util.stream.IntStream.rangeClosed(1, 4).filter(e -> dInner() % e == 0).toArray();
            return divisors[expandPick % divisors.length];
        }
    }

    /** The boolean options and dt_limit; the limit's bounds sit at these percentiles of the unclamped dt. */
    record Options(boolean bias, boolean convBias, boolean initStates, DtLimit dtLimit, int lowerPercent, int upperPercent) {}

    /** The sequence: batch, length and chunk size. */
    record Sequence(int batch, int len, int chunk) {}

    static HydraCase build(Shape s, Options o, Sequence q, long seed) {
        HydraConfig free = new HydraConfig(s.dInner() / s.expand(), s.dState(), s.dConv(), s.expand(), s.headdim(),
                s.ngroups(), 0, Double.POSITIVE_INFINITY, o.initStates(), o.bias(), o.convBias(), q.chunk());
        InMemoryTensors weights = HydraWeights.seeded(free, seed);
        float[] u = new float[q.batch() * q.len() * free.dModel()];
        SplittableRandom r = new SplittableRandom(~seed);
        for (int i = 0; i < u.length; i++) u[i] = (float) (2 * r.nextDouble() - 1);
        Stages<double[]> s0 = new ReferenceHydra(HydraWeights.load(free, weights, "", Precision.FP64))
                .forwardStages(Layers.widen(u), q.batch(), q.len(), Mixing.RECURRENCE);
        double[] dt = concat(s0.dtF(), s0.dtB());
        double[] sorted = dt.clone();
        Arrays.sort(sorted);
        // a bound halfway between two neighbouring dt values, with at least one value on the clamped side
        int n = sorted.length, i = percentileIndex(o.lowerPercent(), n), j = Math.max(i, percentileIndex(o.upperPercent(), n));
        double lo = (sorted[i - 1] + sorted[i]) / 2, hi = (sorted[j - 1] + sorted[j]) / 2;
        HydraConfig c = switch (o.dtLimit()) {
            case NONE -> free;
            case LOWER -> withDtLimit(free, lo, Double.POSITIVE_INFINITY);
            case UPPER -> withDtLimit(free, 0, hi);
            case BOTH -> withDtLimit(free, lo, hi);
        };
        return new HydraCase(c, q.batch(), q.len(), o.dtLimit(), weights, u, dt);
    }

    private static int percentileIndex(int percent, int n) {
        return Math.clamp(Math.round(percent / 100.0 * n), 1, n - 1);
    }

    private static HydraConfig withDtLimit(HydraConfig c, double lo, double hi) {
        return new HydraConfig(c.dModel(), c.dState(), c.dConv(), c.expand(), c.headdim(), c.ngroups(), lo, hi,
                c.learnableInitStates(), c.bias(), c.convBias(), c.chunkSize());
    }

    HydraCase withChunkSize(int chunk) {
        return new HydraCase(config.withChunkSize(chunk), batch, len, dtLimit, weights, input, unclampedDt);
    }

    LengthCase lengthCase() {
        return LengthCase.of(len, config.chunkSize());
    }

    ReferenceHydra reference() {
        return new ReferenceHydra(HydraWeights.load(config, weights, "", Precision.FP64));
    }

    Stages<double[]> reference(Mixing mixing) {
        return reference().forwardStages(Layers.widen(input), batch, len, mixing);
    }

    /** The fp32 engine on {@code backend}; close it. */
    HydraLayer fp32(Backend backend) {
        return new HydraLayer(HydraWeights.load(config, weights, "", Precision.FP32), backend);
    }

    /**
     * The same layer with its two directions exchanged: B_f/C_f and B_b/C_b trade places in in_proj and the
     * conv, so do the two halves of the dt columns, and each conv kernel is reversed. Run on the input reversed
     * in time ({@link #reversedInput}), it must give the original output reversed in time.
     */
    InMemoryTensors mirroredWeights() {
        int dIn = config.dInner(), gn = config.ngroups() * config.dState(), h = config.nheads(), k = config.dConv();
        int[] conv = new int[config.convDim()];
        for (int ch = 0; ch < conv.length; ch++) {
            int part = ch < dIn ? -1 : (ch - dIn) / gn;          // 0 B_f, 1 C_f, 2 B_b, 3 C_b
            conv[ch] = part < 0 ? ch : ch + (part < 2 ? 2 * gn : -2 * gn);
        }
        int[] proj = new int[config.projDim()];
        for (int r = 0; r < proj.length; r++) {
            int dt = dIn + conv.length;                            // first dt column
            proj[r] = r < dIn ? r : r < dt ? dIn + conv[r - dIn] : r < dt + h ? r + h : r - h;
        }
        InMemoryTensors m = new InMemoryTensors("mirrored " + weights.source());
        for (String name : weights.names()) {
            float[] v = weights.floats(name);
            long[] shape = weights.info(name).shape();
            switch (name) {
                case "in_proj.weight" -> v = permuteRows(v, proj, config.dModel());
                case "in_proj.bias" -> v = permuteRows(v, proj, 1);
                case "conv1d.bias" -> v = permuteRows(v, conv, 1);
                case "conv1d.weight" -> {
                    v = permuteRows(v, conv, k);
                    for (int ch = 0; ch < conv.length; ch++)
                        for (int j = 0; j < k / 2; j++) {
                            float t = v[ch * k + j];
                            v[ch * k + j] = v[ch * k + k - 1 - j];
                            v[ch * k + k - 1 - j] = t;
                        }
                }
                default -> { }
            }
            m.put(name, v, shape);
        }
        return m;
    }

    float[] reversedInput() {
        float[] r = new float[input.length];
        int d = config.dModel();
        for (int b = 0; b < batch; b++)
            for (int t = 0; t < len; t++) System.arraycopy(input, (b * len + t) * d, r, (b * len + len - 1 - t) * d, d);
        return r;
    }

    /** (batch, len, width) rows in reverse time order. */
    static double[] reverseTime(double[] m, int batch, int len) {
        double[] r = new double[m.length];
        int width = m.length / (batch * len);
        for (int b = 0; b < batch; b++)
            for (int t = 0; t < len; t++) System.arraycopy(m, (b * len + t) * width, r, (b * len + len - 1 - t) * width, width);
        return r;
    }

    /** Row r of the result is row perm[r] of the (rows, width) matrix m. */
    private static float[] permuteRows(float[] m, int[] perm, int width) {
        float[] out = new float[m.length];
        for (int r = 0; r < perm.length; r++) System.arraycopy(m, perm[r] * width, out, r * width, width);
        return out;
    }

    static double[] concat(double[] a, double[] b) {
        double[] out = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }

    @Override
    public String toString() {
        return "HydraCase[" + config + ", batch=" + batch + ", len=" + len + " (" + lengthCase() + "), dt_limit " + dtLimit + "]";
    }
}
