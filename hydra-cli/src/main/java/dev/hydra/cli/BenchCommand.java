package dev.hydra.cli;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.hydra.HydraException;
import dev.hydra.backend.Backend;
import dev.hydra.bert.BertConfig;
import dev.hydra.bert.BertModel;
import dev.hydra.bert.SeededBert;
import dev.hydra.bert.Tokens;
import dev.hydra.config.HydraConfig;
import dev.hydra.config.JsonKeys;
import dev.hydra.gpu.CudaBackend;
import dev.hydra.kernels.FmaPeak;
import dev.hydra.layer.HydraLayer;
import dev.hydra.perf.BertThroughput;
import dev.hydra.perf.LayerFlops;
import dev.hydra.runtime.Backends;
import dev.hydra.weights.HydraWeights;
import dev.hydra.weights.Precision;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.lang.management.ManagementFactory;
import java.lang.management.MemoryPoolMXBean;
import java.lang.management.MemoryType;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;

/**
 * {@code hydra bench}: the layer's forward pass, or a whole Hydra BERT encoder when the config is a BERT
 * config.json, timed with seeded weights; the JMH suite (bench module) is the full measurement.
 */
@Command(name = "bench", mixinStandardHelpOptions = true,
        description = "Time the fp32 layer of a JSON config (seeded weights): tokens/s, GFLOP/s (formula: docs/vector.md) "
                + "and the fraction of the machine's measured FMA peak. With a BERT config.json (it has num_hidden_layers): "
                + "the whole encoder, sequences/s, tokens/s and the peak heap (CPU) or device memory (GPU).")
final class BenchCommand implements Callable<Integer> {
    private static final double GIB = 1L << 30;

    @Option(names = "--config", required = true, description = "Layer config JSON (the release's keys) or a BERT config.json.")
    Path config;

    @Option(names = "--batch", defaultValue = "1", description = "Batch size (default ${DEFAULT-VALUE}).")
    int batch;

    @Option(names = "--seqlen", required = true, description = "Sequence length.")
    int seqlen;

    @Option(names = "--threads", description = "Worker threads of the cpu backend (default: available processors).")
    Integer threads;

    @Option(names = "--min-runs", defaultValue = "3", description = "At least this many warm-up and measured runs (default ${DEFAULT-VALUE}).")
    int minRuns;

    @Option(names = "--stages", description = "Also time each stage (median per stage over the runs): ms, GFLOP/s, %% of the FMA peak.")
    boolean stages;

    @Option(names = "--backend", defaultValue = "cpu", description = "cpu, scalar, gpu or auto (default ${DEFAULT-VALUE}).")
    String backend;

    @Option(names = "--precision", defaultValue = "fp32", paramLabel = "fp32|fp64|bf16",
            description = "BERT configs only: fp32 (on the backend), fp64 (the reference, on the host) or bf16 (--backend gpu) (default ${DEFAULT-VALUE}).")
    String precision;

    @Option(names = "--against-layer", defaultValue = "0", paramLabel = "N",
            description = "BERT configs with the Hydra mixer, fp32: N more calls, each followed by num_hidden_layers calls of one "
                    + "layer of the same shape on the same backend, and the median ratio of the two times (the share of the "
                    + "encoder's time that is its layers; measured interleaved, so that a loaded machine affects both alike).")
    int againstLayer;

    @Option(names = "--seconds", defaultValue = "3", description = "Measurement time after warm-up (default ${DEFAULT-VALUE}).")
    double seconds;

    @Override
    public Integer call() throws InterruptedException {
        if (batch < 1 || seqlen < 1) throw new HydraException("--batch and --seqlen must be positive, got " + batch + " and " + seqlen);
        if (!(seconds > 0)) throw new HydraException("--seconds must be positive, got " + seconds);
        if (minRuns < 1) throw new HydraException("--min-runs must be at least 1, got " + minRuns);
        ObjectNode json = JsonKeys.readObject(config);
        int t = threads == null ? Runtime.getRuntime().availableProcessors() : threads;
        Precision<?> requested = BertModelOptions.precision(precision);
        try (Backend be = backend.equals("cpu") && requested != Precision.BF16 ? Backends.cpu(t) : Backends.named(backend, requested)) {
            if (json.has("num_hidden_layers") && stages) throw new HydraException("--stages: the stages are timed for a layer config only");
            if (json.has("num_hidden_layers")) return bert(BertConfig.fromJson(json, config.toString()), be, requested);
            if (!precision.equals("fp32")) throw new HydraException("--precision: the layer benchmark runs fp32 only");
            return layer(HydraConfig.fromJson(json, config.toString(), Set.of()), be, t);
        }
    }

