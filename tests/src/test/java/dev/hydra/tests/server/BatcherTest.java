package dev.hydra.tests.server;

import dev.hydra.bert.Output;
import dev.hydra.bert.TextTokenizer.Encoded;
import dev.hydra.server.batch.Batcher;
import dev.hydra.server.metrics.Metrics;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The batch formation rules of {@link Batcher}, with an engine that records each batch's size and can hold a
 * batch until released. The waits are long (60 s) so that a batch the rules should dispatch at once would
 * time the test out if it waited instead.
 */
class BatcherTest {
    private static final long LONG_WAIT_MILLIS = 60_000;

    /** Records batch sizes; holds the batch whose index is {@code holdIndex} until {@link #release}. */
    private static final class Engine implements Batcher.Engine {
        final List<Integer> sizes = Collections.synchronizedList(new ArrayList<>());
        final CountDownLatch holding = new CountDownLatch(1), release = new CountDownLatch(1);
        final int holdIndex;

        Engine(int holdIndex) {
            this.holdIndex = holdIndex;
        }

        @Override
        public List<Output> run(List<Encoded> sequences) {
            int index = sizes.size();
            sizes.add(sequences.size());
            if (index == holdIndex) {
                holding.countDown();
                try {
                    assertThat(release.await(60, TimeUnit.SECONDS)).as("released").isTrue();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
            List<Output> out = new ArrayList<>();
            for (Encoded e : sequences) out.add(new Output(1, e.ids().length, 1, new double[e.ids().length], new double[] {e.ids()[0]}));
            return out;
        }
    }

    private static List<Encoded> sequences(int n, int firstId) {
        List<Encoded> list = new ArrayList<>();
        for (int i = 0; i < n; i++) list.add(new Encoded(new int[] {firstId + i, 7}, new int[2], new String[] {"a", "b"}));
        return list;
    }

    @Test
    void requestsThatWaitedForABusyEngineAreJoinedByTheClientsItJustAnswered() throws Exception {
        Engine engine = new Engine(0);
        try (Batcher batcher = new Batcher(engine, new Metrics(), 8, LONG_WAIT_MILLIS, 64)) {
            CompletableFuture<List<Output>> full = batcher.submit(sequences(8, 100)); // a full batch runs at once
            assertThat(engine.holding.await(30, TimeUnit.SECONDS)).as("the full batch started").isTrue();
            List<CompletableFuture<List<Output>>> waiting = new ArrayList<>();
            for (int i = 0; i < 3; i++) waiting.add(batcher.submit(sequences(1, 200 + i)));
            engine.release.countDown();
            full.get(30, TimeUnit.SECONDS);
            // the one client the first batch answered sends again: the batch is complete without waiting 60 s
            CompletableFuture<List<Output>> returning = batcher.submit(sequences(1, 300));
            assertThat(returning.get(30, TimeUnit.SECONDS).getFirst().pooled()[0]).isEqualTo(300);
            for (int i = 0; i < 3; i++) assertThat(waiting.get(i).get(30, TimeUnit.SECONDS).getFirst().pooled()[0]).isEqualTo(200 + i);
            assertThat(engine.sizes).containsExactly(8, 4);
        }
    }

    @Test
    void aLoneClientIsNotHeldBackOnceItIsTheOnlyOneThatCameBack() throws Exception {
        Engine engine = new Engine(-1);
        try (Batcher batcher = new Batcher(engine, new Metrics(), 8, LONG_WAIT_MILLIS, 64)) {
            batcher.submit(sequences(8, 0)).get(30, TimeUnit.SECONDS);
            // each previous batch answered one request, and this one arrived after it: it runs at once, not after 60 s
            for (int round = 0; round < 3; round++)
                assertThat(batcher.submit(sequences(1, 10 + round)).get(30, TimeUnit.SECONDS).getFirst().pooled()[0]).isEqualTo(10 + round);
            assertThat(engine.sizes).containsExactly(8, 1, 1, 1);
        }
    }

    @Test
    void theFreeEngineWaitsNoLongerThanMaxWaitForClientsThatDoNotComeBack() throws Exception {
        Engine engine = new Engine(0);
        try (Batcher batcher = new Batcher(engine, new Metrics(), 8, 200, 64)) {
            CompletableFuture<List<Output>> full = batcher.submit(sequences(8, 0));
            assertThat(engine.holding.await(30, TimeUnit.SECONDS)).as("the full batch started").isTrue();
            List<CompletableFuture<List<Output>>> pair = List.of(batcher.submit(sequences(4, 10)), batcher.submit(sequences(4, 20)));
            engine.release.countDown();
            full.get(30, TimeUnit.SECONDS);
            for (CompletableFuture<List<Output>> f : pair) f.get(30, TimeUnit.SECONDS);
            // the pair's batch answered two requests; only one comes back: it runs alone once 200 ms have passed
            long start = System.nanoTime();
            assertThat(batcher.submit(sequences(1, 50)).get(30, TimeUnit.SECONDS)).hasSize(1);
            assertThat(System.nanoTime() - start).as("held for the max wait").isGreaterThanOrEqualTo(TimeUnit.MILLISECONDS.toNanos(150));
            assertThat(engine.sizes).containsExactly(8, 8, 1);
        }
    }
}
