package dev.hydra.perf;

import dev.hydra.bert.BertConfig;
import dev.hydra.bert.BertModel;
import dev.hydra.bert.Tokens;

import java.util.Arrays;
import java.util.SplittableRandom;

/**
 * Encoder throughput as the release's bench.py measures it: one padded batch of full sequences (every token
 * valid, ids drawn from [1, vocab)), the whole forward pass including the outputs' download, median of timed
 * calls after a warm-up.
 */
public final class BertThroughput {
    private BertThroughput() {}

    /** Timed calls of one (batch, len): wall ms, sorted. */
    public record Result(int batch, int len, double[] ms) {
        public double medianMs() {
            return ms[ms.length / 2];
        }

        public double sequencesPerSecond() {
            return batch / medianMs() * 1e3;
        }

        public double tokensPerSecond() {
            return (double) batch * len / medianMs() * 1e3;
        }
    }

    public static Tokens tokens(BertConfig c, int batch, int len, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        int n = batch * len;
        int[] ids = new int[n], types = new int[n], mask = new int[n];
        for (int i = 0; i < n; i++) {
            ids[i] = c.vocabSize() > 1 ? 1 + r.nextInt(c.vocabSize() - 1) : 0;
            mask[i] = 1;
        }
        return new Tokens(batch, len, ids, types, mask);
    }

    /** At least {@code minRuns} warm-up calls and {@code warmSeconds}, then timed calls for {@code seconds} (at least {@code minRuns}, at most {@code maxRuns}). */
    public static Result measure(BertModel m, Tokens t, double warmSeconds, double seconds, int minRuns, int maxRuns) {
        long warmEnd = System.nanoTime() + (long) (warmSeconds * 1e9);
        for (int i = 0; i < minRuns || System.nanoTime() < warmEnd; i++) m.forward(t, BertModel.Padding.RELEASE);
        double[] ms = new double[maxRuns];
        int runs = 0;
        long end = System.nanoTime() + (long) (seconds * 1e9);
        while (runs < maxRuns && (runs < minRuns || System.nanoTime() < end)) {
            long t0 = System.nanoTime();
            m.forward(t, BertModel.Padding.RELEASE);
            ms[runs++] = (System.nanoTime() - t0) / 1e6;
        }
        double[] done = Arrays.copyOf(ms, runs);
        Arrays.sort(done);
        return new Result(t.batch(), t.len(), done);
    }
}
