package dev.hydra.mixer;

import dev.hydra.weights.Precision;

import java.util.SplittableRandom;

/**
 * A plain measurement (not a test, not JMH) of each family's fp64 layer, structured path against dense
 * path, at L in {256, 1024, 4096}, with the configs of the JMH MixerBench: batch 1, one head of width 128,
 * qk_dim 16. Prints the best of a few runs in milliseconds. Run from hydra-vec after test-compile:
 * {@code java --add-modules jdk.incubator.vector -cp target/classes:target/test-classes:<deps> dev.hydra.mixer.MixerThroughput}
 */
public final class MixerThroughput {
    private MixerThroughput() {}

    public static void main(String[] args) {
        int[] lens = args.length > 0 ? java.util.Arrays.stream(args).mapToInt(Integer::parseInt).toArray() : new int[] {256, 1024, 4096};
        System.out.printf("%-15s %6s %14s %14s %8s%n", "type", "L", "structured ms", "dense ms", "speedup");
        for (MixerType t : MixerType.values())
            for (int len : lens) {
                MixerConfig c = new MixerConfig(t, t != MixerType.DENSE, 64, 16, len, 7, 2, 128, 256);
                ReferenceMixer m = new ReferenceMixer(MixerWeights.load(c, MixerWeights.seeded(c, 1), "", Precision.FP64));
                SplittableRandom r = new SplittableRandom(2);
                double[] u = new double[len * c.dModel()];
                for (int i = 0; i < u.length; i++) u[i] = 2 * r.nextDouble() - 1;
                int reps = len >= 4096 ? 2 : 5;
                double s = best(m, u, len, ReferenceMixer.Path.STRUCTURED, reps), d = best(m, u, len, ReferenceMixer.Path.DENSE, reps);
                System.out.printf("%-15s %6d %14.2f %14.2f %8.2f%n", t.key(), len, s, d, d / s);
            }
    }

    private static double best(ReferenceMixer m, double[] u, int len, ReferenceMixer.Path path, int reps) {
        double best = Double.MAX_VALUE, sink = 0;
        for (int i = 0; i < reps; i++) {
            long t0 = System.nanoTime();
            sink += m.forward(u, 1, len, path)[0];
            best = Math.min(best, (System.nanoTime() - t0) / 1e6);
        }
        if (sink == 42.4242) System.out.print("");
        return best;
    }
}
