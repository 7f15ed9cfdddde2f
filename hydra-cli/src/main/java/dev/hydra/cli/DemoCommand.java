package dev.hydra.cli;

import dev.hydra.backend.Backend;
import dev.hydra.cli.plot.Heatmap;
import dev.hydra.config.HydraConfig;
import dev.hydra.io.AtomicFiles;
import dev.hydra.io.InMemoryTensors;
import dev.hydra.layer.HydraLayer;
import dev.hydra.layer.Layers;
import dev.hydra.reference.ReferenceHydra.Mixing;
import dev.hydra.reference.ReferenceHydra;
import dev.hydra.runtime.Backends;
import dev.hydra.weights.HydraWeights;
import dev.hydra.weights.Precision;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;

import static dev.hydra.Accuracy.relErr;

/**
 * {@code hydra demo}: a BERT-base-width Hydra layer with seeded weights, its fp32 throughput, a check of
 * the fp32 chunked engine against the fp64 reference, and a heatmap of one head's mixer matrix.
 */
@Command(name = "demo", mixinStandardHelpOptions = true,
        description = {"Runs, checks and draws a BERT-base-width Hydra layer with seeded weights.",
                "The layer: d_model 768, d_state 64, d_conv 7, expand 2, headdim 64 (24 heads), chunk 256. "
                        + "Prints its fp32 throughput on the CPU backend, checks the fp32 chunked engine against the "
                        + "fp64 reference (state recurrence, and dense mixer matrix) on the first tokens of the batch, "
                        + "and draws one head's mixer matrix there as a PNG heatmap."},
        exitCodeListHeading = "%nExit codes:%n",
        exitCodeList = {"0:every check passed", "1:a check failed, or an error (one line on stderr: hydra: ...)", "2:bad usage"})
final class DemoCommand implements Callable<Integer> {
    /** fp32 engine vs fp64 reference: the accuracy the project holds fp32 engines to (golden README). */
    static final double TOLERANCE = 1e-4;
    static final long SEED = 42;
    /** The check materializes (H, L, L) doubles: 200 MB at this length. */
    static final int MAX_CHECK_LEN = 1024;

    @Option(names = "--batch", paramLabel = "B", defaultValue = "1", description = "Sequences in the timed batch (default: ${DEFAULT-VALUE}).")
    int batch;

    @Option(names = "--seqlen", paramLabel = "L", defaultValue = "512", description = "Tokens per sequence in the timed batch (default: ${DEFAULT-VALUE}).")
    int seqlen;

    @Option(names = "--runs", paramLabel = "N", defaultValue = "5", description = "Timed runs after the warm-up; the median is reported (default: ${DEFAULT-VALUE}).")
    int runs;

    @Option(names = "--warm-up", paramLabel = "SECONDS", defaultValue = "6", description = "Seconds of warm-up on up to 512 tokens before timing, so that the JIT has compiled the kernels (default: ${DEFAULT-VALUE}).")
    double warmUpSeconds;

    @Option(names = "--check-len", paramLabel = "L", defaultValue = "320",
            description = "Tokens of the first sequence checked against the fp64 reference and drawn (default: ${DEFAULT-VALUE}).")
    int checkLen;

    @Option(names = "--head", paramLabel = "H", description = "Head whose mixer matrix is drawn (default: the one that mixes over the longest range).")
    Integer head;

    @Option(names = "--png", defaultValue = "hydra-demo.png", paramLabel = "PATH", description = "Heatmap file (default: ${DEFAULT-VALUE}).")
    Path png;

