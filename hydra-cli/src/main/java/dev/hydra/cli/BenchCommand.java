package dev.hydra.cli;

import dev.hydra.HydraException;
import dev.hydra.config.HydraConfig;
import dev.hydra.kernels.FmaPeak;
import dev.hydra.layer.HydraLayer;
import dev.hydra.perf.LayerFlops;
import dev.hydra.runtime.Backends;
import dev.hydra.weights.HydraWeights;
import dev.hydra.weights.Precision;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;

/** {@code hydra bench}: the layer's forward pass on the CPU backend, timed; the JMH suite (bench module) is the full measurement. */
@Command(name = "bench", mixinStandardHelpOptions = true,
        description = "Time the fp32 layer of a JSON config (seeded weights) on the CPU backend: tokens/s, GFLOP/s "
                + "(formula: docs/vector.md) and the fraction of the machine's measured FMA peak.")
final class BenchCommand implements Callable<Integer> {
    @Option(names = "--config", required = true, description = "Layer config JSON (the release's keys).")
    Path config;

    @Option(names = "--batch", defaultValue = "1", description = "Batch size (default ${DEFAULT-VALUE}).")
    int batch;

    @Option(names = "--seqlen", required = true, description = "Sequence length.")
    int seqlen;

    @Option(names = "--threads", description = "Worker threads (default: available processors).")
    Integer threads;

    @Option(names = "--min-runs", defaultValue = "3", description = "At least this many warm-up and measured runs (default ${DEFAULT-VALUE}).")
    int minRuns;

    @Option(names = "--stages", description = "Also time each stage (median per stage over the runs): ms, GFLOP/s, % of the FMA peak.")
    boolean stages;

    @Option(names = "--seconds", defaultValue = "3", description = "Measurement time after warm-up (default ${DEFAULT-VALUE}).")
    double seconds;

    @Override
    public Integer call() throws InterruptedException {
        HydraConfig c = HydraConfig.read(config, Set.of());
        if (batch < 1 || seqlen < 1) throw new HydraException("--batch and --seqlen must be positive, got " + batch + " and " + seqlen);
        if ((long) batch * seqlen * c.projDim() > Integer.MAX_VALUE - 8)
            throw new HydraException("--batch x --seqlen = " + (long) batch * seqlen + " tokens is too many for one forward pass of this config");
        if (minRuns < 1) throw new HydraException("--min-runs must be at least 1, got " + minRuns);
        if (!(seconds > 0)) throw new HydraException("--seconds must be positive, got " + seconds);
        int t = threads == null ? Runtime.getRuntime().availableProcessors() : threads;
        float[] u = new float[batch * seqlen * c.dModel()];
        SplittableRandom r = new SplittableRandom(1);
        for (int i = 0; i < u.length; i++) u[i] = (float) (2 * r.nextDouble() - 1);
        double[] ms = new double[1000];
        int stageCount = HydraLayer.STAGES.size();
        double[][] stageMs = new double[stageCount][ms.length];
        int runs = 0;
        String backend;
        try (HydraLayer layer = new HydraLayer(HydraWeights.load(c, HydraWeights.seeded(c, 1), "", Precision.FP32), Backends.cpu(t))) {
            backend = layer.backend().name();
            long warmEnd = System.nanoTime() + 2_000_000_000L;
            for (int i = 0; i < minRuns || System.nanoTime() < warmEnd; i++) layer.forward(u, batch, seqlen);
            long end = System.nanoTime() + (long) (seconds * 1e9);
            long[] last = new long[1];
            int[] stage = new int[1];
            while (runs < ms.length && (runs < minRuns || System.nanoTime() < end)) {
                long t0 = System.nanoTime();
                if (stages) {
                    int run = runs;
                    last[0] = t0;
                    stage[0] = 0;
                    layer.forward(u, batch, seqlen, name -> {
                        long now = System.nanoTime();
                        stageMs[stage[0]++][run] = (now - last[0]) / 1e6;
                        last[0] = now;
                    });
                } else {
                    layer.forward(u, batch, seqlen);
                }
                ms[runs++] = (System.nanoTime() - t0) / 1e6;
            }
        }
        Arrays.sort(ms, 0, runs);
        double median = ms[runs / 2], tokens = (double) batch * seqlen, gflops = LayerFlops.forward(c, batch, seqlen) / (median * 1e6);
        System.out.printf("layer d_model=%d d_state=%d headdim=%d expand=%d chunk=%d, B=%d L=%d, %s backend, %d threads%n",
                c.dModel(), c.dState(), c.headdim(), c.expand(), c.chunkSize(), batch, seqlen, backend, t);
        System.out.printf("forward: median %.3f ms of %d runs (min %.3f, max %.3f)%n", median, runs, ms[0], ms[runs - 1]);
        System.out.printf("tokens/s: %.0f%n", tokens / median * 1e3);
        System.out.printf("GFLOP/s: %.2f (%.3f MFLOP per token)%n", gflops, LayerFlops.perToken(c) / 1e6);
        double peak = Double.NaN;
        if (Backends.vectorized()) {
            peak = FmaPeak.measure(t, 1000);
            System.out.printf("FMA peak on %d threads: %.1f GFLOP/s; fraction of peak: %.1f%%%n", t, peak, 100 * gflops / peak);
        } else {
            System.out.println("FMA peak: not measured (needs --add-modules jdk.incubator.vector)");
        }
        if (stages) printStages(c, stageMs, runs, tokens, peak);
        return 0;
    }

    /** One row per stage: median ms, GFLOP/s and % of the FMA peak (stages without counted FLOPs show "-"). */
    private static void printStages(HydraConfig c, double[][] stageMs, int runs, double tokens, double peak) {
        var flops = LayerFlops.stages(c);
        System.out.printf("%-11s %10s %6s %9s %8s%n", "stage", "ms", "%time", "GFLOP/s", "%peak");
        double total = 0;
        double[] median = new double[stageMs.length];
        for (int i = 0; i < stageMs.length; i++) {
            double[] m = Arrays.copyOf(stageMs[i], runs);
            Arrays.sort(m);
            median[i] = m[runs / 2];
            total += median[i];
        }
        for (int i = 0; i < median.length; i++) {
            String name = HydraLayer.STAGES.get(i);
            double f = flops.get(name) * tokens, g = f / (median[i] * 1e6);
            System.out.printf("%-11s %10.3f %5.1f%% %9s %8s%n", name, median[i], 100 * median[i] / total,
                    f > 0 ? String.format("%.1f", g) : "-", f > 0 && peak > 0 ? String.format("%.1f%%", 100 * g / peak) : "-");
        }
    }
}
