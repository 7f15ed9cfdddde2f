package dev.hydra.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.hydra.runtime.Backends;
import dev.hydra.bert.BertConfig;
import dev.hydra.bert.BertModel.Padding;
import dev.hydra.bert.HydraBert;
import dev.hydra.bert.SeededBert;
import dev.hydra.io.SafeTensorsWriter;
import dev.hydra.server.EmbeddingServer;
import dev.hydra.server.ServerConfig;
import dev.hydra.weights.Precision;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

import static dev.hydra.layer.Layers.narrow;

/**
 * {@code hydra serve} under load, on loopback, in one JVM (server and clients): throughput of 32 clients
 * sending single short texts with dynamic batching, with {@code --max-batch 1}, and the library's own
 * {@link HydraBert#embed} on the same texts (all at once, so sorted into batches of 32; 16 per call, mixed
 * lengths as in the server's batches; one per call); p50/p99 latency at 1, 8, 32 and 128 clients; a soak of
 * 10,000 requests at 64 clients with 10% malformed (each valid answer checked against the library, each bad
 * one's 4xx, no 5xx, the heap after the run against before). The library and both batch settings are warmed up
 * ({@code --warm-up} requests each, default {@code --requests}, unmeasured), then measured in {@code --rounds} alternating rounds
 * (default 3), whose medians are compared. Every phase is bounded by a request count and by {@code --phase-seconds}. The model: seeded weights, a WordPiece vocabulary of 120 words,
 * {@code --layers} Hydra layers of width {@code --hidden} (default 4 x 256; the paper's size is 23 x 768).
 * Run: {@code scripts/serve-bench.sh [--layers N] [--hidden D] [--requests N] [--soak N] [--phase-seconds S] [--rounds R] [--max-wait-ms W] [--warm-up N]} ({@code --max-wait-ms} of the server, default 5;
 * {@code --warm-up} requests at each batch setting before the rounds, default {@code --requests}: the HTTP path keeps getting
 * faster for thousands of requests). {@code --library-only} measures only the library, in alternating rounds: sorted batches of 32,
 * 32 and 16 texts per call in their given (mixed) order, one per call.
 */
public final class ServeBench {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String NAME = "bench";
    /** Helidon's start and stop lines, one pair per phase, would bury the results. Held so that the setting stays. */
    private static final java.util.logging.Logger HELIDON_LOG = java.util.logging.Logger.getLogger("io.helidon");
    private static final List<String> WORDS = List.of("the", "a", "cat", "dog", "sat", "ran", "on", "in", "under", "over", "mat", "house",
            "garden", "river", "tree", "bird", "sings", "sleeps", "eats", "fish", "red", "blue", "green", "small", "big", "old", "new",
            "happy", "sad", "quick", "slow", "morning", "night", "day", "sun", "moon", "rain", "snow", "wind", "road", "car", "train",
            "book", "reads", "writes", "letter", "friend", "child", "mother", "father", "school", "city", "village", "market", "bread",
            "milk", "water", "coffee", "tea", "table", "chair", "window", "door", "street", "park", "walks", "talks", "plays", "music",
            "song", "dance", "game", "ball", "field", "farm", "horse", "cow", "sheep", "hill", "mountain", "sea", "boat", "ship", "island",
            "beach", "sand", "stone", "wall", "bridge", "tower", "clock", "time", "year", "week", "hour", "minute", "light", "dark",
            "warm", "cold", "soft", "hard", "long", "short", "high", "low", "near", "far", "and", "or", "but", "with", "without", "from",
            "to", "at", "by", "is");

