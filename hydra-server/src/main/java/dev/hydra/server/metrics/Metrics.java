package dev.hydra.server.metrics;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLongArray;
import java.util.concurrent.atomic.DoubleAdder;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.IntSupplier;

/**
 * The server's counters in the Prometheus text exposition format (version 0.0.4): requests by route,
 * responses by status, the queue depth, a histogram of batch sizes (sequences), a histogram of request
 * latency, tokens run and tokens per second over the last {@value #WINDOW_SECONDS} seconds. Thread-safe.
 */
public final class Metrics {
    static final int WINDOW_SECONDS = 10;
    private static final double[] LATENCY_BOUNDS = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
    private static final double[] BATCH_BOUNDS = {1, 2, 4, 8, 16, 32, 64, 128, 256};

    private final Map<String, LongAdder> requests = new ConcurrentHashMap<>();
    private final Map<Integer, LongAdder> responses = new ConcurrentHashMap<>();
    private final Histogram latency = new Histogram(LATENCY_BOUNDS);
    private final Histogram batchSizes = new Histogram(BATCH_BOUNDS);
    private final LongAdder tokens = new LongAdder();
    private final DoubleAdder engineSeconds = new DoubleAdder();
    /** tokens finished in each of the last seconds, slot = epoch second mod the window; slotSeconds says which second a slot holds */
    private final AtomicLongArray tokenSlots = new AtomicLongArray(WINDOW_SECONDS), slotSeconds = new AtomicLongArray(WINDOW_SECONDS);
    private volatile IntSupplier queueDepth = () -> 0;

    public void queueDepth(IntSupplier depth) {
        this.queueDepth = depth;
    }

    public void request(String route) {
        requests.computeIfAbsent(route, r -> new LongAdder()).increment();
    }

    /** A response sent with {@code status} after {@code seconds}. */
    public void response(int status, double seconds) {
        responses.computeIfAbsent(status, s -> new LongAdder()).increment();
        latency.observe(seconds);
    }

    /** A batch of {@code sequences} sequences holding {@code batchTokens} tokens ran on the engine in {@code seconds}. */
    public void batch(int sequences, long batchTokens, double seconds) {
        batchSizes.observe(sequences);
        engineSeconds.add(seconds);
        tokens.add(batchTokens);
        long second = System.currentTimeMillis() / 1000;
        int slot = (int) (second % WINDOW_SECONDS);
        synchronized (tokenSlots) {
            if (slotSeconds.get(slot) != second) {
                slotSeconds.set(slot, second);
                tokenSlots.set(slot, 0);
            }
            tokenSlots.addAndGet(slot, batchTokens);
        }
    }

    /** Tokens per second over the last full {@value #WINDOW_SECONDS} seconds (the current second not counted). */
    public double tokensPerSecond() {
        long now = System.currentTimeMillis() / 1000, sum = 0;
        synchronized (tokenSlots) {
            for (int s = 0; s < WINDOW_SECONDS; s++) {
                long age = now - slotSeconds.get(s);
                if (age >= 1 && age <= WINDOW_SECONDS) sum += tokenSlots.get(s);
            }
        }
        return (double) sum / WINDOW_SECONDS;
    }

    public String prometheusText() {
        StringBuilder b = new StringBuilder();
        header(b, "hydra_requests_total", "counter", "Requests received, by route.");
        requests.entrySet().stream().sorted(Map.Entry.comparingByKey())
                .forEach(e -> b.append("hydra_requests_total{route=\"").append(e.getKey()).append("\"} ").append(e.getValue().sum()).append('\n'));
        header(b, "hydra_responses_total", "counter", "Responses sent, by HTTP status.");
        responses.entrySet().stream().sorted(Map.Entry.comparingByKey())
                .forEach(e -> b.append("hydra_responses_total{status=\"").append(e.getKey()).append("\"} ").append(e.getValue().sum()).append('\n'));
        header(b, "hydra_errors_total", "counter", "Error responses (status 400 and above), by HTTP status.");
        responses.entrySet().stream().filter(e -> e.getKey() >= 400).sorted(Map.Entry.comparingByKey())
                .forEach(e -> b.append("hydra_errors_total{status=\"").append(e.getKey()).append("\"} ").append(e.getValue().sum()).append('\n'));
        header(b, "hydra_queue_depth", "gauge", "Requests submitted to the engine and not yet answered (queued, waiting for a batch, or running).");
        b.append("hydra_queue_depth ").append(queueDepth.getAsInt()).append('\n');
        header(b, "hydra_batch_size", "histogram", "Sequences per engine batch.");
        batchSizes.write(b, "hydra_batch_size");
        header(b, "hydra_request_duration_seconds", "histogram", "Time from a request's arrival to its response.");
        latency.write(b, "hydra_request_duration_seconds");
        header(b, "hydra_tokens_total", "counter", "Tokens run on the engine.");
        b.append("hydra_tokens_total ").append(tokens.sum()).append('\n');
        header(b, "hydra_engine_seconds_total", "counter", "Time the engine spent running batches.");
        b.append("hydra_engine_seconds_total ").append(engineSeconds.sum()).append('\n');
        header(b, "hydra_tokens_per_second", "gauge", "Tokens run per second over the last " + WINDOW_SECONDS + " seconds.");
        b.append("hydra_tokens_per_second ").append(tokensPerSecond()).append('\n');
        return b.toString();
    }

    private static void header(StringBuilder b, String name, String type, String help) {
        b.append("# HELP ").append(name).append(' ').append(help).append('\n');
        b.append("# TYPE ").append(name).append(' ').append(type).append('\n');
    }

    /** Cumulative buckets with upper bounds, +Inf, the sum and the count. */
    private static final class Histogram {
        private final double[] bounds;
        private final LongAdder[] buckets;
        private final LongAdder count = new LongAdder();
        private final DoubleAdder sum = new DoubleAdder();

        Histogram(double[] bounds) {
            this.bounds = bounds;
            this.buckets = new LongAdder[bounds.length];
            for (int i = 0; i < bounds.length; i++) buckets[i] = new LongAdder();
        }

        void observe(double v) {
            for (int i = 0; i < bounds.length; i++)
                if (v <= bounds[i]) {
                    buckets[i].increment();
                    break;
                }
            count.increment();
            sum.add(v);
        }

        void write(StringBuilder b, String name) {
            long cumulative = 0;
            for (int i = 0; i < bounds.length; i++) {
                cumulative += buckets[i].sum();
                b.append(name).append("_bucket{le=\"").append(bounds[i]).append("\"} ").append(cumulative).append('\n');
            }
            b.append(name).append("_bucket{le=\"+Inf\"} ").append(count.sum()).append('\n');
            b.append(name).append("_sum ").append(sum.sum()).append('\n');
            b.append(name).append("_count ").append(count.sum()).append('\n');
        }
    }
}