    private int bert(BertConfig c, Backend be, Precision<?> requested) {
        Precision<?> p = BertModel.weightPrecision(requested, be);
        long deviceFree = be instanceof CudaBackend gpu ? gpu.memoryInfo()[0] : 0;
        try (BertModel model = BertModel.load(c, SeededBert.weights(c, 1, false, 0, ""), "", "", p, be)) {
            Tokens tokens = BertThroughput.tokens(c, batch, seqlen, 1);
            System.gc();
            long idle = heapUsed();
            ManagementFactory.getMemoryPoolMXBeans().forEach(MemoryPoolMXBean::resetPeakUsage);
            BertThroughput.Result r = BertThroughput.measure(model, tokens, Math.min(2, seconds), seconds, minRuns, 1000);
            double[] ms = r.ms();
            System.out.printf("Hydra BERT: %d layers, hidden %d, vocab %d, %s; B=%d L=%d, %s, %s backend%n", c.numHiddenLayers(),
                    c.hiddenSize(), c.vocabSize(), c.mixer().has("matrix_mixer_type") ? c.mixer().get("matrix_mixer_type").asText() + " mixer" : "Hydra mixer",
                    batch, seqlen, p, be.name());
            System.out.printf("forward: median %.3f ms of %d runs (min %.3f, max %.3f)%n", r.medianMs(), ms.length, ms[0], ms[ms.length - 1]);
            System.out.printf("sequences/s: %.1f%n", r.sequencesPerSecond());
            System.out.printf("tokens/s: %.0f%n", r.tokensPerSecond());
            long peak = heapPeak();
            System.out.printf("peak heap: %.2f GiB (idle, model loaded: %.2f GiB; above idle: %.2f GiB; -Xmx %.2f GiB)%n",
                    peak / GIB, idle / GIB, Math.max(0, peak - idle) / GIB, Runtime.getRuntime().maxMemory() / GIB);
            if (againstLayer > 0) againstLayer(c, model, tokens, be);
            if (be instanceof CudaBackend gpu)
                System.out.printf("peak device memory: %.2f GiB (weights and the pooled activations, which keep their peak)%n",
                        (deviceFree - gpu.memoryInfo()[0]) / GIB);
        }
        return 0;
    }

    private void againstLayer(BertConfig c, BertModel model, Tokens tokens, Backend be) {
        if (c.mixer().has("matrix_mixer_type") || model.precision() != Precision.FP32)
            throw new HydraException("--against-layer needs a BERT config with the Hydra mixer, in fp32");
        HydraConfig lc = HydraConfig.fromJson(c.mixer(), c.source(), Set.of());
        float[] u = new float[batch * seqlen * lc.dModel()];
        SplittableRandom r = new SplittableRandom(2);
        for (int i = 0; i < u.length; i++) u[i] = (float) (2 * r.nextDouble() - 1);
        double[] ratio = new double[againstLayer];
        try (HydraLayer layer = new HydraLayer(HydraWeights.load(lc, HydraWeights.seeded(lc, 2), "", Precision.FP32), be)) {
            layer.forward(u, batch, seqlen);
            for (int i = 0; i < againstLayer; i++) {
                long t0 = System.nanoTime();
                model.forward(tokens, BertModel.Padding.RELEASE);
                long t1 = System.nanoTime();
                for (int l = 0; l < c.numHiddenLayers(); l++) layer.forward(u, batch, seqlen);
                ratio[i] = (double) (System.nanoTime() - t1) / (t1 - t0);
            }
        }
        Arrays.sort(ratio);
        System.out.printf("layers' share: %d layer calls / one encoder call = %.3f (median of %d interleaved pairs; "
                + "= BERT tokens/s x %d / layer tokens/s)%n", c.numHiddenLayers(), ratio[againstLayer / 2], againstLayer, c.numHiddenLayers());
    }

    private static long heapUsed() {
        return ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed();
    }