    private int layers = 4, hidden = 256, requests = 640, soak = 10_000, rounds = 3, warmUp = -1, threads = Runtime.getRuntime().availableProcessors();
    private long phaseSeconds = 120, maxWaitMillis = 5;
    private boolean libraryOnly;
    private final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).connectTimeout(Duration.ofSeconds(10)).build();

    public static void main(String[] args) throws Exception {
        HELIDON_LOG.setLevel(java.util.logging.Level.WARNING);
        ServeBench b = new ServeBench();
        for (int i = 0; i < args.length; i++) {
            String value = i + 1 < args.length ? args[i + 1] : null;
            if (args[i].equals("--library-only")) {
                b.libraryOnly = true;
                continue;
            }
            switch (args[i]) {
                case "--layers" -> b.layers = (int) number(args[i], value, 1);
                case "--hidden" -> b.hidden = (int) number(args[i], value, 1);
                case "--requests" -> b.requests = (int) number(args[i], value, 1);
                case "--threads" -> b.threads = (int) number(args[i], value, 1);
                case "--soak" -> b.soak = (int) number(args[i], value, 0);
                case "--phase-seconds" -> b.phaseSeconds = number(args[i], value, 1);
                case "--rounds" -> b.rounds = (int) number(args[i], value, 1);
                case "--max-wait-ms" -> b.maxWaitMillis = number(args[i], value, 0);
                case "--warm-up" -> b.warmUp = (int) number(args[i], value, 0);
                default -> {
                    System.err.println("serve-bench: unknown option " + args[i] + " (known: --layers N, --hidden D, --threads T, --requests N, --soak N, --phase-seconds S, --rounds R, --max-wait-ms W, --warm-up N, --library-only)");
                    System.exit(2);
                }
            }
            i++;
        }
        b.run();
    }

    /** The option's value as a whole number of at least {@code min}; else one line on stderr and exit 2. */
    private static long number(String option, String value, long min) {
        if (value == null) {
            System.err.println("serve-bench: " + option + " needs a value");
            System.exit(2);
        }
        try {
            long n = Long.parseLong(value);
            if (n >= min && n <= Integer.MAX_VALUE) return n;
        } catch (NumberFormatException ignored) {
            // reported below
        }
        System.err.println("serve-bench: " + option + " must be a whole number >= " + min + " (got '" + value + "')");
        System.exit(2);
        return min;
    }

    private void run() throws Exception {
        Path dir = Files.createTempDirectory("hydra-serve-bench");
        writeModel(dir);
        List<String> texts = texts(512, 1);
        System.out.printf("model: %d Hydra layers, hidden %d, seeded; %d distinct short texts (%s tokens); %d cores, engine threads %d%n", layers, hidden,
                texts.size(), tokenRange(dir, texts), Runtime.getRuntime().availableProcessors(), threads);
        try (HydraBert bert = HydraBert.load(dir, new HydraBert.Options(Precision.FP32, Backends.cpu(threads), Padding.NONE, 32))) {
            Map<String, float[]> expected = new ConcurrentHashMap<>();
            double[][] e = bert.embed(texts, HydraBert.Pool.CLS);
            for (int i = 0; i < texts.size(); i++) expected.put(texts.get(i), narrow(e[i]));

            if (libraryOnly) {
                libraryRounds(bert, texts);
                return;
            }
            // unmeasured: else the first measured phases alone pay the JIT's compilation of the engine and the HTTP path
            int warmUp = this.warmUp >= 0 ? this.warmUp : requests;
            libraryThroughput(bert, texts, 16);
            for (int maxBatch : new int[] {32, 1})
                try (EmbeddingServer s = serve(bert, maxBatch)) {
                    load(s.port(), 32, warmUp, texts, expected, 0);
                }
            System.out.printf("warm-up: the library, and %d requests at --max-batch 32 and at 1, not measured%n", warmUp);

            // the phases alternate, round after round, so that a drift of the machine or the JIT touches all of them
            double[] library = new double[rounds], library16 = new double[rounds], library1 = new double[rounds];
            double[] batched = new double[rounds], single = new double[rounds];
            for (int round = 0; round < rounds; round++) {
                library[round] = libraryThroughput(bert, texts, texts.size());
                library16[round] = libraryThroughput(bert, texts, 16);
                library1[round] = libraryThroughput(bert, texts, 1);
                try (EmbeddingServer s = serve(bert, 32)) {
                    Result r = load(s.port(), 32, requests, texts, expected, 0);
                    batched[round] = r.throughput();
                    System.out.printf("round %d: library %.1f texts/s (batches of 32), %.1f (16 texts per call, mixed lengths as in the server's batches), "
                                    + "%.1f (one per call); --max-batch 32 %.1f req/s (mean batch %.1f sequences, engine busy %.0f%%)",
                            round + 1, library[round], library16[round], library1[round], batched[round], meanBatch(s),
                            100 * series(s.metrics().prometheusText(), "hydra_engine_seconds_total") / r.seconds);
                }
                try (EmbeddingServer s = serve(bert, 1)) {
                    Result r = load(s.port(), 32, requests, texts, expected, 0);
                    single[round] = r.throughput();
                    System.out.printf("; --max-batch 1 %.1f req/s (engine busy %.0f%%)%n", single[round],
                            100 * series(s.metrics().prometheusText(), "hydra_engine_seconds_total") / r.seconds);
                }
            }
            double lib = median(library), b = median(batched), one = median(single);
            System.out.printf("medians of %d rounds, 32 clients, single texts: --max-batch 32: %.1f req/s; --max-batch 1: %.1f req/s; ratio %.2fx (target >= 3x); "
                    + "library %.1f texts/s, 16 per call %.1f, one per call %.1f; --max-batch 32 vs library %.2fx (target >= 0.9x)%n",
                    rounds, b, one, b / one, lib, median(library16), median(library1), b / lib);

            try (EmbeddingServer s = serve(bert, 32)) {
                System.out.println("clients | requests | req/s | p50 ms | p99 ms   (--max-batch 32, --max-wait-ms " + maxWaitMillis + ")");
                for (int clients : new int[] {1, 8, 32, 128}) {
                    Result r = load(s.port(), clients, Math.max(requests / 4, clients * 4), texts, expected, 0);
                    System.out.printf("%7d | %8d | %5.1f | %6.1f | %6.1f%n", clients, r.done, r.throughput(), r.percentile(50), r.percentile(99));
                }
                long before = heapAfterGc();
                Result r = load(s.port(), 64, soak, texts, expected, 10);
                long after = heapAfterGc();
                System.out.printf("soak: %d requests (%d malformed) at 64 clients in %.1f s: %d valid answered correctly, %d wrong, "
                                + "%d bad ones with their 4xx, %d with another status, %d 5xx; heap after GC %.1f MiB -> %.1f MiB (%+.1f%%)%n",
                        r.done, r.malformed.get(), r.seconds, r.correct.get(), r.wrong.get(), r.rejectedAsExpected.get(), r.rejectedOtherwise.get(),
                        r.serverErrors.get(), before / 1048576.0, after / 1048576.0, 100.0 * (after - before) / before);
                if (r.done < soak) System.out.println("soak: stopped by --phase-seconds before all requests were sent");
            }
        } finally {
            try (var files = Files.walk(dir)) {
                files.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
    }

    private void writeModel(Path dir) throws IOException {
        List<String> vocab = new ArrayList<>(List.of("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"));
        vocab.addAll(WORDS);
        ObjectNode o = JSON.createObjectNode();
        o.put("vocab_size", vocab.size()).put("hidden_size", hidden).put("num_hidden_layers", layers).put("max_position_embeddings", 512);
        BertConfig c = BertConfig.fromJson(o, "serve benchmark config");
        Files.writeString(dir.resolve("config.json"), c.toJson().toPrettyString());
        SeededBert.weights(c, 42, false, 0, "").writeTo(new SafeTensorsWriter(), "").write(dir.resolve("model.safetensors"), false);
        Files.writeString(dir.resolve("tokenizer.json"), SeededBert.wordPieceTokenizerJson(vocab));
    }

    /** Short texts: 3 to 12 words. */
    private static List<String> texts(int n, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        List<String> out = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            int words = 3 + r.nextInt(10);
            StringBuilder b = new StringBuilder();
            for (int w = 0; w < words; w++) b.append(w == 0 ? "" : " ").append(WORDS.get(r.nextInt(WORDS.size())));
            out.add(b.toString());
        }
        return out;
    }

    private static String tokenRange(Path dir, List<String> texts) {
        try (HydraBert b = HydraBert.load(dir)) {
            int[] n = b.tokenize(texts).stream().mapToInt(e -> e.length()).toArray();
            return Arrays.stream(n).min().orElseThrow() + "-" + Arrays.stream(n).max().orElseThrow();
        }
    }

    /** --library-only: the library's phases (after one unmeasured pass of each) in alternating rounds, then their medians. */
    private void libraryRounds(HydraBert bert, List<String> texts) {
        int[] perCall = {texts.size(), 32, 16, 1};
        String[] names = {"sorted batches of 32", "32 mixed per call", "16 mixed per call", "one per call"};
        for (int p : perCall) embedAll(bert, texts, p);
        double[][] figures = new double[perCall.length][rounds];
        for (int round = 0; round < rounds; round++) {
            StringBuilder line = new StringBuilder("round " + (round + 1) + ":");
            for (int k = 0; k < perCall.length; k++) {
                figures[k][round] = libraryThroughput(bert, texts, perCall[k]);
                line.append(String.format(" %s %.1f texts/s;", names[k], figures[k][round]));
            }
            System.out.println(line);
        }
        StringBuilder line = new StringBuilder("medians of " + rounds + " rounds:");
        for (int k = 0; k < perCall.length; k++) line.append(String.format(" %s %.1f texts/s;", names[k], median(figures[k])));
        System.out.println(line);
    }

    /** Texts per second of {@link HydraBert#embed} called on consecutive slices of {@code perCall} texts (after one unmeasured pass). */
    private double libraryThroughput(HydraBert bert, List<String> texts, int perCall) {
        embedAll(bert, texts, perCall);
        int done = 0;
        long start = System.nanoTime(), limit = start + phaseSeconds * 1_000_000_000L;
        while (done < requests && System.nanoTime() < limit) {
            embedAll(bert, texts, perCall);
            done += texts.size();
        }
        return done / ((System.nanoTime() - start) / 1e9);
    }

    private static void embedAll(HydraBert bert, List<String> texts, int perCall) {
        for (int from = 0; from < texts.size(); from += perCall)
            bert.embed(texts.subList(from, Math.min(texts.size(), from + perCall)), HydraBert.Pool.CLS);
    }

    private static double median(double[] v) {
        double[] s = v.clone();
        java.util.Arrays.sort(s);
        return s.length % 2 == 1 ? s[s.length / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
    }

    /** The server's mean batch size, from its Prometheus histogram. */
    private static double meanBatch(EmbeddingServer s) {
        String text = s.metrics().prometheusText();
        return series(text, "hydra_batch_size_sum") / series(text, "hydra_batch_size_count");
    }

    private static double series(String text, String name) {
        return text.lines().filter(l -> l.startsWith(name + " ")).mapToDouble(l -> Double.parseDouble(l.substring(name.length() + 1)))
                .findFirst().orElseThrow();
    }

    private EmbeddingServer serve(HydraBert bert, int maxBatch) {
        EmbeddingServer s = EmbeddingServer.start(ServerConfig.defaults(NAME).withPort(0).withBatching(maxBatch, maxWaitMillis, 1024));
        s.serve(bert);
        return s;
    }

    /** One load phase's tallies. */
    private static final class Result {
        final long[] latencyNanos;
        int done;
        double seconds;
        final AtomicInteger malformed = new AtomicInteger(), correct = new AtomicInteger(), wrong = new AtomicInteger(),
                rejectedAsExpected = new AtomicInteger(), rejectedOtherwise = new AtomicInteger(), serverErrors = new AtomicInteger();

        Result(int n) {
            latencyNanos = new long[n];
        }

        double throughput() {
            return done / seconds;
        }

        double percentile(int p) {
            long[] l = Arrays.copyOf(latencyNanos, done);
            Arrays.sort(l);
            return l[Math.min(done - 1, (int) Math.ceil(p / 100.0 * done) - 1)] / 1e6;
        }
    }

    /** A malformed request and the status it must get. */
    private record Bad(String path, String body, int status) {}

    private static final List<Bad> BAD = List.of(
            new Bad("/v1/embeddings", "{\"input\": [\"the cat\"", 400),
            new Bad("/v1/embeddings", "{}", 400),
            new Bad("/v1/embeddings", "{\"input\": 5}", 400),
            new Bad("/v1/embeddings", "{\"input\": [2, 99999, 3]}", 400),
            new Bad("/v1/embeddings", "{\"input\": \"the cat\", \"model\": \"gpt-4\"}", 400),
            new Bad("/v1/embeddings", "{\"input\": \"the cat\", \"encoding_format\": \"hex\"}", 400),
            new Bad("/v1/nowhere", "{\"input\": \"the cat\"}", 404),
            new Bad("/v1/embeddings", "{\"input\": [" + "5,".repeat(600) + "5]}", 413));

    /**
     * {@code total} requests from {@code clients} concurrent clients (virtual threads), every
     * {@code badEvery}-th one malformed when {@code badEvery} > 0; stops early at {@code --phase-seconds}.
     */
    private Result load(int port, int clients, int total, List<String> texts, Map<String, float[]> expected, int badEvery) throws InterruptedException {
        Result r = new Result(total);
        AtomicInteger next = new AtomicInteger();
        long start = System.nanoTime(), limit = start + phaseSeconds * 1_000_000_000L;
        List<Thread> threads = new ArrayList<>();
        for (int c = 0; c < clients; c++)
            threads.add(Thread.ofVirtual().start(() -> {
                for (int i; (i = next.getAndIncrement()) < total && System.nanoTime() < limit; ) {
                    boolean bad = badEvery > 0 && i % badEvery == badEvery - 1;
                    Bad b = bad ? BAD.get((i / badEvery) % BAD.size()) : null;
                    String text = texts.get(i % texts.size());
                    String body = bad ? b.body() : "{\"input\": " + quote(text) + ", \"model\": \"" + NAME + "\"}";
                    HttpRequest req = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + (bad ? b.path() : "/v1/embeddings")))
                            .timeout(Duration.ofSeconds(120)).header("Content-Type", "application/json")
                            .POST(HttpRequest.BodyPublishers.ofString(body)).build();
                    long t0 = System.nanoTime();
                    HttpResponse<String> resp;
                    try {
                        resp = http.send(req, HttpResponse.BodyHandlers.ofString());
                    } catch (IOException e) {
                        r.serverErrors.incrementAndGet();
                        continue;
                    } catch (InterruptedException e) {
                        return;
                    }
                    r.latencyNanos[i] = System.nanoTime() - t0;
                    if (resp.statusCode() >= 500) r.serverErrors.incrementAndGet();
                    if (bad) {
                        r.malformed.incrementAndGet();
                        (resp.statusCode() == b.status() ? r.rejectedAsExpected : r.rejectedOtherwise).incrementAndGet();
                    } else if (resp.statusCode() == 200 && Arrays.equals(embedding(resp.body()), expected.get(text))) {
                        r.correct.incrementAndGet();
                    } else {
                        r.wrong.incrementAndGet();
                    }
                }
            }));
        for (Thread t : threads) t.join();
        r.seconds = (System.nanoTime() - start) / 1e9;
        // latencies were stored by request index: keep those of answered requests, in any order
        long[] kept = Arrays.stream(r.latencyNanos).filter(v -> v > 0).toArray();
        System.arraycopy(kept, 0, r.latencyNanos, 0, kept.length);
        r.done = kept.length;
        return r;
    }

    private static float[] embedding(String body) {
        try {
            JsonNode v = JSON.readTree(body).get("data").get(0).get("embedding");
            float[] f = new float[v.size()];
            for (int i = 0; i < f.length; i++) f[i] = v.get(i).floatValue();
            return f;
        } catch (IOException e) {
            return null;
        }
    }

    private static String quote(String s) {
        try {
            return JSON.writeValueAsString(s);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }


    private static long heapAfterGc() throws InterruptedException {
        for (int i = 0; i < 3; i++) {
            System.gc();
            Thread.sleep(200);
        }
        return ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed();
    }
}
