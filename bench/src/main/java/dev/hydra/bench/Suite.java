package dev.hydra.bench;

import dev.hydra.config.HydraConfig;
import dev.hydra.kernels.VectorBackend;
import dev.hydra.layer.HydraLayer;
import dev.hydra.perf.LayerFlops;
import org.openjdk.jmh.results.RunResult;
import org.openjdk.jmh.runner.Runner;
import org.openjdk.jmh.runner.options.ChainedOptionsBuilder;
import org.openjdk.jmh.runner.options.OptionsBuilder;
import org.openjdk.jmh.runner.options.VerboseMode;

import java.lang.management.ManagementFactory;
import java.lang.management.MemoryPoolMXBean;
import java.lang.management.MemoryType;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The whole measurement in one run (docs/vector.md): agreement with ONNX Runtime, then JMH: our layer
 * at every shape on all cores and on one, the FMA peak on all cores and on one, ONNX Runtime at every
 * shape; then one table, and the peak heap at (1, 65536). Options: {@code --peer PATH} (the .onnx
 * file; default {@code peer_hydra768.onnx} in the directory {@code $HYDRA_PEER_DIR}, else in {@code peer/}
 * under the working directory; the peer is skipped, saying so in one line, when absent), {@code --quick}
 * (fewer iterations, for a smoke run).
 */
public final class Suite {
    private static final List<String> SHAPES = List.of("1x512", "8x512", "1x8192", "1x65536");