    @Option(names = "--force", description = "Overwrite the PNG if it exists.")
    boolean force;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() {
        HydraConfig cfg = HydraConfig.defaults(768);
        if (batch < 1 || seqlen < 1 || runs < 1) throw new ParameterException(spec.commandLine(), "--batch, --seqlen and --runs must be positive");
        if (!(warmUpSeconds >= 0 && warmUpSeconds <= 600)) throw new ParameterException(spec.commandLine(), "--warm-up must be between 0 and 600 seconds");
        if ((long) batch * seqlen * cfg.dModel() > Integer.MAX_VALUE - 8)
            throw new ParameterException(spec.commandLine(), "--batch x --seqlen is too large for one input array");
        if (checkLen < 1 || checkLen > Math.min(seqlen, MAX_CHECK_LEN))
            throw new ParameterException(spec.commandLine(), "--check-len must be in [1, --seqlen] and at most " + MAX_CHECK_LEN);
        if (head != null && (head < 0 || head >= cfg.nheads()))
            throw new ParameterException(spec.commandLine(), "--head must be in [0, " + (cfg.nheads() - 1) + "]");
        AtomicFiles.refuseExisting(png, force);
        PrintWriter out = spec.commandLine().getOut();
        InMemoryTensors weights = HydraWeights.seeded(cfg, SEED);
        out.printf("Hydra layer: d_model %d, d_state %d, d_conv %d, expand %d, headdim %d (%d heads), chunk %d; seeded weights (seed %d)%n",
                cfg.dModel(), cfg.dState(), cfg.dConv(), cfg.expand(), cfg.headdim(), cfg.nheads(), cfg.chunkSize(), SEED);
        float[] u = seededInput(batch * seqlen * cfg.dModel());
        float[] slice = Arrays.copyOf(u, checkLen * cfg.dModel()); // the first checkLen tokens of sequence 0
        float[] fast;
        try (Backend be = Backends.cpu(); HydraLayer layer = new HydraLayer(HydraWeights.load(cfg, weights, "", Precision.FP32), be)) {
            // every run writes into one output array: a new array per run would time the page faults of fresh heap too
            float[] output = new float[u.length];
            int warmUps = warmUp(layer, u, output);
            double[] seconds = new double[runs];
            for (int r = 0; r < runs; r++) {
                long t0 = System.nanoTime();
                layer.forward(u, batch, seqlen, output);
                seconds[r] = (System.nanoTime() - t0) * 1e-9;
            }
            Arrays.sort(seconds);
            double median = seconds[runs / 2];
            out.printf("throughput: fp32, backend %s, batch %d x %d tokens: %.0f tokens/s (median of %d runs: %.3f s per batch; after %d warm-up runs)%n",
                    be.name(), batch, seqlen, batch * seqlen / median, runs, median, warmUps);
            fast = layer.forward(slice, 1, checkLen);
        }
        ReferenceHydra ref = new ReferenceHydra(HydraWeights.load(cfg, weights, "", Precision.FP64));
        double[] sliceD = Layers.widen(slice);
        boolean pass = true;
        for (Mixing m : new Mixing[] {Mixing.RECURRENCE, Mixing.DENSE}) {
            double err = relErr(fast, ref.forwardStages(sliceD, 1, checkLen, m).output());
            boolean ok = err <= TOLERANCE;
            pass &= ok;
            out.printf("check: fp32 chunked engine vs fp64 reference (%s) on 1 x %d tokens (%d chunk(s) of %d): max rel err %.2e  %s (<= %.0e)%n",
                    m.name().toLowerCase(), checkLen, (checkLen + cfg.chunkSize() - 1) / cfg.chunkSize(), cfg.chunkSize(),
                    err, ok ? "PASS" : "FAIL", TOLERANCE);
        }
        double[] matrix = ref.materialize(sliceD, 1, checkLen);
        int h = head != null ? head : longestRangeHead(matrix, cfg.nheads(), checkLen);
        double[] one = Arrays.copyOfRange(matrix, h * checkLen * checkLen, (h + 1) * checkLen * checkLen);
        Heatmap.write(Heatmap.render(one, checkLen, checkLen, String.format(
                "Hydra mixer matrix, head %d of %d, %d tokens (d_model %d, seeded weights)\n"
                        + "below the diagonal: forward scan; above: backward scan; diagonal: x delta (fc_D, D)", h, cfg.nheads(), checkLen, cfg.dModel())),
                png, force);
        out.printf("heatmap: head %d mixer matrix (%d x %d, fp64) -> %s%n", h, checkLen, checkLen, png);
        out.println(pass ? "all checks passed" : "a check FAILED");
        if (!pass) spec.commandLine().getErr().println("hydra: demo: the fp32 engine does not match the fp64 reference");
        return pass ? 0 : 1;
    }

    /** A standard normal batch from a seed of its own. */
    private static float[] seededInput(int n) {
        SplittableRandom r = new SplittableRandom(SEED + 1);
        float[] u = new float[n];
        for (int i = 0; i < n; i++) u[i] = (float) r.nextGaussian();
        return u;
    }

    /** The head with the largest off-diagonal mass relative to its diagonal. */
    private static int longestRangeHead(double[] m, int heads, int len) {
        int best = 0;
        double bestRatio = -1;
        for (int h = 0; h < heads; h++) {
            double diag = 0, off = 0;
            for (int i = 0; i < len; i++)
                for (int j = 0; j < len; j++) {
                    double v = Math.abs(m[(h * len + i) * len + j]);
                    if (i == j) diag += v; else off += v;
                }
            double ratio = off / (diag + Double.MIN_VALUE);
            if (ratio > bestRatio) {
                bestRatio = ratio;
                best = h;
            }
        }
        return best;
    }

    /**
     * Runs the layer on up to 512 tokens for {@code --warm-up} seconds, so that the JIT compiles the
     * kernels (interpreted Vector API code is orders of magnitude slower), then once at the timed size. A
     * warm-up of several of the scan's chunks compiles all its passes: one chunk (64 tokens) left the chunk
     * states and their passing to the timed runs, which then ran 2.5-4.5x slower than {@code LayerBench} at 1 x 512.
     */
    private int warmUp(HydraLayer layer, float[] u, float[] output) {
        int shortLen = Math.min(seqlen, 512);
        float[] head = Arrays.copyOf(u, shortLen * layer.config().dModel());
        long end = System.nanoTime() + (long) (warmUpSeconds * 1e9);
        int n = 0;
        while (System.nanoTime() < end) {
            layer.forward(head, 1, shortLen);
            n++;
        }
        layer.forward(u, batch, seqlen, output);
        return n + 1;
    }
}
