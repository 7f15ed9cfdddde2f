package dev.hydra.server.batch;

import dev.hydra.bert.Output;
import dev.hydra.bert.TextTokenizer.Encoded;
import dev.hydra.server.metrics.Metrics;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.ReentrantReadWriteLock;

/**
 * Dynamic batching: requests (each one or more token sequences) wait in a bounded queue; one worker
 * thread takes the oldest, adds the requests behind it, and runs the batch on the engine in one call (which
 * packs its sequences of any lengths end to end) as soon as one of these holds:
 * <ul>
 * <li>the batch holds {@code maxBatch} sequences;</li>
 * <li>as many requests have arrived since the engine was last free as the previous batch answered: clients
 * that wait for their answer before sending again (most do) have all come back, so the batch will not grow
 * by waiting. Without this, clients that arrived while the engine was busy would run as soon as it is
 * free, and a fixed set of clients would settle into two half-size batches that take turns;</li>
 * <li>the oldest request has waited {@code maxWait} since it arrived or since the engine was last free,
 * whichever is later: the idle engine is never held back longer than that.</li>
 * </ul>
 * Each request gets back its own rows. A request larger than {@code maxBatch} runs as a batch of its own.
 * {@link #close()} stops taking requests and returns once every queued one is answered.
 */
public final class Batcher implements AutoCloseable {

    /** Runs token sequences of any lengths; the outputs come back in input order, each of batch 1. */
    @FunctionalInterface
    public interface Engine {
        List<Output> run(List<Encoded> sequences);
    }

    /** Why {@link #submit} refused a request. */
    public enum Refusal { QUEUE_FULL, STOPPING }

    /** {@link #submit} refused the request; nothing was queued. */
    public static final class RefusedException extends RuntimeException {
        private final Refusal reason;

        RefusedException(Refusal reason) {
            super(reason == Refusal.QUEUE_FULL ? "the request queue is full" : "the server is shutting down");
            this.reason = reason;
        }

        public Refusal reason() {
            return reason;
        }
    }

    /** How long the worker waits at a time for a batch to fill, so that {@link #close()} cuts the wait short. */
    private static final long SLICE_NANOS = TimeUnit.MILLISECONDS.toNanos(20);

    private record Job(List<Encoded> sequences, long enqueuedNanos, CompletableFuture<List<Output>> result) {}

    private final Engine engine;
    private final Metrics metrics;
    private final int maxBatch;
    private final long maxWaitNanos;
    private final ArrayBlockingQueue<Job> queue;
    /** submit holds the read side while it checks {@link #accepting} and queues, close the write side to stop it */
    private final ReentrantReadWriteLock gate = new ReentrantReadWriteLock();
    private volatile boolean accepting = true;
    /** requests submitted and not yet answered: queued, waiting for their batch to fill, or running */
    private final AtomicInteger pending = new AtomicInteger();
    private final Thread worker;

    public Batcher(Engine engine, Metrics metrics, int maxBatch, long maxWaitMillis, int maxQueue) {
        this.engine = engine;
        this.metrics = metrics;
        this.maxBatch = maxBatch;
        this.maxWaitNanos = TimeUnit.MILLISECONDS.toNanos(maxWaitMillis);
        this.queue = new ArrayBlockingQueue<>(maxQueue);
        metrics.queueDepth(pending::get);
        worker = Thread.ofPlatform().name("hydra-batcher").daemon().start(this::work);
    }

    /** Queues the sequences of one request; the future completes with their outputs or the engine's failure. */
    public CompletableFuture<List<Output>> submit(List<Encoded> sequences) {
        Job job = new Job(List.copyOf(sequences), System.nanoTime(), new CompletableFuture<>());
        gate.readLock().lock();
        try {
            if (!accepting) throw new RefusedException(Refusal.STOPPING);
            if (!queue.offer(job)) throw new RefusedException(Refusal.QUEUE_FULL);
            pending.incrementAndGet();
        } finally {
            gate.readLock().unlock();
        }
        return job.result();
    }

    /** Requests submitted and not yet answered. */
    public int pending() {
        return pending.get();
    }

    private void work() {
        Job carried = null;
        long freeSince = System.nanoTime();
        int lastAnswered = 0; // requests in the previous batch; 0 before the first
        try {
            while (true) {
                Job first = carried != null ? carried : queue.poll(50, TimeUnit.MILLISECONDS);
                carried = null;
                if (first == null) {
                    if (!accepting && queue.isEmpty()) return;
                    continue;
                }
                List<Job> batch = new ArrayList<>();
                batch.add(first);
                int sequences = first.sequences().size();
                int returned = first.enqueuedNanos() > freeSince ? 1 : 0;
                long deadline = Math.max(first.enqueuedNanos(), freeSince) + maxWaitNanos;
                while (sequences < maxBatch && (lastAnswered == 0 || returned < lastAnswered)) {
                    long wait = accepting ? deadline - System.nanoTime() : 0;
                    Job next = wait > 0 ? queue.poll(Math.min(wait, SLICE_NANOS), TimeUnit.NANOSECONDS) : queue.poll();
                    if (next == null) {
                        if (wait > SLICE_NANOS) continue; // look at the clock and at close() again
                        break;
                    }
                    if (sequences + next.sequences().size() > maxBatch) {
                        carried = next;
                        break;
                    }
                    batch.add(next);
                    sequences += next.sequences().size();
                    if (next.enqueuedNanos() > freeSince) returned++;
                }
                freeSince = run(batch);
                lastAnswered = batch.size();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** Runs the batch and answers its requests; returns when the engine finished, read before any answer goes out. */
    private long run(List<Job> batch) {
        List<Encoded> all = new ArrayList<>();
        long tokens = 0;
        for (Job j : batch) {
            all.addAll(j.sequences());
            for (Encoded e : j.sequences()) tokens += e.length();
        }
        List<Output> outputs;
        long start = System.nanoTime();
        try {
            outputs = engine.run(all);
        } catch (RuntimeException | Error failure) { // the server stays up: each request of the batch gets the failure
            long free = System.nanoTime();
            for (Job j : batch) {
                pending.decrementAndGet();
                j.result().completeExceptionally(failure);
            }
            return free;
        }
        long free = System.nanoTime();
        metrics.batch(all.size(), tokens, (free - start) / 1e9);
        int from = 0;
        for (Job j : batch) {
            int n = j.sequences().size();
            pending.decrementAndGet();
            j.result().complete(List.copyOf(outputs.subList(from, from + n)));
            from += n;
        }
        return free;
    }

    /** Stops taking requests, answers every queued one, then returns. */
    @Override
    public void close() {
        gate.writeLock().lock();
        try {
            accepting = false;
        } finally {
            gate.writeLock().unlock();
        }
        try {
            worker.join();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