    public static void main(String[] args) throws Exception {
        String peer = Path.of(System.getenv().getOrDefault("HYDRA_PEER_DIR", "peer"), "peer_hydra768.onnx").toString();
        boolean quick = false;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--peer" -> {
                    if (i + 1 == args.length) {
                        System.err.println("bench: --peer needs the path of peer_hydra768.onnx");
                        System.exit(2);
                    }
                    peer = args[++i];
                }
                case "--quick" -> quick = true;
                default -> {
                    System.err.println("bench: unknown option " + args[i] + " (known: --peer PATH, --quick)");
                    System.exit(2);
                }
            }
        }
        int cores = Runtime.getRuntime().availableProcessors();
        HydraConfig c = BenchLayer.CONFIG;
        System.out.printf("hydra bench suite: JDK %s (%s), %d cores, %d fp32 lanes, layer d_model=%d d_state=%d headdim=%d expand=%d chunk=%d fp32%n",
                Runtime.version(), System.getProperty("java.vm.name"), cores, VectorBackend.lanes(), c.dModel(), c.dState(), c.headdim(), c.expand(), c.chunkSize());
        System.out.printf("FLOPs per token (formula in docs/vector.md): %.3f MFLOP%n", LayerFlops.perToken(c) / 1e6);
        Path peerPath = Path.of(peer);
        boolean havePeer = Files.isRegularFile(peerPath);
        if (havePeer && Files.isRegularFile(peerPath.resolveSibling("peer_hydra768.weights.safetensors"))
                && Files.isRegularFile(peerPath.resolveSibling("peer_hydra768.sample.safetensors"))) System.out.println(Peer.agreement(peerPath));
        else if (havePeer) System.out.println("agreement: peer_hydra768.weights/sample.safetensors are not next to " + peer + "; check skipped");
        else System.out.println("peer: " + peer + " is absent (set HYDRA_PEER_DIR or --peer); ONNX Runtime skipped");

        Map<String, Double> ours = medians(run(LayerBench.class, quick, b -> b.param("shape", SHAPES.toArray(String[]::new)).param("threads", "0")));
        Map<String, Double> oursOne = medians(run(LayerBench.class, quick, b -> b.param("shape", "8x512", "1x8192").param("threads", "1")));
        double peak = fma(quick, cores), peakOne = fma(quick, 1);
        Map<String, Double> ort = Map.of();
        if (havePeer) {
            String model = peerPath.toAbsolutePath().toString();
            String[] ortShapes = quick ? new String[] {"1x512", "8x512"} : SHAPES.toArray(String[]::new);
            ort = medians(run(OrtBench.class, quick, b -> b.param("shape", ortShapes).param("model", model)));
        }

        System.out.printf("%nFMA peak (Vector API, 12 accumulators): %.1f GFLOP/s on %d threads, %.1f GFLOP/s on 1%n", peak, cores, peakOne);
        System.out.println("| B x L | ours ms (median) | ours tokens/s | GFLOP/s | % of FMA peak | µs/token | ORT ms | ORT tokens/s | ours / ORT |");
        System.out.println("|---|---|---|---|---|---|---|---|---|");
        for (String s : SHAPES) {
            Double ms = ours.get(s);
            if (ms == null) continue;
            int[] bl = BenchLayer.shape(s);
            double tokens = (double) bl[0] * bl[1], gflops = LayerFlops.forward(c, bl[0], bl[1]) / (ms * 1e6);
            Double ortMs = ort.get(s);
            System.out.printf("| %d x %d | %.2f | %.0f | %.1f | %.0f%% | %.1f | %s | %s | %s |%n", bl[0], bl[1], ms, tokens / ms * 1e3, gflops,
                    100 * gflops / peak, ms * 1e3 / tokens, ortMs == null ? "-" : String.format("%.1f", ortMs),
                    ortMs == null ? "-" : String.format("%.0f", tokens / ortMs * 1e3), ortMs == null ? "-" : String.format("%.1fx", ortMs / ms));
        }
        for (String s : oursOne.keySet()) {
            int[] bl = BenchLayer.shape(s);
            System.out.printf("scaling at %s: 1 thread %.2f ms, %d threads %.2f ms: %.2fx; FMA peak scaling %.2fx%n", s, oursOne.get(s), cores,
                    ours.get(s), oursOne.get(s) / ours.get(s), peak / peakOne);
        }
        if (ours.containsKey("1x512") && ours.containsKey("1x65536"))
            System.out.printf("per-token time L=65536 / L=512: %.2f%n", (ours.get("1x65536") / 65536) / (ours.get("1x512") / 512));
        peakHeap(c, 1, 65536);
    }

    private interface Params {
        ChainedOptionsBuilder apply(ChainedOptionsBuilder b);
    }

    private static Collection<RunResult> run(Class<?> bench, boolean quick, Params params) throws Exception {
        ChainedOptionsBuilder b = new OptionsBuilder().include(bench.getName() + "\\.").verbosity(VerboseMode.NORMAL);
        if (quick) b = b.warmupIterations(1).measurementIterations(2);
        return new Runner(params.apply(b).build()).run();
    }

    private static Map<String, Double> medians(Collection<RunResult> rs) {
        Map<String, Double> m = new LinkedHashMap<>();
        for (RunResult r : rs) m.put(r.getParams().getParam("shape"), r.getPrimaryResult().getStatistics().getPercentile(50));
        return m;
    }

    /** GFLOP/s of the FMA loop on {@code threads} JMH threads (JMH sums their throughput). */
    private static double fma(boolean quick, int threads) throws Exception {
        ChainedOptionsBuilder b = new OptionsBuilder().include(FmaBench.class.getName() + "\\.").threads(threads);
        if (quick) b = b.warmupIterations(1).measurementIterations(2);
        RunResult r = new Runner(b.build()).runSingle();
        return r.getPrimaryResult().getStatistics().getPercentile(50) * FmaBench.FLOPS_PER_OP / 1e9;
    }

    /**
     * Peak heap of one forward pass at (batch, len) in this JVM: the sum of the heap pools' peaks
     * (an upper bound) above the heap in use before the input was made, against the activations the
     * layer's data flow must hold at once (input, in_proj output, conv output, dt, both scans, output).
     */
    private static void peakHeap(HydraConfig c, int batch, int len) {
        System.gc();
        List<MemoryPoolMXBean> heap = ManagementFactory.getMemoryPoolMXBeans().stream().filter(p -> p.getType() == MemoryType.HEAP).toList();
        long before = heap.stream().mapToLong(p -> p.getUsage().getUsed()).sum();
        heap.forEach(MemoryPoolMXBean::resetPeakUsage);
        try (HydraLayer layer = BenchLayer.create(0)) {
            float[] u = BenchLayer.input(batch * len * c.dModel());
            layer.forward(u, batch, len);
        }
        long peak = heap.stream().mapToLong(p -> p.getPeakUsage().getUsed()).sum() - before;
        long rows = (long) batch * len;
        long unavoidable = 4 * rows * (2L * c.dModel() + c.projDim() + c.convDim() + 2L * c.nheads() + 2L * c.dInner());
        System.out.printf("peak heap at (%d, %d): %.2f GiB above the idle heap; unavoidable activations %.2f GiB; ratio %.2f%n",
                batch, len, peak / 1073741824.0, unavoidable / 1073741824.0, (double) peak / unavoidable);
    }
}