    /** The sum of the heap pools' peaks since the reset (an upper bound of the heap's peak: the pools peak at different times). */
    private static long heapPeak() {
        long s = 0;
        for (MemoryPoolMXBean pool : ManagementFactory.getMemoryPoolMXBeans())
            if (pool.getType() == MemoryType.HEAP) s += pool.getPeakUsage().getUsed();
        return s;
    }

    private int layer(HydraConfig c, Backend be, int t) throws InterruptedException {
        if ((long) batch * seqlen * c.projDim() > Integer.MAX_VALUE - 8)
            throw new HydraException("--batch x --seqlen = " + (long) batch * seqlen + " tokens is too many for one forward pass of this config");
        float[] u = new float[batch * seqlen * c.dModel()];
        SplittableRandom r = new SplittableRandom(1);
        for (int i = 0; i < u.length; i++) u[i] = (float) (2 * r.nextDouble() - 1);
        double[] ms = new double[1000];
        int stageCount = HydraLayer.STAGES.size();
        double[][] stageMs = new double[stageCount][ms.length];
        int runs = 0;
        try (HydraLayer layer = new HydraLayer(HydraWeights.load(c, HydraWeights.seeded(c, 1), "", Precision.FP32), be)) {
            // every run writes into one output array: a new array per run would time the page faults of fresh heap too
            float[] out = new float[u.length];
            long warmEnd = System.nanoTime() + 2_000_000_000L;
            for (int i = 0; i < minRuns || System.nanoTime() < warmEnd; i++) layer.forward(u, batch, seqlen, out);
            long end = System.nanoTime() + (long) (seconds * 1e9);
            long[] last = new long[1];
            int[] stage = new int[1];
            while (runs < ms.length && (runs < minRuns || System.nanoTime() < end)) {
                long t0 = System.nanoTime();
                if (stages) {
                    int run = runs;
                    last[0] = t0;
                    stage[0] = 0;
                    layer.forward(u, batch, seqlen, out, name -> {
                        long now = System.nanoTime();
                        stageMs[stage[0]++][run] = (now - last[0]) / 1e6;
                        last[0] = now;
                    });
                } else {
                    layer.forward(u, batch, seqlen, out);
                }
                ms[runs++] = (System.nanoTime() - t0) / 1e6;
            }
        }
        Arrays.sort(ms, 0, runs);
        double median = ms[runs / 2], tokens = (double) batch * seqlen, gflops = LayerFlops.forward(c, batch, seqlen) / (median * 1e6);
        boolean cpu = !(be instanceof CudaBackend);
        System.out.printf("layer d_model=%d d_state=%d headdim=%d expand=%d chunk=%d, B=%d L=%d, %s backend%s%n",
                c.dModel(), c.dState(), c.headdim(), c.expand(), c.chunkSize(), batch, seqlen, be.name(), cpu ? ", " + t + " threads" : "");
        System.out.printf("forward: median %.3f ms of %d runs (min %.3f, max %.3f)%n", median, runs, ms[0], ms[runs - 1]);
        System.out.printf("tokens/s: %.0f%n", tokens / median * 1e3);
        System.out.printf("GFLOP/s: %.2f (%.3f MFLOP per token)%n", gflops, LayerFlops.perToken(c) / 1e6);
        double peak = Double.NaN;
        if (cpu && Backends.vectorized()) {
            peak = FmaPeak.measure(t, 1000);
            System.out.printf("FMA peak on %d threads: %.1f GFLOP/s; fraction of peak: %.1f%%%n", t, peak, 100 * gflops / peak);
        } else if (cpu) {
            System.out.println("FMA peak: not measured (needs --add-modules jdk.incubator.vector)");
        }
        if (stages) printStages(c, be, stageMs, runs, tokens, peak);
        return 0;
    }

    /**
     * One row per stage: median ms, GFLOP/s and % of the FMA peak (stages without counted FLOPs show "-"); then,
     * where the backend's scan runs shorter chunks than chunk_size, the share of the counted FLOPs it computes.
     */
    private static void printStages(HydraConfig c, Backend be, double[][] stageMs, int runs, double tokens, double peak) {
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
        int chunk = be.scanChunk(c.chunkSize());
        if (chunk < c.chunkSize())
            System.out.printf("scan: GFLOP/s count chunk_size %d's FLOPs; the %s backend computes in chunks of %d steps, %.0f%% of them%n",
                    c.chunkSize(), be.name(), chunk, 100 * LayerFlops.scanShare(c, chunk));
    }
}
